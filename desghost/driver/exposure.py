"""One exposure through the whole chain: read, assemble, detect, project, write.

The chain's steps are :func:`prepare_exposure` (read and assemble), :func:`detect_prepared`
(the detector, batched) and :func:`finish_exposure` (project and write the products).
:func:`desghost.driver.many.process_exposures`, behind ``desghost run``, ``desghost night`` and
the ceci stage, runs them for many exposures; :func:`process_exposure` runs them for one, for
library users.
"""
import argparse
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from desghost import __version__, options
from desghost.detection.detect import artifact_groups, detect_images
from desghost.detection.instance import Detections
from desghost.detection.model import default_model_path, load_model
from desghost.errors import OutputError, UsageError
from desghost.focalplane.assembly import assemble_exposure
from desghost.focalplane.ccd_map import ccd_map, default_orientation
from desghost.focalplane.orientation import orientation_from_header
from desghost.layout import load_layout
from desghost.mask_geometry import ccd_area_px
from desghost.products.exclusion import write_exclusion_fits, write_raytrace_list
from desghost.products.exclusion_rule import (
    DEFAULT_MIN_PRESENT_FRACTION,
    exclusion_rows,
    partial_ccd_rows,
    with_stars,
)
from desghost.products.maskfits import CCDMaskFrame, write_mask_fits
from desghost.products.overlay import write_overlay
from desghost.products.region_table import write_region_table
from desghost.products.skymap import wcs_cards
from desghost.projection import coverage, restrict_to_windows
from desghost.reading.exposure import open_exposure
from desghost.reading.fitsfile import short_error
from desghost.sky.footprint import exposure_footprint
from desghost.timestamps import fits_utc_now

__all__ = ["detect_prepared", "EXCLUSION_FITS_NAME", "expnum_of_product", "ExposureResult", "finish_exposure",
           "load_run_model", "prepare_exposure", "PreparedExposure", "process_exposure", "product_names",
           "provenance_cards", "resolve_model_path", "RunConfig"]


@dataclass
class RunConfig:
    """Settings of a masking run (every one has a CLI flag and a ceci stage option).

    Build it from options with :meth:`from_options`, which checks each value the way the
    command line does; the CLI, the night and the ceci stage all do.
    """

    model: str | None = None          # model file; None = the shipped default
    device: str = "auto"
    threshold: float | None = None    # detection score threshold; None: the one stored in the model file
    area_threshold: float = 0.0       # CCD excluded when the covered fraction exceeds this (0: any pixel)
    min_present_fraction: float = DEFAULT_MIN_PRESENT_FRACTION  # cut-outs with less of their CCD: never excluded
    row_step: int = 1
    ccd_workers: int = 1              # processes reading the CCDs of one exposure
    decode_threads: int | None = None  # threads decoding one exposure's raw CCDs; None: one per core
    decoder: str = "auto"             # "fitsio": cfitsio decodes every pixel (see Exposure.ccds)
    write_mask: bool = True
    write_overlay: bool = True

    #: Option name -> (field, check).  Option names are the command line's (``--min-ccd-fraction``
    #: is ``min_ccd_fraction``); the checks are :mod:`desghost.options`'.
    OPTIONS = {"model": ("model", str), "device": ("device", options.device), "threshold": ("threshold", options.fraction),
               "area_threshold": ("area_threshold", options.fraction),
               "min_ccd_fraction": ("min_present_fraction", options.fraction),
               "row_step": ("row_step", options.positive_int), "ccd_workers": ("ccd_workers", options.positive_int),
               "decode_threads": ("decode_threads", options.positive_int), "decoder": ("decoder", options.decoder),
               "write_mask": ("write_mask", bool), "write_overlay": ("write_overlay", bool)}

    @classmethod
    def from_options(cls, mapping):
        """A RunConfig from named option values (an argparse namespace's vars, a stage config).

        Parameters
        ----------
        mapping : mapping
            Option names of :attr:`OPTIONS`; others are ignored, and None leaves the default.
            ``model`` ``"default"`` is the shipped model.

        Returns
        -------
        RunConfig

        Raises
        ------
        UsageError
            A value out of range or of the wrong kind, naming the option (exit code 2).

        Examples
        --------
        >>> RunConfig.from_options({"area_threshold": "0.1", "min_ccd_fraction": 0.25, "other": 1}).area_threshold
        0.1
        """
        values = {}
        for name, value in mapping.items():
            if name not in cls.OPTIONS or value is None:
                continue
            field_name, check = cls.OPTIONS[name]
            try:
                values[field_name] = check(value) if check is bool else check(str(value))
            except (argparse.ArgumentTypeError, ValueError) as exc:
                raise UsageError(f"option {name}: {exc}") from None
        if values.get("model") == "default":
            values["model"] = None
        return cls(**values)


