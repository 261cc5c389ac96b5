"""The research diagnostics (research/diagnostics.py): scans, completeness, miss reasons."""
import numpy as np

from research.diagnostics import (
    ccd_coverage_by_value,
    completeness_by_edge_step,
    cut_predictions,
    held_out_real_names,
    instance_widths_px,
    miss_reasons,
    threshold_scan,
)


def test_threshold_scan_trades_recall_for_precision():
    m = np.zeros((2, 400, 400), dtype=bool)
    m[0, 180:220, 180:220] = True   # right
    m[1, 10:30, 190:210] = True     # a false positive on another CCD, low score
    gts = [(m[:1], np.array([1]))]
    preds = [(m, np.array([1, 1]), np.array([0.9, 0.3]))]
    scan = {r["threshold"]: r for r in threshold_scan(preds, gts, thresholds=(0.2, 0.5))}
    assert scan[0.5]["ccd_precision"] == 1.0 and scan[0.2]["ccd_precision"] < 1.0
    assert scan[0.5]["ccd_recall"] == scan[0.2]["ccd_recall"] == 1.0


def test_held_out_real_names_leaves_out_what_the_model_trained_on():
    names = [f"img{i:02d}.jpg" for i in range(12)]
    recorded = {"training": {"train_config": {"real_fraction": 0.35}, "real_images_trained": ["img03.jpg"]}}
    kept, note = held_out_real_names(names, recorded)  # a complete record decides alone
    assert kept == [n for n in names if n != "img03.jpg"] and note == ""
    old = {"training": {"train_config": {"real_fraction": 0.35}}}  # predates the record
    kept, note = held_out_real_names(names, old)
    assert kept == names[10:] and "assuming the first 10" in note
    kept, note = held_out_real_names(names, recorded, held_out_after=2)
    assert kept == [n for n in names[2:] if n != "img03.jpg"] and note == ""


def test_cut_predictions_keeps_instances_at_or_above_the_threshold():
    masks = np.zeros((3, 4, 4), dtype=bool)
    masks[1, 0, 0] = True
    ((m, lab, sc), (m2, lab2, sc2)) = cut_predictions(
        [(masks, np.array([1, 2, 3]), np.array([0.1, 0.5, 0.7])), (masks[:0], np.zeros(0, int), np.zeros(0))], 0.5)
    assert lab.tolist() == [2, 3] and sc.tolist() == [0.5, 0.7] and m[0, 0, 0] and not m[1].any()
    assert len(m2) == len(lab2) == len(sc2) == 0


def test_completeness_counts_an_instance_found_by_a_prediction_of_its_class_at_iou_half():
    def box(r0, r1, c0, c1):
        m = np.zeros((20, 20), dtype=bool)
        m[r0:r1, c0:c1] = True
        return m
    gt_masks = np.stack([box(0, 10, 0, 10), box(0, 10, 10, 20), box(10, 20, 0, 10), box(10, 20, 10, 20)])
    gt_labels = np.array([1, 1, 2, 2])
    steps = np.array([0.1, 3.0, 3.0, np.nan])  # the last one has no measurable edge: left out
    pred_masks = np.stack([box(0, 10, 0, 6),     # IoU 0.6 with the first Bright: found
                           box(0, 10, 10, 14),   # IoU 0.4 with the second: not found
                           box(10, 20, 0, 10)])  # right place, wrong class for the Faint: not found
    preds = [(pred_masks, np.array([1, 1, 1]), np.array([0.9, 0.8, 0.7]))]
    table = completeness_by_edge_step([(gt_masks, gt_labels)], preds, [steps], bins=(-np.inf, 1.0, np.inf))
    assert table[1] == [(-np.inf, 1.0, 1, 1.0), (1.0, np.inf, 1, 0.0)]
    assert table[2][1] == (1.0, np.inf, 1, 0.0) and table[2][0][2] == 0 and np.isnan(table[2][0][3])
    assert table[3][0][2] == table[3][1][2] == 0


def test_miss_reasons_gives_each_missed_instance_the_first_reason_that_applies():
    def box(r0, r1, c0, c1):
        m = np.zeros((20, 20), dtype=bool)
        m[r0:r1, c0:c1] = True
        return m
    gt_masks = np.stack([box(0, 10, 0, 10),     # found
                         box(0, 10, 10, 20),    # Faint there, above threshold: other class
                         box(10, 20, 0, 10),    # right class only at 0.2: below threshold
                         box(10, 20, 10, 20),   # right class at 0.9 but IoU 0.3: poor outline
                         box(5, 15, 5, 15)])    # too faint to count (step 0.5 < 2)
    gt_labels = np.array([1, 1, 1, 1, 1])
    steps = [np.array([3.0, 3.0, 3.0, 3.0, 0.5])]
    pred_masks = np.stack([box(0, 10, 0, 10), box(0, 10, 10, 20), box(10, 20, 0, 10), box(10, 13, 10, 20)])
    preds = [(pred_masks, np.array([1, 2, 1, 1]), np.array([0.9, 0.9, 0.2, 0.9]))]
    out = miss_reasons([(gt_masks, gt_labels)], preds, 0.5, steps, min_step=2.0)
    assert out[1] == {"instances": 4, "found": 1, "other class": 1, "below threshold": 1, "poor outline": 1,
                      "not found": 0}
    everything = miss_reasons([(gt_masks, gt_labels)], preds, 0.5)
    assert everything[1]["instances"] == 5 and everything[1]["poor outline"] == 2  # the fifth: IoU 0.14 with the first
    assert everything[2]["instances"] == 0
    # at a threshold below every score the third instance is found
    assert miss_reasons([(gt_masks, gt_labels)], preds, 0.1, steps, min_step=2.0)[1]["found"] == 2


def test_rays_width_and_ccd_coverage_on_a_hand_made_case():
    ccd_index = np.zeros((40, 40), int)
    ccd_index[:, :20], ccd_index[:, 20:] = 1, 2          # two CCDs side by side
    thin = np.zeros((40, 40), bool)
    thin[5:7, 2:38] = True                                # 2 px wide, across both CCDs
    wide = np.zeros((40, 40), bool)
    wide[20:32, 2:38] = True                              # 12 px wide, across both
    widths = instance_widths_px(np.array([thin, wide]))
    # the equivalent ellipse of a w-wide bar: minor axis 4 sqrt(var) = w 4/sqrt(12) in the continuum
    assert 1.8 < widths[0] < 3.0 and 12.0 < widths[1] < 14.5
    found = np.zeros((1, 40, 40), bool)
    found[0, 22:30, 25:35] = True                         # one detection, on CCD 2 only
    gts = [(np.array([thin, wide]), np.array([3, 3]))]
    preds = [(found, np.array([2]), np.array([0.9]))]     # any class covers a CCD
    table = ccd_coverage_by_value(gts, preds, [widths], ccd_index, (0.0, 6.0, 20.0), class_id=3)
    # each ray touches 2 CCDs; CCD 2 is flagged, so each bin has half its CCDs covered
    assert table == [(0.0, 6.0, 2, 0.5), (6.0, 20.0, 2, 0.5)]
    assert ccd_coverage_by_value(gts, preds, [widths], ccd_index, (0.0, 6.0, 20.0), class_id=1)[0][2] == 0
