"""Inference: focal-plane images in, instances (class, score, box, 400x400 mask) out."""
import numpy as np

from desghost.detection.families import complete_families, drop_lone_discs
from desghost.detection.instance import Instance
from desghost.detection.model import load_model
from desghost.detection.views import apply_view, fuse_views, unflip_boxes, view_flips
from desghost.mask_geometry import intersection_px, pair_iou

__all__ = ["artifact_groups", "ARTIFACT_OVERLAP", "detect_images", "instances_from_output", "postprocess",
           "suppress_overlaps", "to_tensor"]


def to_tensor(image):
    """A 2-D uint8 image as the model's float input: 3 identical channels in 0..1."""
    import torch
    t = torch.from_numpy(np.array(image, dtype=np.uint8, copy=True)).float().div_(255.0)
    return t.unsqueeze(0).expand(3, -1, -1).contiguous()


def instances_from_output(output, class_names, threshold, mask_threshold=0.5):
    """torchvision's output dict for one image as a list of :class:`Instance` above ``threshold``."""
    labels, scores, masks, boxes = _raw_arrays(output, mask_threshold)
    return _as_instances(labels, scores, masks, boxes, class_names, threshold)


def _raw_arrays(output, mask_threshold=0.5):
    """labels, scores, bool masks (N, H, W) and boxes of one torchvision output dict, as numpy arrays."""
    return (output["labels"].detach().cpu().numpy(), output["scores"].detach().cpu().numpy(),
            output["masks"].detach().cpu().numpy()[:, 0] >= mask_threshold,
            output["boxes"].detach().cpu().numpy())


def _as_instances(labels, scores, masks, boxes, class_names, threshold):
    return [Instance(int(lab), class_names[int(lab)], float(sc), tuple(float(v) for v in box), m)
            for lab, sc, m, box in zip(labels, scores, masks, boxes) if sc >= threshold]


def suppress_overlaps(instances, max_iou):
    """Drop instances whose mask overlaps a higher-scoring one (any class) by more than ``max_iou``.

    Parameters
    ----------
    instances : list of Instance
    max_iou : float
        Mask intersection over union above which the lower-scoring instance goes; 0 keeps all.

    Returns
    -------
    list of Instance
        Highest score first.
    """
    ordered = sorted(instances, key=lambda i: -i.score)
    if max_iou <= 0 or len(ordered) < 2:
        return ordered
    kept = []
    for inst in ordered:
        if all(pair_iou(inst.mask, k.mask) <= max_iou for k in kept):
            kept.append(inst)
    return kept


#: Two instances of one class are one artifact when their masks share at least this fraction of the
#: smaller mask.  The demo's two injected Rays come out as 3 instances (overlaps 0.99, 0.73, 0.61):
#: 2 artifacts at 0.8.  Merging the masks themselves was measured on the fixed folds and not kept:
#: CCD F1 0.813 -> 0.823 but paper-way AP@0.5 0.367 -> 0.283 (docs/experiments/session18_merging.md).
ARTIFACT_OVERLAP = 0.8


def artifact_groups(instances, min_overlap=ARTIFACT_OVERLAP):
    """Which instances are one artifact: a group number per instance (0, 1, ...).

    Instances of the same class whose masks' intersection is at least ``min_overlap`` of the
    smaller mask are one artifact; the relation is closed transitively (a chain is one group).
    Groups are numbered in the order of their first instance.

    Parameters
    ----------
    instances : list of Instance
    min_overlap : float

    Returns
    -------
    list of int
        ``len(instances)`` group numbers; ``len(set(...))`` is the artifact count.
    """
    parent = list(range(len(instances)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    areas = [int(i.mask.sum()) for i in instances]
    for a in range(len(instances)):
        for b in range(a + 1, len(instances)):
            if instances[a].class_id != instances[b].class_id or not min(areas[a], areas[b]):
                continue
            if intersection_px(instances[a].mask, instances[b].mask) >= min_overlap * min(areas[a], areas[b]):
                parent[root(b)] = root(a)
    numbers = {}
    return [numbers.setdefault(root(i), len(numbers)) for i in range(len(instances))]


def _fused_instances(outputs, flips, class_names, threshold, mask_threshold=0.5):
    """Instances of one image from the outputs of its views (see :mod:`desghost.detection.views`)."""
    per_view = []
    for out, f in zip(outputs, flips):
        labels, scores, masks, boxes = _raw_arrays(out, mask_threshold)
        h, w = masks.shape[-2:]
        per_view.append((labels, scores, apply_view(masks, f), unflip_boxes(boxes, f, w, h)))
    return _as_instances(*fuse_views(per_view, len(flips)), class_names, threshold)


def detect_images(images, model=None, threshold=None, batch_size=4):
    """Detect artifacts in focal-plane images.

    Parameters
    ----------
    images : sequence of ndarray
        2-D uint8 images (400x400 focal-plane images).
    model : LoadedModel, optional
        Defaults to the shipped model on the ``auto`` device.
    threshold : float, optional
        Detection score threshold; the model's configured one when None.
    batch_size : int
        Forward passes per batch (with test-time augmentation, ``tta_views`` of them per image).

    Returns
    -------
    list of list of Instance
        One list per input image, highest score first.
    """
    import torch

    model = model or load_model()
    cfg = model.config
    threshold = cfg.score_threshold if threshold is None else threshold
    flips = view_flips(cfg.tta_views)
    views = [apply_view(np.asarray(im), f) for im in images for f in flips]
    outputs = []
    with torch.inference_mode():
        for k in range(0, len(views), batch_size):
            outputs.extend(model.model([to_tensor(v).to(model.device) for v in views[k:k + batch_size]]))
    results = []
    for i in range(len(images)):
        mine = outputs[i * len(flips):(i + 1) * len(flips)]
        if len(flips) == 1:
            found = instances_from_output(mine[0], cfg.class_names, threshold, cfg.mask_threshold)
        else:
            found = _fused_instances(mine, flips, cfg.class_names, threshold, cfg.mask_threshold)
        results.append(postprocess(found, cfg))
    return results


def postprocess(instances, cfg):
    """One image's instances after the model's post-processing settings.

    Class-agnostic overlap suppression (``cfg.overlap_iou``), then, when
    ``cfg.drop_lone_discs``, :func:`desghost.detection.families.drop_lone_discs`, then, when
    ``cfg.family_completion``, :func:`desghost.detection.families.complete_families`.
    """
    found = suppress_overlaps(instances, cfg.overlap_iou)
    if cfg.drop_lone_discs:
        found = drop_lone_discs(found)
    if cfg.family_completion:
        found = complete_families(found)
    return found
