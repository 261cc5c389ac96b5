"""Inputs are grouped by exposure before anything is processed (issue 33 item 1): per-CCD files of one
EXPNUM are one exposure however they are given, a flat folder of several exposures is split by EXPNUM."""
import json
import shutil
import sqlite3

import pytest

from desghost.cli import main
from desghost.errors import DuplicateCCDError
from desghost.reading.discovery import discover_inputs, exposure_files, group_name
from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure


@pytest.fixture(scope="module")
def des_pair(tmp_path_factory):
    """Two DES per-CCD exposures in their own folders, and a flat folder holding both."""
    d = tmp_path_factory.mktemp("grouping")
    for expnum, seed in ((700601, 61), (700602, 62)):
        write_simulated_exposure(d / f"D{expnum:08d}", SimulationConfig(flavor="des", expnum=expnum, seed=seed,
                                                                        n_artifacts=2))
        for f in (d / f"D{expnum:08d}").glob("*.fits*"):
            (d / "flat").mkdir(exist_ok=True)
            shutil.copy(f, d / "flat" / f.name)
    write_simulated_exposure(d / "raw" / "DECam_00700603.fits.fz", SimulationConfig(expnum=700603, seed=63,
                                                                                    n_artifacts=1))
    return d


def _files(folder):
    return sorted(str(p) for p in folder.glob("*.fits*"))


@pytest.mark.e2e
def test_per_ccd_files_given_one_by_one_are_one_exposure_named_by_their_folder(des_pair):
    folder = des_pair / "D00700601"
    assert discover_inputs(_files(folder)) == [str(folder)]
    assert discover_inputs([str(folder / "*.fits.fz")]) == [str(folder)]
    listing = des_pair / "list.txt"
    listing.write_text("\n".join(_files(folder)) + "\n")
    assert discover_inputs([listing]) == [str(folder)]
    assert discover_inputs([folder]) == [str(folder)]


def test_a_flat_folder_of_two_exposures_is_split_by_expnum(des_pair):
    flat = des_pair / "flat"
    groups = discover_inputs([flat])
    assert groups == [group_name(str(flat), 700601), group_name(str(flat), 700602)]
    assert discover_inputs(_files(flat)) == groups
    n_files = len(_files(des_pair / "D00700601"))
    assert [len(exposure_files(g)) for g in groups] == [n_files, len(_files(des_pair / "D00700602"))]
    # a multi-CCD file beside them stays an exposure of its own
    mixed = discover_inputs(_files(flat)[:3] + [str(des_pair / "raw" / "DECam_00700603.fits.fz")])
    assert mixed[-1].endswith("DECam_00700603.fits.fz") and len(mixed) == 2


