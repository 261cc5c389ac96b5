"""Where the driver's per-exposure steps run: in this process, or in a pool of worker processes.

Both executors give :class:`concurrent.futures.Future` objects, so the driver's loop is the
same for ``desghost run`` and the ceci stage (in-process) and ``desghost night`` (a pool).
"""
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor

__all__ = ["InProcessExecutor", "PARENT_CHECK_S", "WorkerPool"]


class InProcessExecutor:
    """Runs each task at once, in this process; its future is already done when returned."""

    def submit(self, fn, *args):
        """Run ``fn(*args)`` now; an exception is kept in the future, as a pool would."""
        future = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - the driver decides what a failure means
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            future.set_exception(exc)
        return future

    def restart(self):
        """Nothing to restart: there is no worker to lose."""
        return self

    def stop(self):
        """Nothing runs in the background."""

    close = stop


#: Seconds between a worker's checks that its parent still lives.
PARENT_CHECK_S = 1.0
#: ``prctl`` option asking Linux to signal a process when its parent dies.
_PR_SET_PDEATHSIG = 1


def _exit_with_parent(parent_pid):
    """End this worker when ``parent_pid`` dies: Linux's parent-death signal, and a watching thread.

    The signal is immediate but bound to the parent's thread that started the worker; the
    thread (checking every :data:`PARENT_CHECK_S`) covers the rest and other systems.
    """
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_S)
        os._exit(1)

    if os.getppid() != parent_pid:   # the parent died before the signal was asked for
        os._exit(1)
    threading.Thread(target=watch, name="desghost-parent-watch", daemon=True).start()


def _worker_init(parent_pid):
    # assembly is numpy/fitsio; keep any BLAS pool at one thread per worker
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    _exit_with_parent(parent_pid)


class WorkerPool:
    """A pool of ``workers`` spawned processes that can be restarted after one dies and stopped at once.

    Spawned, not forked: a forked child of a process that already ran torch can deadlock.
    Workers exit when this process dies, even by SIGKILL (:func:`_exit_with_parent`).
    """

    def __init__(self, workers):
        self.workers = max(1, int(workers))
        self._pool = self._new()

    def _new(self):
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_init, initargs=(os.getpid(),))

    def submit(self, fn, *args):
        """Queue ``fn(*args)``; raises ``BrokenProcessPool`` when a worker has died."""
        return self._pool.submit(fn, *args)

    def restart(self):
        """Replace a broken pool (its workers are killed) with a fresh one."""
        self._kill_workers()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new()
        return self

    def stop(self):
        """Kill the workers now (a signal or an error in the parent), then let the pool go."""
        self._kill_workers()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def close(self):
        """Wait for the queued work and let the workers exit (the normal end of a run)."""
        self._pool.shutdown(wait=True)

    def _kill_workers(self):
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        for proc in processes:
            if proc.is_alive():
                proc.kill()
        for proc in processes:
            proc.join(timeout=5)
        # A worker killed while writing its result leaves half a message in the result pipe, and
        # the pool's manager thread then waits for the rest forever (so would shutdown and the
        # interpreter's exit).  With every worker dead, closing this process's own write end
        # turns that wait into end-of-file, which the pool handles as a broken pool.
        if processes and not any(proc.is_alive() for proc in processes):
            writer = getattr(getattr(self._pool, "_result_queue", None), "_writer", None)
            if writer is not None and not writer.closed:
                writer.close()
