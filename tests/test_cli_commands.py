"""The installed ``desghost`` command, run as a real subprocess."""
import json

import fitsio
import numpy as np
import pytest
from PIL import Image

from desghost.cli import main

from .helpers import desghost


@pytest.mark.parametrize("cmd", [[], ["assemble"], ["simulate"], ["train"], ["detect"], ["evaluate"], ["agreement"],
                                 ["run"], ["query"], ["import-raytrace"], ["compare"], ["healpix"], ["night"], ["report"]])
def test_every_command_has_help_with_examples(cmd, capsys):
    with pytest.raises(SystemExit) as stop:
        main([*cmd, "--help"])
    out = capsys.readouterr().out
    assert stop.value.code == 0 and "example" in out
    assert "%%" not in out  # a literal percent in argparse text is written once


@pytest.mark.e2e
def test_simulate_then_assemble_all_output_formats(tmp_path):
    sim = tmp_path / "DECam_00700010.fits.fz"
    out = desghost("simulate", str(sim), "--expnum", "700010", "--seed", "3", "--artifacts", "2")
    assert out.returncode == 0, out.stderr
    assert "simulated EXPNUM 700010" in out.stderr
    truth = json.loads((tmp_path / "DECam_00700010_truth.json").read_text())
    assert len(truth["artifacts"]) >= 2
    for name in ("fp.png", "fp.fits", "fp.npy"):
        res = desghost("assemble", str(sim), "-o", str(tmp_path / name), "--json")
        assert res.returncode == 0, res.stderr
        meta = json.loads(res.stdout)
        assert meta["expnum"] == 700010 and meta["flavor"] == "raw" and meta["ccds_dead"] == [61]
        assert "assembled EXPNUM 700010" in res.stderr
    png = Image.open(tmp_path / "fp.png")
    assert png.size == (400, 400) and json.loads(png.text["desghost"])["expnum"] == 700010
    fits_img, hdr = fitsio.read(tmp_path / "fp.fits", header=True)
    assert fits_img.shape == (400, 400) and hdr["EXPNUM"] == 700010 and hdr["DGVERS"].startswith("desghost")
    assert str(sim) in hdr["INPUT"]
    npy = np.load(tmp_path / "fp.npy")
    assert np.array_equal(npy, np.asarray(png)) and np.array_equal(npy, fits_img)
    assert json.loads((tmp_path / "fp.json").read_text())["input"] == str(sim)


@pytest.mark.e2e
def test_simulate_des_flavor_into_a_directory(tmp_path):
    out = desghost("simulate", str(tmp_path / "des"), "--flavor", "des", "--expnum", "700011", "--artifacts", "0")
    assert out.returncode == 0, out.stderr
    files = sorted((tmp_path / "des").glob("D00700011_r_c*_r4000p01_immasked.fits.fz"))
    assert len(files) == 61
    res = desghost("assemble", str(tmp_path / "des"), "-o", str(tmp_path / "des.png"))
    assert res.returncode == 0, res.stderr


@pytest.mark.e2e
def test_unknown_output_format_is_a_clean_error(tmp_path):
    sim = tmp_path / "s.fits.fz"
    assert desghost("simulate", str(sim), "--artifacts", "0").returncode == 0
    res = desghost("assemble", str(sim), "-o", str(tmp_path / "x.tiff"))
    assert res.returncode != 0 and "Traceback" not in res.stderr and "x.tiff" in res.stderr


@pytest.mark.e2e
@pytest.mark.real_data
def test_agreement_reproduces_the_papers_44_percent():
    from .helpers import shared_data
    ann = sorted(str(p) for p in shared_data("dgb", "real", "annotations").glob("common_core_*.json"))
    out = desghost("agreement", *ann, "--images", str(shared_data("dgb", "real", "images")), "--json")
    assert out.returncode == 0, out.stderr
    table = json.loads(out.stdout)
    assert table["n_images"] == 30 and abs(table["all"] - 0.44) < 0.02


