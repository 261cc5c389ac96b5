"""The training batch prefetcher: same batches as rendering them in place, errors passed on."""
import csv
import operator

import numpy as np
import pytest

from desghost.prefetch import Prefetcher
from desghost.train import TrainConfig, batch_samples, train


def test_prefetcher_returns_what_the_function_returns_in_any_order():
    with Prefetcher(operator.mul, (3,)) as ahead:
        assert [ahead.get(s) for s in (0, 1, 2, 7, 5, 6)] == [0, 3, 6, 21, 15, 18]
    with Prefetcher(operator.mul, (3,), enabled=False) as here:
        assert here.get(4) == 12


def test_an_error_in_the_worker_is_raised_by_get():
    with Prefetcher(operator.truediv, (0,)) as ahead:
        with pytest.raises(ZeroDivisionError):
            ahead.get(1)


def test_prefetched_training_batches_are_the_batches_rendered_in_place():
    cfg = TrainConfig(batch_size=2, seed=4, clean_fraction=0.0)
    with Prefetcher(batch_samples, (cfg, None)) as ahead:
        for step in (0, 1, 3):
            got, want = ahead.get(step), batch_samples(step, cfg)
            assert len(got) == len(want) == 2
            for (gi, gm, gl), (wi, wm, wl) in zip(got, want):
                assert np.array_equal(gi, wi) and np.array_equal(gm, wm) and np.array_equal(gl, wl)
    other = batch_samples(0, TrainConfig(batch_size=2, seed=5, clean_fraction=0.0))
    assert not np.array_equal(other[0][0], batch_samples(0, cfg)[0][0])


def test_training_with_and_without_prefetch_logs_the_same_losses(tmp_path):
    logs = {}
    for prefetch in (True, False):
        cfg = TrainConfig(steps=2, batch_size=2, warmup_steps=1, checkpoint_every=2, log_every=1, val_every=1000,
                          prefetch=prefetch)
        train(tmp_path / str(prefetch), train_cfg=cfg, log=lambda t: None)
        with open(tmp_path / str(prefetch) / "log.csv") as fh:
            logs[prefetch] = [r["loss"] for r in csv.DictReader(fh)]
    assert len(logs[True]) == 2 and logs[True] == logs[False]
