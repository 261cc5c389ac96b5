"""Detector quality and speed against the issue's bars and the paper's numbers, in one run.

    python benchmarks/bench_detector.py [--cv SOURCE ...] [--synthetic 100] [--model PATH]

Real images (the yardstick of issue 22): the 30 annotated images in the fixed folds of
``research/real_image_folds.json``.  Each ``--cv`` source is scored fold by fold
(``research/cross_validation.py``): a recipe folder holds one model per fold, fine-tuned from a
synthetic-only base without that fold's images, and each scores only its own fold (by default
the shipped model's recipe, ``research/models/lite0_ft150``); a single model file (for example an
earlier shipped model, see ``docs/models.md``) scores every fold, leaving out the images its
training records list.  Test-time views are fixed in advance (``--cv-views``); the score threshold is
either chosen inside each fold's training images (``--cv-threshold train``, the default: the best
CCD F1 on the out-of-fold detections of the other folds' images,
``research.cross_validation.in_training_thresholds``) or fixed in advance (a number); it is never
chosen on the scored images.  ``--cv-input-px`` scores the detection input at other sizes.  Printed per source: CCD-level F1 at 0%, all
classes, mean over the eight annotators, with a bootstrap interval over images, precision and
recall, Rays+Bright F1, AP@0.5 the paper's way and COCO's, per class, and class-agnostic; then
the same with the family-completion step on; and, when the sources were scored on different
images, the same on the images all were scored on.  ``--clean`` artifact-free synthetic exposures
give the exposure-level false-alarm share (bar: at most 5%).

On the synthetic test set (``--synthetic`` images, 0 skips it) it also prints CCD precision and
recall, the figures at the threshold that gives the best CCD F1 on synthetic validation images
(another seed, never the test images), the completeness (share of true instances found at mask
IoU >= 0.5) by class and by the step across each instance's edge
(``research.imagestats.edge_steps``, noise units), and the reason each missed instance was
missed (``research.diagnostics.miss_reasons``).  These are diagnostics, not done-criteria.

Bars (issue 35): on real images, cross-validated CCD-level F1 >= 0.84 with recall >= 0.80, next
to the paper's 0.750 and the human agreement measured the same way; AP@0.5 (paper way) >= 0.42
(the paper: 0.456); Rays+Bright F1 >= 0.70; at most 5% of clean exposures with an excluded CCD;
CPU detection <= 1 s per focal-plane image.  Each real row also counts the excluded CCDs that no
annotator marks.
"""
import argparse
import itertools
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # research/ lives beside tools/, not installed

