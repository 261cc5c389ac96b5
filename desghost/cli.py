"""The ``desghost`` command line: one subcommand per job, thin shells around the API."""
import argparse
import json
import os
import sys
import time
import traceback

import numpy as np

from . import __version__
from .errors import DesghostError, UsageError

EXIT_CODES_HELP = """exit codes:
  0   success
  1   unexpected internal error (run with --debug for the traceback)
  2   usage error or missing input
  3   not a FITS file               4   truncated or corrupt FITS file
  5   not a DECam exposure          6   missing or malformed keyword (EXPNUM, CCDNUM, ...)
  7   duplicate CCDNUM              8   files of different exposures, or CCDNUM/DETPOS clash
  9   an output file cannot be written    13  catalog missing, corrupt or foreign
  14  several exposures given and some failed (each is reported and recorded)
  10  image written, but CCDs were missing (left blank)
  11  image written, but NaN/inf pixels were excluded
  12  image written, but an HDU was all zeros (left blank)
  (--lenient turns 10-12 into 0; the warning lines are still printed)"""


def _formatter(prog):
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def _add_assemble(sub):
    p = sub.add_parser(
        "assemble", formatter_class=_formatter,
        help="turn a DECam exposure into the 400x400 focal-plane image",
        description="Read a DECam exposure (raw, community-pipeline or DES per-CCD files), bin every "
                    "CCD into its place in the focal plane and stretch it like the DeepGhostBusters images.",
        epilog="examples:\n"
               "  desghost assemble DECam_00229388.fits.fz -o D00229388.png\n"
               "  desghost assemble c4d_190402_050618_ooi_VR_v1.fits.fz -o fp.fits --row-step 1\n"
               "  desghost assemble 'D00412037_g_c*_r4000p01_immasked.fits.fz' -o fp.npy   # per-CCD files\n\n"
               + EXIT_CODES_HELP)
    p.add_argument("exposure", nargs="+", help="exposure file, directory or glob of per-CCD files")
    p.add_argument("-o", "--output", required=True, help="output image: .fits, .png or .npy")
    p.add_argument("--row-step", type=int, default=None,
                   help="read every N-th CCD row: N times faster, sqrt(N) lower signal-to-noise (default 1: all rows)")
    p.add_argument("--workers", type=int, default=1, help="processes reading CCDs in parallel (default 1)")
    p.add_argument("--json", action="store_true", help="print the image metadata as JSON on stdout")
    p.add_argument("--lenient", action="store_true", help="exit 0 when the image was written despite warnings")
    p.set_defaults(func=cmd_assemble)


def _add_simulate(sub):
    p = sub.add_parser(
        "simulate", formatter_class=_formatter,
        help="write a realistic synthetic DECam exposure and its ground truth",
        description="Write a synthetic exposure with sky, noise, stars, dead CCDs for its EXPNUM and "
                    "ghost/scattered-light artifacts drawn from the DeepGhostBusters annotation "
                    "statistics, plus a ground-truth JSON (<name>_truth.json).",
        epilog="examples:\n"
               "  desghost simulate sim.fits.fz                         # small raw exposure\n"
               "  desghost simulate DECam_00700000.fits.fz --ccd-shape full --expnum 700000\n"
               "  desghost simulate des_dir/ --flavor des --artifacts 3 --seed 7\n")
    p.add_argument("out", help="output file (raw, ooi) or directory (des)")
    p.add_argument("--flavor", choices=("raw", "ooi", "des"), default="raw")
    p.add_argument("--expnum", type=int, default=500000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ccd-shape", choices=("full", "small"), default="small",
                   help="full: 2048x4096 CCDs (~0.5 GB raw); small: 256x512 for tests")
    p.add_argument("--artifacts", type=int, default=None, metavar="K",
                   help="number of artifacts (default: one annotated image's worth; 0: clean)")
    p.add_argument("--band", default="r", choices=("g", "r", "i", "z", "Y"))
    p.set_defaults(func=cmd_simulate)


