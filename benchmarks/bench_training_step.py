"""Training speed: batches rendered one step ahead in a worker process against rendered in place.

Runs the same short training twice from the shipped model (same seed, so the same batches and
the same losses), once with ``prefetch=True`` (the default of ``desghost train``) and once
with ``--no-prefetch``, and prints seconds per step, their ratio, and whether the logged losses
agree.  The first steps of each run are left out of the mean (start-up, the worker's first batch).

    python benchmarks/bench_training_step.py                 # 24 steps each, batch 4, bf16
    python benchmarks/bench_training_step.py --steps 40 --precision fp32
"""
import argparse
import csv
import tempfile
import time
from pathlib import Path

import numpy as np

from desghost.detection.model import default_model_path
from desghost.training.train import TrainConfig, train


def run(run_dir, steps, precision, prefetch, skip):
    cfg = TrainConfig(steps=steps, batch_size=4, lr=1e-4, seed=1, warmup_steps=5, checkpoint_every=10 ** 6,
                      log_every=10 ** 6, val_every=10 ** 6, clean_fraction=0.3, precision=precision,
                      prefetch=prefetch)
    t0 = time.perf_counter()
    train(run_dir, train_cfg=cfg, init_model=str(default_model_path()), log=lambda t: None)
    wall = time.perf_counter() - t0
    with open(Path(run_dir) / "log.csv") as fh:
        rows = list(csv.DictReader(fh))
    per_step = np.array([float(r["sec_per_step"]) for r in rows])
    return {"sec_per_step": float(per_step[skip:].mean()), "wall_s": wall, "losses": [r["loss"] for r in rows]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=24)
    ap.add_argument("--skip", type=int, default=4, help="first steps left out of the mean")
    ap.add_argument("--precision", default="bf16", choices=("fp32", "bf16"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        found = {}
        for prefetch in (False, True):
            found[prefetch] = run(Path(tmp) / f"prefetch_{prefetch}", args.steps, args.precision, prefetch, args.skip)
    naive, ours = found[False], found[True]
    print(f"{args.steps} steps of 4 images ({args.precision}), mean over steps {args.skip + 1}-{args.steps}")
    print(f"  rendered in place (--no-prefetch):   {naive['sec_per_step']:.2f} s/step  (wall {naive['wall_s']:.0f} s)")
    print(f"  rendered one step ahead (prefetch): {ours['sec_per_step']:.2f} s/step  (wall {ours['wall_s']:.0f} s)")
    print(f"  speed-up: {naive['sec_per_step'] / ours['sec_per_step']:.2f}x per step, "
          f"{naive['wall_s'] / ours['wall_s']:.2f}x wall")
    same = naive["losses"] == ours["losses"]
    print(f"  logged losses identical: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
