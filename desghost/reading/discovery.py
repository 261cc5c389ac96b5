"""Which files make up an exposure, and which exposures a user named (directories, globs, lists).

Inputs are grouped by exposure before anything is processed, the same way for every command:
a file holding several CCDs (raw, Community Pipeline MEF) is one exposure; files holding one CCD
each (DES per-CCD files, single-CCD cut-outs) are grouped by their EXPNUM, whether they come as
a folder, a glob, a list file or separate arguments.  A group of one file is named by the file;
a larger group by its folder when it holds every exposure file of that folder, else by
``FOLDER/EXPNUM=N`` (see :func:`exposure_files`).
"""
import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path

import fitsio

from desghost.errors import UsageError
from desghost.reading.community import product_kind
from desghost.reading.fitsfile import cfitsio_name, is_fits

__all__ = ["companion_product", "discover_inputs", "expnum_of_input", "exposure_files", "FilePeek", "FITS_PATTERNS",
           "group_exposures", "GROUP_NAME", "group_name", "is_pattern", "peek_file", "PRODUCT_NAME",
           "read_list_file"]

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
    return sorted({f for pat in FITS_PATTERNS for f in glob.glob(os.path.join(glob.escape(directory), pat))})


#: File names of desghost's own products (:func:`desghost.driver.exposure.product_names`, and the
#: night's ``desghost_*`` files): never inputs.
PRODUCT_NAME = re.compile(r"^(D\d{8,}_desghost_|desghost_)")

#: The name of a group of per-CCD files that shares its folder with other exposures' files.
GROUP_NAME = re.compile(r"^EXPNUM=(\d+)$")


def group_name(folder, expnum):
    """``FOLDER/EXPNUM=N``: the per-CCD files of exposure ``expnum`` in ``folder``."""
    return os.path.join(folder, f"EXPNUM={int(expnum)}")


def _parse_group_name(item):
    """``(folder, expnum)`` for a group name that is not an existing path, else None."""
    match = GROUP_NAME.match(os.path.basename(item))
    if match is None or os.path.exists(item) or not os.path.isdir(os.path.dirname(item) or "."):
        return None
    return os.path.dirname(item) or ".", int(match.group(1))


def is_pattern(item):
    """True for a glob pattern: it has ``*?[`` and names no existing path (an existing path is literal)."""
    return any(ch in item for ch in "*?[") and not os.path.lexists(item)


def exposure_files(source):
    """The files of one exposure: a path, a directory, a glob, a group name or a list of them, sorted.

    A group name ``FOLDER/EXPNUM=N`` (:func:`group_name`) stands for the per-CCD files of
    exposure N in FOLDER.

    Raises
    ------
    UsageError
        A directory without FITS files, a glob or group name that matches nothing, or an empty list.
    """
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    files = []
    for item in items:
        item = str(item)
        group = _parse_group_name(item)
        if group is not None:
            found = [f for f in _exposures_only(_fits_in(group[0]))
                     if (p := peek_file(f)) is not None and p.ccds <= 1 and p.expnum == group[1]]
            if not found:
                raise UsageError(f"no per-CCD file of EXPNUM {group[1]} in the folder", path=item)
            files.extend(found)
        elif os.path.isdir(item):
            found = _exposures_only(_fits_in(item))
            if not found:
                raise UsageError("directory holds no FITS files", path=item)
            files.extend(found)
        elif is_pattern(item):
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
    if isinstance(source, (str, os.PathLike)) and (group := _parse_group_name(str(source))) is not None:
        return group[1]
    try:
        first = exposure_files(source)[0]
        if not os.path.isfile(first):   # a FIFO or device would block: the full read refuses it
            return None
        for ext in (0, 1):
            with cfitsio_name(first) as name:
                header = fitsio.read_header(name, ext=ext)
            if "EXPNUM" in header:
                return int(header["EXPNUM"])
    except (OSError, ValueError, TypeError, IndexError, UsageError):
        return None
    return None


def read_list_file(path):
    """The paths of a list file: one per line, whitespace around it stripped (spaces inside kept).

    A line is a comment only when ``#`` starts it (after leading whitespace); blank lines are
    skipped; CRLF line ends are accepted.  Relative paths are taken from the current folder.
    """
    paths = []
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            paths.append(line)
    return paths


@dataclass(frozen=True)
class FilePeek:
    """What a quick look at a file's headers tells: its EXPNUM (or None) and how many CCDs it holds (0, 1 or 2+)."""

    expnum: int | None
    ccds: int


