"""Compute the next training batch in a background process while the model trains on this one.

Rendering a synthetic focal-plane image takes about 0.2 s of one core (numpy and scipy), so a
batch costs about half a second that the forward and backward passes would otherwise wait for.
:func:`step_batches` is a :class:`torch.utils.data.DataLoader` over the steps with one spawned
worker that renders step ``s + 1`` while the caller trains on step ``s``.  The batch function
must be a pure function of its arguments (the training batch of a step is), so the batches
are the same with and without the worker.
"""
import os
import signal

__all__ = ["step_batches"]


def _as_is(batch):
    # the DataLoader's default collation would turn the numpy arrays into tensors
    return batch


def _own_process_group(_worker_id):
    # Ctrl-C, and a SIGTERM sent to the trainer's whole process group (kill -- -PGID, a batch
    # system's job cancel), must reach only the trainer, which checkpoints and then stops the
    # worker; the worker still ends on the SIGTERM the DataLoader's own shutdown sends it.
    os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _Steps:
    """A map-style dataset whose item ``step`` is ``fn(step, *args)``."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, tuple(args)

    def __getitem__(self, step):
        return self.fn(step, *self.args)


def step_batches(fn, args=(), first_step=0, last_step=None, prefetch=True, workers=1):
    """``fn(step, *args)`` for each step from ``first_step`` to ``last_step`` (excluded), in order.

    Parameters
    ----------
    fn : callable
        A module-level (picklable) function of ``(step, *args)``.
    args : tuple
        Picklable arguments passed to every call.
    first_step, last_step : int
    prefetch : bool
        True computes the next steps' values in worker processes (started with ``spawn``:
        ``fork`` is unsafe after torch has started its threads); False computes each value in
        this process when it is asked for.
    workers : int
        Worker processes when prefetching (1 on a CPU machine: the next step while this one
        trains; more on a GPU machine, whose steps outrun one renderer).  The values come in
        step order whatever their number.

    Returns
    -------
    torch.utils.data.DataLoader
        Iterate it once; an exception raised by ``fn`` in the worker is raised again here.
    """
    from torch.utils.data import DataLoader  # torch: imported only when training

    worker = {"num_workers": max(1, int(workers)), "prefetch_factor": 1 if workers <= 1 else 2,
              "multiprocessing_context": "spawn", "worker_init_fn": _own_process_group} if prefetch else {"num_workers": 0}
    return DataLoader(_Steps(fn, args), batch_size=None, sampler=range(first_step, last_step),
                      collate_fn=_as_is, **worker)
