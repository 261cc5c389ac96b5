"""The ghosts' source star: placed from the ghost family's radial line, rendered with spikes."""
import numpy as np

from desghost.focalplane.ccd_map import ccd_map
from desghost.layout import load_layout
from desghost.simulate.artifacts import Artifact
from desghost.simulate.source import (
    GHOST_RADIUS_RATIOS,
    SOURCE_FLUX_RANGE,
    draw_source_star,
    scene_stars,
    source_position_px,
)
from desghost.simulate.stars import StarField, render_halos
from desghost.simulate.training import render_training_image
from research.imagestats import largest_saturated_area_px


def family(star, ratios, radii):
    """Ghost centres at ``ratios`` times the star's offset from the axis (200, 200)."""
    offset = np.asarray(star) - 200.0
    cols = [200.0 + k * offset[0] for k in ratios]
    rows = [200.0 + k * offset[1] for k in ratios]
    return cols, rows, [np.pi * r ** 2 for r in radii]


def test_source_is_found_where_its_ghost_family_points():
    star = (320.0, 140.0)
    cols, rows, areas = family(star, (1.08, 0.75, 0.5, 0.2, -0.6), (20, 14, 75, 120, 30))
    col, row = source_position_px(cols, rows, areas)
    assert np.hypot(col - star[0], row - star[1]) < 1.0


def test_big_ghosts_on_the_far_side_do_not_flip_the_star():
    # the ghosts of the real exposure D00270069 (one annotator): most ghost area lies opposite
    # the star, so an area-weighted side would put the star on the wrong side of the axis
    star = (173.0, 61.0)
    cols, rows, areas = family(star, (1.06, 1.08, 0.74, 0.45, 0.2, -0.52, -0.6, -0.98),
                               (25, 15, 14, 74, 80, 122, 31, 64))
    v = np.column_stack([cols, rows]) - 200.0
    assert np.sum((v @ (np.asarray(star) - 200.0)) * np.asarray(areas)) < 0
    col, row = source_position_px(cols, rows, areas)
    assert np.hypot(col - star[0], row - star[1]) < 2.0
    flipped = source_position_px(cols[::-1], rows[::-1], areas[::-1])  # order does not matter
    assert np.allclose(flipped, (col, row))


def test_single_ghost_puts_the_star_just_beyond_it():
    col, row = source_position_px([300.0], [200.0], [400.0], outer_ratio=GHOST_RADIUS_RATIOS[0])
    assert np.isclose(row, 200.0) and np.isclose(col, 200.0 + 100.0 / 1.08)


def test_ghosts_on_the_axis_still_place_a_star():
    col, row = source_position_px([200.0, 200.0], [200.0, 200.0], [100.0, 900.0])
    assert np.isclose(np.hypot(col - 200.0, row - 200.0), 15.0)


def test_source_star_only_for_ghosts_unless_lone():
    rng = np.random.default_rng(0)
    rays = [Artifact("Rays", 50.0, 200.0, 40.0, 10.0, 0.0, 10.0)]
    assert draw_source_star(rng, rays, lone_probability=0.0) is None
    lone = draw_source_star(rng, rays, lone_probability=1.0)
    assert np.hypot(lone.col_px[0] - 200, lone.row_px[0] - 200) <= 190
    ghost = Artifact("Bright", 300.0, 200.0, 10.0, 10.0, 0.0, 5.0)
    star = draw_source_star(rng, [ghost])
    assert SOURCE_FLUX_RANGE[0] <= star.flux[0] <= SOURCE_FLUX_RANGE[1]
    assert star.row_px[0] == 200.0 and 200.0 + 100 / 1.15 <= star.col_px[0] <= 200.0 + 100 / 1.03
    stars = scene_stars(np.random.default_rng(1), [ghost])
    assert stars.flux[0] >= SOURCE_FLUX_RANGE[0] and stars.flux[1:].max() < SOURCE_FLUX_RANGE[0]


def test_bright_stars_get_spikes_along_the_axes_and_field_stars_do_not():
    rows, cols = np.mgrid[0:200, 0:200] + 0.5
    for flux, spiked in ((2e6, True), (3e4, False)):
        img = render_halos(StarField(np.array([100.0]), np.array([100.0]), np.array([flux])), cols, rows)
        on_axis = img[100, 130]         # 30 px along +col
        diagonal = img[121, 121]        # the same distance at 45 degrees
        assert (on_axis > 3 * diagonal + 1.0) == spiked


def test_images_with_ghost_families_hold_a_big_saturated_star():
    # the 30 real images: median largest saturated patch 214 px with >= 3 instances, 34 with fewer
    layout = load_layout()
    _, live = ccd_map(layout, 500000)
    rng = np.random.default_rng(11)
    many, few = [], []
    for _ in range(16):
        t = render_training_image(rng, layout, expnum=500000)
        ghosts = int(np.isin(t.labels, (1, 2)).sum())
        (many if ghosts >= 2 else few).append(largest_saturated_area_px(t.image, live))
    assert many and few
    assert np.median(many) > 120 and np.median(few) < 80
