"""Workers of a night whose parent is killed with SIGKILL exit too (issue 38 item 12)."""
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure

pytestmark = pytest.mark.e2e


def test_workers_exit_when_the_night_is_killed(tmp_path):
    for k in range(4):
        write_simulated_exposure(tmp_path / "in" / f"DECam_{701200 + k:08d}.fits.fz",
                                 SimulationConfig(expnum=701200 + k, seed=k, n_artifacts=1))
    proc = subprocess.Popen([sys.executable, "-m", "desghost", "night", str(tmp_path / "in"), "-o",
                             str(tmp_path / "out"), "--workers", "2", "--no-report", "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 120
    workers = []
    while time.monotonic() < deadline and len(workers) < 2:
        workers = [c for c in parent.children(recursive=True) if "spawn_main" in " ".join(c.cmdline())]
        time.sleep(0.2)
    assert len(workers) >= 2, "the night never started its workers"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    gone, alive = psutil.wait_procs(workers, timeout=15)
    assert not alive, f"workers still alive 15 s after the parent's SIGKILL: {[p.pid for p in alive]}"
