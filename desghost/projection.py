"""Instances on the 400x400 focal-plane image, projected back onto the CCDs (pure numpy).

For every (instance, CCD) pair: the covered fraction of the CCD's area and the footprint in the
CCD's own full-resolution pixel grid, with the reader's orientation convention (the CCD's WCS,
else the layout's default: CCD x runs down the image, CCD y runs left).
"""
from dataclasses import dataclass

import numpy as np

from desghost.focalplane.orientation import PixelOrientation


@dataclass
class CCDCoverage:
    """How much of one CCD one instance covers."""

    ccdnum: int
    area_frac: float      # covered fraction of the CCD's box pixels in the 400x400 image
    n_image_px: int       # image pixels of the instance on this CCD


def ccd_pixel_count(ccd_index):
    """Number of image pixels of each CCD's box, indexed by CCDNUM."""
    return np.bincount(ccd_index.ravel())


def coverage(mask, ccd_index, area_px=None, dead=()):
    """Per-CCD coverage of one instance mask; dead CCDs are never reported.

    Parameters
    ----------
    mask : ndarray of bool (H, W)
    ccd_index : ndarray of int (H, W)
        CCDNUM per image pixel (0 in gaps), from :func:`desghost.focalplane.assembly.ccd_map`.
    area_px : ndarray, optional
        :func:`ccd_pixel_count` of ``ccd_index`` (computed when None).
    dead : collection of int
        CCDNUMs dead for this exposure.
    """
    area_px = ccd_pixel_count(ccd_index) if area_px is None else area_px
    hits = np.bincount(ccd_index[mask], minlength=area_px.size)
    out = []
    for ccdnum in np.flatnonzero(hits):
        if ccdnum == 0 or ccdnum in dead:
            continue
        out.append(CCDCoverage(int(ccdnum), float(hits[ccdnum] / area_px[ccdnum]), int(hits[ccdnum])))
    return out


def image_px_of_ccd_pixels(box_px, image_shape, ny_px, nx_px, orientation):
    """For each CCD row (y) and column (x): the image column/row its pixel centre falls in.

    Returns
    -------
    image_col_of_y : ndarray of int, shape (ny_px,)
    image_row_of_x : ndarray of int, shape (nx_px,)
        Image pixel indices; -1 where the CCD pixel falls outside the image.
    """
    x0, y0, x1, y1 = box_px
    if not orientation.x_is_vertical:
        raise ValueError("CCD long axis must run horizontally in the image")
    u_x = (np.arange(nx_px) + 0.5) / nx_px  # fraction along CCD x
    u_y = (np.arange(ny_px) + 0.5) / ny_px
    if orientation.ccd_x_to == "up":
        u_x = 1 - u_x
    if orientation.ccd_y_to == "left":
        u_y = 1 - u_y
    rows = np.floor(y0 + u_x * (y1 - y0)).astype(int)
    cols = np.floor(x0 + u_y * (x1 - x0)).astype(int)
    rows[(rows < 0) | (rows >= image_shape[0])] = -1
    cols[(cols < 0) | (cols >= image_shape[1])] = -1
    return cols, rows


def ccd_mask(mask, box_px, ny_px, nx_px, orientation=PixelOrientation("down", "left")):
    """An image mask resampled onto one CCD's full-resolution pixel grid ``[y, x]`` (nearest pixel)."""
    cols, rows = image_px_of_ccd_pixels(box_px, mask.shape, ny_px, nx_px, orientation)
    out = mask[np.clip(rows, 0, None)][:, np.clip(cols, 0, None)].T  # [x, y] -> [y, x]
    out = np.ascontiguousarray(out)
    out[cols < 0, :] = False
    out[:, rows < 0] = False
    return out

