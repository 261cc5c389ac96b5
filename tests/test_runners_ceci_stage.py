"""The ceci demo pipeline on a plain install (the 2-rank MPI pipeline: test_products_unchanged.py)."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from desghost.catalog.store import Catalog
from desghost.driver.exposure import product_names

pytestmark = pytest.mark.e2e

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
    assert "700002.html" in (tmp_path / "out" / "products" / "report" / "index.html").read_text()
    if shutil.which("fitsverify"):   # the stage's merged exclusion table is a product like the others
        (table,) = [p for p in (tmp_path / "out").glob("*.fits")]
        verdict = subprocess.run(["fitsverify", "-q", str(table)], capture_output=True, text=True).stdout
        assert verdict.startswith("verification OK"), verdict
