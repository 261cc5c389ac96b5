"""The fixed real-image folds: no image is both trained on and scored in one fold."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pytest

from research.folds import fold_split, load_folds  # noqa: E402
from tools.make_real_folds import stratified_folds  # noqa: E402

from .helpers import shared_data  # noqa: E402


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


@pytest.mark.real_data
def test_the_folds_hold_exactly_the_real_images():
    names = sorted(p.name for p in shared_data("dgb", "real", "images").glob("Ghost_img_D*.jpg"))
    assert sorted(n for f in load_folds() for n in f) == names


def test_snake_dealing_balances_busy_and_quiet_images():
    counts = {f"img{i}": c for i, c in enumerate([9, 8, 7, 6, 5, 4, 3, 2, 1])}
    folds = stratified_folds(counts, 3)
    assert folds == [["img0", "img5", "img6"], ["img1", "img4", "img7"], ["img2", "img3", "img8"]]
    assert [sum(counts[n] for n in f) for f in folds] == [16, 15, 14]


def test_fold_lists_feed_train_and_evaluate_and_a_stray_name_is_refused(tmp_path):
    import pytest

    from desghost.errors import UsageError
    from desghost.focalplane.annotated_set import read_name_list
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


@pytest.mark.real_data
def test_evaluate_scores_only_the_images_a_fold_list_names(tmp_path):
    from desghost.evaluation.evaluate import load_annotated
    from research.folds import write_fold_lists

    real = shared_data("dgb", "real")
    _, score_list = write_fold_lists(tmp_path)[1]
    annotations = sorted(str(p) for p in (real / "annotations").glob("common_core_*.json"))
    names, images, per_annotator = load_annotated(real / "images", annotations, names_file=score_list)
    assert names == fold_split(load_folds(), 1)[1] and len(images) == 10 == len(per_annotator[0])
