"""A catalog whose disk fills, or an output folder that turns read-only, mid-night: the night ends with exit 13
or 9 naming the path, and every exposure whose products are visible has its catalog row (issue 38 items 7, 13)."""
import os
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from desghost.driver.exposure import RunConfig
from desghost.runners.night import run_night
from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure

pytestmark = pytest.mark.e2e


def _inputs(tmp_path, n, base):
    for k in range(n):
        write_simulated_exposure(tmp_path / "in" / f"DECam_{base + k:08d}.fits.fz",
                                 SimulationConfig(expnum=base + k, seed=k, n_artifacts=2))
    return tmp_path / "in"


def _ok_rows(catalog):
    with sqlite3.connect(f"file:{catalog}?mode=ro", uri=True) as db:
        return {r[0] for r in db.execute("SELECT expnum FROM exposures WHERE status='ok'")}


def _ok_rows_so_far(catalog):
    """``_ok_rows``, or an empty set while the catalog is still being created."""
    try:
        return _ok_rows(catalog) if catalog.exists() else set()
    except sqlite3.Error:
        return set()


def _night_after_its_first_exposure(inputs, out, catalog):
    """Start ``desghost night`` and return its process once its first exposure is recorded."""
    proc = subprocess.Popen([sys.executable, "-m", "desghost", "night", str(inputs), "-o", str(out), "--catalog",
                             str(catalog), "--workers", "1", "--no-report", "--lenient"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not _ok_rows_so_far(catalog):
        time.sleep(0.05)
    return proc


def _visible(out):
    return {int(p.name[1:9]) for p in out.glob("D*_desghost_exclude.fits")}


@pytest.fixture
def mount(tmp_path):
    """Mount helper: tmpfs of a size, or a read-only remount of a bind mount (skipped where not allowed)."""
    mounted = []

    def run(*args):
        proc = subprocess.run(["mount", *args], capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"needs mount (root in a machine that allows it): {proc.stderr.strip()}")
        mounted.append(args[-1])

    yield run
    for target in reversed(mounted):
        subprocess.run(["umount", "-l", target], capture_output=True)


def test_products_appear_only_after_their_catalog_row(tmp_path):
    inputs = _inputs(tmp_path, 3, 701400)
    out = tmp_path / "out"
    violations, stop = [], threading.Event()

    def watch():
        catalog = out / "desghost_catalog.sqlite"
        while not stop.is_set():
            visible = _visible(out) if out.exists() else set()
            if visible and catalog.exists():
                try:
                    rows = _ok_rows(catalog)
                except sqlite3.Error:
                    continue
                if visible - rows:
                    violations.append(visible - rows)
            time.sleep(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        summary = run_night([inputs], out, config=RunConfig(), workers=1, progress=False, report=False)
    finally:
        stop.set()
        watcher.join()
    assert len(summary.done) == 3 and not violations


def test_the_catalogs_disk_filling_mid_night_stops_it_with_exit_13(tmp_path, mount):
    inputs = _inputs(tmp_path, 4, 701410)
    small = tmp_path / "small"
    small.mkdir()
    mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", str(small))
    catalog, out = small / "catalog.sqlite", tmp_path / "out"
    proc = _night_after_its_first_exposure(inputs, out, catalog)
    fd = os.open(small / "filler", os.O_WRONLY | os.O_CREAT)   # fill the catalog's disk to the last byte
    for block in (65536, 512, 1):
        try:
            while True:
                os.write(fd, b"\0" * block)
        except OSError:
            pass
    os.close(fd)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 13, err
    assert str(catalog) in err and "Traceback" not in err and "internal error" not in err
    (small / "filler").unlink()
    assert _visible(out) == _ok_rows(catalog) and 1 <= len(_ok_rows(catalog)) < 4


def test_an_output_folder_turning_unwritable_mid_night_stops_it_with_exit_9(tmp_path):
    """``chattr +i`` on the output folder: no file can be made or renamed there, even by root."""
    inputs = _inputs(tmp_path, 4, 701420)
    out, catalog = tmp_path / "out", tmp_path / "catalog.sqlite"
    out.mkdir()
    proc = _night_after_its_first_exposure(inputs, out, catalog)
    frozen = subprocess.run(["chattr", "+i", str(out)], capture_output=True, text=True)
    try:
        if frozen.returncode != 0:
            proc.kill()
            proc.wait()
            pytest.skip(f"needs chattr +i on the test's file system: {frozen.stderr.strip()}")
        _, err = proc.communicate(timeout=300)
    finally:
        subprocess.run(["chattr", "-i", str(out)], capture_output=True)
    assert proc.returncode == 9, err
    assert str(out) in err and "Traceback" not in err and "internal error" not in err
    assert _visible(out) == _ok_rows(catalog)
