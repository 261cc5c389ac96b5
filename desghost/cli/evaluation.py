"""``desghost evaluate`` and ``desghost agreement``: a model against annotators, annotators against each other."""
import os

from desghost.classes import CLASS_IDS
from desghost.cli.common import (
    add_parser,
    device_parent,
    format_metric,
    inference_overrides,
    inference_parent,
    json_line,
    json_parent,
    log,
    model_arg,
    progress_bar,
    warn,
)
from desghost.detection.model import load_model, trained_real_images
from desghost.errors import UsageError
from desghost.evaluation.evaluate import (
    agreement_table,
    evaluate_against_annotators,
    load_annotated,
    predict,
    synthetic_test_set,
)
from desghost.options import fraction, non_negative_int

__all__ = ["cmd_agreement", "cmd_evaluate", "print_evaluation", "register"]


def register(sub):
    """Add ``evaluate`` and ``agreement`` to the subcommands ``sub``."""
    p = add_parser(
        sub, "evaluate", cmd_evaluate, parents=[device_parent(), inference_parent(),
                                                json_parent("print the full result as JSON")],
        help="score a model against one or several annotators, and the annotators against each other",
        description="AP at IoU 0.5/0.75 the paper's way (per image, detections above the threshold) and COCO's "
                    "way (pycocotools), CCD-level precision/recall/F1 at 0/5/10/20% of a CCD for all classes and "
                    "Rays+Bright, ghost-vs-clean confusion, and the run time per image. With several "
                    "annotation files: each metric against each annotator and the mean, plus each annotator "
                    "scored against the others (the human ceiling). The CCD-level F1 (0%, all classes) also gets "
                    "a 95% bootstrap interval over the images (JSON: model_ccd_f1_interval).",
        epilog="examples:\n"
               "  desghost evaluate --images ../shared/data/dgb/real/images \\\n"
               "      --annotations ../shared/data/dgb/real/annotations/common_core_*.json\n"
               "  desghost evaluate --model runs/m1/model.safetensors --images DIR --annotations A.json --json\n"
               "  desghost evaluate --synthetic 100                     # held-out synthetic test set\n")
    p.add_argument("--model", default="default", help="model file (default: the shipped model)")
    p.add_argument("--images", help="directory of 400x400 images")
    p.add_argument("--annotations", nargs="+", default=[], help="VIA files, one per annotator")
    p.add_argument("--held-out-after", type=non_negative_int, default=0, metavar="N",
                   help="skip the first N images (sorted), i.e. those `train --real-train N` used")
    p.add_argument("--names", metavar="FILE",
                   help="score only the images this file names, one per line (e.g. a fold's scoring list)")
    p.add_argument("--synthetic", type=non_negative_int, default=0, metavar="N", help="evaluate on N held-out synthetic images")
    p.add_argument("--threshold", type=fraction, default=None, help="score threshold (default: the model's)")

    p = add_parser(
        sub, "agreement", cmd_agreement, parents=[json_parent("print the table as JSON")],
        help="the paper's annotator-agreement analysis",
        description="Fraction of the pixels marked by any annotator that all annotators marked, per class "
                    "and overall (the paper reports 44% overall for eight annotators).",
        epilog="example:\n  desghost agreement ../shared/data/dgb/real/annotations/common_core_*.json "
               "--images ../shared/data/dgb/real/images\n")
    p.add_argument("annotations", nargs="+", help="VIA files, one per annotator")
    p.add_argument("--images", required=True, help="directory of the annotated 400x400 images")


