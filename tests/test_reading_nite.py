"""The lists carry the observing night as DELVE's lists do, laid out as theirs (issue 33 item 3)."""
import glob
import re
import sqlite3

import fitsio
import numpy as np
import pytest

from desghost.catalog.raytrace import list_category
from desghost.catalog.store import SCHEMA_VERSION, Catalog
from desghost.cli import main
from desghost.reading.headers import observing_night
from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure

from .helpers import shared_data

EXPOSURE_695765 = ("testcase8", "images", "decam", "CP", "V4.8.2a", "CP20171112", "c4d_171113_060340_ooi_r_ls9.N6.fits")


@pytest.mark.real_data
def test_the_night_rule_gives_dtcaldat_for_every_real_exposure():
    """From DATE-OBS alone (DTCALDAT removed) the rule must give DTCALDAT, before and after 00:00 UTC."""
    real = shared_data("decam", "real")
    seen, differs_from_utc = {}, 0
    for path in sorted(glob.glob(str(real / "**" / "*_ooi_*.fits*"), recursive=True)):
        header = dict(fitsio.read_header(path, 0))
        if header["EXPNUM"] in seen:
            continue
        dtcaldat = header["DTCALDAT"].replace("-", "")
        assert observing_night(header) == dtcaldat
        without = {k: v for k, v in header.items() if k != "DTCALDAT"}
        assert observing_night(without) == dtcaldat, path
        without_date = {k: v for k, v in without.items() if k != "DATE-OBS"}
        assert observing_night(without_date) == dtcaldat, path   # from MJD-OBS
        seen[header["EXPNUM"]] = header["DATE-OBS"]
        differs_from_utc += header["DATE-OBS"][:10].replace("-", "") != dtcaldat
    hours = [int(d[11:13]) for d in seen.values()]
    assert len(seen) >= 20 and differs_from_utc == len(seen) - 1
    assert min(hours) < 3 and max(hours) >= 12   # exposures after and before 00:00 UTC of their night


def test_observing_night_hand_made_cases():
    assert observing_night({"DATE-OBS": "2017-11-13T06:03:40.037"}) == "20171112"
    assert observing_night({"DATE-OBS": "2014-08-18T23:17:51"}) == "20140818"
    assert observing_night({"DATE-OBS": "2014-08-19T11:59:59"}) == "20140818"
    assert observing_night({"DATE-OBS": "2014-08-19T12:00:00"}) == "20140819"
    assert observing_night({"MJD-OBS": 58070.25255}) == "20171112"
    assert observing_night({"DTCALDAT": "2017-11-12", "DATE-OBS": "2020-01-01T00:00:00"}) == "20171112"
    assert observing_night({"DATE-OBS": "not a date"}) == ""


@pytest.mark.real_data
def test_real_exposure_695765_is_listed_under_its_night_in_every_product(tmp_path):
    path = shared_data("decam", "real", *EXPOSURE_695765)
    out = tmp_path / "out"
    main(["-q", "run", str(path), "-o", str(out), "--no-overlay", "--lenient", "--threshold", "0.01",
          "--min-ccd-fraction", "0.001", "--area-threshold", "0"])
    with sqlite3.connect(out / "desghost_catalog.sqlite") as db:
        assert db.execute("SELECT nite, date_obs FROM exposures").fetchone()[0] == "20171112"
    header = fitsio.read_header(str(out / "D00695765_desghost_exclude.fits"), 0)
    assert header["NITE"] == "20171112" and header["DATE-OBS"].startswith("2017-11-13T06:03:40")


