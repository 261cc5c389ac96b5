"""Small helpers: atomic writes, threshold scans, validation that may fail, light results."""
import numpy as np
import pytest

from desghost.atomic import atomic_path
from desghost.dataset import real_split
from desghost.evaluate import (completeness_by_edge_step, cut_predictions, held_out_real_names, miss_reasons,
                               threshold_scan)
from desghost.model import trained_real_images
from desghost.train import _safe_validate, resume_conflicts


def test_atomic_path_renames_on_success_and_cleans_up_on_failure(tmp_path):
    target = tmp_path / "sub" / "x.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("new")
        assert not target.exists()
    assert target.read_text() == "new"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["x.txt"]


def test_threshold_scan_trades_recall_for_precision():
    m = np.zeros((2, 400, 400), dtype=bool)
    m[0, 180:220, 180:220] = True   # right
    m[1, 10:30, 190:210] = True     # a false positive on another CCD, low score
    gts = [(m[:1], np.array([1]))]
    preds = [(m, np.array([1, 1]), np.array([0.9, 0.3]))]
    scan = {r["threshold"]: r for r in threshold_scan(preds, gts, thresholds=(0.2, 0.5))}
    assert scan[0.5]["ccd_precision"] == 1.0 and scan[0.2]["ccd_precision"] < 1.0
    assert scan[0.5]["ccd_recall"] == scan[0.2]["ccd_recall"] == 1.0


def test_a_failing_validation_does_not_stop_training():
    class M:
        training = True

        def eval(self):
            self.training = False

        def train(self):
            self.training = True

    model, logs = M(), []

    def boom(_):
        raise ValueError("bad metric")

    out = _safe_validate(boom, model, logs.append)
    assert "error" in out and model.training and "training goes on" in logs[0]
    assert _safe_validate(lambda _: {"ok": 1}, model, logs.append) == {"ok": 1}


def test_stage_merge_writes_catalog_and_table(tmp_path):
    import fitsio

    from desghost.catalog import Catalog
    from desghost.stage_support import LightInstance, merge_results
    from .test_catalog import fake_result
    r = fake_result(5)
    r.instances = [LightInstance(3, "Rays", 0.9, (1.0, 2.0, 3.0, 4.0), 10)]
    results = [{"ok": True, "input": "a", "result": r},
               {"ok": False, "input": "b", "reason": "not FITS", "exit_code": 3}]
    merge_results(results, tmp_path / "c.sqlite", tmp_path / "t.fits")
    t = fitsio.read(tmp_path / "t.fits", ext="EXCLUDE")
    assert t["CCDNUM"].tolist() == [5, 6] and fitsio.read_header(tmp_path / "t.fits", ext=1)["NFAILED"] == 1
    with Catalog(tmp_path / "c.sqlite", create=False) as cat:
        assert cat.query("SELECT area_px FROM instances")[0]["area_px"] == 10
        assert cat.query("SELECT reason FROM failures")[0]["reason"] == "not FITS"


def test_suppress_overlaps_drops_lower_scoring_duplicates_of_any_class():
    from desghost.detect import Instance, suppress_overlaps

    def inst(cls, score, r0, r1, c0, c1):
        m = np.zeros((400, 400), dtype=bool)
        m[r0:r1, c0:c1] = True
        return Instance(cls, ("", "Bright", "Faint", "Rays")[cls], score, (c0, r0, c1, r1), m)

    a = inst(1, 0.9, 100, 200, 100, 200)          # Bright
    b = inst(2, 0.6, 105, 200, 100, 200)          # the same ghost as Faint: IoU 0.95
    c = inst(2, 0.7, 150, 250, 100, 200)          # overlaps a by IoU 50/150 = 0.33
    d = inst(3, 0.5, 300, 320, 300, 320)          # elsewhere
    kept = suppress_overlaps([b, d, a, c], 0.5)
    assert [k.score for k in kept] == [0.9, 0.7, 0.5]
    assert [k.score for k in suppress_overlaps([b, d, a, c], 0.3)] == [0.9, 0.5]
    assert len(suppress_overlaps([b, d, a, c], 0.0)) == 4


def test_failure_reason_keeps_desghost_exit_codes_and_names_internal_errors():
    from desghost.errors import CorruptFileError, failure_reason
    assert failure_reason(CorruptFileError("x.fits.fz: HDU 3 truncated")) == ("x.fits.fz: HDU 3 truncated", 4)
    assert failure_reason(ZeroDivisionError("boom")) == ("internal error: ZeroDivisionError: boom", 1)


def test_setup_cfg_installs_every_subpackage():
    """A package missing from setup.cfg works in an editable install and breaks a real one."""
    import configparser
    from pathlib import Path
    repo = Path(__file__).resolve().parents[1]
    cfg = configparser.ConfigParser()
    cfg.read(repo / "setup.cfg")
    listed = set(cfg["options"]["packages"].split())
    found = {".".join(p.parent.relative_to(repo).parts) for p in (repo / "desghost").rglob("__init__.py")}
    assert found <= listed, f"add to setup.cfg [options] packages: {sorted(found - listed)}"


def test_resume_may_change_only_the_length_and_bookkeeping():
    saved = {"steps": 100, "seed": 3, "lr": 2e-4, "log_every": 10, "real_images_trained": ["a.jpg"]}
    assert resume_conflicts(saved, {**saved, "steps": 400, "log_every": 50}) == []
    found = resume_conflicts(saved, {**saved, "lr": 4e-4, "real_images_trained": []})
    assert found == ["lr: checkpoint 0.0002, now 0.0004", "real_images_trained: checkpoint ['a.jpg'], now []"]
    assert resume_conflicts({"seed": 3}, {"seed": 3, "clean_fraction": 0.3}) == []  # older checkpoints


