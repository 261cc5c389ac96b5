"""The fixed real-image folds: no image is both trained on and scored in one fold."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from research.folds import fold_split, load_folds  # noqa: E402
from tools.make_real_folds import stratified_folds  # noqa: E402

from .conftest import shared_data  # noqa: E402


def test_every_image_is_scored_once_and_never_by_a_model_that_trained_on_it():
    folds = load_folds()
    assert len(folds) >= 3
    scored = []
    for k in range(len(folds)):
        training, scoring = fold_split(folds, k)
        assert not set(training) & set(scoring)
        assert sorted(training + scoring) == sorted(n for f in folds for n in f)
        scored += scoring
    assert sorted(scored) == sorted(set(scored)) and len(scored) == 30


def test_the_folds_hold_exactly_the_real_images():
    names = sorted(p.name for p in shared_data("dgb", "real", "images").glob("Ghost_img_D*.jpg"))
    assert sorted(n for f in load_folds() for n in f) == names


def test_snake_dealing_balances_busy_and_quiet_images():
    counts = {f"img{i}": c for i, c in enumerate([9, 8, 7, 6, 5, 4, 3, 2, 1])}
    folds = stratified_folds(counts, 3)
    assert folds == [["img0", "img5", "img6"], ["img1", "img4", "img7"], ["img2", "img3", "img8"]]
    assert [sum(counts[n] for n in f) for f in folds] == [16, 15, 14]


def test_family_geometry_on_a_hand_made_image():
    """Two ghosts on the 30-degree radial line, a big faint disc on the same line: known answers."""
    import numpy as np
    import pytest

    from research.families import AXIS_PX, big_faint_geometry, family_statistics, find_families

    def at(distance_px, angle_deg):
        return (AXIS_PX[0] + distance_px * np.cos(np.radians(angle_deg)),
                AXIS_PX[1] + distance_px * np.sin(np.radians(angle_deg)))

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


def test_fold_lists_feed_train_and_evaluate_and_a_stray_name_is_refused(tmp_path):
    import pytest

    from desghost.errors import UsageError
    from desghost.training.dataset import read_name_list
    from research.folds import write_fold_lists

    folds = load_folds()
    pairs = write_fold_lists(tmp_path, folds)
    known = [n for f in folds for n in f]
    for k, (train_list, score_list) in enumerate(pairs):
        training, scoring = read_name_list(train_list, known), read_name_list(score_list, known)
        assert (training, scoring) == fold_split(folds, k)
    stray = tmp_path / "stray.txt"
    stray.write_text("# one fold\nGhost_img_D99999999.jpg\n")
    with pytest.raises(UsageError, match="not among the annotated images: Ghost_img_D99999999.jpg"):
        read_name_list(stray, known)
