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
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from desghost.errors import (
    CorruptFileError,
    DuplicateCCDError,
    InconsistentExposureError,
    InputWarning,
    MissingKeywordError,
)
from desghost.layout import load_layout
from desghost.reading.community import apply_dq_mask
from desghost.reading.discovery import exposure_files
from desghost.reading.fitsfile import header_to_dict, is_gzip, open_fits, short_error
from desghost.reading.flavors import reader_of
from desghost.reading.headers import (
    band_of,
    check_instrument,
    check_numeric_cards,
    detect_flavor,
    expnum_of,
    identify_ccd,
    observing_night,
    telescope_pointing,
)
from desghost.reading.records import CCDEntry, CCDFrame, ExposureMeta
from desghost.reading.rice import rice_layout
from desghost.reading.window import ccd_window, place_window

__all__ = ["check_image_size", "check_read_to_end", "DECODERS", "Exposure", "MAX_CCD_SIDE_PX", "open_exposure"]

#: Largest image side a CCD HDU may declare: twice a raw DECam CCD's 4146 rows (checked before allocating).
MAX_CCD_SIDE_PX = 8292


def check_image_size(path, hdu_index, header, dims, data_start=0):
    """Refuse an image HDU whose declared size no DECam CCD has, or that its file cannot hold.

    Checked from the header before any pixel buffer is allocated: each side at most
    :data:`MAX_CCD_SIDE_PX`; an uncompressed image's bytes, from ``data_start`` (bytes), within
    the file's length.

    Raises
    ------
    CorruptFileError
        The declared size is impossible (exit code 4).
    """
    ny, nx = (int(d) for d in dims[-2:]) if len(dims) >= 2 else (1, int(dims[0]))
    if len(dims) > 2 or max(ny, nx) > MAX_CCD_SIDE_PX:
        shape = "x".join(str(int(d)) for d in reversed(dims))
        raise CorruptFileError(f"declares a {shape} px image; a DECam CCD has at most {MAX_CCD_SIDE_PX} px a side",
                               path=path, hdu=hdu_index)
    if "ZNAXIS1" not in header and not is_gzip(path):
        nbytes = ny * nx * abs(int(header.get("BITPIX", 16))) // 8
        available = os.path.getsize(path) - data_start
        if nbytes > available:
            raise CorruptFileError(f"declares {nbytes} bytes of pixels but the file holds {available} after its "
                                   "header", path=path, hdu=hdu_index)


def check_read_to_end(path, fits):
    """Refuse a file whose HDUs, as cfitsio lists them, end before the file does.

    cfitsio stops listing HDUs at a damaged header without an error; the rest of the file
    would then be silently missing (its CCDs reported as absent).  A file that cannot be read
    to its end is corrupt, not partial.

    Raises
    ------
    CorruptFileError
        More than one 2880-byte block lies after the last readable HDU (exit code 4).
    """
    if is_gzip(path):
        return
    end = fits[len(fits) - 1].get_offsets()["data_end"]
    size = os.path.getsize(path)
    if size - end >= 2880:
        raise CorruptFileError(f"cannot be read to its end: {size - end} bytes after HDU {len(fits) - 1} do not "
                               "parse as FITS (a damaged header?)", path=path, hdu=len(fits))


#: How raw CCD pixels are decoded (see :meth:`Exposure.ccds`).
DECODERS = ("auto", "fitsio")


