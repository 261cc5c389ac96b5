"""Ghost families in annotation geometry: which ghosts belong to one bright star, and where its big faint ghost is.

A bright star's pupil ghosts lie on the radial line from the optical axis through the star, so
the small ghosts (Bright, and Faint below ``large_r_px``) of one family share a polar angle
about the axis.  One ghost of a family is a huge, very faint disc (Faint, equivalent radius at
least ``large_r_px``).  Pure functions of ``(class, col_px, row_px, r_eq_px)`` records in
400x400 image pixels; ``tools/derive_family_stats.py`` runs them over the annotations.
"""
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


def _angle_diff(a, b):
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
    offset = _angle_diff(np.degrees(np.arctan2(v[1], v[0])), family["angle_deg"]) if np.hypot(*v) > 1e-9 else 0.0
    return {"along": along / scale, "across": across / scale, "angle_offset_deg": float(offset), "r_px": float(r),
            "family_distance_px": scale}


def family_statistics(images, **kw):
    """Family statistics over many images' regions (see :func:`find_families`).

    Returns
    -------
    dict
        ``n_images``, ``n_families``, ``p_big_faint_given_family`` (share of families whose image
        has a big Faint disc), ``p_big_faint_without_family``, and over the families that have
        one: median and 16-84 percentiles of ``along``, ``across`` and ``r_px``, and the
        least-squares line ``r_px = a + b * family_distance_px`` with its rms scatter.
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
    return out
