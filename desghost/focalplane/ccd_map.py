"""Which CCD each pixel of the 400x400 focal-plane image shows, and which pixels carry live data."""
import numpy as np

from desghost.focalplane.binning import bin_into_box
from desghost.focalplane.orientation import PixelOrientation, orient_to_image

__all__ = ["ccd_map", "default_orientation", "MIN_VALID_FRACTION"]

#: A bin is used only when at least this fraction of its pixels is valid.
MIN_VALID_FRACTION = 0.5


def default_orientation(layout):
    """The pixel orientation of a CCD whose header has no usable WCS (from the layout's config)."""
    d = layout.config["default_pixel_orientation"]
    return PixelOrientation(d["ccd_x_to"], d["ccd_y_to"], from_wcs=False)


def ccd_map(layout, expnum=None):
    """Which CCD each focal-plane image pixel shows, and whether it carries live data.

    Parameters
    ----------
    layout : CameraLayout
    expnum : int, optional
        Selects the known-bad regions (dead CCDs, dead amplifiers) that apply.

    Returns
    -------
    ccdnum_image : ndarray of int16
        CCDNUM per image pixel, 0 in the gaps.
    live : ndarray of bool
        True where a CCD pixel is expected to carry data for this exposure.
    """

    index = np.zeros(layout.image_shape_px, dtype=np.int16)
    live = np.zeros(layout.image_shape_px, dtype=bool)
    default = default_orientation(layout)
    for ccdnum, geom in layout.ccds.items():
        probe = np.ones((64, 32), dtype=np.float32)  # [y, x], a coarse stand-in for the CCD
        layout.blank_dead_regions(probe, ccdnum, expnum)
        binned = bin_into_box(orient_to_image(probe, default), geom.box_px, layout.image_shape_px)
        sl = (slice(binned.rows.start, binned.rows.stop), slice(binned.cols.start, binned.cols.stop))
        index[sl] = ccdnum
        live[sl] = binned.counts >= MIN_VALID_FRACTION * binned.full_counts
    return index, live