@dataclass
class ExposureResult:
    """Everything known about one processed exposure."""

    expnum: int
    band: str
    date_obs: str
    mjd_obs: float | None
    flavor: str
    source: str
    image: np.ndarray
    instances: list
    coverages: list
    exclusions: list                  # CCDExclusion records, in CCDNUM order
    dead_ccds: list
    ccds_present: list
    warnings: list
    model_name: str
    model_path: str
    threshold: float
    area_threshold: float
    timings_s: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)
    warning_codes: list = field(default_factory=list)   # exit codes of the input warnings (10-12, 15, 17)
    nite: str = ""   # the observing night, YYYYMMDD (desghost.reading.headers.observing_night)
    identity: str | None = None   # the input's content identity (desghost.reading.identity.input_identity)
    n_artifacts: int = 0   # instances grouped into artifacts (desghost.detection.detect.artifact_groups)
    min_present_fraction: float = DEFAULT_MIN_PRESENT_FRACTION
    partial_ccds: list = field(default_factory=list)    # PartialCCD records, one per cut-out CCD
    footprint: object = None   # ExposureFootprint (desghost.sky.footprint): where its instances are on the sky


def product_names(expnum):
    """Output file names of an exposure: from EXPNUM and a fixed pattern only."""
    stem = f"D{int(expnum):08d}_desghost"
    return {"mask": f"{stem}_mask.fits.fz", "exclusion_fits": f"{stem}_exclude.fits",
            "exclusion_txt": f"{stem}_exclude.txt", "regions": f"{stem}_regions.fits", "overlay": f"{stem}_overlay.png"}


#: An exclusion table's file name (EXPNUM of 8 digits or more, as :func:`product_names` writes it).
EXCLUSION_FITS_NAME = re.compile(r"^D(\d{8,10})_desghost_exclude\.fits$")


def expnum_of_product(name):
    """The EXPNUM in an exclusion table's file name (the inverse of :func:`product_names`), or None."""
    match = EXCLUSION_FITS_NAME.match(str(name))
    return int(match.group(1)) if match else None


@lru_cache(maxsize=4)
def _cached_model(path, device, threshold):
    overrides = None if threshold is None else {"score_threshold": float(threshold)}
    return load_model(path, device=device, overrides=overrides)


def provenance_cards(result, input_name):
    cards = [("DGVERS", f"desghost {__version__}", "software version"),
             ("DGMODEL", result.model_name, "detector model file"),
             ("DGTHRESH", float(result.threshold), "detection score threshold"),
             ("DGAREA", float(result.area_threshold), "CCD covered-fraction threshold (0: any pixel)"),
             ("DGMINFR", float(result.min_present_fraction), "cut-outs with less of their CCD never excluded"),
             ("DGINPUT", str(input_name)[-68:], "input exposure"),
             ("DATE", fits_utc_now(), "file written (UTC)"),
             ("EXPNUM", int(result.expnum), "DECam exposure number"),
             ("BAND", result.band, "filter band"), ("DATE-OBS", result.date_obs, "exposure start"),
             ("NITE", result.nite, "observing night (DTCALDAT, or DATE-OBS - 12 h)")]
    return [{"name": k, "value": v, "comment": c} for k, v, c in cards]


def _ccd_frames(exposure, layout):
    """``{ccdnum: CCDMaskFrame}`` of the CCDs in the exposure, from the headers."""
    default = default_orientation(layout)
    out = {}
    for entry in exposure.entries:
        extent = exposure.data_extent(entry)
        out[entry.ccdnum] = CCDMaskFrame(extent.ny_px, extent.nx_px, orientation_from_header(entry.header, default),
                                         wcs_cards(entry.header, extent.col0_px, extent.row0_px),
                                         exposure.window(entry))
    return out


