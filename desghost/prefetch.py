"""Compute the next training batch in a background process while the model trains on this one.

Rendering a synthetic focal-plane image takes about 0.2 s of one core (numpy and scipy), so a
batch costs about half a second that the forward and backward passes would otherwise wait for.
:class:`Prefetcher` runs ``fn(step, *args)`` for step ``s + 1`` in one worker process while the
caller uses the result for step ``s``.  ``fn`` must be a pure function of its arguments (the
training batch of a step is), so the results are the same with and without the worker.
"""
import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor

_WORK = {}


def _init_worker(fn, args):
    # Ctrl-C reaches the whole process group; the trainer handles it and closes the worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORK["fn"], _WORK["args"] = fn, args


def _call(step):
    return _WORK["fn"](step, *_WORK["args"])


class Prefetcher:
    """``get(step)`` returns ``fn(step, *args)``, computing ``fn(step + 1, *args)`` meanwhile.

    Parameters
    ----------
    fn : callable
        A module-level (picklable) function of ``(step, *args)``.
    args : tuple
        Picklable arguments passed to every call.
    enabled : bool
        False computes each call in this process when asked (no worker).

    Notes
    -----
    The worker is started with ``spawn`` (never ``fork``, which is unsafe after torch has
    started its threads).  An exception raised by ``fn`` in the worker is raised again by
    :meth:`get`.  Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, fn, args=(), enabled=True):
        self._fn, self._args = fn, tuple(args)
        self._pending = {}
        self._pool = None
        if enabled:
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_init_worker, initargs=(fn, self._args))

    def get(self, step):
        """The value of ``fn(step, *args)``; starts the next step's computation first."""
        if self._pool is None:
            return self._fn(step, *self._args)
        future = self._pending.pop(step, None)
        if future is None:
            future = self._pool.submit(_call, step)
        for stale in [s for s in self._pending if s != step + 1]:
            self._pending.pop(stale).cancel()
        if step + 1 not in self._pending:
            self._pending[step + 1] = self._pool.submit(_call, step + 1)
        return future.result()

    def close(self):
        """Stop the worker (a computation in flight is dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self._pending.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
