"""The nightly runner: a directory with a corrupt file, idempotent re-runs, kill and resume."""
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from desghost.catalog.store import Catalog
from desghost.driver.exposure import RunConfig, product_names
from desghost.reading.discovery import discover_inputs
from desghost.runners.night import run_night

pytestmark = pytest.mark.e2e


def test_discover_inputs(night_dir, tmp_path):
    raw, _ = night_dir
    found = discover_inputs([raw])
    assert len(found) == 7 and any(f.endswith("D00700105") for f in found)
    lst = tmp_path / "list.txt"
    lst.write_text("# a night\n" + "\n".join(found[:3]) + "\n")
    assert discover_inputs([lst]) == found[:3]


def test_night_processes_all_records_the_failure_and_is_idempotent(night_dir, tmp_path):
    raw, model = night_dir
    cfg = RunConfig(model=str(model), threshold=0.05)
    s = run_night([raw], tmp_path / "out", config=cfg, workers=2, progress=False, report=False)
    assert len(s.done) == 6 and len(s.failed) == 1 and "DECam_00700106" in s.failed[0][0]
    assert s.exposures_per_minute > 0
    again = run_night([raw], tmp_path / "out", config=cfg, workers=2, progress=False, report=False)
    assert len(again.done) == 0 and len(again.skipped) == 7
    with Catalog(tmp_path / "out" / "desghost_catalog.sqlite", create=False) as cat:
        assert cat.query("SELECT COUNT(*) AS n FROM exposures")[0]["n"] == 6
        assert cat.query("SELECT COUNT(*) AS n FROM failures")[0]["n"] == 1
    logs = list((tmp_path / "out" / "logs").glob("night-*.log"))
    assert logs and "done" in logs[0].read_text()
    # same results as `desghost run` on each exposure alone
    single = tmp_path / "single"
    out = subprocess.run([sys.executable, "-m", "desghost", "run", str(raw / "DECam_00700102.fits.fz"), "-o",
                          str(single), "--model", str(model), "--threshold", "0.05"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    name = product_names(700102)["exclusion_txt"]
    assert len((single / name).read_text().splitlines()) > 1, "nothing was found: the comparison would be empty"
    assert (single / name).read_text() == (tmp_path / "out" / name).read_text()


def test_kill_and_resume_loses_nothing(night_dir, tmp_path):
    raw, model = night_dir
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "desghost", "night", str(raw), "-o", str(out), "--model", str(model),
           "--threshold", "0.05", "--workers", "1", "--no-report"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    db = out / "desghost_catalog.sqlite"
    deadline = time.time() + 240
    while time.time() < deadline:
        time.sleep(0.5)
        try:
            con = sqlite3.connect(db, timeout=5)
            n = con.execute("SELECT COUNT(*) FROM exposures").fetchone()[0]
            con.close()
        except sqlite3.Error:
            n = 0
        if n >= 2:
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert n >= 2, "the night did not get going"
    resumed = subprocess.run(cmd, capture_output=True, text=True)  # the same command continues the night
    assert resumed.returncode == 14, resumed.stderr  # the corrupt file is a failed exposure of the night
    import re
    done, skipped, failed = map(int, re.search(r"done (\d+), skipped (\d+), failed (\d+)", resumed.stderr).groups())
    assert skipped >= n and done + skipped + failed == 7
    with Catalog(db, create=False) as cat:
        assert cat.query("SELECT COUNT(*) AS n FROM exposures")[0]["n"] == 6
        assert cat.query("PRAGMA integrity_check")[0]["integrity_check"] == "ok"
    for expnum in range(700100, 700106):
        for key in ("mask", "exclusion_fits", "exclusion_txt", "overlay"):
            assert (out / product_names(expnum)[key]).exists()
    assert not list(out.glob(".*.part-*"))
