"""The cross-validation yardstick: which images each fold's model scores, and a synthetic-only base."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from desghost.detection.instance import Instance  # noqa: E402
from research.cross_validation import (  # noqa: E402
    check_synthetic_only,
    copy_kept_checkpoints,
    final_command,
    fold_bases,
    fold_commands,
    fold_model_paths,
    in_training_thresholds,
    mean_ccd_f1,
    scoring_plan,
    train_all_at_once,
    unmarked_ccds,
)
from research.folds import fold_split  # noqa: E402

FOLDS = [["a1", "a2"], ["b1", "b2"], ["c1", "c2"]]


def model_file(path, real_images_trained, real_fraction=0.3):
    """A real safetensors file with desghost metadata (the training record is all the plan reads)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"train_config": {"real_fraction": real_fraction}}
    if real_images_trained is not None:  # None: a lineage that predates the record
        record["real_images_trained"] = real_images_trained
    save_file({"w": torch.zeros(1)}, str(path), metadata={"desghost": json.dumps({"training": record})})
    return path


def test_a_recipe_scores_each_fold_with_the_model_that_never_saw_it(tmp_path):
    for k in range(3):
        model_file(tmp_path / f"fold{k}" / "model.safetensors", fold_split(FOLDS, k)[0])
    paths = fold_model_paths(tmp_path, 3)
    plan, left_out = scoring_plan(paths, FOLDS, [n for f in FOLDS for n in f])
    assert plan == [(0, ["a1", "a2"]), (1, ["b1", "b2"]), (2, ["c1", "c2"])] and left_out == []
    # a fold model that trained on an image of its own fold does not score it
    model_file(tmp_path / "fold1" / "model.safetensors", ["b2", "c1"])
    plan, left_out = scoring_plan(fold_model_paths(tmp_path, 3), FOLDS, [n for f in FOLDS for n in f])
    assert plan[1] == (1, ["b1"]) and left_out == ["b2"]


def test_one_model_scores_every_fold_but_not_its_own_training_images(tmp_path):
    recorded = model_file(tmp_path / "m.safetensors", ["a2", "c1"])
    plan, left_out = scoring_plan(fold_model_paths(recorded, 3), FOLDS, [n for f in FOLDS for n in f])
    assert [names for _, names in plan] == [["a1"], ["b1", "b2"], ["c2"]] and left_out == ["a2", "c1"]
    # a lineage without the record: the first N names overall count as trained on
    unrecorded = model_file(tmp_path / "old.safetensors", None)
    plan, left_out = scoring_plan(fold_model_paths(unrecorded, 3), FOLDS, ["a1", "a2", "b1", "b2", "c1", "c2"],
                                  assumed_trained=3)
    assert left_out == ["a1", "a2", "b1"] and plan[2] == (2, ["c1", "c2"])


def test_missing_fold_models_and_a_base_that_saw_real_images_are_refused(tmp_path):
    model_file(tmp_path / "fold0" / "model.safetensors", [])
    with pytest.raises(FileNotFoundError, match="fold1"):
        fold_model_paths(tmp_path, 3)
    check_synthetic_only(model_file(tmp_path / "base.safetensors", [], real_fraction=0.0))
    with pytest.raises(ValueError, match="not a synthetic-only base"):
        check_synthetic_only(model_file(tmp_path / "seen.safetensors", ["a1"]))
    with pytest.raises(ValueError, match="unrecorded"):
        check_synthetic_only(model_file(tmp_path / "old.safetensors", None))


