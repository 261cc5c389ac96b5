"""Position queries: which instances, excluded CCDs or exposures cover a place on the sky.

Two steps per target.  The index (``sky_cells``, :mod:`desghost.sky.moc`) names the candidates:
every footprint with a cell that holds an index pixel within the search radius.  The exact test
then measures the distance from the position to the footprint itself -- an instance's mask
quads (:mod:`desghost.catalog.sky_store`), an excluded CCD's corner quad -- in the tangent plane
at the position, and keeps those within the radius.  A position in a candidate's index pixel
but off its mask is not returned.  A box (``--region box:...``) is tested the same way with the
separating-axis test (:func:`desghost.sky.tangent_plane.polygons_meet_box`).
"""
from dataclasses import dataclass

import numpy as np

from desghost.catalog.queries import build_query
from desghost.catalog.sky_store import quads_from_blob
from desghost.sky.moc import box_probe_ranges, disc_probe_ranges
from desghost.sky.tangent_plane import polygon_distances_deg, polygons_meet_box

__all__ = ["find_hits", "footprint_coverage", "Hit", "position_rows", "Target"]


@dataclass(frozen=True)
class Target:
    """A place asked about: a position (and radius) or an RA/Dec box.

    Attributes
    ----------
    name : str
        The target's ID (the file's ID/NAME column, else its row number from 1).
    ra_deg, dec_deg : float
        The position (a box's middle).
    radius_deg : float
    box_deg : tuple or None
        ``(ra_min, ra_max, dec_min, dec_max)`` for a box.
    """

    name: str
    ra_deg: float
    dec_deg: float
    radius_deg: float = 0.0
    box_deg: tuple | None = None


@dataclass(frozen=True)
class Hit:
    """A footprint found at a target: ``item`` is the instance number or the CCDNUM.

    ``ccdnum`` is the CCD whose quad is nearest the position; ``distance_deg`` 0 inside the mask.
    """

    target: int
    expnum: int
    item: int
    ccdnum: int
    distance_deg: float


def _probe_ranges(target):
    if target.box_deg is None:
        return disc_probe_ranges(target.ra_deg, target.dec_deg, target.radius_deg)
    return box_probe_ranges(target.box_deg)


def _candidates(conn, targets, kind, source):
    """``{(target index, expnum, item)}`` of footprints whose index cells meet each target's probe ranges."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS probe (target INTEGER, lo INTEGER, hi INTEGER)")
    conn.execute("DELETE FROM probe")
    conn.executemany("INSERT INTO probe VALUES (?, ?, ?)",
                     [(i, int(lo), int(hi)) for i, t in enumerate(targets) for lo, hi in _probe_ranges(t)])
    # each probe range, then a range scan of the nuniq index: CROSS JOIN fixes the loop order and
    # INDEXED BY the index (SQLite's planner otherwise scans all of the source's cells)
    rows = conn.execute("SELECT DISTINCT p.target, c.expnum, c.item FROM probe p CROSS JOIN sky_cells c"
                        " INDEXED BY sky_cells_by_nuniq ON c.nuniq BETWEEN p.lo AND p.hi WHERE c.source = ? AND c.kind = ?",
                        (source, kind)).fetchall()
    conn.execute("DELETE FROM probe")
    return rows


def _instance_quads(conn, source, expnum, instance_id):
    """``(ccdnum (n,), ra (n, 4), dec (n, 4))`` of one instance's mask quads."""
    rows = conn.execute("SELECT ccdnum, quads FROM instance_quads WHERE source=? AND expnum=? AND instance_id=?",
                        (source, expnum, instance_id)).fetchall()
    parts = [(np.full(len(q[0]), c), *q) for c, blob in rows for q in [quads_from_blob(blob)]]
    if not parts:
        return np.zeros(0, int), np.zeros((0, 4)), np.zeros((0, 4))
    return tuple(np.concatenate(p) for p in zip(*parts))


def _ccd_quad(conn, source, expnum, ccdnum):
    row = conn.execute("SELECT ra_1, ra_2, ra_3, ra_4, dec_1, dec_2, dec_3, dec_4 FROM excluded_ccds WHERE"
                       " source=? AND category='ghost-scatter' AND expnum=? AND ccdnum=?",
                       (source, expnum, ccdnum)).fetchone()
    if row is None or row[0] is None:
        return np.zeros(0, int), np.zeros((0, 4)), np.zeros((0, 4))
    return np.array([ccdnum]), np.array([row[:4]], float), np.array([row[4:]], float)


