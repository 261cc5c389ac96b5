"""Real Community Pipeline cut-outs (../shared/data/decam/real): a window of a CCD is not the CCD.

Each real file holds a 41x51 to 280x375 window of one CCD.  The window must land where its
WCS puts it on the sky (checked independently of the reader: the TPV WCS's sky position of
the window centre, offset from the boresight), nothing may appear outside it, and AREA_FRAC,
the exclusion rows, the mask HDU and the HEALPix map must describe the same area.
"""
import collections
import json
import subprocess
import sys
import warnings

import fitsio
import numpy as np
import pytest

from desghost.detection.instance import Detections, Instance
from desghost.detection.model import default_model_path
from desghost.driver.exposure import RunConfig, finish_exposure, prepare_exposure
from desghost.errors import InconsistentExposureError
from desghost.focalplane.assembly import assemble_exposure
from desghost.focalplane.binning import covered_pixels
from desghost.focalplane.ccd_map import default_orientation
from desghost.focalplane.orientation import orientation_from_header
from desghost.layout import load_layout
from desghost.products.skymap import masked_area_map
from desghost.reading.discovery import expnum_of_input
from desghost.reading.exposure import open_exposure
from desghost.reading.window import ccd_window

from .helpers import SHARED_DATA, shared_data
from .test_products_region_table import check_quads

pytestmark = pytest.mark.real_data

REAL = SHARED_DATA / "decam" / "real"
IMAGES = sorted(str(p) for p in REAL.rglob("c4d_*_ooi_*")) if REAL.exists() else []
N6 = "testcase8/images/decam/CP/V4.8.2a/CP20171112/c4d_171113_060340_ooi_r_ls9.N6.fits"  # 280x375 px
NSIDE = 4096  # 0.86' pixels: a cut-out covers a few of them


def _sky_position_px(path, layout):
    """Image (col, row) of a cut-out's centre, from its TPV WCS: sky offset from CRVAL (the boresight) to mm."""
    from astropy import units as u
    from astropy.coordinates import SkyCoord
    from astropy.io import fits
    from astropy.wcs import WCS, FITSFixedWarning

    with fits.open(path) as hdul, warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        hdu = next(h for h in hdul if h.data is not None)
        ny, nx = hdu.data.shape
        ra, dec = WCS(hdu.header).all_pix2world([(nx - 1) / 2], [(ny - 1) / 2], 0)
        centre = SkyCoord(ra[0] * u.deg, dec[0] * u.deg)
        boresight = SkyCoord(hdu.header["CRVAL1"] * u.deg, hdu.header["CRVAL2"] * u.deg)
    east, north = boresight.spherical_offsets_to(centre)
    mm_per_arcsec = layout.pixel_size_mm / layout.pixel_scale_arcsec
    # DECam's focal-plane x runs south, y runs east (the DETSEC frame of ccd_layout/)
    col, row = layout.mm_to_image_px(-north.to(u.arcsec).value * mm_per_arcsec, east.to(u.arcsec).value * mm_per_arcsec)
    return float(col), float(row)


def _window_box_px(box_px, orientation, window):
    """The image rectangle a cut-out covers in its CCD's box: where the CCDWindow puts it."""
    x0, y0, x1, y1 = box_px

    def edges(first_px, n_px, full_px, flip):  # the window's edges as fractions along the CCD axis
        a, b = first_px / full_px, (first_px + n_px) / full_px
        return (1 - b, 1 - a) if flip else (a, b)

    ux = edges(window.col0_px, window.nx_px, window.full_nx_px, orientation.ccd_x_to == "up")
    uy = edges(window.row0_px, window.ny_px, window.full_ny_px, orientation.ccd_y_to == "left")
    return (x0 + uy[0] * (x1 - x0), y0 + ux[0] * (y1 - y0), x0 + uy[1] * (x1 - x0), y0 + ux[1] * (y1 - y0))


def test_the_real_files_are_there_to_walk():
    shared_data("decam", "real")
    assert len(IMAGES) >= 30, IMAGES


