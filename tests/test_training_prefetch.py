"""The training batch prefetcher (a DataLoader with one spawned worker): same batches, errors passed on."""
import csv
import operator

import numpy as np
import pytest

from desghost.training.prefetch import step_batches
from desghost.training.train import TrainConfig, batch_samples, train


def test_step_batches_give_what_the_function_returns_with_and_without_the_worker():
    ahead = step_batches(operator.mul, (3,), first_step=2, last_step=7)
    assert ahead.num_workers == 1 and ahead.multiprocessing_context.get_start_method() == "spawn"
    assert list(ahead) == [6, 9, 12, 15, 18]
    assert list(step_batches(operator.mul, (3,), first_step=2, last_step=7, prefetch=False)) == [6, 9, 12, 15, 18]
    assert list(step_batches(operator.mul, (3,), first_step=4, last_step=4)) == []
    # several rendering workers (a GPU machine's setting): the same values, in step order
    assert list(step_batches(operator.mul, (3,), first_step=2, last_step=9, workers=3)) == [6, 9, 12, 15, 18, 21, 24]


def test_an_error_in_the_worker_is_raised_to_the_trainer():
    with pytest.raises(ZeroDivisionError):
        list(step_batches(operator.truediv, (0,), first_step=1, last_step=3))


def test_a_process_whose_worker_failed_still_exits():
    import subprocess
    import sys

    # the DataLoader's shutdown ends the worker with SIGTERM; a worker that ignored it kept the
    # interpreter waiting at exit for ever
    code = ("import operator\nfrom desghost.training.prefetch import step_batches\n"
            "try:\n    list(step_batches(operator.truediv, (0,), first_step=1, last_step=3))\n"
            "except ZeroDivisionError:\n    print('raised')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "raised", done.stderr


@pytest.mark.slow
def test_prefetched_training_batches_are_the_batches_rendered_in_place():
    cfg = TrainConfig(batch_size=2, seed=4, clean_fraction=0.0)
    for step, got in enumerate(step_batches(batch_samples, (cfg, None), first_step=0, last_step=2)):
        want = batch_samples(step, cfg)
        assert len(got) == len(want) == 2
        for (gi, gm, gl), (wi, wm, wl) in zip(got, want):
            assert isinstance(gi, np.ndarray) and gi.dtype == np.uint8  # not collated into tensors
            assert np.array_equal(gi, wi) and np.array_equal(gm, wm) and np.array_equal(gl, wl)
    other = batch_samples(0, TrainConfig(batch_size=2, seed=5, clean_fraction=0.0))
    assert not np.array_equal(other[0][0], batch_samples(0, cfg)[0][0])


@pytest.mark.slow
def test_training_with_and_without_prefetch_logs_the_same_losses(tmp_path):
    logs = {}
    for prefetch in (True, False):
        cfg = TrainConfig(steps=2, batch_size=2, warmup_steps=1, checkpoint_every=2, log_every=1, val_every=1000,
                          prefetch=prefetch)
        train(tmp_path / str(prefetch), train_cfg=cfg, log=lambda t: None)
        with open(tmp_path / str(prefetch) / "log.csv") as fh:
            logs[prefetch] = [r["loss"] for r in csv.DictReader(fh)]
    assert len(logs[True]) == 2 and logs[True] == logs[False]
