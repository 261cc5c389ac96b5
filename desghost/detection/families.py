"""The family-completion step of post-processing (pure numpy).

:func:`complete_families` adds a family's big faint disc where a family was detected without
it, placed with the geometry measured from the annotations (:mod:`desghost.family_geometry`).
"""
import numpy as np

from desghost.detection.instance import Instance
from desghost.family_geometry import AXIS_PX, LARGE_R_PX, family_geometry, find_families
from desghost.mask_geometry import mask_box

__all__ = ["complete_families"]


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
        score = max(instances[i].score for i in family["members"]) * geometry["p"]
        added.append(Instance(2, "Faint", float(score), mask_box(mask), mask))
    return sorted(list(instances) + added, key=lambda i: -i.score)
