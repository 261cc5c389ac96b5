"""An exposure's footprint on the sky: what the catalog stores to answer position queries.

- the pointing: TELRA/TELDEC, or the mean of the CCD centres (through each CCD's WCS) when the
  headers lack them;
- each excluded CCD's four corners in RA/Dec (the data section's outer pixel edges through its
  WCS, TPV included; a cut-out's corners are its window's);
- each instance's mask as convex sky quads (the region table's rows,
  :func:`desghost.products.region_table.exposure_regions`: an exact cover of the mask's
  full-resolution pixels), its centre and radius, and the index cells
  (:mod:`desghost.sky.moc`) of every quad;
- the index cells of each excluded CCD's corner quad;
- the bright stars within 3 degrees of the pointing, and the star each instance's radial line
  points to (:mod:`desghost.sky.bright_stars`).
"""
from dataclasses import dataclass, field

import numpy as np

from desghost.products.region_table import exposure_regions
from desghost.products.skymap import cards_wcs, ccd_corners_deg
from desghost.sky.bright_stars import instance_star, stars_near
from desghost.sky.moc import merge_to_cells, polygons_pixels
from desghost.sky.tangent_plane import angular_distance_deg, unit_vectors

__all__ = ["circle_of", "frame_corners_deg", "exposure_footprint", "ExposureFootprint", "mean_position_deg",
           "optical_axis_deg"]


@dataclass
class ExposureFootprint:
    """What the catalog stores of an exposure's sky footprint.

    Attributes
    ----------
    pointing_deg : (float, float) or None
        RA, Dec of the pointing, degrees.
    pointing_from : str
        ``TELRA/TELDEC``, ``CCD centres`` or ``none``.
    status : str
        ``complete``, or ``partial`` when a CCD an instance or an exclusion touches has no WCS
        (that part is not on the sky and cannot be found by position).
    regions : ndarray
        :data:`~desghost.products.region_table.REGION_DTYPE` rows: the instances' quads.
    ccd_corners_deg : dict
        ``{ccdnum: (ra[4], dec[4])}`` of the excluded CCDs.
    instance_cells, ccd_cells : dict
        ``{instance number or ccdnum: ndarray of int64 NUNIQ cells}``.
    instance_circles : dict
        ``{instance number: (ra_deg, dec_deg, radius_deg)}``: a circle holding every quad.
    stars : list of BrightStar
        The list's stars within NEAR_STAR_RADIUS_DEG of the optical axis (:func:`optical_axis_deg`;
        none when neither a common WCS tangent point nor TELRA/TELDEC gives it).
    instance_stars : dict
        ``{instance number: star name}`` of the instances on a star's radial line.
    """

    pointing_deg: tuple | None
    pointing_from: str
    status: str
    regions: np.ndarray
    ccd_corners_deg: dict = field(default_factory=dict)
    instance_cells: dict = field(default_factory=dict)
    ccd_cells: dict = field(default_factory=dict)
    instance_circles: dict = field(default_factory=dict)
    stars: list = field(default_factory=list)
    instance_stars: dict = field(default_factory=dict)


def frame_corners_deg(frame):
    """RA, Dec (degrees, arrays of 4) of a CCD's data-section corners (outer pixel edges), or None without WCS."""
    return ccd_corners_deg(cards_wcs(frame.wcs_cards), frame.ny_px, frame.nx_px) if frame.wcs_cards else None


def mean_position_deg(ra_deg, dec_deg):
    """The direction of the mean unit vector of positions (degrees), or None for none."""
    if len(ra_deg) == 0:
        return None
    v = unit_vectors(np.asarray(ra_deg, float), np.asarray(dec_deg, float)).mean(axis=0)
    v /= np.linalg.norm(v)
    return float(np.degrees(np.arctan2(v[1], v[0])) % 360.0), float(np.degrees(np.arcsin(np.clip(v[2], -1, 1))))


def circle_of(ra_deg, dec_deg):
    """``(ra, dec, radius)`` in degrees: the mean direction of the vertices and the largest distance to one."""
    ra, dec = np.ravel(ra_deg), np.ravel(dec_deg)
    centre = mean_position_deg(ra, dec)
    return (*centre, float(angular_distance_deg(centre[0], centre[1], ra, dec).max()))


