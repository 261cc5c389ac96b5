"""Which files make up an exposure, and which exposures a user named (directories, globs, lists)."""
import glob
import os
from pathlib import Path

import fitsio

from desghost.errors import UsageError
from desghost.reading.community import product_kind

#: File names read as FITS in directories.
FITS_PATTERNS = ("*.fits", "*.fits.fz", "*.fits.gz", "*.fit", "*.fz")


def companion_product(path):
    """True for a Community Pipeline mask or weight file (``ood``, ``oow``): read with its ``ooi``, never alone."""
    return product_kind(path) in ("data-quality mask", "weight map")


def _exposures_only(paths):
    return [p for p in paths if not companion_product(p)]


def _named_exposure(path):
    """An input named explicitly: a Community Pipeline mask or weight file is refused."""
    if companion_product(path):
        raise UsageError(f"a Community Pipeline {product_kind(path)}, not an exposure: give its image file "
                         "(c4d_*_ooi_*), whose data-quality mask is then applied", path=path)
    return path


def _fits_in(directory):
    return sorted({f for pat in FITS_PATTERNS for f in glob.glob(os.path.join(directory, pat))})


def exposure_files(source):
    """The files of one exposure: a path, a directory, a glob or a list of them, sorted.

    Raises
    ------
    UsageError
        A directory without FITS files, a glob that matches nothing, or an empty list.
    """
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    files = []
    for item in items:
        item = str(item)
        if os.path.isdir(item):
            found = _exposures_only(_fits_in(item))
            if not found:
                raise UsageError("directory holds no FITS files", path=item)
            files.extend(found)
        elif any(ch in item for ch in "*?["):
            found = _exposures_only(sorted(glob.glob(item)))
            if not found:
                raise UsageError("glob matches no file", path=item)
            files.extend(found)
        else:
            files.append(_named_exposure(item))
    if not files:
        raise UsageError("no input files given")
    return files


def expnum_of_input(source):
    """EXPNUM of an input from its first file's primary (else first extension) header, or None.

    A quick look for bookkeeping (a few ms a file): None when the file cannot be read or has
    no integer EXPNUM, for the full read to report properly.
    """
    try:
        first = exposure_files(source)[0]
        for ext in (0, 1):
            header = fitsio.read_header(first, ext=ext)
            if "EXPNUM" in header:
                return int(header["EXPNUM"])
    except (OSError, ValueError, TypeError, IndexError, UsageError):
        return None
    return None


def discover_inputs(inputs):
    """Exposures named by directories, globs, list files (one path per line) or paths.

    In a directory, each FITS file is one exposure and each sub-directory of FITS files is
    one exposure of per-CCD files.  Community Pipeline ``ood`` and ``oow`` files found in
    directories, globs and lists are not exposures: each is read with its ``ooi`` file (see
    :mod:`desghost.reading.community`).  Duplicates (by absolute path) are dropped.

    Raises
    ------
    UsageError
        Nothing was found, or an ``ood``/``oow`` file was named on its own.
    """
    out = []
    for item in inputs:
        item = str(item)
        if os.path.isdir(item):
            subdirs = sorted(d for d in glob.glob(os.path.join(item, "*")) if os.path.isdir(d)
                             and any(glob.glob(os.path.join(d, pat)) for pat in FITS_PATTERNS))
            out.extend(_exposures_only(_fits_in(item)) + subdirs)
        elif any(ch in item for ch in "*?["):
            out.extend(_exposures_only(sorted(glob.glob(item))))
        elif item.endswith((".txt", ".list", ".lst")) and os.path.isfile(item):
            for line in Path(item).read_text().splitlines():
                line = line.split("#", 1)[0].strip()
                if line and not companion_product(line):
                    out.append(line)
        else:
            out.append(_named_exposure(item))
    seen, unique = set(), []
    for x in out:
        key = os.path.abspath(x)
        if key not in seen:
            seen.add(key)
            unique.append(x)
    if not unique:
        raise UsageError("no exposures found in the inputs")
    return unique
