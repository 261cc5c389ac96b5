"""Opening FITS files and reading their headers, with errors that name the file and the HDU."""
import gzip
import os
import stat
from contextlib import contextmanager

import fitsio

from desghost.atomic import needs_alias
from desghost.errors import CorruptFileError, NotFitsError, UsageError

__all__ = ["cfitsio_name", "check_regular_file", "find_hdu", "header_to_dict", "is_fits", "is_gzip", "open_fits",
           "short_error"]


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


def is_gzip(path):
    """True for a gzip-compressed file (``.fits.gz``; cfitsio reads it, decompressing in memory)."""
    try:
        if not os.path.isfile(path):
            return False
        with open(path, "rb") as fh:
            return fh.read(2) == b"\x1f\x8b"
    except OSError:
        return False


def is_fits(path):
    """True when the file starts with the FITS ``SIMPLE`` card (after gzip decompression for ``.fits.gz``)."""
    if is_gzip(path):
        try:
            with gzip.open(path, "rb") as fh:
                return fh.read(9) == b"SIMPLE  ="
        except (OSError, EOFError):
            return False
    with open(path, "rb") as fh:
        return fh.read(9) == b"SIMPLE  ="


def short_error(exc):
    """One line of at most 160 characters from a library's (often multi-line) error message."""
    text = " ".join(str(exc).split())
    return text[:160]


@contextmanager
def cfitsio_name(path):
    """A name cfitsio reads literally for ``path``, valid inside the ``with`` block.

    A plain path is yielded as it is.  A path with characters of cfitsio's extended file-name
    syntax is reached through ``/proc/self/fd``: the existing file itself, or (for a file still
    to be written, whose own name must then be plain) its folder.
    """
    path = str(path)
    if not needs_alias(path) or not os.path.isdir("/proc/self/fd"):
        yield path
        return
    if os.path.lexists(path):
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        alias = f"/proc/self/fd/{fd}"
    else:
        folder, name = os.path.split(os.path.abspath(path))
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        alias = f"/proc/self/fd/{fd}/{name}"
    try:
        yield alias
    finally:
        os.close(fd)


def check_regular_file(path):
    """Refuse anything but a regular file (a FIFO or a device would block or never end).

    Raises
    ------
    UsageError
        No such file, or not a regular file (exit code 2).
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise UsageError("no such file", path=path) from None
    except OSError as exc:
        raise UsageError(f"cannot read ({exc.strerror})", path=path) from None
    if not stat.S_ISREG(mode):
        what = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"
        raise UsageError(f"{what}: only regular files are read as FITS", path=path)


def open_fits(path):
    """Open a FITS file with fitsio.

    Raises
    ------
    UsageError
        The file does not exist or is not a regular file (exit code 2).
    NotFitsError
        It does not start with the SIMPLE card (exit code 3).
    CorruptFileError
        It starts as FITS but is shorter than one 2880-byte block, or cfitsio cannot read its
        structure (exit code 4).
    """
    path = str(path)
    check_regular_file(path)
    if not is_fits(path):
        raise NotFitsError("not a FITS file (no SIMPLE card at the start)", path=path)
    size = os.path.getsize(path)
    if size < 2880 and not is_gzip(path):
        raise CorruptFileError(f"truncated FITS file: {size} bytes, less than one 2880-byte block", path=path)
    try:
        with cfitsio_name(path) as name:
            return fitsio.FITS(name)
    except (OSError, ValueError) as exc:
        raise CorruptFileError(f"cannot open FITS structure ({short_error(exc)})", path=path) from exc


def find_hdu(fits, extname):
    """Index of the first HDU whose EXTNAME is ``extname`` (case-insensitive), or None."""
    for i in range(len(fits)):
        if str(fits[i].get_extname()).strip().upper() == extname:
            return i
    return None