def _pointing(pointing_deg, ccd_frames):
    if pointing_deg is not None:
        return tuple(float(v) for v in pointing_deg), "TELRA/TELDEC"
    corners = [c for c in (frame_corners_deg(f) for f in ccd_frames.values()) if c is not None]
    if not corners:
        return None, "none"
    return mean_position_deg(np.concatenate([c[0] for c in corners]), np.concatenate([c[1] for c in corners])), \
        "CCD centres"


def optical_axis_deg(pointing_deg, ccd_frames):
    """Where the optical axis points: the CCDs' common WCS tangent point, else TELRA/TELDEC, else None.

    DECam's CCD WCSs (TAN or TPV) all take the boresight as their tangent point (CRVAL), fitted
    to the stars, where TELRA/TELDEC is the telescope's own report; CRVAL is used when the CCDs
    agree on it within an arcsecond.  The mean of the CCD centres is not (a single cut-out's
    centre is up to a degree off the axis), so without either there are no bright stars.
    """
    crvals = []
    for frame in ccd_frames.values():
        cards = {c["name"]: c["value"] for c in frame.wcs_cards or ()}
        if "CRVAL1" in cards and "CRVAL2" in cards:
            crvals.append((float(cards["CRVAL1"]), float(cards["CRVAL2"])))
    if crvals:
        ra, dec = np.array(crvals).T
        if angular_distance_deg(ra[0], dec[0], ra, dec).max() <= 1.0 / 3600.0:
            return float(ra[0]) % 360.0, float(dec[0])
    return None if pointing_deg is None else tuple(float(v) for v in pointing_deg)


def exposure_footprint(result, layout, ccd_frames, pointing_deg=None):
    """The sky footprint of one processed exposure.

    Parameters
    ----------
    result : ExposureResult
        Its instances (400x400 masks), coverages and exclusion rows.
    layout : CameraLayout
    ccd_frames : dict
        ``{ccdnum: CCDMaskFrame}`` (shape, orientation, WCS cards, window) from the headers.
    pointing_deg : (float, float), optional
        TELRA/TELDEC in degrees when the headers give them.

    Returns
    -------
    ExposureFootprint
    """
    regions = exposure_regions(result, layout, ccd_frames)
    pointing, pointing_from = _pointing(pointing_deg, ccd_frames)
    fp = ExposureFootprint(pointing, pointing_from, "complete", regions)
    dead = set(result.dead_ccds)
    touched = {c.ccdnum for cov in result.coverages for c in cov if c.ccdnum not in dead}
    touched |= {r.ccdnum for r in result.exclusions}
    if any(not (f := ccd_frames.get(n)) or not f.wcs_cards for n in touched):
        fp.status = "partial"
    ra = np.stack([regions[f"RA_{k}"] for k in (1, 2, 3, 4)], axis=1)
    dec = np.stack([regions[f"DEC_{k}"] for k in (1, 2, 3, 4)], axis=1)
    for number in np.unique(regions["INSTANCE"]):
        mine = regions["INSTANCE"] == number
        fp.instance_cells[int(number)] = merge_to_cells(polygons_pixels(ra[mine], dec[mine]))
        fp.instance_circles[int(number)] = circle_of(ra[mine], dec[mine])
    fp.stars = stars_near(optical_axis_deg(pointing_deg, ccd_frames), layout)
    for number, inst in enumerate(result.instances):
        rows, cols = np.nonzero(inst.mask)
        star = instance_star((cols.mean() + 0.5, rows.mean() + 0.5), fp.stars) if len(rows) else None
        if star is not None:
            fp.instance_stars[number] = star.name
    for row in result.exclusions:
        frame = ccd_frames.get(row.ccdnum)
        corners = frame_corners_deg(frame) if frame is not None else None
        if corners is not None:
            fp.ccd_corners_deg[row.ccdnum] = corners
            fp.ccd_cells[row.ccdnum] = merge_to_cells(polygons_pixels(*corners))
    return fp
