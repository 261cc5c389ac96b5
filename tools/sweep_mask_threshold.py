"""Score a model on synthetic validation images at several mask binarisation thresholds.

Mask R-CNN predicts a soft mask per instance; ``mask_threshold`` (model config, default 0.5)
turns it into the pixels the products use.  A higher value gives tighter outlines.  For each
mask threshold the detector runs once at a low score threshold, and the synthetic AP@0.5
(paper way) and CCD-level F1 (0%, all classes) are printed at each score threshold.  The
images come from the validation seed, never the reported synthetic test set.

    python tools/sweep_mask_threshold.py desghost/models/desghost_default.safetensors \
        --synthetic 40 --mask-thresholds 0.4 0.5 0.6 0.7 --score-thresholds 0.2 0.4 0.6 0.8
"""
import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # research/ lives beside tools/, not installed

from desghost.detection.model import load_model  # noqa: E402
from desghost.evaluation.evaluate import VALIDATION_SEED, predict, synthetic_test_set  # noqa: E402
from research.diagnostics import threshold_scan  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="model file (.safetensors); its test-time views are used")
    ap.add_argument("--synthetic", type=int, default=40, help="synthetic validation images")
    ap.add_argument("--seed", type=int, default=VALIDATION_SEED, help="synthetic seed (not the test set's)")
    ap.add_argument("--mask-thresholds", type=float, nargs="+", default=[0.4, 0.5, 0.6, 0.7])
    ap.add_argument("--score-thresholds", type=float, nargs="+", default=[0.2, 0.4, 0.6, 0.8])
    args = ap.parse_args()
    images, gts = synthetic_test_set(args.synthetic, seed=args.seed)
    for mask_threshold in args.mask_thresholds:
        model = load_model(args.model, device="cpu", overrides={"mask_threshold": mask_threshold})
        t0 = time.perf_counter()
        preds, _ = predict(images, model, threshold=min(args.score_thresholds))
        for row in threshold_scan(preds, gts, args.score_thresholds):
            print(json.dumps({"mask_threshold": mask_threshold, **{k: round(v, 3) for k, v in row.items()}}))
        print(f"mask threshold {mask_threshold}: {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
