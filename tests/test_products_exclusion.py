"""Products of one exposure: projection, mask FITS, exclusion tables, overlay, the run command."""
import json
import subprocess
import sys

import fitsio
import numpy as np
import pytest

from desghost.catalog.raytrace import read_list
from desghost.classes import CLASS_BITS, DES_BITS, class_value
from desghost.detection.instance import Instance
from desghost.driver.exposure import ExposureResult, product_names
from desghost.focalplane.binning import bin_ccd_into_box
from desghost.focalplane.ccd_map import ccd_map, default_orientation
from desghost.layout import load_layout
from desghost.mask_geometry import ccd_area_px
from desghost.products.exclusion import write_exclusion_fits, write_raytrace_list
from desghost.products.exclusion_rule import exclusion_rows
from desghost.products.maskfits import CCDMaskFrame, write_mask_fits
from desghost.products.overlay import write_overlay
from desghost.projection import ccd_mask, coverage


def square(r0, r1, c0, c1):
    m = np.zeros((400, 400), dtype=bool)
    m[r0:r1, c0:c1] = True
    return m


@pytest.fixture(scope="module")
def result():
    layout = load_layout()
    index, _ = ccd_map(layout, 700001)
    area = ccd_area_px(index)
    insts = [Instance(1, "Bright", 0.95, (200.0, 145.0, 260.0, 171.0), square(145, 171, 200, 260)),
             Instance(3, "Rays", 0.85, (150.0, 360.0, 250.0, 395.0), square(360, 395, 150, 250))]
    covs = [coverage(i.mask, index, area, dead={61}) for i in insts]
    meta = {"expnum": 700001, "band": "r", "date_obs": "2017-12-01T03:04:05", "dead": {61}}
    present = set(range(1, 63)) - {61}
    rows = exclusion_rows(meta, insts, covs, layout, present, "test.safetensors", 0.0)
    return ExposureResult(700001, "r", "2017-12-01T03:04:05", 58088.1, "raw", "x.fits.fz",
                          np.full((400, 400), 55, np.uint8), insts, covs, rows, [61], sorted(present), [],
                          "test.safetensors", "test.safetensors", 0.8, 0.0)


def test_projection_round_trip_and_orientation():
    layout = load_layout()
    m = square(145, 171, 200, 260)
    geom = layout.ccds[21]
    cm = ccd_mask(m, geom.box_px, 512, 256)
    assert cm.shape == (512, 256)
    back = bin_ccd_into_box(cm.astype(np.float32), default_orientation(layout), geom.box_px, (400, 400))
    sub = m[back.rows.start:back.rows.stop, back.cols.start:back.cols.stop]
    assert np.array_equal(back.mean > 0.5, sub)
    # CCD y runs left in the image: the mask's left part of the box is the high-y end of the CCD
    left_in_box = m[155, int(geom.box_px[0]) + 1]
    assert cm[-1, 128] == left_in_box


def test_dead_ccds_are_never_reported(result):
    index, _ = ccd_map(load_layout(), 700001)
    covs = coverage(square(360, 395, 150, 250), index, dead={61})
    assert 61 not in {c.ccdnum for c in covs} and {60, 62} & {c.ccdnum for c in covs}
    assert 61 not in {r.ccdnum for r in result.exclusions}


def test_area_threshold_drops_lightly_touched_ccds(result):
    layout = load_layout()
    meta = {"expnum": 700001, "band": "r", "date_obs": "2017-12-01", "dead": {61}}
    present = set(range(1, 63)) - {61}
    any_px = exclusion_rows(meta, result.instances, result.coverages, layout, present, "m", 0.0)
    ten = exclusion_rows(meta, result.instances, result.coverages, layout, present, "m", 0.10)
    assert {r.ccdnum for r in ten} < {r.ccdnum for r in any_px}
    assert all(r.area_frac >= 0.10 for r in ten)


def test_exclusion_fits_has_the_survey_columns_first(result, tmp_path):
    path = write_exclusion_fits(tmp_path / "e.fits", result.exclusions, [{"name": "DGVERS", "value": "x"}])
    with fitsio.FITS(path) as f:
        h = f["EXCLUDE"].read_header()
        assert [h[f"TTYPE{i}"] for i in range(1, 5)] == ["EXPNUM", "CCDNUM", "REASON", "ANALYST"]
        assert [h[f"TFORM{i}"].strip() for i in range(1, 5)] == ["J", "I", "30A", "30A"]
        assert [h[f"TTYPE{i}"] for i in range(5, 11)] == ["CLASS", "SCORE", "AREA_FRAC", "MODEL", "BAND", "DATE_OBS"]
        data = f["EXCLUDE"].read()
    assert data.dtype["EXPNUM"] == np.dtype(">i4") and data.dtype["CCDNUM"] == np.dtype(">i2")
    assert set(data["EXPNUM"]) == {700001} and len(data) == len(result.exclusions)
    assert all(a.startswith("desghost") for a in data["ANALYST"])


