"""Cross-validated real-image figures of a training recipe: issue 22's yardstick.

A recipe is scored through its fold models.  Fold k's model is fine-tuned from one synthetic-only
base on the real images of the other folds (``research/real_image_folds.json``) and detects only
on fold k; the detections of all folds are pooled and scored against the eight annotators.  A
single model file (one that is not a recipe, such as the earlier shipped m28) is scored the same
way with itself as every fold's model, on the images its training records do not list.

    python -m research.cross_validation train BASE OUT_DIR [desghost train options]
    python benchmarks/bench_detector.py --cv OUT_DIR default     # scores them
    python -m research.cross_validation final BASE OUT_DIR [the same options]  # all 30: ships

``train`` runs ``desghost train OUT_DIR/fold<k>`` for every fold (resuming a fold that has a
checkpoint and skipping one that has its model), with the fold's training list as
``--real-names``.  ``final`` runs the same recipe once on every real image
(``OUT_DIR/all``): the model that ships when the recipe wins.
"""
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

from desghost.agreement import ccd_level_scores
from desghost.detection.model import read_model_metadata, trained_real_images
from desghost.mask_geometry import ccds_touched
from research.diagnostics import held_out_real_names
from research.folds import load_folds, write_fold_lists

MODEL_NAME = "model.safetensors"

#: Score thresholds the in-training procedure chooses from (docs/experiments/session17_cv.md).
THRESHOLD_GRID = tuple(round(0.30 + 0.05 * k, 2) for k in range(13))


def fold_model_paths(source, n_folds):
    """The model file each fold is scored with.

    Parameters
    ----------
    source : str or Path
        A recipe's folder (``fold<k>/model.safetensors`` inside it) or one model file.
    n_folds : int

    Returns
    -------
    list of str
        ``n_folds`` paths (one file repeated when ``source`` is a file).

    Raises
    ------
    FileNotFoundError
        A fold's model is missing.
    """
    source = Path(source)
    paths = [source] * n_folds if source.is_file() else [source / f"fold{k}" / MODEL_NAME for k in range(n_folds)]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"missing fold model(s): {', '.join(missing)}")
    return [str(p) for p in paths]


def scoring_plan(model_paths, folds, available, assumed_trained=10):
    """Which images each fold's model is scored on.

    Fold k's model scores the images of fold k that are available and that its training
    records do not list (:func:`research.diagnostics.held_out_real_names`; a model whose
    records predate that list is assumed to have trained on the first ``assumed_trained``).

    Parameters
    ----------
    model_paths : list of str
        One model file per fold.
    folds : list of list of str
    available : iterable of str
        The annotated images at hand.

    Returns
    -------
    list of (int, list of str)
        ``(fold, names)`` for each fold, names sorted.
    list of str
        Names left out because a fold's model trained on them (a recipe's fold models leave
        out none; a single model leaves out its own training images).
    """
    available = sorted(available)
    plan, left_out = [], []
    for k, (path, fold) in enumerate(zip(model_paths, folds)):
        # "the first N by name" of an unrecorded model counts over all the images, not the fold's
        never_trained = set(held_out_real_names(available, read_model_metadata(path),
                                                assumed_trained=assumed_trained)[0])
        in_fold = [n for n in available if n in set(fold)]
        plan.append((k, [n for n in in_fold if n in never_trained]))
        left_out += [n for n in in_fold if n not in never_trained]
    return plan, sorted(left_out)


def cross_validated_detections(plan, model_paths, names, images, load, detect):
    """Each image's detections by the model of the fold that scores it.

    Parameters
    ----------
    plan : list of (int, list of str)
        From :func:`scoring_plan`.
    model_paths : list of str
    names : list of str
        Names of ``images``.
    images : list of ndarray of uint8, shape (400, 400)
    load : callable
        ``load(path) -> LoadedModel`` (fixes device and inference settings).
    detect : callable
        ``detect(images, model) -> list of list of Instance``.

    Returns
    -------
    dict
        ``{name: list of Instance}`` for every scored name.
    """
    index = {n: i for i, n in enumerate(names)}
    found = {}
    for k, scored in plan:
        if not scored:
            continue
        model = load(model_paths[k])
        for name, instances in zip(scored, detect([images[index[n]] for n in scored], model)):
            found[name] = instances
    return found


