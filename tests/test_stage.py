"""The ceci pipeline stage under real MPI (mpirun -n 2)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import fitsio
import pytest

from desghost.catalog import Catalog
from desghost.night import discover_inputs
from desghost.pipeline import product_names

needs_mpi = pytest.mark.skipif(shutil.which("mpirun") is None or shutil.which("ceci") is None,
                               reason="needs Open MPI (mpirun) and ceci; .ci/run installs both")
REPO = Path(__file__).resolve().parents[1]


def test_demo_pipeline_simulates_a_night_and_masks_it(tmp_path):
    """`ceci stage/desghost_demo_pipeline.yml` on a plain install: no data, no MPI."""
    pipeline = ((REPO / "stage" / "desghost_demo_pipeline.yml").read_text()
                .replace("./stage/desghost_demo_config.yml", str(REPO / "stage" / "desghost_demo_config.yml"))
                .replace("./stage/demo_outputs", str(tmp_path / "out")).replace("./stage/demo_logs", str(tmp_path / "logs")))
    (tmp_path / "pipeline.yml").write_text(pipeline)
    assert shutil.which("ceci"), "ceci is an install requirement: its command should be on PATH"
    out = subprocess.run(["ceci", str(tmp_path / "pipeline.yml")], capture_output=True,
                         text=True, timeout=600, cwd=tmp_path)
    logs = "".join(p.read_text() for p in (tmp_path / "logs").glob("*.out")) if (tmp_path / "logs").exists() else ""
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:] + logs[-3000:]
    assert "3 of 3 exposures done" in logs
    listed = (tmp_path / "out" / "exposure_list.txt").read_text().split()
    assert len(listed) == 3 and all(os.path.exists(p) for p in listed)
    with Catalog(tmp_path / "out" / "catalog.sqlite", create=False) as cat:
        assert cat.query("SELECT COUNT(*) AS n FROM exposures")[0]["n"] == 3
    for expnum in (700000, 700001, 700002):
        assert (tmp_path / "out" / "products" / product_names(expnum)["mask"]).exists()


@needs_mpi
def test_ceci_pipeline_on_two_mpi_ranks_matches_desghost_run(night_dir, tmp_path):
    raw, model = night_dir
    (tmp_path / "list.txt").write_text("\n".join(os.path.abspath(p) for p in discover_inputs([raw])) + "\n")
    (tmp_path / "config.yml").write_text(f"DesghostMasking:\n    model: {model}\n    threshold: 0.05\n")
    pipeline = ((REPO / "stage" / "desghost_pipeline.yml").read_text()
                .replace("./stage/inputs/exposures.txt", str(tmp_path / "list.txt"))
                .replace("./stage/desghost_config.yml", str(tmp_path / "config.yml"))
                .replace("./stage/outputs", str(tmp_path / "out")).replace("./stage/logs", str(tmp_path / "logs")))
    (tmp_path / "pipeline.yml").write_text(pipeline)
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    out = subprocess.run(["ceci", str(tmp_path / "pipeline.yml")], capture_output=True, text=True, env=env,
                         timeout=600)
    log = (tmp_path / "logs" / "DesghostMasking.out").read_text()
    assert out.returncode == 0, out.stdout[-2000:] + log[-3000:]
    assert "6 of 7 exposures done on 2 rank(s)" in log
    with Catalog(tmp_path / "out" / "catalog.sqlite", create=False) as cat:
        assert cat.query("SELECT COUNT(*) AS n FROM exposures")[0]["n"] == 6
        assert cat.query("SELECT COUNT(*) AS n FROM failures")[0]["n"] == 1
        n_rows = cat.query("SELECT COUNT(*) AS n FROM excluded_ccds")[0]["n"]
    merged = fitsio.read(tmp_path / "out" / "exclusion_table.fits", ext="EXCLUDE")
    assert len(merged) == n_rows and set(merged["EXPNUM"].tolist()) <= set(range(700100, 700106))
    # identical to `desghost run` on each exposure alone
    single = tmp_path / "single"
    for expnum, name in ((700101, "DECam_00700101.fits.fz"), (700105, "D00700105")):
        res = subprocess.run([sys.executable, "-m", "desghost.cli", "run", str(raw / name), "-o", str(single),
                              "--model", str(model), "--threshold", "0.05"], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        txt = product_names(expnum)["exclusion_txt"]
        assert (single / txt).read_text() == (tmp_path / "out" / "products" / txt).read_text()
