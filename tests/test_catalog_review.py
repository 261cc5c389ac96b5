"""Review decisions in the catalog: kept forever, the newest per target wins, old catalogs gain the table."""
import sqlite3

import pytest

from desghost.catalog.review import newest_decisions
from desghost.catalog.store import SCHEMA_VERSION, Catalog

from .helpers import exposure_result


def test_the_newest_decision_on_a_target_wins_and_every_decision_is_kept(tmp_path):
    with Catalog(tmp_path / "c.sqlite") as cat:
        cat.record_exposure(exposure_result(100))
        for decision, analyst in (("reject", "ann"), ("confirm", "bob"), ("reject", "cat")):
            cat.record_decision(100, "instance", "0", decision, analyst, comment=f"{analyst} says {decision}")
        cat.record_decision(100, "ccd", "5", "confirm", "ann")
        cat.record_decision(101, "exposure", "", "reject", "ann")
        history = cat.decisions(100)
    assert [(d.decision, d.analyst) for d in history if d.target_kind == "instance"] == [
        ("reject", "ann"), ("confirm", "bob"), ("reject", "cat")]
    newest = newest_decisions(history)
    assert newest[(100, "instance", "0")].analyst == "cat" and newest[(100, "instance", "0")].decision == "reject"
    assert newest[(100, "ccd", "5")].decision == "confirm" and (101, "exposure", "") not in newest
    assert all(d.decided_at.endswith("+00:00") for d in history)   # UTC


def test_a_missed_artifact_needs_its_class_and_a_polygon_or_ccds(tmp_path):
    with Catalog(tmp_path / "c.sqlite") as cat:
        d = cat.record_decision(100, "exposure", "", "missed", "ann", "Rays", ccdnums=[12, 13])
        p = cat.record_decision(100, "exposure", "", "missed", "ann", "Faint",
                                polygon_px=[(10, 10), (60, 10), (60, 40)], comment="<script>alert(1)</script>")
        assert d.target == "missed-0" and p.target == "missed-1" and d.ccdnums == (12, 13)
        assert p.polygon_px == ((10.0, 10.0), (60.0, 10.0), (60.0, 40.0)) and p.comment.startswith("<script>")
        for bad in (dict(artifact_class="", ccdnums=[5]), dict(artifact_class="Ghost", ccdnums=[5]),
                    dict(artifact_class="Rays"), dict(artifact_class="Rays", polygon_px=[(1, 1), (2, 2)])):
            with pytest.raises(ValueError):
                cat.record_decision(100, "exposure", "", "missed", "ann", **bad)
        with pytest.raises(ValueError, match="only a missed"):
            cat.record_decision(100, "instance", "0", "reject", "ann", "Rays")
        assert len(cat.decisions(100)) == 2   # refused decisions write nothing


@pytest.mark.parametrize("analyst", ["", "   ", None])
def test_no_decision_without_an_analyst_name_in_python_or_in_sql(tmp_path, analyst):
    with Catalog(tmp_path / "c.sqlite") as cat:
        with pytest.raises(ValueError, match="analyst"):
            cat.record_decision(100, "instance", "0", "confirm", analyst)
        with pytest.raises(sqlite3.IntegrityError):   # the table refuses it too, whoever writes
            cat.conn.execute("INSERT INTO decisions (source, expnum, target_kind, target, decision, analyst,"
                             " decided_at) VALUES ('desghost', 1, 'instance', '0', 'confirm', ?, 'now')",
                             (analyst if analyst is not None else "",))
        assert cat.decisions() == []


def test_a_catalog_of_schema_3_gains_the_decisions_table_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.sqlite"
    with Catalog(path) as cat:
        cat.record_exposure(exposure_result(100))
    db = sqlite3.connect(path)
    db.execute("DROP TABLE decisions")
    db.execute("UPDATE meta SET value='3' WHERE key='schema_version'")
    db.commit()
    db.close()
    with Catalog(path, readonly=True) as ro:   # a read-only open migrates in memory, the file is untouched
        assert ro.decisions() == [] and ro.query("SELECT COUNT(*) AS n FROM exposures")[0]["n"] == 1
    assert "decisions" not in {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    with Catalog(path) as cat:
        assert cat.query("SELECT value FROM meta WHERE key='schema_version'")[0]["value"] == SCHEMA_VERSION == "4"
        cat.record_decision(100, "instance", "0", "confirm", "ann")
        assert [d.analyst for d in cat.decisions(100)] == ["ann"]
        assert cat.query("SELECT COUNT(*) AS n FROM excluded_ccds")[0]["n"] == 2