def test_trained_real_images_follows_init_models_and_averaged_parents():
    run = {"train_config": {"real_fraction": 0.35}, "real_images_trained": ["b.jpg"],
           "init_model_real_images": {"names": ["a.jpg"], "complete": True}}
    assert trained_real_images({"training": run}) == ({"a.jpg", "b.jpg"}, True)
    old = {"train_config": {"real_fraction": 0.35}}  # predates the record
    soup = {"training": {"weight_average_of": ["x", "y"]}, "weight_average": {"training": [run, old]}}
    assert trained_real_images(soup) == ({"a.jpg", "b.jpg"}, False)
    synthetic_only = {"training": {"train_config": {"real_fraction": 0.0}, "real_images_trained": []}}
    assert trained_real_images(synthetic_only) == (set(), True)


def test_real_split_is_by_sorted_name():
    assert real_split({"c.jpg": 1, "a.jpg": 2, "b.jpg": 3}, 2) == (["a.jpg", "b.jpg"], ["c.jpg"])


def test_held_out_real_names_leaves_out_what_the_model_trained_on():
    names = [f"img{i:02d}.jpg" for i in range(12)]
    recorded = {"training": {"train_config": {"real_fraction": 0.35}, "real_images_trained": ["img03.jpg"]}}
    kept, note = held_out_real_names(names, recorded)  # a complete record decides alone
    assert kept == [n for n in names if n != "img03.jpg"] and note == ""
    old = {"training": {"train_config": {"real_fraction": 0.35}}}  # predates the record
    kept, note = held_out_real_names(names, old)
    assert kept == names[10:] and "assuming the first 10" in note
    kept, note = held_out_real_names(names, recorded, held_out_after=2)
    assert kept == [n for n in names[2:] if n != "img03.jpg"] and note == ""


def test_cut_predictions_keeps_instances_at_or_above_the_threshold():
    masks = np.zeros((3, 4, 4), dtype=bool)
    masks[1, 0, 0] = True
    ((m, lab, sc), (m2, lab2, sc2)) = cut_predictions(
        [(masks, np.array([1, 2, 3]), np.array([0.1, 0.5, 0.7])), (masks[:0], np.zeros(0, int), np.zeros(0))], 0.5)
    assert lab.tolist() == [2, 3] and sc.tolist() == [0.5, 0.7] and m[0, 0, 0] and not m[1].any()
    assert len(m2) == len(lab2) == len(sc2) == 0


def test_completeness_counts_an_instance_found_by_a_prediction_of_its_class_at_iou_half():
    def box(r0, r1, c0, c1):
        m = np.zeros((20, 20), dtype=bool)
        m[r0:r1, c0:c1] = True
        return m
    gt_masks = np.stack([box(0, 10, 0, 10), box(0, 10, 10, 20), box(10, 20, 0, 10), box(10, 20, 10, 20)])
    gt_labels = np.array([1, 1, 2, 2])
    steps = np.array([0.1, 3.0, 3.0, np.nan])  # the last one has no measurable edge: left out
    pred_masks = np.stack([box(0, 10, 0, 6),     # IoU 0.6 with the first Bright: found
                           box(0, 10, 10, 14),   # IoU 0.4 with the second: not found
                           box(10, 20, 0, 10)])  # right place, wrong class for the Faint: not found
    preds = [(pred_masks, np.array([1, 1, 1]), np.array([0.9, 0.8, 0.7]))]
    table = completeness_by_edge_step([(gt_masks, gt_labels)], preds, [steps], bins=(-np.inf, 1.0, np.inf))
    assert table[1] == [(-np.inf, 1.0, 1, 1.0), (1.0, np.inf, 1, 0.0)]
    assert table[2][1] == (1.0, np.inf, 1, 0.0) and table[2][0][2] == 0 and np.isnan(table[2][0][3])
    assert table[3][0][2] == table[3][1][2] == 0


def test_miss_reasons_gives_each_missed_instance_the_first_reason_that_applies():
    def box(r0, r1, c0, c1):
        m = np.zeros((20, 20), dtype=bool)
        m[r0:r1, c0:c1] = True
        return m
    gt_masks = np.stack([box(0, 10, 0, 10),     # found
                         box(0, 10, 10, 20),    # Faint there, above threshold: other class
                         box(10, 20, 0, 10),    # right class only at 0.2: below threshold
                         box(10, 20, 10, 20),   # right class at 0.9 but IoU 0.3: poor outline
                         box(5, 15, 5, 15)])    # too faint to count (step 0.5 < 2)
    gt_labels = np.array([1, 1, 1, 1, 1])
    steps = [np.array([3.0, 3.0, 3.0, 3.0, 0.5])]
    pred_masks = np.stack([box(0, 10, 0, 10), box(0, 10, 10, 20), box(10, 20, 0, 10), box(10, 13, 10, 20)])
    preds = [(pred_masks, np.array([1, 2, 1, 1]), np.array([0.9, 0.9, 0.2, 0.9]))]
    out = miss_reasons([(gt_masks, gt_labels)], preds, 0.5, steps, min_step=2.0)
    assert out[1] == {"instances": 4, "found": 1, "other class": 1, "below threshold": 1, "poor outline": 1,
                      "not found": 0}
    everything = miss_reasons([(gt_masks, gt_labels)], preds, 0.5)
    assert everything[1]["instances"] == 5 and everything[1]["poor outline"] == 2  # the fifth: IoU 0.14 with the first
    assert everything[2]["instances"] == 0
    # at a threshold below every score the third instance is found
    assert miss_reasons([(gt_masks, gt_labels)], preds, 0.1, steps, min_step=2.0)[1]["found"] == 2
