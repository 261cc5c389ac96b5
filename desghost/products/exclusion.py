"""Exclusion tables: the survey-database FITS table and the ray-tracing text list.

The FITS table starts with exactly the columns the survey databases load -- EXPNUM (>i4),
CCDNUM (>i2), REASON (S30), ANALYST (S30) -- followed by CLASS, SCORE, AREA_FRAC, MODEL,
BAND and DATE_OBS.  The text list uses the ray-tracing header ``#date expnum ccd id ccdnum``
so ``numpy.genfromtxt(path, names=True, dtype=int)`` reads EXPNUM and CCDNUM as before.
"""
import fitsio
import numpy as np

from desghost.atomic import atomic_path

EXCLUSION_DTYPE = np.dtype([("EXPNUM", ">i4"), ("CCDNUM", ">i2"), ("REASON", "S30"), ("ANALYST", "S30"),
                            ("CLASS", "S8"), ("SCORE", ">f4"), ("AREA_FRAC", ">f4"), ("MODEL", "S40"),
                            ("BAND", "S4"), ("DATE_OBS", "S26")])
SURVEY_COLUMNS = ("EXPNUM", "CCDNUM", "REASON", "ANALYST")
#: The PARTIAL HDU, written only when some CCDs were cut-outs: one row per such CCD.
PARTIAL_DTYPE = np.dtype([("EXPNUM", ">i4"), ("CCDNUM", ">i2"), ("DETPOS", "S3"), ("PRESENT_FRAC", ">f4"),
                          ("WINDOW_PX", ">i4", (4,)), ("AREA_FRAC", ">f4"), ("EXCLUDED", "?"), ("NOTE", "S80")])


def exclusion_array(rows):
    """A structured array of exclusion rows (dicts with the lower-case column names)."""
    arr = np.zeros(len(rows), dtype=EXCLUSION_DTYPE)
    for i, r in enumerate(rows):
        arr[i] = (r["expnum"], r["ccdnum"], r["reason"][:30].encode(), r["analyst"][:30].encode(),
                  r["class"].encode(), r["score"], r["area_frac"], r["model"][:40].encode(),
                  r["band"][:4].encode(), r["date_obs"][:26].encode())
    return arr


def partial_array(rows):
    """A structured array of partial-CCD rows (:func:`desghost.products.exclusion_rule.partial_ccd_rows`)."""
    arr = np.zeros(len(rows), dtype=PARTIAL_DTYPE)
    for i, r in enumerate(rows):
        arr[i] = (r["expnum"], r["ccdnum"], r["detpos"].encode(), r["present_frac"], r["window_px"],
                  r["area_frac"], r["excluded"], r["note"][:80].encode())
    return arr


def write_exclusion_fits(path, rows, provenance_cards, partial_rows=()):
    """Write the exclusion BINTABLE (EXTNAME EXCLUDE) atomically.

    Parameters
    ----------
    path : str or Path
    rows : list of dict
        The excluded CCDs (:func:`desghost.products.exclusion_rule.exclusion_rows`).
    provenance_cards : list of dict
        fitsio header records for both HDUs.
    partial_rows : list of dict, optional
        The cut-out CCDs; when any, a second table (EXTNAME PARTIAL, :data:`PARTIAL_DTYPE`)
        says how much of each was read and why it is or is not excluded.
    """
    with atomic_path(path) as tmp:
        with fitsio.FITS(str(tmp), "rw", clobber=True) as f:
            f.write(None, header=provenance_cards)
            f.write(exclusion_array(rows), extname="EXCLUDE", header=provenance_cards)
            if partial_rows:
                f.write(partial_array(partial_rows), extname="PARTIAL", header=provenance_cards)
    return str(path)


def date_yyyymmdd(date_obs):
    """``2016-08-02T05:06:07`` -> ``20160802`` (the ray-tracing lists' date column)."""
    digits = "".join(ch for ch in str(date_obs)[:10] if ch.isdigit())
    return digits if len(digits) == 8 else "0"


def raytrace_lines(rows):
    """Rows in the ``#date expnum ccd id ccdnum`` format (ccd is the ray-tracer's index: nan)."""
    lines = ["#date     expnum ccd id ccdnum"]
    for r in sorted(rows, key=lambda r: (r["expnum"], r["ccdnum"])):
        lines.append(f"{date_yyyymmdd(r['date_obs']):<9} {r['expnum']:>7} nan {r['detpos']:>3} {r['ccdnum']:>3}")
    return lines


def write_raytrace_list(path, rows):
    """Write the ray-tracing style text list atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(raytrace_lines(rows)) + "\n")
    return str(path)
