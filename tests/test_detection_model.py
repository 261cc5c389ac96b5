"""Model files, inference output and a tiny real training run."""
import csv
import json
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from desghost.detection.detect import detect_images
from desghost.detection.model import (
    ModelConfig,
    build_model,
    default_model_path,
    load_model,
    read_model_metadata,
    save_model,
)
from desghost.training.config import GPU_TRAINER_THREADS, trainer_threads
from desghost.training.train import TrainConfig, train, weighted_loss
from research.model_files import write_calibrated_copy, write_weight_average

from .helpers import NATIVE_BF16, needs_native_bf16


@pytest.fixture(scope="module")
def random_model_file(tmp_path_factory):
    torch.manual_seed(0)
    cfg = ModelConfig()
    path = tmp_path_factory.mktemp("model") / "random.safetensors"
    save_model(path, build_model(cfg), cfg, {"note": "untrained"})
    return str(path)


def test_save_and_load_round_trip(random_model_file):
    meta = read_model_metadata(random_model_file)
    assert meta["format"] == "desghost-model/1" and meta["config"]["backbone"] == "mobilenet_v3_large_fpn"
    assert meta["config"]["class_names"] == ["background", "Bright", "Faint", "Rays"] and meta["note"] == "untrained"
    lm = load_model(random_model_file, device="cpu")
    from safetensors.torch import load_file
    stored = load_file(random_model_file)
    for k, v in lm.model.state_dict().items():
        assert torch.allclose(v.float(), stored[k].float()), k
    assert lm.config.score_threshold == 0.8
    assert load_model(random_model_file, device="cpu", overrides={"score_threshold": 0.3}).config.score_threshold == 0.3


def test_calibrated_copy_keeps_weights_and_records_the_choice(random_model_file, tmp_path):
    out = tmp_path / "cal.safetensors"
    write_calibrated_copy(random_model_file, out, {"score_threshold": 0.35, "overlap_iou": 0.5},
                          {"postprocessing": {"criterion": "test"}})
    meta = read_model_metadata(out)
    assert meta["note"] == "untrained" and meta["calibration"]["postprocessing"]["criterion"] == "test"
    a, b = load_model(random_model_file, device="cpu"), load_model(out, device="cpu")
    assert b.config.score_threshold == 0.35 and b.config.overlap_iou == 0.5 and a.config.overlap_iou == 0.0
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, b.model.state_dict()[k]), k


def test_model_files_are_not_pickles_and_load_without_network(random_model_file, monkeypatch):
    head = open(random_model_file, "rb").read(16)
    assert not head.startswith(b"\x80") and not head.startswith(b"PK")  # neither pickle nor torch zip

    def no_network(*a, **k):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "socket", no_network)
    for backbone in ("mobilenet_v3_large_fpn", "resnet18_fpn"):
        build_model(ModelConfig(backbone=backbone))
    load_model(random_model_file, device="cpu")


def test_unknown_backbone_and_config_keys_are_refused():
    with pytest.raises(ValueError, match="unknown backbone"):
        build_model(ModelConfig(backbone="vgg"))
    with pytest.raises(ValueError, match="unknown model config keys"):
        ModelConfig.from_dict({"backbone": "resnet18_fpn", "bogus": 1})


def test_the_shipped_default_model_loads_and_is_small():
    import os
    path = default_model_path()
    assert os.path.getsize(path) <= 50 * 1024 * 1024
    lm = load_model(device="cpu")
    meta = lm.metadata
    parents = meta["weight_average"]["training"] if "weight_average" in meta else [meta["training"]]
    assert all(rec["steps"] > 0 for rec in parents)
    assert lm.device == "cpu"


def test_inference_is_deterministic_on_cpu(random_model_file):
    from desghost.simulate.training import render_training_image
    img = render_training_image(np.random.default_rng(3)).image
    lm = load_model(random_model_file, device="cpu")
    a = detect_images([img], lm, threshold=0.0)[0]
    b = detect_images([img, img], lm, threshold=0.0, batch_size=2)
    assert len(a) == len(b[0]) == len(b[1])
    for x, y in zip(a, b[1]):
        assert x.class_id == y.class_id and abs(x.score - y.score) < 1e-4 and np.array_equal(x.mask, y.mask)


