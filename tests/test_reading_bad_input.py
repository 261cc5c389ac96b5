"""Every kind of bad input gets one clear line naming the file/HDU/keyword and its own exit code."""
import os
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from desghost.cli import main

from .helpers import copy_exposure, set_card


def run_cli(capsys, *argv):
    code = main(list(argv))
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def error_line(err):
    lines = [ln for ln in err.splitlines() if ln.startswith("desghost: error")]
    assert len(lines) == 1, err
    return lines[0]


def test_not_fits(tmp_path, capsys):
    bad = tmp_path / "notes.fits"
    bad.write_text("this is not a FITS file\n" * 200)
    code, err = run_cli(capsys, "assemble", str(bad), "-o", str(tmp_path / "o.png"))
    assert code == 3 and str(bad) in error_line(err)
    assert not (tmp_path / "o.png").exists()


def test_truncated_file(raw_exposure, tmp_path, capsys):
    data = open(raw_exposure[0], "rb").read()
    bad = tmp_path / "DECam_trunc.fits.fz"
    bad.write_bytes(data[: len(data) // 2])
    out = tmp_path / "o.png"
    code, err = run_cli(capsys, "assemble", str(bad), "-o", str(out))
    line = error_line(err)
    assert code == 4 and str(bad) in line and "HDU" in line
    assert not out.exists() and not any(p.name.startswith(".o.png") for p in tmp_path.iterdir())


def test_a_file_cut_inside_its_first_header_is_truncated_not_foreign(raw_exposure, tmp_path, capsys):
    bad = tmp_path / "DECam_cut.fits.fz"
    bad.write_bytes(open(raw_exposure[0], "rb").read()[:2000])
    code, err = run_cli(capsys, "assemble", str(bad), "-o", str(tmp_path / "o.png"))
    line = error_line(err)
    assert code == 4 and "truncated" in line and str(bad) in line


def test_corrupt_data_block(ooi_exposure, tmp_path, capsys):
    data = bytearray(open(ooi_exposure[0], "rb").read())
    mid = len(data) // 2
    data[mid:mid + 20000] = os.urandom(20000)
    bad = tmp_path / "corrupt.fits.fz"
    bad.write_bytes(bytes(data))
    code, err = run_cli(capsys, "assemble", str(bad), "-o", str(tmp_path / "o.png"))
    assert code in (0, 4)  # Rice data may decode to garbage without an error; if it fails it says where
    if code == 4:
        assert str(bad) in error_line(err)


def test_not_decam(ooi_exposure, tmp_path, capsys):
    bad = tmp_path / "mosaic.fits"
    copy_exposure(ooi_exposure[0], bad, edit_primary=lambda c: set_card(c, "INSTRUME", "Mosaic3"))
    code, err = run_cli(capsys, "assemble", str(bad), "-o", str(tmp_path / "o.png"))
    line = error_line(err)
    assert code == 5 and "INSTRUME" in line and "Mosaic3" in line


def test_missing_expnum(ooi_exposure, tmp_path, capsys):
    bad = tmp_path / "noexpnum.fits"
    copy_exposure(ooi_exposure[0], bad, edit_primary=lambda c: set_card(c, "EXPNUM", None))
    code, err = run_cli(capsys, "assemble", str(bad), "-o", str(tmp_path / "o.png"))
    line = error_line(err)
    assert code == 6 and "EXPNUM" in line and str(bad) in line


def test_duplicate_ccdnum(ooi_exposure, tmp_path, capsys):
    bad = tmp_path / "dup.fits"

    def edit(i, name, data, cards):
        if name.strip() == "S2":
            cards = set_card(set_card(cards, "CCDNUM", 1), "DETPOS", "S29")
        return data, cards

    copy_exposure(ooi_exposure[0], bad, edit_hdu=edit)
    code, err = run_cli(capsys, "assemble", str(bad), "-o", str(tmp_path / "o.png"))
    line = error_line(err)
    assert code == 7 and "CCDNUM 1" in line


def test_missing_ccds_are_blank_and_reported(ooi_exposure, tmp_path, capsys):
    src = tmp_path / "partial.fits"
    copy_exposure(ooi_exposure[0], src, keep=lambda i, name: name.strip() not in ("S1", "N4", "N31"))
    out = tmp_path / "partial.png"
    code, err = run_cli(capsys, "assemble", str(src), "-o", str(out))
    assert code == 10 and out.exists()
    warn = [ln for ln in err.splitlines() if "warning" in ln]
    assert len(warn) == 1 and "25,35,62" in warn[0]
    code, _ = run_cli(capsys, "assemble", str(src), "-o", str(out), "--lenient")
    assert code == 0


def test_nan_and_inf_pixels_are_excluded_and_reported(ooi_exposure, tmp_path, capsys):
    src = tmp_path / "nan.fits"

    def edit(i, name, data, cards):
        if name.strip() == "S10":
            data = data.copy()
            data[:100, :] = np.nan
            data[200, 5] = np.inf
        return data, cards

    copy_exposure(ooi_exposure[0], src, edit_hdu=edit)
    out = tmp_path / "nan.npy"
    code, err = run_cli(capsys, "assemble", str(src), "-o", str(out))
    assert code == 11 and "S10" in err and str(100 * 254 + 1) in err
    img = np.load(out)
    assert img.shape == (400, 400) and img.dtype == np.uint8


def test_all_zero_hdu_is_blank_and_reported(ooi_exposure, tmp_path, capsys):
    src = tmp_path / "zero.fits"
    copy_exposure(ooi_exposure[0], src,
                  edit_hdu=lambda i, n, d, c: (np.zeros_like(d) if n.strip() == "N5" else d, c))
    out = tmp_path / "zero.fits.out.fits"
    code, err = run_cli(capsys, "assemble", str(src), "-o", str(out))
    assert code == 12 and "N5" in err and "zero" in err
    assert out.exists()


def test_missing_input_path(tmp_path, capsys):
    code, err = run_cli(capsys, "assemble", str(tmp_path / "nope.fits"), "-o", str(tmp_path / "o.png"))
    assert code == 2 and "nope.fits" in error_line(err)


def test_unwritable_output_is_a_clean_error(raw_exposure, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, err = run_cli(capsys, "assemble", raw_exposure[0], "-o", str(blocker / "sub" / "o.png"))
    assert code == 9 and "cannot write" in error_line(err)
    code, err = run_cli(capsys, "simulate", str(blocker / "sim.fits.fz"))
    assert code == 9 and "cannot write" in error_line(err)


def test_simulate_creates_missing_output_directories(tmp_path, capsys):
    code, _ = run_cli(capsys, "simulate", str(tmp_path / "new" / "dir" / "s.fits.fz"), "--artifacts", "0")
    assert code == 0 and (tmp_path / "new" / "dir" / "s.fits.fz").exists()


@pytest.mark.e2e
def test_a_fully_masked_ccd_is_its_own_condition_in_assemble_run_and_night(des_exposure, tmp_path, capsys):
    import shutil

    files, _ = des_exposure
    exposure = tmp_path / "D00700001"
    exposure.mkdir()
    for f in files:
        shutil.copy(f, exposure)
    victim = exposure / os.path.basename(sorted(files)[5])
    copy_exposure(sorted(files)[5], tmp_path / "masked.fits",
                  edit_hdu=lambda i, name, data, cards: ((np.ones_like(data) if name == "MSK" else data), cards))
    os.replace(tmp_path / "masked.fits", victim)
    code, err = run_cli(capsys, "assemble", str(exposure), "-o", str(tmp_path / "fp.npy"), "--json")
    assert code == 15 and os.path.basename(victim) in err and "every pixel is flagged" in err
    code, _ = run_cli(capsys, "assemble", str(exposure), "-o", str(tmp_path / "fp.npy"), "--lenient")
    assert code == 0
    from desghost.focalplane.assembly import assemble_exposure
    fp = assemble_exposure(exposure)
    assert len(fp.ccds_masked) == 1 and fp.ccds_masked[0] not in fp.ccds_present + fp.ccds_missing
    code, err = run_cli(capsys, "run", str(exposure), "-o", str(tmp_path / "run"), "--no-overlay")
    assert code == 15 and "every pixel is flagged" in err
    assert run_cli(capsys, "run", str(exposure), "-o", str(tmp_path / "run2"), "--lenient")[0] == 0
    (tmp_path / "night_in").mkdir()
    shutil.copytree(exposure, tmp_path / "night_in" / "D00700001")
    code, err = run_cli(capsys, "night", str(tmp_path / "night_in"), "-o", str(tmp_path / "night"), "--workers", "1",
                        "--no-report")
    assert code == 15, err


def test_a_des_file_whose_sci_hdu_reads_as_another_name_is_blamed_on_the_missing_sci_hdu(des_exposure, tmp_path,
                                                                                       capsys):
    files, _ = des_exposure
    bad = tmp_path / "D00700001_r_c05_r4000p01_immasked.fits"
    # the SCI HDU's first EXTNAME card says MSK (as when a second card is written before the real one)
    copy_exposure(sorted(files)[0], bad, extname=lambda i, name: "MSK" if name == "SCI" else name)
    code, err = run_cli(capsys, "assemble", str(bad), "-o", str(tmp_path / "o.npy"))
    line = error_line(err)
    assert code == 6 and "without a SCI HDU" in line and "EXTNAME" in line and str(bad) in line


def test_an_expnum_that_cannot_be_right_is_refused_at_read_time(ooi_exposure, tmp_path, capsys):
    """EXPNUM must be a whole number in 1..2**31-1 (the exclusion table's >i4 column): exit 6 before any work."""
    for k, value in enumerate((2 ** 31, -5, 0, 500001.5, "12x")):
        bad = tmp_path / f"expnum{k}.fits"
        copy_exposure(ooi_exposure[0], bad, edit_primary=lambda c, v=value: set_card(c, "EXPNUM", v))
        command = "run" if k == 0 else "assemble"
        out = tmp_path / f"out{k}"
        code, err = run_cli(capsys, command, str(bad), "-o", str(out if command == "run" else out / "o.png"))
        line = error_line(err)
        assert code == 6 and "EXPNUM" in line and str(bad) in line, (value, line)
        assert not list(out.glob("D*_desghost_*")), value  # no product, no mask under its final name
        if command == "run":  # the failure is recorded in the catalog of the output folder (the default)
            with sqlite3.connect(out / "desghost_catalog.sqlite") as con:
                assert con.execute("SELECT exit_code FROM failures").fetchall() == [(6,)]


@pytest.mark.e2e
def test_nan_pixels_give_desghosts_line_and_no_numpy_warnings(ooi_exposure, tmp_path):
    src = tmp_path / "nan.fits"

    def edit(i, name, data, cards):
        if name.strip() == "S10":
            data = data.copy()
            data[:, :] = np.nan
        if name.strip() == "S11":
            data = data.copy()
            data[5, 5] = np.inf
        return data, cards

    copy_exposure(ooi_exposure[0], src, edit_hdu=edit)
    proc = subprocess.run([sys.executable, "-m", "desghost", "run", src, "-o", tmp_path / "out", "-q"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode in (11, 15), proc.stderr
    assert "Warning" not in proc.stderr and "warn(" not in proc.stderr, proc.stderr
    assert all(ln.startswith("desghost: ") for ln in proc.stderr.splitlines()), proc.stderr