def _add_train(sub):
    p = sub.add_parser(
        "train", formatter_class=_formatter,
        help="train the detector on synthetic (and optionally real annotated) images",
        description="Train Mask R-CNN on focal-plane images rendered on the fly by the simulator, optionally "
                    "mixed with VIA-annotated real images. Progress, loss components and rate go to stderr and "
                    "RUN_DIR/log.csv; RUN_DIR/checkpoint.pt is saved periodically and on Ctrl-C; --resume "
                    "continues it. The result is one .safetensors model file.",
        epilog="examples:\n"
               "  desghost train runs/m1 --steps 1500                      # from scratch, synthetic only\n"
               "  desghost train runs/m1 --steps 3000 --resume             # continue the same run\n"
               "  desghost train runs/m2 --init-model default --steps 500 \\\n"
               "      --real-images ../shared/data/dgb/real/images \\\n"
               "      --real-annotations ../shared/data/dgb/real/annotations/common_core_*.json \\\n"
               "      --real-train 10 --real-fraction 0.25                 # fine-tune on 10 real images\n")
    p.add_argument("run_dir", help="run directory (checkpoint, log, model)")
    p.add_argument("-o", "--output", help="model file to write (default RUN_DIR/model.safetensors)")
    p.add_argument("--steps", type=int, default=2000, help="total optimizer steps (default %(default)s)")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", type=float, default=4e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backbone", default="mobilenet_v3_large_fpn",
                   help="mobilenet_v3_large_fpn | resnet18_fpn | resnet50_fpn | resnet101_fpn")
    p.add_argument("--config", help="JSON file of ModelConfig overrides")
    p.add_argument("--resume", action="store_true",
                   help="continue from RUN_DIR/checkpoint.pt (give the original options; --steps may grow)")
    p.add_argument("--overwrite", action="store_true", help="start afresh in a RUN_DIR that has a checkpoint")
    p.add_argument("--init-model", help="start from a model file ('default': the shipped one)")
    p.add_argument("--real-images", help="directory of real 400x400 images")
    p.add_argument("--real-annotations", nargs="+", default=[], help="VIA files (one per annotator)")
    p.add_argument("--real-train", type=int, default=10,
                   help="use the first N real images (sorted by name) for training; the rest are never trained on")
    p.add_argument("--real-fraction", type=float, default=0.25, help="share of each batch from real images")
    from .dataset import REAL_TARGETS
    p.add_argument("--real-targets", choices=REAL_TARGETS, default="random",
                   help="masks of a real image: a random annotator's each time, or always those of the "
                        "annotator who agrees most with the others (medoid)")
    p.add_argument("--clean-fraction", type=float, default=None,
                   help="share of synthetic images with no artifact (default 0.15, the dataset's CLEAN_FRACTION)")
    p.add_argument("--checkpoint-every", type=int, default=50)
    p.add_argument("--val-every", type=int, default=250)
    p.add_argument("--val-images", type=int, default=24)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: all cores)")
    from .train import PRECISIONS
    p.add_argument("--precision", choices=PRECISIONS, default="fp32",
                   help="bf16: forward pass under bfloat16 autocast, weights and optimiser stay fp32 "
                        "(about 1.4x faster per step on CPUs with AVX512-BF16; may change on --resume)")
    p.add_argument("--loss-weight", action="append", default=[], metavar="TERM=W",
                   help="weight of one loss term (classifier, box_reg, mask, objectness, rpn_box_reg; "
                        "default 1 each); repeat for several, e.g. --loss-weight mask=2")
    p.add_argument("--no-prefetch", dest="prefetch", action="store_false",
                   help="render each batch in the training process instead of one step ahead in a worker "
                        "process (same batches, slower)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.set_defaults(func=cmd_train)


def _add_detect(sub):
    p = sub.add_parser(
        "detect", formatter_class=_formatter,
        help="find Bright, Faint and Rays artifacts in focal-plane images or exposures",
        description="Run the detector on 400x400 focal-plane images (.jpg, .png, .npy, .fits) or on "
                    "exposures (assembled first). With --json, one JSON object per input goes to stdout:\n"
                    "  {file, expnum?, model, threshold, tta_views, seconds, ccdnums, instances: [{class, class_id, score,\n"
                    "   bbox: [x0, y0, x1, y1] image px, area_px, mask: COCO RLE {size, counts}, ccdnums}]}\n"
                    "ccdnums are the CCDs whose 400x400 layout box holds at least one mask pixel.",
        epilog="examples:\n"
               "  desghost detect Ghost_img_D00243671.jpg\n"
               "  desghost detect DECam_00700000.fits.fz --json > dets.jsonl\n"
               "  desghost detect images/*.png --threshold 0.5 --model runs/m1/model.safetensors --json\n")
    p.add_argument("inputs", nargs="+", help="images or exposures")
    p.add_argument("--model", default="default", help="model file (default: the shipped model)")
    p.add_argument("--threshold", type=float, default=None, help="score threshold (default: the model's)")
    p.add_argument("--json", action="store_true", help="print one JSON object per input")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--config", help="JSON file of inference overrides (e.g. score_threshold, detections_per_img)")
    p.add_argument("--tta-views", type=int, choices=(1, 2, 4), default=None,
                   help="test-time views (1: off, 2: + left-right flip, 4: + up-down flips); default: the model's")
    p.set_defaults(func=cmd_detect)


def _add_evaluate(sub):
    p = sub.add_parser(
        "evaluate", formatter_class=_formatter,
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
    p.add_argument("--model", default="default")
    p.add_argument("--images", help="directory of 400x400 images")
    p.add_argument("--annotations", nargs="+", default=[], help="VIA files, one per annotator")
    p.add_argument("--held-out-after", type=int, default=0, metavar="N",
                   help="skip the first N images (sorted), i.e. those `train --real-train N` used")
    p.add_argument("--synthetic", type=int, default=0, metavar="N", help="evaluate on N held-out synthetic images")
    p.add_argument("--threshold", type=float, default=None)
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.add_argument("--config", help="JSON file of inference overrides")
    p.add_argument("--tta-views", type=int, choices=(1, 2, 4), default=None,
                   help="test-time views (1: off, 2: + left-right flip, 4: + up-down flips); default: the model's")
    p.set_defaults(func=cmd_evaluate)


def _add_agreement(sub):
    p = sub.add_parser(
        "agreement", formatter_class=_formatter,
        help="the paper's annotator-agreement analysis",
        description="Fraction of the pixels marked by any annotator that all annotators marked, per class "
                    "and overall (the paper reports 44% overall for eight annotators).",
        epilog="example:\n  desghost agreement ../shared/data/dgb/real/annotations/common_core_*.json "
               "--images ../shared/data/dgb/real/images\n")
    p.add_argument("annotations", nargs="+")
    p.add_argument("--images", required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_agreement)


def _default_catalog():
    return os.environ.get("DESGHOST_CATALOG", "desghost_catalog.sqlite")


def _add_run(sub):
    p = sub.add_parser(
        "run", formatter_class=_formatter,
        help="the main job: read, assemble, detect, project and write masks and exclusion tables",
        description="For each exposure: assemble the focal-plane image, detect artifacts, project them onto "
                    "the CCDs and write, named from EXPNUM: D<expnum>_desghost_mask.fits.fz (per-CCD bit masks, "
                    "PLIO), _exclude.fits (EXPNUM/CCDNUM/REASON/ANALYST + CLASS, SCORE, AREA_FRAC, MODEL, BAND, "
                    "DATE_OBS), _exclude.txt (ray-tracing list format) and _overlay.png. A bad exposure is "
                    "recorded as a failure and the run goes on.",
        epilog="examples:\n"
               "  desghost run --demo -o demo_out/                  # simulate an exposure and process it\n"
               "  desghost run DECam_00229388.fits.fz -o out/ --catalog night.sqlite\n"
               "  desghost run raw/*.fits.fz -o out/ --area-threshold 0.05 --device cuda\n")
    p.add_argument("exposures", nargs="*", help="exposure files or per-CCD directories")
    p.add_argument("-o", "--outdir", required=True)
    p.add_argument("--demo", action="store_true", help="simulate a small raw exposure into OUTDIR/input and run on it")
    p.add_argument("--model", default="default")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--threshold", type=float, default=None, help="detection score threshold (default 0.8)")
    p.add_argument("--area-threshold", type=float, default=0.0,
                   help="exclude a CCD when this fraction of it is covered (default 0: any pixel; 0.05, 0.1, 0.2)")
    p.add_argument("--catalog", default=None, help="SQLite catalog to record the results in")
    p.add_argument("--row-step", type=int, default=1)
    p.add_argument("--workers", type=int, default=1, help="processes reading the CCDs of one exposure")
    p.add_argument("--no-overlay", action="store_true")
    p.add_argument("--healpix", metavar="MAP", help="also add the masked area to this HEALPix map")
    p.add_argument("--nside", type=int, default=1024, help="nside of a new --healpix map")
    p.add_argument("--json", action="store_true", help="print one JSON summary per exposure")
    p.set_defaults(func=cmd_run)


def _add_query(sub):
    p = sub.add_parser(
        "query", formatter_class=_formatter, help="ask the catalog which CCDs/exposures are affected",
        description="Query the catalog. Rows are excluded CCDs (default), instances, exposures or failures.",
        epilog="examples:\n"
               "  desghost query --expnum 229388                       # excluded CCDs of one exposure\n"
               "  desghost query --what instances --class Rays --band r --since 2017 --until 2017\n"
               "  desghost query --expnum 500000-600000 --format fits -o excl.fits\n"
               "  desghost query --source raytrace --category ghost-scatter --format raytrace\n")
    p.add_argument("--catalog", default=None)
    p.add_argument("--source", default="desghost", help="desghost, raytrace, ...")
    p.add_argument("--what", default="ccds", choices=("ccds", "instances", "exposures", "failures"))
    p.add_argument("--expnum", help="N or A-B")
    p.add_argument("--ccdnum", type=int, nargs="+")
    p.add_argument("--band", nargs="+")
    p.add_argument("--since", help="DATE-OBS >= this (2017, 2017-03, 2017-03-05)")
    p.add_argument("--until", help="DATE-OBS up to and including this")
    p.add_argument("--class", dest="classes", nargs="+", choices=("Bright", "Faint", "Rays"))
    p.add_argument("--min-score", type=float)
    p.add_argument("--category", help="exclusion category (ghost-scatter, streak, ...)")
    p.add_argument("--format", default="table", choices=("table", "csv", "fits", "raytrace"))
    p.add_argument("-o", "--output", help="write to this file instead of stdout (required for fits)")
    p.set_defaults(func=cmd_query)


def _add_import(sub):
    p = sub.add_parser(
        "import-raytrace", formatter_class=_formatter, help="load ray-tracing exclusion lists into the catalog",
        description="Load DELVE/DES ray-tracing lists (ghost-scatter, streak, noise, problem, ccdNN ...) as their "
                    "own source; the category comes from the file name. Re-importing a file replaces its rows.",
        epilog="example:\n  desghost import-raytrace ../shared/data/raytrace/y*/*.txt --catalog cat.sqlite\n")
    p.add_argument("files", nargs="+")
    p.add_argument("--catalog", default=None)
    p.add_argument("--source", default="raytrace")
    p.set_defaults(func=cmd_import_raytrace)


def _add_compare(sub):
    p = sub.add_parser(
        "compare", formatter_class=_formatter, help="CCD-level precision/recall/F1 between two catalog sources",
        description="Compare the excluded CCDs of two sources over the exposures both cover (the paper's "
                    "Mask R-CNN vs ray-tracing comparison).",
        epilog="example:\n  desghost compare --truth raytrace --pred desghost --since 2016-08 --until 2017-02\n")
    p.add_argument("--catalog", default=None)
    p.add_argument("--truth", default="raytrace")
    p.add_argument("--pred", default="desghost")
    p.add_argument("--category", default="ghost-scatter", help="the truth source's category")
    p.add_argument("--since")
    p.add_argument("--until")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_compare)


def _add_healpix(sub):
    p = sub.add_parser(
        "healpix", formatter_class=_formatter, help="HEALPix map of masked sky area from desghost mask files",
        description="Project the masked pixels of desghost mask files (D*_desghost_mask.fits.fz) onto the sky "
                    "with each CCD's WCS and accumulate the masked area (deg^2) per HEALPix pixel. The output "
                    "is a standard HEALPix FITS map (RING, celestial) that healpy.read_map reads.",
        epilog="examples:\n"
               "  desghost healpix out/D*_desghost_mask.fits.fz -o ghosts_nside1024.fits --nside 1024\n"
               "  desghost healpix out/D00700001_desghost_mask.fits.fz -o map.fits --add   # accumulate\n")
    p.add_argument("masks", nargs="+")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--nside", type=int, default=1024)
    p.add_argument("--step", type=int, default=8, help="sample every N-th CCD pixel (default %(default)s)")
    p.add_argument("--add", action="store_true", help="add to the map in OUTPUT instead of replacing it")
    p.set_defaults(func=cmd_healpix)


def _add_night(sub):
    p = sub.add_parser(
        "night", formatter_class=_formatter, help="process a night of exposures: resumable, idempotent, parallel",
        description="Run `desghost run` on every exposure of a directory, glob or list file (one path per line; "
                    "sub-directories of per-CCD files count as one exposure), with the work overlapped: worker "
                    "processes read and assemble exposures while the model, loaded once, runs on batches of "
                    "them (on the GPU when there is one); a bounded queue keeps memory flat. Exposures whose "
                    "products and catalog rows exist are skipped (unless --force); a bad exposure is recorded as a "
                    "failure and the night goes on (--retry-failed retries them). Kill it at any moment and run "
                    "it again: nothing is lost or half-written. A log goes to OUTDIR/logs/.",
        epilog="examples:\n"
               "  desghost night /data/20171201/ -o out/20171201 --workers 2\n"
               "  desghost night '/data/20171201/*.fits.fz' -o out/ --device cuda --workers 14 --batch-size 16\n"
               "  desghost night exposures.txt -o out/ --catalog survey.sqlite --resume --retry-failed\n")
    p.add_argument("inputs", nargs="+")
    p.add_argument("-o", "--outdir", required=True)
    p.add_argument("--workers", type=int, default=None,
                   help="processes reading and assembling exposures (default: one per core); the model runs "
                        "once, in the parent, on the remaining cores or the GPU")
    p.add_argument("--batch-size", type=int, default=None,
                   help="images per forward pass (default 1 on CPU: identical to `desghost run`; 8 on the GPU)")
    p.add_argument("--catalog", help="catalog file (default OUTDIR/desghost_catalog.sqlite)")
    p.add_argument("--model", default="default")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--threshold", type=float, default=None)
    p.add_argument("--area-threshold", type=float, default=0.0)
    p.add_argument("--resume", action="store_true", help="continue a night (the default behaviour: done exposures are skipped)")
    p.add_argument("--retry-failed", action="store_true", help="process exposures that failed before again")
    p.add_argument("--force", action="store_true", help="process every exposure again")
    p.set_defaults(func=cmd_night)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="desghost", formatter_class=_formatter,
        description="Find ghosting and scattered-light artifacts in DECam exposures.",
        epilog="examples:\n  desghost simulate sim.fits.fz && desghost assemble sim.fits.fz -o sim.png\n"
               "  desghost assemble --help")
    parser.add_argument("--version", action="version", version=f"desghost {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress or timing lines")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_assemble(sub)
    _add_simulate(sub)
    _add_train(sub)
    _add_detect(sub)
    _add_evaluate(sub)
    _add_agreement(sub)
    _add_run(sub)
    _add_query(sub)
    _add_import(sub)
    _add_compare(sub)
    _add_healpix(sub)
    _add_night(sub)
    return parser


