"""``desghost query --review``: the catalog's reviewed list, in every format, with ANALYST per row."""
import csv
import io

import fitsio
import pytest

from desghost.catalog.store import Catalog
from desghost.cli import main


@pytest.fixture(scope="module")
def demo_catalog(demo_night):
    return demo_night / "desghost_catalog.sqlite"


def _query(capsys, catalog, *extra):
    assert main(["query", "--catalog", str(catalog), *extra]) == 0
    return capsys.readouterr().out


def test_decisions_change_exactly_their_ccds_and_name_their_analysts(demo_catalog, tmp_path, capsys):
    import shutil
    catalog = tmp_path / "c.sqlite"
    shutil.copy(demo_catalog, catalog)
    with Catalog(catalog) as cat:
        instances = {r["instance_id"]: {int(c) for c in r["ccdnums"].split(",")}
                     for r in cat.query("SELECT instance_id, ccdnums FROM instances")}
        model = {r["ccdnum"] for r in cat.query("SELECT ccdnum FROM excluded_ccds WHERE source='desghost'")}
        expnum = cat.query("SELECT expnum FROM exposures")[0]["expnum"]
    assert len(instances) >= 2 and model
    only_first = instances[0] - set().union(*(c for i, c in instances.items() if i != 0))
    missed_ccd = min(set(range(1, 61)) - model - {31})
    with Catalog(catalog) as cat:
        cat.record_decision(expnum, "instance", "0", "reject", "ann", comment="a satellite trail")
        cat.record_decision(expnum, "instance", "1", "confirm", "bob")
        cat.record_decision(expnum, "exposure", "", "missed", "ann", "Bright", ccdnums=[missed_ccd])
    rows = list(csv.DictReader(io.StringIO(_query(capsys, catalog, "--review", "reviewed", "--format", "csv"))))
    reviewed = {int(r["ccdnum"]) for r in rows}
    assert reviewed == (model - only_first) | {missed_ccd}
    analysts = {int(r["ccdnum"]): r["analyst"] for r in rows}
    assert analysts[missed_ccd] == "ann" and all(analysts[c] == "bob" for c in instances[1] & model)
    assert {r["reason"] for r in rows} == {"Ghost/Scatter"}
    assert list(rows[0])[:8] == ["expnum", "ccdnum", "reason", "analyst", "class", "score", "decided_at", "comment"]
    unreviewed = _query(capsys, catalog, "--review", "unreviewed-only", "--format", "csv")
    assert {int(r["ccdnum"]) for r in csv.DictReader(io.StringIO(unreviewed))} == \
        {c for c, a in analysts.items() if a.startswith("desghost-")}
    # the FITS list keeps the DES columns' types; the text list is DELVE's layout
    main(["query", "--catalog", str(catalog), "--format", "fits", "-o", str(tmp_path / "model.fits")])
    main(["query", "--catalog", str(catalog), "--review", "reviewed", "--format", "fits", "-o",
          str(tmp_path / "reviewed.fits")])
    before, after = (fitsio.read(str(tmp_path / f), ext="EXCLUDE") for f in ("model.fits", "reviewed.fits"))
    assert before.dtype.descr[:4] == after.dtype.descr[:4]
    header = fitsio.read_header(str(tmp_path / "reviewed.fits"), ext="EXCLUDE")
    assert [(header[f"TTYPE{k}"], header[f"TFORM{k}"]) for k in (1, 2, 3, 4)] == [
        ("EXPNUM", "J"), ("CCDNUM", "I"), ("REASON", "30A"), ("ANALYST", "30A")]
    assert set(before["CCDNUM"]) ^ set(after["CCDNUM"]) == only_first | {missed_ccd}
    text = _query(capsys, catalog, "--review", "reviewed", "--format", "raytrace").splitlines()
    assert text[0] == "#date     expnum ccd id ccdnum" and len(text) == len(reviewed) + 1


def test_review_is_refused_for_other_rows_and_sources(demo_catalog, capsys):
    assert main(["query", "--catalog", str(demo_catalog), "--review", "reviewed", "--what", "instances"]) == 2
    assert "--review lists desghost's excluded CCDs" in capsys.readouterr().err


def test_the_report_shows_who_reviewed_an_exposure_and_its_reviewed_ccd_count(demo_catalog, tmp_path):
    import shutil

    from desghost.report.html import write_report

    outdir = tmp_path / "night"
    shutil.copytree(demo_catalog.parent, outdir, ignore=shutil.ignore_patterns("report", "input"))
    catalog = outdir / "desghost_catalog.sqlite"
    index = write_report(outdir, catalog)
    assert "not reviewed" in open(index).read()
    with Catalog(catalog) as cat:
        expnum = cat.query("SELECT expnum FROM exposures")[0]["expnum"]
        n_model = cat.query("SELECT COUNT(*) AS n FROM excluded_ccds")[0]["n"]
        cat.record_decision(expnum, "exposure", "", "reject", "ann <b>", comment="<script>alert(1)</script>")
        cat.record_decision(expnum, "exposure", "", "missed", "bob", "Faint", ccdnums=[3, 4])
    index = write_report(outdir, catalog)
    html = open(index).read()
    assert n_model > 2 and "reviewed by ann &lt;b&gt;, bob: 2 CCDs after review" in html and "<b>" not in html
    page = (outdir / "report" / "exposures" / f"{expnum}.html").read_text()
    assert "2 decisions by ann &lt;b&gt;, bob; 2 CCDs on the reviewed list" in page and "<script>alert" not in page