@pytest.mark.e2e
@pytest.mark.real_data
def test_lists_have_the_delve_layout_and_the_night(tmp_path):
    write_simulated_exposure(tmp_path / "in" / "DECam_00700801.fits.fz",
                             SimulationConfig(expnum=700801, seed=81, n_artifacts=3))
    out = tmp_path / "out"
    assert main(["-q", "night", str(tmp_path / "in"), "-o", str(out), "--workers", "1", "--no-report",
                 "--lenient"]) == 0
    date_obs = fitsio.read_header(str(tmp_path / "in" / "DECam_00700801.fits.fz"), 0)["DATE-OBS"]
    nite = observing_night({"DATE-OBS": date_obs})
    own = (out / "D00700801_desghost_exclude.txt").read_text().splitlines()
    night_list = out / f"ghost-scatter-{nite}.txt"
    assert night_list.read_text().splitlines() == own and len(own) > 1
    delve = (shared_data("raytrace", "y05", "ghost-scatter-y05.txt")).read_text().splitlines()
    assert own[0] == delve[0]
    layout = re.compile(r"^\d{8} [ \d]{7} [ \w]{3} [ \w]{3} [ \d]{3}$")
    assert all(layout.match(line) for line in delve[1:50] + own[1:])
    assert all(line.startswith(nite + " ") for line in own[1:])
    table = np.genfromtxt(night_list, names=True, dtype=int)
    assert set(table["expnum"]) == {700801}
    excl = fitsio.read(str(out / "D00700801_desghost_exclude.fits"), ext="EXCLUDE")
    assert set(excl["NITE"].astype(str)) == {nite} and excl.dtype.names[:4] == ("EXPNUM", "CCDNUM", "REASON",
                                                                                 "ANALYST")
    # the night's region table joins the exposures' (decasu's quads)
    night_regions = fitsio.read(str(out / f"desghost_regions-{nite}.fits"), ext="REGIONS")
    own_regions = fitsio.read(str(out / "D00700801_desghost_regions.fits"), ext="REGIONS")
    assert len(own_regions) > 0 and np.array_equal(night_regions, own_regions)
    assert fitsio.read_header(str(out / f"desghost_regions-{nite}.fits"), ext="REGIONS")["NITE"] == nite
    # importing desghost's own lists keeps their category
    assert list_category(out / "D00700801_desghost_exclude.txt") == ("ghost-scatter", "")
    assert list_category(night_list) == ("ghost-scatter", nite)
    catalog = tmp_path / "imported.sqlite"
    assert main(["-q", "import-raytrace", str(night_list), "--catalog", str(catalog)]) == 0
    with sqlite3.connect(catalog) as db:
        assert db.execute("SELECT DISTINCT category, nite FROM excluded_ccds").fetchall() == [("ghost-scatter", nite)]


@pytest.mark.e2e
def test_an_older_catalog_gains_the_night_column(tmp_path):
    write_simulated_exposure(tmp_path / "in" / "DECam_00700802.fits.fz",
                             SimulationConfig(expnum=700802, seed=82, n_artifacts=2))
    out = tmp_path / "out"
    main(["-q", "run", str(tmp_path / "in" / "DECam_00700802.fits.fz"), "-o", str(out), "--lenient"])
    path = out / "desghost_catalog.sqlite"
    with sqlite3.connect(path) as db:   # make it a schema-2 catalog: no nite columns
        expected = db.execute("SELECT nite FROM exposures").fetchone()[0]
        db.execute("ALTER TABLE exposures DROP COLUMN nite")
        db.execute("ALTER TABLE excluded_ccds DROP COLUMN nite")
        db.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
    assert re.fullmatch(r"\d{8}", expected)
    with Catalog(path) as catalog:
        assert catalog.query("SELECT nite FROM exposures") == [{"nite": expected}]
        rows = catalog.query("SELECT DISTINCT nite FROM excluded_ccds")
        assert rows == [{"nite": expected}] or rows == []
        assert catalog.query("SELECT value FROM meta WHERE key='schema_version'") == [{"value": SCHEMA_VERSION}]


@pytest.mark.parametrize("name, category", [("ghost-scatter-y04.txt", ("ghost-scatter", "y04")),
                                            ("streak-y10.txt", ("streak", "y10")),
                                            ("D00695765_desghost_exclude.txt", ("ghost-scatter", ""))])
def test_list_categories(name, category):
    assert list_category(name) == category
