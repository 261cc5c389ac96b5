"""Bright stars near each exposure: the packaged list, where a star falls, which ghosts it names."""
import csv

import fitsio
import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord

from desghost.catalog.store import Catalog
from desghost.cli import main
from desghost.detection.instance import Detections, Instance
from desghost.detection.model import default_model_path
from desghost.driver.exposure import RunConfig, finish_exposure, prepare_exposure
from desghost.family_geometry import AXIS_PX
from desghost.layout import load_layout
from desghost.products.skymap import header_wcs
from desghost.reading.headers import telescope_pointing
from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure
from desghost.sky.bright_stars import bright_star_list, stars_near

from .helpers import SHARED_DATA, shared_data, yaml_header

FOMALHAUT = 8728   # HR number; RA 344.4127, Dec -29.6222, V 1.16 in DELVE's list


def _shared_stars():
    text = shared_data("raytrace", "bsc5p-bright-stars.csv").read_text().splitlines()
    return list(csv.DictReader(line for line in text if not line.startswith("#")))


@pytest.mark.real_data
def test_the_packaged_list_is_delves_list():
    """tools/derive_bright_stars.py's output is current: same stars, positions and magnitudes."""
    ours = bright_star_list()
    theirs = _shared_stars()
    assert ours["hr"].tolist() == [int(r["id"]) for r in theirs]
    assert np.allclose(ours["ra_deg"], [float(r["ra"]) for r in theirs], atol=1e-4)
    assert np.allclose(ours["dec_deg"], [float(r["dec"]) for r in theirs], atol=1e-4)
    assert np.allclose(ours["vmag"], [float(r["vmag"]) for r in theirs], atol=0.005)
    assert all(n.strip() for n in ours["name"])


@pytest.mark.real_data
@pytest.mark.parametrize("name", ["fitsheader-decam-0160496.yaml", "fitsheader-decam-calexp-0412037_10.yaml",
                                  "fitsheader-decam-instcal-c4d_190402_050618_ooi_VR_v1.yaml",
                                  "fitsheader-decam-raw_dec050441_25.yaml", "fitsheader-decam.yaml"])
def test_stars_near_real_pointings_match_a_brute_force_search(name):
    """Real headers' TELRA (hours) and TELDEC: the stars within 3 degrees, checked with astropy's separations."""
    header = yaml_header(shared_data("decam", "headers", name))
    pointing = telescope_pointing(header)
    expected = SkyCoord(header["TELRA"], header["TELDEC"], unit=(u.hourangle, u.deg))
    assert pointing == pytest.approx((expected.ra.deg, expected.dec.deg), abs=1e-9)
    stars = _shared_stars()
    sep = expected.separation(SkyCoord([float(r["ra"]) for r in stars] * u.deg, [float(r["dec"]) for r in stars] * u.deg))
    want = {int(r["id"]) for r, s in zip(stars, sep.deg) if s <= 3.0}
    found = stars_near(pointing, load_layout())
    assert {s.hr for s in found} == want
    for s in found:
        assert s.distance_deg == pytest.approx(expected.separation(SkyCoord(s.ra_deg * u.deg, s.dec_deg * u.deg)).deg,
                                               abs=1e-6)


def _disc(centre, radius=8.0):
    yy, xx = np.mgrid[:400, :400]
    return (xx + 0.5 - centre[0]) ** 2 + (yy + 0.5 - centre[1]) ** 2 <= radius ** 2


