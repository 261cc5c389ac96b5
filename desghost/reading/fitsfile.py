"""Opening FITS files and reading their headers, with errors that name the file and the HDU."""
import os

import fitsio

from desghost.errors import CorruptFileError, NotFitsError, UsageError


def header_to_dict(hdr):
    """A fitsio header as a plain dict (upper-case keys, stripped strings, no COMMENT/HISTORY)."""
    out = {}
    for rec in hdr.records():
        name = rec.get("name")
        if not name or name in ("COMMENT", "HISTORY", ""):
            continue
        value = rec.get("value")
        if isinstance(value, str):
            value = value.strip()
        out[name.upper()] = value
    return out


def is_fits(path):
    """True when the file starts with the FITS ``SIMPLE`` card."""
    with open(path, "rb") as fh:
        return fh.read(9) == b"SIMPLE  ="


def short_error(exc):
    """One line of at most 160 characters from a library's (often multi-line) error message."""
    text = " ".join(str(exc).split())
    return text[:160]


def open_fits(path):
    """Open a FITS file with fitsio.

    Raises
    ------
    UsageError
        The file does not exist (exit code 2).
    NotFitsError
        It does not start with the SIMPLE card (exit code 3).
    CorruptFileError
        It starts as FITS but is shorter than one 2880-byte block, or cfitsio cannot read its
        structure (exit code 4).
    """
    path = str(path)
    if not os.path.exists(path):
        raise UsageError("no such file", path=path)
    if not is_fits(path):
        raise NotFitsError("not a FITS file (no SIMPLE card at the start)", path=path)
    size = os.path.getsize(path)
    if size < 2880:
        raise CorruptFileError(f"truncated FITS file: {size} bytes, less than one 2880-byte block", path=path)
    try:
        return fitsio.FITS(path)
    except (OSError, ValueError) as exc:
        raise CorruptFileError(f"cannot open FITS structure ({short_error(exc)})", path=path) from exc


def find_hdu(fits, extname):
    """Index of the first HDU whose EXTNAME is ``extname`` (case-insensitive), or None."""
    for i in range(len(fits)):
        if str(fits[i].get_extname()).strip().upper() == extname:
            return i
    return None
