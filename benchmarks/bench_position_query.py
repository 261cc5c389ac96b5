"""Position queries on a survey-sized catalog: the HEALPix index against a full scan, in one run.

Builds (once, in ``--work``) a catalog of ``--exposures`` synthetic exposures spread over the
southern sky, a ``--artifact-fraction`` of them with 1-3 instances (discs of 0.02-0.4 degrees
made of mask-block quads, the form :func:`desghost.products.region_table.exposure_regions`
writes) and 3 excluded CCDs each, stored with the catalog's own schema and footprint encoding
(:mod:`desghost.catalog.sky_store`, :mod:`desghost.sky.moc`).  Then prints, for one run:

- ``index``: :func:`desghost.catalog.position.position_rows` (what ``desghost query --ra --dec``
  runs) per position, on positions inside instances and on random positions, for excluded CCDs,
  and for one list of 10 000 distinct targets (half inside instances, half random);
- ``full scan``: the naive way, every instance's quads read and tested for a position (and
  that time 10 000 times for the list);
- ``floor``: the index probes alone (one ``IN`` lookup of the position's NUNIQ cells), the least
  any index lookup does.

    python benchmarks/bench_position_query.py                 # 100 000 exposures
    python benchmarks/bench_position_query.py --exposures 20000 --queries 100
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np

from desghost.catalog.position import Target, position_rows
from desghost.catalog.sky_store import quads_blob, quads_from_blob
from desghost.catalog.store import Catalog
from desghost.sky.moc import disc_probe_ranges, merge_to_cells, polygons_pixels
from desghost.sky.tangent_plane import polygon_distances_deg


def disc_quads(ra0, dec0, radius_deg, strip_deg=0.02):
    """A disc as horizontal strips (convex quads), as mask blocks are: ``(ra (n, 4), dec (n, 4))``."""
    edges = np.arange(-radius_deg, radius_deg, strip_deg)
    mids = np.minimum(np.abs(edges + strip_deg / 2), radius_deg)
    half = np.sqrt(np.maximum(radius_deg ** 2 - mids ** 2, (strip_deg / 2) ** 2))
    dec = np.stack([edges, edges, edges + strip_deg, edges + strip_deg], axis=1) + dec0
    x = np.stack([-half, half, half, -half], axis=1)
    return (ra0 + x / np.cos(np.radians(dec))) % 360.0, dec


def build(path, n_exposures, fraction, seed=11):
    """Write the synthetic catalog; returns the instance centres ``(n, 2)`` in degrees."""
    rng = np.random.default_rng(seed)
    centres = []
    with Catalog(path) as cat, cat.transaction() as conn:
        for expnum in range(1, n_exposures + 1):
            ra_t, dec_t = rng.uniform(0, 360), np.degrees(np.arcsin(rng.uniform(-1, np.sin(np.radians(10)))))
            n_inst = int(rng.integers(1, 4)) if rng.random() < fraction else 0
            conn.execute("INSERT INTO exposures (source, expnum, status, band, date_obs, nite, n_instances,"
                         " tel_ra, tel_dec, pointing_from, footprint) VALUES ('desghost', ?, 'ok', 'r',"
                         " '2019-01-01T00:00:00', '20181231', ?, ?, ?, 'TELRA/TELDEC', 'complete')",
                         (expnum, n_inst, ra_t, dec_t))
            for i in range(n_inst):
                ra0 = (ra_t + rng.normal(0, 0.5) / np.cos(np.radians(dec_t))) % 360
                dec0 = float(np.clip(dec_t + rng.normal(0, 0.5), -89, 89))
                ra, dec = disc_quads(ra0, dec0, rng.uniform(0.02, 0.4))
                centres.append((ra0, dec0))
                conn.execute("INSERT INTO instances (source, expnum, instance_id, class, score, ccdnums, ra_center,"
                             " dec_center) VALUES ('desghost', ?, ?, 'Faint', 0.9, '10', ?, ?)", (expnum, i, ra0, dec0))
                conn.execute("INSERT INTO instance_quads VALUES ('desghost', ?, ?, 10, ?)",
                             (expnum, i, quads_blob(ra, dec)))
                conn.executemany("INSERT INTO sky_cells VALUES ('desghost', ?, 'instance', ?, ?)",
                                 [(expnum, i, int(u)) for u in merge_to_cells(polygons_pixels(ra, dec))])
            for c in range(3 if n_inst else 0):
                ra, dec = disc_quads(ra_t + 0.2 * c, dec_t, 0.08, strip_deg=0.16)
                conn.execute("INSERT INTO excluded_ccds (source, category, expnum, ccdnum, detpos, reason, class,"
                             " ra_1, ra_2, ra_3, ra_4, dec_1, dec_2, dec_3, dec_4) VALUES ('desghost', 'ghost-scatter',"
                             " ?, ?, 'N1', 'Ghost/Scatter', 'Faint', ?,?,?,?,?,?,?,?)",
                             (expnum, 30 + c, *ra[0], *dec[0]))
                conn.executemany("INSERT INTO sky_cells VALUES ('desghost', ?, 'ccd', ?, ?)",
                                 [(expnum, 30 + c, int(u)) for u in merge_to_cells(polygons_pixels(ra[:1], dec[:1]))])
    return np.array(centres)


def full_scan(conn, ra, dec):
    """The naive way: read every instance's quads and test the position against each."""
    hits = []
    for expnum, instance_id, blob in conn.execute("SELECT expnum, instance_id, quads FROM instance_quads"):
        qra, qdec = quads_from_blob(blob)
        if polygon_distances_deg(ra, dec, qra, qdec).min() <= 0:
            hits.append((expnum, instance_id))
    return hits


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--exposures", type=int, default=100_000, help="synthetic exposures in the catalog")
    ap.add_argument("--artifact-fraction", type=float, default=0.3, help="share of exposures with instances")
    ap.add_argument("--queries", type=int, default=300, help="single-position queries of each kind")
    ap.add_argument("--work", default="/tmp/desghost-bench-position", help="folder for the catalog (kept)")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"catalog_{args.exposures}.sqlite"
    meta = path.with_suffix(".json")
    if not meta.exists():
        path.unlink(missing_ok=True)
        centres, build_s = timed(build, path, args.exposures, args.artifact_fraction)
        meta.write_text(json.dumps({"centres": centres.tolist(), "build_s": build_s}))
    stored = json.loads(meta.read_text())
    centres = np.array(stored["centres"])
    rng = np.random.default_rng(5)
    with Catalog(path, readonly=True) as cat:
        n = {t: cat.query(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"] for t in ("exposures", "instances", "sky_cells")}  # noqa: S608
        print(f"catalog: {n['exposures']} exposures, {n['instances']} instances, {n['sky_cells']} index cells, "
              f"{path.stat().st_size / 1e6:.0f} MB (built in {stored['build_s']:.0f} s)")
        inside = centres[rng.choice(len(centres), args.queries)]
        random_pos = np.column_stack([rng.uniform(0, 360, args.queries),
                                      np.degrees(np.arcsin(rng.uniform(-1, np.sin(np.radians(10)), args.queries)))])
        results = {}
        for label, positions in (("on instances", inside), ("random", random_pos)):
            times, hits = [], 0
            for ra, dec in positions:
                rows, s = timed(position_rows, cat, [Target("t", float(ra), float(dec))], "instances")
                times.append(s)
                hits += len(rows)
            results[label] = np.array(times) * 1e3
            print(f"index, one position ({label}): median {np.median(results[label]):.2f} ms, "
                  f"p95 {np.percentile(results[label], 95):.2f} ms, {hits} rows in {len(positions)} queries")
        ccd_times = [timed(position_rows, cat, [Target("t", float(ra), float(dec))], "ccds")[1]
                     for ra, dec in inside]
        print(f"index, one position, excluded CCDs: median {np.median(ccd_times) * 1e3:.2f} ms, "
              f"p95 {np.percentile(ccd_times, 95) * 1e3:.2f} ms")
        list_pos = np.vstack([centres[rng.choice(len(centres), 5_000, replace=False)],
                              np.column_stack([rng.uniform(0, 360, 5_000),
                                               np.degrees(np.arcsin(rng.uniform(-1, np.sin(np.radians(10)), 5_000)))])])
        targets = [Target(str(k), float(r), float(d)) for k, (r, d) in enumerate(list_pos)]
        rows, list_s = timed(position_rows, cat, targets, "instances")
        print(f"index, 10 000-target list (10 000 distinct positions): {list_s:.2f} s "
              f"({list_s / 1e4 * 1e3:.2f} ms per target), {len(rows)} rows")
        probe = disc_probe_ranges(*inside[0], 0.0)[:, 0]
        floor_s = min(timed(lambda: cat.conn.execute(
            "SELECT COUNT(*) FROM sky_cells WHERE nuniq IN (SELECT value FROM json_each(?))",
            (json.dumps(probe.tolist()),)).fetchone())[1] for _ in range(50))
        scan_hits, scan_s = timed(full_scan, cat.conn, *inside[0])
        ours = position_rows(cat, [Target("t", *map(float, inside[0]))], "instances")
        assert {(r["expnum"], r["instance_id"]) for r in ours} == set(scan_hits), "index and full scan disagree"
    median = np.median(results["on instances"])
    print(f"full scan, one position: {scan_s * 1e3:.0f} ms ({len(scan_hits)} hits, the same as the index's); "
          f"a 10 000-target list by full scan: {scan_s * 1e4 / 3600:.1f} h (extrapolated) against {list_s:.1f} s")
    print(f"floor (the index probes alone): {floor_s * 1e3:.3f} ms")
    print(f"ratios: full scan / index = {scan_s * 1e3 / median:.0f}x; index / floor = {median / (floor_s * 1e3):.1f}x;"
          f" goal: one position under 50 ms ({'met' if median < 50 else 'NOT met'})")


if __name__ == "__main__":
    main()
