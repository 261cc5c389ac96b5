"""Exact position tests on the sky: a position against convex polygons, in the gnomonic
(tangent-plane) projection centred on the position."""
import numpy as np

__all__ = ["angular_distance_deg", "gnomonic_deg", "polygon_distances_deg", "polygons_meet_box", "unit_vectors"]


def unit_vectors(ra_deg, dec_deg):
    """Unit vectors of positions, shape ``(..., 3)``."""
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)


def angular_distance_deg(ra1_deg, dec1_deg, ra2_deg, dec2_deg):
    """Great-circle distance in degrees (haversine; exact at small separations)."""
    ra1, dec1, ra2, dec2 = (np.radians(v) for v in (ra1_deg, dec1_deg, ra2_deg, dec2_deg))
    h = np.sin((dec2 - dec1) / 2) ** 2 + np.cos(dec1) * np.cos(dec2) * np.sin((ra2 - ra1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(h, 0, 1))))


def gnomonic_deg(ra0_deg, dec0_deg, ra_deg, dec_deg):
    """Gnomonic (tangent-plane) coordinates about (ra0, dec0): ``(xi east, eta north, near side)``, xi and eta
    in degrees of the tangent plane."""
    ra0, dec0, ra, dec = (np.radians(v) for v in (ra0_deg, dec0_deg, ra_deg, dec_deg))
    cos_c = np.sin(dec0) * np.sin(dec) + np.cos(dec0) * np.cos(dec) * np.cos(ra - ra0)
    near = cos_c > 1e-6
    c = np.where(near, cos_c, 1.0)
    xi = np.cos(dec) * np.sin(ra - ra0) / c
    eta = (np.cos(dec0) * np.sin(dec) - np.sin(dec0) * np.cos(dec) * np.cos(ra - ra0)) / c
    return np.degrees(xi), np.degrees(eta), near


def polygon_distances_deg(ra_deg, dec_deg, poly_ra_deg, poly_dec_deg):
    """Distance from a position to each of a set of convex polygons (0 inside).

    Parameters
    ----------
    ra_deg, dec_deg : float
        The position.
    poly_ra_deg, poly_dec_deg : ndarray of float, shape (n, k)
        n convex polygons of k vertices, in order (either sense).

    Returns
    -------
    ndarray of float, shape (n,)
        Degrees: the nearest point of the polygon found in the tangent plane at the position, its
        tangent-plane radius turned back into an angle (exact along a radius from the position);
        ``inf`` for a polygon with a vertex 90 degrees or more away.
    """
    x, y, near = gnomonic_deg(ra_deg, dec_deg, np.asarray(poly_ra_deg, float), np.asarray(poly_dec_deg, float))
    x2, y2 = np.roll(x, -1, axis=1), np.roll(y, -1, axis=1)
    ex, ey = x2 - x, y2 - y
    cross = ex * (-y) - ey * (-x)                     # edge x (origin - vertex): the side the position is on
    inside = np.all(cross >= 0, axis=1) | np.all(cross <= 0, axis=1)
    length2 = np.maximum(ex * ex + ey * ey, 1e-300)
    t = np.clip(-(x * ex + y * ey) / length2, 0.0, 1.0)
    edge_dist = np.hypot(x + t * ex, y + t * ey).min(axis=1)
    dist = np.where(inside, 0.0, np.degrees(np.arctan(np.radians(edge_dist))))   # tangent-plane radius -> angle
    return np.where(np.all(near, axis=1), dist, np.inf)


def polygons_meet_box(poly_ra_deg, poly_dec_deg, box_deg):
    """Whether each convex polygon overlaps an RA/Dec box (separating-axis test).

    Parameters
    ----------
    poly_ra_deg, poly_dec_deg : ndarray of float, shape (n, k)
    box_deg : (float, float, float, float)
        ``(ra_min, ra_max, dec_min, dec_max)``; ``ra_min > ra_max`` wraps through RA 0.

    Returns
    -------
    ndarray of bool, shape (n,)
        Tested in the (RA, Dec) plane, each polygon's first vertex taken within 180 degrees of
        the box's middle and its other vertices unwrapped around that one (polygons are
        CCD-sized, so their edges are straight there to far better than a pixel away from the
        poles).
    """
    ra_min, ra_max, dec_min, dec_max = box_deg
    width = (ra_max - ra_min) % 360.0 or (360.0 if ra_max != ra_min else 0.0)
    mid = ra_min + width / 2.0
    ra = np.asarray(poly_ra_deg, float)
    first = (ra[:, :1] - mid + 180.0) % 360.0 - 180.0            # each polygon's first vertex, near the box
    x = first + (ra - ra[:, :1] + 180.0) % 360.0 - 180.0          # the rest unwrapped around it
    y = np.asarray(poly_dec_deg, float)
    half = width / 2.0
    apart = (x.min(axis=1) > half) | (x.max(axis=1) < -half) | (y.min(axis=1) > dec_max) | (y.max(axis=1) < dec_min)
    corners_x = np.array([-half, half, half, -half])
    corners_y = np.array([dec_min, dec_min, dec_max, dec_max])
    ex, ey = np.roll(x, -1, axis=1) - x, np.roll(y, -1, axis=1) - y
    for k in range(x.shape[1]):                    # each polygon edge's normal as a separating axis
        nx, ny = -ey[:, k], ex[:, k]
        own = nx[:, None] * x + ny[:, None] * y
        box = nx[:, None] * corners_x + ny[:, None] * corners_y
        apart |= (own.max(axis=1) < box.min(axis=1)) | (own.min(axis=1) > box.max(axis=1))
    return ~apart