def peek_file(path):
    """EXPNUM and CCD count of a FITS file from its headers (stops at the second CCD), or None.

    None for anything that is not a regular, readable FITS file: the full read reports why.
    A CCD is an HDU with CCDNUM or DETPOS; a DES file's SCI, MSK and WGT HDUs are one CCD.
    """
    path = str(path)
    try:
        if not os.path.isfile(path) or not is_fits(path):
            return None
        with cfitsio_name(path) as name, fitsio.FITS(name) as fits:
            primary = fits[0].read_header()
            expnum = primary.get("EXPNUM")
            ccds = set()
            for i in range(len(fits)):
                header = primary if i == 0 else fits[i].read_header()
                expnum = header.get("EXPNUM") if expnum is None else expnum
                ident = header.get("CCDNUM", header.get("DETPOS"))
                if ident is not None:
                    ccds.add(str(ident).strip())
                if len(ccds) > 1:
                    break
        return FilePeek(int(expnum) if isinstance(expnum, (int, float)) or str(expnum).strip().isdigit() else None,
                        len(ccds))
    except (OSError, ValueError, TypeError, RuntimeError):
        return None


def group_exposures(items):
    """Group files and folders into exposures: the rule of the module docstring.

    Parameters
    ----------
    items : list of str
        Files, folders and group names, in the order given (duplicates already dropped).

    Returns
    -------
    list of str
        One input per exposure, in the order of each exposure's first file: a file, a folder,
        or ``FOLDER/EXPNUM=N`` (:func:`group_name`).  Files whose headers cannot be read stay
        inputs of their own, for the full read to report.
    """
    slots, groups, folder_files = [], {}, {}
    for item in items:
        files = _exposures_only(_fits_in(item)) if os.path.isdir(item) else [item]
        if not files:
            slots.append(item)   # a folder without FITS files: the read says so
        for path in files:
            named_alone = companion_product(path) or _parse_group_name(path) is not None
            peek = None if named_alone else peek_file(path)
            if peek is None or peek.ccds > 1 or peek.expnum is None:
                slots.append(path)
                continue
            key = (os.path.dirname(os.path.abspath(path)), peek.expnum)
            if key not in groups:
                groups[key] = []
                slots.append(key)
            if path not in groups[key]:
                groups[key].append(path)
    out = []
    for slot in slots:
        if not isinstance(slot, tuple):
            out.append(slot)
            continue
        folder, expnum = slot
        files = groups[slot]
        if folder not in folder_files:
            folder_files[folder] = {os.path.abspath(f) for f in _exposures_only(_fits_in(folder))}
        if len(files) == 1:
            out.append(files[0])
        elif {os.path.abspath(f) for f in files} == folder_files[folder]:
            out.append(os.path.dirname(files[0]) or ".")
        else:
            out.append(group_name(os.path.dirname(files[0]) or ".", expnum))
    return out


def discover_inputs(inputs, outdir=None):
    """Exposures named by directories, globs, list files (one path per line) or paths.

    Every file found is grouped by exposure (:func:`group_exposures`): a file of several CCDs is
    one exposure, per-CCD files are grouped by EXPNUM, and a folder's sub-folders are searched
    the same way.  Community Pipeline ``ood`` and ``oow`` files found in directories, globs and
    lists are not exposures: each is read with its ``ooi`` file (see
    :mod:`desghost.reading.community`).  desghost's own products, and sub-folders that are the
    output folder or lie under it, are never inputs.  A sub-folder that is a link back to a
    folder already searched (a link loop) is skipped.  Duplicates (by real path) are dropped.

    Parameters
    ----------
    inputs : list of str or Path
    outdir : str or Path, optional
        The output folder of the run: nothing found in a folder below it is an input.

    Raises
    ------
    UsageError
        Nothing was found.  (An ``ood``/``oow`` file named on its own stays an input, refused
        with exit code 2 when it is read, so the other inputs are processed.)
    """
    out_real = os.path.realpath(outdir) if outdir is not None else None

    def searchable(folder, parent, searched):
        real, parent_real = os.path.realpath(folder), os.path.realpath(parent)
        below_out = out_real is not None and (real == out_real or real.startswith(out_real + os.sep))
        loop = real in searched or parent_real == real or parent_real.startswith(real + os.sep)
        return not below_out and not loop

    out, searched = [], set()
    for item in inputs:
        item = str(item)
        if os.path.isdir(item):
            searched.add(os.path.realpath(item))
            subdirs = [d for d in sorted(glob.glob(os.path.join(glob.escape(item), "*")))
                       if os.path.isdir(d) and searchable(d, item, searched) and _fits_in(d)]
            searched.update(os.path.realpath(d) for d in subdirs)
            out.extend(_exposures_only(_fits_in(item)) + subdirs)
        elif is_pattern(item):
            out.extend(_exposures_only(sorted(glob.glob(item))))
        elif item.endswith((".txt", ".list", ".lst")) and os.path.isfile(item):
            out.extend(p for p in read_list_file(item) if not companion_product(p))
        else:
            out.append(item)   # a mask or weight file named alone is refused when it is read
    seen, unique = set(), []
    for x in out:
        key = os.path.realpath(x)
        if key not in seen and not PRODUCT_NAME.match(os.path.basename(x)):
            seen.add(key)
            unique.append(x)
    if not unique:
        raise UsageError("no exposures found in the inputs")
    return group_exposures(unique)
