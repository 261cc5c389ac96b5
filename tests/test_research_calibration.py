"""Choosing inference settings on annotated images, and the cross-fit that keeps the choice honest."""
import numpy as np
import pytest

from desghost.detection.instance import Instance
from desghost.focalplane.ccd_map import ccd_map
from desghost.layout import load_layout
from research.operating_point import choose, cross_fitted, cut, scan


def _ccd_square(ccdnum, size=6):
    """A 400x400 mask: a small square in the middle of one CCD's box."""
    index = ccd_map(load_layout())[0]
    rows, cols = np.nonzero(index == ccdnum)
    r, c = int(rows.mean()), int(cols.mean())
    m = np.zeros((400, 400), dtype=bool)
    m[r - size // 2:r + size // 2, c - size // 2:c + size // 2] = True
    return m


def _inst(mask, score):
    rows, cols = np.nonzero(mask)
    return Instance(1, "Bright", score, (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1), mask)


@pytest.fixture(scope="module")
def case():
    """Four images with one true artifact (CCD 10) and one false detection (CCD 40) each.

    Images 0 and 2: true score 0.6, false 0.3 (best thresholds 0.4-0.5).
    Images 1 and 3: true score 0.2, false 0.1 (best thresholds 0.15-0.2).
    """
    true_m, false_m = _ccd_square(10), _ccd_square(40)
    found, gts = [], []
    for i in range(4):
        hi, lo = (0.6, 0.3) if i % 2 == 0 else (0.2, 0.1)
        found.append([_inst(true_m, hi), _inst(false_m, lo)])
        gts.append((true_m[None], np.array([1])))
    return found, [gts], true_m


def test_cut_keeps_scores_at_or_above_the_threshold(case):
    found, _, true_m = case
    preds = cut(found, 0.3)
    assert [len(p[1]) for p in preds] == [2, 0, 2, 0]
    assert preds[1][0].shape == (0, 400, 400)


def test_scan_and_choose_pick_the_threshold_that_drops_only_the_false_detection(case):
    found, per_annotator, _ = case
    rows = scan({1: found[0::2]}, [per_annotator[0][0::2]])
    by_thr = {r["threshold"]: r["ccd_f1"] for r in rows}
    assert by_thr[0.4] == pytest.approx(1.0) and by_thr[0.2] == pytest.approx(2 / 3)
    assert choose(rows)["threshold"] == 0.4


def test_choose_prefers_fewer_views_and_no_suppression_on_ties():
    rows = [{"tta_views": 2, "threshold": 0.2, "overlap_iou": 0.0, "ccd_f1": 0.8, "AP50": 0.3},
            {"tta_views": 1, "threshold": 0.3, "overlap_iou": 0.5, "ccd_f1": 0.8, "AP50": 0.3},
            {"tta_views": 1, "threshold": 0.3, "overlap_iou": 0.0, "ccd_f1": 0.8, "AP50": 0.3},
            {"tta_views": 4, "threshold": 0.3, "overlap_iou": 0.0, "ccd_f1": 0.7, "AP50": 0.9}]
    assert choose(rows) == rows[2]


def test_cross_fit_scores_each_image_with_settings_chosen_on_the_others(case):
    found, per_annotator, _ = case
    preds, chosen = cross_fitted({1: found}, per_annotator, n_folds=2)
    assert [c["images"] for c in chosen] == [[0, 2], [1, 3]]
    # fold 0 (scores 0.6/0.3) gets the low threshold chosen on fold 1, so it keeps its false detection;
    # fold 1 (scores 0.2/0.1) gets the high threshold chosen on fold 0, so it loses its true one
    assert chosen[0]["threshold"] <= 0.2 and chosen[1]["threshold"] >= 0.4
    assert [len(p[1]) for p in preds] == [2, 0, 2, 0]
    with pytest.raises(ValueError, match="at least 3 images"):
        cross_fitted({1: found[:2]}, [per_annotator[0][:2]], n_folds=3)


def test_scoring_without_the_human_ceiling_skips_it_and_keeps_the_model_scores(case):
    from desghost.evaluation.evaluate import evaluate_against_annotators
    found, per_annotator, _ = case
    both = per_annotator * 2
    full = evaluate_against_annotators(cut(found, 0.4), both)
    quick = evaluate_against_annotators(cut(found, 0.4), both, with_humans=False)
    assert quick["human_mean"] is None and quick["human_vs_others"] == []
    assert full["human_mean"] is not None
    assert quick["model_mean"]["ccd"]["all"]["0%"]["f1"] == full["model_mean"]["ccd"]["all"]["0%"]["f1"]
    assert full["model_ccd_f1_interval"]["f1"] == pytest.approx(full["model_mean"]["ccd"]["all"]["0%"]["f1"])
    assert "model_ccd_f1_interval" in quick  # the interval is its own switch
    bare = evaluate_against_annotators(cut(found, 0.4), both, with_humans=False, with_interval=False)
    assert "model_ccd_f1_interval" not in bare
