"""Read DECam exposures of every flavor, one CCD at a time.

Flavors (detected from the headers, not the file names):

``raw``
    ``DECam_*.fits[.fz]``: PROCTYPE = RAW, uint16 with two amplifiers and overscan.  The
    overscan (BIASSECA/B) is subtracted per amplifier and each amplifier is put in
    electrons with GAINA/B.
``ooi``
    NOIRLab community-pipeline MEF (``c4d_*_ooi_*``): one float image HDU per CCD.
``des``
    DES reduced per-CCD files (``D*_c??_r*p*_immasked.fits[.fz]``) with SCI, MSK and WGT;
    pixels flagged in MSK are excluded.

Every CCD is identified by CCDNUM and cross-checked with DETPOS.  Only one CCD's pixels
are in memory at a time.  ``row_step > 1`` reads every row_step-th row only; because raw and
community-pipeline files are tile-compressed one row per tile, skipped rows are never
decompressed.
"""
import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

import fitsio
import numpy as np

from .errors import (CorruptFileError, DuplicateCCDError, InconsistentExposureError,
                     InputWarning, MissingKeywordError, NotDecamError, NotFitsError, UsageError)
from .layout import load_layout
from .sections import parse_section

FITS_PATTERNS = ("*.fits", "*.fits.fz", "*.fits.gz", "*.fit", "*.fz")


@dataclass
class CCDFrame:
    """One CCD's pixels and header.

    Attributes
    ----------
    ccdnum, detpos : int, str
    pixels : ndarray of float32, shape (n_rows_read, nx)
        The data section, indexed ``[y, x]``; NaN marks excluded pixels (mask, dead
        amplifier, non-finite values).  Rows are every ``row_step``-th row of the section.
    header : dict
        Primary header merged with the CCD's header (CCD keys win).
    row_step : int
    full_shape : tuple of int
        ``(ny, nx)`` of the whole data section.
    source : str
        ``file[HDU]`` for messages.
    """

    ccdnum: int
    detpos: str
    pixels: np.ndarray
    header: dict
    row_step: int
    full_shape: tuple
    source: str
    warnings: list = field(default_factory=list)


def header_to_dict(hdr):
    """A fitsio header as a plain dict (upper-case keys, stripped strings)."""
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


def _is_fits(path):
    with open(path, "rb") as fh:
        return fh.read(9) == b"SIMPLE  ="


def _open(path):
    path = str(path)
    if not os.path.exists(path):
        raise UsageError("no such file", path=path)
    if os.path.getsize(path) < 2880 or not _is_fits(path):
        raise NotFitsError("not a FITS file (no SIMPLE card at the start)", path=path)
    try:
        return fitsio.FITS(path)
    except (OSError, ValueError) as exc:
        raise CorruptFileError(f"cannot open FITS structure ({_short(exc)})", path=path) from exc


def _short(exc):
    text = " ".join(str(exc).split())
    return text[:160]


def _expand_source(source):
    """A path, a directory, a glob or a list of them as a sorted list of files."""
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    files = []
    for item in items:
        item = str(item)
        if os.path.isdir(item):
            found = sorted({f for pat in FITS_PATTERNS for f in glob.glob(os.path.join(item, pat))})
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


def _band(header):
    band = header.get("BAND")
    if band:
        return str(band).strip()
    filt = str(header.get("FILTER", "")).strip()
    return filt.split()[0] if filt else ""