def _log(args, text):
    if not args.quiet:
        print(text, file=sys.stderr, flush=True)


def _warn(text):
    """A warning on stderr, shown even with --quiet."""
    print(f"desghost: warning: {text}", file=sys.stderr, flush=True)


def _progress_bar(args, total, desc):
    if args.quiet:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="ccd", file=sys.stderr, leave=False,
                disable=not sys.stderr.isatty())


def cmd_assemble(args):
    from .focalplane import DEFAULT_ROW_STEP, assemble_exposure
    from .imageio import write_focal_plane
    from .readers import open_exposure

    from .imageio import check_output_format
    check_output_format(args.output)
    source = args.exposure[0] if len(args.exposure) == 1 else args.exposure
    row_step = args.row_step or DEFAULT_ROW_STEP
    if row_step < 1:
        raise UsageError("--row-step must be >= 1")
    exposure = open_exposure(source)
    bar = _progress_bar(args, len(exposure.ccdnums), f"EXPNUM {exposure.expnum}")
    fp = assemble_exposure(exposure, row_step=row_step, workers=max(1, args.workers),
                           progress=(lambda c: bar.update()) if bar else None)
    if bar:
        bar.close()
    out = write_focal_plane(fp, args.output)
    for w in fp.warnings:
        print(f"desghost: warning: {w.message}", file=sys.stderr)
    _log(args, f"assembled EXPNUM {fp.expnum} ({fp.flavor}, {len(fp.ccds_present)} CCDs, "
               f"row step {fp.row_step}) in {fp.seconds:.2f} s -> {out}")
    if args.json:
        print(json.dumps(dict(fp.metadata(), output=out)))
    if fp.warnings and not args.lenient:
        return max(w.exit_code for w in fp.warnings)
    return 0


