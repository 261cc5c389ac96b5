"""Test-time augmentation: run the detector on flipped copies of an image and fuse the results.

The views are the identity, the left-right flip, the up-down flip and the 180-degree
rotation (both flips).  Each view's instances are mapped back to the original orientation,
then instances of the same class whose masks overlap (IoU >= ``match_iou``) in different
views are merged into one: its score is the sum of the members' scores divided by the
number of views (an artifact seen in one view of four keeps a quarter of its score), its
mask is the pixel-wise majority of the members' masks and its box encloses that mask.
Pure array computation; no model here.
"""
import numpy as np

from desghost.mask_geometry import mask_box, pair_iou

__all__ = ["apply_view", "fuse_views", "unflip_boxes", "view_flips", "VIEWS"]

#: (flip left-right, flip up-down) for each view, in the order views are used.
VIEWS = ((False, False), (True, False), (False, True), (True, True))


def view_flips(n_views):
    """The flips of the first ``n_views`` views (1, 2 or 4)."""
    if n_views not in (1, 2, 4):
        raise ValueError(f"tta_views must be 1, 2 or 4, not {n_views}")
    return VIEWS[:n_views]


def apply_view(image, flips):
    """An image (..., H, W) as seen in a view; the same call undoes it (flips are involutions)."""
    lr, ud = flips
    out = image
    if lr:
        out = out[..., :, ::-1]
    if ud:
        out = out[..., ::-1, :]
    return np.ascontiguousarray(out)


def unflip_boxes(boxes_px, flips, width_px, height_px):
    """Boxes ``(x0, y0, x1, y1)`` found in a view, in the original orientation."""
    b = np.array(boxes_px, dtype=float).reshape(-1, 4)
    lr, ud = flips
    if lr:
        b[:, [0, 2]] = width_px - b[:, [2, 0]]
    if ud:
        b[:, [1, 3]] = height_px - b[:, [3, 1]]
    return b


def _boxes_overlap(box, boxes):
    """Whether ``box`` (4,) overlaps each of ``boxes`` (N, 4) at all (torchvision's box IoU > 0)."""
    import torch
    from torchvision.ops import box_iou

    iou = box_iou(torch.as_tensor(box, dtype=torch.float64)[None], torch.as_tensor(boxes, dtype=torch.float64))[0]
    return (iou > 0).numpy()


def fuse_views(per_view, n_views, match_iou=0.5):
    """Merge the instances found in several views of one image.

    Parameters
    ----------
    per_view : list of (labels, scores, masks, boxes_px)
        One tuple per view, already in the original orientation: int array (N,), float
        array (N,), bool array (N, H, W) and float array (N, 4).
    n_views : int
        Number of views (the divisor of the fused score).
    match_iou : float
        Mask IoU from which two instances of the same class in different views are one.

    Returns
    -------
    labels, scores, masks, boxes_px
        The fused instances, highest score first (masks bool (M, H, W)).
    """
    cand = []
    for v, (labels, scores, masks, boxes) in enumerate(per_view):
        for i in range(len(scores)):
            cand.append((float(scores[i]), v, int(labels[i]), masks[i], np.asarray(boxes[i], dtype=float)))
    cand.sort(key=lambda c: -c[0])
    clusters = []  # each: dict(label, seed_mask, seed_area, seed_box, views, scores, masks)
    for score, v, label, mask, box in cand:
        area = int(mask.sum())
        home = None
        same = [c for c in clusters if c["label"] == label and v not in c["views"]]
        if same and area:
            near = _boxes_overlap(box, np.array([c["seed_box"] for c in same]))
            for c, ok in zip(same, near):
                if not ok or not c["seed_area"]:
                    continue
                if pair_iou(mask, c["seed_mask"], area, c["seed_area"]) >= match_iou:
                    home = c
                    break
        if home is None:
            clusters.append({"label": label, "seed_mask": mask, "seed_area": area, "seed_box": box,
                             "views": {v}, "scores": [score], "masks": [mask]})
        else:
            home["views"].add(v)
            home["scores"].append(score)
            home["masks"].append(mask)
    shape = per_view[0][2].shape[1:]
    out_labels, out_scores, out_masks, out_boxes = [], [], [], []
    for c in clusters:
        votes = np.sum(c["masks"], axis=0)
        mask = votes * 2 >= len(c["masks"])
        if not mask.any():
            mask = c["seed_mask"]
        box = mask_box(mask) or tuple(c["seed_box"])
        out_labels.append(c["label"])
        out_scores.append(sum(c["scores"]) / n_views)
        out_masks.append(mask)
        out_boxes.append(box)
    order = np.argsort(-np.array(out_scores, dtype=float), kind="stable")
    masks = np.array([out_masks[i] for i in order], dtype=bool).reshape(-1, *shape)
    return (np.array(out_labels, dtype=int)[order], np.array(out_scores, dtype=float)[order], masks,
            np.array(out_boxes, dtype=float).reshape(-1, 4)[order])