def test_raytrace_list_reads_with_genfromtxt(result, tmp_path):
    path = write_raytrace_list(tmp_path / "x.txt", result.exclusions)
    arr = np.genfromtxt(path, names=True, dtype=int)
    assert arr.dtype.names == ("date", "expnum", "ccd", "id", "ccdnum")
    assert set(arr["expnum"]) == {700001}
    assert sorted(arr["ccdnum"].tolist()) == sorted(r.ccdnum for r in result.exclusions)
    assert set(arr["date"]) == {20171201}
    assert [r[2] for r in read_list(path)] == sorted(r.ccdnum for r in result.exclusions)


def test_mask_bits_do_not_collide_with_des_bits():
    assert not set(CLASS_BITS.values()) & set(DES_BITS.values())
    assert class_value("Bright") == 32768


def test_mask_fits_structure(result, tmp_path):
    layout = load_layout()
    frames = {c: CCDMaskFrame(512, 256, default_orientation(layout), []) for c in result.ccds_present}
    path = write_mask_fits(tmp_path / "m.fits.fz", result, layout, frames, [{"name": "DGVERS", "value": "t"}])
    with fitsio.FITS(path) as f:
        names = [h.get_extname() for h in f]
        assert "N30" not in names and "S10" in names and names[-2:] == ["FOCALPLANE", "INSTANCES"]
        h = f["S10"].read_header()
        assert h["CCDNUM"] == 21 and h["EXPNUM"] == 700001 and h["MP_GHOST_BRIGHT"] == 15
        assert f["S10"].is_compressed()
        s10 = f["S10"].read()
        assert s10.shape == (512, 256) and set(np.unique(s10)) == {0, 32768}
        n29 = f["N29"].read()  # CCD 60 under the Rays square
        assert set(np.unique(n29)) == {0, class_value("Rays")}
        fpm = f["FOCALPLANE"].read()
        assert fpm[160, 230] == 32768 and fpm[370, 160] == class_value("Rays") and fpm[10, 10] == 0
        inst = f["INSTANCES"].read()
        assert list(inst["CLASS"]) == ["Bright", "Rays"]
        ccds = [int(c) for c in inst["CCDNUMS"][0].split(",")]
        fracs = [float(x) for x in inst["AREA_FRACS"][0].split(",")]
        assert ccds == [21, 27, 28] and fracs[0] > 0.5 and all(0 < x < 0.1 for x in fracs[1:])
        assert f[0].read_header()["DGVERS"] == "t"


def test_overlay_png(result, tmp_path):
    from PIL import Image
    path = write_overlay(tmp_path / "o.png", result, load_layout(), {"DGVERS": "t"})
    img = np.asarray(Image.open(path).convert("RGB"))
    assert img.shape[:2] == (822, 1868)  # 2x the image outlined, 2x it plain, a title line and the legend panel
    magenta = np.all(img == [255, 0, 255], axis=-1).sum()
    red = np.all(img == [255, 60, 60], axis=-1).sum()
    assert magenta > 100 and red > 50


