"""Catalog queries (parameterised SQL only) and source-vs-source comparison."""
import json

from desghost.agreement import ccd_level_scores

__all__ = ["build_query", "compare_sources", "parse_expnum_range"]


def parse_expnum_range(text):
    """``"N"`` or ``"A-B"`` (or an already parsed ``(lo, hi)``) -> (lo, hi)."""
    if text is None:
        return None
    if isinstance(text, tuple):
        return text
    parts = str(text).split("-")
    if len(parts) == 1:
        return int(parts[0]), int(parts[0])
    if len(parts) == 2:
        return int(parts[0]), int(parts[1])
    raise ValueError(f"--expnum must be N or A-B, not {text!r}")


def _in(column, values, where, params):
    if values:
        where.append(f"{column} IN ({','.join('?' * len(values))})")
        params.extend(values)


def build_query(what="ccds", source="desghost", expnum=None, ccdnums=None, bands=None, since=None,
                until=None, classes=None, min_score=None, category=None, expnums=None):
    """SQL and parameters for a catalog query.

    ``what``: ``ccds`` (excluded CCDs), ``instances``, ``exposures`` or ``failures``.
    Dates compare as ISO strings on DATE-OBS (``2017``, ``2017-03`` or full dates work).
    ``expnums``: only these EXPNUMs (any number of them: one JSON parameter).
    """
    where, params = ["t.source = ?"], [source]
    rng = parse_expnum_range(expnum)
    if what == "failures":
        sql = "SELECT t.source, t.input, t.expnum, t.reason, t.exit_code, t.at FROM failures t"
        if rng:
            where.append("t.expnum BETWEEN ? AND ?")
            params.extend(rng)
        return f"{sql} WHERE {' AND '.join(where)} ORDER BY t.at", params
    if what == "ccds":
        sql = ("SELECT t.expnum, t.ccdnum, t.detpos, t.reason, t.analyst, t.class, t.score, t.area_frac, t.model,"
               " COALESCE(t.band, e.band) AS band, COALESCE(e.date_obs, t.date_obs) AS date_obs,"
               " COALESCE(t.nite, e.nite) AS nite, t.category, t.star, t.ra_1, t.ra_2, t.ra_3, t.ra_4, t.dec_1,"
               " t.dec_2, t.dec_3, t.dec_4,"
               " t.source FROM excluded_ccds t LEFT JOIN exposures e ON e.source = t.source AND e.expnum = t.expnum")
        order = "t.expnum, t.ccdnum"
        _in("t.ccdnum", ccdnums, where, params)
        _in("t.class", classes, where, params)
        if category:
            where.append("t.category = ?")
            params.append(category)
    elif what == "instances":
        sql = ("SELECT t.expnum, t.instance_id, t.class, t.score, t.x0, t.y0, t.x1, t.y1, t.area_px, t.ccdnums, t.star,"
               " t.ra_center, t.dec_center, t.radius_deg, e.band, e.date_obs, e.nite, e.model FROM instances t JOIN exposures e ON e.source = t.source"
               " AND e.expnum = t.expnum")
        order = "t.expnum, t.instance_id"
        _in("t.class", classes, where, params)
        if ccdnums:
            where.append("(" + " OR ".join("(',' || t.ccdnums || ',') LIKE ?" for _ in ccdnums) + ")")
            params.extend(f"%,{int(c)},%" for c in ccdnums)
    elif what == "exposures":
        sql = ("SELECT t.expnum, t.status, t.band, t.date_obs, t.nite, t.flavor, t.model, t.threshold, t.n_instances,"
               " t.n_artifacts,"
               " t.n_excluded, t.seconds, t.input, t.software, t.processed_at, t.tel_ra, t.tel_dec, t.pointing_from,"
               " t.footprint"
               " FROM exposures t")
        order = "t.expnum"
    else:
        raise ValueError(f"unknown query target {what!r}")
    date_col = "COALESCE(e.date_obs, t.date_obs)" if what == "ccds" else ("e.date_obs" if what == "instances" else "t.date_obs")
    band_col = "COALESCE(t.band, e.band)" if what == "ccds" else ("e.band" if what == "instances" else "t.band")
    if rng:
        where.append("t.expnum BETWEEN ? AND ?")
        params.extend(rng)
    if expnums is not None:
        where.append("t.expnum IN (SELECT value FROM json_each(?))")
        params.append(json.dumps([int(e) for e in expnums]))
    _in(band_col, bands, where, params)
    if since:
        where.append(f"{date_col} >= ?")
        params.append(str(since))
    if until:
        where.append(f"{date_col} < ?")
        params.append(_until(str(until)))
    if min_score is not None and what in ("ccds", "instances"):
        where.append("t.score >= ?")
        params.append(float(min_score))
    return f"{sql} WHERE {' AND '.join(where)} ORDER BY {order}", params


def _until(text):
    """An inclusive ``--until`` bound: ``2017`` -> everything before ``2018``."""
    if len(text) == 4 and text.isdigit():
        return str(int(text) + 1)
    if len(text) == 7:
        y, m = int(text[:4]), int(text[5:7])
        return f"{y + (m == 12):04d}-{m % 12 + 1:02d}"
    return text + "\uffff"


def compare_sources(catalog, truth="raytrace", pred="desghost", category="ghost-scatter", since=None, until=None):
    """CCD-level precision/recall/F1 of ``pred`` against ``truth`` over exposures both cover.

    An exposure is covered by ``pred`` when it was processed (status ok) and by ``truth`` when
    its EXPNUM lies in the EXPNUM range of one of the truth source's imported lists (a list
    names only affected exposures; the rest of its season is clean).
    """
    params = [pred]
    sql = "SELECT expnum, date_obs FROM exposures WHERE source = ? AND status = 'ok'"
    if since:
        sql += " AND date_obs >= ?"
        params.append(str(since))
    if until:
        sql += " AND date_obs < ?"
        params.append(_until(str(until)))
    pred_exps = {r["expnum"] for r in catalog.query(sql, params)}
    ranges = [(r["expnum_min"], r["expnum_max"]) for r in
              catalog.query("SELECT expnum_min, expnum_max FROM coverage WHERE source = ?", (truth,))]
    if not ranges:
        truth_exps = {r["expnum"] for r in catalog.query("SELECT DISTINCT expnum FROM exposures WHERE source = ?",
                                                         (truth,))}
        both = pred_exps & truth_exps
    else:
        both = {e for e in pred_exps if any(lo <= e <= hi for lo, hi in ranges)}
    sets = {}
    for src, cat in ((truth, category), (pred, "ghost-scatter")):
        rows = catalog.query("SELECT expnum, ccdnum FROM excluded_ccds WHERE source = ? AND category = ?", (src, cat))
        d = {}
        for r in rows:
            if r["expnum"] in both:
                d.setdefault(r["expnum"], set()).add(r["ccdnum"])
        sets[src] = d
    exps = sorted(both)
    scores = ccd_level_scores([sets[pred].get(e, set()) for e in exps], [sets[truth].get(e, set()) for e in exps])
    scores["n_exposures"] = len(exps)
    return scores
