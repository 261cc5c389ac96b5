"""Mask geometry shared by detection, products, evaluation and training (pure numpy).

Masks are boolean arrays on the 400x400 focal-plane image; CCD membership comes from the
layout's CCD index image (:func:`desghost.focalplane.ccd_map.ccd_map`, CCDNUM per pixel, 0 in
gaps).  This module is a leaf: it imports nothing from desghost.
"""
import numpy as np

__all__ = ["boxes_from_masks", "ccd_area_px", "ccds_touched", "covered_fractions", "intersection_px", "mask_box", "mask_outlines",
           "mask_iou", "pair_iou"]


def intersection_px(a, b):
    """Pixels two masks share.

    Parameters
    ----------
    a, b : ndarray of bool, shape (H, W)

    Returns
    -------
    int
    """
    return int(np.logical_and(a, b).sum())


def pair_iou(a, b, area_a=None, area_b=None):
    """Intersection over union of two masks; 0 when both are empty.

    Parameters
    ----------
    a, b : ndarray of bool, shape (H, W)
    area_a, area_b : int, optional
        Their pixel counts, when the caller already has them.

    Returns
    -------
    float
    """
    area_a = int(a.sum()) if area_a is None else area_a
    area_b = int(b.sum()) if area_b is None else area_b
    inter = intersection_px(a, b)
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


def mask_iou(a, b):
    """IoU matrix between mask stacks.

    Parameters
    ----------
    a : ndarray of bool, shape (N, H, W)
    b : ndarray of bool, shape (M, H, W)

    Returns
    -------
    ndarray of float32, shape (N, M)
        0 where both masks are empty; an (N, M) array of zeros when either stack is empty.
    """
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    a2 = a.reshape(len(a), -1).astype(np.float32)
    b2 = b.reshape(len(b), -1).astype(np.float32)
    inter = a2 @ b2.T
    union = a2.sum(1)[:, None] + b2.sum(1)[None, :] - inter
    return inter / np.maximum(union, 1)


def mask_box(mask):
    """The tight ``(x0, y0, x1, y1)`` box of one mask at pixel edges (x = column), or None when empty.

    Parameters
    ----------
    mask : ndarray of bool, shape (H, W)

    Returns
    -------
    tuple of float or None
        The same convention as :func:`boxes_from_masks`.

    Examples
    --------
    >>> m = np.zeros((5, 5), bool); m[1:3, 2:5] = True
    >>> mask_box(m)
    (2.0, 1.0, 5.0, 3.0)
    """
    rows, cols = np.nonzero(mask)
    if not rows.size:
        return None
    return float(cols.min()), float(rows.min()), float(cols.max() + 1), float(rows.max() + 1)


def boxes_from_masks(masks):
    """Tight ``(x0, y0, x1, y1)`` boxes at pixel edges of boolean masks.

    Parameters
    ----------
    masks : ndarray of bool, shape (N, H, W)
        Each mask has at least one pixel.

    Returns
    -------
    torch.Tensor of float32, shape (N, 4)
        torchvision's ``masks_to_boxes`` (which gives the last pixel's index) plus one at the
        far edges, the box convention of torchvision's detection targets.
    """
    import torch
    from torchvision.ops import masks_to_boxes

    boxes = masks_to_boxes(torch.from_numpy(np.ascontiguousarray(masks)).reshape(-1, *masks.shape[-2:]))
    boxes[:, 2:] += 1
    return boxes.to(torch.float32)


def ccd_area_px(ccd_index):
    """Image pixels of each CCD's box, indexed by CCDNUM.

    Parameters
    ----------
    ccd_index : ndarray of int, shape (H, W)

    Returns
    -------
    ndarray of int, shape (max CCDNUM + 1,)
    """
    return np.bincount(ccd_index.ravel())


