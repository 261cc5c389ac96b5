"""A --model that is not a desghost model is one line naming the file and the fault, exit 19, before any
exposure is read, in run, detect, evaluate and night (issue 38 item 4)."""
import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import save_file

from desghost.detection.model import ModelConfig, build_model, default_model_path
from desghost.errors import ModelFileError

pytestmark = pytest.mark.e2e


def _bad_models(folder):
    folder.mkdir()
    models = {"random bytes": folder / "random.safetensors", "truncated": folder / "truncated.safetensors",
              "another network": folder / "other.safetensors", "metadata not JSON": folder / "notjson.safetensors",
              "no configuration": folder / "noconfig.safetensors", "wrong shapes": folder / "shapes.safetensors",
              "a folder": folder / "adir.safetensors", "missing": folder / "missing.safetensors"}
    models["random bytes"].write_bytes(bytes(range(256)) * 40)
    shipped = open(default_model_path(), "rb").read()
    models["truncated"].write_bytes(shipped[: len(shipped) // 3])
    save_file({"weight": torch.zeros(3, 3)}, str(models["another network"]))
    save_file({"weight": torch.zeros(3, 3)}, str(models["metadata not JSON"]), metadata={"desghost": "{not json"})
    save_file({"weight": torch.zeros(3, 3)}, str(models["no configuration"]),
              metadata={"desghost": json.dumps({"format": "desghost-model/1"})})
    cfg = ModelConfig()
    state = {k: v.clone() for k, v in build_model(cfg).state_dict().items()}
    first = next(k for k, v in state.items() if v.ndim == 4)
    state[first] = torch.zeros(1, 1, 1, 1)
    save_file(state, str(models["wrong shapes"]), metadata={"desghost": json.dumps({"config": cfg.to_dict()})})
    models["a folder"].mkdir()
    return models


@pytest.fixture(scope="module")
def bad_models(tmp_path_factory):
    return _bad_models(tmp_path_factory.mktemp("models") / "bad")


def test_load_model_names_the_fault_of_each_bad_file(bad_models):
    from desghost.detection.model import load_model

    expected = {"random bytes": "not a safetensors", "truncated": "not a safetensors",
                "another network": "no 'desghost' metadata", "metadata not JSON": "not JSON",
                "no configuration": "no model configuration", "wrong shapes": "weights do not fit",
                "a folder": "a folder", "missing": "no such model file"}
    for what, path in bad_models.items():
        with pytest.raises(ModelFileError, match=expected[what]) as info:
            load_model(path, device="cpu")
        assert str(path) in str(info.value) and "\n" not in str(info.value), what


@pytest.mark.parametrize("command", ["run", "night", "detect", "evaluate"])
def test_each_command_refuses_a_bad_model_before_reading(bad_models, tmp_path, command):
    never_read = tmp_path / "DECam_00700901.fits.fz"
    never_read.write_bytes(b"SIMPLE  =" + b"\0" * 3000)   # would fail as corrupt (exit 4) if it were read
    args = {"run": ["run", str(never_read), "-o", str(tmp_path / "out")],
            "night": ["night", str(tmp_path), "-o", str(tmp_path / "out")],
            "detect": ["detect", str(never_read)],
            "evaluate": ["evaluate", "--synthetic", "2"]}[command]
    for what in ("truncated", "wrong shapes", "missing"):
        proc = subprocess.run([sys.executable, "-m", "desghost", *args, "--model", str(bad_models[what])],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == ModelFileError.exit_code, (what, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and str(bad_models[what]) in lines[0] and "Traceback" not in proc.stderr, proc.stderr
