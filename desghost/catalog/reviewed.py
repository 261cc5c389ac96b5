"""The reviewed exclusion list of a catalog: the model's rows, the operators' decisions, the rule.

:func:`desghost.catalog.review.reviewed_exclusions` is the rule; this module reads what it needs
from the catalog (the model's excluded CCDs, the CCDs each instance covers, the decisions) and
turns a missed artifact drawn as a polygon into CCDs with the products' coverage rule.
"""
from dataclasses import replace

import numpy as np
from skimage.draw import polygon as fill_polygon

from desghost.catalog.review import current_decisions, reviewed_exclusions
from desghost.focalplane.ccd_map import ccd_map
from desghost.layout import load_layout
from desghost.mask_geometry import covered_fractions
from desghost.products.exclusion_rule import CCDExclusion

__all__ = ["REVIEW_FILTERS", "polygon_ccds", "reviewed_list", "reviewed_row_dict"]

#: ``desghost query --review``: every row of the reviewed list, or only those a person has (not) reviewed.
REVIEW_FILTERS = ("reviewed", "reviewed-only", "unreviewed-only")


def polygon_ccds(expnum, polygon_px, layout=None):
    """The CCDs a polygon in focal-plane image pixels covers (the products' rule: live CCDs, any pixel).

    Parameters
    ----------
    expnum : int
        Selects the dead CCDs.
    polygon_px : sequence of (float, float)
        ``(x, y)`` vertices, x = column.

    Returns
    -------
    set of int
    """
    layout = layout or load_layout()
    index = ccd_map(layout, expnum)[0]
    mask = np.zeros(index.shape, dtype=bool)
    xs, ys = zip(*polygon_px)
    rr, cc = fill_polygon(np.asarray(ys, float), np.asarray(xs, float), shape=index.shape)
    mask[rr, cc] = True
    return set(covered_fractions(mask, index, dead=set(layout.dead_ccds(expnum))))


def reviewed_list(catalog, model_rows, expnums=None, source="desghost"):
    """The reviewed list of the exposures of ``model_rows`` (and of ``expnums``' reviewed exposures).

    Parameters
    ----------
    catalog : Catalog
    model_rows : list of dict
        The model's excluded-CCD rows (catalog columns), for example a query's result.
    expnums : tuple of int, optional
        ``(lo, hi)``: exposures in this range where a person added artifacts the model missed
        are included too (all such exposures when None).

    Returns
    -------
    list of ReviewedRow
    """
    records = [CCDExclusion.from_row({"nite": None, **r}) for r in model_rows]
    wanted = {r.expnum for r in records}
    decisions = [d for d in catalog.decisions(source=source)
                 if d.expnum in wanted or (d.decision == "missed" and (expnums is None or expnums[0] <= d.expnum <= expnums[1]))]
    wanted |= {d.expnum for d in decisions}
    marks = ",".join("?" * len(wanted))
    instance_ccds, models = {}, {}
    if wanted:
        for r in catalog.query(f"SELECT expnum, instance_id, ccdnums FROM instances WHERE source=? AND expnum IN ({marks})",  # noqa: S608
                               (source, *sorted(wanted))):
            instance_ccds[(r["expnum"], r["instance_id"])] = {int(c) for c in (r["ccdnums"] or "").split(",") if c}
        models = {r["expnum"]: r for r in catalog.query(
            f"SELECT expnum, model, band, date_obs, nite, processed_at FROM exposures WHERE source=? AND expnum IN ({marks})",  # noqa: S608,E501
            (source, *sorted(wanted)))}
    model_id = sorted({str(m["model"] or "").removesuffix(".safetensors") for m in models.values()} - {""}) or ["unknown"]
    decisions = current_decisions(decisions, {e: r["processed_at"] for e, r in models.items()})[0]
    layout = load_layout()
    rows = reviewed_exclusions(records, instance_ccds, decisions, "+".join(model_id),
                               lambda expnum, polygon: polygon_ccds(expnum, polygon, layout))
    return [_described(r, layout, models.get(r.exclusion.expnum)) for r in rows]


def _described(row, layout, exposure):
    """A row a person added, with the CCD's DETPOS and the exposure's band, dates and model filled in."""
    e = row.exclusion
    if e.detpos != "nan" or e.ccdnum not in layout.ccds:
        return row
    fill = {"detpos": layout.ccds[e.ccdnum].detpos}
    if exposure is not None:
        fill.update(band=exposure["band"] or "", date_obs=str(exposure["date_obs"] or ""), nite=str(exposure["nite"] or ""),
                    model=str(exposure["model"] or ""))
    return replace(row, exclusion=replace(e, **fill))


def reviewed_row_dict(row):
    """One reviewed row as query output: the four DES columns, then class, score, decided_at, comment."""
    e, d = row.exclusion, row.decision
    return {"expnum": e.expnum, "ccdnum": e.ccdnum, "reason": e.reason, "analyst": e.analyst,
            "class": e.artifact_class, "score": None if e.score != e.score else e.score,
            "decided_at": d.decided_at if d is not None else None, "comment": d.comment if d is not None else None,
            "detpos": e.detpos, "model": e.model, "band": e.band, "date_obs": e.date_obs, "nite": e.nite}