class Exposure:
    """One DECam exposure, from one multi-extension file or a set of per-CCD files.

    Use :func:`open_exposure` to make one.  Iterating :meth:`ccds` streams the CCDs.
    """

    def __init__(self, files, layout):
        self.files = files
        self.dq_masks = {}  # ooi file -> its ood file, for Community Pipeline exposures
        self.layout = layout
        self.source = files[0] if len(files) == 1 else os.path.dirname(files[0]) or files[0]
        self.entries = []  # CCDEntry per science CCD, in file order
        self.primary_header = {}
        self.flavor, self.reader = None, None
        self._gzipped = {f for f in files if is_gzip(f)}   # decoded by cfitsio only (no tile offsets on disk)
        self._scan()
        # cut-outs, from the headers alone (see desghost.reading.window): a window its WCS cannot
        # place is refused here, before any pixel is read (exit code 8)
        self._windows = {e.ccdnum: w for e in self.entries if (w := self._find_window(e)) is not None}
        self.meta = ExposureMeta(self.expnum, self.band, self.date_obs, self.nite, self.mjd_obs, self.exptime,
                                 self.flavor, str(self.source), self.pointing_deg)
        self.dq_masks = self.reader.dq_masks(files)

    # -- scanning headers -------------------------------------------------------------------
    def _scan(self):
        expnums = {}
        seen = {}
        for path in self.files:
            with open_fits(path) as fits:
                primary, entries, flavor = self._scan_file(path, fits)
            if self.flavor is None:
                self.flavor, self.reader = flavor, reader_of(flavor)
                self.primary_header = primary
            elif flavor != self.flavor:
                raise InconsistentExposureError(
                    f"flavor {flavor} differs from {self.flavor} of {self.files[0]}", path=path)
            for e in entries:
                expnums.setdefault(e.header["EXPNUM"], path)
                if e.ccdnum in seen:
                    raise DuplicateCCDError(
                        f"CCDNUM {e.ccdnum} appears twice: {seen[e.ccdnum]} and {path}[{e.extname}]",
                        path=path, hdu=e.extname)
                seen[e.ccdnum] = f"{path}[{e.extname}]"
                self.entries.append(e)
        if len(expnums) > 1:
            listing = ", ".join(f"{k} ({v})" for k, v in sorted(expnums.items()))
            raise InconsistentExposureError(f"files belong to different exposures: EXPNUM {listing}")
        if not self.entries:
            raise MissingKeywordError("no science CCD HDU found (no CCDNUM/DETPOS)", path=self.files[0])
        self.expnum = int(next(iter(expnums)))
        first = self.entries[0].header
        self.band = band_of(first)
        self.date_obs = str(first.get("DATE-OBS", ""))
        self.nite = observing_night(first)
        self.mjd_obs = first.get("MJD-OBS")
        self.exptime = first.get("EXPTIME")
        self.pointing_deg = telescope_pointing(first)

    def _scan_file(self, path, fits):
        try:
            primary = header_to_dict(fits[0].read_header())
        except (OSError, ValueError) as exc:
            raise CorruptFileError(f"cannot read header ({short_error(exc)})", path=path, hdu=0) from exc
        check_read_to_end(path, fits)
        entries = []
        extnames = []
        for i in range(len(fits)):
            try:
                hdu = fits[i]
                hdr = header_to_dict(hdu.read_header())
                has_data = hdu.get_exttype() == "IMAGE_HDU" and bool(hdu.get_dims())
            except (OSError, ValueError) as exc:
                raise CorruptFileError(f"cannot read header ({short_error(exc)})", path=path, hdu=i) from exc
            if has_data:
                check_image_size(path, i, hdr, hdu.get_dims(), hdu.get_offsets()["data_start"])
            extname = str(hdr.get("EXTNAME", "")).strip()
            extnames.append(extname.upper())
            if not has_data:
                continue
            merged = dict(primary)
            merged.update(hdr)
            entries.append((i, extname, hdr, merged))
        flavor = detect_flavor(primary, extnames, [hdr for _, _, hdr, _ in entries], path)
        check_instrument(path, primary, [merged for _, _, _, merged in entries], self.layout)
        out = []
        for i, extname, hdr, merged in entries:
            if not reader_of(flavor).is_science_hdu(extname):
                continue
            ident = identify_ccd(merged, extname, self.layout, path, i)
            if ident is None:
                continue
            check_numeric_cards(merged, path, extname or i)
            ccdnum, detpos = ident
            merged["EXPNUM"] = expnum_of(merged, path, extname or i)
            out.append(CCDEntry(path, i, extname or str(i), ccdnum, detpos, merged))
        return primary, out, flavor

    # -- pixels -------------------------------------------------------------------------------
    @property
    def ccdnums(self):
        """CCDNUMs present in the exposure, in file order."""
        return [e.ccdnum for e in self.entries]

    def ccds(self, row_step=1, only=None, threads=1, decoder="auto", per_frame=None):
        """Yield a :class:`CCDFrame` per science CCD, in file order.

        Parameters
        ----------
        row_step : int
            Read every ``row_step``-th row of each CCD (1 reads everything).
        only : collection of int, optional
            Read only these CCDNUMs.
        threads : int
            Threads decoding Rice-compressed raw CCDs (:mod:`desghost.reading.rice`, which
            releases the GIL); at most ``threads + 1`` CCDs are in memory at once.  Other
            inputs are read one CCD at a time in this thread.
        decoder : {"auto", "fitsio"}
            ``auto``: raw CCDs that :func:`desghost.reading.rice.rice_layout` covers are decoded
            from their tiles with imagecodecs (bit-identical pixels); ``fitsio``: cfitsio reads
            everything (one thread).
        per_frame : callable, optional
            Applied to each frame in the thread that read it (for example binning, which then
            runs in parallel too); its results are yielded instead of the frames.
        """
        if decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {', '.join(DECODERS)}, not {decoder!r}")
        entries = [e for e in self.entries if only is None or e.ccdnum in only]
        current_path, fits = None, None
        pool = ThreadPoolExecutor(max_workers=threads) if threads > 1 and self.reader.decodes_rice_tiles else None
        pending = []  # futures (or finished frames) in file order
        try:
            for entry in entries:
                if entry.path != current_path:
                    if fits is not None:
                        fits.close()
                    fits = open_fits(entry.path)
                    current_path = entry.path
                direct = self.reader.decodes_rice_tiles and decoder == "auto" and entry.path not in self._gzipped
                rice = self._rice_source(fits, entry) if direct else None
                if pool is not None and rice is not None:
                    pending.append(pool.submit(self._read_and_apply, None, entry, row_step, rice, per_frame))
                else:
                    pending.append(self._read_and_apply(fits, entry, row_step, rice, per_frame))
                while len(pending) > (threads if pool is not None else 0):
                    yield _result(pending.pop(0))
            while pending:
                yield _result(pending.pop(0))
        finally:
            if pool is not None:
                for item in pending:
                    if isinstance(item, Future):
                        item.cancel()
                pool.shutdown(wait=True)
            if fits is not None:
                fits.close()

    def data_extent(self, entry):
        """The :class:`DataExtent` of a CCD, from its header alone (no pixels are read).

        The flavor's reader decides (raw CCDs: DATASEC; other flavors: all data).
        """
        return self.reader.data_extent(entry)

    def _find_window(self, entry):
        """The CCD's cut-out from its header (CRPIX taken into the data section's frame)."""
        extent = self.data_extent(entry)
        header = entry.header
        if extent.col0_px or extent.row0_px:
            header = dict(header)
            for key, offset in (("CRPIX1", extent.col0_px), ("CRPIX2", extent.row0_px)):
                if key in header:
                    header[key] = float(header[key]) - offset
        return ccd_window(header, extent.ny_px, extent.nx_px, self.layout, entry.ccdnum,
                          f"{entry.path}[{entry.extname}]")

    def window(self, entry):
        """The :class:`~desghost.reading.window.CCDWindow` of a CCD that is a cut-out, else None."""
        return self._windows.get(entry.ccdnum)

    def windows(self):
        """``{ccdnum: CCDWindow}`` of the CCDs that are cut-outs (empty for whole CCDs)."""
        return dict(self._windows)

    @staticmethod
    def _rice_source(fits, entry):
        """``(path, data_start, RiceLayout)`` of a raw CCD that :mod:`desghost.reading.rice` can decode, else None."""
        layout = rice_layout(entry.header)
        if layout is None:
            return None
        return entry.path, fits[entry.hdu_index].get_offsets()["data_start"], layout

    def _read_and_apply(self, fits, entry, row_step, rice, per_frame):
        frame = self._read_ccd(fits, entry, row_step, rice)
        return frame if per_frame is None else per_frame(frame)

    def _read_ccd(self, fits, entry, row_step, rice=None):
        """One CCD's frame: pixels from ``rice`` (``_rice_source``; no ``fits`` needed) or through fitsio."""
        path, extname, ccdnum = entry.path, entry.extname, entry.ccdnum
        source = f"{path}[{extname}]"
        try:
            pixels, full_shape = self.reader.read_pixels(fits, entry, row_step, source, rice)
        except (OSError, ValueError, RuntimeError) as exc:
            raise CorruptFileError(f"cannot read pixels ({short_error(exc)})", path=path, hdu=extname) from exc
        warnings = []
        from_integers = self.reader.integer_pixels(entry.header)   # finite without a scan
        if self.reader.reports_nonfinite and not from_integers and not np.isfinite(pixels.sum(dtype=np.float64)):
            bad = ~np.isfinite(pixels)
            warnings.append(InputWarning("nonfinite_pixels",
                                         f"{source}: {int(bad.sum())} NaN/inf pixels excluded"))
            pixels[bad] = np.nan
        if entry.path in self.dq_masks:
            apply_dq_mask(pixels, self.dq_masks[entry.path], entry, row_step)
        known_dead = ccdnum in self.layout.dead_ccds(self.expnum)
        if not known_dead and pixels.size and not from_integers and np.isnan(pixels).all():
            warnings.append(InputWarning("masked_ccds", f"{source}: every pixel is flagged by {self.reader.flag_name}; "
                                                        f"CCD {ccdnum} left blank", ccdnum))
        elif not known_dead and not pixels.any():
            warnings.append(InputWarning("all_zero_hdu", f"{source}: all pixels are zero; CCD {ccdnum} left blank"))
            pixels[:] = np.nan
        elif self.reader.flags_infinite:
            pixels[np.isinf(pixels)] = np.nan
        window = self.window(entry)
        if window is not None:
            warnings.append(InputWarning("partial_ccds", f"{source}: CCD {ccdnum} is a window of its CCD, "
                                                         f"{window.describe()}; the rest is left blank", ccdnum))
            pixels = place_window(pixels, window, row_step)
            full_shape = (window.full_ny_px, window.full_nx_px)
        self.layout.blank_dead_regions(pixels, ccdnum, self.expnum)
        return CCDFrame(ccdnum=ccdnum, detpos=entry.detpos, pixels=pixels, header=entry.header,
                        row_step=row_step, full_shape=full_shape, source=source, warnings=warnings,
                        window=window)


def _result(item):
    return item.result() if isinstance(item, Future) else item


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
        With ``flavor``, ``expnum``, ``band``, ``date_obs``, ``nite``, ``ccdnums`` and :meth:`Exposure.ccds`.

    Raises
    ------
    DesghostError
        A subclass that names the file, HDU or keyword at fault.
    """
    layout = layout or load_layout()
    files = [str(Path(f)) for f in exposure_files(source)]
    return Exposure(files, layout)