def test_each_folds_threshold_is_chosen_on_the_other_folds_images_only():
    ccd_index = np.array([[1, 1, 2, 2]] * 2 + [[3, 3, 4, 4]] * 2)  # four 2x2 CCDs

    def on(ccdnum, score):
        return Instance(1, "Bright", score, (0, 0, 1, 1), ccd_index == ccdnum)

    # fold a: a faint true detection (0.32) only the lowest threshold keeps;
    # folds b, c: a sure true detection (0.9) and a false one (0.5) a threshold above 0.5 drops
    found = {n: [on(1, 0.32)] for n in FOLDS[0]}
    found.update({n: [on(1, 0.9), on(2, 0.5)] for n in FOLDS[1] + FOLDS[2]})
    truth = {n: [{1}] for n in found}  # one annotator: CCD 1 has the artifact
    plan = [(k, fold) for k, fold in enumerate(FOLDS)]
    chosen = in_training_thresholds(plan, found, truth, ccd_index)
    # fold a's threshold from b, c: F1 0.67 up to 0.5, 1.0 above (ties: highest, 0.9);
    # folds b, c include a's images: F1 0.8 at 0.3, 0.5 to 0.5, 0.67 above
    # all six images: 0.75 at 0.3, 0.8 above 0.5
    assert chosen == {0: 0.9, 1: 0.3, 2: 0.3, "all": 0.9}


def test_a_recipe_continues_per_fold_only_when_no_fold_model_saw_its_own_fold(tmp_path):
    for k in range(3):
        model_file(tmp_path / "ok" / f"fold{k}" / "model.safetensors", fold_split(FOLDS, k)[0])
    assert fold_bases(tmp_path / "ok", FOLDS) == [str(tmp_path / "ok" / f"fold{k}" / "model.safetensors")
                                                  for k in range(3)]
    for k in range(3):  # fold 1's model trained on everything: it would score images it knows
        model_file(tmp_path / "leak" / f"fold{k}" / "model.safetensors",
                   [n for f in FOLDS for n in f] if k == 1 else fold_split(FOLDS, k)[0])
    with pytest.raises(ValueError, match="fold 1's model has trained on its own fold's images"):
        fold_bases(tmp_path / "leak", FOLDS)


def test_false_positive_ccds_are_those_no_annotator_marks():
    ccd_index = np.array([[1, 1, 2, 2]] * 2 + [[3, 3, 4, 4]] * 2)  # four 2x2 CCDs
    both = (ccd_index == 1) | (ccd_index == 2)
    dets = [[Instance(1, "Bright", 0.9, (0, 0, 3, 1), both)],   # CCDs 1 and 2
            [Instance(2, "Faint", 0.8, (0, 2, 3, 3), ccd_index >= 3)],  # CCDs 3 and 4
            []]
    # image 1: annotator A marks CCD 1, B marks CCD 2: neither CCD is a false positive
    # image 2: only CCD 3 is marked (by B); image 3: nothing predicted
    truth = [[{1}, {2}], [set(), {3}], [{4}, {4}]]
    assert unmarked_ccds(dets, truth, ccd_index) == (1, 4)
    assert unmarked_ccds([[], [], []], truth, ccd_index) == (0, 0)


def test_a_kept_step_seeds_each_fold_for_export_and_a_missing_one_is_named(tmp_path):
    src = tmp_path / "cv"
    for k in range(3):
        (src / f"fold{k}").mkdir(parents=True)
        (src / f"fold{k}" / "checkpoint_step100.pt").write_bytes(bytes([k]) * 8)
        (src / f"fold{k}" / "log.csv").write_text(f"step\n{k}\n")
    copy_kept_checkpoints(src, tmp_path / "at100", 100, 3)
    for k in range(3):
        assert (tmp_path / "at100" / f"fold{k}" / "checkpoint.pt").read_bytes() == bytes([k]) * 8
        assert (tmp_path / "at100" / f"fold{k}" / "log.csv").read_text() == f"step\n{k}\n"
    # a fold already seeded (or exported) is left as it is
    (tmp_path / "at100" / "fold1" / "checkpoint.pt").write_bytes(b"resumed")
    copy_kept_checkpoints(src, tmp_path / "at100", 100, 3)
    assert (tmp_path / "at100" / "fold1" / "checkpoint.pt").read_bytes() == b"resumed"
    (src / "fold2" / "checkpoint_step100.pt").unlink()
    with pytest.raises(FileNotFoundError, match=r"fold2/checkpoint_step100.pt: no checkpoint kept at step 100"):
        copy_kept_checkpoints(src, tmp_path / "at100b", 100, 3)
    assert not (tmp_path / "at100b").exists()  # nothing half-seeded