@pytest.mark.e2e
@pytest.mark.real_data
def test_evaluate_against_several_annotators(tmp_path):
    from desghost.detection.model import ModelConfig, build_model, save_model

    from .helpers import shared_data
    images = shared_data("dgb", "real", "images")
    ann = sorted(str(p) for p in shared_data("dgb", "real", "annotations").glob("common_core_*.json"))[:3]
    model = tmp_path / "m.safetensors"
    last = sorted(p.name for p in images.iterdir())[-1]
    save_model(model, build_model(ModelConfig()), ModelConfig(),  # as if trained on the last image
               {"training": {"train_config": {"real_fraction": 0.35}, "real_images_trained": [last]}})
    out = desghost("evaluate", "--model", str(model), "--images", str(images), "--annotations", *ann,
                   "--held-out-after", "27", "--threshold", "0.0", "--json")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert len(res["images"]) == 3 and len(res["model_vs_annotator"]) == 3 and len(res["human_vs_others"]) == 3
    assert res["trained_on"] == [last] and f"trained on 1 of these images ({last})" in out.stderr
    human_f1 = res["human_mean"]["ccd"]["all"]["0%"]["f1"]
    assert 0.6 < human_f1 < 1.0
    assert res["seconds_per_image"] > 0
    ci = res["model_ccd_f1_interval"]
    f1 = res["model_mean"]["ccd"]["all"]["0%"]["f1"]
    assert ci["n_images"] == 3 and ci["f1"] == pytest.approx(f1) and ci["low"] <= f1 <= ci["high"]
    text = desghost("evaluate", "--model", str(model), "--images", str(images), "--annotations", *ann,
                    "--held-out-after", "28")
    assert text.returncode == 0 and "CCD all @0% f1" in text.stdout and "humans" in text.stdout
    assert "interval over images (bootstrap)" in text.stdout


def test_the_exit_code_page_lists_every_exit_code_as_the_code_does(capsys):
    import re
    from pathlib import Path

    from desghost.errors import EXIT_CODES, WARNING_EXIT_CODES, DesghostError

    page = (Path(__file__).resolve().parents[1] / "docs" / "exit_codes.md").read_text()
    table = {int(code): text for code, text in re.findall(r"^\| (\d+) \| (.+?) \|$", page, re.M)}
    assert table == EXIT_CODES
    used = {cls.exit_code for cls in DesghostError.__subclasses__()} | set(WARNING_EXIT_CODES.values())
    assert used <= set(EXIT_CODES), f"codes raised but not documented: {sorted(used - set(EXIT_CODES))}"

    def help_of(command):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        return capsys.readouterr().out
    for command in ("run", "night"):
        assert "16  the EXPNUM is also another input's" in help_of(command)
    assert "16  the EXPNUM" not in help_of("report")   # each command lists its own codes


@pytest.mark.e2e
def test_quiet_works_after_the_subcommand_too(tmp_path):
    loud = desghost("simulate", tmp_path / "a.fits.fz")
    after = desghost("simulate", tmp_path / "b.fits.fz", "-q")
    before = desghost("-q", "simulate", tmp_path / "c.fits.fz")
    assert loud.returncode == after.returncode == before.returncode == 0
    assert "simulated EXPNUM" in loud.stderr and after.stderr == "" and before.stderr == ""


@pytest.mark.e2e
def test_zero_means_never_for_training_intervals_and_negative_values_are_refused(tmp_path):
    from desghost.training.config import TrainConfig
    from desghost.training.train import train

    cfg = TrainConfig(steps=1, batch_size=1, warmup_steps=1, checkpoint_every=0, log_every=0, val_every=0,
                      prefetch=False)
    out = train(tmp_path / "run", train_cfg=cfg, validate=lambda model: {"ok": 1.0}, log=lambda t: None)
    assert (tmp_path / "run" / "checkpoint.pt").exists() and out.endswith("model.safetensors")
    refused = desghost("train", tmp_path / "r2", "--val-every", "-1")
    assert refused.returncode == 2 and "--val-every: must be 0 or more" in refused.stderr


