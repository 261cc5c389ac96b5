"""Pure pieces of training: resume checks, a failing validation, the real-image split."""

from desghost.focalplane.annotated_set import real_split
from desghost.training.config import resume_conflicts
from desghost.training.train import _safe_validate


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


def test_resume_may_change_only_the_length_and_bookkeeping():
    saved = {"steps": 100, "seed": 3, "lr": 2e-4, "log_every": 10, "real_images_trained": ["a.jpg"]}
    assert resume_conflicts(saved, {**saved, "steps": 400, "log_every": 50}) == []
    found = resume_conflicts(saved, {**saved, "lr": 4e-4, "real_images_trained": []})
    assert found == ["lr: checkpoint 0.0002, now 0.0004", "real_images_trained: checkpoint ['a.jpg'], now []"]
    assert resume_conflicts({"seed": 3}, {"seed": 3, "clean_fraction": 0.3}) == []  # older checkpoints


def test_real_split_is_by_sorted_name():
    assert real_split({"c.jpg": 1, "a.jpg": 2, "b.jpg": 3}, 2) == (["a.jpg", "b.jpg"], ["c.jpg"])