def test_a_busy_overlay_numbers_every_ccd_and_no_label_overlaps_another(result):
    """40 instances over the focal plane: every label placed is clear of every other, all 62 CCDs numbered."""
    import dataclasses

    from desghost.products.label_layout import overlaps
    from desghost.products.overlay import overlay_labels, render_overlay

    layout = load_layout()
    index, _ = ccd_map(layout, 700001)
    area = ccd_area_px(index)
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:400, :400]
    insts = []
    for k in range(40):
        r, c, a, b = rng.uniform(20, 380), rng.uniform(20, 380), rng.uniform(6, 90), rng.uniform(6, 60)
        mask = ((yy - r) / b) ** 2 + ((xx - c) / a) ** 2 <= 1
        rows, cols = np.nonzero(mask)
        name = ("Bright", "Faint", "Rays")[k % 3]
        insts.append(Instance(k % 3 + 1, name, float(rng.uniform(0.4, 1)),
                              (float(cols.min()), float(rows.min()), float(cols.max() + 1), float(rows.max() + 1)), mask))
    covs = [coverage(i.mask, index, area, dead={61}) for i in insts]
    meta = {"expnum": 700001, "band": "r", "date_obs": "2017-12-01T03:04:05", "dead": {61}}
    rows = exclusion_rows(meta, insts, covs, layout, set(range(1, 63)) - {61}, "test.safetensors", 0.0)
    busy = dataclasses.replace(result, instances=insts, coverages=covs, exclusions=rows)
    labels = overlay_labels(busy, layout)
    placed = [lab["box"] for lab in labels if lab["box"] is not None]
    assert not any(overlaps(a, b) for i, a in enumerate(placed) for b in placed[i + 1:])
    ccd_labels = [lab for lab in labels if lab["kind"] != "instance"]
    assert sorted(int(lab["text"]) for lab in ccd_labels) == list(range(1, 63))
    assert all(lab["box"] is not None and lab["box"][0] >= 0 and lab["box"][2] <= 800 for lab in ccd_labels)
    assert {lab["kind"] for lab in ccd_labels} == {"ccd", "excluded_ccd"} and len(rows) > 30
    instance_labels = [lab for lab in labels if lab["kind"] == "instance"]
    assert len(instance_labels) == 40 and sum(lab["box"] is not None for lab in instance_labels) >= 30
    img = np.asarray(render_overlay(busy, layout))
    assert img.shape == (822, 1868, 3) and img[30:800, 1620:].any()  # the legend and instance list are drawn


def test_product_names_come_from_expnum_only():
    names = product_names(229388)
    assert names["mask"] == "D00229388_desghost_mask.fits.fz"
    assert all("/" not in n and ".." not in n for n in names.values())


@pytest.mark.e2e
def test_desghost_run_end_to_end(tmp_path, raw_exposure):
    import torch

    from desghost.detection.model import ModelConfig, build_model, save_model
    torch.manual_seed(1)
    model = tmp_path / "m.safetensors"
    save_model(model, build_model(ModelConfig()), ModelConfig())
    cat = tmp_path / "c.sqlite"
    bad = tmp_path / "bad.fits"
    bad.write_text("nope" * 1000)
    out = subprocess.run([sys.executable, "-m", "desghost", "run", raw_exposure[0], str(bad), "-o",
                          str(tmp_path / "out"), "--model", str(model), "--threshold", "0.05", "--catalog", str(cat),
                          "--json", "--healpix", str(tmp_path / "map.fits"), "--nside", "64"],
                         capture_output=True, text=True)
    assert out.returncode == 14, out.stderr
    assert "bad.fits" in out.stderr and "1 failed" in out.stderr
    rec = json.loads(out.stdout.splitlines()[0])
    assert rec["expnum"] == 700001
    for key in ("mask", "exclusion_fits", "exclusion_txt", "overlay"):
        assert (tmp_path / "out" / product_names(700001)[key]).exists()
    assert not list((tmp_path / "out").glob("*.part-*")) and not list((tmp_path / "out").glob(".*"))
    assert not (tmp_path / "out" / "desghost_catalog.sqlite").exists()  # --catalog named another
    from desghost.catalog.store import Catalog
    with Catalog(cat, create=False) as c:
        assert c.query("SELECT COUNT(*) AS n FROM exposures")[0]["n"] == 1
        fails = c.query("SELECT input, exit_code FROM failures")
        assert len(fails) == 1 and fails[0]["exit_code"] == 3
        n_excl = c.query("SELECT COUNT(*) AS n FROM excluded_ccds")[0]["n"]
    assert n_excl == len(rec["excluded_ccds"])
    with fitsio.FITS(tmp_path / "out" / product_names(700001)["mask"]) as f:
        h = f[0].read_header()
        assert h["DGMODEL"] == "m.safetensors" and h["DGTHRESH"] == pytest.approx(0.05) and h["EXPNUM"] == 700001
        assert f["S1"].read().shape == (512, 256)
        assert f["S1"].read_header()["CTYPE1"] == "RA---TAN"  # WCS carried over, CRPIX in the data frame
    import healpy as hp
    hmap = hp.read_map(str(tmp_path / "map.fits"))
    assert hp.npix2nside(hmap.size) == 64
    assert (hmap.sum() > 0) == (len(rec["excluded_ccds"]) > 0)