@pytest.mark.e2e
def test_detect_json_output(random_model_file, tmp_path):
    from PIL import Image

    from desghost.simulate.training import render_training_image
    img = render_training_image(np.random.default_rng(4)).image
    Image.fromarray(img).save(tmp_path / "x.png")
    np.save(tmp_path / "x.npy", img)
    out = subprocess.run([sys.executable, "-m", "desghost", "detect", str(tmp_path / "x.png"),
                          str(tmp_path / "x.npy"), "--model", random_model_file, "--threshold", "0.0", "--json"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    recs = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["file"] for r in recs] == [str(tmp_path / "x.png"), str(tmp_path / "x.npy")]
    assert recs[0]["instances"] == recs[1]["instances"]
    from pycocotools import mask as mask_utils

    from desghost.focalplane.ccd_map import ccd_map
    from desghost.layout import load_layout
    index = ccd_map(load_layout())[0]
    assert recs[0]["instances"], "an untrained model at threshold 0 still returns proposals"
    for inst in recs[0]["instances"]:
        assert set(inst) == {"class", "class_id", "score", "bbox", "area_px", "mask", "ccdnums"}
        m = mask_utils.decode({"size": inst["mask"]["size"], "counts": inst["mask"]["counts"].encode()}).astype(bool)
        assert m.sum() == inst["area_px"]
        assert inst["ccdnums"] == sorted(set(np.unique(index[m & (index > 0)]).tolist()))
        assert set(inst["ccdnums"]) <= set(recs[0]["ccdnums"])
    assert recs[0]["tta_views"] == 1 and recs[0]["threshold"] == 0.0
    (tmp_path / "cfg.json").write_text(json.dumps({"detections_per_img": 10}))
    out = subprocess.run([sys.executable, "-m", "desghost", "detect", str(tmp_path / "x.npy"), "--model",
                          random_model_file, "--threshold", "0.0", "--json", "--tta-views", "2",
                          "--config", str(tmp_path / "cfg.json")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    rec = json.loads(out.stdout)
    assert rec["tta_views"] == 2 and 0 < len(rec["instances"]) <= 20


@pytest.mark.e2e
def test_detect_on_an_exposure_assembles_it_first(random_model_file, raw_exposure):
    out = subprocess.run([sys.executable, "-m", "desghost", "detect", raw_exposure[0], "--model",
                          random_model_file, "--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    rec = json.loads(out.stdout)
    assert rec["expnum"] == 700001 and rec["flavor"] == "raw"


@pytest.mark.slow
def test_a_tiny_training_run_lowers_the_loss_and_resumes(tmp_path):
    # prefetch=False: the spawned renderer is tested in test_prefetch.py; here it would only add start-up time
    cfg = TrainConfig(steps=8, batch_size=2, warmup_steps=2, checkpoint_every=4, log_every=4, val_every=1000,
                      prefetch=False)
    out = train(tmp_path / "run", train_cfg=cfg, log=lambda t: None)
    rows = list(csv.DictReader(open(tmp_path / "run" / "log.csv")))
    losses = [float(r["loss"]) for r in rows]
    assert len(losses) == 8
    assert np.mean(losses[-3:]) < 0.6 * np.mean(losses[:2])
    assert read_model_metadata(out)["training"]["steps"] == 8
    ckpt = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert int(ckpt["step"]) == 8
    assert "torch_rng" in ckpt and json.loads(ckpt["train_config"])["real_images_trained"] == []
    with pytest.raises(FileExistsError, match="--resume"):  # a forgotten --resume must not wipe the run
        train(tmp_path / "run", train_cfg=cfg, log=lambda t: None)
    with pytest.raises(ValueError, match="seed: checkpoint 0, now 5"):
        train(tmp_path / "run", train_cfg=TrainConfig(steps=10, batch_size=2, warmup_steps=2, seed=5),
              resume=True, log=lambda t: None)
    with open(tmp_path / "run" / "log.csv", "a") as fh:  # rows logged after the checkpoint, then a crash
        fh.write("9,0.5,0,0,0,0,0,1e-4,1.0\n")
    more = TrainConfig(steps=10, batch_size=2, warmup_steps=2, checkpoint_every=4, log_every=4, val_every=1000,
                       precision="bf16" if NATIVE_BF16 else "fp32", prefetch=False)  # precision may change on resume
    train(tmp_path / "run", train_cfg=more, resume=True, log=lambda t: None)
    rows = list(csv.DictReader(open(tmp_path / "run" / "log.csv")))
    assert [int(r["step"]) for r in rows] == list(range(1, 11))


def test_a_gpu_trainer_takes_few_cpu_threads_unless_told_and_a_cpu_trainer_keeps_all_cores():
    # on a GPU, all the cores' threads starve the render workers (session27_gpu.md)
    assert trainer_threads(0, "cuda") == trainer_threads(0, "cuda:1") == GPU_TRAINER_THREADS == 2
    assert trainer_threads(0, "cpu") is None
    assert trainer_threads(5, "cuda") == 5 and trainer_threads(3, "cpu") == 3


def test_weighted_loss_scales_the_named_terms_only():
    losses = {"loss_classifier": torch.tensor(1.0), "loss_mask": torch.tensor(0.5, dtype=torch.bfloat16),
              "loss_objectness": torch.tensor(0.25)}
    assert weighted_loss(losses, {}).item() == pytest.approx(1.75)
    total = weighted_loss(losses, {"mask": 3.0, "objectness": 0.0})
    assert total.dtype == torch.float32 and total.item() == pytest.approx(2.5)


@pytest.mark.slow
def test_loss_weights_reach_the_training_loss_and_are_checked(tmp_path):
    cfg = TrainConfig(steps=2, batch_size=2, warmup_steps=1, checkpoint_every=2, log_every=1, val_every=1000,
                      loss_weights={"mask": 3.0}, prefetch=False)
    out = train(tmp_path / "run", train_cfg=cfg, log=lambda t: None)
    for r in csv.DictReader(open(tmp_path / "run" / "log.csv")):
        parts = {k: float(r["loss_" + k]) for k in ("classifier", "box_reg", "mask", "objectness", "rpn_box_reg")}
        assert float(r["loss"]) == pytest.approx(sum(parts.values()) + 2 * parts["mask"], abs=2e-3)
    assert read_model_metadata(out)["training"]["train_config"]["loss_weights"] == {"mask": 3.0}
    with pytest.raises(ValueError, match="loss_weights: checkpoint"):  # resuming may not change the loss
        train(tmp_path / "run", train_cfg=TrainConfig(steps=3, batch_size=2, warmup_steps=1), resume=True,
              log=lambda t: None)
    with pytest.raises(ValueError, match="loss weight 'masks'"):
        train(tmp_path / "other", train_cfg=TrainConfig(steps=1, loss_weights={"masks": 2.0}), log=lambda t: None)
    assert not (tmp_path / "other").exists()
    bad = subprocess.run([sys.executable, "-m", "desghost", "train", str(tmp_path / "cli"), "--steps", "1",
                          "--loss-weight", "mask:2"], capture_output=True, text=True)
    assert bad.returncode != 0 and "--loss-weight 'mask:2'" in bad.stderr and "Traceback" not in bad.stderr


def test_a_higher_mask_threshold_gives_tighter_masks(random_model_file):
    image = np.random.default_rng(3).integers(0, 255, (400, 400), dtype=np.uint8)
    loose, tight = (detect_images([image], load_model(random_model_file, device="cpu",
                                                      overrides={"mask_threshold": mt}), threshold=0.0)[0]
                    for mt in (0.3, 0.7))
    assert len(loose) == len(tight) > 0
    for a, b in zip(loose, tight):
        assert a.score == b.score and not np.any(b.mask & ~a.mask)
    assert sum(b.area_px for b in tight) < sum(a.area_px for a in loose)


def test_unknown_precisions_are_rejected_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="precision 'fp8'"):
        train(tmp_path / "other", train_cfg=TrainConfig(steps=1, precision="fp8"), log=lambda t: None)
    assert not (tmp_path / "other").exists()


@pytest.mark.slow
@needs_native_bf16
def test_bfloat16_training_lowers_the_loss(tmp_path):
    cfg = TrainConfig(steps=8, batch_size=2, warmup_steps=2, checkpoint_every=4, log_every=4, val_every=1000,
                      precision="bf16")
    out = train(tmp_path / "run", train_cfg=cfg, log=lambda t: None)
    losses = [float(r["loss"]) for r in csv.DictReader(open(tmp_path / "run" / "log.csv"))]
    assert len(losses) == 8 and np.all(np.isfinite(losses))
    assert np.mean(losses[-3:]) < 0.6 * np.mean(losses[:2])
    meta = read_model_metadata(out)
    assert meta["training"]["train_config"]["precision"] == "bf16"
    weights = load_model(out, device="cpu").model.state_dict()
    assert all(v.dtype == torch.float32 for v in weights.values() if v.is_floating_point())


def test_weight_average_is_the_weighted_mean_and_rejects_other_architectures(random_model_file, tmp_path):
    torch.manual_seed(1)
    cfg = ModelConfig()
    other = tmp_path / "other.safetensors"
    save_model(other, build_model(cfg), cfg, {"note": "second"})
    soup = tmp_path / "soup.safetensors"
    write_weight_average([random_model_file, other], soup, weights=[3, 1])
    a, b, s = (load_model(p, device="cpu").model.state_dict() for p in (random_model_file, other, soup))
    name = next(k for k, v in a.items() if v.is_floating_point() and v.numel() > 100 and not torch.equal(v, b[k]))
    expected = 0.75 * a[name] + 0.25 * b[name]
    assert torch.allclose(s[name], expected, atol=2e-3 * float(expected.abs().max()))  # float16 storage
    assert not torch.allclose(s[name], a[name])
    meta = read_model_metadata(soup)
    assert meta["weight_average"]["weights"] == [0.75, 0.25] and len(meta["weight_average"]["models"]) == 2
    assert meta["training"]["weight_average_of"] == [Path(random_model_file).name, "other.safetensors"]
    small = ModelConfig(backbone="resnet18_fpn")
    resnet = tmp_path / "resnet.safetensors"
    save_model(resnet, build_model(small), small)
    with pytest.raises(ValueError, match="resnet.safetensors: architecture differs"):
        write_weight_average([random_model_file, resnet], tmp_path / "bad.safetensors")
    assert not (tmp_path / "bad.safetensors").exists()
    with pytest.raises(ValueError, match="one non-negative weight per model file"):
        write_weight_average([random_model_file, other], tmp_path / "bad.safetensors", weights=[1])


def _disc(shape, row, col, radius):
    rr, cc = np.mgrid[0:shape[0], 0:shape[1]]
    return (rr - row) ** 2 + (cc - col) ** 2 <= radius ** 2


def test_medoid_annotator_is_the_one_who_agrees_most_and_the_pool_always_serves_it():
    from desghost.training.dataset import RealPool, medoid_annotator
    shape = (40, 40)
    typical = (np.stack([_disc(shape, 20, 20, 8)]), np.array([2]))
    close = (np.stack([_disc(shape, 20, 21, 8)]), np.array([2]))
    odd = (np.stack([_disc(shape, 5, 5, 4)]), np.array([1]))       # other place, other class
    assert medoid_annotator([odd, close, typical]) in (1, 2)
    assert medoid_annotator([odd, typical, close, typical]) == 1   # two identical: highest mean
    assert medoid_annotator([typical]) == 0
    image = np.full(shape, 100, np.uint8)
    samples = {"a.jpg": {"image": image, "annotations": [odd, typical, close, typical]}}
    pool = RealPool(samples, targets="medoid")
    rng = np.random.default_rng(0)
    for _ in range(6):  # flips and rotations keep the mask area and the labels
        _, masks, labels = pool.draw(rng)
        assert list(labels) == [2] and masks.sum() == typical[0].sum()
    drawn = {int(pool_labels[0]) for _, _, pool_labels in (RealPool(samples).draw(rng) for _ in range(40))}
    assert drawn == {1, 2}  # the random pool serves the odd annotator too
    with pytest.raises(ValueError, match="real targets"):
        RealPool(samples, targets="consensus")


@pytest.mark.slow
def test_warmup_reaches_the_learning_rate_and_config_changes_an_init_model(tmp_path):
    run = tmp_path / "cli"
    done = subprocess.run([sys.executable, "-m", "desghost", "train", str(run), "--steps", "1", "--batch-size", "1",
                           "--warmup-steps", "4", "--val-images", "0", "--no-prefetch", "-q"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    (row,) = csv.DictReader(open(run / "log.csv"))
    assert float(row["lr"]) == pytest.approx(4e-4 / 4)  # the first of 4 warm-up steps (default 100: 4e-6)
    assert read_model_metadata(run / "model.safetensors")["training"]["train_config"]["warmup_steps"] == 4
    # continuing from that model: --config changes the file's configuration, a different --backbone is refused
    (tmp_path / "size.json").write_text('{"image_size_px": 320}')
    init = ["--init-model", str(run / "model.safetensors"), "--steps", "1", "--batch-size", "1",
            "--val-images", "0", "--no-prefetch", "-q"]
    done = subprocess.run([sys.executable, "-m", "desghost", "train", str(tmp_path / "next"), *init,
                           "--config", str(tmp_path / "size.json")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    config = read_model_metadata(tmp_path / "next" / "model.safetensors")["config"]
    assert config["image_size_px"] == 320 and config["backbone"] == "mobilenet_v3_large_fpn"
    refused = subprocess.run([sys.executable, "-m", "desghost", "train", str(tmp_path / "other"), *init,
                              "--backbone", "resnet18_fpn"], capture_output=True, text=True)
    assert refused.returncode != 0 and "--init-model" in refused.stderr and "mobilenet_v3_large_fpn" in refused.stderr


@pytest.mark.slow
def test_a_run_resumes_from_a_slim_checkpoint_at_its_step(tmp_path):
    import shutil

    import torch

    from desghost.training.train import slim_checkpoint

    run = tmp_path / "run"
    base = [sys.executable, "-m", "desghost", "train", str(run), "--batch-size", "1", "--warmup-steps", "1",
            "--val-images", "0", "--val-every", "0", "--no-prefetch", "-q"]
    assert subprocess.run([*base, "--steps", "2"], capture_output=True, text=True).returncode == 0
    full = run / "checkpoint.pt"
    assert slim_checkpoint(full, tmp_path / "slim.pt") == 2
    slim = torch.load(tmp_path / "slim.pt", weights_only=True)
    assert "optimizer" not in slim and {v.dtype for v in slim["model"].values() if v.is_floating_point()} == {torch.float16}
    assert (tmp_path / "slim.pt").stat().st_size < full.stat().st_size / 2
    shutil.copy(tmp_path / "slim.pt", full)
    done = subprocess.run([*base, "--steps", "4", "--resume", "--keep-checkpoint-at", "3"], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert [int(r["step"]) for r in csv.DictReader(open(run / "log.csv"))] == [1, 2, 3, 4]
    assert int(torch.load(full, weights_only=True)["step"]) == 4
    # the kept mid-schedule checkpoint: a copy of the run holding it exports step 3's model without training
    kept = torch.load(run / "checkpoint_step3.pt", weights_only=True)
    assert int(kept["step"]) == 3
    copy = tmp_path / "at3"
    copy.mkdir()
    shutil.copy(run / "checkpoint_step3.pt", copy / "checkpoint.pt")
    shutil.copy(run / "log.csv", copy / "log.csv")
    done = subprocess.run([sys.executable, "-m", "desghost", "train", str(copy), *base[5:], "--steps", "3",
                           "--resume"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (copy / "model.safetensors").exists()
    assert [int(r["step"]) for r in csv.DictReader(open(copy / "log.csv"))] == [1, 2, 3]


@pytest.mark.slow
def test_a_sigterm_to_the_whole_process_group_checkpoints_a_prefetching_run(tmp_path):
    import os
    import signal

    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "desghost", "train", str(run), "--batch-size", "1",
                             "--warmup-steps", "1", "--val-images", "0", "--val-every", "0", "--steps", "500",
                             "--checkpoint-every", "0", "--log-every", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    for line in proc.stdout:                         # a step trained on a batch the worker rendered
        if line.startswith("step 1/"):
            break
    os.killpg(proc.pid, signal.SIGTERM)              # as `kill -- -PGID` or a batch system's job cancel
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 0, out
    assert "saving a checkpoint" in out and "internal error" not in out
    assert 1 <= int(torch.load(run / "checkpoint.pt", weights_only=True)["step"]) < 500