def cmd_simulate(args):
    from .simulate.exposure import SimulationConfig, write_simulated_exposure

    cfg = SimulationConfig(flavor=args.flavor, expnum=args.expnum, seed=args.seed,
                           ccd_shape=args.ccd_shape, n_artifacts=args.artifacts, band=args.band)
    t0 = time.perf_counter()
    bar = _progress_bar(args, 62, f"simulate {args.flavor}")
    files, truth = write_simulated_exposure(args.out, cfg, progress=(lambda c: bar.update()) if bar else None)
    if bar:
        bar.close()
    n_art = len(json.load(open(truth))["artifacts"])
    _log(args, f"simulated EXPNUM {cfg.expnum} ({cfg.flavor}, {cfg.ccd_shape} CCDs, {n_art} artifacts) "
               f"in {time.perf_counter() - t0:.1f} s -> {files[0] if len(files) == 1 else args.out} + {truth}")
    return 0


def _model_arg(value):
    from .model import default_model_path
    return default_model_path() if value in (None, "default") else value


def _loss_weights(items):
    """``["mask=2", ...]`` from --loss-weight as ``{"mask": 2.0}``, checked."""
    from .train import check_loss_weights
    weights = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise UsageError(f"--loss-weight {item!r}: expected TERM=NUMBER, e.g. mask=2") from None
        if not sep:
            raise UsageError(f"--loss-weight {item!r}: expected TERM=NUMBER, e.g. mask=2")
    try:
        check_loss_weights(weights)
    except ValueError as exc:
        raise UsageError(f"--loss-weight: {exc}") from None
    return weights


