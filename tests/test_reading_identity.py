"""Moving the data does not turn done exposures into failures (issue 33 item 4): an input met at a new path
is the same exposure when its content identity matches; only a genuinely different file is a duplicate."""
import shutil
import sqlite3

import pytest

from desghost.cli import main
from desghost.errors import DuplicateExposureError
from desghost.reading.identity import input_identity
from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure

from .helpers import copy_exposure, set_card


def _night(inputs, out, *extra):
    return main(["-q", "night", str(inputs), "-o", str(out), "--workers", "1", "--no-report", "--lenient", *extra])


def test_identity_ignores_names_and_order_and_sees_other_content(tmp_path):
    files, _ = write_simulated_exposure(tmp_path / "a" / "DECam_00701501.fits.fz", SimulationConfig(expnum=701501))
    moved = tmp_path / "b" / "renamed.fits.fz"
    moved.parent.mkdir()
    shutil.copy(files[0], moved)
    assert input_identity(files[0]) == input_identity(moved) is not None
    edited = tmp_path / "edited.fits"
    copy_exposure(files[0], edited, edit_primary=lambda cards: set_card(cards, "PROCTYPE", "Reprocessed"))
    assert input_identity(edited) != input_identity(files[0])
    des, _ = write_simulated_exposure(tmp_path / "des", SimulationConfig(flavor="des", expnum=701502))
    assert input_identity(list(reversed(des))) == input_identity(tmp_path / "des") is not None
    assert input_identity(tmp_path / "nothing.fits") is None


@pytest.mark.e2e
def test_a_night_rerun_on_moved_data_skips_the_done_exposures(tmp_path):
    for k in range(2):
        write_simulated_exposure(tmp_path / "staging" / f"DECam_{701510 + k:08d}.fits.fz",
                                 SimulationConfig(expnum=701510 + k, seed=k, n_artifacts=1))
    write_simulated_exposure(tmp_path / "staging" / "D00701512", SimulationConfig(flavor="des", expnum=701512, seed=9,
                                                                                 n_artifacts=1))
    out = tmp_path / "out"
    assert _night(tmp_path / "staging", out) == 0
    shutil.move(tmp_path / "staging", tmp_path / "archive")
    assert _night(tmp_path / "archive", out) == 0
    with sqlite3.connect(out / "desghost_catalog.sqlite") as db:
        assert db.execute("SELECT count(*) FROM failures").fetchone()[0] == 0
        inputs = [r[0] for r in db.execute("SELECT input FROM exposures ORDER BY expnum")]
    assert len(inputs) == 3 and all("/archive/" in p for p in inputs)   # the recorded paths follow the move
    assert main(["-q", "query", "--catalog", str(out / "desghost_catalog.sqlite"), "--what", "failures"]) == 0


@pytest.mark.e2e
def test_a_genuinely_different_file_of_a_done_expnum_is_still_a_duplicate(tmp_path):
    files, _ = write_simulated_exposure(tmp_path / "in" / "DECam_00701520.fits.fz",
                                        SimulationConfig(expnum=701520, n_artifacts=1))
    out = tmp_path / "out"
    assert _night(tmp_path / "in", out) == 0
    other = tmp_path / "other" / "DECam_00701520_reprocessed.fits"
    other.parent.mkdir()
    copy_exposure(files[0], other, edit_primary=lambda cards: set_card(cards, "PROCTYPE", "Reprocessed"))
    assert main(["-q", "run", str(other), "-o", str(out)]) == DuplicateExposureError.exit_code
    assert _night(tmp_path / "other", out) == DuplicateExposureError.exit_code
