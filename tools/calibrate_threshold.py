"""Choose a model's score threshold on held-out synthetic images and write it into the model file.

The threshold maximising CCD-level F1 (any pixel, all classes) on a synthetic validation set
(never the real evaluation images) becomes the model's ``score_threshold``.

    python tools/calibrate_threshold.py MODEL.safetensors [--n 60] [--write OUT.safetensors]
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # research/ lives beside tools/, not installed

from desghost.detection.model import load_model  # noqa: E402
from desghost.evaluation.evaluate import VALIDATION_SEED, predict, synthetic_test_set  # noqa: E402
from research.diagnostics import threshold_scan  # noqa: E402
from research.model_files import write_calibrated_copy  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--seed", type=int, default=VALIDATION_SEED)  # not the reported synthetic test set's seed
    ap.add_argument("--write", help="write a copy of the model with the chosen threshold")
    args = ap.parse_args()
    lm = load_model(args.model, device="cpu")
    images, gts = synthetic_test_set(args.n, seed=args.seed)
    preds, _ = predict(images, lm, threshold=0.2)
    scan = threshold_scan(preds, gts, thresholds=tuple(np.round(np.arange(0.2, 0.96, 0.05), 2)))
    for row in scan:
        print(json.dumps({k: round(v, 3) for k, v in row.items()}))
    best = max(scan, key=lambda r: (np.nan_to_num(r["ccd_f1"]), r["threshold"]))
    print(f"best threshold {best['threshold']} (CCD F1 {best['ccd_f1']:.3f})")
    if args.write:
        write_calibrated_copy(args.model, args.write, {"score_threshold": float(best["threshold"])}, {
            "score_threshold": {"value": best["threshold"], "criterion": "max CCD-level F1 (0%, all classes)",
                                "synthetic_images": args.n, "seed": args.seed, "scan": scan}})
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
