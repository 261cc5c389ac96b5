"""Diagnostics of a detector beyond the headline metrics: threshold scans, completeness, miss reasons.

Research code used by ``tools/`` and ``benchmarks/`` (not installed with desghost).
"""
import numpy as np

from desghost.classes import ARTIFACT_IDS
from desghost.detection.model import trained_real_images
from desghost.evaluation.evaluate import score_predictions
from desghost.focalplane.annotated_set import real_split
from desghost.mask_geometry import ccds_touched, mask_iou


def held_out_real_names(names, metadata, held_out_after=None, assumed_trained=10):
    """The annotated real images a model never trained on, and a note on how that was decided.

    Parameters
    ----------
    names : iterable of str
        The annotated images available.
    metadata : dict
        The model file's metadata (its training records, see
        :func:`desghost.detection.model.trained_real_images`).
    held_out_after : int, optional
        Also leave out the first N names in sorted order (:func:`desghost.training.dataset.real_split`);
        default: none when the model's record is complete, else ``assumed_trained``.

    Returns
    -------
    (list of str, str)
        The sorted names to score, and a note ("" when the record settled it alone).
    """
    recorded, complete = trained_real_images(metadata)
    skip = held_out_after if held_out_after is not None else (0 if complete else assumed_trained)
    kept = [n for n in real_split(names, skip)[1] if n not in recorded]
    note = "" if complete or held_out_after is not None else (
        f"the model's training records do not list its real training images: assuming the first {skip}")
    return kept, note


def cut_predictions(preds, threshold):
    """Predictions ``(masks, labels, scores)`` per image, keeping the instances scored >= ``threshold``."""
    return [(m[s >= threshold], lab[s >= threshold], s[s >= threshold]) for m, lab, s in preds]


def threshold_scan(preds_low, gts, thresholds=(0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9), ccd_index=None):
    """Metrics at several score thresholds from one low-threshold prediction run.

    Parameters
    ----------
    preds_low : list of (masks, labels, scores)
        Predictions cut at a threshold at or below the lowest one scanned.

    Returns
    -------
    list of dict
        ``{"threshold", "AP50_paper", "AP50_coco", "ccd_f1", "ccd_precision", "ccd_recall"}`` each.
    """
    out = []
    for thr in thresholds:
        sc = score_predictions(gts, cut_predictions(preds_low, thr), ccd_index)
        ccd = sc["ccd"]["all"]["0%"]
        out.append({"threshold": thr, "AP50_paper": sc["paper_ap"]["AP50"], "AP50_coco": sc["coco"]["AP50"],
                    "ccd_f1": ccd["f1"], "ccd_precision": ccd["precision"], "ccd_recall": ccd["recall"]})
    return out


#: Edges of the edge-step bins (noise units) of :func:`completeness_by_edge_step`.
EDGE_STEP_BINS = (-np.inf, 0.25, 0.5, 1.0, 2.0, np.inf)


def completeness_by_edge_step(gts, preds, steps, bins=EDGE_STEP_BINS, iou_threshold=0.5, class_ids=ARTIFACT_IDS):
    """Share of true instances found, by class and by how visible their outline is.

    An instance counts as found when a prediction of its class overlaps it with mask IoU at or
    above ``iou_threshold`` (no one-to-one matching: this is completeness, not AP).  Its
    visibility is the step across its edge (:func:`research.imagestats.edge_steps`); instances
    where that is undefined (NaN) are left out.

    Parameters
    ----------
    gts : list of (masks, labels)
    preds : list of (masks, labels, scores)
        Already cut at the detection threshold.
    steps : list of ndarray
        The edge step of each true instance, per image, noise units.
    bins : sequence of float
        Bin edges.

    Returns
    -------
    dict
        ``{class_id: [(low, high, n_instances, completeness), ...]}``, completeness NaN in empty bins.
    """
    found, step, cls = [], [], []
    for (gm, gl), (pm, pl, _), st in zip(gts, preds, steps):
        if not len(gm):
            continue
        iou = mask_iou(gm, pm) if len(pm) else np.zeros((len(gm), 0))  # once per image
        same_class = np.asarray(gl)[:, None] == np.asarray(pl)[None, :]
        found.extend(((iou >= iou_threshold) & same_class).any(axis=1))
        step.extend(st)
        cls.extend(int(c) for c in gl)
    found, step, cls = np.array(found, bool), np.array(step, float), np.array(cls, int)
    out = {}
    for c in class_ids:
        rows = []
        for lo, hi in zip(bins[:-1], bins[1:]):
            sel = (cls == c) & (step >= lo) & (step < hi)
            rows.append((float(lo), float(hi), int(sel.sum()), float(found[sel].mean()) if sel.any() else float("nan")))
        out[c] = rows
    return out


#: Reasons of :func:`miss_reasons`, in the order they are tested.
#: Edges of the width bins of the Rays study (image pixels of the 400x400 focal-plane image).
RAYS_WIDTH_BINS_PX = (0.0, 3.0, 6.0, 10.0, 20.0, np.inf)