def excluded_ccd_sets(detections, ccd_index):
    """Per image, the CCDNUMs its instances touch (``detections``: one list of Instance per image)."""
    return [ccds_touched(np.array([i.mask for i in dets], dtype=bool).reshape(-1, *ccd_index.shape), ccd_index)
            for dets in detections]


def mean_ccd_f1(detections, truth_sets, ccd_index, threshold, after_cut=None):
    """CCD-level F1 (0%, all classes) of detections cut at ``threshold``, mean over annotators.

    Parameters
    ----------
    detections : list of list of Instance
        One list per image, detected at or below ``threshold``.
    truth_sets : list of list of set of int
        Per image, per annotator: the CCDNUMs the annotator's masks touch.
    ccd_index : ndarray of int, shape (400, 400)
        CCDNUM per pixel (0 in gaps).
    threshold : float
    after_cut : callable, optional
        A post-processing step applied to each image's instances after the cut (for example
        :func:`desghost.detection.families.drop_lone_discs`).

    Returns
    -------
    float
        NaN when there is no annotator.
    """
    after_cut = after_cut or list
    pred_sets = excluded_ccd_sets([after_cut([i for i in dets if i.score >= threshold]) for dets in detections],
                                  ccd_index)
    n_annotators = len(truth_sets[0]) if truth_sets else 0
    f1 = [ccd_level_scores(pred_sets, [t[a] for t in truth_sets])["f1"] for a in range(n_annotators)]
    return float(np.nanmean(f1)) if f1 else float("nan")


def unmarked_ccds(detections, truth_sets, ccd_index):
    """How many of the CCDs the detections exclude no annotator marks, summed over images.

    Parameters
    ----------
    detections : list of list of Instance
        One list per image, already cut at its threshold.
    truth_sets : list of list of set of int
        Per image, per annotator: the CCDNUMs the annotator's masks touch.
    ccd_index : ndarray of int, shape (400, 400)
        CCDNUM per pixel (0 in gaps).

    Returns
    -------
    (int, int)
        The excluded CCDs that no annotator marks, and all the excluded CCDs (CCD-image pairs).
    """
    pred_sets = excluded_ccd_sets(detections, ccd_index)
    unmarked = sum(len(set(p) - set().union(*t)) for p, t in zip(pred_sets, truth_sets))
    return unmarked, sum(len(p) for p in pred_sets)


def best_threshold(detections, truth_sets, ccd_index, grid=THRESHOLD_GRID, after_cut=None):
    """The threshold of ``grid`` with the best :func:`mean_ccd_f1` (``after_cut`` passed on); ties go to the higher one.

    Returns
    -------
    float
        The chosen threshold.
    list of float
        The F1 at every threshold of ``grid``.
    """
    f1 = [mean_ccd_f1(detections, truth_sets, ccd_index, t, after_cut) for t in grid]
    best = max(range(len(grid)), key=lambda k: (np.nan_to_num(f1[k], nan=-1.0), grid[k]))
    return grid[best], f1


