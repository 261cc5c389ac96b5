"""Nothing outside the output folder is touched: reports replace only reports, writes never follow links,
the report escapes what it shows, concurrent and killed reports leave a whole report (issue 38, items 1-3, 9, 14)."""
import hashlib
import multiprocessing
import os
import signal
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from desghost.cli import main
from desghost.driver.exposure import RunConfig, product_names
from desghost.errors import OutputError, UsageError
from desghost.report.html import write_report
from desghost.runners.night import run_night
from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure

HOSTILE_NAME = "DECam_<i>x<svg onload=alert(1)>.fits.fz"
HOSTILE_BROKEN = "DECam_<b>y<img src=x onerror=alert(2)>.fits.fz"


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """A small night: one raw exposure under an HTML-laden name, one per-CCD DES exposure."""
    d = tmp_path_factory.mktemp("safety_night")
    write_simulated_exposure(d / "in" / "plain.fits.fz", SimulationConfig(expnum=700501, seed=5, n_artifacts=2))
    (d / "in" / "plain.fits.fz").rename(d / "in" / HOSTILE_NAME)
    (d / "in" / HOSTILE_BROKEN).write_bytes(b"SIMPLE  =" + b"\0" * 3000)   # a corrupt file: a failure row
    write_simulated_exposure(d / "in" / "D00700502", SimulationConfig(flavor="des", expnum=700502, seed=6,
                                                                      n_artifacts=1))
    summary = run_night([d / "in"], d / "out", config=RunConfig(), workers=1, progress=False)
    assert len(summary.done) == 2 and len(summary.failed) == 1 and summary.report
    return d


def _digests(folder):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in Path(folder).rglob("*") if p.is_file()}


@pytest.mark.e2e
def test_a_report_into_the_output_folder_or_above_it_is_refused_and_deletes_nothing(night):
    out = night / "out"
    (night / "notes.txt").write_text("mine")
    before = _digests(night)
    for target in (out, night):
        with pytest.raises(UsageError, match="report folder"):
            write_report(out, report_dir=target)
        assert main(["-q", "report", str(out), "-o", str(target)]) == UsageError.exit_code
    assert _digests(night) == before


def test_a_report_into_a_folder_of_other_files_is_refused(night, tmp_path):
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "thesis.tex").write_text("x")
    with pytest.raises(UsageError, match="not a desghost report .*thesis.tex"):
        write_report(night / "out", report_dir=tmp_path / "www")
    assert (tmp_path / "www" / "thesis.tex").read_text() == "x"
    index = write_report(night / "out", report_dir=tmp_path / "new")   # a new folder, then replaced again
    assert write_report(night / "out", report_dir=tmp_path / "new") == index and Path(index).exists()


def test_the_report_escapes_file_names(night):
    out = night / "out"
    pages = [out / "report" / "index.html", *sorted((out / "report" / "exposures").glob("*.html"))]
    assert len(pages) == 3
    for page in pages:
        html = page.read_text()
        assert "<svg" not in html and "<i>x" not in html and "<img src=x" not in html and "<b>y" not in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in pages[0].read_text()         # the failure row, escaped
    assert "&lt;svg onload=alert(1)&gt;" in (out / "report" / "exposures" / "700501.html").read_text()


