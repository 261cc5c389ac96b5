"""The targets of a position query: one position, an RA/Dec box, or a file of positions.

A file is a table astropy reads (CSV with a header line, or a FITS binary table) with RA and
DEC columns in degrees (any case: ``ra``/``RA``); an ``ID``, ``NAME`` or ``TARGET`` column, when
present, names each target (else its row number from 1).
"""
from pathlib import Path

import numpy as np

from desghost.catalog.position import Target
from desghost.errors import UsageError

__all__ = ["parse_box", "read_targets", "single_target"]

#: Columns naming a target in a file, in order of preference (any case).
NAME_COLUMNS = ("id", "name", "target")


def _check_position(ra_deg, dec_deg, where):
    if not (np.isfinite(ra_deg) and np.isfinite(dec_deg)) or not -90.0 <= dec_deg <= 90.0:
        raise UsageError(f"{where}: RA {ra_deg}, Dec {dec_deg} is not a position (Dec within -90..90 degrees)")
    return float(ra_deg) % 360.0, float(dec_deg)


def single_target(ra_deg, dec_deg, radius_arcsec=0.0):
    """The Target of ``--ra --dec [--radius]`` (raises UsageError, exit 2, for an impossible position)."""
    if not np.isfinite(radius_arcsec) or radius_arcsec < 0:
        raise UsageError(f"--radius {radius_arcsec}: must be 0 or more arcseconds")
    ra, dec = _check_position(ra_deg, dec_deg, "--ra/--dec")
    return Target(f"{ra:.6f},{dec:+.6f}", ra, dec, radius_arcsec / 3600.0)


def parse_box(text):
    """``box:RA_MIN,RA_MAX,DEC_MIN,DEC_MAX`` (degrees; RA_MIN > RA_MAX wraps through 0) -> Target.

    Examples
    --------
    >>> parse_box("box:350,10,-5,5").box_deg
    (350.0, 10.0, -5.0, 5.0)
    >>> parse_box("box:-180,180,-5,5").box_deg          # every RA
    (0.0, 360.0, -5.0, 5.0)
    """
    try:
        ra_min, ra_max, dec_min, dec_max = (float(v) for v in text.split(":", 1)[1].split(","))
    except ValueError:
        raise UsageError(f"--region {text}: a box is box:RA_MIN,RA_MAX,DEC_MIN,DEC_MAX in degrees") from None
    if not (-90.0 <= dec_min < dec_max <= 90.0) or not all(np.isfinite([ra_min, ra_max])):
        raise UsageError(f"--region {text}: DEC_MIN < DEC_MAX within -90..90, RA finite")
    if ra_max - ra_min >= 360.0:       # every RA (box:0,360,... or box:-180,180,...)
        ra_min, ra_max = 0.0, 360.0
    else:
        ra_min, ra_max = ra_min % 360.0, ra_max % 360.0
        if ra_min == ra_max:
            raise UsageError(f"--region {text}: the box has no width in RA")
    mid_ra = (ra_min + ((ra_max - ra_min) % 360.0 or 360.0) / 2.0) % 360.0
    return Target(text, mid_ra, (dec_min + dec_max) / 2.0, 0.0, (ra_min, ra_max, dec_min, dec_max))


def _column(table, names, path):
    lower = {c.lower(): c for c in table.colnames}
    for name in names:
        if name in lower:
            return table[lower[name]]
    return None


def read_targets(path, radius_arcsec=0.0):
    """The targets of a CSV or FITS file with RA and DEC columns (degrees).

    Parameters
    ----------
    path : str or Path
    radius_arcsec : float
        Every target's search radius.

    Returns
    -------
    list of Target

    Raises
    ------
    UsageError
        The file is missing or unreadable, lacks RA/DEC, or a row is not a position; the
        message names the file (and the row) (exit code 2).
    """
    from astropy.table import Table

    path = Path(path)
    if not path.is_file():
        raise UsageError("no such targets file", path=path)
    fits = path.suffix.lower() in (".fits", ".fit", ".fits.gz") or path.name.lower().endswith(".fits.gz")
    try:
        table = Table.read(str(path), format="fits" if fits else "ascii.csv")
    except Exception as exc:  # noqa: BLE001 - astropy raises many kinds for a bad table
        raise UsageError(f"cannot read the targets ({str(exc).splitlines()[0][:120]})", path=path) from None
    ra, dec = _column(table, ("ra",), path), _column(table, ("dec",), path)
    if ra is None or dec is None:
        raise UsageError(f"needs RA and DEC columns in degrees; it has {', '.join(table.colnames) or 'none'}",
                         path=path)
    names = _column(table, NAME_COLUMNS, path)
    radius_deg = single_target(0.0, 0.0, radius_arcsec).radius_deg
    targets = []
    for i in range(len(table)):
        blank = any(np.ma.is_masked(c[i]) for c in (ra, dec))
        try:
            r, d = (float("nan"),) * 2 if blank else (float(ra[i]), float(dec[i]))
        except (TypeError, ValueError):
            r = d = float("nan")
        if not (np.isfinite(r) and np.isfinite(d) and -90.0 <= d <= 90.0):
            raise UsageError(f"row {i + 1}: RA {str(ra[i])!r}, DEC {str(dec[i])!r} is not a position in degrees "
                             "(Dec within -90..90)", path=path)
        r, d = _check_position(r, d, f"{path} row {i + 1}")
        name = str(names[i]).strip() if names is not None else str(i + 1)
        targets.append(Target(name, r, d, radius_deg))
    return targets
