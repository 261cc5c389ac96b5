"""One run configuration: the CLI, the night and the ceci stage build RunConfig from their options the same way."""
import pytest


def test_the_stage_checks_its_options_with_the_command_lines_ranges():
    from desghost.errors import UsageError
    from desghost.runners.ceci_stage import DesghostMasking, stage_run_config

    defaults = {k: (v.default if hasattr(v, "default") else v) for k, v in DesghostMasking.config_options.items()}
    cfg, batch = stage_run_config(defaults)
    assert cfg.model is None and cfg.ccd_workers == 1 and batch == 0
    for key, value in (("ccd_workers", -1), ("row_step", 0), ("batch_size", -2), ("area_threshold", 1.5),
                       ("min_ccd_fraction", "x"), ("threshold", 2.0), ("device", "tpu")):
        with pytest.raises(UsageError, match=f"config.*{key}"):
            stage_run_config(dict(defaults, **{key: value}))
    # the former name of ccd_workers is read for one release
    assert stage_run_config(dict(defaults, workers=3))[0].ccd_workers == 3


def test_run_config_from_options_is_what_the_command_line_builds(tmp_path):
    from desghost.cli import build_parser
    from desghost.driver.exposure import RunConfig
    from desghost.errors import UsageError

    args = build_parser().parse_args(["run", "x.fits", "-o", str(tmp_path), "--area-threshold", "0.1",
                                      "--min-ccd-fraction", "0.3", "--ccd-workers", "2", "--decoder", "fitsio",
                                      "--threshold", "0.6"])
    cfg = RunConfig.from_options(vars(args))
    assert (cfg.area_threshold, cfg.min_present_fraction, cfg.ccd_workers, cfg.decoder, cfg.threshold, cfg.model) \
        == (0.1, 0.3, 2, "fitsio", 0.6, None)
    with pytest.raises(UsageError, match="option min_ccd_fraction"):
        RunConfig.from_options({"min_ccd_fraction": 2})
    with pytest.raises(UsageError, match="option decoder"):
        RunConfig.from_options({"decoder": "imagecodecs"})


@pytest.mark.e2e
def test_run_workers_counts_exposures_and_keeps_its_former_meaning_for_one_exposure(tmp_path, capsys):
    from desghost.cli import main
    from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure

    assert main(["run", "--demo", "-o", str(tmp_path / "one"), "--workers", "2"]) == 0
    assert "taken as --ccd-workers" in capsys.readouterr().err
    files = [write_simulated_exposure(tmp_path / "in" / f"DECam_{e:08d}.fits.fz",
                                      SimulationConfig(expnum=e, seed=e % 7, n_artifacts=1))[0][0] for e in (700301, 700302)]
    assert main(["run", *map(str, files), "-o", str(tmp_path / "two"), "--workers", "2"]) == 0
    err = capsys.readouterr().err
    assert "ccd-workers" not in err and "2 of 2 exposures done" in err
    assert len(list((tmp_path / "two").glob("D*_desghost_exclude.fits"))) == 2
