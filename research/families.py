"""Ghost families in annotation geometry: which ghosts belong to one bright star, and where its big faint ghost is.

A bright star's pupil ghosts lie on the radial line from the optical axis through the star, so
the small ghosts (Bright, and Faint below ``large_r_px``) of one family share a polar angle
about the axis.  One ghost of a family is a huge, very faint disc (Faint, equivalent radius at
least ``large_r_px``).  Pure functions of ``(class, col_px, row_px, r_eq_px)`` records in
400x400 image pixels; ``tools/derive_family_stats.py`` runs them over the annotations.
"""
import numpy as np

from desghost.family_geometry import (  # noqa: F401 - the definitions the simulator and detector share
    ANGLE_TOL_DEG,
    AXIS_PX,
    LARGE_R_PX,
    angle_difference_deg,
    find_families,
)


def big_faint_geometry(regions, family, large_r_px=LARGE_R_PX, axis=AXIS_PX):
    """Where an image's big faint disc nearest to a family's line sits, relative to that family.

    Returns
    -------
    dict or None
        ``along`` (position along the family's radial line, in units of the family's distance;
        negative: on the other side of the axis), ``across`` (perpendicular offset, same unit),
        ``angle_offset_deg`` (polar angle of the disc minus the family's; 0 when it sits on the
        axis), ``r_px`` (its equivalent radius), ``family_distance_px``; None when the image has no
        big Faint disc.
    """
    u = np.array([np.cos(np.radians(family["angle_deg"])), np.sin(np.radians(family["angle_deg"]))])
    best = None
    for cls, col, row, r in regions:
        if cls != "Faint" or r < large_r_px:
            continue
        v = np.array([col - axis[0], row - axis[1]])
        along, across = float(v @ u), float(u[0] * v[1] - u[1] * v[0])
        if best is None or abs(across) < abs(best[1]):
            best = (along, across, r, v)
    if best is None:
        return None
    along, across, r, v = best
    scale = family["distance_px"]
    offset = angle_difference_deg(np.degrees(np.arctan2(v[1], v[0])), family["angle_deg"]) if np.hypot(*v) > 1e-9 else 0.0
    return {"along": along / scale, "across": across / scale, "angle_offset_deg": float(offset), "r_px": float(r),
            "family_distance_px": scale}


#: Member-radius classes of a family for the disc share: its largest small ghost (equivalent radius,
#: image px) under or over this.  Measured on the paper's 2000 annotations: the share of outermost
#: families with a big faint disc is 0.32-0.40 below 30 px and 0.84 above (734 families).
MEMBER_RADIUS_SPLIT_PX = 30.0


def disc_share_by_member_radius(images, split_px=MEMBER_RADIUS_SPLIT_PX, **kw):
    """Share of images' outermost families that come with a big faint disc, by their largest member.

    Parameters
    ----------
    images : list of list of tuple
        Each image's ``(class, col_px, row_px, r_eq_px)`` regions.
    split_px : float

    Returns
    -------
    dict
        ``split_px``, and for ``small`` (largest member under ``split_px``) and ``large``:
        ``n`` (families) and ``p`` (share with a disc; None without families).
    """
    counts = {"small": [0, 0], "large": [0, 0]}
    for regions in images:
        families = find_families(regions, **kw)
        if not families:
            continue
        family = max(families, key=lambda f: f["distance_px"])   # the one the simulator completes
        largest = max(regions[i][3] for i in family["members"])
        key = "large" if largest >= split_px else "small"
        counts[key][0] += 1
        counts[key][1] += big_faint_geometry(regions, family, kw.get("large_r_px", LARGE_R_PX)) is not None
    return {"split_px": split_px, **{k: {"n": n, "p": (hit / n if n else None)} for k, (n, hit) in counts.items()}}


def family_statistics(images, **kw):
    """Family statistics over many images' regions (see :func:`find_families`).

    Returns
    -------
    dict
        ``n_images``, ``n_families``, ``p_big_faint_given_family`` (share of families whose image
        has a big Faint disc), ``p_big_faint_without_family``, and over the families that have
        one: median and 16-84 percentiles of ``along``, ``across`` and ``r_px``, the
        least-squares line ``r_px = a + b * family_distance_px`` with its rms scatter, and
        ``disc_by_member_radius`` (:func:`disc_share_by_member_radius`).
    """
    large_r_px = kw.get("large_r_px", LARGE_R_PX)
    n_fam, with_big, geoms, no_family, no_family_big = 0, 0, [], 0, 0
    for regions in images:
        families = find_families(regions, **kw)
        has_big = any(cls == "Faint" and r >= large_r_px for cls, _, _, r in regions)
        if not families:
            no_family += 1
            no_family_big += has_big
        for fam in families:
            n_fam += 1
            g = big_faint_geometry(regions, fam, large_r_px)
            if g is not None:
                with_big += 1
                geoms.append(g)

    def spread(key):
        vals = np.array([g[key] for g in geoms])
        return {"median": float(np.median(vals)), "p16": float(np.percentile(vals, 16)),
                "p84": float(np.percentile(vals, 84))} if len(vals) else None

    out = {"n_images": len(images), "n_families": n_fam,
           "p_big_faint_given_family": with_big / n_fam if n_fam else None,
           "p_big_faint_without_family": no_family_big / no_family if no_family else None,
           "along": spread("along"), "across": spread("across"), "r_px": spread("r_px")}
    if len(geoms) >= 3:
        d = np.array([g["family_distance_px"] for g in geoms])
        r = np.array([g["r_px"] for g in geoms])
        b, a = np.polyfit(d, r, 1)
        out["r_vs_distance"] = {"a_px": float(a), "b": float(b), "rms_px": float(np.sqrt(np.mean((r - a - b * d) ** 2)))}
    out["disc_by_member_radius"] = disc_share_by_member_radius(images, **kw)
    return out
