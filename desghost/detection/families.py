"""The ghost-family steps of post-processing (pure numpy).

:func:`complete_families` adds a family's big faint disc where a family was detected without
it, placed with the geometry measured from the annotations (:mod:`desghost.family_geometry`).
:func:`drop_lone_discs` removes a big faint disc that no small ghost accompanies.
"""
import numpy as np

from desghost.detection.instance import Instance
from desghost.family_geometry import AXIS_PX, LARGE_R_PX, family_geometry, find_families
from desghost.mask_geometry import mask_box

__all__ = ["complete_families", "drop_lone_discs"]


def _equivalent_radius(mask):
    return float(np.sqrt(mask.sum() / np.pi))


def is_big_disc(instance, large_r_px=LARGE_R_PX):
    """Whether an instance is a big faint disc: Faint with equivalent radius >= ``large_r_px`` (image px)."""
    return instance.class_name == "Faint" and _equivalent_radius(instance.mask) >= large_r_px


def drop_lone_discs(instances, large_r_px=LARGE_R_PX):
    """Drop the big faint discs of an image in which no small ghost was detected.

    A big faint disc is one ghost of a bright star's family, whose other ghosts are small (Bright,
    or Faint under ``large_r_px``).  Of the paper's annotated images with a big faint disc 7 of 542
    have no small ghost, and of the 30 real images' 83 annotations with one none
    (docs/experiments/session22_lone_disc.md); a disc alone is the detector's commonest false
    alarm on clean exposures (a saturated star without ghosts).

    Parameters
    ----------
    instances : list of Instance
        One image's detections after the score threshold (400x400 masks).
    large_r_px : float
        Equivalent radius from which a Faint instance is a big disc, image px
        (:data:`desghost.family_geometry.LARGE_R_PX`, from the annotations).

    Returns
    -------
    list of Instance
        ``instances`` in their order, without the big faint discs when none of the others is a
        Bright or a small Faint instance (Rays do not count).
    """
    big = [is_big_disc(i, large_r_px) for i in instances]
    has_small_ghost = any(i.class_name in ("Bright", "Faint") and not b for i, b in zip(instances, big))
    return list(instances) if has_small_ghost else [i for i, b in zip(instances, big) if not b]


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
