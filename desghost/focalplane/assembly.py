"""Assemble an exposure into the 400x400 focal-plane image the detector reads."""
import time
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from desghost.errors import InconsistentExposureError, InputWarning
from desghost.focalplane.binning import bin_ccd_into_box
from desghost.focalplane.ccd_map import MIN_VALID_FRACTION, default_orientation
from desghost.focalplane.orientation import orientation_from_header
from desghost.focalplane.stretch import binned_noise, stretch_to_uint8
from desghost.hardware import available_cores
from desghost.layout import load_layout
from desghost.reading.exposure import open_exposure
from desghost.reading.records import ExposureMeta

__all__ = ["assemble_binned", "assemble_exposure", "bin_frame", "BinnedCCD", "binned_frame", "binned_frames",
           "default_decode_threads", "DEFAULT_ROW_STEP", "FocalPlaneImage"]

#: Default rows read per CCD: every row.  Reading every k-th row is k times faster to
#: decompress but lowers the signal-to-noise of every binned pixel by sqrt(k); see
#: benchmarks/bench_assembly.py for the measured speed and image differences.
DEFAULT_ROW_STEP = 1


@dataclass
class FocalPlaneImage:
    """A focal-plane image and what it was made from.

    Attributes
    ----------
    image : ndarray of uint8, shape (400, 400)
    meta : ExposureMeta
        What the reader found in the headers; ``expnum``, ``band``, ``date_obs``, ``nite``,
        ``mjd_obs``, ``flavor`` and ``source`` read from it.
    ccds_present : list of int
        CCDs that contributed pixels.
    ccds_missing : list of int
        Science CCDs absent from the input (blank in the image), dead ones excluded.
    ccds_dead : list of int
        CCDs blank because the camera layout marks them dead for this EXPNUM.
    ccds_masked : list of int
        CCDs in the input whose every pixel is flagged (mask or NaN): blank, reported with
        their own warning (exit code 15).
    ccd_windows : dict
        ``{ccdnum: CCDWindow}`` of the CCDs the input holds only a cut-out of (exit code 17).
    window_valid_px : dict
        ``{ccdnum: ndarray of int16, shape (n, 2)}``: the (row, col) image pixels holding data of
        each cut-out (those its products judge it on).
    warnings : list of InputWarning
    row_step : int
    noise_per_bin : float
        Noise of one binned pixel in input units, the stretch's scale.
    seconds : float
        Wall time of the assembly.
    """

    image: np.ndarray
    meta: ExposureMeta
    ccds_present: list
    ccds_missing: list
    ccds_dead: list
    ccds_masked: list = field(default_factory=list)
    ccd_windows: dict = field(default_factory=dict)
    window_valid_px: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    row_step: int = 1
    noise_per_bin: float = float("nan")
    seconds: float = 0.0

    expnum = property(lambda self: self.meta.expnum, doc="EXPNUM")
    band = property(lambda self: self.meta.band, doc="The filter band")
    date_obs = property(lambda self: self.meta.date_obs, doc="DATE-OBS")
    nite = property(lambda self: self.meta.nite, doc="The observing night, YYYYMMDD")
    mjd_obs = property(lambda self: self.meta.mjd_obs, doc="MJD-OBS")
    flavor = property(lambda self: self.meta.flavor, doc="raw, ooi or des")
    source = property(lambda self: self.meta.source, doc="The input path (file or directory)")

    def metadata(self):
        """JSON-ready metadata (everything but the pixels)."""
        return {
            "expnum": self.expnum, "band": self.band, "date_obs": self.date_obs, "nite": self.nite,
            "mjd_obs": self.mjd_obs, "flavor": self.flavor, "source": self.source,
            "ccds_present": self.ccds_present, "ccds_missing": self.ccds_missing,
            "ccds_dead": self.ccds_dead, "ccds_masked": self.ccds_masked,
            "ccds_partial": [{"ccdnum": c, "present_fraction": round(w.present_fraction, 6),
                              "window_px": [w.col0_px, w.row0_px, w.nx_px, w.ny_px]}
                             for c, w in sorted(self.ccd_windows.items())],
            "row_step": self.row_step,
            "noise_per_bin": self.noise_per_bin, "seconds": round(self.seconds, 3),
            "warnings": [w.message for w in self.warnings],
        }


