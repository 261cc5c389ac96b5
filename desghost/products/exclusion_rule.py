"""Which CCDs an exposure's instances exclude: the rule, as pure computation.

A CCD is excluded when the union of the instances covers more than ``area_threshold`` of the
area that was read of it (any pixel when 0).  A CCD the input holds only a cut-out of is
judged on its window; one with less than ``min_present_fraction`` of its area read is never
excluded, and its row of the partial-CCD table says why.
"""
import numpy as np

from desghost import __version__
from desghost.classes import CLASS_ORDER
from desghost.focalplane.ccd_map import ccd_map
from desghost.mask_geometry import covered_fractions as mask_covered_fractions

__all__ = ["covered_fractions", "DEFAULT_MIN_PRESENT_FRACTION", "exclusion_rows", "partial_ccd_rows"]

#: Default least fraction of a CCD that must have been read for it to be excluded.
DEFAULT_MIN_PRESENT_FRACTION = 0.5


def covered_fractions(instances, ccd_index, dead=()):
    """``{ccdnum: fraction}`` of each CCD's (read) image pixels the union of the instances covers.

    The rule of :func:`desghost.mask_geometry.covered_fractions`.
    """
    union = np.zeros(ccd_index.shape, dtype=bool)
    for inst in instances:
        union |= inst.mask
    return {c: frac for c, (frac, _) in mask_covered_fractions(union, ccd_index, dead=dead).items()}


def exclusion_rows(result_like, instances, coverages, layout, present, model_name, area_threshold, ccd_index=None,
                   windows=None, min_present_fraction=DEFAULT_MIN_PRESENT_FRACTION):
    """One exclusion row per excluded CCD (union of all instances on it).

    Parameters
    ----------
    result_like : dict
        ``expnum``, ``band``, ``date_obs``, ``nite`` (optional) and ``dead`` (CCDNUMs).
    instances : list of Instance
    coverages : list of list of CCDCoverage
        Per instance, the CCDs it covers (same order as ``instances``).
    layout : CameraLayout
    present : collection of int
        CCDs that contributed pixels to the image.
    model_name : str
    area_threshold : float
        Least covered fraction that excludes a CCD (0: any pixel).
    ccd_index : ndarray of int16, shape (400, 400), optional
        CCDNUM per image pixel, cut-outs restricted to their window
        (:func:`desghost.projection.restrict_to_windows`); the layout's map when None.
    windows : dict, optional
        ``{ccdnum: CCDWindow}`` of the cut-out CCDs.
    min_present_fraction : float
        A cut-out with less of its CCD than this is never excluded.

    Returns
    -------
    list of dict
        Lower-case keys of :data:`desghost.products.exclusion.EXCLUSION_DTYPE`, plus ``detpos``.
    """
    index_img = ccd_map(layout, result_like["expnum"])[0] if ccd_index is None else ccd_index
    windows = windows or {}
    rows = []
    for ccdnum, frac in sorted(covered_fractions(instances, index_img, result_like["dead"]).items()):
        if ccdnum not in present or frac <= 0 or (area_threshold > 0 and frac < area_threshold):
            continue
        if ccdnum in windows and windows[ccdnum].present_fraction < min_present_fraction:
            continue
        hits = [(inst.score, inst.class_name) for inst, cov in zip(instances, coverages)
                if any(c.ccdnum == ccdnum for c in cov)]
        best_score, best_class = max(hits)
        classes = "+".join(c for c in CLASS_ORDER if any(h[1] == c for h in hits))
        rows.append({"expnum": result_like["expnum"], "ccdnum": ccdnum, "detpos": layout.ccds[ccdnum].detpos,
                     "reason": f"desghost {classes}", "analyst": f"desghost {__version__}",
                     "class": best_class, "score": float(best_score), "area_frac": float(frac),
                     "model": model_name, "band": result_like["band"], "date_obs": result_like["date_obs"],
                     "nite": result_like.get("nite", "")})
    return rows


def partial_ccd_rows(expnum, instances, ccd_index, layout, windows, excluded, min_present_fraction):
    """One row per cut-out CCD: how much of it was read, what covered it, and why it is (not) excluded.

    Parameters
    ----------
    expnum : int
    instances : list of Instance
    ccd_index : ndarray of int16, shape (400, 400)
        Restricted to the windows (:func:`desghost.projection.restrict_to_windows`).
    layout : CameraLayout
    windows : dict
        ``{ccdnum: CCDWindow}``.
    excluded : collection of int
        The CCDs :func:`exclusion_rows` excluded.
    min_present_fraction : float

    Returns
    -------
    list of dict
        ``expnum, ccdnum, detpos, present_frac, window_px (x0, y0, nx, ny on the CCD),
        area_frac (covered fraction of the window), excluded (bool), note``.
    """
    if not windows:
        return []
    covered = covered_fractions(instances, ccd_index)
    out = []
    for ccdnum, w in sorted(windows.items()):
        frac = covered.get(ccdnum, 0.0)
        window_px = int((ccd_index == ccdnum).sum())
        if ccdnum in excluded:
            note = f"excluded: judged on the {100 * w.present_fraction:.2g}% of the CCD read"
        elif window_px == 0:
            note = "window smaller than one image pixel: not seen by the detector"
        elif frac > 0 and w.present_fraction < min_present_fraction:
            note = (f"not excluded: only {100 * w.present_fraction:.2g}% of the CCD read "
                    f"(less than {100 * min_present_fraction:.3g}%)")
        else:
            note = "no artifact in the part read" if frac == 0 else "not excluded: below the area threshold"
        out.append({"expnum": expnum, "ccdnum": ccdnum, "detpos": layout.ccds[ccdnum].detpos,
                    "present_frac": w.present_fraction, "window_px": (w.col0_px, w.row0_px, w.nx_px, w.ny_px),
                    "area_frac": frac, "excluded": ccdnum in excluded, "note": note})
    return out
