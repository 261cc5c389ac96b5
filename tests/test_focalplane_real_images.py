"""Our geometry and pixel statistics against the 30 real DeepGhostBusters images."""
import glob
import re

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import binary_erosion, distance_transform_edt

from desghost.focalplane.ccd_map import ccd_map
from desghost.layout import load_layout
from desghost.simulate.training import render_training_image
from research.imagestats import image_statistics

from .helpers import shared_data

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def real_images():
    folder = shared_data("dgb", "real", "images")
    out = {}
    for f in sorted(glob.glob(str(folder / "Ghost_img_D*.jpg"))):
        expnum = int(re.search(r"D(\d+)", f).group(1))
        out[expnum] = np.asarray(Image.open(f))[..., 0]
    assert len(out) == 30
    return out


def test_dead_and_live_ccds_match_every_real_image(real_images):
    layout = load_layout()
    for expnum, img in real_images.items():
        index, live = ccd_map(layout, expnum)
        fill = np.abs(img.astype(int) - 23) <= 4
        far_gap = distance_transform_edt(~live) > 3
        assert fill[far_gap].mean() > 0.98, expnum
        for ccd in range(1, 63):
            core = binary_erosion(live & (index == ccd), iterations=2)
            if core.any():
                assert fill[core].mean() < 0.5, (expnum, ccd)  # live in ours: has data in the real one
            elif ccd != 61:
                whole = binary_erosion(index == ccd, iterations=2)
                if whole.any():
                    assert fill[whole].mean() > 0.8, (expnum, ccd)  # dead in ours: blank in the real one


def test_simulated_statistics_fall_in_the_range_of_the_real_images(real_images):
    layout = load_layout()
    real = []
    for expnum, img in real_images.items():
        real.append(image_statistics(img, ccd_map(layout, expnum)[1]))
    rng = np.random.default_rng(0)
    _, live = ccd_map(layout, 500000)
    sims = [image_statistics(render_training_image(rng, layout).image, live) for _ in range(5)]
    for key in ("fill_fraction", "median", "half_width_16_84", "noise_sigma"):
        lo, hi = min(r[key] for r in real), max(r[key] for r in real)
        for s in sims:
            assert lo * 0.95 <= s[key] <= hi * 1.05, (key, s[key], lo, hi)


def test_source_star_placement_finds_the_saturated_star_of_real_ghost_families(real_images):
    # every annotator's Bright/Faint ghosts on the real images with a big saturated star: the
    # star placed from the ghosts' radial line lands on that star's core
    from scipy.ndimage import center_of_mass, label

    from desghost.reading.annotations import instance_masks, read_via
    from desghost.simulate.source import source_position_px
    from research.imagestats import largest_saturated_area_px
    annotations = [read_via(f) for f in sorted(shared_data("dgb", "real", "annotations").glob("common_core_*.json"))]
    layout = load_layout()
    errors_px = []
    for expnum, img in real_images.items():
        live = ccd_map(layout, expnum)[1]
        if largest_saturated_area_px(img, live) < 90:
            continue
        blobs, _ = label((img >= 240) & live)
        core_row, core_col = center_of_mass(blobs == np.bincount(blobs.ravel())[1:].argmax() + 1)
        for ann in annotations:
            masks, labels = instance_masks(ann.get(f"Ghost_img_D{expnum:08d}.jpg", []))
            ghosts = [m for m, lab in zip(masks, labels) if lab in (1, 2)]
            if not ghosts:
                continue
            centres = [(np.nonzero(m)[1].mean() + 0.5, np.nonzero(m)[0].mean() + 0.5, m.sum()) for m in ghosts]
            col, row = source_position_px(*zip(*centres))
            errors_px.append(np.hypot(col - core_col - 0.5, row - core_row - 0.5))
    assert len(errors_px) >= 60
    assert np.median(errors_px) < 15 and np.mean(np.asarray(errors_px) < 30) > 0.85