@pytest.mark.parametrize("argv, option", [
    (["night", "in/", "-o", "o", "--workers", "-1"], "--workers"),
    (["night", "in/", "-o", "o", "--batch-size", "0"], "--batch-size"),
    (["run", "x.fits", "-o", "o", "--workers", "0"], "--workers"),
    (["run", "x.fits", "-o", "o", "--row-step", "0"], "--row-step"),
    (["run", "x.fits", "-o", "o", "--area-threshold", "1.5"], "--area-threshold"),
    (["run", "x.fits", "-o", "o", "--min-ccd-fraction", "-0.1"], "--min-ccd-fraction"),
    (["run", "x.fits", "-o", "o", "--threshold", "nan"], "--threshold"),
    (["run", "x.fits", "-o", "o", "--nside", "100"], "--nside"),
    (["assemble", "x.fits", "-o", "o.png", "--row-step", "0"], "--row-step"),
    (["simulate", "-o", "x.fits", "--artifacts", "-2"], "--artifacts"),
    (["simulate", "-o", "x.fits", "--expnum", "0"], "--expnum"),
    (["healpix", "m.fits.fz", "-o", "map.fits", "--nside", "100"], "--nside"),
    (["healpix", "m.fits.fz", "-o", "map.fits", "--step", "0"], "--step"),
    (["detect", "x.png", "--batch-size", "-3"], "--batch-size"),
    (["train", "run_dir", "--steps", "0"], "--steps"),
    (["train", "run_dir", "--lr", "-1"], "--lr"),
    (["train", "run_dir", "--real-fraction", "2"], "--real-fraction"),
    (["query", "--expnum", "99999999999999999999"], "--expnum"),
    (["query", "--expnum", "-5"], "--expnum"),
    (["query", "--expnum", "600-500"], "--expnum"),
    (["query", "--ccdnum", "99999999999999"], "--ccdnum"),
    (["query", "--until", "2017-13"], "--until"),
    (["query", "--since", "garbage"], "--since"),
    (["compare", "--since", "2017-02-30"], "--since"),
])
def test_every_out_of_range_option_is_refused_at_parse_time_naming_it(argv, option, capsys):
    """Ranges are checked by the argparse types of cli/common.py, for every command, before any work."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and f"argument {option}" in err and "Traceback" not in err, err


def test_a_reversed_date_range_and_an_unknown_source_are_usage_errors(tmp_path, capsys):
    catalog = tmp_path / "c.sqlite"
    (tmp_path / "rt.txt").write_text("#date     expnum ccd id ccdnum\n20170101   600000 nan N4  35\n")
    assert main(["import-raytrace", str(tmp_path / "rt.txt"), "--catalog", str(catalog)]) == 0
    capsys.readouterr()
    assert main(["query", "--catalog", str(catalog), "--since", "2018", "--until", "2017-03"]) == 2
    assert "--since 2018 is after --until 2017-03" in capsys.readouterr().err
    assert main(["compare", "--catalog", str(catalog), "--truth", "raytracing", "--pred", "raytrace"]) == 2
    err = capsys.readouterr().err
    assert "--truth raytracing: no such source" in err and "raytrace" in err


def test_detect_checks_every_image_before_detecting(tmp_path, capsys):
    """Odd images are refused naming the file and what is wrong, before any image is detected on."""
    Image.fromarray(np.zeros((200, 300, 3), np.uint8)).save(tmp_path / "small.jpg")
    Image.fromarray(np.zeros((200, 200), np.uint8)).save(tmp_path / "grey.png")
    (tmp_path / "text.png").write_text("not an image")
    np.save(tmp_path / "cube.npy", np.zeros((10, 10, 10), np.float32))
    np.save(tmp_path / "nan.npy", np.full((400, 400), np.nan, np.float32))
    np.save(tmp_path / "wide.npy", np.full((400, 400), 70000, np.int32))
    np.save(tmp_path / "good.npy", np.zeros((400, 400), np.uint8))
    for name, words in (("small.jpg", "200x300x3 image"), ("grey.png", "200x200 image"), ("text.png", "cannot read"),
                        ("cube.npy", "10x10x10 image"), ("nan.npy", "NaN"), ("wide.npy", "from 70000")):
        code = main(["detect", str(tmp_path / "good.npy"), str(tmp_path / name)])
        err = capsys.readouterr().err
        assert code == 2 and str(tmp_path / name) in err and words in err and "Traceback" not in err, (name, err)


@pytest.mark.e2e
def test_detect_converts_16_bit_and_float_images_the_documented_way(tmp_path):
    from desghost.focalplane.imagefile import read_focal_plane_image

    ramp = np.tile(np.arange(400, dtype=np.float64) / 399, (400, 1))  # 0..1 across the image
    Image.fromarray((ramp * 65535).astype(np.uint16)).save(tmp_path / "deep.png")  # a real 16-bit PNG
    np.save(tmp_path / "unit.npy", ramp.astype(np.float32))
    for name, conversion in (("deep.png", "16-bit scaled by 255/65535"), ("unit.npy", "0..1 floats scaled by 255")):
        image, done = read_focal_plane_image(tmp_path / name)
        assert done == conversion and image.dtype == np.uint8
        assert image[0, 0] == 0 and image[0, -1] == 255 and abs(int(image[0, 200]) - 128) <= 1
    out = desghost("detect", tmp_path / "deep.png", tmp_path / "unit.npy", "--json", "--tta-views", "1")
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["conversion"] for r in records] == ["16-bit scaled by 255/65535", "0..1 floats scaled by 255"]
