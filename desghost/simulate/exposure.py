"""Write realistic synthetic DECam exposures (raw, community-pipeline, DES per-CCD files).

Each CCD gets sky, read noise, stars and the drawn artifacts at full resolution (or at a
reduced ``small`` size for fast tests), with the headers its flavor carries: EXPNUM, FILTER,
DATE-OBS in the primary header, EXTNAME = DETPOS, CCDNUM, DATASEC/BIASSEC/amplifier
sections, gains, and a DECam-like TAN WCS per CCD.  Files are Rice tile-compressed one row
per tile, like the real ones.  A ground-truth JSON lists every artifact with its footprint
in image pixels, focal-plane mm and each touched CCD's pixels.
"""
import json
import os
from dataclasses import dataclass
from pathlib import Path

import fitsio
import numpy as np

from desghost import __version__
from desghost.atomic import atomic_path
from desghost.errors import OutputError
from desghost.layout import load_layout
from desghost.simulate.artifacts import draw_artifacts, footprint_polygon, render
from desghost.simulate.geometry import ccd_footprints
from desghost.simulate.headers import ccd_cards, primary_header, raw_sections, wcs_cards
from desghost.simulate.source import scene_stars
from desghost.simulate.stars import HALO_FRACTION, HALO_MIN_FLUX, render_halos

__all__ = ["CCD_SHAPES", "SimulationConfig", "write_simulated_exposure"]

CCD_SHAPES = {"full": (4096, 2048), "small": (512, 256)}  # data section (ny, nx)


@dataclass
class SimulationConfig:
    """What to simulate.  ``n_artifacts=None`` draws one annotated image's worth."""

    flavor: str = "raw"
    expnum: int = 500000
    seed: int = 0
    ccd_shape: str = "small"
    n_artifacts: int | None = None
    band: str = "r"
    sky_electrons: float = 2500.0
    read_noise_electrons: float = 7.0
    gain: float = 4.0
    bias_adu: float = 1200.0
    exptime_s: float = 90.0
    artifacts: list | None = None  # explicit Artifact list; overrides n_artifacts
    pointing_deg: tuple = (45.0, -30.0)   # RA, Dec of the optical axis (TELRA/TELDEC, every CCD's CRVAL)


class _Scene:
    """Everything drawn for one exposure, in image pixels and noise units."""

    def __init__(self, cfg, layout):
        rng = np.random.default_rng(cfg.seed)
        self.rng = rng
        drawn = draw_artifacts(rng, cfg.n_artifacts)
        self.artifacts = drawn if cfg.artifacts is None else list(cfg.artifacts)
        self.stars = scene_stars(rng, self.artifacts)
        self.dead = layout.dead_ccds(cfg.expnum)