def in_training_thresholds(plan, found, truth_sets, ccd_index, grid=THRESHOLD_GRID, after_cut=None):
    """Each fold's score threshold, chosen on the out-of-fold detections of its training images.

    Fold k's threshold is :func:`best_threshold` over the images the *other* folds' models
    scored (fold k's training images, each detected by the model that held it out): fold k's
    own images play no part.  The rule is docs/experiments/session17_cv.md's.

    Parameters
    ----------
    plan : list of (int, list of str)
        From :func:`scoring_plan`.
    found : dict
        ``{name: list of Instance}`` detected at or below ``min(grid)``
        (:func:`cross_validated_detections`).
    truth_sets : dict
        ``{name: list of set of int}``: per annotator, the CCDNUMs touched.
    ccd_index : ndarray of int, shape (400, 400)
    after_cut : callable, optional
        Post-processing applied after each candidate cut (:func:`mean_ccd_f1`).

    Returns
    -------
    dict
        ``{fold: threshold}`` for every fold of ``plan``, and under the key ``"all"`` the
        threshold chosen on every scored image (the one the model trained on all of them gets).
    """
    chosen = {}
    everything = [n for _, scored in plan for n in scored]
    for k, _ in plan:
        training = [n for j, scored in plan if j != k for n in scored]
        chosen[k] = best_threshold([found[n] for n in training], [truth_sets[n] for n in training],
                                   ccd_index, grid, after_cut)[0]
    chosen["all"] = best_threshold([found[n] for n in everything], [truth_sets[n] for n in everything],
                                   ccd_index, grid, after_cut)[0]
    return chosen


def train_command(base, run_dir, train_list, real_dir, annotations, train_args):
    """The ``desghost train`` command line of one fold (resuming when it has a checkpoint)."""
    cmd = [sys.executable, "-m", "desghost", "train", str(run_dir), "--init-model", str(base),
           "--real-images", str(real_dir), "--real-annotations", *map(str, annotations),
           "--real-names", str(train_list), *train_args]
    if (Path(run_dir) / "checkpoint.pt").exists():
        cmd.append("--resume")
    return cmd


def check_synthetic_only(base):
    """Refuse a base model that has trained on real images (or whose records cannot tell).

    Raises
    ------
    ValueError
        Naming the file and the real images it trained on.
    """
    names, complete = trained_real_images(read_model_metadata(base))
    if names or not complete:
        listed = ", ".join(sorted(names)[:3]) + (" ..." if len(names) > 3 else "")
        raise ValueError(f"{base}: not a synthetic-only base (trained on real images: "
                         f"{listed if names else 'unrecorded'})")


def fold_bases(base, folds):
    """The model each fold's fine-tune starts from.

    ``base`` is one synthetic-only model file (every fold starts from it), or a recipe folder
    whose fold models continue, each in its own fold (a recipe in stages).

    Raises
    ------
    ValueError
        A base file that has trained on real images (or whose records cannot tell), or a fold
        model that has trained on an image of its own fold.
    FileNotFoundError
        A fold model of the recipe folder is missing.
    """
    if not Path(base).is_dir():
        check_synthetic_only(base)
        return [str(base)] * len(folds)
    paths = fold_model_paths(base, len(folds))
    for k, (path, fold) in enumerate(zip(paths, folds)):
        names, complete = trained_real_images(read_model_metadata(path))
        seen = sorted(set(names) & set(fold))
        if seen or not complete:
            raise ValueError(f"{path}: fold {k}'s model has trained on its own fold's images "
                             f"({', '.join(seen[:3]) if seen else 'unrecorded'})")
    return paths


def real_inputs(data_dir):
    """The real images' folder and the annotators' VIA files under a shared-data folder."""
    real = Path(data_dir) / "dgb" / "real"
    return real / "images", sorted((real / "annotations").glob("common_core_*.json"))


def fold_commands(base, out_dir, train_args, data_dir, folds=None):
    """The ``desghost train`` command of every fold whose model is still to train: ``[(label, cmd)]``.

    Raises
    ------
    ValueError
        A base that would leak a fold's images into its own model (:func:`fold_bases`).
    """
    folds = load_folds() if folds is None else folds
    bases = fold_bases(base, folds)
    out_dir = Path(out_dir)
    images, annotations = real_inputs(data_dir)
    commands = []
    for k, (train_list, _) in enumerate(write_fold_lists(out_dir / "lists", folds)):
        run_dir = out_dir / f"fold{k}"
        if (run_dir / MODEL_NAME).exists() and not (run_dir / "checkpoint.pt").exists():
            print(f"fold {k}: {run_dir / MODEL_NAME} exists, skipped", flush=True)
            continue
        commands.append((f"fold{k}", train_command(bases[k], run_dir, train_list, images, annotations, train_args)))
    return commands


