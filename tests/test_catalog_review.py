"""Review decisions in the catalog: kept forever, the newest per target wins, old catalogs gain the table."""
import json
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


def test_a_catalog_of_schema_3_gains_the_decisions_table_and_instance_outlines_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.sqlite"
    with Catalog(path) as cat:
        cat.record_exposure(exposure_result(100))
        assert all(json.loads(r["outline_px"]) for r in cat.query("SELECT outline_px FROM instances"))
    db = sqlite3.connect(path)
    db.execute("DROP TABLE decisions")
    db.execute("ALTER TABLE instances DROP COLUMN outline_px")
    db.execute("UPDATE meta SET value='3' WHERE key='schema_version'")
    db.commit()
    db.close()
    with Catalog(path, readonly=True) as ro:   # a read-only open migrates in memory, the file is untouched
        assert ro.decisions() == [] and ro.query("SELECT COUNT(*) AS n FROM exposures")[0]["n"] == 1
    assert "decisions" not in {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    with Catalog(path) as cat:
        assert cat.query("SELECT value FROM meta WHERE key='schema_version'")[0]["value"] == SCHEMA_VERSION == "6"
        assert {r["outline_px"] for r in cat.query("SELECT outline_px FROM instances")} == {None}  # until re-run
        cat.record_decision(100, "instance", "0", "confirm", "ann")
        assert [d.analyst for d in cat.decisions(100)] == ["ann"]
        assert cat.query("SELECT COUNT(*) AS n FROM excluded_ccds")[0]["n"] == 2


def _decision(target_kind, target, decision, analyst, at, k, **extra):
    from desghost.catalog.review import Decision
    return Decision(100, target_kind, str(target), decision, analyst, f"2026-12-01T0{at}:00:00+00:00",
                    decision_id=k, **extra)


def _model_rows(ccds=(5, 6, 7)):
    from desghost.products.exclusion_rule import CCDExclusion
    return [CCDExclusion(100, c, f"N{c}", "desghost Rays", "desghost 0.1.0", "Rays", 0.9, 0.1, "m1.safetensors",
                         "r", "2017-03-04", "20170303") for c in ccds]


#: Instance 0 covers CCDs 5 and 6, instance 1 covers 6 and 7.
INSTANCE_CCDS = {(100, 0): {5, 6}, (100, 1): {6, 7}}


def test_rejecting_one_of_two_overlapping_instances_keeps_the_ccds_the_other_covers():
    from desghost.catalog.review import REVIEWED_REASON, reviewed_exclusions

    unreviewed = reviewed_exclusions(_model_rows(), INSTANCE_CCDS, [], "m1")
    assert [(r.exclusion.ccdnum, r.exclusion.analyst, r.reviewed) for r in unreviewed] == [
        (5, "desghost-m1", False), (6, "desghost-m1", False), (7, "desghost-m1", False)]
    decisions = [_decision("instance", 0, "reject", "ann", 1, 1), _decision("instance", 1, "confirm", "bob", 2, 2),
                 _decision("exposure", "missed-0", "missed", "ann", 3, 3, artifact_class="Rays", ccdnums=(20,))]
    rows = reviewed_exclusions(_model_rows(), INSTANCE_CCDS, decisions, "m1")
    assert [(r.exclusion.ccdnum, r.exclusion.analyst) for r in rows] == [(6, "bob"), (7, "bob"), (20, "ann")]
    assert {r.exclusion.reason for r in rows} == {REVIEWED_REASON} and rows[2].exclusion.artifact_class == "Rays"
    assert rows[0].decision.decision == "confirm" and rows[2].decision.decision == "missed"


def test_newest_wins_a_clean_exposure_keeps_only_what_a_person_added_and_polygons_use_the_coverage_rule():
    from desghost.catalog.review import reviewed_exclusions

    changed_mind = [_decision("instance", 0, "reject", "ann", 1, 1), _decision("instance", 0, "confirm", "cat", 2, 2)]
    rows = reviewed_exclusions(_model_rows(), INSTANCE_CCDS, changed_mind, "m1")
    assert [(r.exclusion.ccdnum, r.exclusion.analyst) for r in rows] == [(5, "cat"), (6, "cat"), (7, "desghost-m1")]
    clean = [_decision("exposure", "", "reject", "ann", 1, 1),
             _decision("exposure", "missed-0", "missed", "ann", 2, 2, artifact_class="Faint",
                       polygon_px=((0, 0), (10, 0), (10, 10)))]
    seen = []

    def ccds_of_polygon(expnum, polygon):
        seen.append((expnum, polygon))
        return {33, 34}
    rows = reviewed_exclusions(_model_rows(), INSTANCE_CCDS, clean, "m1", ccds_of_polygon)
    assert [(r.exclusion.ccdnum, r.exclusion.analyst) for r in rows] == [(33, "ann"), (34, "ann")]
    assert seen == [(100, ((0, 0), (10, 0), (10, 10)))]
    ccd_reject = [_decision("ccd", 7, "reject", "ann", 1, 1), _decision("ccd", 5, "confirm", "bob", 1, 2)]
    rows = reviewed_exclusions(_model_rows(), INSTANCE_CCDS, ccd_reject, "m1")
    assert [(r.exclusion.ccdnum, r.exclusion.analyst) for r in rows] == [(5, "bob"), (6, "desghost-m1")]


def test_marking_clean_overrules_what_came_before_it_and_nothing_after_in_the_list_and_the_via_export():
    from desghost.catalog.review import reviewed_exclusions
    from desghost.layout import load_layout
    from desghost.review.via_export import exposure_regions

    layout = load_layout()
    square = [[[10.0, 10.0], [20.0, 10.0], [20.0, 20.0], [10.0, 20.0]]]
    instances = [{"instance_id": i, "class": "Rays", "score": 0.9, "outline_px": json.dumps(square)} for i in (0, 1)]
    decisions = [_decision("exposure", "missed-0", "missed", "ann", 1, 1, artifact_class="Bright", ccdnums=(30,)),
                 _decision("instance", 1, "confirm", "ann", 1, 2),
                 _decision("exposure", "", "reject", "bob", 2, 3),                      # clean
                 _decision("instance", 0, "confirm", "cat", 3, 4),                      # after it: stands
                 _decision("exposure", "missed-1", "missed", "cat", 3, 5, artifact_class="Faint", ccdnums=(20,))]
    rows = reviewed_exclusions(_model_rows(), INSTANCE_CCDS, decisions, "m1")
    kept = sorted(INSTANCE_CCDS[(100, 0)]) + [20]
    assert [(r.exclusion.ccdnum, r.exclusion.analyst) for r in rows] == [(c, "cat") for c in sorted(kept)]
    regions = exposure_regions(instances, decisions, layout, 100)
    # instance 0 (confirmed after the clean mark) and CCD 20's box; not instance 1 nor CCD 30
    assert [r["region_attributes"]["Type"] for r in regions] == ["Rays", "Faint"]
    x0, y0, x1, y1 = layout.ccds[20].box_px
    assert regions[1]["shape_attributes"]["all_points_x"] == [round(v, 2) for v in (x0, x1, x1, x0)]
