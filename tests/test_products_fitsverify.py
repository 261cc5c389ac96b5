"""Every kind of FITS file desghost writes passes HEASARC fitsverify with 0 errors and 0 warnings (issue 33 item 2)."""
import re
import shutil
import subprocess

import fitsio
import pytest

from desghost.catalog.store import Catalog
from desghost.cli import main
from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure

from .helpers import shared_data

FITSVERIFY = shutil.which("fitsverify")
pytestmark = pytest.mark.skipif(FITSVERIFY is None, reason="needs HEASARC fitsverify (tools/test.sh installs "
                                                            "Debian's fitsverify as root)")


def fitsverify(path):
    """``(errors, warnings, report)`` of ``fitsverify`` on one file."""
    proc = subprocess.run([FITSVERIFY, "-q", str(path)], capture_output=True, text=True, timeout=120)
    if proc.stdout.startswith("verification OK"):
        return 0, 0, proc.stdout
    match = re.search(r"(\d+) warnings? and (\d+) errors?", proc.stdout + proc.stderr)
    assert match, f"fitsverify printed no verdict for {path}: {proc.stdout}{proc.stderr}"
    return int(match.group(2)), int(match.group(1)), proc.stdout + proc.stderr


def _assert_clean(paths):
    assert paths
    for path in paths:
        errors, warnings, report = fitsverify(path)
        assert (errors, warnings) == (0, 0), f"{path}:\n{report}"


@pytest.mark.e2e
def test_every_product_of_a_run_passes_fitsverify(tmp_path):
    for flavor, name, expnum in (("raw", "DECam_00700701.fits.fz", 700701), ("ooi", "c4d_sim_ooi_r_v1.fits.fz", 700702),
                                 ("des", "D00700703", 700703)):
        write_simulated_exposure(tmp_path / "in" / name, SimulationConfig(flavor=flavor, expnum=expnum, seed=expnum,
                                                                          n_artifacts=3))
    out = tmp_path / "out"
    assert main(["-q", "night", str(tmp_path / "in"), "-o", str(out), "--workers", "1", "--no-report",
                 "--lenient"]) == 0
    masks = sorted(out.glob("D*_desghost_mask.fits.fz"))
    tables = sorted(out.glob("D*_desghost_exclude.fits")) + sorted(out.glob("D*_desghost_regions.fits"))
    assert len(masks) == 3 and len(tables) == 6
    assert main(["-q", "healpix", *map(str, masks), "-o", str(tmp_path / "sky.fits"), "--nside", "64"]) == 0
    assert main(["-q", "query", "--catalog", str(out / "desghost_catalog.sqlite"), "--format", "fits",
                 "-o", str(tmp_path / "query.fits")]) == 0
    assert main(["-q", "assemble", str(tmp_path / "in" / "DECam_00700701.fits.fz"),
                 "-o", str(tmp_path / "fp.fits")]) == 0
    # the reviewed list, with a person's name and comment that are not ASCII
    with Catalog(out / "desghost_catalog.sqlite") as cat:
        cat.record_decision(700701, "exposure", "", "confirm", "Ren\u00e9e")
        cat.record_decision(700702, "exposure", "", "missed", "Ren\u00e9e", "Rays", ccdnums=[12],
                            comment="vu \u2014 ok <b>")
    assert main(["-q", "query", "--catalog", str(out / "desghost_catalog.sqlite"), "--review", "reviewed",
                 "--format", "fits", "-o", str(tmp_path / "reviewed.fits")]) == 0
    reviewed = fitsio.read(str(tmp_path / "reviewed.fits"), ext="EXCLUDE")
    assert reviewed.dtype.names[-2:] == ("DECIDED_AT", "COMMENT") and "Ren?e" in set(reviewed["ANALYST"])
    assert "vu ? ok <b>" in set(reviewed["COMMENT"])
    inputs = sorted((tmp_path / "in").rglob("*.fits*"))   # the simulator's exposures are written by desghost too
    _assert_clean([*masks, *tables, tmp_path / "sky.fits", tmp_path / "query.fits", tmp_path / "fp.fits",
                   tmp_path / "reviewed.fits", *inputs[:3], *inputs[-2:]])


@pytest.mark.real_data
def test_masks_of_real_cutouts_pass_fitsverify(tmp_path):
    """A real Community Pipeline cut-out: its mask carries DGWINSEC and the real header's cards."""
    cutout = shared_data("decam", "real", "testcase3", "images", "decam", "CP20150326",
                         "c4d_150329_083320_ooi_r_v1.fits.fz")
    assert main(["-q", "run", str(cutout), "-o", str(tmp_path / "out"), "--no-overlay", "--lenient"]) == 0
    products = sorted((tmp_path / "out").glob("D*_desghost_*.fits*"))
    assert [p.name.split("_")[-1] for p in products] == ["exclude.fits", "mask.fits.fz", "regions.fits"]
    _assert_clean(products)