@dataclass
class PreparedExposure:
    """An exposure read and assembled, ready for the detector: small and picklable.

    Attributes
    ----------
    source : str
        The input as given.
    focal_plane : FocalPlaneImage
    ccd_frames : dict
        ``{ccdnum: CCDMaskFrame}``, what the mask FITS needs from the headers.
    assemble_s : float
        Seconds spent opening and assembling.
    """

    source: object
    focal_plane: object
    ccd_frames: dict
    assemble_s: float


def prepare_exposure(source, config=None, layout=None, progress=None):
    """Read and assemble one exposure (the I/O- and decompression-bound half of the chain).

    Raises a ``DesghostError`` for bad input; nothing is written.
    """
    cfg = config or RunConfig()
    layout = layout or load_layout()
    t0 = time.perf_counter()
    exposure = open_exposure(source, layout)
    fp = assemble_exposure(exposure, layout, row_step=cfg.row_step, workers=cfg.ccd_workers, progress=progress,
                           threads=cfg.decode_threads, decoder=cfg.decoder)
    frames = _ccd_frames(exposure, layout)
    return PreparedExposure(source, fp, frames, time.perf_counter() - t0)


def resolve_model_path(config):
    """The model file a run uses (the shipped default when the config names none)."""
    return str(config.model or default_model_path())


def load_run_model(config):
    """The detector of a run, loaded once per process and cached."""
    return _cached_model(resolve_model_path(config), config.device, config.threshold)


def detect_prepared(prepared, model, batch_size=1):
    """Run the detector on assembled exposures.

    Parameters
    ----------
    prepared : list of PreparedExposure
    model : LoadedModel
    batch_size : int
        Images per forward pass.

    Returns
    -------
    list of Detections
        One per exposure, with the detection seconds shared equally among the batch.
    """
    t0 = time.perf_counter()
    found = detect_images([p.focal_plane.image for p in prepared], model, batch_size=max(1, batch_size))
    seconds = (time.perf_counter() - t0) / max(len(prepared), 1)
    return [Detections(instances, model.path, model.config.score_threshold, model.config.tta_views, seconds)
            for instances in found]


def finish_exposure(prepared, detections, outdir, config, layout=None, files=None):
    """Project the detections onto CCDs and write the products (the cheap half of the chain).

    Parameters
    ----------
    prepared : PreparedExposure
    detections : Detections
        The detector's output for ``prepared.focal_plane.image``, with the model, threshold and
        time that made it (recorded in the products).
    outdir : str or Path
    config : RunConfig
    files : FileGroup, optional
        Write the products to its temporary names, for the caller to commit together; by
        default each product is renamed into place as soon as it is written.

    Returns
    -------
    ExposureResult
        ``outputs`` names the products' final paths.

    Raises
    ------
    OutputError
        A product cannot be written (exit code 9); the message is one line naming the file.
    """
    layout = layout or load_layout()
    t2 = time.perf_counter()
    result = _exposure_result(prepared.focal_plane, detections, config, layout)
    try:
        result.footprint = exposure_footprint(result, layout, prepared.ccd_frames,
                                              prepared.focal_plane.meta.pointing_deg)
    except Exception as exc:  # noqa: BLE001 - astropy's WCS raises many kinds
        if config.write_mask:   # the mask and region files need the same WCS: the exposure fails
            raise OutputError(f"cannot place the CCDs on the sky ({short_error(exc)})",
                              path=prepared.source) from exc
        result.warnings.append(f"no sky footprint: the CCDs' WCS cannot be used ({short_error(exc)})")
    if result.footprint is not None:
        result.exclusions = with_stars(result.exclusions, result.instances, result.coverages,
                                       result.footprint.instance_stars)
    result.outputs = _write_products(outdir, result, prepared, config, layout, files)
    t = {"assemble": prepared.assemble_s, "detect": detections.seconds, "write": time.perf_counter() - t2}
    t["total"] = sum(t.values())
    result.timings_s = {k: round(v, 3) for k, v in t.items()}
    return result