def test_every_real_image_is_a_window_placed_where_its_wcs_puts_it():
    """Each image file is a window (not the whole CCD), at its sky position to 0.5 image px; nothing outside it."""
    shared_data("decam", "real")
    layout = load_layout()
    for path in IMAGES:
        exposure = open_exposure(path, layout)
        fp = assemble_exposure(exposure, layout)
        (ccdnum, window), = fp.ccd_windows.items()
        (header,) = [e.header for e in exposure.entries]
        assert window.present_fraction < 0.02 and window.nx_px <= 280, path
        assert [w.kind for w in fp.warnings] == ["partial_ccds", "missing_ccds"], path
        x0, y0, x1, y1 = _window_box_px(layout.ccds[ccdnum].box_px,
                                        orientation_from_header(header, default_orientation(layout)), window)
        bx0, by0, bx1, by1 = layout.ccds[ccdnum].box_px
        assert bx0 <= x0 < x1 <= bx1 and by0 <= y0 < y1 <= by1, path
        col, row = _sky_position_px(path, layout)
        assert abs(col - (x0 + x1) / 2) < 0.5 and abs(row - (y0 + y1) / 2) < 0.5, (path, col, row, (x0, y0, x1, y1))
        drawn = np.argwhere(fp.image != layout.fill_value)  # (row, col) of every pixel with data
        # nothing invented: every pixel drawn is at least 40% inside the window (binning rounds bin edges)
        rows, cols = covered_pixels(y0 - 0.1, y1 + 0.1, 400), covered_pixels(x0 - 0.1, x1 + 0.1, 400)
        assert all(r in rows and c in cols for r, c in drawn), path
        valid = fp.window_valid_px[ccdnum]
        assert sorted(map(tuple, drawn)) == sorted(map(tuple, valid)), path
        assert fp.ccds_present == ([ccdnum] if len(valid) else []), path


def test_a_simulated_small_ccd_is_whole_and_a_window_of_it_is_not():
    """Pixel counts alone do not make a window: 254x510 px at 8x the scale is a whole CCD."""
    from desghost.simulate.headers import wcs_cards

    layout = load_layout()
    header = dict(wcs_cards(layout, 25, 254, 510, 0, 0))
    assert ccd_window(header, 510, 254, layout, 25) is None
    header["CRPIX1"] -= 50  # a quarter of it, cut from x = 50, y = 100
    header["CRPIX2"] -= 100
    window = ccd_window(header, 255, 127, layout, 25)
    assert (window.col0_px, window.full_nx_px, window.full_ny_px) == (50, 254, 508)
    assert abs(window.row0_px - 100) <= 8  # the simulator's 510 rows are 2 more than 4096 px at its scale
    assert window.present_fraction == pytest.approx(0.25, rel=0.01)
    header["CRPIX1"] += 1000  # a WCS that puts the window far off its CCD is refused
    with pytest.raises(InconsistentExposureError, match="outside CCD 25"):
        ccd_window(header, 255, 127, layout, 25)


def _mask_hdu(mask_path):
    with fitsio.FITS(str(mask_path)) as f:
        hdu = next(h for h in f if h.get_extname() not in ("", "FOCALPLANE", "INSTANCES"))
        return hdu.read(), hdu.read_header()


def test_area_frac_exclusion_mask_and_healpix_agree_on_a_window(tmp_path):
    """An artifact over part of a real window: every product describes the same area of the part read."""
    layout = load_layout()
    path = shared_data("decam", "real", N6)
    prepared = prepare_exposure(str(path), RunConfig(), layout)
    (ccdnum, window), = prepared.focal_plane.ccd_windows.items()
    valid = prepared.focal_plane.window_valid_px[ccdnum]
    rows, cols = np.unique(valid[:, 0]), np.unique(valid[:, 1])
    assert len(valid) == len(rows) * len(cols) >= 12  # a rectangle of image pixels
    mask = np.zeros((400, 400), dtype=bool)
    mask[rows.min():rows.max() + 1, cols.min():cols.min() + 2] = True  # 2 of the window's image columns, and
    mask[150:250, 20:60] = True                                         # a big patch on the CCD's box off the window
    bbox = (20.0, 150.0, float(cols.min() + 2), 250.0)
    ghost = Instance(2, "Faint", 0.9, bbox, mask)
    expected = 2 / len(cols)

    for min_fraction, excluded in ((0.5, False), (0.01, True)):
        out = tmp_path / str(min_fraction)
        result = finish_exposure(prepared, Detections([ghost], default_model_path(), 0.4), out,
                                 RunConfig(min_present_fraction=min_fraction), layout)
        (row,) = result.partial_ccds
        assert row.area_frac == pytest.approx(expected) and row.excluded is excluded
        assert ("not excluded: only 1.3% of the CCD read" in row.note) is not excluded
        assert [(r.ccdnum, pytest.approx(r.area_frac)) for r in result.exclusions] == (
            [(ccdnum, expected)] if excluded else [])
        with fitsio.FITS(result.outputs["exclusion_fits"]) as f:
            table = f["PARTIAL"].read()
            assert table["AREA_FRAC"][0] == pytest.approx(expected) and bool(table["EXCLUDED"][0]) is excluded
            assert len(f["EXCLUDE"].read()) == int(excluded)
        assert check_quads(result.outputs["regions"], result.outputs["mask"]) > 0   # decasu's quads, real TPV WCS
        flags, header = _mask_hdu(result.outputs["mask"])
        assert flags.shape == (window.ny_px, window.nx_px)
        assert header["DGWINSEC"] == (f"[{window.col0_px + 1}:{window.col0_px + window.nx_px},"
                                      f"{window.row0_px + 1}:{window.row0_px + window.ny_px}]")
        flagged = (flags != 0).mean()
        assert flagged == pytest.approx(expected, abs=0.5 / len(cols))  # image px vs CCD px edges
        hmap = masked_area_map([result.outputs["mask"]], NSIDE, step_px=1)
        pixel_deg2 = (0.2623 / 3600) ** 2
        assert hmap.sum() == pytest.approx(flagged * flags.size * pixel_deg2, rel=0.01)