def _nearest(target, ccdnums, ra, dec):
    """``(ccdnum, distance_deg)`` of the quad nearest the target (0 inside; a box: 0 when they meet), or None."""
    if not len(ccdnums):
        return None
    if target.box_deg is not None:
        meet = polygons_meet_box(ra, dec, target.box_deg)
        return (int(ccdnums[np.argmax(meet)]), 0.0) if meet.any() else None
    dist = polygon_distances_deg(target.ra_deg, target.dec_deg, ra, dec)
    k = int(np.argmin(dist))
    return (int(ccdnums[k]), float(dist[k])) if dist[k] <= target.radius_deg else None


def find_hits(conn, targets, kind, source="desghost"):
    """Footprints within each target's radius (or meeting its box), by index lookup then exact test.

    Parameters
    ----------
    conn : sqlite3.Connection
        A catalog of schema 6 (a read-only connection will do: the probe is a TEMP table).
    targets : list of Target
    kind : {"instance", "ccd"}
        Instance masks or excluded CCDs' corner quads.
    source : str

    Returns
    -------
    list of Hit
        By target, then EXPNUM, then item.
    """
    load = _instance_quads if kind == "instance" else _ccd_quad
    cache, hits = {}, []
    for t_index, expnum, item in sorted(_candidates(conn, targets, kind, source)):
        key = (expnum, item)
        if key not in cache:
            cache[key] = load(conn, source, expnum, item)
        found = _nearest(targets[t_index], *cache[key])
        if found is not None:
            hits.append(Hit(t_index, expnum, item, *found))
    return hits


def footprint_coverage(conn, source="desghost"):
    """How many processed exposures have a ``complete``, ``partial`` or no (NULL) sky footprint."""
    rows = conn.execute("SELECT COALESCE(footprint, 'none'), COUNT(*) FROM exposures WHERE source=? AND status='ok'"
                        " GROUP BY 1", (source,)).fetchall()
    return {k: n for k, n in rows}


def _row_key(what, row):
    if what == "ccds":
        return row["expnum"], row["ccdnum"]
    if what == "instances":
        return row["expnum"], row["instance_id"]
    return row["expnum"]


def position_rows(catalog, targets, what="instances", source="desghost", **filters):
    """One row per target and hit, with the target's columns first.

    Parameters
    ----------
    catalog : Catalog
    targets : list of Target
    what : {"instances", "ccds", "exposures"}
        Exposures: one row per exposure with an instance at the target (``n_hits``, the
        nearest ``distance_arcsec``, the classes hit), after the instance filters.
    source : str
    **filters
        :func:`desghost.catalog.queries.build_query`'s other filters (``bands``, ``since``,
        ``classes``, ``min_score``, ...), applied to the rows found (for exposures: the
        instance filters to the instances hit); CCDs are of ``category`` ghost-scatter unless
        another is given.

    Returns
    -------
    list of dict
        ``target``, ``target_ra``, ``target_dec``, ``distance_arcsec`` (0: on the mask), then
        the query's columns (instances and CCDs: also ``hit_ccdnum``, the CCD at the position).
    """
    if what == "ccds":
        filters["category"] = filters.get("category") or "ghost-scatter"
    hits = find_hits(catalog.conn, targets, "ccd" if what == "ccds" else "instance", source)
    if not hits:
        return []
    expnums = sorted({h.expnum for h in hits})
    if what == "exposures":     # the instance filters decide which hits count
        sql, params = build_query("instances", source, expnums=expnums, **filters)
        instances = {(r["expnum"], r["instance_id"]): r["class"] for r in catalog.query(sql, params)}
        hits = [h for h in hits if (h.expnum, h.item) in instances]
        filters = {k: v for k, v in filters.items() if k not in ("classes", "min_score", "ccdnums")}
    sql, params = build_query(what, source, expnums=expnums, **filters)
    rows = {_row_key(what, r): r for r in catalog.query(sql, params)}
    out = {}
    for h in hits:
        key = h.expnum if what == "exposures" else (h.expnum, h.item)
        if key not in rows:
            continue
        t = targets[h.target]
        head = {"target": t.name, "target_ra": t.ra_deg, "target_dec": t.dec_deg,
                "distance_arcsec": round(h.distance_deg * 3600.0, 3)}
        if what != "exposures":
            out[(h.target, key)] = {**head, "hit_ccdnum": h.ccdnum, **rows[key]}
            continue
        row = out.setdefault((h.target, key), {**head, "n_hits": 0, "classes": set(), **rows[key]})
        row["n_hits"] += 1
        row["classes"].add(instances[(h.expnum, h.item)])
        row["distance_arcsec"] = min(row["distance_arcsec"], head["distance_arcsec"])
    for row in out.values():
        if what == "exposures":
            row["classes"] = ",".join(sorted(row["classes"]))
    return list(out.values())
