"""Real DECam Community Pipeline files (../shared/data/decam/real): night directories, masks, one EXPNUM each."""
import shutil
import sqlite3

import fitsio
import numpy as np
import pytest

from desghost.reading.exposure import open_exposure

from .helpers import copy_exposure, desghost, set_card, shared_data

pytestmark = pytest.mark.real_data

TRIPLES = ("testcase3/images/decam/CP/V4.8.2a/CP20150411/c4d_150412_073257_oo{}_z_ls9.N11.fits",
           "testcase3/images/decam/CP/V4.8.2a/CP20180517/c4d_180518_044138_oo{}_r_ls9.N12.fits")



@pytest.fixture
def cp_night(tmp_path):
    """A copy of a Community Pipeline night directory: two exposures, each as image, mask and weight files."""
    night = tmp_path / "CP20150411"
    night.mkdir()
    for triple in TRIPLES:
        for kind in "idw":
            shutil.copy(shared_data("decam", "real", triple.format(kind)), night)
    return night


def _inputs(catalog):
    with sqlite3.connect(catalog) as con:
        return sorted(r[0] for r in con.execute("SELECT input FROM exposures"))


def test_the_image_files_data_quality_mask_is_applied(cp_night):
    image = next(cp_night.glob("c4d_150412_*_ooi_*"))
    mask = next(cp_night.glob("c4d_150412_*_ood_*"))
    with fitsio.FITS(str(mask), "rw") as f:
        flags = f[1].read()
        flags[10:20, 5:15] = 4  # a block of flagged pixels (any non-zero value)
        f[1].write(flags)
    exposure = open_exposure(image)
    assert exposure.dq_masks == {str(image): mask}
    (frame,) = list(exposure.ccds())
    w = frame.window  # the file is a 41x51 cut-out, placed in its whole CCD
    pixels = frame.pixels[w.row0_px:w.row0_px + w.ny_px, w.col0_px:w.col0_px + w.nx_px]
    assert np.isnan(pixels[10:20, 5:15]).all()
    assert np.isfinite(pixels).sum() == pixels.size - 100 == np.isfinite(frame.pixels).sum()
    assert [x.kind for x in frame.warnings] == ["partial_ccds"]  # flagged pixels are not "NaN pixels in the data"


@pytest.mark.slow
@pytest.mark.e2e
def test_a_cp_night_directory_is_one_exposure_per_expnum_and_never_overwrites(cp_night, tmp_path):
    """Image, mask and weight files make one exposure each; a second file of one CCD of an EXPNUM is refused."""
    image = next(cp_night.glob("c4d_180518_*_ooi_*"))
    twin = cp_night / "reprocessed_N12.fits"  # another file of the same CCD of the same exposure (EXPNUM 747382)
    shutil.copy(image, twin)
    out = desghost("night", cp_night, "-o", tmp_path / "out", "--workers", 1, "--no-report")
    assert out.returncode == 14, out.stderr
    assert "done 1, skipped 0, failed 1" in out.stderr   # the two single-CCD files of 747382 are one exposure
    catalog = tmp_path / "out" / "desghost_catalog.sqlite"
    inputs = _inputs(catalog)
    assert len(inputs) == 1 and "_ooi_" in inputs[0]  # never the ood or oow file
    assert (tmp_path / "out" / "D00432164_desghost_exclude.fits").exists()
    assert not (tmp_path / "out" / "D00747382_desghost_exclude.fits").exists()
    with sqlite3.connect(catalog) as con:
        failures = con.execute("SELECT input, reason, exit_code FROM failures").fetchall()
    assert len(failures) == 1 and failures[0][2] == 7 and "appears twice" in failures[0][1]
    twin.unlink()
    out = desghost("night", cp_night, "-o", tmp_path / "out", "--workers", 1, "--no-report", "--lenient")
    assert out.returncode == 0 and "done 1, skipped 1, failed 0" in out.stderr, out.stderr
    inputs = _inputs(catalog)
    refused = desghost("run", next(cp_night.glob("*_ood_*")), "-o", tmp_path / "run")
    assert refused.returncode == 2 and "_ood_" in refused.stderr and "give its image file" in refused.stderr
    # the same file at another path is the same exposure (moved data: tests/test_reading_identity.py); a
    # genuinely different file of the EXPNUM the catalog has (a reprocessing): refused, then replaced with --force
    third = tmp_path / "third_copy_N12.fits"
    copy_exposure(image, third, edit_primary=lambda cards: set_card(cards, "PLPROCID", "reprocessed"))
    again = desghost("run", third, "-o", tmp_path / "out", "--catalog", catalog)
    assert again.returncode == 16 and "--force" in again.stderr and _inputs(catalog) == inputs
    forced = desghost("run", third, "-o", tmp_path / "out", "--catalog", catalog, "--force", "--lenient")
    assert forced.returncode == 0, forced.stderr
    assert str(third) in _inputs(catalog)
