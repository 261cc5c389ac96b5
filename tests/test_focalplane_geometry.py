"""Pure computations: sections, orientation, binning, stretch, polygon clipping."""
import numpy as np
import pytest

from desghost.focalplane.binning import bin_ccd_into_box, bin_into_box, covered_pixels
from desghost.focalplane.orientation import (
    PixelOrientation,
    orient_to_image,
    orientation_from_cd,
    orientation_from_header,
)
from desghost.focalplane.stretch import binned_noise, robust_sigma, stretch_to_uint8
from desghost.reading.sections import format_section, parse_section
from desghost.simulate.geometry import clip_polygon_to_rect, polygon_area

from .helpers import shared_data, yaml_header

DEFAULT = PixelOrientation("down", "left")


def test_parse_section_is_one_based_inclusive_and_accepts_reversed_ranges():
    assert parse_section("[57:2104,51:4146]") == (slice(50, 4146), slice(56, 2104))
    assert parse_section("[2048:1025,4096:1]") == (slice(0, 4096), slice(1024, 2048))
    assert format_section(*parse_section("[7:56,1:4096]")) == "[7:56,1:4096]"
    with pytest.raises(ValueError):
        parse_section("57:2104")


@pytest.mark.real_data
def test_orientation_of_real_decam_headers_is_x_south_y_east():
    for name in ("fitsheader-decam.yaml", "fitsheader-decam-instcal-c4d_190402_050618_ooi_VR_v1.yaml",
                 "fitsheader-decam-calexp-0412037_10.yaml"):
        hdr = yaml_header(shared_data("decam", "headers", name))
        o = orientation_from_header(hdr, default=PixelOrientation("up", "right"))
        assert (o.ccd_x_to, o.ccd_y_to, o.from_wcs) == ("down", "left", True), name


def test_orientation_without_wcs_falls_back_to_the_layout_default():
    assert orientation_from_header({"CCDNUM": 1}, DEFAULT) is DEFAULT
    flipped = orientation_from_cd([[0.0, -7e-5], [7e-5, 0.0]])
    assert (flipped.ccd_x_to, flipped.ccd_y_to) == ("up", "right")


@pytest.mark.parametrize("x_to,y_to", [("down", "left"), ("up", "left"), ("down", "right"), ("up", "right")])
def test_orient_to_image_puts_the_first_pixel_where_the_axes_say(x_to, y_to):
    a = np.zeros((8, 4))  # [y, x]
    a[0, 0] = 1
    img = orient_to_image(a, PixelOrientation(x_to, y_to))
    assert img.shape == (4, 8)
    r, c = np.argwhere(img == 1)[0]
    assert r == (0 if x_to == "down" else 3)
    assert c == (7 if y_to == "left" else 0)


def test_binning_a_constant_gives_the_constant_and_exact_counts():
    block = np.full((290, 580), 7.0)
    b = bin_into_box(block, (10.0, 20.0, 68.0, 49.0), (400, 400))
    assert (b.rows, b.cols) == (range(20, 49), range(10, 68))
    assert np.allclose(b.mean, 7.0)
    assert b.counts.sum() == block.size and np.array_equal(b.counts, b.full_counts)


def test_binning_averages_a_gradient_and_ignores_nan():
    block = np.tile(np.arange(100, dtype=float), (10, 1))  # value = column
    block[:, 0:10] = np.nan
    b = bin_into_box(block, (0.0, 0.0, 10.0, 1.0), (5, 20))
    assert b.mean.shape == (1, 10)
    assert np.isnan(b.mean[0, 0]) and b.counts[0, 0] == 0
    assert np.allclose(b.mean[0, 1:], np.arange(1, 10) * 10 + 4.5)


def test_binning_clips_boxes_that_leave_the_image():
    b = bin_into_box(np.ones((29, 58)), (380.0, 0.0, 438.0, 29.0), (400, 400))
    assert b.cols == range(380, 400) and b.sums.shape == (29, 20)
    assert np.allclose(b.mean, 1.0)


@pytest.mark.parametrize("x_to,y_to", [("down", "left"), ("up", "left"), ("down", "right"), ("up", "right")])
def test_fast_binning_in_the_ccd_frame_equals_binning_the_oriented_array(x_to, y_to):
    rng = np.random.default_rng(1)
    a = rng.normal(size=(400, 200))
    a[3:40, 7:90] = np.nan
    o = PixelOrientation(x_to, y_to)
    box = (351.86, 169.84, 409.99, 198.89)
    slow = bin_into_box(orient_to_image(a, o), box, (400, 400))
    fast = bin_ccd_into_box(a, o, box, (400, 400))
    assert np.allclose(slow.sums, fast.sums) and np.array_equal(slow.counts, fast.counts)


def test_stretch_maps_sky_and_noise_to_the_requested_grey_levels():
    rng = np.random.default_rng(2)
    values = rng.normal(100.0, 3.0, size=(200, 200))
    noise = binned_noise([values])
    assert noise == pytest.approx(3.0, rel=0.05)
    img = stretch_to_uint8(values, 100.0, noise)
    assert np.median(img) == pytest.approx(55, abs=1)
    assert robust_sigma(img) == pytest.approx(13.5, rel=0.06)
    assert stretch_to_uint8(np.array([1e9, -1e9]), 0.0, 1.0).tolist() == [255, 0]


def test_polygon_clipping_to_a_rectangle():
    square = np.array([[-5, -5], [5, -5], [5, 5], [-5, 5]], dtype=float)
    clipped = clip_polygon_to_rect(square, 0, 0, 10, 10)
    assert polygon_area(clipped) == pytest.approx(25.0)
    assert polygon_area(clip_polygon_to_rect(square, 20, 20, 30, 30)) == 0.0
    assert covered_pixels(0.4, 2.6, 10) == range(0, 3)
