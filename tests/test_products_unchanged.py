"""The products of the demo, a 6-exposure night and the 2-rank ceci stage match the recorded ones.

``tests/data/products_golden.json`` holds the digest (see ``helpers.products_digest``) of the
products the shipped model gave on these inputs when it was recorded.  A refactor must leave it
unchanged; a change of the model, the simulator or a product format changes it on purpose:
record it again with ``python3 tools/record_golden.py`` and say why in the commit message.

The products are made through the ``desghost`` command line and ``ceci``, in real processes.
The night holds one corrupt file besides its six exposures: every shell must record it as a
failure and go on.
"""
import json
import os
import shutil
import subprocess

import fitsio
import pytest

from desghost.catalog.store import Catalog
from desghost.reading.discovery import discover_inputs

from .helpers import (
    GOLDEN,
    GOLDEN_NIGHT,
    REPO,
    desghost,
    golden_demo_digest,
    golden_night_digest,
    products_digest,
    write_golden_night,
)

pytestmark = pytest.mark.e2e


def _check(name, digest):
    """Compare with the golden digest ``name``."""
    golden = json.loads(GOLDEN.read_text())
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
    return write_golden_night(tmp_path_factory.mktemp("golden_night"))


def test_demo_products_are_unchanged(tmp_path):
    _check("demo", golden_demo_digest(tmp_path))


def test_night_products_are_unchanged(night_inputs, tmp_path):
    _check("night", golden_night_digest(night_inputs, tmp_path))


def test_run_gives_the_nights_products(night_inputs, tmp_path):
    """`desghost run` on one exposure of the night writes what the night wrote for it."""
    desghost("-q", "run", night_inputs / "D00700205", "-o", tmp_path / "run", "--catalog", tmp_path / "c.sqlite", expect=0)
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
    assert len(merged) == n_rows > 0 and set(merged["EXPNUM"].tolist()) <= {e for _, e, _ in GOLDEN_NIGHT}
    # the stage must give what the night runner gives, so it is compared, never recorded
    _check("night", products_digest(tmp_path / "out" / "products", tmp_path / "out" / "catalog.sqlite"))