def bin_frame(frame, layout, default):
    """Bin one :class:`~desghost.reading.exposure.CCDFrame` into its image box (mean per bin, NaN when empty)."""
    orientation = orientation_from_header(frame.header, default)
    if not orientation.x_is_vertical:
        raise InconsistentExposureError(
            f"WCS puts the CCD's long axis vertical (x runs {orientation.ccd_x_to}); "
            "the camera layout has it horizontal", path=frame.source, keyword="CD1_1")
    binned = bin_ccd_into_box(frame.pixels, orientation, layout.ccds[frame.ccdnum].box_px,
                              layout.image_shape_px)
    mean = binned.mean
    mean[binned.counts < MIN_VALID_FRACTION * binned.full_counts] = np.nan
    return binned.rows, binned.cols, mean


class BinnedCCD(NamedTuple):
    """One CCD binned into its box of the focal-plane image.

    Attributes
    ----------
    ccdnum : int
    rows, cols : slice
        The box in image pixels.
    values : ndarray of float, shape (rows, cols)
        Sky-subtracted mean per bin, NaN where a bin holds too few valid pixels.
    warnings : list of InputWarning
        The reader's warnings about this CCD.
    """

    ccdnum: int
    rows: slice
    cols: slice
    values: np.ndarray
    warnings: list


def binned_frame(frame, layout, default):
    """One frame binned into its box, sky subtracted: a :class:`BinnedCCD`."""
    rows, cols, mean = bin_frame(frame, layout, default)
    if np.isfinite(mean).any():
        mean = mean - float(np.nanmedian(mean))
    return BinnedCCD(frame.ccdnum, rows, cols, mean, frame.warnings)


def binned_frames(frames, layout):
    """Bin each frame into its box: yields :class:`BinnedCCD` records."""
    default = default_orientation(layout)
    for frame in frames:
        yield binned_frame(frame, layout, default)


def assemble_binned(binned, layout, windowed=()):
    """Stretch binned CCDs into the focal-plane image.

    The stretch is noise-normalised: one binned pixel's noise (measured from neighbouring
    bins) maps to the layout's ``noise_value`` grey levels, so the sky statistics match the
    real DeepGhostBusters images whatever the input flavor.

    Parameters
    ----------
    binned : iterable of BinnedCCD
        As :func:`binned_frames` yields them.
    layout : CameraLayout
    windowed : collection of int
        CCDs the input holds only a cut-out of.

    Returns
    -------
    image : ndarray of uint8
    present : list of int
    warnings : list of InputWarning
    noise : float
        Noise of one binned pixel, in input units.
    window_px : dict
        ``{ccdnum: ndarray of int16, shape (n, 2)}``: the (row, col) image pixels holding data
        of each ``windowed`` CCD.
    """
    placed = []
    present, warnings, window_px = [], [], {}
    for ccd in binned:
        warnings.extend(ccd.warnings)
        if ccd.ccdnum in windowed:
            window_px[ccd.ccdnum] = (np.argwhere(np.isfinite(ccd.values)) + (ccd.rows.start, ccd.cols.start)).astype(np.int16)
        if np.isfinite(ccd.values).any():
            present.append(ccd.ccdnum)
            placed.append((ccd.rows, ccd.cols, ccd.values))
    noise = binned_noise([p[2] for p in placed])
    image = np.full(layout.image_shape_px, layout.fill_value, dtype=np.uint8)
    st = layout.config["stretch"]
    for rows, cols, values in placed:
        tile = stretch_to_uint8(values, 0.0, noise, st["sky_value"], st["noise_value"])
        tile[~np.isfinite(values)] = layout.fill_value
        image[rows.start:rows.stop, cols.start:cols.stop] = tile
    return image, present, warnings, noise, window_px


