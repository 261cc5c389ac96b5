"""Which files make up an exposure, and which exposures a user named (directories, globs, lists)."""
import glob
import os
from pathlib import Path

from desghost.errors import UsageError

#: File names read as FITS in directories.
FITS_PATTERNS = ("*.fits", "*.fits.fz", "*.fits.gz", "*.fit", "*.fz")


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
            found = _fits_in(item)
            if not found:
                raise UsageError("directory holds no FITS files", path=item)
            files.extend(found)
        elif any(ch in item for ch in "*?["):
            found = sorted(glob.glob(item))
            if not found:
                raise UsageError("glob matches no file", path=item)
            files.extend(found)
        else:
            files.append(item)
    if not files:
        raise UsageError("no input files given")
    return files


def discover_inputs(inputs):
    """Exposures named by directories, globs, list files (one path per line) or paths.

    In a directory, each FITS file is one exposure and each sub-directory of FITS files is
    one exposure of per-CCD files.  Duplicates (by absolute path) are dropped.

    Raises
    ------
    UsageError
        Nothing was found.
    """
    out = []
    for item in inputs:
        item = str(item)
        if os.path.isdir(item):
            subdirs = sorted(d for d in glob.glob(os.path.join(item, "*")) if os.path.isdir(d)
                             and any(glob.glob(os.path.join(d, pat)) for pat in FITS_PATTERNS))
            out.extend(_fits_in(item) + subdirs)
        elif any(ch in item for ch in "*?["):
            out.extend(sorted(glob.glob(item)))
        elif item.endswith((".txt", ".list", ".lst")) and os.path.isfile(item):
            for line in Path(item).read_text().splitlines():
                line = line.split("#", 1)[0].strip()
                if line:
                    out.append(line)
        else:
            out.append(item)
    seen, unique = set(), []
    for x in out:
        key = os.path.abspath(x)
        if key not in seen:
            seen.add(key)
            unique.append(x)
    if not unique:
        raise UsageError("no exposures found in the inputs")
    return unique
