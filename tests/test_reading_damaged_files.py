"""Damaged or unusual files end in a clear error or are read (issue 38 items 8, 10, 18, 23)."""
import gzip
import shutil
from pathlib import Path

import fitsio
import numpy as np
import pytest

from desghost.cli import main
from desghost.errors import CorruptFileError, MissingKeywordError
from desghost.reading.exposure import open_exposure
from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure

from .helpers import copy_exposure, set_card


@pytest.fixture(scope="module")
def exposures(tmp_path_factory):
    d = tmp_path_factory.mktemp("damaged")
    raw, _ = write_simulated_exposure(d / "DECam_00700961.fits.fz", SimulationConfig(expnum=700961, seed=3,
                                                                                     n_artifacts=2))
    ooi, _ = write_simulated_exposure(d / "c4d_sim_ooi_r_v1.fits.fz", SimulationConfig(flavor="ooi", expnum=700962,
                                                                                      seed=4, n_artifacts=2))
    copy_exposure(ooi[0], d / "plain_ooi.fits")
    return d, Path(raw[0]), d / "plain_ooi.fits"


def _patch_card(path, out, hdu, name, card_value):
    """Copy ``path`` to ``out`` with one card's 80 bytes of HDU ``hdu`` replaced in place (no re-writing)."""
    data = bytearray(open(path, "rb").read())
    with fitsio.FITS(str(path)) as f:
        start, end = f[hdu].get_offsets()["header_start"], f[hdu].get_offsets()["data_start"]
    i = data.index(name.ljust(8).encode() + b"=", start, end)
    data[i:i + 80] = f"{name:<8}= {card_value}".ljust(80).encode()
    open(out, "wb").write(bytes(data))
    return out


def test_a_huge_declared_image_is_refused_before_allocating(exposures, tmp_path):
    _, _, plain = exposures
    huge = _patch_card(plain, tmp_path / "huge.fits", 1, "NAXIS1", f"{2_000_000_000:>20d}")
    with pytest.raises(CorruptFileError, match="declares a 2000000000x"):
        open_exposure(huge)
    with fitsio.FITS(str(plain)) as f:
        last = len(f) - 1
    short = _patch_card(plain, tmp_path / "short.fits", last, "NAXIS2", f"{8000:>20d}")
    with pytest.raises(CorruptFileError, match="bytes of pixels but the file holds"):
        open_exposure(short)
    assert main(["-q", "run", str(huge), "-o", str(tmp_path / "out")]) == CorruptFileError.exit_code


def test_a_numeric_keyword_holding_text_names_the_file_hdu_and_keyword(exposures, tmp_path):
    _, _, plain = exposures
    bad = tmp_path / "bad_crpix.fits"
    copy_exposure(plain, bad, edit_hdu=lambda i, name, data, cards: (
        data, set_card(cards, "CRPIX1", "4.1`") if i == 3 else cards))
    with pytest.raises(MissingKeywordError, match=r"HDU \w+, keyword CRPIX1: CRPIX1 holds '4.1`', not a number"):
        open_exposure(bad)
    assert main(["-q", "run", str(bad), "-o", str(tmp_path / "out")]) == MissingKeywordError.exit_code


@pytest.mark.e2e
def test_gzip_compressed_fits_is_read_like_the_file_itself(exposures, tmp_path):
    _, raw, plain = exposures
    results = {}
    for src in (raw, plain):
        gz = tmp_path / (src.name.replace(".fz", "") + ".gz" if src.name.endswith(".fz") else src.name + ".gz")
        with open(src, "rb") as fh, gzip.open(gz, "wb") as out:
            shutil.copyfileobj(fh, out)
        for path in (src, gz):
            exposure = open_exposure(path)
            frames = {f.ccdnum: f.pixels for f in exposure.ccds(row_step=8)}
            results[path] = (exposure.expnum, sorted(frames), sum(float(np.nansum(abs(p))) for p in frames.values()))
        assert results[gz] == results[src]
    out = tmp_path / "out"
    assert main(["-q", "night", str(tmp_path), "-o", str(out), "--workers", "1", "--no-report", "--lenient"]) == 0
    assert len(list(out.glob("D*_desghost_exclude.fits"))) == 2


def test_a_damaged_header_in_the_middle_is_a_corrupt_file_not_missing_ccds(exposures, tmp_path):
    _, raw, _ = exposures
    data = bytearray(open(raw, "rb").read())
    with fitsio.FITS(str(raw)) as f:
        start = f[30].get_offsets()["header_start"]
    data[start:start + 80] = b"GARBAGE = 'damaged'".ljust(80)
    damaged = tmp_path / "DECam_00700961.fits.fz"
    damaged.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match="cannot be read to its end"):
        open_exposure(damaged)
    assert main(["-q", "run", str(damaged), "-o", str(tmp_path / "out")]) == CorruptFileError.exit_code
    assert not list((tmp_path / "out").glob("D*_desghost_*"))
