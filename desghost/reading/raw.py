"""Raw DECam CCDs (``DECam_*.fits.fz``, PROCTYPE = RAW): data section, overscan and gain.

A raw CCD HDU is uint16 with two amplifiers side by side and overscan columns.  The data
section (DATASEC) is what the focal plane shows; each amplifier's overscan (BIASSECA/B) is
subtracted row-block by row-block as its median, and each amplifier is put in electrons with
GAINA/B.  A header with one BIASSEC and no per-amplifier keywords gets one overscan value.
"""
import numpy as np

from desghost.errors import MissingKeywordError
from desghost.reading.sections import parse_section


def section(header, key, source):
    """``(row slice, col slice)`` of the section keyword ``key``.

    Raises
    ------
    MissingKeywordError
        The keyword is missing or not a section (exit code 6), naming ``source`` and ``key``.
    """
    try:
        return parse_section(header[key])
    except KeyError:
        raise MissingKeywordError(f"{key} missing", path=source, keyword=key) from None
    except ValueError as exc:
        raise MissingKeywordError(str(exc), path=source, keyword=key) from None


def data_section(header, source):
    """The DATASEC of a raw CCD as ``(row slice, col slice)`` in HDU pixels (0-based)."""
    return section(header, "DATASEC", source)


def read_raw_ccd(hdu, header, nx, row_step, source):
    """Overscan-subtracted, gain-corrected data section of a raw CCD.

    Parameters
    ----------
    hdu : fitsio.ImageHDU
    header : dict
        The CCD's (merged) header: DATASEC, DATASECA/B, BIASSECA/B, GAINA/B.
    nx : int
        Columns of the HDU (data and overscan).
    row_step : int
        Read every ``row_step``-th row of the data section.
    source : str
        ``file[HDU]`` for messages.

    Returns
    -------
    pixels : ndarray of float32, shape (ceil(ny_data / row_step), nx_data)
        In electrons where GAINA/B are given, else in ADU.
    full_shape : tuple of int
        ``(ny_data, nx_data)`` of the whole data section.
    """
    rows, cols = data_section(header, source)
    block = hdu[rows.start:rows.stop:row_step, 0:nx].astype(np.float32)
    out = block[:, cols]
    amps = [a for a in ("A", "B") if f"DATASEC{a}" in header]
    if not amps and "BIASSEC" in header:
        _, bcols = section(header, "BIASSEC", source)
        out = out - np.median(block[:, bcols])
    for amp in amps:
        _, dcols = section(header, f"DATASEC{amp}", source)
        _, bcols = section(header, f"BIASSEC{amp}", source)
        bias = np.median(block[:, bcols])
        gain = float(header.get(f"GAIN{amp}", 1.0) or 1.0)
        sel = slice(dcols.start - cols.start, dcols.stop - cols.start)
        out[:, sel] = (block[:, dcols] - bias) * gain
    return np.ascontiguousarray(out), (rows.stop - rows.start, cols.stop - cols.start)