def final_command(base, out_dir, train_args, data_dir, folds=None):
    """The ``desghost train`` command of the recipe on every real image of the folds (``OUT_DIR/all``).

    Raises
    ------
    ValueError
        The base has trained on real images (or its records cannot tell).
    """
    check_synthetic_only(base)
    folds = load_folds() if folds is None else folds
    out_dir = Path(out_dir)
    images, annotations = real_inputs(data_dir)
    all_list = out_dir / "lists" / "all_train.txt"
    all_list.parent.mkdir(parents=True, exist_ok=True)
    all_list.write_text("\n".join(sorted(n for fold in folds for n in fold)) + "\n")
    return "all", train_command(base, out_dir / "all", all_list, images, annotations, train_args)


def train_folds(base, out_dir, train_args, data_dir, folds=None):
    """Fine-tune one model per fold from ``base`` (:func:`fold_bases`); a fold whose model exists is skipped.

    Raises
    ------
    ValueError
        A base that would leak a fold's images into its own model (:func:`fold_bases`).
    subprocess.CalledProcessError
        A fold's training failed (the folds before it are kept).
    """
    for label, cmd in fold_commands(base, out_dir, train_args, data_dir, folds):
        print(f"{label}: {' '.join(cmd)}", flush=True)
        subprocess.run(cmd, check=True)


def train_all_at_once(base, out_dir, train_args, data_dir, folds=None):
    """The fold models and the all-images model of one synthetic-only base, trained at the same time.

    One process per model (for a GPU machine, whose accelerator and render workers carry several
    fine-tunes at once); each one's progress goes to ``OUT_DIR/<label>.log``.

    Raises
    ------
    ValueError
        A base that has trained on real images (or whose records cannot tell).
    subprocess.CalledProcessError
        A training failed (the others run to their end first).
    KeyboardInterrupt
        A SIGINT or SIGTERM came; every training was sent SIGTERM (it checkpoints and exports the
        step it reached) and has ended.
    """
    commands = fold_commands(base, out_dir, train_args, data_dir, folds)
    commands.append(final_command(base, out_dir, train_args, data_dir, folds))
    running, failed = [], []
    # a SIGTERM (a timeout, a batch system) reaches every training: each saves its checkpoint and
    # exports its model at the step it stopped at, as `desghost train` does on its own
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        for label, cmd in commands:
            print(f"{label}: {' '.join(cmd)}", flush=True)
            log = open(Path(out_dir) / f"{label}.log", "w")  # noqa: SIM115 - closed once its process ends
            running.append((label, cmd, log, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)))
        for label, cmd, _, proc in running:
            rc = proc.wait()
            print(f"{label}: exit {rc}", flush=True)
            if rc:
                failed.append(subprocess.CalledProcessError(rc, cmd))
    finally:
        for label, _, log, proc in running:
            if proc.poll() is None:
                print(f"{label}: stopping", flush=True)
                proc.terminate()
                proc.wait()
            log.close()
        signal.signal(signal.SIGTERM, previous)
    if failed:
        raise failed[0]


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def copy_kept_checkpoints(src_dir, out_dir, step, n_folds):
    """Seed a recipe folder with each fold's checkpoint kept at ``step`` (``--keep-checkpoint-at``).

    ``train`` on the seeded folder with ``--steps STEP`` then resumes each fold at ``step`` and
    only exports that step's model: the mid-schedule weights a tail soup averages
    (docs/experiments/session21_model_averaging.md).  A fold already seeded is left as it is.

    Parameters
    ----------
    src_dir, out_dir : str or Path
        The recipe folder that kept the checkpoints, and the one to seed.
    step : int
    n_folds : int

    Raises
    ------
    FileNotFoundError
        A fold of ``src_dir`` kept no checkpoint at ``step``.
    """
    kept = [Path(src_dir) / f"fold{k}" / f"checkpoint_step{step}.pt" for k in range(n_folds)]
    for path in kept:  # all present before any fold is seeded
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no checkpoint kept at step {step} (train with --keep-checkpoint-at)")
    for k in range(n_folds):
        src, dst = kept[k].parent, Path(out_dir) / f"fold{k}"
        if (dst / "checkpoint.pt").exists() or (dst / MODEL_NAME).exists():
            continue
        dst.mkdir(parents=True, exist_ok=True)
        for name in ("log.csv", "train_config.json"):
            if (src / name).is_file():
                shutil.copyfile(src / name, dst / name)
        shutil.copyfile(kept[k], dst / "checkpoint.pt")


