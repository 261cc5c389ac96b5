"""Area binning of one CCD's pixels into its box of the focal-plane image (pure numpy)."""
from dataclasses import dataclass

import numpy as np

from desghost.focalplane.orientation import orient_to_image

__all__ = ["bin_ccd_into_box", "bin_into_box", "BinnedBlock", "box_edges", "covered_pixels"]


@dataclass
class BinnedBlock:
    """Sums and valid-pixel counts of one CCD over the image pixels its box covers.

    ``rows`` and ``cols`` are the image pixel index ranges; ``sums``/``counts`` have shape
    ``(len(rows), len(cols))``; ``full_counts`` is the count each bin would have with no
    masked pixels.
    """

    rows: range
    cols: range
    sums: np.ndarray
    counts: np.ndarray
    full_counts: np.ndarray

    @property
    def mean(self):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.counts > 0, self.sums / np.maximum(self.counts, 1), np.nan)


def covered_pixels(lo_px, hi_px, size_px):
    """Image pixel indices whose centres fall in ``[lo_px, hi_px)``, clipped to ``[0, size_px)``."""
    first = max(int(np.ceil(lo_px - 0.5)), 0)
    last = min(int(np.ceil(hi_px - 0.5)), size_px)
    return range(first, max(first, last))


def _edges(pixels, lo_px, hi_px, n_src):
    """Source-array edges (ints in [0, n_src]) of the image pixels ``pixels`` of a box."""
    idx = np.arange(pixels.start, pixels.stop + 1, dtype=float)
    e = np.rint((idx - lo_px) / (hi_px - lo_px) * n_src).astype(np.int64)
    return np.clip(e, 0, n_src)


def _reduce(values, edges, axis, dtype=None):
    """Sums of ``values`` between consecutive ``edges`` along ``axis`` (empty bins give 0)."""
    n_bins = len(edges) - 1
    out_shape = list(values.shape)
    out_shape[axis] = n_bins
    dtype = dtype or values.dtype
    if n_bins == 0:
        return np.zeros(out_shape, dtype=dtype)
    starts = edges[:-1]
    stop = edges[-1]
    sl = [slice(None)] * values.ndim
    sl[axis] = slice(0, stop)
    trimmed = values[tuple(sl)]
    safe = np.minimum(starts, max(stop - 1, 0))
    if trimmed.shape[axis] == 0:
        return np.zeros(out_shape, dtype=dtype)
    sums = np.add.reduceat(trimmed, safe, axis=axis, dtype=dtype)
    empty = edges[1:] <= edges[:-1]
    if empty.any():
        idx = [slice(None)] * values.ndim
        idx[axis] = empty
        sums[tuple(idx)] = 0
    return sums


def bin_into_box(block, box_px, image_shape):
    """Bin an array already oriented as in the image into the image pixels of its box.

    Parameters
    ----------
    block : ndarray, shape (R, C)
        The CCD's pixels oriented as in the image (row 0 at the box's top edge, column 0 at
        its left edge); NaN marks invalid pixels.  The array spans the box exactly.
    box_px : tuple of float
        ``(x0, y0, x1, y1)`` in image pixels (columns x, rows y).
    image_shape : tuple of int
        ``(n_rows, n_cols)`` of the focal-plane image.

    Returns
    -------
    BinnedBlock
    """
    rows, cols, re, ce = box_edges(block.shape, box_px, image_shape)
    sums, counts = _sum_and_count(block, ce, re)
    return BinnedBlock(rows=rows, cols=cols, sums=sums, counts=counts,
                       full_counts=np.outer(np.diff(re), np.diff(ce)))


def box_edges(oriented_shape, box_px, image_shape):
    """Image pixel ranges of a box and their edges in the oriented source array.

    Returns
    -------
    rows, cols : range
        Image pixels whose centres fall in the box (clipped to the image).
    row_edges, col_edges : ndarray of int
        Source-array row and column edges of those pixels.
    """
    x0, y0, x1, y1 = box_px
    rows = covered_pixels(y0, y1, image_shape[0])
    cols = covered_pixels(x0, x1, image_shape[1])
    return rows, cols, _edges(rows, y0, y1, oriented_shape[0]), _edges(cols, x0, x1, oriented_shape[1])


def _sum_and_count(array, axis1_edges, axis0_edges):
    """Bin sums and valid counts of ``array`` (NaN invalid), reducing the contiguous axis first."""
    if np.isnan(array).any():
        valid = np.isfinite(array)
        values = np.where(valid, array, 0)
        counts = _reduce(_reduce(valid.view(np.int8), axis1_edges, axis=1, dtype=np.int64), axis0_edges, axis=0)
    else:
        values = array
        counts = np.outer(np.diff(axis0_edges), np.diff(axis1_edges))
    sums = _reduce(_reduce(values, axis1_edges, axis=1, dtype=np.float64), axis0_edges, axis=0)
    return sums, counts


def bin_ccd_into_box(pixels, orientation, box_px, image_shape):
    """Bin a CCD array ``[y, x]`` into its image box without reorienting the big array.

    The bin edges are mapped into the CCD's own frame, the sums are taken along the CCD's
    contiguous rows, and only the small array of sums is reoriented.  Gives the same result
    as ``bin_into_box(orient_to_image(pixels, orientation), ...)``, several times faster.
    """

    ny, nx = pixels.shape
    oriented_shape = (nx, ny) if orientation.x_is_vertical else (ny, nx)
    rows, cols, re, ce = box_edges(oriented_shape, box_px, image_shape)
    if orientation.x_is_vertical:
        x_edges = nx - re[::-1] if orientation.ccd_x_to == "up" else re
        y_edges = ny - ce[::-1] if orientation.ccd_y_to == "left" else ce
    else:
        y_edges = ny - re[::-1] if orientation.ccd_y_to == "up" else re
        x_edges = nx - ce[::-1] if orientation.ccd_x_to == "left" else ce
    sums, counts = _sum_and_count(pixels, x_edges, y_edges)
    return BinnedBlock(rows=rows, cols=cols, sums=orient_to_image(sums, orientation),
                       counts=orient_to_image(counts, orientation),
                       full_counts=np.outer(np.diff(re), np.diff(ce)))
