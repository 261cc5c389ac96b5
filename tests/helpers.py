"""What several test files share: the reference data, the ``desghost`` command in a subprocess,
edited FITS copies, the product digest and the golden inputs.

The digest part reads products with fitsio and sqlite3 only (no desghost import), so the same
code digests the products of the code before a refactor and after it.  Scores are rounded to 3
decimals and mask planes are summarised by their pixel count and centroid per CCD, so that float
rounding of another CPU's forward pass (about 1e-7 in the scores) does not count as a change,
while a moved, lost or added pixel region does.
"""
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import fitsio
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


# -- the reference data and the machine ------------------------------------------------------------
def _cpu_has_native_bf16():
    """True where bfloat16 arithmetic runs in hardware (AVX512-BF16 or AMX); emulated, it is ~100x slower."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(f in flags.split() for f in ("avx512_bf16", "amx_bf16"))


#: bf16 training tests need native bf16: without it 8 steps take over 600 s on 2 cores.
NATIVE_BF16 = _cpu_has_native_bf16()
needs_native_bf16 = pytest.mark.skipif(not NATIVE_BF16, reason="the CPU lacks native bfloat16 (avx512_bf16/amx_bf16):"
                                                               " emulated bf16 training takes over 600 s here")

SHARED_DATA = Path(os.environ.get("DESGHOST_SHARED_DATA",
                                  Path(__file__).resolve().parents[1] / ".." / "shared" / "data")).resolve()


def shared_data(*parts):
    """Path under ../shared/data, or skip the test when the reference data is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data not available: {path} (CI provides ../shared/data beside the checkout)")
    return path


# -- the command line in a real process ------------------------------------------------------------
def yaml_header(path):
    """A header of ``../shared/data/decam/headers`` as a dict (plain YAML, or an LSST PropertyList's list of cards)."""
    import yaml

    text = open(path).read()
    if text.startswith("!<"):  # LSST PropertyList tag: the body is a plain list of cards
        text = text.split("\n", 1)[1]
    doc = yaml.safe_load(text)
    if isinstance(doc, list):
        return {k: v for k, _t, v, _c in doc}
    return doc


def desghost(*args, expect=None, cwd=None, preexec_fn=None, env=None, timeout=600):
    """Run ``python -m desghost ARGS`` and return the CompletedProcess (text output captured).

    ``expect``: the exit code the caller requires (asserted, with the end of stderr in the message).
    """
    out = subprocess.run([sys.executable, "-m", "desghost", *map(str, args)], capture_output=True, text=True,
                         cwd=cwd, preexec_fn=preexec_fn, env=env, timeout=timeout)
    if expect is not None:
        assert out.returncode == expect, f"desghost {' '.join(map(str, args))}: {out.stderr[-3000:]}"
    return out


# -- edited copies of FITS exposures (bad-input tests) ---------------------------------------------
_STRUCTURAL = ("SIMPLE", "XTENSION", "BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "TFIELDS", "TTYPE", "TFORM",
               "BZERO", "BSCALE", "EXTEND", "CHECKSUM", "DATASUM", "ZIMAGE", "ZTENSION", "ZBITPIX", "ZNAXIS",
               "ZTILE", "ZCMPTYPE", "ZNAME", "ZVAL", "ZPCOUNT", "ZGCOUNT", "ZQUANTIZ", "ZDITHER", "ZHECKSUM",
               "ZDATASUM", "ZSIMPLE", "ZEXTEND", "ZBLANK", "ZSCALE", "ZZERO", "EXTNAME")


def header_cards(hdr):
    return [{"name": r["name"], "value": r["value"]} for r in hdr.records()
            if r.get("name") and not r["name"].startswith(_STRUCTURAL) and r["name"] not in ("COMMENT", "HISTORY")]


def copy_exposure(src, dst, keep=None, edit_primary=None, edit_hdu=None, extname=None):
    """Copy ``src`` to ``dst`` (uncompressed), optionally dropping or editing HDUs.

    keep(i, extname) -> bool; edit_primary(cards) -> cards;
    edit_hdu(i, extname, data, cards) -> (data, cards); extname(i, name) -> new name.
    """
    with fitsio.FITS(str(src)) as f, fitsio.FITS(str(dst), "rw", clobber=True) as out:
        cards = header_cards(f[0].read_header())
        if edit_primary:
            cards = edit_primary(cards)
        out.write(None, header=cards)
        for i in range(1, len(f)):
            name = f[i].get_extname()
            if keep and not keep(i, name):
                continue
            data = f[i].read()
            hcards = header_cards(f[i].read_header())
            if edit_hdu:
                data, hcards = edit_hdu(i, name, data, hcards)
            out.write(np.ascontiguousarray(data), header=hcards, extname=extname(i, name) if extname else name)


def set_card(cards, name, value):
    cards = [c for c in cards if c["name"] != name]
    if value is not None:
        cards.append({"name": name, "value": value})
    return cards


