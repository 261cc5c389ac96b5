"""Choosing inference settings (views, score threshold, overlap suppression) on annotated images.

The detector is run once per number of test-time views at a low threshold; every setting is
then scored by cutting those detections, so a scan costs one detection pass per view count.
:func:`cross_fitted` measures the whole "choose on some images, apply to others" procedure
honestly: the held-out images are split into folds, settings are chosen on the other folds
and applied to each fold, so no image is scored with settings chosen on it.
"""
import numpy as np

from desghost.detection.detect import suppress_overlaps
from desghost.evaluation.evaluate import as_predictions, evaluate_against_annotators

THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)


def cut(found, threshold, overlap_iou=0.0, image_shape=(400, 400)):
    """Detections (lists of Instance per image) as ``(masks, labels, scores)`` above ``threshold``."""
    return as_predictions([suppress_overlaps([i for i in inst if i.score >= threshold], overlap_iou)
                           for inst in found], image_shape)


def _headline(model_mean):
    return {"ccd_f1": model_mean["ccd"]["all"]["0%"]["f1"], "AP50": model_mean["paper_ap"]["AP50"]}


def scan(found_by_views, per_annotator, thresholds=THRESHOLDS, overlaps=(0.0,)):
    """Score every (views, threshold, overlap) setting on annotated images.

    Parameters
    ----------
    found_by_views : dict
        ``{n_views: list (per image) of list of Instance}``, detected at a threshold at or
        below ``min(thresholds)``.
    per_annotator : list (per annotator) of list (per image) of (masks, labels)

    Returns
    -------
    list of dict
        One row per setting: ``tta_views``, ``threshold``, ``overlap_iou``, ``ccd_f1`` and
        ``AP50`` (CCD-level F1 at 0%, all classes, and paper-way AP@0.5; means over annotators).
    """
    rows = []
    for views, found in sorted(found_by_views.items()):
        for thr in thresholds:
            for ov in overlaps:
                res = evaluate_against_annotators(cut(found, thr, ov), per_annotator, with_humans=False,
                                                  with_interval=False)
                rows.append({"tta_views": views, "threshold": thr, "overlap_iou": ov, **_headline(res["model_mean"])})
    return rows


def choose(rows):
    """The best row: max CCD-level F1 (to 0.001), then AP@0.5 (to 0.01), then fewer views, then no suppression."""
    return max(rows, key=lambda r: (round(float(np.nan_to_num(r["ccd_f1"])), 3),
                                    round(float(np.nan_to_num(r["AP50"])), 2), -r["tta_views"], -r["overlap_iou"]))


def _subset(seq, idx):
    return [seq[i] for i in idx]


def cross_fitted(found_by_views, per_annotator, n_folds=2, thresholds=THRESHOLDS, overlaps=(0.0,)):
    """Predictions for every image, each cut with settings chosen on the other folds.

    Images are assigned to folds in turn (image i to fold ``i % n_folds``).

    Returns
    -------
    preds : list of (masks, labels, scores)
        One per image, in the input order.
    chosen : list of dict
        The setting chosen for each fold (``choose`` on the other folds' images).
    """
    n = len(next(iter(found_by_views.values())))
    if n < n_folds:
        raise ValueError(f"cross-fitting needs at least {n_folds} images, got {n}")
    preds, chosen = [None] * n, []
    for fold in range(n_folds):
        mine = [i for i in range(n) if i % n_folds == fold]
        rest = [i for i in range(n) if i % n_folds != fold]
        best = choose(scan({v: _subset(f, rest) for v, f in found_by_views.items()},
                           [_subset(a, rest) for a in per_annotator], thresholds, overlaps))
        chosen.append({"fold": fold, "images": mine, **best})
        fold_preds = cut(_subset(found_by_views[best["tta_views"]], mine), best["threshold"], best["overlap_iou"])
        for i, p in zip(mine, fold_preds):
            preds[i] = p
    return preds, chosen