def _outside_files(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    victims = {}
    for k in range(40):
        victim = outside / f"victim{k}.txt"
        victim.write_text(f"precious {k}\n")
        victims[k] = victim
    return outside, victims


@pytest.mark.e2e
def test_no_write_follows_a_link_planted_in_the_output_folder(tmp_path):
    """Links at every temporary name of the old scheme, at the final product names and at the log names."""
    write_simulated_exposure(tmp_path / "in" / "DECam_00700511.fits.fz",
                             SimulationConfig(expnum=700511, seed=11, n_artifacts=1))
    outside, victims = _outside_files(tmp_path)
    before = _digests(outside)
    out = tmp_path / "out"
    (out / "logs").mkdir(parents=True)
    victim = iter(victims.values())
    names = list(product_names(700511).values()) + ["night_summary.json"]
    for name in names:
        for planted in (f".{name}.part-{os.getpid()}", f".{name}.part-{os.getpid()}-group",
                        f".{name}.part-{os.getpid()}-previous"):
            (out / planted).symlink_to(next(victim))
    for name in product_names(700511).values():
        (out / name).symlink_to(next(victim))
    summary = run_night([tmp_path / "in"], out, config=RunConfig(), workers=1, progress=False, report=False)
    assert len(summary.done) == 1
    assert _digests(outside) == before
    for name in product_names(700511).values():
        assert (out / name).is_file() and not (out / name).is_symlink()
    # the log: a link at its name is refused with the output error, and nothing outside changes
    now = datetime.now(timezone.utc)
    for dt in range(0, 8):
        (out / "logs" / f"night-{now + timedelta(seconds=dt):%Y%m%dT%H%M%S}.log").symlink_to(next(victim))
    with pytest.raises(OutputError, match="symbolic link"):
        run_night([tmp_path / "in"], out, config=RunConfig(), workers=1, progress=False, report=False, force=True)
    assert _digests(outside) == before


def _report_in_child(out, report_dir, queue):
    try:
        write_report(out, report_dir=report_dir)
        queue.put("ok")
    except Exception as exc:  # noqa: BLE001 - the parent asserts on what it got
        queue.put(f"{type(exc).__name__}: {exc}")


def test_two_reports_at_once_both_succeed_and_leave_one_whole_report(night, tmp_path):
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    report_dir = tmp_path / "report"
    procs = [ctx.Process(target=_report_in_child, args=(night / "out", report_dir, queue)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert sorted(queue.get(timeout=5) for _ in procs) == ["ok"] * 3
    assert (report_dir / "index.html").exists() and len(list((report_dir / "exposures").glob("*.html"))) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["report"]


def test_a_report_killed_mid_write_leaves_a_folder_the_next_report_removes(night, tmp_path):
    ctx = multiprocessing.get_context("fork")
    report_dir = tmp_path / "report"
    child = ctx.Process(target=_report_in_child, args=(night / "out", report_dir, ctx.Queue()))
    child.start()
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".report.part-*/figures")) and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    assert list(tmp_path.glob(".report.part-*")), "the child was killed before it began writing"
    write_report(night / "out", report_dir=report_dir)
    assert [p.name for p in tmp_path.iterdir()] == ["report"]


@pytest.mark.e2e
def test_a_fifo_among_the_inputs_is_refused_without_hanging(tmp_path):
    import subprocess
    import sys

    write_simulated_exposure(tmp_path / "in" / "DECam_00700521.fits.fz",
                             SimulationConfig(expnum=700521, seed=21, n_artifacts=1))
    os.mkfifo(tmp_path / "in" / "DECam_00700522.fits.fz")
    for command in (["night", str(tmp_path / "in"), "--workers", "1", "--no-report"],
                    ["run", str(tmp_path / "in" / "DECam_00700522.fits.fz")]):
        proc = subprocess.run([sys.executable, "-m", "desghost", *command, "-o", str(tmp_path / "out"), "-q"],
                              capture_output=True, text=True, timeout=120)
        assert "a FIFO: only regular files are read" in proc.stderr and "Traceback" not in proc.stderr
        assert proc.returncode == (14 if command[0] == "night" else UsageError.exit_code), proc.stderr


@pytest.mark.e2e
def test_every_valid_expnum_round_trips_through_product_names_and_the_report(tmp_path):
    from desghost.driver.exposure import expnum_of_product

    for expnum in (1, 99_999_999, 123_456_789, 2**31 - 1):
        assert expnum_of_product(product_names(expnum)["exclusion_fits"]) == expnum
    for expnum in (123_456_789, 2**31 - 1):
        write_simulated_exposure(tmp_path / "in" / f"DECam_{expnum}.fits.fz",
                                 SimulationConfig(expnum=expnum, seed=expnum % 97, n_artifacts=1))
    summary = run_night([tmp_path / "in"], tmp_path / "out", config=RunConfig(), workers=1, progress=False)
    assert len(summary.done) == 2 and summary.report and not summary.report_error
    assert main(["-q", "report", str(tmp_path / "out")]) == 0
    for expnum in (123_456_789, 2**31 - 1):
        assert (tmp_path / "out" / "report" / "exposures" / f"{expnum}.html").exists()


def test_stray_empty_or_truncated_products_are_reported_and_skipped(night, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(night / "out", out)
    (out / product_names(700990)["exclusion_fits"]).write_bytes(b"")
    good = (out / product_names(700501)["exclusion_fits"]).read_bytes()
    (out / product_names(700991)["exclusion_fits"]).write_bytes(good[:4000])
    assert main(["-q", "report", str(out)]) == 0
    html = (out / "report" / "index.html").read_text()
    assert html.count("unreadable product") == 2 and "D00700990_desghost_exclude.fits" in html
    assert (out / "report" / "exposures" / "700501.html").exists()
