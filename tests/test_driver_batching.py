"""The overlapped runner: batched detection, the bounded queue, a worker that dies, no-inference runs."""
import os
import signal

import fitsio
import numpy as np
import psutil
import pytest

from desghost.catalog.store import Catalog
from desghost.driver.exposure import RunConfig, product_names
from desghost.driver.many import process_exposures
from desghost.driver.scheduling import in_flight_limit, inference_threads, resolve_batch_size
from desghost.reading.discovery import discover_inputs
from desghost.runners.night import run_night
from desghost.runners.stage_results import process_for_stage

pytestmark = pytest.mark.e2e


def _exclusions(path):
    rows = fitsio.read(path, ext="EXCLUDE")
    return {(int(r["EXPNUM"]), int(r["CCDNUM"])): float(r["SCORE"]) for r in rows}


def test_core_split_and_batch_defaults():
    assert inference_threads(2, "cpu", cores=2) == 1
    assert inference_threads(4, "cpu", cores=16) == 12
    assert inference_threads(15, "cuda", cores=16) == 1
    assert resolve_batch_size(None, "cpu") == 1 and resolve_batch_size(None, "cuda") == 8
    assert resolve_batch_size(3, "cpu") == 3
    assert in_flight_limit(2, 1) == 5


def test_batched_detection_agrees_with_single_and_queue_stays_bounded(night_dir, tmp_path):
    raw, model = night_dir
    cfg = RunConfig(model=str(model), threshold=0.05)
    paths = discover_inputs([raw])
    single = process_exposures(paths, str(tmp_path / "b1"), cfg, str(tmp_path / "b1.sqlite"), workers=1, batch_size=1)
    batched = process_exposures(paths, str(tmp_path / "b3"), cfg, str(tmp_path / "b3.sqlite"), workers=2, batch_size=3)
    for outcomes, limit in ((single, in_flight_limit(1, 1)), (batched, in_flight_limit(2, 3))):
        assert sorted(o.path for o in outcomes) == sorted(paths)
        assert sum(o.error is None for o in outcomes) == 6
        assert max(o.in_flight for o in outcomes) <= limit
    n_rows = 0
    for expnum in range(700100, 700106):
        name = product_names(expnum)["exclusion_fits"]
        a, b = _exclusions(tmp_path / "b1" / name), _exclusions(tmp_path / "b3" / name)
        assert a.keys() == b.keys()
        assert np.allclose([a[k] for k in a], [b[k] for k in a], atol=1e-4)
        n_rows += len(a)
    assert n_rows > 0, "the test model found nothing: the comparison would be empty"


def test_stage_batches_give_the_same_products(night_dir, tmp_path):
    raw, model = night_dir
    cfg = RunConfig(model=str(model), threshold=0.05)
    paths = [str(raw / "DECam_00700106.fits.fz"), str(raw / "DECam_00700101.fits.fz"), str(raw / "D00700105")]
    results = process_for_stage(paths, str(tmp_path / "stage"), cfg, batch_size=1)
    assert [r["input"] for r in results] == [os.path.abspath(p) for p in paths]
    assert [r["ok"] for r in results] == [False, True, True]
    assert "DECam_00700106" in results[0]["reason"] and results[0]["exit_code"] > 1
    ok = results[1]
    assert ok["result"].image is None and all(not hasattr(i, "mask") for i in ok["result"].instances)
    (tmp_path / "list.txt").write_text("\n".join(paths) + "\n")  # a list names a per-CCD folder as one exposure
    night = run_night([tmp_path / "list.txt"], tmp_path / "night", config=cfg, workers=2, progress=False, report=False)
    assert len(night.done) == 2
    found = 0
    for expnum in (700101, 700105):
        name = product_names(expnum)["exclusion_txt"]
        assert (tmp_path / "stage" / name).read_text() == (tmp_path / "night" / name).read_text()
        found += len((tmp_path / "stage" / name).read_text().splitlines()) - 1
    assert found > 0, "nothing was found: the comparison would be empty"


def test_no_inference_run_writes_empty_products(night_dir, tmp_path):
    raw, model = night_dir
    cfg = RunConfig(model=str(model), threshold=0.05, write_overlay=False)
    s = run_night([raw], tmp_path / "io", config=cfg, workers=2, progress=False, report=False, inference=False)
    assert len(s.done) == 6 and len(s.failed) == 1
    for expnum in range(700100, 700106):
        assert len(fitsio.read(tmp_path / "io" / product_names(expnum)["exclusion_fits"], ext="EXCLUDE")) == 0
        assert (tmp_path / "io" / product_names(expnum)["mask"]).exists()


def test_a_worker_killed_mid_night_fails_its_exposures_and_the_night_goes_on(night_dir, tmp_path):
    raw, model = night_dir
    cfg = RunConfig(model=str(model), threshold=0.05, write_overlay=False)
    killed = []

    def kill_a_worker(outcome):
        if not killed:
            children = psutil.Process().children(recursive=True)
            workers = [c for c in children if "resource_tracker" not in " ".join(c.cmdline())]
            if workers:
                os.kill(workers[-1].pid, signal.SIGKILL)
                killed.append(workers[-1].pid)

    paths = discover_inputs([raw])
    outcomes = process_exposures(paths, str(tmp_path / "out"), cfg, str(tmp_path / "cat.sqlite"), workers=2,
                              batch_size=1, on_outcome=kill_a_worker)
    assert killed, "no worker process was found to kill"
    assert sorted(o.path for o in outcomes) == sorted(paths)
    died = [o for o in outcomes if o.error and "worker process died" in o.error]
    assert died, "killing a worker did not show up as a failure"
    # --retry-failed finishes the night
    again = run_night([raw], tmp_path / "out", catalog_path=tmp_path / "cat.sqlite", config=cfg, workers=2,
                      progress=False, report=False, retry_failed=True)
    assert len(again.done) + len(again.skipped) == 6 and len(again.failed) == 1
    with Catalog(tmp_path / "cat.sqlite", create=False) as cat:
        assert cat.query("SELECT COUNT(*) AS n FROM exposures WHERE status='ok'")[0]["n"] == 6


def test_night_cli_batches_and_reports_rate(night_dir, tmp_path):
    import subprocess
    import sys
    raw, model = night_dir
    out = subprocess.run([sys.executable, "-m", "desghost", "night", str(raw), "-o", str(tmp_path / "o"),
                          "--model", str(model), "--threshold", "0.05", "--workers", "1",
                          "--batch-size", "2", "--no-report"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 14, out.stderr  # one of seven exposures failed
    assert "done 6, skipped 0, failed 1" in out.stderr and "exposures/min" in out.stderr
    again = subprocess.run([sys.executable, "-m", "desghost", "night", str(raw), "-o", str(tmp_path / "o"),
                            "--model", str(model), "--threshold", "0.05", "--workers", "1", "--no-report"],
                           capture_output=True, text=True, timeout=600)
    # a plain re-run does not hide the failure: it is listed, and the exit code still says so
    assert again.returncode == 14, again.stderr
    assert "skipped 7 (1 failed before), failed 0" in again.stderr
    assert "still failed from an earlier run" in again.stderr and "DECam_00700106" in again.stderr
