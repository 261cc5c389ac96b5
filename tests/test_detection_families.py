"""Ghost families: the geometry derivation and the completion step, on hand-made cases with known answers."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desghost.detection.families import complete_families, drop_lone_discs  # noqa: E402
from desghost.detection.instance import Instance  # noqa: E402
from desghost.family_geometry import AXIS_PX, family_geometry  # noqa: E402


def at(distance_px, angle_deg):
    return (AXIS_PX[0] + distance_px * np.cos(np.radians(angle_deg)),
            AXIS_PX[1] + distance_px * np.sin(np.radians(angle_deg)))


def disc(col, row, r, cls="Bright", score=0.9):
    yy, xx = np.mgrid[:400, :400]
    mask = (xx - col) ** 2 + (yy - row) ** 2 <= r ** 2
    rows, cols = np.nonzero(mask)
    return Instance({"Bright": 1, "Faint": 2}[cls], cls, score,
                    (float(cols.min()), float(rows.min()), float(cols.max() + 1), float(rows.max() + 1)), mask)


def test_family_geometry_on_a_hand_made_image():
    """Two ghosts on the 30-degree radial line, a big faint disc on the same line: known answers."""
    from research.families import big_faint_geometry, family_statistics, find_families

    image = [("Bright", *at(100, 30), 15.0), ("Faint", *at(140, 32), 25.0), ("Rays", *at(150, 200), 30.0),
             ("Faint", *at(50, 30), 120.0), ("Bright", *at(120, 250), 12.0)]  # the last one is alone
    (family,) = find_families(image)
    assert family["members"] == [0, 1] and family["angle_deg"] == pytest.approx(31.0)
    assert family["distance_px"] == pytest.approx(140.0)
    geom = big_faint_geometry(image, family)
    assert geom["along"] == pytest.approx(50 * np.cos(np.radians(1)) / 140, abs=1e-6)
    assert geom["across"] == pytest.approx(-50 * np.sin(np.radians(1)) / 140, abs=1e-6)
    assert geom["angle_offset_deg"] == pytest.approx(-1.0) and geom["r_px"] == 120.0
    # a family that wraps through 0 degrees is one family
    (wrapped,) = find_families([("Bright", *at(90, 357), 10.0), ("Bright", *at(130, 3), 10.0)])
    assert wrapped["angle_deg"] == pytest.approx(0.0, abs=1e-6) or wrapped["angle_deg"] == pytest.approx(360.0)
    stats = family_statistics([image, image, [("Faint", *at(10, 0), 100.0)]])
    assert stats["n_families"] == 2 and stats["p_big_faint_given_family"] == 1.0
    assert stats["p_big_faint_without_family"] == 1.0 and stats["r_px"]["median"] == 120.0




def test_completion_adds_the_big_disc_where_a_family_lacks_it_and_nowhere_else():
    geometry = {"p": 0.8, "along": 0.2, "r_px": 110.0}
    family = [disc(*at(100, 30), 12, score=0.9), disc(*at(150, 31), 8, "Faint", score=0.6)]
    (added,) = [i for i in complete_families(family, geometry) if i not in family]
    rows, cols = np.nonzero(added.mask)
    centre = np.array(AXIS_PX) + 0.2 * 150 * np.array([np.cos(np.radians(30.5)), np.sin(np.radians(30.5))])
    assert added.class_name == "Faint" and added.score == pytest.approx(0.9 * 0.8)
    assert abs(cols.mean() - centre[0]) < 1 and abs(rows.mean() - centre[1]) < 1
    assert np.sqrt(added.mask.sum() / np.pi) == pytest.approx(110, abs=1)
    # a family that already has its disc, or ghosts that are no family, get nothing
    with_disc = family + [disc(*at(20, 30), 100, "Faint", score=0.5)]
    assert complete_families(with_disc, geometry) == sorted(with_disc, key=lambda i: -i.score)
    lonely = [disc(*at(100, 30), 12), disc(*at(120, 200), 12)]
    assert len(complete_families(lonely, geometry)) == 2 and complete_families([], geometry) == []


def test_a_big_faint_disc_is_dropped_only_when_no_small_ghost_accompanies_it():
    big = disc(*at(20, 30), 100, "Faint", score=0.8)
    just_big = disc(*at(20, 30), 81, "Faint", score=0.7)      # equivalent radius ~81 px: a big disc
    just_small = disc(*at(120, 30), 78, "Faint", score=0.6)   # ~78 px: a small ghost
    rays = Instance(3, "Rays", 0.9, (0.0, 0.0, 400.0, 10.0), np.zeros((400, 400), bool))
    assert drop_lone_discs([big]) == [] and drop_lone_discs([big, just_big]) == []
    assert drop_lone_discs([rays, big]) == [rays]                  # a Ray is no ghost of the star's family
    assert drop_lone_discs([big, just_small]) == [big, just_small]  # a small Faint ghost keeps it
    bright = disc(*at(150, 200), 6, score=0.4)                    # a Bright ghost anywhere keeps it
    assert drop_lone_discs([big, rays, bright]) == [big, rays, bright]
    assert drop_lone_discs([]) == []


def test_the_model_setting_drops_lone_discs_in_post_processing():
    from desghost.detection.detect import postprocess
    from desghost.detection.model import ModelConfig

    big = disc(*at(20, 30), 100, "Faint", score=0.8)
    assert postprocess([big], ModelConfig()) == [big]
    assert postprocess([big], ModelConfig(drop_lone_discs=True)) == []


def test_the_shipped_geometry_is_the_real_images_measurement():
    g = family_geometry()
    assert 0.7 < g["p"] < 0.9 and 0.1 < g["along"] < 0.25 and 100 < g["r_px"] < 140


def test_the_model_setting_turns_completion_on_in_post_processing():
    from desghost.detection.detect import postprocess
    from desghost.detection.model import ModelConfig

    family = [disc(*at(100, 30), 12, score=0.9), disc(*at(150, 31), 8, "Faint", score=0.6)]
    assert len(postprocess(family, ModelConfig())) == 2
    completed = postprocess(family, ModelConfig(family_completion=True))
    assert len(completed) == 3 and completed[1].class_name == "Faint" and completed[1].score == pytest.approx(
        0.9 * family_geometry()["p"])


def test_the_simulator_adds_the_family_disc_on_the_radial_line_and_only_where_none_is_drawn():
    from desghost.family_geometry import LARGE_R_PX, family_stats, find_families
    from desghost.simulate.artifacts import Artifact, complete_family

    def ghost(cls, distance, angle, r):
        return Artifact(cls, *at(distance, angle), r, r, 0.0, 1.0)

    family = [ghost("Bright", 100, 30, 12), ghost("Faint", 150, 31, 8)]
    rng = np.random.default_rng(0)
    stats = family_stats()
    discs = [complete_family(rng, family, probability=1.0, stats=stats)[0] for _ in range(200)]
    (fam,) = find_families([(a.cls, a.col_px, a.row_px, a.a_px) for a in family])
    u = np.array([np.cos(np.radians(fam["angle_deg"])), np.sin(np.radians(fam["angle_deg"]))])
    offsets = np.array([[d.col_px - AXIS_PX[0], d.row_px - AXIS_PX[1]] for d in discs])
    along = offsets @ u / fam["distance_px"]
    across = (u[0] * offsets[:, 1] - u[1] * offsets[:, 0]) / fam["distance_px"]
    # the draws follow the measured geometry: median along the line, little across it
    assert np.median(along) == pytest.approx(stats["along"]["median"], abs=0.05)
    assert np.percentile(np.abs(across), 84) < 0.05
    assert all(d.cls == "Faint" and d.a_px > LARGE_R_PX and d.amplitude < 0.7 for d in discs)
    # never when the image already has a big disc, or has no family, or at probability 0
    assert complete_family(rng, family + [ghost("Faint", 20, 30, 110)], probability=1.0) == []
    assert complete_family(rng, [ghost("Bright", 100, 30, 12)], probability=1.0) == []
    assert complete_family(rng, family, probability=0.0) == []


def test_the_disc_probability_follows_the_familys_largest_member():
    """Hand-made rule: drawn shares 0.25 / 0.5, target 0.4 / 0.9 -> add a disc to 20% / 80% of the families."""
    from desghost.simulate.artifacts import Artifact, complete_family, family_disc_probability

    drawn = {"split_px": 30.0, "small": {"n": 10, "p": 0.25}, "large": {"n": 10, "p": 0.5}}
    target = {"split_px": 30.0, "small": {"n": 10, "p": 0.4}, "large": {"n": 10, "p": 0.9}}
    assert family_disc_probability(29.9, drawn, target) == pytest.approx(0.2)
    assert family_disc_probability(30.0, drawn, target) == pytest.approx(0.8)
    assert family_disc_probability(10.0, target, drawn) == 0.0          # never below zero
    assert family_disc_probability(40.0, {**drawn, "large": {"p": 1.0}}, target) == 0.0

    def ghost(cls, distance, angle, r):
        return Artifact(cls, *at(distance, angle), r, r, 0.0, 1.0)

    rng = np.random.default_rng(3)
    small = [ghost("Bright", 100, 30, 12), ghost("Faint", 150, 31, 8)]
    large = [ghost("Bright", 100, 30, 12), ghost("Faint", 150, 31, 35)]
    p_small, p_large = family_disc_probability(12.0), family_disc_probability(35.0)
    assert p_small > p_large + 0.2   # the measured rule: families of small ghosts get the disc the real images lack
    for family, p in ((small, p_small), (large, p_large)):
        share = np.mean([bool(complete_family(rng, family)) for _ in range(3000)])
        assert share == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / 3000) + 1e-9)