def cmd_train(args):
    from .evaluate import synthetic_validator
    from .model import ModelConfig
    from .train import RealPool, TrainConfig, train

    overrides = json.loads(open(args.config).read()) if args.config else {}
    overrides.setdefault("backbone", args.backbone)
    model_cfg = ModelConfig.from_dict(overrides)
    clean = {} if args.clean_fraction is None else {"clean_fraction": args.clean_fraction}
    train_cfg = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                            checkpoint_every=args.checkpoint_every, val_every=args.val_every,
                            val_images=args.val_images, real_fraction=args.real_fraction if args.real_images else 0.0,
                            threads=args.threads, real_targets=args.real_targets, precision=args.precision,
                            loss_weights=_loss_weights(args.loss_weight), prefetch=args.prefetch, **clean)
    pool = None
    if args.real_images:
        from .dataset import load_via_images, real_split
        if not args.real_annotations:
            raise UsageError("--real-images needs --real-annotations")
        annotated = load_via_images(args.real_images, args.real_annotations)
        train_names, held_out = real_split(annotated, args.real_train)
        pool = RealPool({n: annotated[n] for n in train_names}, targets=train_cfg.real_targets)
        _log(args, f"real images: {len(train_names)} for training, {len(held_out)} held out "
                   f"(first trained: {train_names[:1]}, first held out: {held_out[:1]})")
    init = _model_arg(args.init_model) if args.init_model else None
    out = train(args.run_dir, model_cfg, train_cfg, resume=args.resume, init_model=init, real_pool=pool,
                validate=synthetic_validator(args.val_images), device=args.device, out_model=args.output,
                log=lambda t: _log(args, t), overwrite=args.overwrite)
    _log(args, f"model written: {out}")
    return 0


