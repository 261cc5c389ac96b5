"""Instances on the 400x400 focal-plane image, projected back onto the CCDs (pure numpy).

For every (instance, CCD) pair: the covered fraction of the CCD's area and the footprint in the
CCD's own full-resolution pixel grid, with the reader's orientation convention (the CCD's WCS,
else the layout's default: CCD x runs down the image, CCD y runs left).
"""
from dataclasses import dataclass

import numpy as np

from desghost.focalplane.orientation import PixelOrientation
from desghost.mask_geometry import covered_fractions

__all__ = ["ccd_mask", "ccd_mask_rows", "CCDCoverage", "coverage", "image_px_of_ccd_pixels",
           "restrict_to_windows"]


@dataclass
class CCDCoverage:
    """How much of one CCD one instance covers."""

    ccdnum: int
    area_frac: float      # covered fraction of the CCD's box pixels in the 400x400 image
    n_image_px: int       # image pixels of the instance on this CCD


def coverage(mask, ccd_index, area_px=None, dead=()):
    """Per-CCD coverage of one instance mask; dead CCDs are never reported.

    Parameters
    ----------
    mask : ndarray of bool (H, W)
    ccd_index : ndarray of int (H, W)
        CCDNUM per image pixel (0 in gaps), from :func:`desghost.focalplane.assembly.ccd_map`.
    area_px : ndarray, optional
        :func:`desghost.mask_geometry.ccd_area_px` of ``ccd_index`` (computed when None).
    dead : collection of int
        CCDNUMs dead for this exposure.
    """
    return [CCDCoverage(ccdnum, frac, n_px)
            for ccdnum, (frac, n_px) in covered_fractions(mask, ccd_index, area_px, dead).items()]


def _ccd_fractions(n_px, offset_px, full_px, flip):
    """Fractions along a CCD axis of the centres of ``n_px`` pixels starting at ``offset_px``."""
    u = (offset_px + np.arange(n_px) + 0.5) / full_px
    return 1 - u if flip else u


def image_px_of_ccd_pixels(box_px, image_shape, ny_px, nx_px, orientation, window=None):
    """For each CCD row (y) and column (x): the image column/row its pixel centre falls in.

    Parameters
    ----------
    box_px : tuple of float
        The CCD's image box ``(x0, y0, x1, y1)``.
    image_shape : tuple of int
    ny_px, nx_px : int
        The pixel grid: the whole CCD, or the window when ``window`` is given.
    orientation : PixelOrientation
    window : CCDWindow, optional
        Where the grid lies on its CCD (a cut-out).

    Returns
    -------
    image_col_of_y : ndarray of int, shape (ny_px,)
    image_row_of_x : ndarray of int, shape (nx_px,)
        Image pixel indices; -1 where the CCD pixel falls outside the image.
    """
    x0, y0, x1, y1 = box_px
    if not orientation.x_is_vertical:
        raise ValueError("CCD long axis must run horizontally in the image")
    row0, col0, full_ny, full_nx = ((0, 0, ny_px, nx_px) if window is None else
                                    (window.row0_px, window.col0_px, window.full_ny_px, window.full_nx_px))
    u_x = _ccd_fractions(nx_px, col0, full_nx, orientation.ccd_x_to == "up")
    u_y = _ccd_fractions(ny_px, row0, full_ny, orientation.ccd_y_to == "left")
    rows = np.floor(y0 + u_x * (y1 - y0)).astype(int)
    cols = np.floor(x0 + u_y * (x1 - x0)).astype(int)
    rows[(rows < 0) | (rows >= image_shape[0])] = -1
    cols[(cols < 0) | (cols >= image_shape[1])] = -1
    return cols, rows


def ccd_mask_rows(mask, box_px, ny_px, nx_px, orientation=PixelOrientation("down", "left"), window=None):
    """:func:`ccd_mask` factored into its distinct rows: ``rows[row_index]`` is the CCD mask.

    Nearest-pixel upsampling copies blocks: the CCD rows (y) that fall in one image column are
    the same row, so the full-resolution mask is a few distinct rows, each repeated.

    Parameters
    ----------
    mask : ndarray, shape (H, W)
        Any dtype (bool, or int32 mask-plane bits).
    box_px, ny_px, nx_px, orientation, window
        As in :func:`image_px_of_ccd_pixels`.

    Returns
    -------
    rows : ndarray, shape (n, nx_px)
        The distinct rows (``mask``'s dtype; 0 where a CCD pixel falls outside the image).
    row_index : ndarray of int, shape (ny_px,)
        Which of ``rows`` each CCD row is.
    """
    image_col_of_y, image_row_of_x = image_px_of_ccd_pixels(box_px, mask.shape, ny_px, nx_px, orientation, window)
    y_starts, y_counts = _runs(image_col_of_y)   # runs of CCD rows (y) in one image column
    x_starts, x_counts = _runs(image_row_of_x)   # runs of CCD columns (x) in one image row
    image_cols, image_rows = image_col_of_y[y_starts], image_row_of_x[x_starts]
    small = np.ascontiguousarray(mask.T)[np.clip(image_cols, 0, None)][:, np.clip(image_rows, 0, None)]
    small[image_cols < 0, :] = 0
    small[:, image_rows < 0] = 0
    return np.repeat(small, x_counts, axis=1), np.repeat(np.arange(len(y_starts)), y_counts)


def ccd_mask(mask, box_px, ny_px, nx_px, orientation=PixelOrientation("down", "left"), window=None):
    """An image mask resampled onto one CCD's full-resolution pixel grid ``[y, x]`` (nearest pixel).

    Parameters
    ----------
    mask : ndarray, shape (H, W)
        Any dtype (bool, or int32 mask-plane bits): the output has the same dtype.
    box_px, ny_px, nx_px, orientation, window
        As in :func:`image_px_of_ccd_pixels`; with ``window`` the grid is that cut-out of the
        CCD (``ny_px`` x ``nx_px`` its shape).

    Returns
    -------
    ndarray, shape (ny_px, nx_px)
        0 (False) where a CCD pixel falls outside the image.
    """
    rows, row_index = ccd_mask_rows(mask, box_px, ny_px, nx_px, orientation, window)
    return rows[row_index]


def _runs(values):
    """Start indices and lengths of the runs of equal consecutive ``values`` (1-D)."""
    if len(values) == 0:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    return starts, np.diff(np.r_[starts, len(values)])


def restrict_to_windows(ccd_index, window_valid_px):
    """A CCD index image where cut-out CCDs keep only the image pixels that hold their data.

    Parameters
    ----------
    ccd_index : ndarray of int16, shape (H, W)
        CCDNUM per image pixel (0 in the gaps).
    window_valid_px : dict
        ``{ccdnum: ndarray of int, shape (n, 2)}``: (row, col) image pixels holding data of
        each cut-out (``FocalPlaneImage.window_valid_px``).

    Returns
    -------
    ndarray of int16, shape (H, W)
        A copy, 0 (no CCD) on the rest of a cut-out CCD's box.
    """
    out = ccd_index.copy()
    for ccdnum, pixels in window_valid_px.items():
        keep = np.zeros(out.shape, dtype=bool)
        keep[pixels[:, 0], pixels[:, 1]] = True
        out[(out == ccdnum) & ~keep] = 0
    return out