from desghost.detection.detect import detect_images  # noqa: E402
from desghost.detection.families import drop_lone_discs  # noqa: E402
from desghost.detection.model import default_model_path, load_model, read_model_metadata  # noqa: E402
from desghost.evaluation.evaluate import (  # noqa: E402
    VALIDATION_SEED,
    as_predictions,
    evaluate_against_annotators,
    predict,
    score_predictions,
    synthetic_test_set,
)
from desghost.focalplane.ccd_map import ccd_map  # noqa: E402
from desghost.layout import load_layout  # noqa: E402
from research.cross_validation import (  # noqa: E402
    THRESHOLD_GRID,
    cross_validated_detections,
    fold_model_paths,
    in_training_thresholds,
    scoring_plan,
    unmarked_ccds,
)
from research.diagnostics import (  # noqa: E402
    EDGE_STEP_BINS,
    MISS_REASONS,
    RAYS_WIDTH_BINS_PX,
    ccd_coverage_by_value,
    completeness_by_edge_step,
    cut_predictions,
    instance_widths_px,
    miss_reasons,
    threshold_scan,
)
from research.folds import load_folds  # noqa: E402
from research.imagestats import edge_steps  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
#: The model shipped before the cross-validated recipe (sessions 12-16), kept for comparison.
SYNTHETIC_THRESHOLDS = (0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
DATA = Path(os.environ.get("DESGHOST_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))


def row(name, value, bar, ok):
    mark = "" if ok is None else ("PASS" if ok else "below")
    print(f"  {name:<46}{value:>9}{bar:>14}  {mark}")


def per_class_ap50(coco):
    """COCO AP@0.5 of Bright, Faint and Rays as 'b/f/r' (nan where a class has no truth)."""
    return "/".join(f"{coco['per_class'][c]['AP50']:.2f}" for c in (1, 2, 3))


def report_real(title, res):
    """Print the real-image rows of one evaluation (model = mean over annotators)."""
    m, h = res["model_mean"], res["human_mean"] or {}  # no human rows: one annotator, or with_humans=False
    f1 = m["ccd"]["all"]["0%"]["f1"]
    print(f"\n{title}")
    row("CCD-level F1 (0%, all classes)", f"{f1:.3f}", ">= 0.84", f1 >= 0.84)
    row("  the paper's figure", "", "0.750", None)
    ci = res["model_ccd_f1_interval"]
    row(f"  {ci['level']:.0%} interval over images (bootstrap)", f"{ci['low']:.2f}-{ci['high']:.2f}", "", None)
    if h:
        row("  human agreement, same metric", f"{h['ccd']['all']['0%']['f1']:.3f}", "(ceiling)", None)
    row("CCD precision / recall", f"{m['ccd']['all']['0%']['precision']:.2f}/{m['ccd']['all']['0%']['recall']:.2f}",
        "paper 0.687/0.825", None)
    recall = m["ccd"]["all"]["0%"]["recall"]
    row("CCD recall", f"{recall:.3f}", ">= 0.80", recall >= 0.80)
    rays_bright, ap50 = m["ccd"]["rays+bright"]["0%"]["f1"], m["paper_ap"]["AP50"]
    row("CCD-level F1 Rays+Bright (paper 0.725)", f"{rays_bright:.3f}", ">= 0.70", rays_bright >= 0.70)
    row("AP@0.5 (paper way; paper 0.456)", f"{ap50:.3f}", ">= 0.42", ap50 >= 0.42)
    if h:
        row("  human, same metric", f"{h['paper_ap']['AP50']:.3f}", "", None)
    row("AP@0.75 (paper way)", f"{m['paper_ap']['AP75']:.3f}", "paper 0.142", None)
    row("AP@0.5 (COCO segm)", f"{m['coco']['AP50']:.3f}", "", None)
    row("  per class Bright/Faint/Rays", per_class_ap50(m["coco"]), "", None)


def report_completeness(images, gts, preds_low, threshold, low_threshold):
    """Print the share of synthetic instances found (IoU >= 0.5, own class) by class and edge step,
    and why the missed ones were missed (``desghost.evaluation.evaluate.miss_reasons``)."""
    preds = cut_predictions(preds_low, threshold)
    layout = load_layout()
    index = ccd_map(layout)[0]
    steps = [edge_steps(im, im != layout.fill_value, index, gm) for im, (gm, _) in zip(images, gts)]
    table = completeness_by_edge_step(gts, preds, steps)
    heads = [f"{lo:g}..{hi:g}" for lo, hi in zip(EDGE_STEP_BINS[:-1], EDGE_STEP_BINS[1:])]
    print("  completeness (found at IoU >= 0.5 / instances) by the step across the edge, noise units:")
    print(f"  {'':<10}" + "".join(f"{h:>14}" for h in heads))
    for c, name in ((1, "Bright"), (2, "Faint"), (3, "Rays")):
        cells = [f"{'-' if n == 0 else f'{frac:.2f}'} ({n})" for _, _, n, frac in table[c]]
        print(f"  {name:<10}" + "".join(f"{x:>14}" for x in cells))
    print(f"  why instances are missed (first reason that applies; 'below threshold': a right-class match "
          f"scored {low_threshold}-{threshold}):")
    print(f"  {'':<22}" + "".join(f"{h:>17}" for h in ("missed",) + MISS_REASONS))
    for min_step, label in ((-np.inf, "all"), (2.0, "edge step >= 2")):
        table = miss_reasons(gts, preds_low, threshold, steps, min_step=min_step)
        for c, name in ((1, "Bright"), (2, "Faint"), (3, "Rays")):
            r = table[c]
            cells = [f"{r['instances'] - r['found']}/{r['instances']}"] + [str(r[k]) for k in MISS_REASONS]
            print(f"  {name + ', ' + label:<22}" + "".join(f"{x:>17}" for x in cells))


def class_agnostic(preds, per_annotator):
    """Predictions and annotations with every class relabelled 1 (the 'all artifact types' curve)."""
    one = [(m, np.ones_like(lab), sc) for m, lab, sc in preds]
    return one, [[(m, np.ones_like(lab)) for m, lab in ann] for ann in per_annotator]


def cv_source_path(source):
    """The model file or recipe folder a ``--cv`` source is scored through.

    'default' is the shipped model's recipe folder when its calibration record names one (its
    fold models: the shipped model itself trained on every real image), else the shipped file.
    """
    if source != "default":
        return source
    recipe = read_model_metadata(default_model_path()).get("calibration", {}).get("cross_validation")
    return str(REPO / recipe) if recipe else default_model_path()


def parse_cv_thresholds(values):
    """``--cv-threshold`` values: 'train' (chosen inside each fold's training images) or numbers."""
    out = []
    for v in values:
        if v == "train":
            out.append(v)
            continue
        try:
            out.append(float(v))
        except ValueError:
            raise SystemExit(f"--cv-threshold: {v!r} is neither 'train' nor a number") from None
    return out


def report_cross_validated(folder, args):
    """Score each ``--cv`` source on the fixed folds of the real images (research/cross_validation.py)."""
    from desghost.detection.families import complete_families
    from desghost.evaluation.evaluate import load_annotated
    from desghost.mask_geometry import ccds_touched

    ann = sorted(str(p) for p in (folder / "annotations").glob("common_core_*.json"))
    names, images, per_annotator = load_annotated(folder / "images", ann)
    folds = load_folds()
    index = ccd_map(load_layout())[0]
    truth_sets = {n: [ccds_touched(a[i][0], index) for a in per_annotator] for i, n in enumerate(names)}
    modes = parse_cv_thresholds(args.cv_threshold)
    low = min([THRESHOLD_GRID[0]] + [m for m in modes if m != "train"])

    scored = {}
    for source in args.cv:
        path = cv_source_path(source)
        paths = fold_model_paths(path, len(folds))
        plan, left_out = scoring_plan(paths, folds, names)
        label = "recipe fold models" if Path(path).is_dir() else "one model for every fold"
        for size_px in args.cv_input_px:
            settings = {"score_threshold": low, "tta_views": args.cv_views, "family_completion": False,
                        "image_size_px": size_px}

            def load(p):
                return load_model(p, device=args.device, overrides=settings)

            found = cross_validated_detections(plan, paths, names, images, load, detect_images)
            for mode, (rule, after_cut) in itertools.product(modes, AFTER_CUT.items()):
                if mode == "train":
                    chosen = in_training_thresholds(plan, found, truth_sets, index, after_cut=after_cut)
                    per_fold = {k: chosen[k] for k, _ in plan}
                    how = (f"threshold chosen in each fold's training images "
                           f"({'/'.join(f'{t:g}' for t in per_fold.values())}; all {len(found)}: {chosen['all']:g})")
                else:
                    per_fold = {k: mode for k, _ in plan}
                    how = f"threshold {mode:g} fixed in advance"
                cut = {n: (after_cut or list)([i for i in found[n] if i.score >= per_fold[k]])
                       for k, fold in plan for n in fold}
                scored[(source, size_px, mode, rule)] = (cut, left_out, f"{label}, input {size_px} px, {how}{rule}")
    print(f"\nreal images, cross-validated on the {len(folds)} fixed folds (research/real_image_folds.json): each "
          f"fold's model scores only its own fold; {args.cv_views} view(s) fixed in advance; a threshold chosen "
          f"'in training' is the best CCD F1 of {THRESHOLD_GRID[0]:g}-{THRESHOLD_GRID[-1]:g} on the out-of-fold "
          f"detections of the fold's training images (docs/experiments/session17_cv.md); {len(ann)} annotators, "
          f"model = mean over annotators")
    common = sorted(set.intersection(*(set(f) for f, _, _ in scored.values())))
    subsets = [("", None)]
    if any(len(f) != len(common) for f, _, _ in scored.values()):
        subsets.append((f", on the {len(common)} images every model above was scored on", common))
    for suffix, subset in subsets:
        for (source, _, _, rule), (found, left_out, setting) in scored.items():
            keep = [i for i, n in enumerate(names) if n in found and (subset is None or n in set(subset))]
            truth = [[a[i] for i in keep] for a in per_annotator]
            for completion in (False, True) if not rule else (False,):
                dets = [found[names[i]] for i in keep]
                if completion:
                    dets = [complete_families(d) for d in dets]
                preds = as_predictions(dets)
                res = evaluate_against_annotators(preds, truth, with_humans=not completion)
                note = f"; {len(left_out)} images left out, trained on" if left_out and subset is None else ""
                report_real(f"{source} ({setting})"
                            f"{', family completion on' if completion else ''}: {len(keep)} images{note}{suffix}",
                            res)
                unmarked, excluded = unmarked_ccds(dets, [truth_sets[names[i]] for i in keep], index)
                row("excluded CCDs no annotator marks (false positives)", f"{unmarked}/{excluded}", "", None)
                if not completion:
                    agnostic = evaluate_against_annotators(*class_agnostic(preds, truth), with_humans=False,
                                                           with_interval=False)["model_mean"]
                    row("class-agnostic AP@0.5 paper way / COCO",
                        f"{agnostic['paper_ap']['AP50']:.3f}/{agnostic['coco']['AP50']:.3f}", "", None)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=default_model_path(),
                    help="model of the synthetic and speed rows (default: the shipped one)")
    ap.add_argument("--synthetic", type=int, default=100, help="synthetic test images; 0 skips those rows (default 100)")
    ap.add_argument("--synthetic-validation", type=int, default=40,
                    help="synthetic validation images (another seed) on which a synthetic threshold is chosen")
    ap.add_argument("--cv", nargs="+", default=["default"], metavar="SOURCE",
                    help="what to cross-validate on the real images: a recipe folder (fold<k>/model.safetensors, "
                         "from `python -m research.cross_validation train`) or one model file scored on the "
                         "images it never trained on; 'default': the shipped model's recipe folder "
                         "(research/models/lite0_ft150); default: default")
    ap.add_argument("--cv-threshold", nargs="+", default=["train"], metavar="T",
                    help="score threshold(s) of the cross-validated rows: 'train' chooses each fold's on the "
                         "out-of-fold detections of its training images, a number fixes it in advance; several "
                         "give several rows (default: train)")
    ap.add_argument("--cv-input-px", nargs="+", type=int, default=[400], metavar="PX",
                    help="detection input size(s) of the cross-validated rows, px (default 400, the training "
                         "size); the speed section times each")
    ap.add_argument("--cv-views", type=int, default=1, choices=(1, 2, 4),
                    help="test-time views of the cross-validated rows, fixed in advance (default 1, the "
                         "shipped setting)")
    ap.add_argument("--clean", type=int, default=200,
                    help="artifact-free synthetic exposures for the false-alarm row (0 skips it; default 200)")
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    ap.add_argument("--gpu-batch-size", type=int, default=8, help="batch size of the GPU throughput row")
    args = ap.parse_args()
    model = load_model(args.model, device=args.device)
    soup = model.metadata.get("weight_average")
    trained = (f"weight average of {len(soup['models'])} models" if soup
               else f"trained {model.metadata.get('training', {}).get('steps')} steps")
    print(f"model {args.model}\n  backbone {model.config.backbone}, {trained}, "
          f"device {model.device}, threshold {model.config.score_threshold}")

    images, gts = synthetic_test_set(max(args.synthetic, 10))
    if args.synthetic:
        report_synthetic(model, images, gts, args)
    if args.clean:
        report_clean_exposures(model, args.clean)
    folder = DATA / "dgb" / "real"
    if (folder / "images").exists():
        report_cross_validated(folder, args)
    else:
        print(f"\n(no real images at {folder}: real-image rows skipped)")
    report_speed(model, images, args)


def report_synthetic(model, images, gts, args):
    """The synthetic test set's rows (diagnostics)."""
    low = min(SYNTHETIC_THRESHOLDS[0], model.config.score_threshold)
    preds_low, sec = predict(images, model, threshold=low)
    preds = cut_predictions(preds_low, model.config.score_threshold)
    s = score_predictions(gts, preds)
    print(f"\nheld-out synthetic test set ({len(images)} images, JPEG q75, 1 in 6 clean)")
    row("AP@0.5 (paper way)", f"{s['paper_ap']['AP50']:.3f}", ">= 0.90", s["paper_ap"]["AP50"] >= 0.9)
    row("AP@0.5 (COCO segm)", f"{s['coco']['AP50']:.3f}", "", None)
    row("  per class Bright/Faint/Rays", per_class_ap50(s["coco"]), "", None)
    row("CCD-level F1 (0%, all classes)", f"{s['ccd']['all']['0%']['f1']:.3f}", ">= 0.95",
        s["ccd"]["all"]["0%"]["f1"] >= 0.95)
    ccd = s["ccd"]["all"]["0%"]
    row("  CCD precision / recall", f"{ccd['precision']:.2f}/{ccd['recall']:.2f}", "", None)
    row("exposure ghost-vs-clean accuracy", f"{s['exposure']['accuracy']:.3f}", "", None)
    report_completeness(images, gts, preds_low, model.config.score_threshold, low)
    # The model's threshold is chosen on real images; a synthetic-calibrated one shows how much of
    # the gap to the bars is the threshold (chosen on validation images, never the test images).
    val_images, val_gts = synthetic_test_set(args.synthetic_validation, VALIDATION_SEED)
    val_low, _ = predict(val_images, model, threshold=low)
    best = max(threshold_scan(val_low, val_gts, SYNTHETIC_THRESHOLDS), key=lambda r: r["ccd_f1"])
    at = threshold_scan(preds_low, gts, (best["threshold"],))[0]
    print(f"  at threshold {best['threshold']}, the best CCD F1 on {len(val_images)} synthetic validation images:")
    row("  AP@0.5 (paper way) / CCD-level F1", f"{at['AP50_paper']:.3f}/{at['ccd_f1']:.3f}", "", None)
    row("  CCD precision / recall", f"{at['ccd_precision']:.2f}/{at['ccd_recall']:.2f}", "", None)
    report_rays_width(images, gts, preds, model, args)


#: Seed of the clean exposures (no training stream uses it: those use their run's seed).
CLEAN_SEED = 4242

#: The post-processing variants of each cross-validated row: none, and the lone-disc rule
#: (docs/experiments/session22_lone_disc.md; its threshold is chosen with the rule applied).
AFTER_CUT = {"": None, ", lone big discs dropped": drop_lone_discs}


def report_clean_exposures(model, n):
    """Exposure-level false alarms: the share of artifact-free exposures with any excluded CCD.

    The exposures are rendered as in training (``synthetic_sample`` with every image clean: sky,
    stars, per-CCD levels or a local sky subtraction, the training augmentations), from a seed no
    training stream uses.  An exposure is a false alarm when any instance above the model's
    threshold has a pixel on a CCD (the exclusion rule at area threshold 0).  Bar: at most 5%
    (issue 35 part 6).  None of the 30 real images is one on which all eight annotators marked
    nothing, so there is no real row.
    """
    from desghost.training.dataset import synthetic_sample

    images = [synthetic_sample(CLEAN_SEED, i, clean_fraction=1.0)[0] for i in range(n)]
    found = detect_images(images, model)
    on_ccd = ccd_map(load_layout())[0] > 0
    print(f"\nclean exposures ({n} synthetic, rendered as in training; no real image is unmarked by all 8 annotators)")
    for rule, after_cut in AFTER_CUT.items():
        alarms = sum(any((i.mask & on_ccd).any() for i in (after_cut or list)(dets)) for dets in found)
        share = alarms / n
        z = 1.96   # Wilson 95% interval
        centre = (share + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        row(f"  the same{rule}" if rule else "exposures with an excluded CCD", f"{share:.3f} [{max(centre - half, 0):.3f}, {centre + half:.3f}]",
            "<= 0.05", share <= 0.05)


def report_rays_width(images, gts, preds, model, args):
    """Rays found by width (issue 22 part 3) at each ``--cv-input-px``, with the CCD figures beside."""
    index = ccd_map(load_layout())[0]
    widths = [instance_widths_px(gm) for gm, _ in gts]
    bins = RAYS_WIDTH_BINS_PX
    heads = [f"{lo:g}-{hi:g} px" for lo, hi in zip(bins[:-1], bins[1:])]
    print("  Rays by width (minor axis of the equivalent ellipse, image px): found at IoU >= 0.5 / share of "
          "their CCDs flagged (instances/CCDs); CCD F1 all classes and Rays+Bright")
    print(f"  {'input':<10}" + "".join(f"{h:>20}" for h in heads) + f"{'CCD F1':>9}{'R+B F1':>9}")
    for size_px in args.cv_input_px:
        if size_px == model.config.image_size_px:
            mine = preds
        else:
            resized = load_model(args.model, device=args.device, overrides={"image_size_px": size_px})
            mine = predict(images, resized)[0]
        found = completeness_by_edge_step(gts, mine, widths, bins=bins, class_ids=(3,))[3]
        cover = ccd_coverage_by_value(gts, mine, widths, index, bins, class_id=3)
        cells = [f"{f:.2f}/{c:.2f} ({ni}/{n})" if n else "-" for (_, _, ni, f), (_, _, n, c) in zip(found, cover)]
        s = score_predictions(gts, mine)
        print(f"  {f'{size_px} px':<10}" + "".join(f"{x:>20}" for x in cells)
              + f"{s['ccd']['all']['0%']['f1']:>9.3f}{s['ccd']['rays+bright']['0%']['f1']:>9.3f}")


def report_speed(model, images, args):
    """CPU seconds per image at batch 1, and GPU throughput when CUDA is present."""
    t0 = time.perf_counter()
    on_cpu = model if model.device == "cpu" else load_model(args.model, device="cpu")
    timed = images[:10]
    predict(timed, on_cpu, batch_size=1)
    cpu = (time.perf_counter() - t0) / max(len(timed), 1)
    print("\nspeed")
    row(f"CPU seconds per focal-plane image (batch 1, {on_cpu.config.tta_views} view(s))", f"{cpu:.2f}", "<= 1.0",
        cpu <= 1.0)
    for size_px in sorted(set(args.cv_input_px) - {on_cpu.config.image_size_px}):
        resized = load_model(args.model, device="cpu", overrides={"image_size_px": size_px})
        t0 = time.perf_counter()
        predict(timed, resized, batch_size=1)
        sec = (time.perf_counter() - t0) / max(len(timed), 1)
        row(f"  the same at input {size_px} px", f"{sec:.2f}", "<= 1.0", sec <= 1.0)
    import torch
    if torch.cuda.is_available():
        on_gpu = model if model.device.startswith("cuda") else load_model(args.model, device="cuda")
        batch = args.gpu_batch_size
        predict(images[:batch], on_gpu, batch_size=batch)  # warm-up (CUDA context, kernels)
        t0 = time.perf_counter()
        predict(images, on_gpu, batch_size=batch)  # masks come back to the host: the clock includes that
        rate = len(images) / (time.perf_counter() - t0)
        row(f"GPU images per second (batch {batch}, {torch.cuda.get_device_name()})", f"{rate:.1f}", "", None)
        row("  GPU speed-up over CPU batch 1", f"{rate * cpu:.1f}x", "", None)
    else:
        print("  (no CUDA device here: GPU batch throughput not measured)")


if __name__ == "__main__":
    main()