def print_evaluation(result, n_images, seconds, model_path):
    """The evaluation table on stdout: each metric for the model and for the human ceiling."""
    m = result["model_mean"]
    h = result.get("human_mean")
    n_ann = len(result["model_vs_annotator"])
    print(f"model {model_path}: {n_images} images, {n_ann} annotator(s), {seconds:.2f} s per image")
    print(f"{'metric':<34}{'model':>8}{'humans':>8}   (model: mean over annotators; humans: each vs the others)")
    rows = [("AP50 (paper: per image, >thr)", ("paper_ap", "AP50")), ("AP75 (paper)", ("paper_ap", "AP75")),
            ("AP50 (COCO segm)", ("coco", "AP50")), ("AP75 (COCO segm)", ("coco", "AP75"))]
    for name, c in CLASS_IDS.items():
        rows.append((f"AP50 COCO {name}", ("coco", "per_class", c)))
    for group in ("all", "rays+bright"):
        for frac in ("0%", "5%", "10%", "20%"):
            for k in ("precision", "recall", "f1"):
                rows.append((f"CCD {group} @{frac} {k}", ("ccd", group, frac, k)))
    for k in ("accuracy", "precision", "recall"):
        rows.append((f"exposure ghost-vs-clean {k}", ("exposure", k)))

    def get(d, path):
        for p in path:
            if d is None:
                return None
            d = d.get(p) if p in d else d.get(str(p))
        return d.get("AP50") if isinstance(d, dict) else d

    for label, path in rows:
        print(f"{label:<34}{format_metric(get(m, path)):>8}{format_metric(get(h, path) if h else None):>8}")
    ci = result.get("model_ccd_f1_interval")
    if ci and ci["n_images"]:
        print(f"CCD all @0% F1, {ci['level']:.0%} interval over images (bootstrap): "
              f"{format_metric(ci['low'])}-{format_metric(ci['high'])} ({ci['n_images']} images)")


def cmd_evaluate(args):
    model = load_model(model_arg(args.model), device=args.device, overrides=inference_overrides(args))
    if args.synthetic:
        images, gts = synthetic_test_set(args.synthetic)
        per_annotator, names = [gts], [f"synthetic_{i}" for i in range(len(images))]
    elif args.images and args.annotations:
        names, images, per_annotator = load_annotated(args.images, args.annotations, args.held_out_after,
                                                      args.names)
    else:
        raise UsageError("give --images with --annotations, or --synthetic N")
    recorded, complete = trained_real_images(model.metadata)
    trained_on = sorted(recorded & set(names))
    if trained_on:
        warn(f"the model was trained on {len(trained_on)} of these images ({', '.join(trained_on[:3])}"
             f"{', ...' if len(trained_on) > 3 else ''}): their scores are not held-out figures")
    elif not complete and not args.synthetic and not args.held_out_after and not args.names:
        warn("the model's training records do not list the real images it trained on (its model card "
             "does); pass --held-out-after N to score only images it never saw")
    log(args, f"detecting on {len(images)} images ...")
    bar = progress_bar(args, len(images), "evaluate", unit="image")
    preds, seconds = predict(images, model, threshold=args.threshold, progress=bar.update if bar else None)
    if bar:
        bar.close()
    result = evaluate_against_annotators(preds, per_annotator)
    result.update(images=names, seconds_per_image=seconds, model=model.path, trained_on=trained_on,
                  threshold=model.config.score_threshold if args.threshold is None else args.threshold,
                  annotators=[os.path.basename(a) for a in args.annotations] or ["synthetic truth"])
    if args.json:
        print(json_line(result))
    else:
        print_evaluation(result, len(images), seconds, model.path)
    return 0


def cmd_agreement(args):
    if len(args.annotations) < 2:
        raise UsageError("agreement compares annotators with each other: give at least two annotators' files "
                         f"(got {len(args.annotations)})")
    names, _, per_annotator = load_annotated(args.images, args.annotations)
    table = agreement_table(per_annotator)
    if args.json:
        print(json_line(table))
    else:
        print(f"{len(args.annotations)} annotators, {len(names)} images: pixels marked by all / marked by any")
        for k in ("all",) + tuple(CLASS_IDS):
            print(f"  {k:<7} {table[k]:.3f}")
    return 0