@pytest.mark.e2e
def test_run_on_shell_expanded_per_ccd_files_gives_the_folder_run(des_pair, tmp_path, capsys):
    folder = des_pair / "D00700602"
    out = tmp_path / "out"
    assert main(["run", *_files(folder), "-o", str(out), "--json", "--lenient"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert len(lines) == 1 and lines[0]["expnum"] == 700602 and lines[0]["input"] == str(folder)
    excluded = lines[0]["excluded_ccds"]
    assert excluded, "the simulated artifacts must exclude CCDs for this test to mean anything"
    # the same exposure given as its folder is the same input: processed again, not a duplicate
    assert main(["run", str(folder), "-o", str(out), "--json", "--lenient"]) == 0
    again = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert again[0]["excluded_ccds"] == excluded
    with sqlite3.connect(out / "desghost_catalog.sqlite") as db:
        assert db.execute("SELECT count(*), min(status) FROM exposures").fetchone() == (1, "ok")


@pytest.mark.e2e
def test_night_on_a_flat_folder_processes_each_exposure_once(des_pair, tmp_path):
    out = tmp_path / "out"
    assert main(["-q", "night", str(des_pair / "flat"), "-o", str(out), "--workers", "1", "--no-report",
                 "--lenient"]) == 0
    with sqlite3.connect(out / "desghost_catalog.sqlite") as db:
        rows = db.execute("SELECT expnum, status, input FROM exposures ORDER BY expnum").fetchall()
        failures = db.execute("SELECT count(*) FROM failures").fetchone()[0]
    flat = str(des_pair / "flat")
    assert rows == [(700601, "ok", group_name(flat, 700601)), (700602, "ok", group_name(flat, 700602))]
    assert failures == 0


def test_two_files_of_one_ccd_in_a_group_are_refused(des_pair, tmp_path):
    folder = tmp_path / "dup"
    shutil.copytree(des_pair / "D00700601", folder)
    first = _files(folder)[0]
    shutil.copy(first, first.replace(".fits", "_copy.fits"))
    assert main(["-q", "run", str(folder), "-o", str(tmp_path / "out")]) == DuplicateCCDError.exit_code


def test_list_files_keep_hash_and_spaces_inside_paths_and_accept_crlf(des_pair, tmp_path):
    odd = tmp_path / "night #3" / "DECam_00700603 copy.fits.fz"
    odd.parent.mkdir()
    shutil.copy(des_pair / "raw" / "DECam_00700603.fits.fz", odd)
    listing = tmp_path / "inputs.txt"
    listing.write_bytes(f"# tonight\r\n\r\n   {odd}  \r\n  # {odd}\r\n".encode())
    assert discover_inputs([listing]) == [str(odd)]


def test_an_existing_path_with_glob_characters_is_taken_literally(des_pair, tmp_path):
    literal = tmp_path / "DECam_[1].fits.fz"
    decoy = tmp_path / "DECam_1.fits.fz"
    shutil.copy(des_pair / "raw" / "DECam_00700603.fits.fz", literal)
    shutil.copy(des_pair / "raw" / "DECam_00700603.fits.fz", decoy)
    assert discover_inputs([str(literal)]) == [str(literal)]
    assert discover_inputs([str(tmp_path / "DECam_[1]*")]) == [str(decoy)]   # not existing: a pattern
    folder = tmp_path / "night[1]"
    shutil.copytree(des_pair / "D00700601", folder)
    assert discover_inputs([str(folder)]) == [str(folder)]
    assert len(exposure_files(str(folder))) == len(_files(des_pair / "D00700601"))


@pytest.mark.e2e
def test_a_night_reads_and_writes_folders_named_with_glob_and_cfitsio_characters(des_pair, tmp_path):
    folder = tmp_path / "in[1] (b)" / "D00700601"
    shutil.copytree(des_pair / "D00700601", folder)
    shutil.copy(des_pair / "raw" / "DECam_00700603.fits.fz", folder.parent / "DECam_[3]+1.fits.fz")
    out = tmp_path / "out[1] (b)"
    assert main(["-q", "night", str(folder.parent), "-o", str(out), "--workers", "1", "--lenient"]) == 0
    with sqlite3.connect(out / "desghost_catalog.sqlite") as db:
        assert db.execute("SELECT expnum, status FROM exposures ORDER BY expnum").fetchall() == [
            (700601, "ok"), (700603, "ok")]
    assert len(list(out.glob("D*_desghost_exclude.fits"))) == 2
    assert (out / "report" / "exposures" / "700603.html").exists()


@pytest.mark.e2e
def test_outputs_inside_the_input_folder_are_never_inputs_and_link_loops_are_skipped(des_pair, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(des_pair / "raw", data)
    (data / "loop").symlink_to(data, target_is_directory=True)          # a link loop inside the input folder
    (data / "self.fits.fz").symlink_to(data / "DECam_00700603.fits.fz")  # the same file under a second name
    for out in (data, data / "desghost"):
        for _ in range(2):   # the re-run reads its own products' folder: they must not become inputs
            code = main(["-q", "night", str(data), "-o", str(out), "--workers", "1", "--no-report", "--lenient"])
            assert code == 0
            with sqlite3.connect(out / "desghost_catalog.sqlite") as db:
                assert db.execute("SELECT count(*) FROM failures").fetchone()[0] == 0
                assert db.execute("SELECT expnum FROM exposures").fetchall() == [(700603,)]
    assert discover_inputs([data], outdir=data / "desghost") == [str(data / "DECam_00700603.fits.fz")]


def test_assemble_groups_separate_arguments_and_refuses_two_exposures(des_pair, tmp_path):
    from desghost.errors import UsageError

    files = _files(des_pair / "D00700601")
    assert main(["-q", "assemble", *files, "-o", str(tmp_path / "fp.npy")]) == 0
    assert main(["-q", "assemble", str(des_pair / "flat"), "-o", str(tmp_path / "two.npy")]) == UsageError.exit_code