def detection_record(meta, instances, model, threshold, seconds, ccd_index):
    """The stable JSON record of one image's detections (see ``desghost detect --help``)."""
    from pycocotools import mask as mask_utils

    from .metrics import ccds_touched
    insts, all_ccds = [], set()
    for inst in instances:
        rle = mask_utils.encode(np.asfortranarray(inst.mask.astype(np.uint8)))
        ccds = sorted(ccds_touched(inst.mask[None], ccd_index))
        all_ccds.update(ccds)
        insts.append({"class": inst.class_name, "class_id": inst.class_id, "score": round(inst.score, 4),
                      "bbox": [round(v, 2) for v in inst.bbox_px], "area_px": inst.area_px,
                      "mask": {"size": list(rle["size"]), "counts": rle["counts"].decode()}, "ccdnums": ccds})
    rec = dict(meta)
    rec.update(model=os.path.basename(model.path), threshold=threshold, tta_views=model.config.tta_views,
               seconds=round(seconds, 3),
               ccdnums=sorted(all_ccds), instances=insts)
    return rec


def _overrides(args):
    out = {}
    if getattr(args, "config", None):
        try:
            out = json.loads(open(args.config).read())
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read the config: {exc}", path=args.config) from None
    if getattr(args, "tta_views", None) is not None:
        out["tta_views"] = args.tta_views
    return out or None


def cmd_detect(args):
    from .detect import detect_images
    from .focalplane import ccd_map
    from .inputs import load_input
    from .layout import load_layout
    from .model import load_model

    model = load_model(_model_arg(args.model), device=args.device, overrides=_overrides(args))
    threshold = model.config.score_threshold if args.threshold is None else args.threshold
    ccd_index = ccd_map(load_layout())[0]
    for path in args.inputs:
        t0 = time.perf_counter()
        image, meta = load_input(path)
        instances = detect_images([image], model, threshold=threshold, batch_size=args.batch_size)[0]
        rec = detection_record(meta, instances, model, threshold, time.perf_counter() - t0, ccd_index)
        if args.json:
            print(json.dumps(rec), flush=True)
        else:
            summary = ", ".join(f"{i['class']} {i['score']:.2f}" for i in rec["instances"]) or "no artifacts"
            print(f"{path}: {summary}; CCDs {','.join(map(str, rec['ccdnums'])) or '-'}")
    return 0


def _load_annotated(images_dir, annotation_files, skip_first=0):
    from .dataset import load_via_images, real_split
    data = load_via_images(images_dir, annotation_files)
    names = real_split(data, skip_first)[1]
    if not names:
        raise UsageError(f"{images_dir}: no image is named in the annotation files")
    images = [data[n]["image"] for n in names]
    per_annotator = [[data[n]["annotations"][k] for n in names] for k in range(len(annotation_files))]
    return names, images, per_annotator


def _fmt(v):
    return "  nan" if v is None or not np.isfinite(v) else f"{v:5.3f}"


def _print_eval(result, n_images, seconds, model_path):
    m = result["model_mean"]
    h = result.get("human_mean")
    n_ann = len(result["model_vs_annotator"])
    print(f"model {model_path}: {n_images} images, {n_ann} annotator(s), {seconds:.2f} s per image")
    print(f"{'metric':<34}{'model':>8}{'humans':>8}   (model: mean over annotators; humans: each vs the others)")
    rows = [("AP50 (paper: per image, >thr)", ("paper_ap", "AP50")), ("AP75 (paper)", ("paper_ap", "AP75")),
            ("AP50 (COCO segm)", ("coco", "AP50")), ("AP75 (COCO segm)", ("coco", "AP75"))]
    for c, name in ((1, "Bright"), (2, "Faint"), (3, "Rays")):
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
        print(f"{label:<34}{_fmt(get(m, path)):>8}{_fmt(get(h, path) if h else None):>8}")
    ci = result.get("model_ccd_f1_interval")
    if ci and ci["n_images"]:
        print(f"CCD all @0% F1, {ci['level']:.0%} interval over images (bootstrap): "
              f"{_fmt(ci['low'])}-{_fmt(ci['high'])} ({ci['n_images']} images)")


