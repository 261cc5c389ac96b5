"""Metric computations on hand-made cases with known answers."""
import numpy as np
import pytest

from desghost.agreement import ccd_level_scores, precision_recall_f1
from desghost.evaluation.evaluate import agreement_table, score_predictions
from desghost.evaluation.metrics import coco_ap, exposure_confusion, paper_ap
from desghost.mask_geometry import ccds_touched, mask_iou


def box_mask(r0, c0, r1, c1, shape=(40, 40)):
    m = np.zeros(shape, dtype=bool)
    m[r0:r1, c0:c1] = True
    return m


def test_mask_iou():
    a = np.stack([box_mask(0, 0, 10, 10)])
    b = np.stack([box_mask(0, 5, 10, 15), box_mask(20, 20, 30, 30)])
    assert np.allclose(mask_iou(a, b), [[50 / 150, 0.0]])


def test_paper_ap_known_cases():
    gt = np.stack([box_mask(0, 0, 10, 10), box_mask(20, 20, 30, 30)])
    gl = np.array([1, 3])
    # perfect
    assert paper_ap(gt, gl, gt.copy(), gl, np.array([0.9, 0.8])) == pytest.approx(1.0)
    # one right, one missing: precision 1 at recall 0.5 -> AP 0.5
    assert paper_ap(gt, gl, gt[:1], gl[:1], np.array([0.9])) == pytest.approx(0.5)
    # wrong class does not match
    assert paper_ap(gt, gl, gt[:1], np.array([2]), np.array([0.9])) == pytest.approx(0.0)
    # a false positive ranked first, then both right: P = 0, 1/2, 2/3 -> interpolated AP = 2/3
    fp = box_mask(35, 35, 40, 40)[None]
    preds = np.concatenate([fp, gt])
    assert paper_ap(gt, gl, preds, np.array([1, 1, 3]), np.array([0.99, 0.9, 0.8])) == pytest.approx(2 / 3)
    assert np.isnan(paper_ap(gt[:0], gl[:0], gt, gl, np.array([0.9, 0.9])))


def test_coco_ap_perfect_and_empty():
    gt = [(np.stack([box_mask(0, 0, 10, 10)]), np.array([1]))]
    perfect = coco_ap(gt, [(gt[0][0], gt[0][1], np.array([0.9]))])
    assert perfect["AP50"] == pytest.approx(1.0) and perfect["per_class"][1]["AP50"] == pytest.approx(1.0)
    assert np.isnan(perfect["per_class"][2]["AP50"])
    none = coco_ap(gt, [(np.zeros((0, 40, 40), bool), np.zeros(0, int), np.zeros(0))])
    assert none["AP50"] == 0.0 and none["per_class"][1]["AP50"] == 0.0
    assert np.isnan(none["per_class"][2]["AP50"])  # no truth and no detection: undefined, not 0


def _coco_one_class(gts, preds, class_id):
    """AP50/AP75 of one class from its own COCOeval run (what coco_ap's one run must reproduce)."""
    import contextlib
    import io

    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def rle(m):
        r = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
        r["counts"] = r["counts"].decode()
        return r

    images, anns, dets = [], [], []
    for i, ((gm, gl), (pm, pl, ps)) in enumerate(zip(gts, preds)):
        images.append({"id": i, "width": 40, "height": 40})
        for m, lab in zip(gm, gl):
            r = rle(m)
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": int(lab), "segmentation": r,
                         "area": float(m.sum()), "bbox": list(mask_utils.toBbox(r)), "iscrowd": 0})
        dets += [{"image_id": i, "category_id": int(lab), "segmentation": rle(m), "score": float(sc)}
                 for m, lab, sc in zip(pm, pl, ps)]
    gt = COCO()
    gt.dataset = {"images": images, "annotations": anns, "categories": [{"id": c} for c in (1, 2, 3)]}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(dets), "segm")
        ev.params.catIds, ev.params.maxDets = [class_id], [1, 10, 100]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats[1], ev.stats[2]


