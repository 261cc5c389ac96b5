"""Evaluation runs: predictions against one or several annotators, the paper's metrics and more."""
import time

import numpy as np

from .focalplane import ccd_map
from .layout import load_layout
from .metrics import (CLASS_GROUPS, ccd_f1_bootstrap, ccd_level_scores, ccds_touched, coco_ap, exposure_confusion,
                      paper_ap)

AREA_THRESHOLDS = (0.0, 0.05, 0.10, 0.20)


def _select(masks, labels, classes):
    keep = np.isin(labels, classes)
    return masks[keep], labels[keep]


def score_predictions(gts, preds, ccd_index=None, iou_thresholds=(0.5, 0.75)):
    """All metrics of predictions against one set of ground truth.

    Parameters
    ----------
    gts : list of (masks, labels)
    preds : list of (masks, labels, scores)
        Already cut at the detection threshold.
    ccd_index : ndarray, optional
        The layout's CCD index image (default: DECam's).

    Returns
    -------
    dict
        ``paper_ap`` (mean per-image AP at each IoU, images with ground truth only), ``coco``
        (pycocotools segm AP, per class), ``ccd`` (precision/recall/F1 per class group and
        area threshold), ``exposure`` (ghost-vs-clean confusion).
    """
    if ccd_index is None:
        ccd_index = ccd_map(load_layout())[0]
    area = np.bincount(ccd_index.ravel())
    out = {"n_images": len(gts), "paper_ap": {}, "ccd": {}}
    for thr in iou_thresholds:
        aps = [paper_ap(gm, gl, pm, pl, ps, thr) for (gm, gl), (pm, pl, ps) in zip(gts, preds)]
        aps = [a for a in aps if np.isfinite(a)]
        out["paper_ap"][f"AP{int(thr * 100)}"] = float(np.mean(aps)) if aps else float("nan")
    out["coco"] = coco_ap(gts, preds)
    for group, classes in CLASS_GROUPS.items():
        out["ccd"][group] = {}
        for frac in AREA_THRESHOLDS:
            true_sets = [ccds_touched(_select(gm, gl, classes)[0], ccd_index, frac, area) for gm, gl in gts]
            pred_sets = [ccds_touched(_select(pm, pl, classes)[0], ccd_index, frac, area) for pm, pl, _ in preds]
            out["ccd"][group][f"{int(frac * 100)}%"] = ccd_level_scores(pred_sets, true_sets)
    out["exposure"] = exposure_confusion([len(p[0]) for p in preds], [len(g[0]) for g in gts])
    return out


def as_predictions(found, image_shape=(400, 400)):
    """Lists of Instance per image as ``(masks, labels, scores)`` per image, the metrics' input."""
    preds = []
    for inst in found:
        if inst:
            preds.append((np.stack([i.mask for i in inst]), np.array([i.class_id for i in inst]),
                          np.array([i.score for i in inst])))
        else:
            preds.append((np.zeros((0, *image_shape), dtype=bool), np.zeros(0, dtype=int), np.zeros(0)))
    return preds


def predict(images, model, threshold=None, batch_size=4):
    """Run the detector; returns ``(preds, seconds_per_image)`` with preds as (masks, labels, scores)."""
    from .detect import detect_images
    t0 = time.perf_counter()
    found = detect_images(images, model, threshold=threshold, batch_size=batch_size)
    dt = (time.perf_counter() - t0) / max(len(images), 1)
    return as_predictions(found), dt


TEST_SEED = 12345  # the reported synthetic test set (bench_detector, ``desghost evaluate --synthetic``)
VALIDATION_SEED = 777  # validation during training and threshold scans: never the test images


def held_out_real_names(names, metadata, held_out_after=None, assumed_trained=10):
    """The annotated real images a model never trained on, and a note on how that was decided.

    Parameters
    ----------
    names : iterable of str
        The annotated images available.
    metadata : dict
        The model file's metadata (its training records, see
        :func:`desghost.model.trained_real_images`).
    held_out_after : int, optional
        Also leave out the first N names in sorted order (:func:`desghost.dataset.real_split`);
        default: none when the model's record is complete, else ``assumed_trained``.

    Returns
    -------
    (list of str, str)
        The sorted names to score, and a note ("" when the record settled it alone).
    """
    from .dataset import real_split
    from .model import trained_real_images
    recorded, complete = trained_real_images(metadata)
    skip = held_out_after if held_out_after is not None else (0 if complete else assumed_trained)
    kept = [n for n in real_split(names, skip)[1] if n not in recorded]
    note = "" if complete or held_out_after is not None else (
        f"the model's training records do not list its real training images: assuming the first {skip}")
    return kept, note


def synthetic_test_set(n=24, seed=TEST_SEED):
    """Held-out synthetic images (never produced by a training stream, which uses other seeds)."""
    from .simulate.training import render_training_image
    images, gts = [], []
    for i in range(n):
        rng = np.random.default_rng([seed, 99991, i])
        t = render_training_image(rng, n_artifacts=None if i % 6 else 0, expnum=int(rng.choice([300000, 700000])),
                                  jpeg_quality=75)
        images.append(t.image)
        gts.append((t.masks, t.labels))
    return images, gts


def headline(scores):
    """The few numbers worth printing during training."""
    return {"AP50_paper": round(scores["paper_ap"]["AP50"], 3), "AP50_coco": round(scores["coco"]["AP50"], 3),
            "ccd_f1": round(scores["ccd"]["all"]["0%"]["f1"], 3),
            "exposure_accuracy": round(scores["exposure"]["accuracy"], 3)}