def instance_widths_px(masks):
    """Width of each instance: the minor axis of its equivalent ellipse, image pixels.

    Parameters
    ----------
    masks : ndarray of bool, shape (N, H, W)

    Returns
    -------
    ndarray of float, shape (N,)
        ``skimage.measure.regionprops``' ``axis_minor_length`` (4 times the square root of the
        smaller eigenvalue of the pixels' coordinate covariance); NaN for an empty mask.
    """
    from skimage.measure import regionprops

    out = np.full(len(masks), np.nan)
    for k, m in enumerate(masks):
        props = regionprops(np.asarray(m, dtype=np.uint8))
        if props:
            out[k] = props[0].axis_minor_length
    return out


def ccd_coverage_by_value(gts, preds, values, ccd_index, bins, class_id):
    """Share of a class's CCDs that some detection (of any class) covers, by a per-instance value.

    This is what the exclusion table sees: a thin ray whose outline is poor still costs
    nothing if its CCDs are flagged.

    Parameters
    ----------
    gts : list of (masks, labels)
    preds : list of (masks, labels, scores)
        Already cut at the detection threshold.
    values : list of ndarray
        One value per true instance, per image (for example :func:`instance_widths_px`).
    ccd_index : ndarray of int, shape (H, W)
        CCDNUM per pixel, 0 in gaps.
    bins : sequence of float
    class_id : int

    Returns
    -------
    list of (float, float, int, float)
        ``(low, high, CCDs of the class's instances in the bin, share covered)`` per bin;
        the share is NaN in an empty bin.
    """
    total = np.zeros(len(bins) - 1, int)
    covered = np.zeros(len(bins) - 1, int)
    for (gm, gl), (pm, _, _), vals in zip(gts, preds, values):
        flagged = ccds_touched(pm, ccd_index)
        for m, lab, v in zip(gm, gl, vals):
            k = np.searchsorted(bins, v, side="right") - 1
            if int(lab) != class_id or not 0 <= k < len(total):
                continue
            mine = ccds_touched(m[None], ccd_index)
            total[k] += len(mine)
            covered[k] += len(mine & flagged)
    return [(float(lo), float(hi), int(n), float(c / n) if n else float("nan"))
            for lo, hi, n, c in zip(bins[:-1], bins[1:], total, covered)]


MISS_REASONS = ("other class", "below threshold", "poor outline", "not found")


def miss_reasons(gts, preds_low, threshold, steps=None, min_step=-np.inf, iou_threshold=0.5, outline_iou=0.1,
                 class_ids=ARTIFACT_IDS):
    """Why true instances are missed at a score threshold.

    An instance is found when a prediction of its class scored at or above ``threshold``
    overlaps it with mask IoU >= ``iou_threshold`` (as in :func:`completeness_by_edge_step`).
    Each missed instance gets the first reason that applies:

    1. ``other class``: a prediction of another class at the threshold has IoU >= ``iou_threshold``;
    2. ``below threshold``: a prediction of its class with that IoU exists, scored below the threshold;
    3. ``poor outline``: its best prediction of its class at the threshold has IoU >= ``outline_iou``
       (a box or mask too large, too small or shifted);
    4. ``not found``: none of these.

    Parameters
    ----------
    gts : list of (masks, labels)
    preds_low : list of (masks, labels, scores)
        Predictions at a threshold at or below ``threshold``.
    threshold : float
        The detection threshold being examined.
    steps : list of ndarray, optional
        The edge step of each true instance per image (noise units); with ``min_step``, keeps
        only instances at least that visible (NaN steps are left out).
    min_step : float
        The least edge step (noise units) of the instances counted; used only with ``steps``.
    iou_threshold : float
        Mask IoU at which a prediction matches an instance.
    outline_iou : float
        Least IoU of a same-class prediction for a miss to count as a ``poor outline``.
    class_ids : tuple of int
        Classes reported.

    Returns
    -------
    dict
        ``{class_id: {"instances": n, "found": n, reason: n, ...}}``.
    """
    out = {c: dict({"instances": 0, "found": 0}, **{r: 0 for r in MISS_REASONS}) for c in class_ids}
    for k, ((gm, gl), (pm, pl, ps)) in enumerate(zip(gts, preds_low)):
        if not len(gm):
            continue
        gl, pl, ps = np.asarray(gl), np.asarray(pl), np.asarray(ps)
        iou = mask_iou(gm, pm) if len(pm) else np.zeros((len(gm), 0))
        kept = ps >= threshold
        for i, c in enumerate(gl):
            c = int(c)
            if c not in out or (steps is not None and not steps[k][i] >= min_step):
                continue
            row = out[c]
            row["instances"] += 1
            same, hit = pl == c, iou[i] >= iou_threshold
            if (same & kept & hit).any():
                row["found"] += 1
            elif (~same & kept & hit).any():
                row["other class"] += 1
            elif (same & hit).any():
                row["below threshold"] += 1
            elif (same & kept).any() and iou[i][same & kept].max() >= outline_iou:
                row["poor outline"] += 1
            else:
                row["not found"] += 1
    return out
