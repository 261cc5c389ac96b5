"""Detection quality the paper's way and COCO's way, at pixel, instance, CCD and exposure level.

All functions are pure: masks are boolean arrays, CCD membership comes from the layout's
400x400 CCD index image (:func:`desghost.focalplane.assembly.ccd_map`).
"""
import numpy as np

from desghost.agreement import precision_recall_f1
from desghost.classes import ARTIFACT_IDS, CLASS_IDS
from desghost.mask_geometry import mask_iou

__all__ = ["agreement_fraction", "ccd_f1_bootstrap", "CLASS_GROUPS", "coco_ap", "exposure_confusion", "paper_ap"]

CLASS_GROUPS = {"all": ARTIFACT_IDS, "rays+bright": (CLASS_IDS["Bright"], CLASS_IDS["Rays"])}


# -- CCD level ------------------------------------------------------------------------------------
def ccd_f1_bootstrap(pred_sets, true_sets_by_annotator, n_resamples=2000, level=0.95, seed=0):
    """Interval of the CCD-level F1 (mean over annotators) when the images are resampled.

    Images are drawn with replacement (a percentile bootstrap); each resample's F1 is the
    micro-averaged F1 of :func:`ccd_level_scores` per annotator, then averaged over annotators
    (annotators with nothing at all in a resample are left out of that mean).

    Parameters
    ----------
    pred_sets : list of set
        Predicted CCDNUMs, one set per image.
    true_sets_by_annotator : list (per annotator) of list (per image) of set
    n_resamples : int
    level : float
        Central coverage of the returned interval.
    seed : int

    Returns
    -------
    dict
        ``f1`` (on the images as given), ``low`` and ``high`` (the interval), ``level`` and
        ``n_images``.
    """
    n = len(pred_sets)
    counts = np.array([[(len(p & t), len(p - t), len(t - p)) for p, t in zip(pred_sets, truth)]
                       for truth in true_sets_by_annotator], dtype=float).reshape(-1, n, 3)

    def mean_f1(sums):  # sums: (annotators, ..., 3)
        tp, fp, fn = sums[..., 0], sums[..., 1], sums[..., 2]
        denom = 2 * tp + fp + fn
        f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), np.nan)
        defined = np.isfinite(f1)
        return np.where(defined, f1, 0).sum(axis=0) / np.maximum(defined.sum(axis=0), 1)

    full = float(mean_f1(counts.sum(axis=1)))
    if n == 0:
        return {"f1": full, "low": float("nan"), "high": float("nan"), "level": level, "n_images": 0}
    idx = np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))
    resampled = mean_f1(counts[:, idx].sum(axis=2))  # (n_resamples,)
    tail = 100 * (1 - level) / 2
    low, high = np.nanpercentile(resampled, [tail, 100 - tail])
    return {"f1": full, "low": float(low), "high": float(high), "level": level, "n_images": n}


def exposure_confusion(pred_counts, true_counts):
    """Ghost-vs-clean at the exposure level: an image has a ghost when it has >= 1 instance."""
    pred = np.asarray(pred_counts) > 0
    true = np.asarray(true_counts) > 0
    tp, fp = int(np.sum(pred & true)), int(np.sum(pred & ~true))
    fn, tn = int(np.sum(~pred & true)), int(np.sum(~pred & ~true))
    out = precision_recall_f1(tp, fp, fn)
    out.update(tn=tn, accuracy=(tp + tn) / max(len(pred), 1))
    return out


# -- instance level -----------------------------------------------------------------------------
def paper_ap(gt_masks, gt_labels, pred_masks, pred_labels, pred_scores, iou_threshold=0.5):
    """Average precision of one image the DeepGhostBusters way (matterport's compute_ap).

    Predictions (already cut at the detection threshold) are matched greedily by score to the
    unmatched ground-truth instance of the same class with the highest mask IoU above the
    threshold; AP is the area under the interpolated precision-recall curve.  Returns NaN
    for an image without ground truth.
    """
    if len(gt_masks) == 0:
        return float("nan")
    order = np.argsort(-np.asarray(pred_scores))
    pred_masks, pred_labels = pred_masks[order], np.asarray(pred_labels)[order]
    ious = mask_iou(pred_masks, gt_masks)
    matched_gt = np.zeros(len(gt_masks), dtype=bool)
    pred_match = np.zeros(len(pred_masks), dtype=bool)
    for i in range(len(pred_masks)):
        for j in np.argsort(-ious[i]):
            if ious[i, j] < iou_threshold:
                break
            if not matched_gt[j] and gt_labels[j] == pred_labels[i]:
                matched_gt[j] = pred_match[i] = True
                break
    tp = np.cumsum(pred_match)
    precisions = np.concatenate([[0], tp / (np.arange(len(pred_match)) + 1), [0]])
    recalls = np.concatenate([[0], tp / len(gt_masks), [1]])
    for i in range(len(precisions) - 2, -1, -1):
        precisions[i] = max(precisions[i], precisions[i + 1])
    idx = np.flatnonzero(recalls[:-1] != recalls[1:]) + 1
    return float(np.sum((recalls[idx] - recalls[idx - 1]) * precisions[idx]))