def synthetic_validator(n=24, seed=VALIDATION_SEED, threshold=None):
    """A ``validate(model)`` callable for :func:`desghost.train.train` on a fixed synthetic set.

    Its images come from ``VALIDATION_SEED``, not from the reported test set's ``TEST_SEED``, so
    what is watched (or used to pick a checkpoint) during training is never what is reported.
    """
    images, gts = synthetic_test_set(n, seed)
    layout_index = ccd_map(load_layout())[0]

    def validate(torch_model):
        from .model import LoadedModel, ModelConfig
        cfg = getattr(torch_model, "_desghost_config", None) or ModelConfig()
        lm = LoadedModel(model=torch_model, config=cfg, device=str(next(torch_model.parameters()).device))
        preds, _ = predict(images, lm, threshold=threshold)
        return headline(score_predictions(gts, preds, layout_index))

    return validate


def _mean_scores(score_dicts):
    """Element-wise mean of nested metric dicts (NaN-aware); counts (tp, fp, fn) are averaged too."""
    first = score_dicts[0]
    if isinstance(first, dict):
        return {k: _mean_scores([d[k] for d in score_dicts]) for k in first}
    vals = np.array([np.nan if v is None else v for v in score_dicts], dtype=float)
    return float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")


def evaluate_against_annotators(preds, annotations, ccd_index=None, with_humans=True, with_interval=True):
    """Score predictions against each annotator, and each annotator against the others.

    Parameters
    ----------
    preds : list of (masks, labels, scores)
    annotations : list (per annotator) of list (per image) of (masks, labels)
    with_humans : bool
        Also score each annotator against the others (the human ceiling); False skips it
        (``human_vs_others`` is then empty and ``human_mean`` None).
    with_interval : bool
        Also bootstrap the model's CCD-level F1 over the images (setting scans, which call
        this many times, turn it off).

    Returns
    -------
    dict
        ``model_vs_annotator`` (one score dict per annotator), ``model_mean``,
        ``human_vs_others`` (per annotator: mean over the other annotators as truth),
        ``human_mean`` (the ceiling), and with ``with_interval`` also ``model_ccd_f1_interval``:
        the 95% bootstrap interval over images of the model's CCD-level F1 (0%, all classes,
        mean over annotators; :func:`desghost.metrics.ccd_f1_bootstrap`).
    """
    per_annotator = [score_predictions(gts, preds, ccd_index) for gts in annotations]
    humans = []
    for k, mine in enumerate(annotations if with_humans else []):
        as_pred = [(m, lab, np.ones(len(lab))) for m, lab in mine]
        others = [score_predictions(gts, as_pred, ccd_index) for j, gts in enumerate(annotations) if j != k]
        humans.append(_mean_scores(others) if others else None)
    humans = [h for h in humans if h is not None]
    out = {"model_vs_annotator": per_annotator, "model_mean": _mean_scores(per_annotator),
           "human_vs_others": humans, "human_mean": _mean_scores(humans) if humans else None}
    if with_interval:
        index = ccd_map(load_layout())[0] if ccd_index is None else ccd_index
        pred_sets = [ccds_touched(pm, index) for pm, _, _ in preds]
        true_sets = [[ccds_touched(gm, index) for gm, _ in gts] for gts in annotations]
        out["model_ccd_f1_interval"] = ccd_f1_bootstrap(pred_sets, true_sets)
    return out


def agreement_table(annotations, shape=(400, 400)):
    """The paper's annotator agreement: pixels marked by all / pixels marked by any.

    Parameters
    ----------
    annotations : list (per annotator) of list (per image) of (masks, labels)

    Returns
    -------
    dict
        ``{"all": fraction, "Bright": ..., "Faint": ..., "Rays": ..., "n_images": N}``.
    """
    from .annotations import CLASS_NAMES
    from .metrics import agreement_fraction
    out = {"n_images": len(annotations[0]) if annotations else 0}
    groups = {"all": (1, 2, 3), **{CLASS_NAMES[c]: (c,) for c in (1, 2, 3)}}
    for name, classes in groups.items():
        n_all = n_any = 0
        for i in range(out["n_images"]):
            unions = []
            for ann in annotations:
                m, lab = ann[i]
                sel = m[np.isin(lab, classes)]
                unions.append(sel.any(axis=0) if len(sel) else np.zeros(shape, dtype=bool))
            a, b = agreement_fraction(unions)
            n_all += a
            n_any += b
        out[name] = n_all / n_any if n_any else float("nan")
    return out


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


def completeness_by_edge_step(gts, preds, steps, bins=EDGE_STEP_BINS, iou_threshold=0.5, class_ids=(1, 2, 3)):
    """Share of true instances found, by class and by how visible their outline is.

    An instance counts as found when a prediction of its class overlaps it with mask IoU at or
    above ``iou_threshold`` (no one-to-one matching: this is completeness, not AP).  Its
    visibility is the step across its edge (:func:`desghost.imagestats.edge_steps`); instances
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
    from .metrics import mask_iou
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
MISS_REASONS = ("other class", "below threshold", "poor outline", "not found")


def miss_reasons(gts, preds_low, threshold, steps=None, min_step=-np.inf, iou_threshold=0.5, outline_iou=0.1,
                 class_ids=(1, 2, 3)):
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
    from .metrics import mask_iou
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
