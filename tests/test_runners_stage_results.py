"""Merging the ranks' results of the pipeline stage (desghost.runners.stage_results)."""

from desghost.catalog.store import Catalog
from desghost.driver.outcome import LightInstance
from desghost.runners.stage_results import merge_results


def test_stage_merge_writes_catalog_and_table(tmp_path):
    import fitsio

    from .helpers import exposure_result
    r = exposure_result(5)
    r.instances = [LightInstance(3, "Rays", 0.9, (1.0, 2.0, 3.0, 4.0), 10)]
    results = [{"ok": True, "input": "a", "result": r},
               {"ok": False, "input": "b", "reason": "not FITS", "exit_code": 3}]
    merge_results(results, tmp_path / "c.sqlite", tmp_path / "t.fits")
    t = fitsio.read(tmp_path / "t.fits", ext="EXCLUDE")
    assert t["CCDNUM"].tolist() == [5, 6] and fitsio.read_header(tmp_path / "t.fits", ext=1)["NFAILED"] == 1
    with Catalog(tmp_path / "c.sqlite", create=False) as cat:
        assert cat.query("SELECT area_px FROM instances")[0]["area_px"] == 10
        assert cat.query("SELECT reason FROM failures")[0]["reason"] == "not FITS"
