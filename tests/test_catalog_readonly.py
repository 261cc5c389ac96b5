"""Readers open the catalog read-only: archived catalogs on read-only media can be queried and reported
(issue 38 item 21); an older catalog there is migrated in memory, never on disk."""
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys

import pytest

from desghost.cli import main
from desghost.driver.exposure import RunConfig
from desghost.runners.night import run_night
from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure

pytestmark = pytest.mark.e2e


@pytest.fixture
def readonly_mount(tmp_path):
    """A folder and a read-only bind mount of it (skipped where mounting is not allowed)."""
    src, mnt = tmp_path / "archive", tmp_path / "mnt"
    src.mkdir()
    mnt.mkdir()
    ok = subprocess.run(["mount", "--bind", str(src), str(mnt)], capture_output=True).returncode == 0
    ok = ok and subprocess.run(["mount", "-o", "remount,ro,bind", str(mnt)], capture_output=True).returncode == 0
    if not ok:
        subprocess.run(["umount", str(mnt)], capture_output=True)
        pytest.skip("needs a read-only bind mount (root in a machine that allows mount)")
    yield src, mnt
    subprocess.run(["umount", str(mnt)], check=True)


def test_query_compare_and_report_read_a_catalog_on_read_only_media(readonly_mount, tmp_path):
    src, mnt = readonly_mount
    write_simulated_exposure(tmp_path / "in" / "DECam_00701001.fits.fz",
                             SimulationConfig(expnum=701001, seed=5, n_artifacts=3))
    run_night([tmp_path / "in"], tmp_path / "out", config=RunConfig(), workers=1, progress=False, report=False)
    for name in os.listdir(tmp_path / "out"):
        if not name.startswith("."):
            shutil.copy2(tmp_path / "out" / name, src / name) if (tmp_path / "out" / name).is_file() else None
    old = src / "old_catalog.sqlite"   # a schema-2 catalog: no nite columns
    shutil.copy(src / "desghost_catalog.sqlite", old)
    with sqlite3.connect(old) as db:
        db.execute("ALTER TABLE exposures DROP COLUMN nite")
        db.execute("ALTER TABLE excluded_ccds DROP COLUMN nite")
        db.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
    digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in src.iterdir()}
    for catalog in ("desghost_catalog.sqlite", "old_catalog.sqlite"):
        for what in ("ccds", "exposures"):
            proc = subprocess.run([sys.executable, "-m", "desghost", "query", "--catalog", str(mnt / catalog),
                                   "--what", what, "--format", "csv"], capture_output=True, text=True, timeout=120)
            assert proc.returncode == 0, proc.stderr
            assert "701001" in proc.stdout and "nite" in proc.stdout.splitlines()[0]
    assert main(["-q", "report", str(mnt), "-o", str(tmp_path / "report")]) == 0
    assert "701001" in (tmp_path / "report" / "index.html").read_text()
    assert sorted(os.listdir(mnt)) == sorted(digests)
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in src.iterdir()} == digests
