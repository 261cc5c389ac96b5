"""Position queries: the HEALPix index finds candidates, the mask itself decides.

On the demo night (simulated, TAN WCS) and on a real Community Pipeline cut-out (TPV WCS, a
window): a position on an instance's mask is returned by ``query --ra/--dec`` and set in the
healsparse map; a position off the mask but in one of the instance's index cells is not
returned, and is returned once the radius reaches the mask.
"""
import csv
import io
import shutil
import sqlite3
import subprocess

import fitsio
import healsparse
import hpgeom
import numpy as np
import pytest
from scipy.ndimage import distance_transform_edt

from desghost.catalog.sky_store import SKY_COLUMNS
from desghost.catalog.store import Catalog
from desghost.cli import main
from desghost.detection.instance import Detections, Instance
from desghost.detection.model import default_model_path
from desghost.driver.exposure import RunConfig, finish_exposure, prepare_exposure
from desghost.layout import load_layout
from desghost.products.skymap import header_wcs
from desghost.sky.moc import INDEX_ORDER, ancestor_nuniq, merge_to_cells
from desghost.sky.tangent_plane import polygon_distances_deg, polygons_meet_box

from .helpers import MASK_BITS, SHARED_DATA, shared_data

N6 = "testcase8/images/decam/CP/V4.8.2a/CP20171112/c4d_171113_060340_ooi_r_ls9.N6.fits"


