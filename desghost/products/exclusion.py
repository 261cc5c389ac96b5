"""Exclusion tables: the survey-database FITS table and the ray-tracing text list.

The FITS table starts with exactly the columns the survey databases load -- EXPNUM (>i4),
CCDNUM (>i2), REASON (S30), ANALYST (S30) -- followed by CLASS, SCORE, AREA_FRAC, MODEL,
BAND, DATE_OBS, NITE (the observing night, ``YYYYMMDD``) and STAR (the bright star the CCD's
instance points to, :mod:`desghost.sky.bright_stars`; empty when none).  The text list is laid out exactly
as DELVE's ``ghost-scatter-yNN.txt`` files (header ``#date     expnum ccd id ccdnum``, the date
column the observing night, ``ccd`` the ray-tracer's index: ``nan``), so
``numpy.genfromtxt(path, names=True, dtype=int)`` reads EXPNUM and CCDNUM as before.
"""
import fitsio
import numpy as np

from desghost.atomic import atomic_path

__all__ = ["date_yyyymmdd", "exclusion_array", "EXCLUSION_DTYPE", "fits_text", "partial_array", "PARTIAL_DTYPE",
           "RAYTRACE_HEADER", "raytrace_lines", "write_exclusion_fits", "write_raytrace_list"]

EXCLUSION_DTYPE = np.dtype([("EXPNUM", ">i4"), ("CCDNUM", ">i2"), ("REASON", "S30"), ("ANALYST", "S30"),
                            ("CLASS", "S8"), ("SCORE", ">f4"), ("AREA_FRAC", ">f4"), ("MODEL", "S40"),
                            ("BAND", "S4"), ("DATE_OBS", "S26"), ("NITE", "S8"), ("STAR", "S32")])
#: The PARTIAL HDU, written only when some CCDs were cut-outs: one row per such CCD.
PARTIAL_DTYPE = np.dtype([("EXPNUM", ">i4"), ("CCDNUM", ">i2"), ("DETPOS", "S3"), ("PRESENT_FRAC", ">f4"),
                          ("WINDOW_PX", ">i4", (4,)), ("AREA_FRAC", ">f4"), ("EXCLUDED", "?"), ("NOTE", "S80")])


def fits_text(text, n_chars):
    """Text for a FITS string column: ASCII (other characters become ``?``), at most ``n_chars``.

    Examples
    --------
    >>> fits_text("Année O'Tator", 8)
    b"Ann?e O'"
    """
    return str(text or "").encode("ascii", "replace")[:n_chars]


def exclusion_array(rows, extra_columns=()):
    """A structured array (:data:`EXCLUSION_DTYPE`, then ``extra_columns``) of CCDExclusion records.

    ``extra_columns``: ``(name, numpy dtype, values)`` per column added after the standard ones;
    string values are made ASCII by :func:`fits_text`.
    """
    arr = np.zeros(len(rows), dtype=EXCLUSION_DTYPE.descr + [(name, dtype) for name, dtype, _ in extra_columns])
    for i, r in enumerate(rows):
        arr[i] = (r.expnum, r.ccdnum, fits_text(r.reason, 30), fits_text(r.analyst, 30),
                  fits_text(r.artifact_class, 8), r.score, r.area_frac, fits_text(r.model, 40),
                  fits_text(r.band, 4), fits_text(r.date_obs, 26), fits_text(r.nite, 8), fits_text(r.star, 32),
                  *(fits_text(v[i], np.dtype(d).itemsize) if np.dtype(d).kind == "S" else v[i]
                    for _, d, v in extra_columns))
    return arr


def partial_array(rows):
    """A structured array (:data:`PARTIAL_DTYPE`) of PartialCCD records."""
    arr = np.zeros(len(rows), dtype=PARTIAL_DTYPE)
    for i, r in enumerate(rows):
        arr[i] = (r.expnum, r.ccdnum, r.detpos.encode(), r.present_frac, r.window_px, r.area_frac, r.excluded,
                  r.note[:80].encode())
    return arr


def write_exclusion_fits(path, rows, provenance_cards, partial_rows=(), extra_columns=()):
    """Write the exclusion BINTABLE (EXTNAME EXCLUDE) atomically.

    Parameters
    ----------
    path : str or Path
    rows : list of CCDExclusion
        The excluded CCDs (:func:`desghost.products.exclusion_rule.exclusion_rows`).
    provenance_cards : list of dict
        fitsio header records for both HDUs.
    partial_rows : list of PartialCCD, optional
        The cut-out CCDs; when any, a second table (EXTNAME PARTIAL, :data:`PARTIAL_DTYPE`)
        says how much of each was read and why it is or is not excluded.
    extra_columns : sequence of (str, str, sequence)
        Columns after the standard ones (:func:`exclusion_array`).
    """
    with atomic_path(path) as tmp:
        with fitsio.FITS(str(tmp), "rw", clobber=True) as f:
            f.write(None, header=provenance_cards)
            f.write(exclusion_array(rows, extra_columns), extname="EXCLUDE", header=provenance_cards)
            if partial_rows:
                f.write(partial_array(partial_rows), extname="PARTIAL", header=provenance_cards)
    return str(path)


def date_yyyymmdd(date):
    """``2016-08-02`` or ``20160802`` -> ``20160802`` (the ray-tracing lists' date column); ``0`` when unknown."""
    digits = "".join(ch for ch in str(date)[:10] if ch.isdigit())
    return digits if len(digits) == 8 else "0"


#: The header line of DELVE's ``ghost-scatter-yNN.txt`` lists, as they write it.
RAYTRACE_HEADER = "#date     expnum ccd id ccdnum"


def raytrace_lines(rows):
    """Rows laid out as DELVE's ``ghost-scatter-yNN.txt`` (``20170802  664543  71 S20   8``).

    The date column is the observing night (``nite``; rows without one fall back to the date
    of ``date_obs``), ``ccd`` (the ray-tracer's index) is ``nan``, ``id`` the DETPOS.
    """
    lines = [RAYTRACE_HEADER]
    for r in sorted(rows, key=lambda r: (r.expnum, r.ccdnum)):
        date = date_yyyymmdd(r.nite or r.date_obs)
        lines.append(f"{date:<8} {r.expnum:>7} {'nan':>3} {r.detpos:>3} {r.ccdnum:>3}")
    return lines


def write_raytrace_list(path, rows):
    """Write the ray-tracing style text list atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(raytrace_lines(rows)) + "\n")
    return str(path)
