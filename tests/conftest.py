"""Shared fixtures: small simulated exposures of every flavor, a simulated night with a model (helpers live in helpers.py)."""

import pytest

from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure


@pytest.fixture(scope="session")
def sim_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("sim")


@pytest.fixture(scope="session")
def raw_exposure(sim_dir):
    files, truth = write_simulated_exposure(sim_dir / "DECam_00700001.fits.fz",
                                            SimulationConfig(flavor="raw", expnum=700001, seed=21))
    return files[0], truth


@pytest.fixture(scope="session")
def ooi_exposure(sim_dir):
    files, truth = write_simulated_exposure(sim_dir / "c4d_sim_ooi_r_v1.fits.fz",
                                            SimulationConfig(flavor="ooi", expnum=700001, seed=21))
    return files[0], truth


@pytest.fixture(scope="session")
def des_exposure(sim_dir):
    files, truth = write_simulated_exposure(sim_dir / "des", SimulationConfig(flavor="des", expnum=700001, seed=21))
    return files, truth


@pytest.fixture(scope="session")
def night_dir(tmp_path_factory):
    """Six simulated exposures (five raw, one DES per-CCD directory), one corrupt file, a model."""
    import torch

    from desghost.detection.model import ModelConfig, build_model, save_model
    d = tmp_path_factory.mktemp("night")
    raw = d / "raw"
    for k in range(5):
        write_simulated_exposure(raw / f"DECam_{700100 + k:08d}.fits.fz",
                                 SimulationConfig(expnum=700100 + k, seed=k, n_artifacts=1))
    write_simulated_exposure(raw / "D00700105", SimulationConfig(flavor="des", expnum=700105, seed=5, n_artifacts=1))
    (raw / "DECam_00700106.fits.fz").write_bytes(b"SIMPLE  =" + b"\0" * 3000)  # corrupt
    torch.manual_seed(0)
    model = d / "m.safetensors"
    cfg = ModelConfig(detections_per_img=10)  # enough to find something, few enough to be quick
    save_model(model, build_model(cfg), cfg)
    return raw, model


@pytest.fixture(scope="session")
def demo_night(tmp_path_factory):
    """``desghost run --demo`` output (one simulated exposure, its products and catalog); copy it before writing."""
    from desghost.cli import main

    out = tmp_path_factory.mktemp("demo")
    assert main(["-q", "run", "--demo", "-o", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def full_size_exposure(tmp_path_factory):
    """One full-size simulated raw exposure (2048x4096 CCDs, about 0.5 GB, three artifacts); read it only."""
    path = tmp_path_factory.mktemp("full") / "DECam_00700800.fits.fz"
    write_simulated_exposure(path, SimulationConfig(ccd_shape="full", seed=5, n_artifacts=3, expnum=700800))
    return path