def _ccd_electrons(scene, layout, cfg, ccdnum, ny, nx):
    """Sky + artifacts + stars + noise of one CCD data section, in electrons, ``[y, x]``."""
    rng = scene.rng
    sigma_pix = np.sqrt(cfg.sky_electrons + cfg.read_noise_electrons ** 2)
    box = layout.ccds[ccdnum].box_px
    n_per_bin = nx * ny / ((box[2] - box[0]) * (box[3] - box[1]))
    noise_unit = sigma_pix / np.sqrt(n_per_bin)  # electrons per binned-noise unit (surface)
    # artifacts on a coarse grid, repeated up to full resolution
    step = max(1, nx // 128)
    ys = np.arange(0, ny, step) + (step - 1) / 2.0
    xs = np.arange(0, nx, step) + (step - 1) / 2.0
    gx, gy = np.meshgrid(xs, ys)
    x_mm, y_mm = layout.ccd_pixel_to_mm(ccdnum, gx, gy, nx, ny)
    col, row = layout.mm_to_image_px(x_mm, y_mm)
    coarse = (render(scene.artifacts, col, row) + render_halos(scene.stars, col, row)) * noise_unit
    light = np.repeat(np.repeat(coarse, step, axis=0), step, axis=1)[:ny, :nx]
    electrons = rng.standard_normal((ny, nx), dtype=np.float32) * np.float32(sigma_pix)
    electrons += np.float32(cfg.sky_electrons) + light.astype(np.float32)
    _add_stars(electrons, scene.stars, layout, ccdnum, ny, nx, sigma_pix * np.sqrt(n_per_bin))
    return electrons


def _add_stars(electrons, stars, layout, ccdnum, ny, nx, flux_unit):
    """Add Gaussian stars that fall on this CCD (fluxes in noise units x ``flux_unit``)."""
    x_mm, y_mm = layout.image_px_to_mm(stars.col_px, stars.row_px)
    c = layout.ccds[ccdnum]
    xp = (x_mm - c.xmin_mm) / (c.xmax_mm - c.xmin_mm) * nx - 0.5
    yp = (y_mm - c.ymin_mm) / (c.ymax_mm - c.ymin_mm) * ny - 0.5
    sigma = 0.7 * nx / (layout.ccds[ccdnum].box_px[3] - layout.ccds[ccdnum].box_px[1])  # 0.7 image px
    h = int(np.ceil(5 * sigma)) + 1
    on = (xp > -h) & (xp < nx + h) & (yp > -h) & (yp < ny + h)
    for x, y, f in zip(xp[on], yp[on], stars.flux[on]):
        f = f * (1 - HALO_FRACTION) if f >= HALO_MIN_FLUX else f
        x0, x1 = max(int(x) - h, 0), min(int(x) + h + 1, nx)
        y0, y1 = max(int(y) - h, 0), min(int(y) + h + 1, ny)
        if x0 >= x1 or y0 >= y1:
            continue
        gy, gx = np.mgrid[y0:y1, x0:x1]
        g = np.exp(-0.5 * ((gx - x) ** 2 + (gy - y) ** 2) / sigma ** 2) / (2 * np.pi * sigma ** 2)
        electrons[y0:y1, x0:x1] += (f * flux_unit * g).astype(np.float32)


def _truth(scene, layout, cfg, ny, nx, files):
    arts = []
    for i, art in enumerate(scene.artifacts):
        poly = footprint_polygon(art)
        x_mm, y_mm = layout.image_px_to_mm(poly[:, 0], poly[:, 1])
        per_ccd = ccd_footprints(layout, poly, nx, ny)
        live = {k: v for k, v in per_ccd.items() if k not in scene.dead}
        arts.append({
            "id": i, "class": art.cls, "params_px": art.to_dict(),
            "footprint_px": np.round(poly, 2).tolist(),
            "footprint_mm": np.round(np.column_stack([x_mm, y_mm]), 3).tolist(),
            "ccds": sorted(live),
            "ccd_footprints": {str(k): v for k, v in sorted(live.items())},
        })
    return {
        "software": f"desghost {__version__}", "expnum": cfg.expnum, "flavor": cfg.flavor,
        "seed": cfg.seed, "band": cfg.band, "ccd_shape": cfg.ccd_shape,
        "ccd_data_shape_px": [ny, nx], "files": [os.path.basename(f) for f in files],
        "dead_ccds": scene.dead, "n_stars": len(scene.stars),
        "artifact_units": "image pixels of the 400x400 focal-plane image; amplitude in binned-noise units",
        "artifacts": arts,
    }


def _dither_seed(cfg, ccdnum):
    """A fixed quantisation dither seed (1..10000), so the same seed writes the same file."""
    return 1 + (cfg.seed * 131 + ccdnum * 7919) % 10000


def write_simulated_exposure(out, config=None, layout=None, progress=None):
    """Write a simulated exposure and its ground truth.

    Parameters
    ----------
    out : str or Path
        For ``raw`` and ``ooi`` a file name (``.fits.fz``); for ``des`` a directory that
        receives one file per CCD.  A directory for raw/ooi gets the standard name.
    config : SimulationConfig, optional
    layout : CameraLayout, optional
    progress : callable, optional
        Called with each CCDNUM after it is written.

    Returns
    -------
    files : list of str
        The exposure file(s).
    truth_path : str
        The ground-truth JSON.
    """
    cfg = config or SimulationConfig()
    if cfg.flavor not in ("raw", "ooi", "des"):
        raise ValueError(f"unknown flavor {cfg.flavor!r} (raw, ooi or des)")
    if cfg.ccd_shape not in CCD_SHAPES:
        raise ValueError(f"unknown ccd shape {cfg.ccd_shape!r} (full or small)")
    layout = layout or load_layout()
    ny, nx = CCD_SHAPES[cfg.ccd_shape]
    scene = _Scene(cfg, layout)
    out = Path(out)
    try:
        return _write_all(out, scene, layout, cfg, ny, nx, progress)
    except OSError as exc:
        raise OutputError(f"cannot write the simulated exposure ({' '.join(str(exc).split())[:160]})",
                          path=out) from exc


def _write_all(out, scene, layout, cfg, ny, nx, progress):
    if cfg.flavor == "des":
        out.mkdir(parents=True, exist_ok=True)
        files = _write_des(out, scene, layout, cfg, ny, nx, progress)
        truth_path = out / f"D{cfg.expnum:08d}_truth.json"
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.is_dir():
            name = f"DECam_{cfg.expnum:08d}.fits.fz" if cfg.flavor == "raw" else f"c4d_sim_{cfg.expnum:08d}_ooi_{cfg.band}_v1.fits.fz"
            out = out / name
        writer = _write_raw if cfg.flavor == "raw" else _write_ooi
        writer(out, scene, layout, cfg, ny, nx, progress)
        files = [str(out)]
        truth_path = Path(str(out).replace(".fits.fz", "").replace(".fits", "") + "_truth.json")
    truth = _truth(scene, layout, cfg, ny, nx, files)
    with atomic_path(truth_path) as tmp:
        tmp.write_text(json.dumps(truth, indent=1))
    return files, str(truth_path)


def _write_raw(path, scene, layout, cfg, ny, nx, progress):
    rng = scene.rng
    with atomic_path(path) as tmp, fitsio.FITS(str(tmp), "rw", clobber=True) as f:
        f.write(None, header=primary_header(cfg, layout, "raw"))
        for ccdnum in layout.ccdnums:
            cards, (height, width), (r0, c0), a_cols, b_cols = raw_sections(layout, ccdnum, ny, nx)
            e = _ccd_electrons(scene, layout, cfg, ccdnum, ny, nx)
            if ccdnum in scene.dead:
                e[:] = rng.standard_normal(e.shape, dtype=np.float32) * cfg.read_noise_electrons
            frame = (rng.standard_normal((height, width), dtype=np.float32)
                     * np.float32(cfg.read_noise_electrons / cfg.gain) + np.float32(cfg.bias_adu))
            gains = {"A": cfg.gain * 1.02, "B": cfg.gain * 0.98}
            data = frame[r0:r0 + ny, c0:c0 + nx]
            for amp, cols in (("A", a_cols), ("B", b_cols)):
                sl = slice(cols[0] - 1 - c0, cols[1] - c0)
                data[:, sl] += e[:, sl] / np.float32(gains[amp])
            if any(r.region == "amp_a" for r in layout.dead_regions(cfg.expnum).get(ccdnum, [])):
                sl = slice(a_cols[0] - 1 - c0, a_cols[1] - c0)
                data[:, sl] = np.float32(cfg.bias_adu) + rng.uniform(0, 3000, size=(ny, 1)).astype(np.float32)
            adu = np.clip(np.rint(frame), 0, 65535).astype(np.uint16)
            extra = list(cards.items()) + [
                ("GAINA", gains["A"]), ("GAINB", gains["B"]),
                ("RDNOISEA", cfg.read_noise_electrons), ("RDNOISEB", cfg.read_noise_electrons),
                ("SATURATA", 65000.0), ("SATURATB", 65000.0),
                ("DETSEC", f"[{layout.ccds[ccdnum].detsec_x0}:{layout.ccds[ccdnum].detsec_x0 + 2047},"
                           f"{layout.ccds[ccdnum].detsec_y0}:{layout.ccds[ccdnum].detsec_y0 + 4095}]"),
            ] + wcs_cards(layout, ccdnum, nx, ny, c0, r0, cfg.pointing_deg)
            f.write(adu, header=ccd_cards(layout, ccdnum, extra), extname=layout.ccds[ccdnum].detpos,
                    compress="RICE", tile_dims=[1, width])
            if progress:
                progress(ccdnum)


def _ooi_pixels(scene, layout, cfg, ccdnum, ny, nx):
    """Community-pipeline style pixels: sky-subtracted ADU, dead areas at zero."""
    e = _ccd_electrons(scene, layout, cfg, ccdnum, ny, nx)
    sci = (e - np.float32(cfg.sky_electrons)) / np.float32(cfg.gain)
    probe = np.ones((1, nx), dtype=np.float32)
    layout.blank_dead_regions(probe, ccdnum, cfg.expnum)
    sci[:, ~np.isfinite(probe[0])] = 0.0
    return sci


def _write_ooi(path, scene, layout, cfg, ny, nx, progress):
    with atomic_path(path) as tmp, fitsio.FITS(str(tmp), "rw", clobber=True) as f:
        f.write(None, header=primary_header(cfg, layout, "ooi"))
        for ccdnum in layout.ccdnums:
            sci = _ooi_pixels(scene, layout, cfg, ccdnum, ny - 2, nx - 2)
            extra = [("SKYSUB", cfg.sky_electrons / cfg.gain), ("GAINA", cfg.gain), ("GAINB", cfg.gain),
                     ("SATURATE", 60000.0)] + wcs_cards(layout, ccdnum, nx - 2, ny - 2, 0, 0, cfg.pointing_deg)
            f.write(sci, header=ccd_cards(layout, ccdnum, extra), extname=layout.ccds[ccdnum].detpos,
                    compress="RICE", tile_dims=[1, nx - 2], qlevel=4.0, qmethod="SUBTRACTIVE_DITHER_1",
                    dither_seed=_dither_seed(cfg, ccdnum))
            if progress:
                progress(ccdnum)


def _write_des(folder, scene, layout, cfg, ny, nx, progress):
    files = []
    for ccdnum in layout.ccdnums:
        if ccdnum in layout.dead_ccds(cfg.expnum):
            continue  # DES does not process dead CCDs
        path = folder / f"D{cfg.expnum:08d}_{cfg.band}_c{ccdnum:02d}_r4000p01_immasked.fits.fz"
        sci = _ooi_pixels(scene, layout, cfg, ccdnum, ny - 2, nx - 2)
        msk = np.zeros(sci.shape, dtype=np.int32)
        msk[sci > 50000.0] |= 2  # SATURATE
        msk[:, 3] |= 1  # a bad column (BPM)
        msk[sci == 0.0] |= 8  # BADAMP
        wgt = np.full(sci.shape, cfg.gain ** 2 / (cfg.sky_electrons + cfg.read_noise_electrons ** 2), dtype=np.float32)
        wcs = wcs_cards(layout, ccdnum, nx - 2, ny - 2, 0, 0, cfg.pointing_deg)
        with atomic_path(path) as tmp, fitsio.FITS(str(tmp), "rw", clobber=True) as f:
            prim = primary_header(cfg, layout, "des")
            f.write(sci, header=prim + ccd_cards(layout, ccdnum, wcs), extname="SCI",
                    compress="RICE", tile_dims=[1, nx - 2], qlevel=4.0, qmethod="SUBTRACTIVE_DITHER_1",
                    dither_seed=_dither_seed(cfg, ccdnum))
            f.write(msk, extname="MSK", compress="RICE", tile_dims=[1, nx - 2],
                    header=[{"name": "DES_EXT", "value": "MASK"}])
            f.write(wgt, extname="WGT", compress="RICE", tile_dims=[1, nx - 2], qlevel=4.0,
                    dither_seed=_dither_seed(cfg, ccdnum), header=[{"name": "DES_EXT", "value": "WEIGHT"}])
        files.append(str(path))
        if progress:
            progress(ccdnum)
    return files