def _exposure_result(fp, detections, cfg, layout):
    """The exposure's result: per-instance CCD coverage, the exclusion rows, the partial-CCD rows."""
    instances = detections.instances
    index_img = restrict_to_windows(ccd_map(layout, fp.expnum)[0], fp.window_valid_px)
    area = ccd_area_px(index_img)
    dead = set(fp.ccds_dead)
    present = set(fp.ccds_present)
    coverages = [[c for c in coverage(i.mask, index_img, area, dead) if c.ccdnum in present] for i in instances]
    model_path, model_name = detections.model_path, detections.model_name
    meta = {"expnum": fp.expnum, "band": fp.band, "date_obs": fp.date_obs, "nite": fp.nite, "dead": dead}
    rows = exclusion_rows(meta, instances, coverages, layout, present, model_name, cfg.area_threshold, index_img,
                          fp.ccd_windows, cfg.min_present_fraction)
    partial = partial_ccd_rows(fp.expnum, instances, index_img, layout, fp.ccd_windows,
                               {r.ccdnum for r in rows}, cfg.min_present_fraction)
    return ExposureResult(
        expnum=fp.expnum, band=fp.band, date_obs=fp.date_obs, nite=fp.nite, mjd_obs=fp.mjd_obs, flavor=fp.flavor,
        source=fp.source, image=fp.image, instances=instances, coverages=coverages, exclusions=rows,
        dead_ccds=sorted(dead), ccds_present=sorted(present), warnings=[w.message for w in fp.warnings],
        warning_codes=sorted({w.exit_code for w in fp.warnings}),
        model_name=model_name, model_path=model_path, threshold=detections.threshold,
        area_threshold=cfg.area_threshold, min_present_fraction=cfg.min_present_fraction, partial_ccds=partial,
        n_artifacts=len(set(artifact_groups(instances))))


def _write_products(outdir, result, prepared, cfg, layout, files=None):
    """Write the exposure's products (under ``files``' temporary names when given); their final paths by kind."""
    outdir = Path(outdir)
    names = product_names(result.expnum)
    cards = provenance_cards(result, Path(result.source).name)
    out = {}
    target = files.temporary if files is not None else (lambda path: path)
    try:
        if cfg.write_mask:
            out["mask"] = outdir / names["mask"]
            write_mask_fits(target(out["mask"]), result, layout, prepared.ccd_frames, cards)
        out["exclusion_fits"] = outdir / names["exclusion_fits"]
        write_exclusion_fits(target(out["exclusion_fits"]), result.exclusions, cards, result.partial_ccds)
        out["exclusion_txt"] = outdir / names["exclusion_txt"]
        write_raytrace_list(target(out["exclusion_txt"]), result.exclusions)
        if cfg.write_mask:   # the same CCD frames (WCS, cut-out windows) as the mask file
            out["regions"] = outdir / names["regions"]
            write_region_table(target(out["regions"]), result.footprint.regions, cards)
        if cfg.write_overlay:
            prov = {c["name"]: c["value"] for c in cards}
            out["overlay"] = outdir / names["overlay"]
            write_overlay(target(out["overlay"]), result, layout, prov)
    except OSError as exc:
        failed = next(reversed(out.values()))
        raise OutputError(f"cannot write {failed.name} ({short_error(exc)})", path=outdir) from exc
    return {k: str(v) for k, v in out.items()}


def process_exposure(source, outdir, config=None, layout=None, progress=None):
    """Run the whole chain on one exposure and write its products.

    The chain is :func:`prepare_exposure`, the detector, then :func:`finish_exposure`; the
    nightly runner runs the same three steps with the detector batched in between.

    Parameters
    ----------
    source : str, Path or list
        Anything :func:`desghost.reading.exposure.open_exposure` accepts.
    outdir : str or Path
        Where the products go (names from EXPNUM, see :func:`product_names`).
    config : RunConfig, optional

    Returns
    -------
    ExposureResult
        With ``outputs`` naming the files written.  Raises a ``DesghostError`` for bad input
        before anything is written.
    """
    cfg = config or RunConfig()
    layout = layout or load_layout()
    prepared = prepare_exposure(source, cfg, layout, progress)
    model = load_run_model(cfg)
    (detections,) = detect_prepared([prepared], model)
    return finish_exposure(prepared, detections, outdir, cfg, layout)
