"""The products of the demo, a 6-exposure night and the 2-rank ceci stage match the recorded ones.

``tests/data/products_golden.json`` holds the digest (see ``product_digest.py``) of the products
the shipped model gave on these inputs when it was recorded.  A refactor must leave it
unchanged; a change of the model, the simulator or a product format changes it on purpose:
rewrite it then with ``DESGHOST_WRITE_GOLDEN=1 python3 -m pytest tests/test_products_unchanged.py``
and say why in the commit message.

The products are made through the ``desghost`` command line and ``ceci``, in real processes.
The night holds one corrupt file besides its six exposures: every shell must record it as a
failure and go on.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import fitsio
import pytest

from desghost.catalog.store import Catalog
from desghost.reading.discovery import discover_inputs
from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure

from .product_digest import products_digest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "data" / "products_golden.json"
WRITE = os.environ.get("DESGHOST_WRITE_GOLDEN") == "1"
NIGHT = [("raw", 700200 + k, k) for k in range(5)] + [("des", 700205, 5)]


def _desghost(*args, expect=0):
    out = subprocess.run([sys.executable, "-m", "desghost", *map(str, args)], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == expect, f"desghost {' '.join(map(str, args))}: {out.stderr[-3000:]}"
    return out


def _check(name, digest, record=True):
    """Compare with the golden digest ``name`` (under DESGHOST_WRITE_GOLDEN=1, record it if ``record``)."""
    golden = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    if WRITE and record:
        golden[name] = digest
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
        return
    assert name in golden, f"{GOLDEN} has no {name!r} entry"
    # something was found: a comparison of two empty results proves nothing
    assert any(e["exclusions"] for e in golden[name].values()), f"golden {name!r} has no exclusion row"
    assert any(e["mask"] for e in golden[name].values()), f"golden {name!r} has no mask pixel"
    assert sorted(digest) == sorted(golden[name])
    for expnum in golden[name]:
        assert digest[expnum] == golden[name][expnum], f"{name}: EXPNUM {expnum} differs"


@pytest.fixture(scope="module")
def night_inputs(tmp_path_factory):
    """Five raw exposures and one DES per-CCD directory, two artifacts each, and one corrupt file."""
    d = tmp_path_factory.mktemp("golden_night")
    for flavor, expnum, seed in NIGHT:
        out = d / (f"DECam_{expnum:08d}.fits.fz" if flavor == "raw" else f"D{expnum:08d}")
        write_simulated_exposure(out, SimulationConfig(flavor=flavor, expnum=expnum, seed=seed, n_artifacts=2))
    (d / "DECam_00700206.fits.fz").write_bytes(b"SIMPLE  =" + b"\0" * 3000)  # corrupt
    return d


def test_demo_products_are_unchanged(tmp_path):
    _desghost("-q", "run", "--demo", "-o", tmp_path / "demo", "--catalog", tmp_path / "demo" / "catalog.sqlite")
    _check("demo", products_digest(tmp_path / "demo", tmp_path / "demo" / "catalog.sqlite"))


def test_night_products_are_unchanged(night_inputs, tmp_path):
    _desghost("-q", "night", night_inputs, "-o", tmp_path / "night", "--workers", 2, expect=14)
    _check("night", products_digest(tmp_path / "night", tmp_path / "night" / "desghost_catalog.sqlite"))


def test_run_gives_the_nights_products(night_inputs, tmp_path):
    """`desghost run` on one exposure of the night writes what the night wrote for it."""
    _desghost("-q", "run", night_inputs / "D00700205", "-o", tmp_path / "run", "--catalog", tmp_path / "c.sqlite")
    digest = products_digest(tmp_path / "run", tmp_path / "c.sqlite")
    golden = json.loads(GOLDEN.read_text())["night"]
    assert list(digest) == ["700205"] and golden["700205"]["exclusions"]
    assert digest["700205"] == golden["700205"]


@pytest.mark.skipif(shutil.which("mpirun") is None or shutil.which("ceci") is None,
                    reason="needs Open MPI (mpirun) and ceci; .ci/run installs both")
def test_two_rank_stage_products_are_unchanged(night_inputs, tmp_path):
    listing = [os.path.abspath(p) for p in discover_inputs([night_inputs])]  # FITS files and per-CCD folders
    (tmp_path / "list.txt").write_text("\n".join(listing) + "\n")
    (tmp_path / "config.yml").write_text("DesghostMasking:\n    model: default\n")
    pipeline = ((REPO / "stage" / "desghost_pipeline.yml").read_text()
                .replace("./stage/inputs/exposures.txt", str(tmp_path / "list.txt"))
                .replace("./stage/desghost_config.yml", str(tmp_path / "config.yml"))
                .replace("./stage/outputs", str(tmp_path / "out")).replace("./stage/logs", str(tmp_path / "logs")))
    (tmp_path / "pipeline.yml").write_text(pipeline)
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    out = subprocess.run(["ceci", str(tmp_path / "pipeline.yml")], capture_output=True, text=True, env=env,
                         timeout=600)
    log = (tmp_path / "logs" / "DesghostMasking.out")
    assert out.returncode == 0, out.stdout[-2000:] + (log.read_text()[-3000:] if log.exists() else "")
    assert "6 of 7 exposures done on 2 rank(s)" in log.read_text()
    with Catalog(tmp_path / "out" / "catalog.sqlite", create=False) as cat:
        assert cat.query("SELECT COUNT(*) AS n FROM exposures")[0]["n"] == 6
        failure = cat.query("SELECT input, exit_code FROM failures")
        n_rows = cat.query("SELECT COUNT(*) AS n FROM excluded_ccds")[0]["n"]
    assert len(failure) == 1 and failure[0]["input"].endswith("DECam_00700206.fits.fz") and failure[0]["exit_code"] > 1
    merged = fitsio.read(tmp_path / "out" / "exclusion_table.fits", ext="EXCLUDE")
    assert len(merged) == n_rows > 0 and set(merged["EXPNUM"].tolist()) <= {e for _, e, _ in NIGHT}
    # the stage must give what the night runner gives, so it is compared, never recorded
    _check("night", products_digest(tmp_path / "out" / "products", tmp_path / "out" / "catalog.sqlite"), record=False)