# -- hand-made records -----------------------------------------------------------------------------
def exposure_result(expnum, ccds=(5, 6), band="r", date="2017-03-04T01:02:03", cls="Rays"):
    """A hand-made ExposureResult: one instance of class ``cls`` flagging ``ccds`` (the catalog tests' input)."""
    from desghost.detection.instance import Instance
    from desghost.driver.exposure import ExposureResult
    from desghost.products.exclusion_rule import CCDExclusion
    from desghost.projection import CCDCoverage

    m = np.zeros((400, 400), dtype=bool)
    m[10:20, 10:20] = True
    insts = [Instance({"Bright": 1, "Faint": 2, "Rays": 3}[cls], cls, 0.9, (10.0, 10.0, 20.0, 20.0), m)]
    covs = [[CCDCoverage(c, 0.1, 10) for c in ccds]]
    rows = [CCDExclusion(expnum, c, f"X{c}", f"desghost {cls}", "desghost t", cls, 0.9, 0.1, "m", band, date)
            for c in ccds]
    return ExposureResult(expnum, band, date, 57000.0, "raw", f"/data/DECam_{expnum:08d}.fits.fz",
                          np.zeros((400, 400), np.uint8), insts, covs, rows, [61], list(range(1, 61)), [], "m",
                          "m", 0.8, 0.0, {"total": 1.0})


# -- the product digest (tests/data/products_golden.json) ------------------------------------------
GOLDEN = REPO / "tests" / "data" / "products_golden.json"
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


def regions_digest(path):
    """``[[CCDNUM, CLASS, INSTANCE, n quads, mean RA, mean Dec], ...]`` of a ``*_regions.fits`` (degrees to 1e-4)."""
    rows = fitsio.read(str(path), ext="REGIONS")
    out = []
    for key in sorted({(int(r["CCDNUM"]), str(r["CLASS"]).strip(), int(r["INSTANCE"])) for r in rows}):
        sel = rows[(rows["CCDNUM"] == key[0]) & (rows["INSTANCE"] == key[2])]
        ra = np.concatenate([sel[f"RA_{k}"] for k in (1, 2, 3, 4)])
        dec = np.concatenate([sel[f"DEC_{k}"] for k in (1, 2, 3, 4)])
        out.append([*key, len(sel), round(float(ra.mean()), 4), round(float(dec.mean()), 4)])
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
        mask, regions = outdir / f"{stem}_mask.fits.fz", outdir / f"{stem}_regions.fits"
        out[expnum] = {"exclusions": exclusion_digest(excl),
                       "exclusion_txt": (outdir / f"{stem}_exclude.txt").read_text().splitlines()[1:],
                       "mask": mask_digest(mask) if mask.exists() else None,
                       "regions": regions_digest(regions) if regions.exists() else None}
    if catalog_path is not None:
        for expnum, rows in catalog_digest(catalog_path, {int(k) for k in out}).items():
            out.setdefault(expnum, {})["catalog"] = rows
    return out


# -- the golden inputs ----------------------------------------------------------------------------
#: The golden night: five raw exposures and one DES per-CCD directory (flavor, EXPNUM, seed).
GOLDEN_NIGHT = [("raw", 700200 + k, k) for k in range(5)] + [("des", 700205, 5)]


def write_golden_night(folder):
    """Write the golden night's inputs (two artifacts each) and one corrupt file into ``folder``."""
    from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure

    folder = Path(folder)
    for flavor, expnum, seed in GOLDEN_NIGHT:
        out = folder / (f"DECam_{expnum:08d}.fits.fz" if flavor == "raw" else f"D{expnum:08d}")
        write_simulated_exposure(out, SimulationConfig(flavor=flavor, expnum=expnum, seed=seed, n_artifacts=2))
    (folder / "DECam_00700206.fits.fz").write_bytes(b"SIMPLE  =" + b"\0" * 3000)  # corrupt
    return folder


def golden_demo_digest(folder):
    """Digest of ``desghost run --demo`` run into ``folder``."""
    desghost("-q", "run", "--demo", "-o", folder / "demo", "--catalog", folder / "demo" / "catalog.sqlite", expect=0)
    return products_digest(folder / "demo", folder / "demo" / "catalog.sqlite")


def golden_night_digest(inputs, folder):
    """Digest of ``desghost night`` on the golden inputs (the corrupt file: exit 14) into ``folder``."""
    desghost("-q", "night", inputs, "-o", folder / "night", "--workers", 2, expect=14)
    return products_digest(folder / "night", folder / "night" / "desghost_catalog.sqlite")


# -- a real browser ---------------------------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")
needs_browser = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                   reason="needs Chromium and ChromeDriver (.ci/run installs Debian's chromium and "
                                          "chromium-driver as root)")


def headless_chromium(window="1300,1800"):
    """A headless Chromium under Selenium, logging the browser console (the caller quits it)."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is a test extra")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--window-size={window}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