def covered_fractions(mask, ccd_index, area_px=None, dead=()):
    """The coverage rule: the fraction of each CCD's box that a mask covers.

    This is the one rule every part of desghost uses to say which CCDs a mask covers (products,
    the catalog, ``detect --json``, evaluation and training): a CCD is covered by the mask
    pixels that fall in its layout box, as a fraction of the box's pixels; gaps (CCDNUM 0) and
    the CCDs in ``dead`` are never covered.

    Parameters
    ----------
    mask : ndarray of bool, shape (H, W)
    ccd_index : ndarray of int, shape (H, W)
        CCDNUM per image pixel, 0 in gaps.
    area_px : ndarray of int, optional
        :func:`ccd_area_px` of ``ccd_index`` (computed when None).
    dead : collection of int
        CCDNUMs dead for this exposure.

    Returns
    -------
    dict
        ``{ccdnum: (fraction, n_image_px)}`` for every CCD with at least one mask pixel, in
        CCDNUM order.

    Examples
    --------
    >>> index = np.array([[1, 1, 0, 2, 2]]); mask = np.array([[True, False, True, True, True]])
    >>> covered_fractions(mask, index, dead={2})
    {1: (0.5, 1)}
    """
    area_px = ccd_area_px(ccd_index) if area_px is None else area_px
    hits = np.bincount(ccd_index[mask], minlength=area_px.size)
    return {int(c): (float(hits[c] / area_px[c]), int(hits[c])) for c in np.flatnonzero(hits)
            if c != 0 and c not in dead}


def ccds_touched(masks, ccd_index, min_area_frac=0.0, ccd_area_px=None, dead=()):
    """CCDNUMs covered by the union of ``masks`` (the rule of :func:`covered_fractions`).

    Parameters
    ----------
    masks : ndarray of bool, shape (N, H, W)
    ccd_index : ndarray of int, shape (H, W)
        CCDNUM per pixel, 0 in gaps.
    min_area_frac : float
        0: any pixel on the CCD's box flags it (the paper's rule); otherwise the covered
        fraction of the CCD's box must reach this value.
    ccd_area_px : ndarray of int, optional
        Pixels per CCDNUM in ``ccd_index`` (computed when absent).
    dead : collection of int
        CCDNUMs never reported (dead for the exposure).

    Returns
    -------
    set of int
    """
    if len(masks) == 0:
        return set()
    fractions = covered_fractions(np.any(masks, axis=0), ccd_index, ccd_area_px, dead)
    return {c for c, (frac, _) in fractions.items() if min_area_frac <= 0 or frac >= min_area_frac}


def mask_outlines(mask, tolerance_px=0.25):
    """The outline of each connected part of a mask, as closed polygons in image pixels.

    The curves run half-way between the mask's pixel centres and its neighbours' (marching
    squares at level 0.5), so filling a polygon by pixel centres (``skimage.draw.polygon``,
    as the VIA reader does) gives back the part's pixels; collinear steps within
    ``tolerance_px`` are merged.

    Parameters
    ----------
    mask : ndarray of bool, shape (H, W)
    tolerance_px : float
        Douglas-Peucker tolerance of :func:`skimage.measure.approximate_polygon`.

    Returns
    -------
    list of list of (float, float)
        One polygon per outer boundary, its ``(x, y)`` vertices (x = column, pixel centres at
        integers), largest first; empty for an empty mask.

    Examples
    --------
    >>> m = np.zeros((6, 6), bool); m[1:3, 2:5] = True
    >>> [len(p) > 3 for p in mask_outlines(m)]
    [True]
    """
    from skimage.measure import approximate_polygon, find_contours

    padded = np.pad(np.asarray(mask, bool), 1).astype(float)
    out = []
    for curve in find_contours(padded, 0.5):
        if len(curve) < 4 or _signed_area(curve) > 0:  # holes run the other way round
            continue
        curve = approximate_polygon(curve, tolerance_px)
        out.append([(round(float(c) - 1, 2), round(float(r) - 1, 2)) for r, c in curve[:-1]])
    return sorted(out, key=lambda p: -abs(_signed_area(np.asarray(p))))


def _signed_area(points):
    """Shoelace area of a closed curve given as (N, 2) points; the sign tells the direction."""
    a, b = np.asarray(points, float).T
    return 0.5 * float(np.dot(a, np.roll(b, -1)) - np.dot(b, np.roll(a, -1)))