class Exposure:
    """One DECam exposure, from one multi-extension file or a set of per-CCD files.

    Use :func:`open_exposure` to make one.  Iterating :meth:`ccds` streams the CCDs.
    """

    def __init__(self, files, layout):
        self.files = files
        self.layout = layout
        self.source = files[0] if len(files) == 1 else os.path.dirname(files[0]) or files[0]
        self._index = []  # (file, hdu_index, extname, ccdnum, detpos, merged header)
        self.primary_header = {}
        self.flavor = None
        self._scan()

    # -- scanning headers -------------------------------------------------------------------
    def _scan(self):
        expnums = {}
        seen = {}
        for path in self.files:
            with _open(path) as fits:
                primary, entries, flavor = self._scan_file(path, fits)
            if self.flavor is None:
                self.flavor = flavor
                self.primary_header = primary
            elif flavor != self.flavor:
                raise InconsistentExposureError(
                    f"flavor {flavor} differs from {self.flavor} of {self.files[0]}", path=path)
            for e in entries:
                expnums.setdefault(e[5]["EXPNUM"], path)
                if e[3] in seen:
                    raise DuplicateCCDError(
                        f"CCDNUM {e[3]} appears twice: {seen[e[3]]} and {path}[{e[2]}]",
                        path=path, hdu=e[2])
                seen[e[3]] = f"{path}[{e[2]}]"
                self._index.append(e)
        if len(expnums) > 1:
            listing = ", ".join(f"{k} ({v})" for k, v in sorted(expnums.items()))
            raise InconsistentExposureError(f"files belong to different exposures: EXPNUM {listing}")
        if not self._index:
            raise MissingKeywordError("no science CCD HDU found (no CCDNUM/DETPOS)", path=self.files[0])
        self.expnum = int(next(iter(expnums)))
        first = self._index[0][5]
        self.band = _band(first)
        self.date_obs = str(first.get("DATE-OBS", ""))
        self.mjd_obs = first.get("MJD-OBS")
        self.exptime = first.get("EXPTIME")

    def _scan_file(self, path, fits):
        try:
            primary = header_to_dict(fits[0].read_header())
        except (OSError, ValueError) as exc:
            raise CorruptFileError(f"cannot read header ({_short(exc)})", path=path, hdu=0) from exc
        entries = []
        extnames = []
        for i in range(len(fits)):
            try:
                hdu = fits[i]
                hdr = header_to_dict(hdu.read_header())
                has_data = hdu.get_exttype() == "IMAGE_HDU" and bool(hdu.get_dims())
            except (OSError, ValueError) as exc:
                raise CorruptFileError(f"cannot read header ({_short(exc)})", path=path, hdu=i) from exc
            extname = str(hdr.get("EXTNAME", "")).strip()
            extnames.append(extname.upper())
            if not has_data:
                continue
            merged = dict(primary)
            merged.update(hdr)
            entries.append((i, extname, hdr, merged))
        flavor = self._detect_flavor(primary, extnames, entries)
        self._check_instrument(path, primary, entries)
        out = []
        for i, extname, hdr, merged in entries:
            if flavor == "des" and extname.upper() != "SCI":
                continue
            ident = self._identify(path, i, extname, merged)
            if ident is None:
                continue
            ccdnum, detpos = ident
            if "EXPNUM" not in merged:
                raise MissingKeywordError("EXPNUM missing from the primary and CCD headers",
                                          path=path, hdu=extname or i, keyword="EXPNUM")
            try:
                merged["EXPNUM"] = int(merged["EXPNUM"])
            except (TypeError, ValueError) as exc:
                raise MissingKeywordError(f"EXPNUM is not an integer: {merged['EXPNUM']!r}",
                                          path=path, keyword="EXPNUM") from exc
            out.append((path, i, extname or str(i), ccdnum, detpos, merged))
        return primary, out, flavor

    @staticmethod
    def _detect_flavor(primary, extnames, entries):
        if "SCI" in extnames and "MSK" in extnames:
            return "des"
        proctype = str(primary.get("PROCTYPE", "")).strip().upper()
        if not proctype and entries:
            proctype = str(entries[0][3].get("PROCTYPE", "")).strip().upper()
        if proctype == "RAW" or any("BIASSECA" in e[2] for e in entries[:1]):
            return "raw"
        return "ooi"

    def _check_instrument(self, path, primary, entries):
        want = self.layout.config["instrument_keyword"].upper()
        inst = primary.get("INSTRUME")
        if inst is None and entries:
            inst = entries[0][3].get("INSTRUME")
        if inst is None:
            raise NotDecamError("no INSTRUME keyword: cannot tell the instrument",
                                path=path, keyword="INSTRUME")
        if str(inst).strip().upper() != want:
            raise NotDecamError(f"instrument is {str(inst).strip()!r}, not {self.layout.name}",
                                path=path, keyword="INSTRUME")

    def _identify(self, path, hdu_index, extname, header):
        """(ccdnum, detpos) of a science CCD HDU, None for focus/guide or non-CCD HDUs."""
        detpos = str(header.get("DETPOS", extname)).strip().upper()
        if detpos[:1] in ("F", "G") and detpos not in self.layout.detpos_to_ccdnum:
            return None  # focus and guide CCDs
        ccdnum = header.get("CCDNUM")
        if ccdnum is None:
            if detpos in self.layout.detpos_to_ccdnum:
                return self.layout.detpos_to_ccdnum[detpos], detpos
            if not detpos:
                return None
            raise MissingKeywordError("no CCDNUM and unknown DETPOS", path=path,
                                      hdu=extname or hdu_index, keyword="CCDNUM")
        try:
            ccdnum = int(ccdnum)
        except (TypeError, ValueError) as exc:
            raise MissingKeywordError(f"CCDNUM is not an integer: {ccdnum!r}", path=path,
                                      hdu=extname or hdu_index, keyword="CCDNUM") from exc
        if ccdnum not in self.layout.ccds:
            return None  # focus/guide CCDs carry CCDNUM 63..70
        expected = self.layout.ccds[ccdnum].detpos
        if detpos and detpos != expected.upper():
            raise InconsistentExposureError(
                f"CCDNUM {ccdnum} is {expected} in the camera layout but DETPOS says {detpos}",
                path=path, hdu=extname or hdu_index, keyword="DETPOS")
        return ccdnum, expected

    # -- pixels -------------------------------------------------------------------------------
    @property
    def ccdnums(self):
        """CCDNUMs present in the exposure, in file order."""
        return [e[3] for e in self._index]

    def ccds(self, row_step=1, only=None):
        """Yield a :class:`CCDFrame` per science CCD, reading one at a time.

        Parameters
        ----------
        row_step : int
            Read every ``row_step``-th row of each CCD (1 reads everything).
        only : collection of int, optional
            Read only these CCDNUMs.
        """
        current_path, fits = None, None
        try:
            for path, hdu_index, extname, ccdnum, detpos, header in self._index:
                if only is not None and ccdnum not in only:
                    continue
                if path != current_path:
                    if fits is not None:
                        fits.close()
                    fits = _open(path)
                    current_path = path
                yield self._read_ccd(fits, path, hdu_index, extname, ccdnum, detpos, header, row_step)
        finally:
            if fits is not None:
                fits.close()

    def _read_ccd(self, fits, path, hdu_index, extname, ccdnum, detpos, header, row_step):
        source = f"{path}[{extname}]"
        try:
            hdu = fits[hdu_index]
            ny, nx = hdu.get_dims()
            if self.flavor == "raw":
                pixels, full_shape = _read_raw(hdu, header, ny, nx, row_step, source)
            else:
                pixels = hdu[0:ny:row_step, 0:nx].astype(np.float32)
                full_shape = (ny, nx)
                if self.flavor == "des":
                    msk_index = _find_hdu(fits, "MSK")
                    if msk_index is not None:
                        mask = fits[msk_index][0:ny:row_step, 0:nx]
                        pixels[mask != 0] = np.nan
        except (OSError, ValueError, RuntimeError) as exc:
            raise CorruptFileError(f"cannot read pixels ({_short(exc)})", path=path, hdu=extname) from exc
        warnings = []
        if self.flavor != "des" and not np.isfinite(pixels.sum(dtype=np.float64)):
            bad = ~np.isfinite(pixels)
            warnings.append(InputWarning("nonfinite_pixels",
                                         f"{source}: {int(bad.sum())} NaN/inf pixels excluded"))
            pixels[bad] = np.nan
        known_dead = ccdnum in self.layout.dead_ccds(self.expnum)
        if not known_dead and not pixels.any():
            warnings.append(InputWarning("all_zero_hdu", f"{source}: all pixels are zero; CCD {ccdnum} left blank"))
            pixels[:] = np.nan
        elif self.flavor == "des":
            pixels[np.isinf(pixels)] = np.nan
        _apply_dead_regions(pixels, self.layout, ccdnum, self.expnum)
        return CCDFrame(ccdnum=ccdnum, detpos=detpos, pixels=pixels, header=header,
                        row_step=row_step, full_shape=full_shape, source=source, warnings=warnings)


