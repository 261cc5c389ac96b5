"""A compact, comparable digest of desghost's products: exclusion tables, catalog rows, mask pixels.

Used by ``test_products_unchanged.py`` to check that the demo, a night and the ceci stage give
the products recorded in ``tests/data/products_golden.json``.  It reads the files with fitsio
and sqlite3 only (no desghost import), so the same code digested the products of the code
before a refactor and after it.

Scores are rounded to 3 decimals and mask planes are summarised by their pixel count and
centroid per CCD, so that float rounding of another CPU's forward pass (about 1e-7 in the
scores) does not count as a change, while a moved, lost or added pixel region does.
"""
import sqlite3
from pathlib import Path

import fitsio
import numpy as np

SCORE_DECIMALS = 3
MASK_BITS = {"Bright": 15, "Faint": 16, "Rays": 17}


def exclusion_digest(path):
    """Rows of one ``*_exclude.fits`` as lists ``[EXPNUM, CCDNUM, REASON, CLASS, SCORE, AREA_FRAC, BAND]``."""
    rows = fitsio.read(str(path), ext="EXCLUDE")
    return sorted([int(r["EXPNUM"]), int(r["CCDNUM"]), str(r["REASON"]).strip(), str(r["CLASS"]).strip(),
                   round(float(r["SCORE"]), SCORE_DECIMALS), round(float(r["AREA_FRAC"]), 4),
                   str(r["BAND"]).strip()] for r in rows)


def mask_digest(path):
    """``{EXTNAME: {plane: [n_pixels, mean_row, mean_col]}}`` of the non-empty planes of a mask FITS."""
    out = {}
    with fitsio.FITS(str(path)) as fits:
        for hdu in fits[1:]:
            if hdu.get_exttype() != "IMAGE_HDU" or not hdu.get_dims():
                continue
            data = hdu.read()
            planes = {}
            for name, bit in MASK_BITS.items():
                rows, cols = np.nonzero(data & (1 << bit))
                if rows.size:
                    planes[name] = [int(rows.size), round(float(rows.mean()), 1), round(float(cols.mean()), 1)]
            if planes:
                out[hdu.get_extname()] = planes
    return out


def catalog_digest(path, expnums=None):
    """``{expnum: {exposure, instances, excluded}}`` of the desghost rows of a catalog."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    out = {}
    try:
        for e in conn.execute("SELECT * FROM exposures WHERE source='desghost' ORDER BY expnum"):
            if expnums is not None and e["expnum"] not in expnums:
                continue
            inst = conn.execute("SELECT class, score, x0, y0, x1, y1, area_px, ccdnums FROM instances "
                                "WHERE source='desghost' AND expnum=? ORDER BY instance_id", (e["expnum"],))
            excl = conn.execute("SELECT ccdnum, detpos, reason, class, score, area_frac FROM excluded_ccds "
                                "WHERE source='desghost' AND expnum=? ORDER BY ccdnum", (e["expnum"],))
            out[str(e["expnum"])] = {
                "exposure": [e["status"], e["band"], e["date_obs"], e["flavor"], e["n_instances"], e["n_excluded"],
                             Path(e["input"] or "").name],
                "instances": [[r["class"], round(r["score"], SCORE_DECIMALS),
                               [round(r[k], 0) for k in ("x0", "y0", "x1", "y1")], r["area_px"], r["ccdnums"]]
                              for r in inst],
                "excluded": [[r["ccdnum"], r["detpos"], r["reason"], r["class"], round(r["score"], SCORE_DECIMALS),
                              round(r["area_frac"], 4)] for r in excl]}
    finally:
        conn.close()
    return out


def products_digest(outdir, catalog_path=None):
    """Digest of every exposure's products in ``outdir`` (and of its catalog rows, when given)."""
    outdir = Path(outdir)
    out = {}
    for excl in sorted(outdir.glob("D*_desghost_exclude.fits")):
        stem = excl.name[:-len("_exclude.fits")]
        expnum = str(int(stem[1:9]))
        mask = outdir / f"{stem}_mask.fits.fz"
        out[expnum] = {"exclusions": exclusion_digest(excl),
                       "exclusion_txt": (outdir / f"{stem}_exclude.txt").read_text().splitlines()[1:],
                       "mask": mask_digest(mask) if mask.exists() else None}
    if catalog_path is not None:
        for expnum, rows in catalog_digest(catalog_path, {int(k) for k in out}).items():
            out.setdefault(expnum, {})["catalog"] = rows
    return out
