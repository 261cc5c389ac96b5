"""One exposure is processed by one process at a time (issue 38 item 15)."""
import fcntl
import os
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from desghost.driver.claims import CLAIMS_FOLDER, ExposureClaims, claim_key
from desghost.errors import OutputError
from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure

pytestmark = pytest.mark.e2e


def _night(inputs, out, *extra):
    return subprocess.Popen([sys.executable, "-m", "desghost", "night", str(inputs), "-o", str(out), "--workers", "1",
                             "--no-report", "--lenient", "-q", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _inputs(tmp_path, n):
    for k in range(n):
        write_simulated_exposure(tmp_path / "in" / f"DECam_{701300 + k:08d}.fits.fz",
                                 SimulationConfig(expnum=701300 + k, seed=k, n_artifacts=1))
    return tmp_path / "in"


def test_a_claim_held_by_a_live_process_is_waited_for_and_a_dead_ones_is_taken_over(tmp_path):
    inputs = _inputs(tmp_path, 2)
    out = tmp_path / "out"
    first = str(inputs / "DECam_00701300.fits.fz")
    (out / CLAIMS_FOLDER).mkdir(parents=True)
    (out / CLAIMS_FOLDER / f"{claim_key(first)}.lock").write_text("")   # left by a dead process: no lock on it
    holder = ExposureClaims(out)
    assert holder.take(str(inputs / "DECam_00701301.fits.fz"))           # a live holder
    released = threading.Timer(6.0, holder.release_all)
    t0 = time.monotonic()
    released.start()
    proc = _night(inputs, out)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert time.monotonic() - t0 >= 6.0   # it waited for the live claim
    with sqlite3.connect(out / "desghost_catalog.sqlite") as db:
        assert db.execute("SELECT count(*) FROM exposures WHERE status='ok'").fetchone()[0] == 2
        assert db.execute("SELECT count(*) FROM failures").fetchone()[0] == 0


def test_two_nights_started_together_never_fail_an_exposure(tmp_path):
    inputs = _inputs(tmp_path, 3)
    out = tmp_path / "out"
    procs = [_night(inputs, out), _night(inputs, out, "--force")]
    results = [p.communicate(timeout=600) for p in procs]
    for proc, (_, err) in zip(procs, results):
        assert proc.returncode == 0, err
        assert "cannot write" not in err
    with sqlite3.connect(out / "desghost_catalog.sqlite") as db:
        assert db.execute("SELECT count(*) FROM exposures WHERE status='ok'").fetchone()[0] == 3
        assert db.execute("SELECT count(*) FROM failures").fetchone()[0] == 0


def test_claims_are_exclusive_between_processes(tmp_path):
    claims = ExposureClaims(tmp_path)
    assert claims.take("/data/x.fits")
    lock_path = tmp_path / CLAIMS_FOLDER / f"{claim_key('/data/x.fits')}.lock"
    fd = os.open(lock_path, os.O_RDWR)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            raise AssertionError("the claim's lock was free while held")
        except BlockingIOError:
            pass
        other = ExposureClaims(tmp_path)
        assert not other.take("/data/x.fits")
        claims.release_all()
        assert not lock_path.exists() and not (tmp_path / CLAIMS_FOLDER).exists()
        assert other.take("/data/x.fits")   # a new lock file, not the unlinked one still open here
    finally:
        os.close(fd)


def test_a_claim_is_taken_while_another_process_removes_the_emptied_claims_folder(tmp_path):
    """release_all() of a night that finishes removes the claims folder when it is empty, which
    can fall between another night's making the folder and creating its lock file there."""
    claims = ExposureClaims(tmp_path)
    stop = threading.Event()

    def remover():
        while not stop.is_set():
            try:
                (tmp_path / CLAIMS_FOLDER).rmdir()
            except OSError:
                pass

    thread = threading.Thread(target=remover)
    thread.start()
    try:
        for k in range(3000):
            assert claims.take(f"/data/x{k}.fits")
            claims.release(f"/data/x{k}.fits")
    finally:
        stop.set()
        thread.join()


def test_a_claims_name_taken_by_a_file_is_an_error_not_a_wait(tmp_path):
    (tmp_path / CLAIMS_FOLDER).write_text("not a folder")
    with pytest.raises(OutputError, match="claims folder"):
        ExposureClaims(tmp_path)
    (tmp_path / CLAIMS_FOLDER).unlink()
    claims = ExposureClaims(tmp_path)
    (tmp_path / CLAIMS_FOLDER).rmdir()
    (tmp_path / CLAIMS_FOLDER).write_text("taken after the claims were made")
    with pytest.raises(OutputError, match="claims folder"):
        claims.take("/data/x.fits")
    (tmp_path / CLAIMS_FOLDER).unlink()
    (tmp_path / CLAIMS_FOLDER).write_text("not a folder")
    inputs = _inputs(tmp_path, 1)
    proc = _night(inputs, tmp_path)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 9 and CLAIMS_FOLDER in err, err


def test_an_exposure_recorded_from_another_input_while_waiting_for_its_claim_is_not_overwritten(tmp_path):
    """A night waits for an exposure another process holds; that process records the EXPNUM from
    a different input.  When the claim is free, this night refuses it (exit 16 for the exposure)."""
    from desghost.catalog.store import Catalog

    from .helpers import exposure_result

    inputs = _inputs(tmp_path, 1)
    out = tmp_path / "out"
    holder = ExposureClaims(out)
    assert holder.take(str(inputs / "DECam_00701300.fits.fz"))
    proc = _night(inputs, out)
    time.sleep(10.0)   # the night has checked the catalog (still empty) and waits for the claim
    with Catalog(out / "desghost_catalog.sqlite") as cat:
        cat.record_exposure(exposure_result(701300))   # the same EXPNUM from /data/DECam_00701300.fits.fz
    holder.release_all()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode != 0 and "EXPNUM 701300 is in the catalog from /data/DECam_00701300.fits.fz" in err, err
    with sqlite3.connect(out / "desghost_catalog.sqlite") as db:
        assert db.execute("SELECT input FROM exposures").fetchall() == [("/data/DECam_00701300.fits.fz",)]
        assert db.execute("SELECT exit_code FROM failures").fetchall() == [(16,)]
    assert not list(out.glob("D00701300_*"))


def test_a_night_writes_its_lists_only_while_it_holds_the_output_folder(tmp_path):
    """The night's lists and report summarise the catalog: written under the output folder's lock,
    so two nights never write an older view over a newer one."""
    from desghost.atomic import folder_lock

    inputs = _inputs(tmp_path, 1)
    out = tmp_path / "out"
    out.mkdir()
    with folder_lock(out):
        proc = _night(inputs, out)
        deadline = time.monotonic() + 240
        while not list(out.glob("D00701300_*mask*")) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3.0)
        assert list(out.glob("D00701300_*mask*")), "the exposure was never processed"
        assert proc.poll() is None and not list(out.glob("ghost-scatter-*.txt"))   # waits for the lock
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert len(list(out.glob("ghost-scatter-*.txt"))) == 1


def test_an_exposure_another_night_finished_while_this_one_waited_for_its_claim_is_skipped(tmp_path):
    """Two nights given the same input: the one that waited for the claim finds the exposure
    recorded with its products when it gets the claim, and skips it instead of doing it again."""
    import json

    inputs = _inputs(tmp_path, 1)
    path = str(inputs / "DECam_00701300.fits.fz")
    out = tmp_path / "out"
    proc = _night(inputs, out)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    (mask,) = out.glob("D00701300_*mask*")
    aside = tmp_path / mask.name
    mask.rename(aside)                     # so the next night plans the exposure as not done
    holder = ExposureClaims(out)
    assert holder.take(path)               # the "other night", still working on it
    logs_before = set((out / "logs").glob("night-*.log"))
    proc = _night(inputs, out)
    deadline = time.monotonic() + 240
    planned = False
    while not planned and time.monotonic() < deadline:
        new_logs = set((out / "logs").glob("night-*.log")) - logs_before
        planned = any("1 to process" in log.read_text() for log in new_logs)
        time.sleep(0.2)
    assert planned, "the second night never planned its input"
    aside.rename(mask)                     # the other night finishes: its products are in place
    written = {p: p.stat().st_mtime_ns for p in out.glob("D00701300_*")}
    holder.release_all()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    summary = json.loads((out / "night_summary.json").read_text())
    assert summary["done"] == 0 and summary["skipped"] == 1, summary
    assert {p: p.stat().st_mtime_ns for p in out.glob("D00701300_*")} == written   # nothing written again
