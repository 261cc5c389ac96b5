"""The overlay PNG as a person reads it: numbers on their outlines, dead CCDs marked, the plain image beside."""
import numpy as np
import pytest
from PIL import Image

from desghost.driver.exposure import process_exposure
from desghost.focalplane.ccd_map import ccd_map
from desghost.layout import load_layout
from desghost.products.label_layout import Label, box_to_points_px, instance_number, outline_candidates, place_labels
from desghost.products.overlay import (
    DEAD_COLOR,
    SCALE,
    TITLE_H_PX,
    dead_labels,
    dead_regions_px,
    instance_outlines,
    overlay_labels,
    plain_image_x0,
)
from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    """A simulated raw exposure with three artifacts, processed with the shipped model."""
    d = tmp_path_factory.mktemp("overlay")
    files, _ = write_simulated_exposure(d / "DECam_00700400.fits.fz",
                                        SimulationConfig(expnum=700400, seed=40, n_artifacts=3))
    result = process_exposure(files[0], d / "out")
    assert result.instances, "the simulated artifacts should be found"
    return result


def _outline_points(curves):
    return [p for curve in curves for p in curve]


def test_each_instance_number_sits_on_its_own_outline(processed):
    labels = [lab for lab in overlay_labels(processed, load_layout()) if lab["kind"] == "instance"]
    outlines = instance_outlines(processed)
    assert [lab["index"] for lab in labels] == list(range(len(processed.instances)))
    for lab in labels:
        assert lab["box"] is not None and lab["text"] == str(instance_number(lab["index"]))
        assert box_to_points_px(lab["box"], _outline_points(outlines[lab["index"]])) <= 2.0, lab


def test_a_number_moves_along_its_outline_when_its_first_place_is_taken():
    square = [(x, 100) for x in range(100, 201)] + [(200, y) for y in range(100, 201)] \
        + [(x, 200) for x in range(200, 99, -1)] + [(100, y) for y in range(200, 99, -1)]
    candidates = outline_candidates(square, (12, 14))
    first = (candidates[0][0], candidates[0][1], candidates[0][0] + 12, candidates[0][1] + 14)
    (box,) = place_labels([Label("3", (12, 14), candidates)], (0, 0, 400, 400), taken=[first])
    assert box is not None and box != first
    assert box_to_points_px(box, square) == 0.0  # still on the outline
    assert all(box_to_points_px((x, y, x + 12, y + 14), square) == 0.0 for x, y in candidates)


def test_the_overlay_shows_the_plain_image_beside_the_outlined_one(processed):
    png = np.asarray(Image.open(processed.outputs["overlay"]).convert("RGB"))
    h, w = processed.image.shape
    assert 2 * w * SCALE <= png.shape[1] <= 2 * w * SCALE + 300  # two images side by side (and the legend)
    x0 = plain_image_x0(processed)
    plain = np.repeat(np.repeat(processed.image, SCALE, 0), SCALE, 1)
    right = png[TITLE_H_PX:TITLE_H_PX + h * SCALE, x0:x0 + w * SCALE]
    assert (right == plain[..., None]).all()  # untouched: no outline, number or hatching
    left = png[TITLE_H_PX:TITLE_H_PX + h * SCALE, :w * SCALE]
    assert (left != plain[..., None]).any(axis=-1).mean() > 0.01  # the outlined copy has drawings


def test_dead_ccd_61_and_the_blank_half_of_ccd_31_are_marked(processed):
    layout = load_layout()
    dead = dead_regions_px(processed, layout)
    assert {31, 61} <= set(dead)
    x0, y0, x1, y1 = (int(round(v)) for v in layout.ccds[61].box_px)
    assert dead[61][y0 + 2:y1 - 2, x0 + 2:x1 - 2].all()
    index, _ = ccd_map(layout, processed.expnum)
    assert 0.4 < dead[31].sum() / (index == 31).sum() < 0.6  # one amplifier: half the CCD
    assert {lab["ccdnum"] for lab in dead_labels(dead)} >= {31, 61}
    png = np.asarray(Image.open(processed.outputs["overlay"]).convert("RGB"))

    def hatched(x_offset):
        box = png[TITLE_H_PX + y0 * SCALE:TITLE_H_PX + y1 * SCALE, x_offset + x0 * SCALE:x_offset + x1 * SCALE]
        return np.all(box == DEAD_COLOR, axis=-1).mean()

    assert hatched(0) > 0.15 and hatched(plain_image_x0(processed)) == 0.0