def coco_ap(gts, preds, class_ids=ARTIFACT_IDS):
    """COCO segmentation AP with pycocotools.

    Parameters
    ----------
    gts : list of (masks, labels)
    preds : list of (masks, labels, scores)

    Returns
    -------
    dict
        ``{"AP50": ..., "AP75": ..., "AP": ..., "per_class": {id: {"AP50", "AP75"}}}``.
    """
    import contextlib
    import io

    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, anns, dets = [], [], []
    for i, ((gm, gl), (pm, pl, ps)) in enumerate(zip(gts, preds)):
        h, w = (gm.shape[1:] if len(gm) else pm.shape[1:]) if (len(gm) or len(pm)) else (400, 400)
        images.append({"id": i, "width": int(w), "height": int(h)})
        for m, lab in zip(gm, gl):
            rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
            rle["counts"] = rle["counts"].decode()
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": int(lab), "segmentation": rle,
                         "area": float(m.sum()), "bbox": list(mask_utils.toBbox(rle)), "iscrowd": 0})
        for m, lab, sc in zip(pm, pl, ps):
            rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
            rle["counts"] = rle["counts"].decode()
            dets.append({"image_id": i, "category_id": int(lab), "segmentation": rle, "score": float(sc)})
    cats = [{"id": c, "name": str(c)} for c in class_ids]
    gt = COCO()
    gt.dataset = {"images": images, "annotations": anns, "categories": cats}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
    if not dets:  # no detection at all: AP 0 where there is truth, NaN where there is none
        present = {int(a["category_id"]) for a in anns}
        empty = {c: (0.0 if c in present else float("nan")) for c in class_ids}
        overall = 0.0 if present & set(class_ids) else float("nan")
        return {"AP50": overall, "AP75": overall, "AP": overall,
                "per_class": {c: {"AP50": empty[c], "AP75": empty[c]} for c in class_ids}}

    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes([dict(d) for d in dets])  # loadRes adds keys to what it is given
        ev = COCOeval(gt, dt, "segm")
        ev.params.catIds = list(class_ids)
        ev.params.maxDets = [1, 10, 100]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()

    def clean(v):
        return float(v) if v >= 0 else float("nan")

    # precision[T, R, K, A, M]: IoU threshold, recall, class, area range, max detections; -1
    # where a class has no ground truth.  A class's AP is the same slice COCOeval.summarize
    # averages for all classes together (area "all", 100 detections).
    precision = ev.eval["precision"]
    iou_index = {iou: int(np.argmin(np.abs(ev.params.iouThrs - iou))) for iou in (0.5, 0.75)}

    def class_ap(k, iou):
        p = precision[iou_index[iou], :, k, 0, -1]
        return float(np.mean(p[p > -1])) if np.any(p > -1) else float("nan")

    stats = ev.stats  # [AP, AP50, AP75, ...]
    out = {"AP": clean(stats[0]), "AP50": clean(stats[1]), "AP75": clean(stats[2]), "per_class": {}}
    for k, c in enumerate(ev.params.catIds):
        out["per_class"][int(c)] = {"AP50": class_ap(k, 0.5), "AP75": class_ap(k, 0.75)}
    return out


# -- annotators ---------------------------------------------------------------------------------
def agreement_fraction(masks_per_annotator):
    """Pixels marked by every annotator as a fraction of the pixels marked by any.

    Parameters
    ----------
    masks_per_annotator : list of ndarray of bool, shape (H, W)
        One union mask per annotator (for one image and one class, or all classes).

    Returns
    -------
    tuple of int
        ``(n_all, n_any)``: sum them over images and divide for the paper's number.
    """
    stack = np.stack(masks_per_annotator)
    return int(np.all(stack, axis=0).sum()), int(np.any(stack, axis=0).sum())
