"""The bright stars near an exposure, where they fall on the focal plane, and which ghosts they cast.

The star list is DELVE's (``data/bright_stars.csv``, the 204 brightest BSC5P stars its ghost
lists are ray-traced from; MIT licence beside it; ``tools/derive_bright_stars.py`` derives it).
A star's focal-plane position comes from its gnomonic offset from the optical axis (the CCDs' WCS
tangent point, else TELRA/TELDEC; :func:`desghost.sky.footprint.optical_axis_deg`):
DECam's focal-plane x runs south and y runs east (the DETSEC frame of ``ccd_layout/``), at the
layout's plate scale (``pixel_size_mm / pixel_scale_arcsec``); the optical distortion is left
out (being radial, it moves a star along its radial line and leaves its polar angle, which the
naming uses, unchanged).  A bright star's pupil ghosts lie on the radial
line from the optical axis through the star (:mod:`desghost.family_geometry`), so an instance
whose centre lies within :data:`~desghost.family_geometry.ANGLE_TOL_DEG` of polar angle of a
star's, on the star's side, is named after it (the brightest such star).
"""
import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from desghost.family_geometry import ANGLE_TOL_DEG, AXIS_PX, MIN_AXIS_DISTANCE_PX, angle_difference_deg
from desghost.sky.tangent_plane import angular_distance_deg, gnomonic_deg

__all__ = ["BrightStar", "bright_star_list", "instance_star", "NEAR_STAR_RADIUS_DEG", "stars_near"]

#: Stars within this many degrees of the pointing are recorded per exposure (DECam's field
#: reaches 1.1 degrees; ghosts and scattered light come from stars up to a few degrees out).
NEAR_STAR_RADIUS_DEG = 3.0


@dataclass(frozen=True)
class BrightStar:
    """A star near an exposure.

    Attributes
    ----------
    hr : int
        Its Yale Bright Star Catalogue (HR) number.
    name : str
    vmag : float
    ra_deg, dec_deg : float
    distance_deg : float
        From the pointing.
    x_mm, y_mm : float
        Focal-plane position (the layout's mm frame; beyond the CCDs for stars outside the field).
    col_px, row_px : float
        The same in the 400x400 focal-plane image's pixels.
    """

    hr: int
    name: str
    vmag: float
    ra_deg: float
    dec_deg: float
    distance_deg: float
    x_mm: float
    y_mm: float
    col_px: float
    row_px: float

    def catalog_row(self):
        """``(hr, name, vmag, ra, dec, distance_deg, x_mm, y_mm)``: the catalog's ``exposure_stars`` columns."""
        return (self.hr, self.name, self.vmag, self.ra_deg, self.dec_deg, self.distance_deg, self.x_mm, self.y_mm)


@lru_cache(maxsize=1)
def bright_star_list():
    """The packaged star list: structured array (hr, ra_deg, dec_deg, vmag, name)."""
    text = resources.files("desghost.sky").joinpath("data/bright_stars.csv").read_text()
    rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    return np.array([(int(r["hr"]), float(r["ra_deg"]), float(r["dec_deg"]), float(r["vmag"]), r["name"])
                     for r in rows], dtype=[("hr", int), ("ra_deg", float), ("dec_deg", float), ("vmag", float),
                                            ("name", "U40")])


def stars_near(pointing_deg, layout, radius_deg=NEAR_STAR_RADIUS_DEG, stars=None):
    """The list's stars within ``radius_deg`` of a pointing, nearest first.

    Parameters
    ----------
    pointing_deg : (float, float) or None
        RA, Dec of the optical axis, degrees; None gives no stars.
    layout : CameraLayout
        Plate scale and the mm -> image pixel map.
    radius_deg : float
    stars : structured array, optional
        Another star list (:func:`bright_star_list`'s columns); default the packaged one.

    Returns
    -------
    list of BrightStar
    """
    if pointing_deg is None:
        return []
    s = bright_star_list() if stars is None else stars
    ra0, dec0 = pointing_deg
    dist = angular_distance_deg(ra0, dec0, s["ra_deg"], s["dec_deg"])
    near = np.flatnonzero(dist <= radius_deg)
    near = near[np.argsort(dist[near])]
    east_deg, north_deg, _ = gnomonic_deg(ra0, dec0, s["ra_deg"][near], s["dec_deg"][near])
    mm_per_deg = 3600.0 * layout.pixel_size_mm / layout.pixel_scale_arcsec
    x_mm, y_mm = -north_deg * mm_per_deg, east_deg * mm_per_deg
    cols, rows = layout.mm_to_image_px(x_mm, y_mm)
    return [BrightStar(int(s["hr"][i]), str(s["name"][i]), float(s["vmag"][i]), float(s["ra_deg"][i]),
                       float(s["dec_deg"][i]), float(dist[i]), float(x), float(y), float(c), float(r))
            for i, x, y, c, r in zip(near, x_mm, y_mm, cols, rows)]


def _polar_deg(col, row, axis=AXIS_PX):
    return float(np.hypot(col - axis[0], row - axis[1])), float(np.degrees(np.arctan2(row - axis[1], col - axis[0])))


def instance_star(centre_px, stars, angle_tol_deg=ANGLE_TOL_DEG):
    """The star whose radial line an instance lies on, or None.

    Parameters
    ----------
    centre_px : (float, float)
        The instance's centre (column, row) in the 400x400 image.
    stars : list of BrightStar
    angle_tol_deg : float
        Largest polar-angle difference (the family rule of :mod:`desghost.family_geometry`).

    Returns
    -------
    BrightStar or None
        The brightest star within the angle on the instance's side of the axis; None for an
        instance within MIN_AXIS_DISTANCE_PX of the axis (no polar angle) or off every line.
    """
    r, angle = _polar_deg(*centre_px)
    if r < MIN_AXIS_DISTANCE_PX:
        return None
    on_line = [s for s in stars if _polar_deg(s.col_px, s.row_px)[0] >= MIN_AXIS_DISTANCE_PX
               and abs(angle_difference_deg(_polar_deg(s.col_px, s.row_px)[1], angle)) <= angle_tol_deg]
    return min(on_line, key=lambda s: s.vmag) if on_line else None