def cmd_evaluate(args):
    from .evaluate import evaluate_against_annotators, predict, synthetic_test_set
    from .model import load_model, trained_real_images

    model = load_model(_model_arg(args.model), device=args.device, overrides=_overrides(args))
    if args.synthetic:
        images, gts = synthetic_test_set(args.synthetic)
        per_annotator, names = [gts], [f"synthetic_{i}" for i in range(len(images))]
    elif args.images and args.annotations:
        names, images, per_annotator = _load_annotated(args.images, args.annotations, args.held_out_after)
    else:
        raise UsageError("give --images with --annotations, or --synthetic N")
    recorded, complete = trained_real_images(model.metadata)
    trained_on = sorted(recorded & set(names))
    if trained_on:
        _warn(f"the model was trained on {len(trained_on)} of these images ({', '.join(trained_on[:3])}"
              f"{', ...' if len(trained_on) > 3 else ''}): their scores are not held-out figures")
    elif not complete and not args.synthetic and not args.held_out_after:
        _warn("the model's training records do not list the real images it trained on (its model card "
              "does); pass --held-out-after N to score only images it never saw")
    _log(args, f"detecting on {len(images)} images ...")
    preds, seconds = predict(images, model, threshold=args.threshold)
    result = evaluate_against_annotators(preds, per_annotator)
    result.update(images=names, seconds_per_image=seconds, model=model.path, trained_on=trained_on,
                  threshold=model.config.score_threshold if args.threshold is None else args.threshold,
                  annotators=[os.path.basename(a) for a in args.annotations] or ["synthetic truth"])
    if args.json:
        print(json.dumps(result, default=float))
    else:
        _print_eval(result, len(images), seconds, model.path)
    return 0


def cmd_agreement(args):
    from .evaluate import agreement_table
    names, _, per_annotator = _load_annotated(args.images, args.annotations)
    table = agreement_table(per_annotator)
    if args.json:
        print(json.dumps(table))
    else:
        print(f"{len(args.annotations)} annotators, {len(names)} images: pixels marked by all / marked by any")
        for k in ("all", "Bright", "Faint", "Rays"):
            print(f"  {k:<7} {table[k]:.3f}")
    return 0


def cmd_run(args):
    from .catalog import Catalog
    from .pipeline import RunConfig, process_exposure

    inputs = list(args.exposures)
    if args.demo:
        from .simulate.exposure import SimulationConfig, write_simulated_exposure
        files, truth = write_simulated_exposure(os.path.join(args.outdir, "input", "DECam_00700000.fits.fz"),
                                                SimulationConfig(expnum=700000, seed=7))
        _log(args, f"demo exposure: {files[0]} (truth: {truth})")
        inputs.append(files[0])
    if not inputs:
        raise UsageError("give exposures to process, or --demo")
    cfg = RunConfig(model=None if args.model == "default" else args.model, device=args.device,
                    threshold=args.threshold, area_threshold=args.area_threshold, row_step=args.row_step,
                    workers=args.workers, write_overlay=not args.no_overlay)
    catalog = Catalog(args.catalog) if args.catalog else None
    failures = []
    t0 = time.perf_counter()
    for path in inputs:
        try:
            result = process_exposure(path, args.outdir, cfg)
        except DesghostError as exc:
            print(f"desghost: error: {exc}", file=sys.stderr)
            failures.append(exc.exit_code)
            if catalog:
                catalog.record_failure(path, str(exc), exc.exit_code)
            continue
        if catalog:
            catalog.record_exposure(result)
        if args.healpix and "mask" in result.outputs:
            _add_to_map(args.healpix, [result.outputs["mask"]], args.nside, 8)
        for w in result.warnings:
            print(f"desghost: warning: {w}", file=sys.stderr)
        _log(args, f"EXPNUM {result.expnum}: {len(result.instances)} artifacts, {len(result.exclusions)} CCDs "
                   f"excluded, {result.timings_s['total']:.1f} s -> {result.outputs.get('exclusion_fits')}")
        if args.json:
            print(json.dumps({"expnum": result.expnum, "input": path, "outputs": result.outputs,
                              "timings_s": result.timings_s, "n_instances": len(result.instances),
                              "excluded_ccds": [r["ccdnum"] for r in result.exclusions]}), flush=True)
    if catalog:
        catalog.close()
    n = len(inputs)
    _log(args, f"{n - len(failures)} of {n} exposures done, {len(failures)} failed, "
               f"{n / max(time.perf_counter() - t0, 1e-9) * 60:.1f} exposures/min")
    if not failures:
        return 0
    return failures[0] if n == 1 else 14


def _add_to_map(path, masks, nside, step):
    import healpy as hp

    from .skymap import masked_area_map, write_map
    base = None
    if os.path.exists(path):
        base = hp.read_map(path, dtype=np.float64)
        nside = hp.npix2nside(base.size)
    hmap = masked_area_map(masks, nside, step_px=step, base_map=base)
    return write_map(path, hmap, {"DGVERS": f"desghost {__version__}", "DGSTEP": step}), hmap


def cmd_healpix(args):
    if not args.add and os.path.exists(args.output):
        os.unlink(args.output)
    out, hmap = _add_to_map(args.output, args.masks, args.nside, args.step)
    _log(args, f"{len(args.masks)} mask files -> {out}: {np.count_nonzero(hmap)} pixels, "
               f"{hmap.sum():.4f} deg2 masked in total")
    return 0


