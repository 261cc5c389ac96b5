"""One failure policy for `run`, `night` and the stage, tested with real processes and signals."""
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import psutil
import pytest

from desghost.catalog.store import SCHEMA_VERSION, Catalog
from desghost.driver.exposure import product_names

from .helpers import desghost

pytestmark = pytest.mark.e2e



@pytest.fixture
def two_exposures(night_dir, tmp_path):
    """A folder with two of the night's raw exposures, and the night's model."""
    raw, model = night_dir
    d = tmp_path / "raw"
    d.mkdir()
    for expnum in (700100, 700101):
        shutil.copy(raw / f"DECam_{expnum:08d}.fits.fz", d)
    return d, model


def test_run_then_night_on_the_same_catalog_skips_the_exposure(two_exposures, tmp_path):
    raw, model = two_exposures
    first = desghost("-q", "run", "raw/DECam_00700100.fits.fz", "-o", "out", "--catalog", "out/cat.sqlite",
                      "--model", model, "--threshold", 0.05, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    with Catalog(tmp_path / "out" / "cat.sqlite", create=False) as cat:
        assert cat.query("SELECT input FROM exposures")[0]["input"] == str(raw / "DECam_00700100.fits.fz")
    night = desghost("night", raw, "-o", tmp_path / "out", "--catalog", tmp_path / "out" / "cat.sqlite",
                      "--model", model, "--threshold", 0.05, "--workers", 1, "--no-report")
    assert night.returncode == 0, night.stderr
    assert "done 1, skipped 1, failed 0" in night.stderr


def test_a_catalog_with_relative_inputs_is_migrated_to_absolute_paths(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "x.fits.fz").write_bytes(b"")
    path = tmp_path / "old.sqlite"
    with Catalog(path) as cat:  # make a catalog, then turn it into a schema-1 one with relative inputs
        cat.conn.execute("INSERT INTO exposures (source, expnum, status, input) VALUES ('desghost', 5, 'ok', "
                         "'raw/x.fits.fz')")
        cat.conn.execute("INSERT INTO failures VALUES ('desghost', 'raw/gone.fits', NULL, 'r', 4, 'now')")
        cat.conn.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    with Catalog(path) as cat:
        assert cat.query("SELECT input FROM exposures")[0]["input"] == str(tmp_path / "raw" / "x.fits.fz")
        assert os.path.isabs(cat.query("SELECT input FROM failures")[0]["input"])
        assert cat.query("SELECT value FROM meta WHERE key='schema_version'")[0]["value"] == SCHEMA_VERSION


@pytest.mark.parametrize("command", ["run", "night"])
def test_an_unwritable_output_folder_fails_before_any_exposure_is_read(two_exposures, tmp_path, command):
    raw, model = two_exposures
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    inputs = [raw / "DECam_00700100.fits.fz"] if command == "run" else [raw]
    t0 = time.perf_counter()
    out = desghost(command, *inputs, "-o", blocker / "out", "--catalog", tmp_path / "cat.sqlite", "--model", model)
    assert out.returncode == 9, out.stderr
    assert str(blocker / "out") in out.stderr and "cannot write" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and time.perf_counter() - t0 < 60
    assert not (tmp_path / "cat.sqlite").exists() or not Catalog(tmp_path / "cat.sqlite").query(
        "SELECT * FROM failures")


def _small_disk():
    # a "full disk" for this process and its workers: files may not grow past 150 kB
    resource.setrlimit(resource.RLIMIT_FSIZE, (150_000, 150_000))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def test_a_full_disk_leaves_no_product_and_records_one_line_with_exit_code_9(two_exposures, tmp_path):
    raw, model = two_exposures
    one = tmp_path / "one"
    one.mkdir()
    shutil.copy(raw / "DECam_00700100.fits.fz", one)
    out = desghost("night", one, "-o", tmp_path / "out", "--model", model, "--threshold", 0.05, "--workers", 1,
                    "--no-report",
                    preexec_fn=_small_disk)
    assert out.returncode == 9, out.stderr  # one exposure given: its own exit code
    with Catalog(tmp_path / "out" / "desghost_catalog.sqlite", create=False) as cat:
        rows = cat.query("SELECT reason, exit_code FROM failures")
        assert cat.query("SELECT COUNT(*) AS n FROM exposures")[0]["n"] == 0
    assert len(rows) == 1 and rows[0]["exit_code"] == 9
    assert "cannot write" in rows[0]["reason"] and "\n" not in rows[0]["reason"] and len(rows[0]["reason"]) <= 300
    names = product_names(700100)
    assert not any((tmp_path / "out" / names[k]).exists() for k in names), "a product appeared without the others"
    assert not list((tmp_path / "out").glob(".*part*")), "temporary files were left behind"


def test_sigterm_stops_the_workers_with_the_night(night_dir, tmp_path):
    raw, model = night_dir
    proc = subprocess.Popen([sys.executable, "-m", "desghost", "night", str(raw), "-o", str(tmp_path / "out"),
                             "--model", str(model), "--workers", "2"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    parent = psutil.Process(proc.pid)
    children = []
    deadline = time.time() + 120
    while time.time() < deadline and len(children) < 2:
        time.sleep(0.2)
        children = parent.children(recursive=True)
    assert len(children) >= 2, "the night's worker processes did not start"
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, f"still running after the night stopped: {[p.cmdline() for p in alive]}"
    with sqlite3.connect(tmp_path / "out" / "desghost_catalog.sqlite") as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert not [p for p in (tmp_path / "out").iterdir() if re.match(r"D\d+_desghost_mask", p.name)
                and not (tmp_path / "out" / p.name.replace("mask.fits.fz", "exclude.fits")).exists()]


def test_a_product_that_cannot_be_placed_keeps_the_whole_set_out(two_exposures, tmp_path):
    raw, model = two_exposures
    out = tmp_path / "out"
    names = product_names(700100)
    (out / names["overlay"]).mkdir(parents=True)  # the last product's name is taken by a folder
    res = desghost("run", raw / "DECam_00700100.fits.fz", "-o", out, "--catalog", out / "cat.sqlite",
                    "--model", model, "--threshold", 0.05)
    assert res.returncode == 9, res.stderr
    assert names["overlay"] in res.stderr and len(res.stderr.strip().splitlines()) <= 3
    assert not any((out / names[k]).exists() for k in ("mask", "exclusion_fits", "exclusion_txt"))
    assert not list(out.glob(".*part*"))
    with Catalog(out / "cat.sqlite", create=False) as cat:
        assert cat.query("SELECT COUNT(*) AS n FROM exposures")[0]["n"] == 0
        assert cat.query("SELECT exit_code FROM failures")[0]["exit_code"] == 9


def test_file_group_puts_back_the_previous_files_when_a_rename_fails(tmp_path):
    from desghost.atomic import FileGroup

    (tmp_path / "a.txt").write_text("old a")
    (tmp_path / "b.txt").write_text("old b")
    with FileGroup() as group:
        group.temporary(tmp_path / "a.txt").write_text("new a")
        group.temporary(tmp_path / "b.txt").write_text("new b")
        group._pending[tmp_path / "b.txt"].unlink()  # the second file's temporary vanished
        with pytest.raises(FileNotFoundError):
            group.commit()
    assert (tmp_path / "a.txt").read_text() == "old a" and (tmp_path / "b.txt").read_text() == "old b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]
    with FileGroup() as group:
        group.temporary(tmp_path / "a.txt").write_text("new a")
        group.temporary(tmp_path / "b.txt").write_text("new b")
        group.commit()
    assert (tmp_path / "a.txt").read_text() == "new a" and (tmp_path / "b.txt").read_text() == "new b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


def test_a_product_replaced_by_a_commit_never_vanishes_for_a_reader(tmp_path):
    """Another night reads the products a --force night replaces: the final name must hold the old
    file or the new one at every moment, never nothing."""
    from desghost.atomic import FileGroup

    path = tmp_path / "D00700000_desghost_regions.fits"
    path.write_text("0")
    stop, missing = threading.Event(), []

    def reader():
        while not stop.is_set():
            try:
                path.read_text()
            except FileNotFoundError:
                missing.append(1)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for k in range(1, 1500):
            with FileGroup() as group:
                group.temporary(path).write_text(str(k))
                group.commit()
    finally:
        stop.set()
        thread.join()
    assert path.read_text() == "1499"
    assert not missing, f"the product was absent {len(missing)} times"
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