def test_a_post_processing_step_after_the_cut_changes_the_chosen_threshold():
    ccd_index = np.array([[1, 1, 2, 2]] * 2 + [[3, 3, 4, 4]] * 2)  # four 2x2 CCDs
    false_faint = Instance(2, "Faint", 0.4, (0, 0, 4, 4), (ccd_index == 2) | (ccd_index == 4))
    # per image: a sure true detection (CCD 1), a faint true one (0.35, CCD 3), a false Faint (0.4, CCDs 2, 4)
    found = {n: [Instance(1, "Bright", 0.9, (0, 0, 2, 2), ccd_index == 1), false_faint,
                 Instance(1, "Bright", 0.35, (0, 2, 2, 4), ccd_index == 3)] for f in FOLDS for n in f}
    truth = {n: [{1, 3}] for n in found}
    plan = [(k, fold) for k, fold in enumerate(FOLDS)]
    # without a step: F1 0.67 at 0.35 (4 CCDs, 2 true), 0.4 at 0.4, 0.67 from 0.45 up: ties go high
    assert in_training_thresholds(plan, found, truth, ccd_index) == {0: 0.9, 1: 0.9, 2: 0.9, "all": 0.9}

    def no_faint(instances):
        return [i for i in instances if i.class_name != "Faint"]

    # dropping Faint instances after the cut makes 0.35 perfect
    assert mean_ccd_f1([found["a1"]], [truth["a1"]], ccd_index, 0.35, no_faint) == pytest.approx(1.0)
    assert mean_ccd_f1([found["a1"]], [truth["a1"]], ccd_index, 0.35) == pytest.approx(2 / 3)
    assert in_training_thresholds(plan, found, truth, ccd_index, after_cut=no_faint) == {
        0: 0.35, 1: 0.35, 2: 0.35, "all": 0.35}


def real_data_folder(root):
    """A shared-data folder with the layout the trainings read (dgb/real/images, annotations)."""
    real = root / "dgb" / "real"
    (real / "images").mkdir(parents=True)
    (real / "annotations").mkdir()
    (real / "annotations" / "common_core_x.json").write_text("{}")
    return root


def option(cmd, name):
    return cmd[cmd.index(name) + 1]


def test_all_at_once_trains_every_fold_on_the_others_and_one_model_on_all(tmp_path):
    data = real_data_folder(tmp_path / "data")
    base = model_file(tmp_path / "base.safetensors", [], real_fraction=0.0)
    out = tmp_path / "cv"
    model_file(out / "fold2" / "model.safetensors", fold_split(FOLDS, 2)[0])  # done: skipped
    commands = fold_commands(base, out, ["--steps", "3"], data, FOLDS)
    assert [label for label, _ in commands] == ["fold0", "fold1"]
    for k, (label, cmd) in enumerate(commands):
        assert option(cmd, "--init-model") == str(base) and cmd[-2:] == ["--steps", "3"]
        trained = Path(option(cmd, "--real-names")).read_text().split()
        assert sorted(trained) == sorted(fold_split(FOLDS, k)[0]) and not set(trained) & set(FOLDS[k])
    label, cmd = final_command(base, out, [], data, FOLDS)
    assert label == "all" and option(cmd, "train") == str(out / "all")
    assert sorted(Path(option(cmd, "--real-names")).read_text().split()) == sorted(n for f in FOLDS for n in f)
    with pytest.raises(ValueError, match="not a synthetic-only base"):
        final_command(model_file(tmp_path / "seen.safetensors", ["a1"]), out, [], data, FOLDS)


@pytest.mark.slow  # four real `desghost train` processes
def test_all_at_once_runs_every_training_to_its_end_and_then_raises_the_failure(tmp_path):
    data = real_data_folder(tmp_path / "data")
    base = model_file(tmp_path / "base.safetensors", [], real_fraction=0.0)
    # the folder has no images of those names: each of the four trainings stops with its error
    with pytest.raises(subprocess.CalledProcessError):
        train_all_at_once(base, tmp_path / "cv", ["--steps", "1", "--device", "cpu"], data, FOLDS)
    for label in ("fold0", "fold1", "fold2", "all"):
        log = (tmp_path / "cv" / f"{label}.log").read_text()
        assert log.startswith("desghost: error: ") and f"{label}_train.txt" in log, log