def _find_hdu(fits, name):
    for i in range(len(fits)):
        if str(fits[i].get_extname()).strip().upper() == name:
            return i
    return None


def _section(header, key, source):
    try:
        return parse_section(header[key])
    except KeyError:
        raise MissingKeywordError(f"{key} missing", path=source, keyword=key) from None
    except ValueError as exc:
        raise MissingKeywordError(str(exc), path=source, keyword=key) from None


def _read_raw(hdu, header, ny, nx, row_step, source):
    """Overscan-subtracted, gain-corrected data section of a raw CCD (rows subsampled)."""
    rows, cols = _section(header, "DATASEC", source)
    block = hdu[rows.start:rows.stop:row_step, 0:nx].astype(np.float32)
    out = block[:, cols]
    amps = [a for a in ("A", "B") if f"DATASEC{a}" in header]
    if not amps and "BIASSEC" in header:
        _, bcols = _section(header, "BIASSEC", source)
        out = out - np.median(block[:, bcols])
    for amp in amps:
        _, dcols = _section(header, f"DATASEC{amp}", source)
        _, bcols = _section(header, f"BIASSEC{amp}", source)
        bias = np.median(block[:, bcols])
        gain = float(header.get(f"GAIN{amp}", 1.0) or 1.0)
        sel = slice(dcols.start - cols.start, dcols.stop - cols.start)
        out[:, sel] = (block[:, dcols] - bias) * gain
    return np.ascontiguousarray(out), (rows.stop - rows.start, cols.stop - cols.start)


def _apply_dead_regions(pixels, layout, ccdnum, expnum):
    """Set the known-bad regions of this CCD to NaN (whole CCD or one amplifier half)."""
    for region in layout.dead_regions(expnum).get(ccdnum, []):
        half = pixels.shape[1] // 2
        if region.region == "all":
            pixels[:] = np.nan
            continue
        side = layout.ccds[ccdnum].amp_a_side
        if region.region == "amp_b":
            side = "left" if side == "right" else "right"
        if side == "right":
            pixels[:, half:] = np.nan
        else:
            pixels[:, :half] = np.nan


def open_exposure(source, layout=None):
    """Open an exposure: a file, a directory or a list of per-CCD files.

    Parameters
    ----------
    source : str, Path or list
        One multi-extension file (raw or community pipeline), or the per-CCD files of one
        exposure (a directory, a glob or a list).
    layout : CameraLayout, optional
        Defaults to DECam.

    Returns
    -------
    Exposure
        With ``flavor``, ``expnum``, ``band``, ``date_obs``, ``ccdnums`` and :meth:`Exposure.ccds`.

    Raises
    ------
    DesghostError
        A subclass that names the file, HDU or keyword at fault.
    """
    layout = layout or load_layout()
    files = [str(Path(f)) for f in _expand_source(source)]
    return Exposure(files, layout)