@pytest.mark.slow
@pytest.mark.e2e
def test_every_real_file_runs_with_consistent_products(tmp_path):
    """`desghost run` on all real files (images, masks, weights): no traceback, one exposure per image."""
    shared_data("decam", "real")
    by_expnum = collections.defaultdict(list)
    for path in IMAGES:
        by_expnum[expnum_of_input(path)].append(path)
    rounds = [[paths[i] for paths in by_expnum.values() if i < len(paths)]
              for i in range(max(map(len, by_expnum.values())))]  # one EXPNUM once per run
    others = sorted(str(p) for p in REAL.rglob("c4d_*_oo[dw]_*"))
    assert len(others) >= 60
    for k, inputs in enumerate(rounds):
        out = tmp_path / f"round{k}"
        proc = subprocess.run([sys.executable, "-m", "desghost", "run", *inputs, *(others if k == 0 else ()),
                               "-o", out, "--no-overlay", "-q"], capture_output=True, text=True, timeout=600)
        # cut-outs (17) outrank missing CCDs (10); mask and weight files named alone are refused (2), so 14
        assert proc.returncode == (14 if k == 0 else 17), proc.stderr
        assert "Traceback" not in proc.stderr and proc.stderr.count("is a window of its CCD") == len(inputs)
        assert proc.stderr.count("not an exposure: give its image file") == (len(others) if k == 0 else 0)
        for mask_path in sorted(out.glob("D*_desghost_mask.fits.fz")):
            flags, header = _mask_hdu(mask_path)
            with fitsio.FITS(str(mask_path).replace("_mask.fits.fz", "_exclude.fits")) as f:
                (partial,) = f["PARTIAL"].read()
                excluded = f["EXCLUDE"].read()
            assert header["CCDNUM"] == partial["CCDNUM"] and flags.shape == tuple(partial["WINDOW_PX"][3:1:-1])
            assert len(excluded) == 0 and not partial["EXCLUDED"]  # at most 1.3% of any CCD is read
            flagged_deg2 = masked_area_map([mask_path], NSIDE, step_px=1).sum()
            assert flagged_deg2 == pytest.approx((flags != 0).sum() * (0.2623 / 3600) ** 2, rel=0.01, abs=1e-12)
            if partial["AREA_FRAC"] == 0:
                assert not flags.any()
        assert len(list(out.glob("D*_desghost_exclude.fits"))) == len(inputs)


@pytest.mark.e2e
def test_assemble_reads_plain_fake_fz_and_fpacked_real_files(tmp_path):
    """`desghost assemble` on an fpacked (RICE) file, a '.fits.fz' that is not compressed, and a plain one."""
    for k, name in enumerate((N6, "testcase3/images/decam/CP20150326/c4d_150329_083320_ooi_r_v1.fits.fz",
                              "testcase9/images/decam/CP/V4.8.2a/CP20131121/c4d_131122_030338_ooi_z_ls9.S21.fits")):
        out = tmp_path / f"{k}.npy"
        proc = subprocess.run([sys.executable, "-m", "desghost", "assemble", shared_data("decam", "real", name),
                               "-o", out, "--json"], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 17 and "Traceback" not in proc.stderr, proc.stderr
        (partial,) = json.loads(proc.stdout)["ccds_partial"]
        assert 0 < partial["present_fraction"] < 0.02 and np.load(out).shape == (400, 400)
