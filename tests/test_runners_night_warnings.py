"""Every input warning of a night's exposure reaches stderr, the log and the summary file (issue 38 item 22)."""
import json
import subprocess
import sys

import numpy as np
import pytest

from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure

from .helpers import copy_exposure

pytestmark = pytest.mark.e2e


def test_a_night_reports_an_all_zero_ccd_everywhere(tmp_path):
    files, _ = write_simulated_exposure(tmp_path / "sim" / "c4d_sim_ooi_r_v1.fits.fz",
                                        SimulationConfig(flavor="ooi", expnum=701101, seed=6, n_artifacts=1))
    (tmp_path / "in").mkdir()
    copy_exposure(files[0], tmp_path / "in" / "c4d_zero_ooi_r_v1.fits",
                  edit_hdu=lambda i, name, data, cards: (np.zeros_like(data) if name.strip() == "N4" else data, cards))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "desghost", "night", str(tmp_path / "in"), "-o", str(out),
                           "--workers", "1"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 12, proc.stderr
    assert "desghost: warning:" in proc.stderr and "all pixels are zero" in proc.stderr
    assert "1 input warnings (exit 12)" in proc.stderr
    (log,) = (out / "logs").glob("night-*.log")
    assert "WARNING" in log.read_text() and "all pixels are zero" in log.read_text()
    summary = json.loads((out / "night_summary.json").read_text())
    assert [w["message"] for w in summary["warnings"]] == [m for m in summary_messages(proc.stderr)]
    index = (out / "report" / "index.html").read_text()
    assert "1 input warning" in index and "all pixels are zero; CCD" in index


def summary_messages(stderr):
    return [line.split("desghost: warning: ", 1)[1] for line in stderr.splitlines()
            if line.startswith("desghost: warning: ")]


def test_a_night_without_a_terminal_prints_a_line_per_exposure(tmp_path):
    for k in range(2):
        write_simulated_exposure(tmp_path / "in" / f"DECam_{701700 + k:08d}.fits.fz",
                                 SimulationConfig(expnum=701700 + k, seed=k, n_artifacts=1))
    (tmp_path / "in" / "DECam_00701709.fits.fz").write_bytes(b"SIMPLE  =" + b"\0" * 3000)
    proc = subprocess.run([sys.executable, "-m", "desghost", "night", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
                           "--workers", "1", "--no-report"], capture_output=True, text=True, timeout=300)
    lines = [line for line in proc.stderr.splitlines() if line.startswith("night: [")]
    assert len(lines) == 3 and sum("done EXPNUM" in line for line in lines) == 2, proc.stderr
    assert sum("failed (exit 4)" in line for line in lines) == 1 and lines[-1].startswith("night: [3/3]")


def test_run_reports_each_ccd_read_for_its_progress_bar(tmp_path):
    from desghost.driver.exposure import RunConfig
    from desghost.driver.many import process_exposures

    files, _ = write_simulated_exposure(tmp_path / "DECam_00701801.fits.fz", SimulationConfig(expnum=701801))
    seen = []
    process_exposures(files, tmp_path / "out", RunConfig(), on_ccd=lambda path: seen.append)
    assert sorted(seen) == list(range(1, 63))
