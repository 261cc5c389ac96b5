"""The SQLite catalog: idempotence, concurrent writers, bad files, queries, imports, compare."""
import multiprocessing as mp
import os
import sqlite3
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from desghost.catalog.queries import build_query, compare_sources
from desghost.catalog.store import APPLICATION_ID, Catalog, CatalogError
from desghost.cli import main

from .helpers import exposure_result, shared_data


def count(cat, table):
    return cat.query(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"]


def test_rerunning_an_exposure_replaces_its_rows(tmp_path):
    with Catalog(tmp_path / "c.sqlite") as cat:
        cat.record_exposure(exposure_result(1, ccds=(5, 6, 7)))
        cat.record_exposure(exposure_result(1, ccds=(5,)))
        cat.record_exposure(exposure_result(2))
        assert count(cat, "exposures") == 2 and count(cat, "instances") == 2
        assert count(cat, "excluded_ccds") == 3
        assert cat.query("PRAGMA journal_mode")[0]["journal_mode"] == "wal"


def _writer(path, start, n):
    with Catalog(path) as cat:
        for e in range(start, start + n):
            cat.record_exposure(exposure_result(e, ccds=(1, 2, 3)))
            cat.record_exposure(exposure_result(e, ccds=(1, 2, 3)))  # re-run: must not duplicate


@pytest.mark.e2e
def test_concurrent_writers_from_real_processes(tmp_path):
    path = tmp_path / "c.sqlite"
    Catalog(path).close()
    procs = [mp.get_context("spawn").Process(target=_writer, args=(str(path), 1000 * k, 15)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with Catalog(path) as cat:
        assert count(cat, "exposures") == 60 and count(cat, "excluded_ccds") == 180
        assert cat.query("PRAGMA integrity_check")[0]["integrity_check"] == "ok"


def _open_at(path, barrier):
    barrier.wait()
    with Catalog(path) as cat:
        cat.record_exposure(exposure_result(os.getpid() % 100000))


@pytest.mark.e2e
def test_processes_creating_one_new_catalog_at_once_all_open_it(tmp_path):
    """Two nights started together both create the catalog: none may find it half-made and refuse it."""
    ctx = mp.get_context("spawn")
    for attempt in range(4):
        path = tmp_path / f"c{attempt}.sqlite"
        barrier = ctx.Barrier(6)
        procs = [ctx.Process(target=_open_at, args=(str(path), barrier)) for _ in range(6)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
        assert [p.exitcode for p in procs] == [0] * 6, attempt
        with Catalog(path) as cat:
            assert count(cat, "exposures") == 6
            assert cat.conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


def test_an_sqlite_file_a_creating_process_has_only_begun_is_made_a_catalog(tmp_path):
    """The state a creator leaves between its first write (the WAL switch) and the schema: no tables,
    no application id.  Nothing of anyone's is in it, so it is made a catalog, not refused."""
    path = tmp_path / "begun.sqlite"
    _sqlite_file(path, "PRAGMA journal_mode=WAL")
    assert path.stat().st_size > 0
    with Catalog(path) as cat:
        assert cat.conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert count(cat, "exposures") == 0
    with pytest.raises(CatalogError, match="an empty file"):
        Catalog(_sqlite_file_path(tmp_path / "empty_ro.sqlite"), readonly=True)


def test_a_new_catalog_waits_for_another_writer_before_its_wal_switch(tmp_path):
    """SQLite does not wait for the lock the WAL switch needs: another process in a write
    transaction on the new file (a night starting beside this one) is waited for, not an error."""
    path = tmp_path / "new.sqlite"
    _sqlite_file(path, "CREATE TABLE t (x)", "DROP TABLE t")   # a header in rollback mode, no schema
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")   # a reserved lock: the switch fails at once, ignoring the busy timeout
    t0 = time.monotonic()   # before the timer starts: a stall between them must not shorten the wait
    threading.Timer(1.0, writer.execute, ("COMMIT",)).start()
    with Catalog(path, timeout_s=30) as cat:
        assert cat.query("PRAGMA journal_mode")[0]["journal_mode"] == "wal"
    assert time.monotonic() - t0 >= 0.9
    writer.close()


def _sqlite_file_path(path):
    _sqlite_file(path, "PRAGMA journal_mode=WAL")
    return path


def test_corrupt_or_foreign_files_are_refused_and_kept(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"garbage" * 100)
    with pytest.raises(CatalogError, match="not an SQLite file"):
        Catalog(bad)
    assert bad.read_bytes() == b"garbage" * 100
    foreign = tmp_path / "foreign.sqlite"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(CatalogError, match="not a desghost catalog"):
        Catalog(foreign)
    with pytest.raises(CatalogError, match="no catalog"):
        Catalog(tmp_path / "missing.sqlite", create=False)


def _raytrace_list(folder):
    path = folder / "raytrace.txt"
    path.write_text("#date     expnum ccd id ccdnum\n20170101   600000 nan N4  35\n")
    return path


def _sqlite_file(path, *statements):
    con = sqlite3.connect(path)
    for stmt in statements:
        con.execute(stmt)
    con.commit()
    con.close()
    return path.read_bytes()


def test_another_applications_sqlite_file_is_unchanged_byte_for_byte(tmp_path):
    """Refused with exit 13 before anything is written: no WAL switch, no tables, even with a meta(key, value)."""
    for name, statements in {"plain": ["CREATE TABLE t (x)", "INSERT INTO t VALUES (1)"],
                             "lookalike": ["CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)",
                                           "INSERT INTO meta VALUES ('schema_version', '2')"],
                             "other_app": ["PRAGMA application_id = 1234", "CREATE TABLE meta (key, value)"],
                             "versioned_only": ["PRAGMA user_version = 7"]}.items():
        foreign = tmp_path / f"{name}.sqlite"
        before = _sqlite_file(foreign, *statements)
        assert main(["query", "--catalog", str(foreign)]) == 13
        assert main(["import-raytrace", str(_raytrace_list(tmp_path)), "--catalog", str(foreign)]) == 13
        assert foreign.read_bytes() == before, name
        assert sorted(p.name for p in tmp_path.glob(f"{name}.sqlite*")) == [foreign.name]  # no -wal, no -shm


def test_a_catalog_of_an_earlier_version_is_recognised_and_stamped(tmp_path):
    """Catalogs written before the application id: all desghost tables plus a schema_version row."""
    path = tmp_path / "old.sqlite"
    with Catalog(path) as cat:
        cat.record_exposure(exposure_result(100))
        cat.conn.execute("PRAGMA application_id = 0")
    with Catalog(path) as cat:
        assert cat.conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert count(cat, "exposures") == 1


def test_a_catalog_path_that_cannot_be_a_catalog_is_exit_13_naming_it(tmp_path, capsys):
    folder = tmp_path / "a_folder"
    folder.mkdir()
    assert main(["query", "--catalog", str(folder)]) == 13
    assert str(folder) in capsys.readouterr().err
    if os.geteuid() != 0:  # root writes into read-only folders
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert main(["import-raytrace", str(_raytrace_list(tmp_path)), "--catalog", str(locked / "c.sqlite")]) == 13
        assert str(locked / "c.sqlite") in capsys.readouterr().err


def test_query_cli_errors_are_clean(tmp_path, capsys):
    assert main(["query", "--catalog", str(tmp_path / "none.sqlite")]) == 13
    assert "no catalog" in capsys.readouterr().err
    (tmp_path / "bad.sqlite").write_text("x" * 100)
    assert main(["query", "--catalog", str(tmp_path / "bad.sqlite")]) == 13


def test_queries_filter_and_are_parameterised(tmp_path):
    with Catalog(tmp_path / "c.sqlite") as cat:
        cat.record_exposure(exposure_result(100, band="r", date="2017-03-04T01:00:00", cls="Rays"))
        cat.record_exposure(exposure_result(101, band="g", date="2017-05-04T01:00:00", cls="Bright"))
        cat.record_exposure(exposure_result(102, band="r", date="2018-01-04T01:00:00", cls="Rays"))

        def q(**kw):
            return cat.query(*build_query(**kw))

        assert {r["expnum"] for r in q(what="instances", classes=["Rays"], bands=["r"], since="2017", until="2017")} == {100}
        assert [r["ccdnum"] for r in q(expnum="101")] == [5, 6]
        assert {r["expnum"] for r in q(expnum="100-101", ccdnums=[6])} == {100, 101}
        assert {r["expnum"] for r in q(what="instances", ccdnums=[5])} == {100, 101, 102}
        assert q(bands=["r'; DROP TABLE exposures; --"]) == []
        assert count(cat, "exposures") == 3
        assert {r["expnum"] for r in q(what="exposures", until="2017-03")} == {100}


def test_query_output_formats(tmp_path, capsys):
    import fitsio
    path = tmp_path / "c.sqlite"
    with Catalog(path) as cat:
        cat.record_exposure(exposure_result(100))
    assert main(["query", "--catalog", str(path), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("expnum,ccdnum") and len(out.splitlines()) == 3
    assert main(["query", "--catalog", str(path)]) == 0  # the aligned table
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["expnum", "ccdnum"] and set(lines[1]) <= {"-", " "} and len(lines) == 4
    assert lines[2].split()[:2] == ["100", "5"]
    assert main(["query", "--catalog", str(path), "--format", "raytrace", "-o", str(tmp_path / "r.txt")]) == 0
    arr = np.genfromtxt(tmp_path / "r.txt", names=True, dtype=int)
    assert arr["ccdnum"].tolist() == [5, 6] and set(arr["expnum"]) == {100}
    assert main(["query", "--catalog", str(path), "--format", "fits", "-o", str(tmp_path / "q.fits")]) == 0
    t = fitsio.read(tmp_path / "q.fits", ext="EXCLUDE")
    assert t.dtype.names[:4] == ("EXPNUM", "CCDNUM", "REASON", "ANALYST") and t["CCDNUM"].tolist() == [5, 6]


def test_compare_hand_made(tmp_path):
    lst = tmp_path / "ghost-scatter-y99.txt"
    lst.write_text("#date     expnum ccd id ccdnum\n20170304  100 nan S1 5\n20170304  100 nan S2 9\n"
                   "20170304  103 nan S2 7\n")
    path = tmp_path / "c.sqlite"
    with Catalog(path) as cat:
        from desghost.catalog.raytrace import read_list
        cat.import_exclusions(read_list(lst), "raytrace", "ghost-scatter", lst.name)
        cat.record_exposure(exposure_result(100, ccds=(5, 6)))  # tp 5, fp 6, fn 9
        cat.record_exposure(exposure_result(102, ccds=(1,)))    # covered (inside 100..103): fp 1
        cat.record_exposure(exposure_result(200, ccds=(1,)))    # outside the list's range: ignored
        s = compare_sources(cat)
    assert s["n_exposures"] == 2 and (s["tp"], s["fp"], s["fn"]) == (1, 2, 1)
    assert s["precision"] == pytest.approx(1 / 3) and s["recall"] == pytest.approx(0.5)


@pytest.mark.real_data
def test_import_all_real_raytrace_lists(tmp_path):
    files = sorted(str(p) for p in shared_data("raytrace").glob("y*/*.txt"))
    out = subprocess.run([sys.executable, "-m", "desghost", "-q", "import-raytrace", *files, "--catalog",
                          str(tmp_path / "c.sqlite")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "ghost-scatter 21406" in out.stdout
    with Catalog(tmp_path / "c.sqlite", create=False) as cat:
        n = cat.query("SELECT COUNT(*) AS n FROM excluded_ccds WHERE category='ghost-scatter'")[0]["n"]
        ref = sum(len(np.atleast_1d(np.genfromtxt(f, names=True, dtype=int))) for f in files if "ghost-scatter" in f)
        assert n <= ref and n > 0.97 * ref
        # re-import replaces, never duplicates
    subprocess.run([sys.executable, "-m", "desghost", "-q", "import-raytrace", files[0], "--catalog",
                    str(tmp_path / "c.sqlite")], check=True, capture_output=True)
    with Catalog(tmp_path / "c.sqlite", create=False) as cat:
        assert cat.query("SELECT COUNT(*) AS n FROM excluded_ccds WHERE category='ghost-scatter'")[0]["n"] == n


@pytest.mark.real_data
def test_every_line_of_a_problem_list_is_read_free_text_and_all(tmp_path):
    """Whole-exposure lists have a free-text problem of any number of words: no line is dropped."""
    from desghost.catalog.raytrace import read_list

    path = shared_data("raytrace", "y07", "problem-y07.txt")
    data_lines = [ln for ln in path.read_text().splitlines()[1:] if ln.strip() and not ln.startswith("#")]
    rows = read_list(path)
    assert len(rows) == len(data_lines) == 55 and all(r[2] == 0 for r in rows)


def test_garbage_lists_and_annotations_name_the_file_and_line(tmp_path, capsys):
    binary = tmp_path / "ghost-scatter-y99.txt"
    binary.write_bytes(bytes(range(256)) * 10)
    text = tmp_path / "streak-y99.txt"
    text.write_text("hello world\nthis is not a list\n")
    bad_row = tmp_path / "noise-y99.txt"
    bad_row.write_text("#date     expnum ccd id ccdnum\n20170101   600000 nan N4  35\n20170101 60O001 nan N5 36\n")
    catalog = tmp_path / "c.sqlite"
    for path, where in ((binary, "not a text file"), (text, "line 1: expected the header"),
                        (bad_row, "line 3: cannot read '20170101 60O001")):
        assert main(["import-raytrace", str(path), "--catalog", str(catalog)]) == 18
        err = capsys.readouterr().err
        assert str(path) in err and where in err and "Traceback" not in err, err
    notjson = tmp_path / "annotator.json"
    notjson.write_text('{"a.png": {"filename": "a.png",\n "regions": [}\n')
    other = tmp_path / "other.json"
    other.write_text('[1, 2, 3]')
    for path, where in ((notjson, "line 2, column"), (other, "not a VIA annotation file"), (binary, "not a text file")):
        assert main(["agreement", "--images", str(tmp_path), str(path), str(path)]) == 18
        err = capsys.readouterr().err
        assert str(path) in err and where in err and "Traceback" not in err, err


def test_json_output_is_strict_json_with_null_for_undefined_metrics(tmp_path, capsys):
    import json

    path = tmp_path / "c.sqlite"
    with Catalog(path) as cat:
        cat.record_exposure(exposure_result(100))
    assert main(["import-raytrace", str(_raytrace_list(tmp_path)), "--catalog", str(path)]) == 0  # EXPNUM 600000
    capsys.readouterr()
    assert main(["compare", "--catalog", str(path), "--json"]) == 2  # no exposure in common: no metric defined
    out = capsys.readouterr().out
    assert "NaN" not in out
    record = json.loads(out)
    assert record["precision"] is None and record["f1"] is None


def test_one_catalog_rule_for_every_command(tmp_path, capsys, monkeypatch):
    """--catalog FILE or FOLDER, else $DESGHOST_CATALOG, else desghost_catalog.sqlite in the output/working folder."""
    from desghost.catalog.location import CATALOG_NAME, catalog_path

    night = tmp_path / "night_out"
    night.mkdir()
    assert catalog_path(None, night) == night / CATALOG_NAME and catalog_path(night) == night / CATALOG_NAME
    assert catalog_path(tmp_path / "x.sqlite", night) == tmp_path / "x.sqlite"
    monkeypatch.setenv("DESGHOST_CATALOG", str(night))
    assert catalog_path(None, tmp_path / "elsewhere") == night / CATALOG_NAME
    monkeypatch.delenv("DESGHOST_CATALOG")
    monkeypatch.chdir(tmp_path)
    assert catalog_path() == tmp_path / CATALOG_NAME or catalog_path().resolve() == tmp_path / CATALOG_NAME
    # a night's output folder given to query finds the catalog the night wrote there
    with Catalog(night / CATALOG_NAME) as cat:
        cat.record_exposure(exposure_result(321))
    assert main(["query", "--catalog", str(night), "--what", "exposures", "--format", "csv"]) == 0
    assert "321" in capsys.readouterr().out
    for command in ("run", "night", "query", "compare", "import-raytrace", "report"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "$DESGHOST_CATALOG" in " ".join(capsys.readouterr().out.split()), command