def test_coco_ap_per_class_from_one_run_equals_a_run_per_class():
    rng = np.random.default_rng(4)
    gts, preds = [], []
    for _ in range(5):
        boxes = rng.integers(0, 30, (4, 2))
        gm = np.stack([box_mask(r, c, r + 8, c + 8) for r, c in boxes])
        gl = np.array([1, 2, 3, 2])
        shift = rng.integers(-3, 4, (4, 2))
        pm = np.stack([box_mask(*(b + s).clip(0, 30), *((b + s).clip(0, 30) + 8)) for b, s in zip(boxes, shift)])
        preds.append((pm, np.array([1, 2, 3, 1]), rng.uniform(0.3, 1.0, 4)))
        gts.append((gm, gl))
    got = coco_ap(gts, preds)
    for c in (1, 2, 3):
        ap50, ap75 = _coco_one_class(gts, preds, c)
        assert got["per_class"][c]["AP50"] == pytest.approx(ap50, abs=1e-12)
        assert got["per_class"][c]["AP75"] == pytest.approx(ap75, abs=1e-12)
    assert 0 < got["per_class"][1]["AP50"] < 1  # a case with partial matches, not a trivial one


def test_ccd_touch_rules_and_scores():
    index = np.zeros((40, 40), dtype=np.int16)
    index[0:20, 0:20] = 1
    index[0:20, 20:40] = 2
    index[20:40, :] = 3
    m = box_mask(0, 18, 2, 22)[None]  # 4 px on CCD 1, 4 px on CCD 2
    assert ccds_touched(m, index) == {1, 2}
    assert ccds_touched(m, index, min_area_frac=0.05) == set()
    assert ccds_touched(box_mask(0, 0, 10, 10)[None], index, 0.2) == {1}  # 100/400 = 25%
    s = ccd_level_scores([{1, 2}, set()], [{1}, {3}])
    assert (s["tp"], s["fp"], s["fn"]) == (1, 1, 1) and s["f1"] == pytest.approx(0.5)
    assert np.isnan(precision_recall_f1(0, 0, 0)["f1"])
    assert precision_recall_f1(0, 3, 2)["f1"] == 0.0  # all wrong is 0, not undefined
    assert precision_recall_f1(0, 0, 2)["f1"] == 0.0  # nothing found of 2


def test_exposure_confusion():
    c = exposure_confusion([2, 0, 1, 0], [1, 0, 0, 3])
    assert (c["tp"], c["tn"], c["fp"], c["fn"]) == (1, 1, 1, 1) and c["accuracy"] == 0.5


def test_score_predictions_end_to_end_is_perfect_for_identical_input():
    from desghost.focalplane.ccd_map import ccd_map
    from desghost.layout import load_layout
    index = ccd_map(load_layout())[0]
    m = np.zeros((1, 400, 400), dtype=bool)
    m[0, 180:220, 180:220] = True
    gts = [(m, np.array([1])), (np.zeros((0, 400, 400), bool), np.zeros(0, int))]
    preds = [(m, np.array([1]), np.array([0.95])), (np.zeros((0, 400, 400), bool), np.zeros(0, int), np.zeros(0))]
    s = score_predictions(gts, preds, index)
    assert s["paper_ap"]["AP50"] == 1.0 and s["coco"]["AP50"] == pytest.approx(1.0)
    assert s["ccd"]["all"]["0%"]["f1"] == 1.0 and s["exposure"]["accuracy"] == 1.0


def test_agreement_fraction_hand_made():
    a = [(box_mask(0, 0, 10, 10)[None], np.array([1]))]
    b = [(box_mask(0, 5, 10, 15)[None], np.array([1]))]
    t = agreement_table([a, b], shape=(40, 40))
    assert t["all"] == pytest.approx(50 / 150) and t["Bright"] == pytest.approx(50 / 150)
    assert np.isnan(t["Rays"])


def test_ccd_f1_bootstrap_matches_pooled_f1_and_brackets_it():
    from desghost.evaluation.metrics import ccd_f1_bootstrap
    preds = [{1, 2}, {3}, set(), {4, 5}]
    truth_a = [{1}, {3}, {6}, {4, 5}]
    truth_b = [{1, 2}, set(), {6}, {4}]
    out = ccd_f1_bootstrap(preds, [truth_a, truth_b], n_resamples=500, seed=1)
    expected = np.mean([ccd_level_scores(preds, t)["f1"] for t in (truth_a, truth_b)])
    assert out["f1"] == pytest.approx(expected)
    assert out["low"] < out["f1"] < out["high"] and out["n_images"] == 4
    same = ccd_f1_bootstrap(preds, [truth_a, truth_b], n_resamples=500, seed=1)
    assert same == out  # seeded
    perfect = ccd_f1_bootstrap([{1}, {2}], [[{1}, {2}]], n_resamples=50)
    assert perfect["low"] == perfect["high"] == perfect["f1"] == 1.0