def test_merged_cells_hold_exactly_their_pixels():
    """A pixel is in a MOC exactly when one of its ancestors-or-self is a cell (random sets, every pixel of order 4)."""
    rng = np.random.default_rng(1)
    order = 4
    for _ in range(20):
        block = rng.integers(0, 12 * 4 ** order // 64)
        pixels = np.union1d(np.arange(block * 64, block * 64 + 64)[rng.random(64) < 0.8],
                            rng.integers(0, 12 * 4 ** order, 30))   # whole sibling groups and scattered pixels
        cells = set(merge_to_cells(pixels, order).tolist())
        assert len(cells) < len(pixels) or len(pixels) < 4
        for p in range(12 * 4 ** order):
            assert bool(cells & set(ancestor_nuniq([p], order).tolist())) == (p in set(pixels.tolist())), p


def test_a_coarse_probe_finds_exactly_the_cells_the_finest_one_finds():
    """Probing a disc at a coarser order (ancestors, plus descendant ranges) meets the same stored cells as
    the ancestors of every finest-order pixel of the disc."""
    from desghost.sky.moc import probe_ranges

    rng = np.random.default_rng(4)
    order = 6
    for _ in range(30):
        ra, dec, radius = rng.uniform(0, 360), rng.uniform(-80, 80), rng.uniform(0.5, 8)
        stored = merge_to_cells(hpgeom.query_circle(2 ** order, (ra + rng.normal(0, radius)) % 360, dec,
                                                    rng.uniform(0.5, 5), nest=True), order)
        fine = set(ancestor_nuniq(hpgeom.query_circle(2 ** order, ra, dec, radius, nest=True, inclusive=True),
                                  order).tolist()) & set(stored.tolist())
        coarse_order = int(rng.integers(0, order))
        pixel_ranges = hpgeom.query_circle(2 ** coarse_order, ra, dec, radius, nest=True, inclusive=True,
                                           return_pixel_ranges=True)
        ranges = probe_ranges(pixel_ranges, coarse_order, order)
        coarse = {int(u) for u in stored if any(lo <= u <= hi for lo, hi in ranges)}
        assert fine <= coarse   # the coarser probe is a superset (its pixels are larger); the exact test decides
        k = 4 ** (order - coarse_order)      # exactly the cells meeting the coarse pixels' area, no more
        under = np.concatenate([np.arange(a * k, b * k) for a, b in pixel_ranges])
        assert coarse == set(ancestor_nuniq(under, order).tolist()) & set(stored.tolist())


def test_distances_to_a_quad_and_box_overlap():
    ra = np.array([[10.0, 10.1, 10.1, 10.0], [359.95, 0.05, 0.05, 359.95]])
    dec = np.array([[0.0, 0.0, 0.1, 0.1]] * 2)
    d = polygon_distances_deg(10.05, 0.05, ra, dec)
    assert d[0] == 0 and d[1] == pytest.approx(10.0, abs=0.1)
    assert polygon_distances_deg(10.2, 0.05, ra[:1], dec[:1])[0] == pytest.approx(0.1, rel=1e-3)
    assert polygon_distances_deg(10.05, 0.05, ra[:1, ::-1], dec[:1, ::-1])[0] == 0   # either sense
    assert polygon_distances_deg(190.0, 0.0, ra, dec).tolist() == [np.inf, np.inf]   # far side of the sky
    assert polygons_meet_box(ra, dec, (10.09, 12, 0.09, 1)).tolist() == [True, False]
    assert polygons_meet_box(ra, dec, (359, 1, -1, 1)).tolist() == [False, True]     # through RA 0
    assert polygons_meet_box(ra, dec, (10.11, 12, 0, 1)).tolist() == [False, False]
    # a box wrapping through RA 0 that leaves out RA 9-11: the polygon at RA 10 lies in the gap
    assert polygons_meet_box(ra, dec, (11, 9, -1, 1)).tolist() == [False, True]
    assert polygons_meet_box(ra, dec, (10.05, 9, -1, 1)).tolist() == [True, True]


def _masked_and_near_miss(mask_file, catalog_path):
    """(ra, dec, ccdnum, class) of a masked pixel, and (ra, dec, distance_arcsec, pixel_arcsec) of an unmasked
    pixel of the same CCD inside one of the instance's index cells (the index names it; the mask does not).
    The distance is to the nearest masked pixel's centre; the mask's edge is up to a pixel nearer."""
    with Catalog(catalog_path, readonly=True) as cat:
        cells = {r["nuniq"]: r["item"] for r in cat.query("SELECT nuniq, item FROM sky_cells WHERE kind='instance'")}
    with fitsio.FITS(str(mask_file)) as f:
        for hdu in f[1:]:
            hdr = hdu.read_header()
            if "CCDNUM" not in hdr:
                continue
            mask = hdu.read()
            if not mask.any():
                continue
            wcs = header_wcs(hdr)
            rows, cols = np.nonzero(mask)
            k = len(rows) // 2
            ra, dec = (float(v) for v in wcs.all_pix2world(cols[k], rows[k], 0))
            bit = next(b for c, b in MASK_BITS.items() if mask[rows[k], cols[k]] & (1 << b))
            masked = (ra, dec, hdr["CCDNUM"], next(c for c, b in MASK_BITS.items() if b == bit))
            dist_px = distance_transform_edt(mask == 0)
            yy, xx = np.nonzero((dist_px > 3) & (dist_px < 40))
            pra, pdec = wcs.all_pix2world(xx, yy, 0)
            pix = hpgeom.angle_to_pixel(2 ** INDEX_ORDER, pra, pdec, nest=True)
            for i in np.flatnonzero(np.arange(len(pix)) % 97 == 0):
                if set(ancestor_nuniq([pix[i]]).tolist()) & set(cells):
                    scale_arcsec = float(np.sqrt(abs(np.linalg.det(wcs.pixel_scale_matrix)))) * 3600
                    return masked, (float(pra[i]), float(pdec[i]), dist_px[yy[i], xx[i]] * scale_arcsec, scale_arcsec)
    raise AssertionError("no masked pixel with an unmasked neighbour in its index cell")


def _query(catalog, *args):
    buf = io.StringIO()
    from contextlib import redirect_stdout
    with redirect_stdout(buf):
        assert main(["-q", "query", "--catalog", str(catalog), "--format", "csv", *args]) == 0
    return list(csv.DictReader(io.StringIO(buf.getvalue())))


def _check_position_queries(catalog, mask_file, tmp_path, expnum):
    (ra, dec, ccdnum, cls), (ra_off, dec_off, off_arcsec, pixel_arcsec) = _masked_and_near_miss(mask_file, catalog)
    rows = _query(catalog, "--ra", repr(ra), "--dec", repr(dec))
    assert [(int(r["expnum"]), int(r["hit_ccdnum"]), r["class"], float(r["distance_arcsec"])) for r in rows
            if r["class"] == cls][:1] == [(expnum, ccdnum, cls, 0.0)]
    assert _query(catalog, "--ra", repr(ra), "--dec", repr(dec), "--what", "ccds")[0]["ccdnum"] == str(ccdnum)
    assert _query(catalog, "--ra", repr(ra_off), "--dec", repr(dec_off)) == []      # in the index cell, off the mask
    assert _query(catalog, "--ra", repr(ra_off), "--dec", repr(dec_off), "--radius",
                  f"{off_arcsec - 1.5 * pixel_arcsec:.3f}") == []
    near = _query(catalog, "--ra", repr(ra_off), "--dec", repr(dec_off), "--radius", f"{off_arcsec:.3f}")
    assert near and all(float(r["distance_arcsec"]) <= off_arcsec for r in near)
    assert off_arcsec - 1.5 * pixel_arcsec <= min(float(r["distance_arcsec"]) for r in near) <= off_arcsec

    hsp = tmp_path / "map.hsp"
    assert main(["-q", "skymap", str(mask_file), "-o", str(hsp)]) == 0
    m = healsparse.HealSparseMap.read(str(hsp))
    assert int(m.get_values_pos(ra, dec, lonlat=True)) & (1 << MASK_BITS[cls])

    targets = tmp_path / "targets.csv"
    targets.write_text(f"NAME,RA,DEC\non_mask,{ra!r},{dec!r}\noff_mask,{ra_off!r},{dec_off!r}\nfar,{ra + 20},{dec}\n")
    listed = _query(catalog, "--region", str(targets), "--what", "exposures")
    assert [(r["target"], int(r["expnum"])) for r in listed] == [("on_mask", expnum)]
    return ra, dec


def test_demo_night_positions_on_and_off_the_mask(demo_night, tmp_path, capsys):
    mask_file, = demo_night.glob("D*_desghost_mask.fits.fz")
    ra, dec = _check_position_queries(demo_night / "desghost_catalog.sqlite", mask_file, tmp_path, 700000)
    box = _query(demo_night, "--region", f"box:{ra - 0.001},{ra + 0.001},{dec - 0.001},{dec + 0.001}")
    assert box and {r["expnum"] for r in box} == {"700000"}
    out = tmp_path / "here.fits"
    assert main(["-q", "query", "--catalog", str(demo_night), "--ra", repr(ra), "--dec", repr(dec), "--what", "ccds",
                 "--format", "fits", "-o", str(out)]) == 0
    table = fitsio.read(str(out), ext="EXCLUDE")
    assert table.dtype.names[:4] == ("EXPNUM", "CCDNUM", "REASON", "ANALYST") and len(table) >= 1
    assert table["TARGET_RA"][0] == pytest.approx(ra) and table["DIST_ARCSEC"][0] == 0
    if shutil.which("fitsverify"):
        assert "0 error(s)" in subprocess.run(["fitsverify", str(out)], capture_output=True, text=True).stdout
    base = ["-q", "query", "--catalog", str(demo_night)]
    assert main([*base, "--radius", "30"]) == 2                                      # a radius needs a position
    assert main(["query", "--catalog", str(demo_night), "--ra", "45.5", "--dec", "-29.5"]) == 0   # clean, observed
    assert "nothing covers it; 1 processed exposure with a recorded pointing pointed within" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert main([*base, "--ra", repr(ra), "--dec", repr(dec), "-o", str(tmp_path / "file" / "x.csv"),
                 "--format", "csv"]) == 9                                             # unwritable: exit 9
    assert main([*base, "--ra", repr(ra), "--dec", repr(dec), "--what", "ccds", "--format", "fits", "-o",
                 str(tmp_path / "file" / "x.fits")]) == 9
    listed = tmp_path / "two.csv"
    listed.write_text(f"RA,DEC\n{ra!r},{dec!r}\n{ra!r},{dec!r}\n")
    assert main([*base, "--region", str(listed), "--what", "ccds", "--format", "raytrace", "-o",
                 str(tmp_path / "list.txt")]) == 0
    lines = (tmp_path / "list.txt").read_text().splitlines()[1:]
    assert lines and len(lines) == len(set(lines))                                   # each CCD once


@pytest.mark.real_data
@pytest.mark.skipif(not (SHARED_DATA / "decam" / "real").exists(), reason="../shared/data/decam/real is absent")
def test_real_cutout_positions_on_and_off_the_mask(tmp_path):
    """A real TPV WCS and a window: the exact test uses the window's own pixels."""
    layout = load_layout()
    prepared = prepare_exposure(str(shared_data("decam", "real", N6)), RunConfig(), layout)
    (ccdnum, _), = prepared.focal_plane.ccd_windows.items()
    valid = prepared.focal_plane.window_valid_px[ccdnum]
    mask = np.zeros((400, 400), dtype=bool)
    mask[valid[:, 0].min():valid[:, 0].max() + 1, valid[:, 1].min():valid[:, 1].min() + 2] = True
    ghost = Instance(2, "Faint", 0.9, (0.0, 0.0, 400.0, 400.0), mask)
    result = finish_exposure(prepared, Detections([ghost], default_model_path(), 0.4), tmp_path / "out",
                             RunConfig(min_present_fraction=0.01), layout)
    catalog = tmp_path / "cat.sqlite"
    with Catalog(catalog) as cat:
        cat.record_exposure(result)
    assert result.footprint.pointing_from == "TELRA/TELDEC" and result.footprint.status == "complete"
    _check_position_queries(catalog, result.outputs["mask"], tmp_path, result.expnum)


def test_a_catalog_of_schema_5_migrates_and_its_exposures_are_named_as_not_searched(demo_night, tmp_path, capsys):
    """Exposures recorded before footprints existed stay in the catalog and are reported as not searched."""
    catalog = tmp_path / "cat.sqlite"
    shutil.copy(demo_night / "desghost_catalog.sqlite", catalog)
    db = sqlite3.connect(catalog)
    for table, columns in SKY_COLUMNS.items():
        for name, _ in columns:
            db.execute(f"ALTER TABLE {table} DROP COLUMN {name}")
    for table in ("sky_cells", "instance_quads", "exposure_stars"):
        db.execute(f"DROP TABLE {table}")
    db.execute("UPDATE meta SET value='5' WHERE key='schema_version'")
    db.commit()
    db.close()
    assert main(["query", "--catalog", str(catalog), "--ra", "44.2", "--dec", "-30.3", "--radius", "3600"]) == 0
    err = capsys.readouterr().err
    assert "1 processed exposures have no sky footprint" in err   # read-only: migrated in memory
    assert "nothing covers it; 0 processed exposures with a recorded pointing" in err
    with Catalog(catalog) as cat:
        assert cat.query("SELECT value FROM meta WHERE key='schema_version'")[0]["value"] == "6"
        assert cat.query("SELECT footprint, n_instances FROM exposures") == [{"footprint": None, "n_instances": 3}]


def test_target_files_csv_and_fits_and_their_refusals(tmp_path):
    from astropy.table import Table

    from desghost.catalog.targets import parse_box, read_targets
    from desghost.errors import UsageError

    Table({"ra": [10.0, 370.0], "dec": [-5.0, 1.0], "Name": ["a", "b"]}).write(tmp_path / "t.fits")
    assert [(t.name, t.ra_deg, t.dec_deg, t.radius_deg) for t in read_targets(tmp_path / "t.fits", 36)] == [
        ("a", 10.0, -5.0, 0.01), ("b", 10.0, 1.0, 0.01)]
    (tmp_path / "t.csv").write_text("RA,DEC\n1,2\n3,4\n")
    assert [t.name for t in read_targets(tmp_path / "t.csv")] == ["1", "2"]   # row numbers without an ID column
    (tmp_path / "nodec.csv").write_text("RA,DE\n1,2\n")
    with pytest.raises(UsageError, match="nodec.csv: needs RA and DEC columns.*it has RA, DE"):
        read_targets(tmp_path / "nodec.csv")
    (tmp_path / "bad.csv").write_text("RA,DEC\n1,2\n3,95\n")
    with pytest.raises(UsageError, match="bad.csv: row 2: RA '3', DEC '95' is not a position"):
        read_targets(tmp_path / "bad.csv")
    (tmp_path / "blank.csv").write_text("RA,DEC\n1,\n")
    with pytest.raises(UsageError, match="blank.csv: row 1: RA '1', DEC '--'"):
        read_targets(tmp_path / "blank.csv")
    with pytest.raises(UsageError, match="box:1,2,3"):
        parse_box("box:1,2,3")
    assert parse_box("box:350,10,-5,5").ra_deg == 0.0
    assert parse_box("box:-180,180,-5,5").box_deg == (0.0, 360.0, -5.0, 5.0) == parse_box("box:0,360,-5,5").box_deg
    with pytest.raises(UsageError, match="no width"):
        parse_box("box:10,10,-5,5")
    (tmp_path / "sexagesimal.csv").write_text("RA,DEC\n10:00:00,5\n")
    with pytest.raises(UsageError, match="row 1: RA '10:00:00', DEC '5' is not a position in degrees"):
        read_targets(tmp_path / "sexagesimal.csv")


def test_a_footprint_across_ra_0(tmp_path):
    """An exposure pointed at RA 0.02: positions either side of RA 0, boxes through RA 0 and over every RA,
    the exposure rows obeying --class, and the pointing without TELRA/TELDEC."""
    from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure
    from desghost.sky.footprint import _pointing, optical_axis_deg

    layout = load_layout()
    path = tmp_path / "DECam_00702000.fits.fz"
    write_simulated_exposure(path, SimulationConfig(seed=2, n_artifacts=0, expnum=702000, pointing_deg=(0.02, -30.0)))
    prepared = prepare_exposure(str(path), RunConfig(), layout)
    assert _pointing(None, prepared.ccd_frames)[0] == pytest.approx((0.02, -30.0), abs=0.05)   # mean of CCD corners
    assert optical_axis_deg(None, prepared.ccd_frames) == pytest.approx((0.02, -30.0), abs=1e-9)   # WCS tangent point
    yy, xx = np.mgrid[:400, :400]
    ghost = Instance(1, "Faint", 0.9, (150.0, 150.0, 260.0, 260.0), (xx - 205) ** 2 + (yy - 205) ** 2 <= 50 ** 2)
    result = finish_exposure(prepared, Detections([ghost], default_model_path(), 0.4), tmp_path / "out", RunConfig(),
                             layout)
    catalog = tmp_path / "cat.sqlite"
    with Catalog(catalog) as cat:
        cat.record_exposure(result)
    regions = result.footprint.regions
    ra = np.concatenate([regions[f"RA_{k}"] for k in (1, 2, 3, 4)])
    assert ra.min() < 1 and ra.max() > 359          # the mask's quads lie on both sides of RA 0
    on_mask = {}
    with fitsio.FITS(result.outputs["mask"]) as f:
        for hdu in f[1:]:
            hdr = hdu.read_header()
            if "CCDNUM" not in hdr or not (mask := hdu.read()).any():
                continue
            rows, cols = np.nonzero(mask)
            pra, pdec = header_wcs(hdr).all_pix2world(cols, rows, 0)
            for side, pick in (("east", pra < 1), ("west", pra > 359)):
                if pick.any() and side not in on_mask:
                    k = np.flatnonzero(pick)[len(np.flatnonzero(pick)) // 2]
                    on_mask[side] = (float(pra[k]), float(pdec[k]))
    assert set(on_mask) == {"east", "west"}
    for ra_deg, dec_deg in on_mask.values():
        (row,) = _query(catalog, "--ra", repr(ra_deg), "--dec", repr(dec_deg))
        assert row["expnum"] == "702000" and float(row["distance_arcsec"]) == 0
    dec0 = on_mask["east"][1]
    assert len(_query(catalog, "--region", f"box:359.999,0.001,{dec0 - 0.01},{dec0 + 0.01}")) == 1
    assert len(_query(catalog, "--region", "box:0,360,-31,-29")) == 1
    assert len(_query(catalog, "--region", "box:-180,180,-31,-29", "--what", "exposures")) == 1
    assert len(_query(catalog, "--region", "box:10,20,-31,-29")) == 0
    ra_e, dec_e = on_mask["east"]
    assert _query(catalog, "--ra", repr(ra_e), "--dec", repr(dec_e), "--what", "exposures", "--class", "Bright") == []
    (exp,) = _query(catalog, "--ra", repr(ra_e), "--dec", repr(dec_e), "--what", "exposures", "--class", "Faint")
    assert exp["classes"] == "Faint" and exp["n_hits"] == "1"
    # a large search radius is probed at a coarser order and still finds it, and only it
    (far,) = _query(catalog, "--ra", repr((ra_e + 5) % 360), "--dec", repr(dec_e), "--radius", str(6 * 3600))
    assert 4 * 3600 < float(far["distance_arcsec"]) < 5 * 3600


def test_a_ccd_without_wcs_makes_the_footprint_partial_and_says_so(demo_night, tmp_path, capsys):
    """A touched CCD whose header has no WCS: its part is not on the sky, the footprint is 'partial', query says it."""
    from desghost.sky.footprint import exposure_footprint

    layout = load_layout()
    (source,) = (demo_night / "input").glob("*.fits.fz")
    prepared = prepare_exposure(str(source), RunConfig(), layout)
    yy, xx = np.mgrid[:400, :400]
    ghost = Instance(2, "Faint", 0.9, (150.0, 150.0, 250.0, 250.0), (xx - 200) ** 2 + (yy - 200) ** 2 <= 40 ** 2)
    result = finish_exposure(prepared, Detections([ghost], default_model_path(), 0.4), tmp_path / "out",
                             RunConfig(write_mask=False, write_overlay=False), layout)
    touched = sorted(c.ccdnum for c in result.coverages[0])
    assert result.footprint.status == "complete" and len(touched) >= 2
    frames = dict(prepared.ccd_frames)
    frames[touched[0]] = frames[touched[0]]._replace(wcs_cards=[])
    partial = exposure_footprint(result, layout, frames, prepared.focal_plane.meta.pointing_deg)
    assert partial.status == "partial"
    assert touched[0] not in set(partial.regions["CCDNUM"]) and set(touched[1:]) <= set(partial.regions["CCDNUM"])
    assert touched[0] not in partial.ccd_corners_deg
    result.footprint = partial
    with Catalog(tmp_path / "cat.sqlite") as cat:
        cat.record_exposure(result)
    assert main(["query", "--catalog", str(tmp_path / "cat.sqlite"), "--ra", "44", "--dec", "-30"]) == 0
    assert "1 exposures have a partial sky footprint" in capsys.readouterr().err