def cmd_night(args):
    from .night import run_night
    from .pipeline import RunConfig
    cfg = RunConfig(model=None if args.model == "default" else args.model, device=args.device,
                    threshold=args.threshold, area_threshold=args.area_threshold)
    summary = run_night(args.inputs, args.outdir, args.catalog, cfg, workers=args.workers,
                        batch_size=args.batch_size, force=args.force,
                        retry_failed=args.retry_failed, progress=not args.quiet and sys.stderr.isatty())
    for path, error in summary.failed:
        print(f"desghost: failed: {error}", file=sys.stderr)
    print(f"night: {summary.line()}", file=sys.stderr)
    return 0


def cmd_query(args):
    import csv as csv_mod

    from .catalog import Catalog
    from .queries import build_query
    try:
        sql, params = build_query(args.what, args.source, args.expnum, args.ccdnum, args.band, args.since,
                                  args.until, args.classes, args.min_score, args.category)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    with Catalog(args.catalog or _default_catalog(), create=False) as cat:
        rows = cat.query(sql, params)
    if args.format in ("fits", "raytrace"):
        if args.what != "ccds":
            raise UsageError(f"--format {args.format} needs --what ccds")
        from .products.exclusion import raytrace_lines, write_exclusion_fits
        full = [{**r, "class": r["class"] or "", "score": r["score"] or 0.0, "area_frac": r["area_frac"] or 0.0,
                 "model": r["model"] or "", "band": r["band"] or "", "date_obs": str(r["date_obs"] or ""),
                 "reason": r["reason"] or "", "analyst": r["analyst"] or "", "detpos": r["detpos"] or "nan"}
                for r in rows]
        if args.format == "fits":
            if not args.output:
                raise UsageError("--format fits needs -o FILE")
            cards = [{"name": "DGVERS", "value": f"desghost {__version__}"},
                     {"name": "DGQUERY", "value": " ".join(sys.argv[1:])[-68:]}]
            write_exclusion_fits(args.output, full, cards)
            _log(args, f"{len(rows)} rows -> {args.output}")
            return 0
        text = "\n".join(raytrace_lines(full)) + "\n"
    elif args.format == "csv":
        import io
        buf = io.StringIO()
        if rows:
            w = csv_mod.DictWriter(buf, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        text = buf.getvalue()
    else:
        text = _table(rows)
    if args.output:
        with open(args.output, "w") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


def _table(rows):
    if not rows:
        return "(no rows)\n"
    cols = list(rows[0])

    def fmt(v):
        return f"{v:.3f}" if isinstance(v, float) else ("" if v is None else str(v))

    widths = {c: max(len(c), *(len(fmt(r[c])) for r in rows)) for c in cols}
    lines = ["  ".join(c.ljust(widths[c]) for c in cols)]
    lines += ["  ".join(fmt(r[c]).ljust(widths[c]) for c in cols) for r in rows]
    return "\n".join(lines) + "\n"


def cmd_import_raytrace(args):
    from .catalog import Catalog
    from .raytrace import list_category, read_list
    total = parsed = 0
    for path in args.files:
        if not os.path.isfile(path):
            raise UsageError("no such file", path=path)
    with Catalog(args.catalog or _default_catalog()) as cat:
        for path in args.files:
            category, season = list_category(path)
            rows = read_list(path)
            n = cat.import_exclusions(rows, args.source, category, os.path.basename(path))
            total += n
            parsed += len(rows)
            _log(args, f"{path}: {len(rows)} rows read, {n} new ({category}, {season or 'no season'})")
        by_cat = cat.query("SELECT category, COUNT(*) AS n FROM excluded_ccds WHERE source = ? GROUP BY category "
                           "ORDER BY n DESC", (args.source,))
    print(f"read {parsed} rows from {len(args.files)} files; {total} distinct (category, EXPNUM, CCDNUM) rows "
          f"in source '{args.source}': "
          + ", ".join(f"{r['category']} {r['n']}" for r in by_cat))
    return 0


def cmd_compare(args):
    from .catalog import Catalog
    from .queries import compare_sources
    with Catalog(args.catalog or _default_catalog(), create=False) as cat:
        s = compare_sources(cat, args.truth, args.pred, args.category, args.since, args.until)
    if args.json:
        print(json.dumps(s))
    else:
        print(f"{args.pred} vs {args.truth} ({args.category}), {s['n_exposures']} exposures covered by both:")
        print(f"  CCD-level precision {_fmt(s['precision'])}  recall {_fmt(s['recall'])}  F1 {_fmt(s['f1'])}"
              f"  (tp {s['tp']}, fp {s['fp']}, fn {s['fn']})")
    return 0


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except DesghostError as exc:
        print(f"desghost: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("desghost: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one line by default, traceback with --debug
        if args.debug:
            traceback.print_exc()
        else:
            print(f"desghost: internal error: {type(exc).__name__}: {exc} (run with --debug)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