def train_final(base, out_dir, train_args, data_dir, folds=None):
    """Fine-tune ``base`` on all the real images of the folds: ``out_dir/all/model.safetensors``.

    Raises
    ------
    ValueError
        The base has trained on real images (or its records cannot tell).
    subprocess.CalledProcessError
        The training failed.
    """
    label, cmd = final_command(base, out_dir, train_args, data_dir, folds)
    print(f"{label}: {' '.join(cmd)}", flush=True)
    subprocess.run(cmd, check=True)


def main(argv=None):
    import argparse
    import os

    ap = argparse.ArgumentParser(
        description="Fine-tune one model per fold of the 30 real images from a synthetic-only base.",
        epilog="example:\n  python -m research.cross_validation train runs/base/model.safetensors runs/cv_a \\\n"
               "      --steps 150 --lr 2e-4 --real-fraction 0.4 --val-every 0\n"
               "  python -m research.cross_validation final runs/base/model.safetensors runs/cv_a \\\n"
               "      --steps 150 --lr 2e-4 --real-fraction 0.4 --val-every 0   # on all 30\n"
               "  python -m research.cross_validation all-at-once runs/base/model.safetensors runs/cv_a \\\n"
               "      --steps 150 --lr 2e-4 --real-fraction 0.4 --val-every 0 --device cuda   # folds and all 30\n"
               "  python -m research.cross_validation export-kept runs/base/model.safetensors runs/cv_a_at100 \\\n"
               "      --from runs/cv_a --step 100 --lr 2e-4 --real-fraction 0.4 --val-every 0\n"
               "Options after OUT_DIR go to `desghost train` unchanged.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=("train", "final", "all-at-once", "export-kept"),
                    help="train: one model per fold; final: the recipe on all the real images; all-at-once: both, "
                         "one process per model at the same time (a GPU machine); export-kept: each fold's model "
                         "at a step a recipe folder kept (--from, --step), trained no further")
    ap.add_argument("base", help="synthetic-only base model file every fold starts from, or (train only) a "
                                 "recipe folder whose fold models each continue in their own fold")
    ap.add_argument("out_dir", help="recipe folder: fold<k>/ run directories and lists/")
    ap.add_argument("--data", default=os.environ.get("DESGHOST_SHARED_DATA", "../shared/data"),
                    help="the shared data folder (dgb/real inside it; default ../shared/data)")
    ap.add_argument("--from", dest="kept_from", metavar="RECIPE_DIR",
                    help="export-kept: the recipe folder whose folds kept checkpoints (--keep-checkpoint-at)")
    ap.add_argument("--step", type=int, help="export-kept: the kept step to export")
    args, train_args = ap.parse_known_args(argv)
    try:
        if args.action == "export-kept":
            if args.kept_from is None or args.step is None:
                sys.exit("export-kept needs --from RECIPE_DIR and --step STEP")
            copy_kept_checkpoints(args.kept_from, args.out_dir, args.step, len(load_folds()))
            train_args = [*train_args, "--steps", str(args.step)]
        run = {"final": train_final, "all-at-once": train_all_at_once}.get(args.action, train_folds)
        run(args.base, args.out_dir, train_args, args.data)
    except (ValueError, FileNotFoundError) as e:
        sys.exit(str(e))


if __name__ == "__main__":
    main()
