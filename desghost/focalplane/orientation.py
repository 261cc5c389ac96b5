"""Which way a CCD's pixel axes run in the focal-plane image, read from the CCD's WCS.

The focal-plane image has north up and east to the left (the DECam DETSEC frame).  A CCD
array is indexed ``[y, x]``; :func:`orientation_from_header` says where +x and +y point in
the image, and :func:`orient_to_image` turns the array so that it reads as it appears in
the image, indexed ``[image_row, image_col]``.
"""
from dataclasses import dataclass

import numpy as np

from desghost.reading.headers import cd_matrix

__all__ = ["orient_to_image", "orientation_from_cd", "orientation_from_header", "PixelOrientation"]


@dataclass(frozen=True)
class PixelOrientation:
    """Where CCD +x and +y run in the image: each of ``up``, ``down``, ``left``, ``right``."""

    ccd_x_to: str
    ccd_y_to: str
    from_wcs: bool = False

    @property
    def x_is_vertical(self):
        return self.ccd_x_to in ("up", "down")


def _direction(east, north):
    """Image direction of a sky step with the given east and north components."""
    if abs(north) >= abs(east):
        return "up" if north > 0 else "down"
    return "left" if east > 0 else "right"


def orientation_from_cd(cd):
    """Orientation from a CD matrix ``[[CD1_1, CD1_2], [CD2_1, CD2_2]]`` (RA, Dec rows).

    Examples
    --------
    The real DECam S1 header (CD1_2 > 0, CD2_1 < 0): x runs south, y runs east.

    >>> orientation_from_cd([[-1.8e-7, 7.29e-5], [-7.28e-5, -1.8e-7]])
    PixelOrientation(ccd_x_to='down', ccd_y_to='left', from_wcs=True)
    """
    cd = np.asarray(cd, dtype=float)
    return PixelOrientation(_direction(cd[0, 0], cd[1, 0]), _direction(cd[0, 1], cd[1, 1]), True)


def orientation_from_header(header, default):
    """Orientation from a header's CD (or PC*CDELT) keywords, else ``default``.

    Parameters
    ----------
    header : dict-like
        A CCD's (merged) header.
    default : PixelOrientation
        Used when the header carries no celestial WCS matrix.
    """
    cd = cd_matrix(header)
    if cd is None:
        return default
    return orientation_from_cd(cd)


def orient_to_image(array, orientation):
    """View of a CCD array ``[y, x]`` as it appears in the image, ``[image_row, image_col]``.

    Returns a view (no copy) made of a transpose and flips.
    """
    o = orientation
    if o.x_is_vertical:
        out = array.T  # rows follow x, cols follow y
        if o.ccd_x_to == "up":
            out = out[::-1, :]
        if o.ccd_y_to == "left":
            out = out[:, ::-1]
    else:
        out = array
        if o.ccd_y_to == "up":
            out = out[::-1, :]
        if o.ccd_x_to == "left":
            out = out[:, ::-1]
    return out
