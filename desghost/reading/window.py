"""Whether a CCD HDU holds its whole CCD or a window cut from it, and where the window lies.

Pure functions of a header dict and the HDU's data shape.

A window is recognised by its sky extent, never by its pixel count alone: the HDU's pixel
count times the pixel area of its CD matrix, over the area of a whole CCD (the layout's
2048x4096 pixels at the nominal 0.263"/px).  Whole real CCDs give 0.998 (2046x4094 data
pixels), the simulator's ``--ccd-shape small`` CCDs (254x510 pixels at 8x the scale) 1.00,
the real Community Pipeline cut-outs of ``decam/real`` 0.0002 to 0.013.

The window is placed from CRPIX.  DECam's Community Pipeline puts the telescope pointing at
CRVAL for every CCD, so CRPIX is the boresight in the HDU's pixel frame; the layout gives
where the boresight is in the whole CCD's frame, and the difference is the window's offset.
DETSEC and LTV1/LTV2 do not locate these windows: all 39 real cut-outs keep their parent
CCD's values (DETSEC spans 2040x4088 pixels, LTV1 = LTV2 = -1).  The layout's boresight
agrees with a real whole CCD's CRPIX to 25 px (S29 of c4d_190402_050618).
"""
from dataclasses import dataclass

import numpy as np

from desghost.errors import InconsistentExposureError
from desghost.reading.headers import cd_matrix

__all__ = ["ccd_window", "CCDWindow", "MAX_PLACEMENT_ERROR_PX", "place_window", "sky_fraction",
           "WHOLE_CCD_MIN_SKY_FRACTION"]

#: An HDU covering less than this fraction of its CCD's sky area is a window (whole CCDs:
#: 0.998 real, 1.00 simulated; real cut-outs at most 0.013).
WHOLE_CCD_MIN_SKY_FRACTION = 0.9

#: A window whose CRPIX puts it further than this outside its CCD is refused (the layout's
#: boresight is good to 25 px).
MAX_PLACEMENT_ERROR_PX = 200


@dataclass(frozen=True)
class CCDWindow:
    """The part of a CCD an HDU holds, in the whole CCD's pixel frame (0-based, ``[y, x]``).

    Attributes
    ----------
    row0_px, col0_px : int
        First row and column of the window on the CCD.
    ny_px, nx_px : int
        The window's rows and columns (the HDU's data shape).
    full_ny_px, full_nx_px : int
        The whole CCD's rows and columns at the HDU's pixel scale.
    """

    row0_px: int
    col0_px: int
    ny_px: int
    nx_px: int
    full_ny_px: int
    full_nx_px: int

    @property
    def present_fraction(self):
        """Fraction of the CCD's area the window holds, in [0, 1]."""
        return self.ny_px * self.nx_px / float(self.full_ny_px * self.full_nx_px)

    def describe(self):
        """``"280x375 px at x=281, y=2920 (1.3% of the CCD)"``."""
        return (f"{self.nx_px}x{self.ny_px} px at x={self.col0_px}, y={self.row0_px} "
                f"({100 * self.present_fraction:.2g}% of the CCD)")


def sky_fraction(pixel_area_deg2, ny_px, nx_px, layout):
    """Fraction of a whole CCD's sky area that an HDU of ``ny_px`` x ``nx_px`` pixels covers.

    ``pixel_area_deg2`` is ``|det CD|`` of the HDU's WCS.
    """
    whole_ccd_deg2 = layout.ccd_nx_px * layout.ccd_ny_px * (layout.pixel_scale_arcsec / 3600.0) ** 2
    return ny_px * nx_px * pixel_area_deg2 / whole_ccd_deg2


def ccd_window(header, ny_px, nx_px, layout, ccdnum, source=None):
    """The :class:`CCDWindow` of an HDU that holds part of its CCD, or None for a whole CCD.

    Parameters
    ----------
    header : dict
        The CCD's merged header (CRPIX in the frame of the ``ny_px`` x ``nx_px`` data).
    ny_px, nx_px : int
        Shape of the data section.
    layout : CameraLayout
    ccdnum : int
    source : str, optional
        ``file[HDU]`` for messages.

    Returns
    -------
    CCDWindow or None
        None when the HDU covers at least :data:`WHOLE_CCD_MIN_SKY_FRACTION` of the CCD's sky
        area (see :func:`sky_fraction`), or when the header has no celestial WCS to tell.

    Raises
    ------
    InconsistentExposureError
        A window without CRPIX, or one whose CRPIX places it more than
        :data:`MAX_PLACEMENT_ERROR_PX` outside its CCD (exit code 8).
    """
    cd = cd_matrix(header)
    if cd is None:
        return None
    pixel_area_deg2 = abs(np.linalg.det(cd))
    if sky_fraction(pixel_area_deg2, ny_px, nx_px, layout) >= WHOLE_CCD_MIN_SKY_FRACTION:
        return None
    # the whole CCD in this HDU's pixels (binned data have fewer, larger pixels)
    scale_arcsec = np.sqrt(pixel_area_deg2) * 3600.0
    binning = scale_arcsec / layout.pixel_scale_arcsec
    binning = 1.0 if abs(binning - 1.0) < 0.05 else binning
    full_nx, full_ny = round(layout.ccd_nx_px / binning), round(layout.ccd_ny_px / binning)
    if "CRPIX1" not in header or "CRPIX2" not in header:
        raise InconsistentExposureError("covers only part of its CCD but has no CRPIX1/CRPIX2 to place it",
                                        path=source, keyword="CRPIX1")
    ccd = layout.ccds[ccdnum]
    boresight_x = -ccd.xmin_mm / (ccd.xmax_mm - ccd.xmin_mm) * full_nx + 0.5
    boresight_y = -ccd.ymin_mm / (ccd.ymax_mm - ccd.ymin_mm) * full_ny + 0.5
    col0 = int(round(boresight_x - float(header["CRPIX1"])))
    row0 = int(round(boresight_y - float(header["CRPIX2"])))
    overshoot = max(-col0, -row0, col0 + nx_px - full_nx, row0 + ny_px - full_ny, 0)
    if overshoot > MAX_PLACEMENT_ERROR_PX:
        raise InconsistentExposureError(
            f"its CRPIX places this {nx_px}x{ny_px}-pixel window {overshoot} px outside CCD {ccdnum} "
            f"(at x={col0}, y={row0}); CCDNUM and WCS disagree", path=source, keyword="CRPIX1")
    col0 = min(max(col0, 0), max(full_nx - nx_px, 0))
    row0 = min(max(row0, 0), max(full_ny - ny_px, 0))
    return CCDWindow(row0, col0, ny_px, nx_px, full_ny, full_nx)


def place_window(pixels, window, row_step=1):
    """A whole-CCD array, NaN outside the window, with the window's pixels in place.

    Parameters
    ----------
    pixels : ndarray of float32, shape (ceil(window.ny_px / row_step), window.nx_px)
        The window's pixels, every ``row_step``-th row.
    window : CCDWindow
    row_step : int

    Returns
    -------
    ndarray of float32, shape (ceil(window.full_ny_px / row_step), window.full_nx_px)
    """
    out = np.full((-(-window.full_ny_px // row_step), window.full_nx_px), np.nan, dtype=np.float32)
    r0 = min(int(round(window.row0_px / row_step)), out.shape[0] - pixels.shape[0])
    out[r0:r0 + pixels.shape[0], window.col0_px:window.col0_px + pixels.shape[1]] = pixels
    return out
