"""Backbones side by side on this machine: detection time per image, training time per step, size.

For MobileNetV3-Large-FPN (the shipped recipe) and EfficientNet-Lite-FPN (random or ImageNet
initialised): parameters, CPU seconds per 400 px image of ``detect`` (one view, median of
``--images``), and seconds per training step (batch 4, fp32, synthetic batches rendered in
place, the first ``--skip`` steps left out).  Ratios are against MobileNetV3.  The issue's bound:
CPU detection at most 1 s per image on 2 cores.

    python benchmarks/bench_backbones.py                       # lite0 against mobilenet
    python benchmarks/bench_backbones.py --backbones mobilenet_v3_large_fpn efficientnet_lite2_fpn --steps 12
"""
import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desghost.detection.detect import detect_images  # noqa: E402
from desghost.detection.model import LoadedModel, ModelConfig, build_model  # noqa: E402
from desghost.training.train import TrainConfig, train  # noqa: E402


def detect_seconds(cfg, n_images):
    """Median seconds per image of the backbone+FPN alone and of the whole ``detect`` call.

    Untrained heads propose up to 100 low-score instances, so the whole call overstates a
    trained model's time; the backbone time is what the backbones differ in.
    """
    import torch

    model = build_model(cfg).eval()
    loaded = LoadedModel(model=model, config=cfg, path="bench", device="cpu")
    image = np.random.default_rng(0).normal(55, 13, (400, 400)).clip(0, 255).astype(np.uint8)
    x = torch.randn(1, 3, 400, 400)
    detect_images([image], loaded, threshold=0.5)  # warm-up
    backbone, whole = [], []
    with torch.no_grad():
        for _ in range(n_images):
            t0 = time.perf_counter()
            model.backbone(x)
            backbone.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            detect_images([image], loaded, threshold=0.5)
            whole.append(time.perf_counter() - t0)
    return float(np.median(backbone)), float(np.median(whole)), sum(p.numel() for p in model.parameters())


def step_seconds(cfg, steps, skip, imagenet):
    with tempfile.TemporaryDirectory() as run_dir:
        tc = TrainConfig(steps=steps, batch_size=4, lr=1e-4, seed=1, warmup_steps=2, checkpoint_every=10 ** 6,
                         log_every=10 ** 6, val_every=10 ** 6, prefetch=False, imagenet_backbone=imagenet)
        train(run_dir, cfg, tc, log=lambda t: None)
        with open(Path(run_dir) / "log.csv") as fh:
            rows = list(csv.DictReader(fh))
    secs = [float(r["sec_per_step"]) for r in rows][skip:]
    return float(np.mean(secs)) if secs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backbones", nargs="+", default=["mobilenet_v3_large_fpn", "efficientnet_lite0_fpn"],
                    help="backbones to compare (the first is the reference of the ratios)")
    ap.add_argument("--images", type=int, default=5, help="detection timings per backbone (median)")
    ap.add_argument("--steps", type=int, default=8, help="training steps per backbone")
    ap.add_argument("--skip", type=int, default=2, help="first training steps left out of the mean")
    args = ap.parse_args()
    rows = []
    for name in args.backbones:
        cfg = ModelConfig(backbone=name, tta_views=1)
        bb_s, det_s, n_params = detect_seconds(cfg, args.images)
        imagenet = name.startswith("efficientnet_lite")
        step_s = step_seconds(cfg, args.steps, args.skip, imagenet)
        rows.append((name + (" (ImageNet init)" if imagenet else ""), n_params, bb_s, det_s, step_s))
        print(f"  measured {rows[-1][0]}", file=sys.stderr, flush=True)
    ref = rows[0]
    print(f"{'backbone':<40} {'params (M)':>10} {'backbone s/img':>15} {'x ref':>6} {'detect s/img':>13} "
          f"{'train s/step':>13} {'x ref':>6}")
    for name, n_params, bb_s, det_s, step_s in rows:
        print(f"{name:<40} {n_params / 1e6:>10.1f} {bb_s:>15.3f} {bb_s / ref[2]:>6.2f} {det_s:>13.2f} "
              f"{step_s:>13.2f} {step_s / ref[4]:>6.2f}")
    print("detect s/img: the whole call with untrained heads (up to 100 proposals kept), an upper bound")
    print("bound: detection at most 1 s per image on 2 CPU cores (issue 22)")


if __name__ == "__main__":
    main()
