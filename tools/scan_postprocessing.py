"""Choose a model's score threshold, test-time augmentation and overlap suppression.

Runs the detector once per number of test-time views (``--tta``) at a low threshold on a set
of real calibration images and on a synthetic validation set (a seed other than the reported
test set's), then scores every (views, threshold, overlap IoU) combination.  The choice
maximises the CCD-level F1 (0%, all classes, mean over annotators) on the real calibration
images, ties broken by AP@0.5 (to 0.01), then by fewer views, then by no suppression.

The calibration images are either the images the model was trained on (the first
``--real-train`` sorted by name; scores there are inflated by training) or, with
``--calibration-images N``, the N images after them, which were not trained on.  Report
held-out numbers only on the images after those (``bench_detector.py --held-out-after
real_train+N``); the images used here are never reported.

    python tools/scan_postprocessing.py MODEL.safetensors --calibration-images 5 --tta 1 2 4 \
        [--write OUT.safetensors]
"""
import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # research/ lives beside tools/, not installed

from desghost.detection.detect import detect_images  # noqa: E402
from desghost.detection.model import load_model  # noqa: E402
from desghost.evaluation.evaluate import VALIDATION_SEED, score_predictions, synthetic_test_set  # noqa: E402
from research.model_files import write_calibrated_copy  # noqa: E402
from research.operating_point import THRESHOLDS, choose, cut, scan  # noqa: E402

DATA = Path(os.environ.get("DESGHOST_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))


def main():
    from desghost.focalplane.annotated_set import load_via_images, real_split

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--real-train", type=int, default=10, help="images the model was trained on (first N)")
    ap.add_argument("--calibration-images", type=int, default=0, metavar="N",
                    help="calibrate on the N images after the training ones (0: on the training images)")
    ap.add_argument("--tta", type=int, nargs="+", default=[1], help="numbers of test-time views to try (1 2 4)")
    ap.add_argument("--overlaps", type=float, nargs="+", default=[0.0], help="overlap IoUs to try (0: off)")
    ap.add_argument("--synthetic", type=int, default=40)
    ap.add_argument("--seed", type=int, default=VALIDATION_SEED)  # not the reported synthetic test set's seed
    ap.add_argument("--write", help="write a copy of the model with the chosen settings")
    args = ap.parse_args()
    folder = DATA / "dgb" / "real"
    ann = sorted(str(p) for p in (folder / "annotations").glob("common_core_*.json"))
    data = load_via_images(folder / "images", ann)
    trained, held_out = real_split(data, args.real_train)
    if args.calibration_images:
        calib_names = held_out[:args.calibration_images]
        role = f"real images {args.real_train + 1}-{args.real_train + args.calibration_images} (not trained on)"
    else:
        calib_names = trained
        role = f"the {args.real_train} real training images"
    print(f"calibrating on {role}: {calib_names}", flush=True)
    images = [data[n]["image"] for n in calib_names]
    per_annotator = [[data[n]["annotations"][k] for n in calib_names] for k in range(len(ann))]
    syn_images, syn_gts = synthetic_test_set(args.synthetic, seed=args.seed)
    found_real, found_syn = {}, {}
    for views in args.tta:
        lm = load_model(args.model, device="cpu", overrides={"overlap_iou": 0.0, "tta_views": views})
        found_real[views] = detect_images(images, lm, threshold=min(THRESHOLDS))
        found_syn[views] = detect_images(syn_images, lm, threshold=min(THRESHOLDS))
    rows = scan(found_real, per_annotator, overlaps=args.overlaps)
    for row in rows:  # the synthetic validation set, for the record (not used for the choice)
        syn = score_predictions(syn_gts, cut(found_syn[row["tta_views"]], row["threshold"], row["overlap_iou"]))
        row.update(syn_ccd_f1=syn["ccd"]["all"]["0%"]["f1"], syn_AP50=syn["paper_ap"]["AP50"])
        print(json.dumps({k: round(v, 3) for k, v in row.items()}), flush=True)
    best = choose(rows)
    print(f"chosen: {best['tta_views']} view(s), threshold {best['threshold']}, overlap IoU {best['overlap_iou']} "
          f"(CCD F1 {best['ccd_f1']:.3f}, AP50 {best['AP50']:.3f} on {role})")
    if args.write:
        settings = {"score_threshold": float(best["threshold"]), "overlap_iou": float(best["overlap_iou"]),
                    "tta_views": int(best["tta_views"])}
        write_calibrated_copy(args.model, args.write, settings, {"postprocessing": dict(settings, **{
            "criterion": f"max CCD-level F1 (0%, all classes, mean over annotators) on {role}",
            "calibration_images": calib_names, "synthetic_images": args.synthetic, "seed": args.seed,
            "scan": rows})})
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