def test_an_empty_ccd_mask_written_without_compression_reads_as_cfitsio_s(tmp_path):
    """The shortcut HDU holds what cfitsio writes for zeros: same pixels, keywords and values."""
    from astropy.io import fits

    from desghost.products.maskfits import MASK_TILE_ROWS, write_empty_mask_hdu

    cards = [{"name": "CCDNUM", "value": 5}, {"name": "DETPOS", "value": "S25"}, {"name": "CD1_1", "value": 7.3e-5}]
    path = str(tmp_path / "m.fits")
    ny, nx = 3 * MASK_TILE_ROWS + 17, 96  # a last tile shorter than the others
    with fitsio.FITS(path, "rw", clobber=True) as f:
        f.write(None)
        f.write(np.zeros((ny, nx), np.int32), extname="CFITSIO", header=cards, compress="PLIO",
                tile_dims=[MASK_TILE_ROWS, nx])
        write_empty_mask_hdu(f, ny, nx, "SHORTCUT", cards)
        f.write(np.arange(6, dtype=np.int32).reshape(2, 3), extname="AFTER")
    with fitsio.FITS(path) as f:
        ref, new = f["CFITSIO"], f["SHORTCUT"]
        assert new.is_compressed() and new.read().dtype == np.int32
        assert np.array_equal(new.read(), ref.read()) and not new.read().any()
        keys = {r["name"]: r["value"] for r in ref.read_header().records() if r["name"] != "EXTNAME"}
        assert keys == {r["name"]: r["value"] for r in new.read_header().records() if r["name"] != "EXTNAME"}
        assert f["AFTER"].read()[1, 2] == 5
    with fits.open(path) as hdul:
        assert hdul["SHORTCUT"].data.shape == (ny, nx) and not hdul["SHORTCUT"].data.any()
        assert hdul["SHORTCUT"].header["CCDNUM"] == 5


def test_a_ccd_mask_written_tile_by_distinct_tile_reads_as_cfitsio_s(tmp_path):
    """Zero tiles, tiles of one repeated row (shared) and mixed tiles: the pixels cfitsio writes."""
    from astropy.io import fits

    from desghost.products.maskfits import MASK_TILE_ROWS, write_mask_hdu

    t = MASK_TILE_ROWS
    ny, nx = 6 * t, 80
    mask = np.zeros((ny, nx), np.int32)
    mask[t:3 * t, 10:30] = 2            # two tiles made of one repeated row: encoded once, shared
    mask[3 * t:3 * t + 3, 10:30] = 2      # a tile of mixed rows that starts with the shared row
    mask[3 * t + 5:3 * t + 9, 40:70] = 5
    mask[5 * t:, 0:4] = 8               # a repeated row that differs from the first
    cut_out = mask[: 2 * t + 9]         # not a whole number of tiles: cfitsio writes it directly
    cards = [{"name": "CCDNUM", "value": 5}, {"name": "DETPOS", "value": "S25"}]
    path = str(tmp_path / "m.fits")
    with fitsio.FITS(path, "rw", clobber=True) as f:
        f.write(None)
        f.write(mask, extname="CFITSIO", header=cards, compress="PLIO", tile_dims=[t, nx])
        write_mask_hdu(f, mask, "SHARED", cards)
        write_mask_hdu(f, cut_out, "CUTOUT", cards)
        write_mask_hdu(f, np.zeros((ny, nx), np.int32), "ZEROS", cards)
        # the factored form a projection gives: distinct rows and which one each image row is
        distinct = np.stack([np.zeros(nx, np.int32), mask[t], mask[3 * t + 6], mask[5 * t]])
        row_index = np.repeat([0, 1, 2, 1, 0, 3], [t + 3, 2 * t - 3, 5, t - 5, t, t])
        write_mask_hdu(f, distinct, "FACTORED", cards, row_index)
    with fitsio.FITS(path) as f:
        assert f["SHARED"].is_compressed() and f["SHARED"].read().dtype == np.int32
        assert np.array_equal(f["SHARED"].read(), f["CFITSIO"].read())
        assert np.array_equal(f["SHARED"].read(), mask)
        assert np.array_equal(f["CUTOUT"].read(), cut_out) and not f["ZEROS"].read().any()
        assert np.array_equal(f["FACTORED"].read(), distinct[row_index])
        keys = {r["name"]: r["value"] for r in f["CFITSIO"].read_header().records() if r["name"] != "EXTNAME"}
        assert keys == {r["name"]: r["value"] for r in f["SHARED"].read_header().records() if r["name"] != "EXTNAME"}
    with fits.open(path) as hdul:
        assert np.array_equal(hdul["SHARED"].data, mask)
