"""Ghost families among detections, and the family-completion step (pure numpy).

A bright star's pupil ghosts lie on the radial line from the optical axis through the star, so
the small ghosts (Bright, and Faint below ``large_r_px``) of one family share a polar angle
about the axis.  One ghost of a family is a huge, very faint disc that annotators mark even where
its edge is hardly visible.  :func:`complete_families` adds that disc where a family was
detected without it, placed with the geometry measured from the annotations
(``desghost/simulate/family_stats.json``, derived by ``tools/derive_family_stats.py``).
"""
import json
from functools import lru_cache
from importlib import resources

import numpy as np

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
    """One set of ``desghost/simulate/family_stats.json`` (``real_30_per_annotator`` or ``paper_2000``)."""
    return json.loads(resources.files("desghost.simulate").joinpath("family_stats.json").read_text())[source]


def family_geometry(source="real_30_per_annotator"):
    """The measured big-disc geometry: ``{"p", "along", "r_px"}`` (probability, median position, radius).

    ``along`` is the disc centre's position on the family's radial line in units of the family's
    distance from the axis; from ``desghost/simulate/family_stats.json``.
    """
    stats = family_stats(source)
    return {"p": stats["p_big_faint_given_family"], "along": stats["along"]["median"], "r_px": stats["r_px"]["median"]}


def _equivalent_radius(mask):
    return float(np.sqrt(mask.sum() / np.pi))


def complete_families(instances, geometry=None, large_r_px=LARGE_R_PX, axis=AXIS_PX):
    """Add the big faint disc to each detected family that lacks one.

    Parameters
    ----------
    instances : list of Instance
        One image's detections (400x400 masks).
    geometry : dict, optional
        :func:`family_geometry` (the real images' by default).

    Returns
    -------
    list of Instance
        ``instances`` plus one Faint disc per family of at least two small ghosts with no big
        Faint detection near its line; its score is the family's best score times the measured
        probability that a family has such a disc.  Highest score first.
    """
    from desghost.detection.detect import Instance

    geometry = geometry or family_geometry()
    records = []
    for inst in instances:
        rows, cols = np.nonzero(inst.mask)
        if rows.size:
            records.append((inst.class_name, float(cols.mean()), float(rows.mean()), _equivalent_radius(inst.mask)))
        else:
            records.append((inst.class_name, axis[0], axis[1], 0.0))
    added = []
    shape = instances[0].mask.shape if instances else (400, 400)
    for family in find_families(records, large_r_px=large_r_px, axis=axis):
        u = np.array([np.cos(np.radians(family["angle_deg"])), np.sin(np.radians(family["angle_deg"]))])
        has_disc = any(cls == "Faint" and r >= large_r_px
                       and abs(u[0] * (row - axis[1]) - u[1] * (col - axis[0])) <= 0.1 * family["distance_px"]
                       for cls, col, row, r in records)
        if has_disc:
            continue
        centre = np.array(axis) + geometry["along"] * family["distance_px"] * u
        yy, xx = np.ogrid[:shape[0], :shape[1]]
        mask = (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 <= geometry["r_px"] ** 2
        rows, cols = np.nonzero(mask)
        score = max(instances[i].score for i in family["members"]) * geometry["p"]
        bbox = (float(cols.min()), float(rows.min()), float(cols.max() + 1), float(rows.max() + 1))
        added.append(Instance(2, "Faint", float(score), bbox, mask))
    return sorted(list(instances) + added, key=lambda i: -i.score)
