"""Evaluation runs: predictions against one or several annotators, the paper's metrics and more."""
import time

import numpy as np

from desghost.agreement import ccd_level_scores
from desghost.classes import ARTIFACT_IDS, CLASS_IDS
from desghost.detection.detect import detect_images
from desghost.detection.model import LoadedModel, ModelConfig
from desghost.errors import UsageError
from desghost.evaluation.metrics import (
    CLASS_GROUPS,
    agreement_fraction,
    ccd_f1_bootstrap,
    coco_ap,
    exposure_confusion,
    paper_ap,
)
from desghost.focalplane.annotated_set import load_via_images, read_name_list, real_split
from desghost.focalplane.ccd_map import ccd_map
from desghost.layout import load_layout
from desghost.mask_geometry import ccds_touched
from desghost.simulate.training import render_training_image

__all__ = ["agreement_table", "AREA_THRESHOLDS", "as_predictions", "evaluate_against_annotators", "headline",
           "load_annotated", "predict", "score_predictions", "synthetic_test_set", "synthetic_validator",
           "TEST_SEED", "VALIDATION_SEED"]

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


def predict(images, model, threshold=None, batch_size=4, progress=None):
    """Run the detector; returns ``(preds, seconds_per_image)`` with preds as (masks, labels, scores).

    ``progress``, when given, is called with the number of images done after each batch.
    """
    t0 = time.perf_counter()
    found = []
    for start in range(0, len(images), max(1, batch_size)):
        found += detect_images(images[start:start + batch_size], model, threshold=threshold, batch_size=batch_size)
        if progress is not None:
            progress(len(images[start:start + batch_size]))
    dt = (time.perf_counter() - t0) / max(len(images), 1)
    return as_predictions(found), dt


TEST_SEED = 12345  # the reported synthetic test set (bench_detector, ``desghost evaluate --synthetic``)
VALIDATION_SEED = 777  # validation during training and threshold scans: never the test images


def synthetic_test_set(n=24, seed=TEST_SEED):
    """Held-out synthetic images (never produced by a training stream, which uses other seeds)."""
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
    """A ``validate(model)`` callable for :func:`desghost.training.train.train` on a fixed synthetic set.

    Its images come from ``VALIDATION_SEED``, not from the reported test set's ``TEST_SEED``, so
    what is watched (or used to pick a checkpoint) during training is never what is reported.
    """
    images, gts = synthetic_test_set(n, seed)
    layout_index = ccd_map(load_layout())[0]

    def validate(torch_model):
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
        mean over annotators; :func:`desghost.evaluation.metrics.ccd_f1_bootstrap`).
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
    out = {"n_images": len(annotations[0]) if annotations else 0}
    groups = {"all": ARTIFACT_IDS, **{name: (c,) for name, c in CLASS_IDS.items()}}
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


def load_annotated(images_dir, annotation_files, skip_first=0, names_file=None):
    """Annotated real images and each annotator's instances, in sorted name order.

    Parameters
    ----------
    images_dir : str or Path
        Directory of 400x400 images.
    annotation_files : list of str
        VIA files, one per annotator.
    skip_first : int
        Leave out the first N names in sorted order (those ``train --real-train N`` used).
    names_file : str, optional
        Only the images this file names (:func:`desghost.training.dataset.read_name_list`),
        for example one fold's scoring list.

    Returns
    -------
    names : list of str
    images : list of ndarray of uint8, shape (400, 400)
    per_annotator : list of list
        ``per_annotator[k][i]`` is annotator k's ``(masks, labels)`` on image i.

    Raises
    ------
    UsageError
        No image of the directory is named in the annotation files.
    """
    data = load_via_images(images_dir, annotation_files)
    names = real_split(data, skip_first)[1]
    if names_file is not None:
        names = [n for n in read_name_list(names_file, data) if n in set(names)]
    if not names:
        raise UsageError(f"{images_dir}: no image is named in the annotation files")
    images = [data[n]["image"] for n in names]
    per_annotator = [[data[n]["annotations"][k] for n in names] for k in range(len(annotation_files))]
    return names, images, per_annotator
