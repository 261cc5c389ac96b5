"""Many exposures with the work overlapped: workers read, the parent detects in batches.

Worker processes run :func:`desghost.pipeline.prepare_exposure` (reading, decompressing and
assembling: the I/O- and CPU-bound part) and :func:`desghost.pipeline.finish_exposure`
(projection and product writing).  The parent process holds the one copy of the model and
runs it on batches of assembled focal-plane images, on the GPU when there is one.  A bounded
number of exposures is in flight at any time, so memory stays flat however long the night.

On CPU the cores are split: the workers get one core each and the parent's detector gets the
rest (at least one thread).  On CPU the default batch is one image, which gives results
identical to ``desghost run`` on each exposure alone; batched CPU inference agrees to float
rounding (about 1e-7 in the scores) and is no faster.
"""
import os
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from .catalog import Catalog
from .errors import failure_reason
from .pipeline import detect_prepared, finish_exposure, load_run_model, prepare_exposure

#: Images per forward pass on the GPU when the caller does not choose.
DEFAULT_GPU_BATCH = 8


@dataclass
class Outcome:
    """What happened to one exposure."""

    path: str
    expnum: int | None = None
    error: str | None = None
    timings_s: dict = field(default_factory=dict)
    in_flight: int = 0   # exposures in flight when this one completed (bounded by the queue limit)


def available_cores():
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_workers():
    """Assembly workers when the user does not choose: one per core.

    Assembly is the bottleneck on CPU too (about 18 s per full-size raw exposure on one core
    against 0.7 s of detection), so the detector shares a core rather than keeping one idle.
    """
    return max(1, available_cores())


def inference_threads(workers, device, cores=None):
    """Torch threads of the parent's detector: the cores the workers leave, at least one (CPU only)."""
    cores = cores or available_cores()
    return max(1, cores - workers) if device == "cpu" else 1


def resolve_batch_size(batch_size, device):
    """``None`` means 1 on CPU (identical to single-exposure runs) and 8 on the GPU."""
    if batch_size:
        return int(batch_size)
    return DEFAULT_GPU_BATCH if device == "cuda" else 1


def in_flight_limit(workers, batch_size):
    """Exposures allowed in flight at once (queued, assembled and waiting, or being written).

    Enough to keep every worker busy while a batch waits for the detector and the previous
    batch is written; memory per exposure in flight is one 400x400 image plus its masks.
    """
    return 2 * workers + batch_size


def _worker_init():
    # assembly is numpy/fitsio; keep any BLAS pool at one thread per worker
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"


def _record_failure(catalog_path, path, reason, exit_code):
    with Catalog(catalog_path) as catalog:
        catalog.record_failure(os.path.abspath(path), reason, exit_code)


def _prepare_task(path, cfg, catalog_path):
    """Worker: read and assemble; a bad exposure is recorded and returned as a failure."""
    try:
        return path, prepare_exposure(os.path.abspath(path), cfg), None
    except Exception as exc:  # noqa: BLE001 - a failed exposure never stops the night
        reason, code = failure_reason(exc)
    _record_failure(catalog_path, path, reason, code)
    return path, None, reason


def _finish_task(path, prepared, instances, outdir, cfg, threshold, detect_s, catalog_path):
    """Worker: write the products, then record the exposure in the catalog (in one transaction)."""
    try:
        result = finish_exposure(prepared, instances, outdir, cfg, threshold, detect_s=detect_s)
    except Exception as exc:  # noqa: BLE001 - a failed exposure never stops the night
        reason, code = failure_reason(exc)
        _record_failure(catalog_path, path, reason, code)
        return Outcome(path, error=reason)
    result.source = os.path.abspath(path)
    with Catalog(catalog_path) as catalog:
        catalog.record_exposure(result)
    return Outcome(path, result.expnum, None, result.timings_s)


def run_overlapped(paths, outdir, cfg, catalog_path, workers=1, batch_size=None, inference=True,
                   on_outcome=None):
    """Process exposures with assembly in worker processes and batched detection in this one.

    Parameters
    ----------
    paths : list of str
        Exposures (anything :func:`desghost.readers.open_exposure` accepts).
    outdir : str
        Products directory.
    cfg : RunConfig
        Its ``workers`` (CCD readers per exposure) should be 1 here: the parallelism is across
        exposures.
    catalog_path : str
        Every exposure is recorded there (done or failed) by the process that finished it.
    workers : int
        Assembly worker processes.
    batch_size : int, optional
        Images per forward pass (default 1 on CPU, 8 on the GPU).
    inference : bool
        False skips the forward pass (products with no detections): the I/O ceiling of a run.
    on_outcome : callable, optional
        Called with each :class:`Outcome` as it completes.

    Returns
    -------
    list of Outcome
    """
    import multiprocessing

    import torch

    from .model import resolve_device

    model = load_run_model(cfg)
    device = resolve_device(cfg.device)
    batch = resolve_batch_size(batch_size, device)
    threads_before = torch.get_num_threads()
    if device == "cpu":
        torch.set_num_threads(inference_threads(workers, device))
    threshold = model.config.score_threshold
    limit = in_flight_limit(workers, batch)
    outcomes = []
    todo = deque(paths)
    preparing, finishing, ready = {}, {}, deque()

    def done(outcome):
        outcome.in_flight = len(preparing) + len(ready) + len(finishing) + 1
        outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)

    def new_pool():
        # spawn, not fork: a forked child of a process that already ran torch can deadlock
        return ProcessPoolExecutor(max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_init)

    pool = new_pool()
    try:
        while todo or preparing or finishing or ready:
            while todo and len(preparing) + len(ready) + len(finishing) < limit:
                path = todo.popleft()
                preparing[pool.submit(_prepare_task, path, cfg, catalog_path)] = path
            if ready and (len(ready) >= batch or not preparing):
                chunk = [ready.popleft() for _ in range(min(batch, len(ready)))]
                try:
                    if inference:
                        found, per_image_s = detect_prepared([p for _, p in chunk], model, batch)
                    else:
                        found, per_image_s = [[] for _ in chunk], 0.0
                except Exception as exc:  # noqa: BLE001 - e.g. GPU out of memory: these exposures fail, not the night
                    reason = f"detector failed: {type(exc).__name__}: {exc}"
                    for path, _ in chunk:
                        _record_failure(catalog_path, path, reason, 1)
                        done(Outcome(path, error=reason))
                    continue
                for (path, prepared), instances in zip(chunk, found):
                    fut = pool.submit(_finish_task, path, prepared, instances, outdir, cfg, threshold,
                                      per_image_s, catalog_path)
                    finishing[fut] = path
                continue
            finished, _ = wait(list(preparing) + list(finishing), return_when=FIRST_COMPLETED)
            for fut in finished:
                try:
                    if fut in preparing:
                        path = preparing.pop(fut)
                        _, prepared, error = fut.result()
                        if error is None:
                            ready.append((path, prepared))
                        else:
                            done(Outcome(path, error=error))
                    else:
                        path = finishing.pop(fut)
                        done(fut.result())
                except BrokenProcessPool:
                    # a worker died (killed, out of memory, crashed in a library): every
                    # exposure in flight is recorded as failed and the night goes on
                    lost = [path] + list(preparing.values()) + list(finishing.values())
                    preparing.clear()
                    finishing.clear()
                    reason = "a worker process died while this exposure was in flight; --retry-failed retries it"
                    for p in lost:
                        _record_failure(catalog_path, p, reason, 1)
                        done(Outcome(p, error=reason))
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = new_pool()
                    break
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        torch.set_num_threads(threads_before)
    return outcomes
