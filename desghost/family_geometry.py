"""Ghost families: the polar geometry of a bright star's pupil ghosts, and its measured statistics.

A bright star's pupil ghosts lie on the radial line from the optical axis through the star, so
the small ghosts (Bright, and Faint below ``large_r_px``) of one family share a polar angle
about the axis.  One ghost of a family is a huge, very faint disc that annotators mark even where
its edge is hardly visible.  The measured statistics live beside this module
(``desghost/family_stats.json``, derived by ``tools/derive_family_stats.py``).  A leaf: the
simulator renders families from it and the detector completes them with it.
"""
import json
from functools import lru_cache
from importlib import resources

import numpy as np

__all__ = ["ANGLE_TOL_DEG", "AXIS_PX", "LARGE_R_PX", "MIN_AXIS_DISTANCE_PX", "angle_difference_deg",
           "family_geometry", "family_stats", "find_families"]

#: The optical axis in the 400x400 image (ccd_layout/decam_camera.json: mm_to_image_px of (0, 0)).
AXIS_PX = (200.01, 200.25)
#: Small ghosts within this many degrees of polar angle are one family.
ANGLE_TOL_DEG = 8.0
#: A Faint ghost this large (equivalent radius) is a family's big faint disc.
LARGE_R_PX = 80.0
#: Ghosts closer than this to the axis have no usable polar angle.
MIN_AXIS_DISTANCE_PX = 15.0


def _polar(col, row, axis=AXIS_PX):
    dx, dy = col - axis[0], row - axis[1]
    return float(np.hypot(dx, dy)), float(np.degrees(np.arctan2(dy, dx)) % 360.0)


def angle_difference_deg(a, b):
    return (a - b + 180.0) % 360.0 - 180.0


def find_families(regions, angle_tol_deg=ANGLE_TOL_DEG, large_r_px=LARGE_R_PX, min_members=2, axis=AXIS_PX):
    """Group an image's small ghosts into families by polar angle about the optical axis.

    Parameters
    ----------
    regions : list of tuple
        ``(class_name, col_px, row_px, r_eq_px)``.

    Returns
    -------
    list of dict
        Per family: ``angle_deg`` (mean polar angle), ``distance_px`` (of its outermost
        member from the axis), ``members`` (indices into ``regions``).
    """
    small = []
    for i, (cls, col, row, r) in enumerate(regions):
        if cls == "Rays" or (cls == "Faint" and r >= large_r_px):
            continue
        d, a = _polar(col, row, axis)
        if d >= MIN_AXIS_DISTANCE_PX:
            small.append((a, d, i))
    small.sort()
    clusters = []
    for a, d, i in small:
        if clusters and a - clusters[-1][-1][0] <= angle_tol_deg:  # angles ascend
            clusters[-1].append((a, d, i))
        else:
            clusters.append([(a, d, i)])
    if len(clusters) > 1 and clusters[0][0][0] + 360.0 - clusters[-1][-1][0] <= angle_tol_deg:
        clusters[0] = clusters.pop() + clusters[0]  # the cluster that wraps through 0 degrees
    families = []
    for c in clusters:
        if len(c) < min_members:
            continue
        angles = np.radians([a for a, _, _ in c])
        mean = float(np.degrees(np.arctan2(np.sin(angles).mean(), np.cos(angles).mean())) % 360.0)
        families.append({"angle_deg": mean, "distance_px": max(d for _, d, _ in c), "members": [i for _, _, i in c]})
    return families



@lru_cache(maxsize=4)
def family_stats(source="real_30_per_annotator"):
    """One set of ``desghost/family_stats.json`` (``real_30_per_annotator`` or ``paper_2000``)."""
    return json.loads(resources.files("desghost").joinpath("family_stats.json").read_text())[source]


def family_geometry(source="real_30_per_annotator"):
    """The measured big-disc geometry: ``{"p", "along", "r_px"}`` (probability, median position, radius).

    ``along`` is the disc centre's position on the family's radial line in units of the family's
    distance from the axis; from ``desghost/family_stats.json``.
    """
    stats = family_stats(source)
    return {"p": stats["p_big_faint_given_family"], "along": stats["along"]["median"], "r_px": stats["r_px"]["median"]}
