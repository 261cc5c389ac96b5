"""Which CCDs an exposure's instances exclude: the rule, as pure computation.

A CCD is excluded when the union of the instances covers more than ``area_threshold`` of the
area that was read of it (any pixel when 0).  A CCD the input holds only a cut-out of is
judged on its window; one with less than ``min_present_fraction`` of its area read is never
excluded, and its row of the partial-CCD table says why.
"""
from dataclasses import asdict, dataclass, replace

import numpy as np

from desghost.focalplane.ccd_map import ccd_map
from desghost.mask_geometry import covered_fractions as mask_covered_fractions

__all__ = ["CCDExclusion", "covered_fractions", "DEFAULT_MIN_PRESENT_FRACTION", "exclusion_rows", "MODEL_REASON",
           "model_analyst", "PartialCCD", "partial_ccd_rows", "with_stars"]

#: Default least fraction of a CCD that must have been read for it to be excluded.
DEFAULT_MIN_PRESENT_FRACTION = 0.5


#: REASON of desghost's rows: the category of DELVE's ``ghost-scatter`` lists, as their
#: ray-traced rows spell it (``../shared/data/raytrace/yNN/ghost-scatter-yNN.txt``).
MODEL_REASON = "Ghost/Scatter"


def model_analyst(model_name):
    """ANALYST of a row nobody has reviewed: ``desghost-<model id>`` (the model file's name without
    ``.safetensors``; at most 30 characters, the column's width).

    Examples
    --------
    >>> model_analyst("desghost_default.safetensors")
    'desghost-desghost_default'
    """
    stem = str(model_name or "unknown").rsplit("/", 1)[-1].removesuffix(".safetensors")
    return f"desghost-{stem}"[:30]


@dataclass(frozen=True)
class CCDExclusion:
    """One excluded CCD: the row the exclusion table, the text list, the catalog and the report share.

    The first four fields are the DES exclusion lists' columns (EXPNUM >i4, CCDNUM >i2, REASON
    S30, ANALYST S30); the rest are desghost's.

    Attributes
    ----------
    expnum, ccdnum : int
    detpos : str
        As the camera layout spells it (``nan`` when unknown).
    reason, analyst : str
    artifact_class : str
        The class of the highest-scoring instance on the CCD (Bright, Faint, Rays).
    score : float
        That instance's score.
    area_frac : float
        Covered fraction of the (read part of the) CCD, 0..1.
    model, band, date_obs, nite : str
        The model file's name, the filter band, DATE-OBS and the observing night (``YYYYMMDD``).
    star : str
        The bright star whose radial line that instance lies on (:mod:`desghost.sky.bright_stars`),
        as people name stars in the DELVE lists' problem entries; empty when none.
    """

    expnum: int
    ccdnum: int
    detpos: str
    reason: str
    analyst: str
    artifact_class: str
    score: float
    area_frac: float
    model: str
    band: str
    date_obs: str
    nite: str = ""
    star: str = ""

    @classmethod
    def from_row(cls, row):
        """From a mapping with the catalog's column names (``class`` for the class; NULLs as empty values)."""
        return cls(int(row["expnum"]), int(row["ccdnum"]), row["detpos"] or "nan", row["reason"] or "",
                   row["analyst"] or "", row["class"] or "", float(row["score"] or 0.0), float(row["area_frac"] or 0.0),
                   row["model"] or "", row["band"] or "", str(row["date_obs"] or ""), str(row["nite"] or ""),
                   str(row.get("star") or ""))

    def as_dict(self):
        """The catalog's column names and values (``class`` for the class)."""
        d = asdict(self)
        d["class"] = d.pop("artifact_class")
        return d


@dataclass(frozen=True)
class PartialCCD:
    """A CCD the input holds only a cut-out of: how much was read and why it is (not) excluded.

    Attributes
    ----------
    expnum, ccdnum : int
    detpos : str
    present_frac : float
        Fraction of the CCD the cut-out holds.
    window_px : tuple of int
        ``(x0, y0, nx, ny)`` on the CCD.
    area_frac : float
        Covered fraction of the window.
    excluded : bool
    note : str
        Why, in words.
    """

    expnum: int
    ccdnum: int
    detpos: str
    present_frac: float
    window_px: tuple
    area_frac: float
    excluded: bool
    note: str

    def as_dict(self):
        return asdict(self)


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
    list of CCDExclusion
        In CCDNUM order.
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
        rows.append(CCDExclusion(result_like["expnum"], ccdnum, layout.ccds[ccdnum].detpos, MODEL_REASON,
                                 model_analyst(model_name), best_class, float(best_score), float(frac), model_name,
                                 result_like["band"], result_like["date_obs"], result_like.get("nite", "") or ""))
    return rows


def with_stars(rows, instances, coverages, instance_stars):
    """Exclusion rows with the star of the instance each row took its class from.

    Parameters
    ----------
    rows : list of CCDExclusion
    instances, coverages
        As for :func:`exclusion_rows`.
    instance_stars : dict
        ``{instance number: star name}`` (:class:`desghost.sky.footprint.ExposureFootprint`).

    Returns
    -------
    list of CCDExclusion
        New rows; ``star`` is that of the highest-scoring instance on the CCD (the same rule
        as ``artifact_class``), empty when it points to no star.
    """
    out = []
    for row in rows:
        hits = [(inst.score, inst.class_name, k) for k, (inst, cov) in enumerate(zip(instances, coverages))
                if any(c.ccdnum == row.ccdnum for c in cov)]
        star = instance_stars.get(max(hits)[2], "") if hits else ""
        out.append(replace(row, star=star))
    return out


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
    list of PartialCCD
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
        out.append(PartialCCD(expnum, ccdnum, layout.ccds[ccdnum].detpos, w.present_fraction,
                              (w.col0_px, w.row0_px, w.nx_px, w.ny_px), frac, ccdnum in excluded, note))
    return out