def test_a_star_placed_from_the_list_lands_on_its_ccd_and_names_the_ghost_on_its_line(tmp_path):
    layout = load_layout()
    star = bright_star_list()[bright_star_list()["hr"] == FOMALHAUT][0]
    ccd = layout.ccds[next(n for n, c in layout.ccds.items() if c.detpos == "N10")]
    arcsec_per_mm = layout.pixel_scale_arcsec / layout.pixel_size_mm
    north, east = -(ccd.xmin_mm + ccd.xmax_mm) / 2 * arcsec_per_mm, (ccd.ymin_mm + ccd.ymax_mm) / 2 * arcsec_per_mm
    axis = SkyCoord(star["ra_deg"] * u.deg, star["dec_deg"] * u.deg).spherical_offsets_by(-east * u.arcsec,
                                                                                          -north * u.arcsec)
    pointing = (axis.ra.deg, axis.dec.deg)   # the star on N10's middle (by the focal-plane rule; the WCS checks it)
    distance = SkyCoord(*pointing, unit="deg").separation(SkyCoord(star["ra_deg"], star["dec_deg"], unit="deg")).deg
    path = tmp_path / "DECam_00701000.fits.fz"
    write_simulated_exposure(path, SimulationConfig(seed=1, n_artifacts=0, expnum=701000, pointing_deg=pointing))
    prepared = prepare_exposure(str(path), RunConfig(), layout)
    assert prepared.focal_plane.meta.pointing_deg == pytest.approx(pointing, abs=1e-5)   # TELRA to 1 ms of time
    near = stars_near(prepared.focal_plane.meta.pointing_deg, layout)
    ours = next(s for s in near if s.hr == FOMALHAUT)
    assert ours.distance_deg == pytest.approx(distance, abs=2e-5)
    # independently of the star's focal-plane rule: the CCD whose WCS puts the star on its pixels
    on = []
    for ccdnum, frame in prepared.ccd_frames.items():
        x, y = header_wcs({c["name"]: c["value"] for c in frame.wcs_cards}).all_world2pix(star["ra_deg"], star["dec_deg"], 0)
        if -0.5 <= x < frame.nx_px - 0.5 and -0.5 <= y < frame.ny_px - 0.5:
            on.append(ccdnum)
    (ccdnum,) = on
    x0, y0, x1, y1 = layout.ccds[ccdnum].box_px
    assert x0 - 1 <= ours.col_px <= x1 + 1 and y0 - 1 <= ours.row_px <= y1 + 1

    along = np.array([ours.col_px - AXIS_PX[0], ours.row_px - AXIS_PX[1]])
    along /= np.linalg.norm(along)
    across = np.array([-along[1], along[0]])
    on_line = _disc(np.array(AXIS_PX) + 60 * along)
    off_line = _disc(np.array(AXIS_PX) + 60 * across)
    ghosts = [Instance(0, "Bright", 0.9, (0.0, 0.0, 400.0, 400.0), on_line),
              Instance(1, "Faint", 0.8, (0.0, 0.0, 400.0, 400.0), off_line)]
    result = finish_exposure(prepared, Detections(ghosts, default_model_path(), 0.4), tmp_path / "out", RunConfig(),
                             layout)
    assert result.footprint.instance_stars == {0: str(star["name"])}
    on_ccds = {c.ccdnum for c in result.coverages[0]} - {c.ccdnum for c in result.coverages[1]}
    table = fitsio.read(result.outputs["exclusion_fits"], ext="EXCLUDE")
    assert table.dtype.names[:4] == ("EXPNUM", "CCDNUM", "REASON", "ANALYST") and on_ccds
    assert {r["CCDNUM"]: str(r["STAR"]).strip() for r in table if r["CCDNUM"] in on_ccds} == {
        c: str(star["name"]) for c in on_ccds}
    assert {str(r["REASON"]).strip() for r in table} == {"Ghost/Scatter"}
    assert {str(r["STAR"]).strip() for r in table if r["CCDNUM"] not in on_ccds} <= {""}

    with Catalog(tmp_path / "cat.sqlite") as cat:
        cat.record_exposure(result)
        assert cat.query("SELECT instance_id, star FROM instances ORDER BY instance_id") == [
            {"instance_id": 0, "star": str(star["name"])}, {"instance_id": 1, "star": None}]
        stars = cat.query("SELECT hr, distance_deg FROM exposure_stars WHERE expnum = 701000")
        assert {s["hr"] for s in stars} == {s.hr for s in near} and FOMALHAUT in {s["hr"] for s in stars}
    assert main(["-q", "query", "--catalog", str(tmp_path / "cat.sqlite"), "--what", "ccds", "--format", "csv",
                 "--columns", "ccdnum,star", "-o", str(tmp_path / "q.csv")]) == 0
    named = [r for r in csv.DictReader(open(tmp_path / "q.csv")) if r["star"]]
    assert {int(r["ccdnum"]) for r in named} == on_ccds


@pytest.mark.skipif(SHARED_DATA.exists(), reason="runs only where ../shared/data is absent")
def test_the_packaged_list_needs_no_shared_data():
    assert len(bright_star_list()) == 204


@pytest.mark.real_data
@pytest.mark.skipif(not (SHARED_DATA / "decam" / "real").exists(), reason="../shared/data/decam/real is absent")
def test_a_star_at_a_real_cutouts_sky_position_lands_on_its_window():
    """The focal-plane rule (x south, y east, the plate scale, the WCS tangent point as the axis) against 34 real
    TPV WCSs: a star placed at each real cut-out's centre, through its own WCS, falls on the cut-out's place in
    the image (measured: within 0.31 image px on every file)."""
    from desghost.sky.footprint import optical_axis_deg

    from .test_reading_real_cutouts import IMAGES, _window_box_px

    layout = load_layout()
    assert len(IMAGES) >= 30
    for path in IMAGES:
        prepared = prepare_exposure(path, RunConfig(), layout)
        ((ccdnum, frame),) = prepared.ccd_frames.items()
        ra, dec = header_wcs({c["name"]: c["value"] for c in frame.wcs_cards}).all_pix2world(
            (frame.nx_px - 1) / 2, (frame.ny_px - 1) / 2, 0)
        star = np.array([(1, float(ra), float(dec), 1.0, "here")], dtype=bright_star_list().dtype)
        (found,) = stars_near(optical_axis_deg(prepared.focal_plane.meta.pointing_deg, prepared.ccd_frames), layout,
                              stars=star)
        x0, y0, x1, y1 = _window_box_px(layout.ccds[ccdnum].box_px, frame.orientation, frame.window)
        assert found.col_px == pytest.approx((x0 + x1) / 2, abs=0.5), path
        assert found.row_px == pytest.approx((y0 + y1) / 2, abs=0.5), path
