"""Small command-line points: progress lines, compact query tables, refused option combinations, EXPNUM of assembled images."""
import json
import os
import sqlite3

import pytest

from desghost.cli import main
from desghost.errors import UsageError
from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure


@pytest.fixture(scope="module")
def small_night(tmp_path_factory):
    d = tmp_path_factory.mktemp("points")
    write_simulated_exposure(d / "in" / "DECam_00701601.fits.fz", SimulationConfig(expnum=701601, seed=1,
                                                                                   n_artifacts=1))
    return d


def test_model_files_follow_the_users_umask(tmp_path):
    from desghost.detection.model import ModelConfig, build_model, save_model

    old = os.umask(0o022)
    try:
        cfg = ModelConfig()
        path = save_model(tmp_path / "m.safetensors", build_model(cfg), cfg)
    finally:
        os.umask(old)
    assert os.stat(path).st_mode & 0o777 == 0o644


def test_failures_record_the_expnum_when_it_is_known(small_night, tmp_path):
    bad = tmp_path / "in" / "DECam_00701602.fits"
    bad.parent.mkdir()
    from .helpers import copy_exposure, set_card

    copy_exposure(small_night / "in" / "DECam_00701601.fits.fz", bad,
                  edit_primary=lambda cards: set_card(set_card(cards, "EXPNUM", 701602), "INSTRUME", "Mosaic"))
    assert main(["-q", "run", str(bad), "-o", str(tmp_path / "out")]) != 0
    with sqlite3.connect(tmp_path / "out" / "desghost_catalog.sqlite") as db:
        assert db.execute("SELECT expnum FROM failures").fetchall() == [(701602,)]


@pytest.mark.e2e
def test_detect_reads_the_expnum_of_assembled_images(small_night, tmp_path, capsys):
    raw = small_night / "in" / "DECam_00701601.fits.fz"
    for suffix in (".fits", ".npy", ".png"):
        out = tmp_path / f"fp{suffix}"
        assert main(["-q", "assemble", str(raw), "-o", str(out), "--lenient"]) == 0
        capsys.readouterr()
        assert main(["detect", str(out), "--json"]) == 0
        record = json.loads(capsys.readouterr().out.splitlines()[0])
        assert record["expnum"] == 701601, suffix


def test_compare_without_overlap_and_agreement_with_one_annotator_are_refused(small_night, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["-q", "run", str(small_night / "in"), "-o", str(out), "--lenient"]) == 0
    listing = tmp_path / "ghost-scatter-y05.txt"
    listing.write_text("#date     expnum ccd id ccdnum\n20170802  664543  71 S20   8\n")
    catalog = str(out / "desghost_catalog.sqlite")
    assert main(["-q", "import-raytrace", str(listing), "--catalog", catalog]) == 0
    capsys.readouterr()
    code = main(["compare", "--catalog", catalog, "--truth", "raytrace", "--pred", "desghost"])
    err = capsys.readouterr().err
    assert code == UsageError.exit_code and "nothing to compare" in err and "nan" not in err
    code = main(["agreement", "--images", str(tmp_path), str(listing)])
    assert code == UsageError.exit_code and "at least two annotators" in capsys.readouterr().err


def test_each_commands_help_lists_only_the_exit_codes_it_can_return(capsys):
    import re

    from desghost.errors import COMMAND_EXIT_CODES, EXIT_CODES

    for command, codes in COMMAND_EXIT_CODES.items():
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out.split("exit codes:", 1)[1]
        listed = {int(m) for m in re.findall(r"^  (\d+)\s", text, flags=re.M)}
        assert listed == set(codes), command
    assert set().union(*COMMAND_EXIT_CODES.values()) == set(EXIT_CODES)   # every documented code is some command's
    assert 16 not in COMMAND_EXIT_CODES["simulate"] and 19 in COMMAND_EXIT_CODES["run"]


def test_query_tables_are_compact_by_default_and_take_columns(small_night, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["-q", "run", str(small_night / "in"), "-o", str(out), "--lenient"]) == 0
    catalog = str(out / "desghost_catalog.sqlite")
    for what in ("ccds", "instances", "exposures"):
        capsys.readouterr()
        assert main(["query", "--catalog", catalog, "--what", what]) == 0
        text = capsys.readouterr().out
        assert max(len(line) for line in text.splitlines()) <= 120, what
    assert main(["query", "--catalog", catalog, "--what", "exposures", "--columns", "expnum,nite,input"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split()
    assert header == ["expnum", "nite", "input"]
    assert main(["query", "--catalog", catalog, "--what", "exposures", "--columns", "all"]) == 0
    assert {"input", "processed_at", "software"} <= set(capsys.readouterr().out.splitlines()[0].split())
    assert main(["query", "--catalog", catalog, "--columns", "nonsense"]) == UsageError.exit_code
    assert "the columns are expnum" in capsys.readouterr().err
