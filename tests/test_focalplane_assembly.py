"""The assembled 400x400 image: geometry, fill, dead areas, stretch, flavors agree, truth lines up."""
import numpy as np
import pytest

from desghost.focalplane.assembly import assemble_exposure
from desghost.focalplane.ccd_map import ccd_map
from desghost.layout import load_layout
from desghost.simulate.artifacts import Artifact, footprint_mask
from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure


@pytest.fixture(scope="module")
def images(raw_exposure, ooi_exposure, des_exposure):
    return {"raw": assemble_exposure(raw_exposure[0]), "ooi": assemble_exposure(ooi_exposure[0]),
            "des": assemble_exposure(des_exposure[0])}


def test_metadata(images):
    fp = images["raw"]
    assert fp.image.shape == (400, 400) and fp.image.dtype == np.uint8
    assert (fp.expnum, fp.band, fp.flavor) == (700001, "r", "raw")
    assert fp.ccds_dead == [61] and fp.ccds_missing == [] and len(fp.ccds_present) == 61
    assert fp.warnings == []


def test_sky_statistics_match_the_real_images(images):
    for flavor, fp in images.items():
        live = fp.image != 23
        v = fp.image[live].astype(float)
        p16, p50, p84 = np.percentile(v, [16, 50, 84])
        assert 50 <= p50 <= 60, flavor
        assert 12 <= (p84 - p16) / 2 <= 17, flavor


def test_gaps_dead_ccds_and_dead_amplifier_hold_the_fill_value(images):
    layout = load_layout()
    index, live = ccd_map(layout, 700001)
    img = images["raw"].image
    assert np.all(img[index == 0] == 23)
    assert np.all(img[index == 61] == 23)
    x0, y0, x1, y1 = layout.ccds[31].box_px
    rows = np.arange(400)[(np.arange(400) + 0.5 > y0) & (np.arange(400) + 0.5 < y1)]
    top, bottom = rows[: len(rows) // 2 - 1], rows[len(rows) // 2 + 1:]
    assert np.all(img[bottom, 5:40] == 23)  # amp A half of S7 (lower half in the image)
    assert np.mean(img[top, 5:40] != 23) > 0.95
    assert np.mean(img[live] != 23) > 0.97


def test_the_three_flavors_agree_on_geometry(images):
    fill = {k: v.image == 23 for k, v in images.items()}
    assert np.mean(fill["raw"] == fill["ooi"]) > 0.995
    assert np.mean(fill["raw"] == fill["des"]) > 0.995
    # same scene and seed: the images correlate strongly where stars and artifacts are
    a, b = images["raw"].image.astype(float), images["des"].image.astype(float)
    live = ~fill["raw"] & ~fill["des"]
    assert np.corrcoef(a[live], b[live])[0, 1] > 0.3


@pytest.mark.parametrize("flavor", ["raw", "des"])
def test_injected_artifact_lands_where_the_truth_says(tmp_path, flavor):
    art = Artifact("Bright", 120.0, 250.0, 25.0, 25.0, 0.0, 6.0)
    files, truth = write_simulated_exposure(
        tmp_path / ("x.fits.fz" if flavor == "raw" else "d"),
        SimulationConfig(flavor=flavor, expnum=700002, seed=4, artifacts=[art]))
    fp = assemble_exposure(files[0] if flavor == "raw" else files)
    inside = footprint_mask(art) & (fp.image != 23)
    ring = footprint_mask(Artifact("Bright", 120.0, 250.0, 45.0, 45.0, 0.0, 1.0)) & ~footprint_mask(
        Artifact("Bright", 120.0, 250.0, 30.0, 30.0, 0.0, 1.0)) & (fp.image != 23)
    assert fp.image[inside].mean() > fp.image[ring].mean() + 25
    # the mirror position (wrong orientation) shows nothing
    mirror = footprint_mask(Artifact("Bright", 280.0, 150.0, 25.0, 25.0, 0.0, 6.0)) & (fp.image != 23)
    assert abs(fp.image[mirror].mean() - 55) < 8


def test_row_step_and_workers(raw_exposure):
    full = assemble_exposure(raw_exposure[0])
    par = assemble_exposure(raw_exposure[0], workers=2)
    assert np.array_equal(full.image, par.image)
    fast = assemble_exposure(raw_exposure[0], row_step=2)
    assert fast.row_step == 2
    _, live = ccd_map(load_layout(), 700001)
    assert np.all(fast.image[~live] == 23) and np.mean(fast.image[live] != 23) > 0.97
    assert np.corrcoef(fast.image.ravel(), full.image.ravel())[0, 1] > 0.5