def _bin_subset(exposure, layout, row_step, ccdnums, decoder):
    return list(binned_frames(exposure.ccds(row_step=row_step, only=ccdnums, decoder=decoder), layout))


def default_decode_threads():
    """Threads that decode one exposure's CCDs when the caller does not choose: one per core."""
    return available_cores()


def _binned_in_processes(exposure, layout, row_step, workers, progress, decoder):
    """Read and bin the CCDs in ``workers`` processes (decompression holds the GIL)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ccdnums = exposure.ccdnums
    chunks = [ccdnums[i::workers * 4] for i in range(workers * 4)]
    ctx = multiprocessing.get_context("forkserver")  # safe when the parent already runs torch threads
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = [pool.submit(_bin_subset, exposure, layout, row_step, set(c), decoder) for c in chunks if c]
        for fut in futures:
            for item in fut.result():
                if progress is not None:
                    progress(item[0])
                yield item


def assemble_exposure(source, layout=None, row_step=DEFAULT_ROW_STEP, progress=None, workers=1, threads=None,
                      decoder="auto"):
    """Turn a DECam exposure into its 400x400 focal-plane image with metadata.

    Parameters
    ----------
    source : str, Path, list or Exposure
        Anything :func:`desghost.reading.exposure.open_exposure` accepts, or an open exposure.
    layout : CameraLayout, optional
    row_step : int
        Read every ``row_step``-th row of each CCD (1: every row).
    progress : callable, optional
        Called with each CCDNUM as it is binned (for progress bars).
    workers : int
        Processes that read and bin CCDs in parallel (1: in this process, streaming).
    threads : int, optional
        With one process, threads decoding Rice-compressed raw CCDs
        (:meth:`desghost.reading.exposure.Exposure.ccds`); default one per core.
    decoder : {"auto", "fitsio"}
        ``auto`` decodes raw Rice tiles with imagecodecs, ``fitsio`` reads every pixel with
        cfitsio (the same pixels; see :meth:`~desghost.reading.exposure.Exposure.ccds`).

    Returns
    -------
    FocalPlaneImage

    Examples
    --------
    >>> fp = assemble_exposure("DECam_00229388.fits.fz")          # doctest: +SKIP
    >>> fp.image.shape, fp.expnum, fp.flavor                     # doctest: +SKIP
    ((400, 400), 229388, 'raw')
    """
    t0 = time.perf_counter()
    layout = layout or load_layout()
    exposure = source if hasattr(source, "ccds") else open_exposure(source, layout)
    windows = exposure.windows()

    if workers > 1:
        binned = _binned_in_processes(exposure, layout, row_step, workers, progress, decoder)
    else:
        def binned_in_threads():
            # each CCD is read and binned in the thread that decoded it (numpy releases the GIL)
            n_threads = default_decode_threads() if threads is None else threads
            default = default_orientation(layout)
            for item in exposure.ccds(row_step=row_step, threads=n_threads, decoder=decoder,
                                      per_frame=lambda frame: binned_frame(frame, layout, default)):
                if progress is not None:
                    progress(item[0])
                yield item
        binned = binned_in_threads()
    image, present, warnings, noise, window_px = assemble_binned(binned, layout, set(windows))
    dead = layout.dead_ccds(exposure.expnum)
    missing = [c for c in layout.ccdnums if c not in exposure.ccdnums and c not in dead]
    if missing:
        warnings.append(InputWarning(
            "missing_ccds", f"{exposure.source}: {len(missing)} CCDs missing, left blank: "
            + ",".join(str(c) for c in missing)))
    return FocalPlaneImage(
        image=image, meta=exposure.meta, ccds_present=sorted(present), ccds_missing=missing, ccds_dead=dead,
        ccds_masked=sorted(w.ccdnum for w in warnings if w.kind == "masked_ccds"), ccd_windows=windows,
        window_valid_px=window_px, warnings=warnings,
        row_step=row_step, noise_per_bin=float(noise), seconds=time.perf_counter() - t0)
