"""The one driver for many exposures: prepare, batched detection, finish, failures, catalog rows.

``desghost run``, ``desghost night`` and the ceci stage all call :func:`process_exposures`; they
differ only in the executor that runs the per-exposure steps:

- in this process (:class:`~desghost.driver.executors.InProcessExecutor`: ``run`` and the stage);
- in worker processes (:class:`~desghost.driver.executors.WorkerPool`: ``night``), which read and
  assemble (:func:`~desghost.driver.exposure.prepare_exposure`) and write the products
  (:func:`~desghost.driver.exposure.finish_exposure`) while this process holds the one copy of
  the model and runs it on batches, on the GPU when there is one.

One policy for every shell:

- the output folder (and the catalog, when given) are checked for writing before any exposure
  is read;
- a failed exposure, a worker process that dies included, is recorded with a one-line reason
  and its exit code, and the run goes on;
- an exposure's products appear together or not at all: they are written under temporary
  names and renamed together inside the catalog transaction that records them;
- inputs are recorded as absolute paths;
- SIGTERM and SIGINT stop the worker processes with this one (:class:`Interrupted`).

A bounded number of exposures is in flight, so memory stays flat however long the night.  On
CPU the default batch is one image, which gives results identical to one exposure at a time;
batched CPU inference agrees to float rounding (about 1e-7 in the scores) and is no faster.
"""
import dataclasses
import os
import signal
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

from desghost.atomic import FileGroup
from desghost.catalog.store import Catalog, CatalogError
from desghost.detection.instance import Detections
from desghost.detection.model import resolve_device
from desghost.driver.claims import ExposureClaims
from desghost.driver.executors import InProcessExecutor, WorkerPool
from desghost.driver.exposure import detect_prepared, finish_exposure, load_run_model, prepare_exposure
from desghost.driver.outcome import Outcome, without_pixels
from desghost.driver.preflight import check_catalog, check_output_dir, claim_expnums, is_recorded_done
from desghost.driver.scheduling import decode_threads, in_flight_limit, inference_threads, resolve_batch_size
from desghost.errors import OutputError, failure_reason
from desghost.reading.discovery import expnum_of_input
from desghost.reading.fitsfile import short_error
from desghost.reading.identity import input_identity

__all__ = ["CLAIM_RETRY_S", "Interrupted", "process_exposures", "WORKER_DIED"]

#: Seconds between tries to claim exposures that another live process is working on.
CLAIM_RETRY_S = 0.5
#: Recorded for the exposures in flight when a worker process dies.
WORKER_DIED = "a worker process died while this exposure was in flight; --retry-failed retries it"


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGINT arrived; the workers were stopped.  ``exit_code`` is 128 + the signal."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.exit_code = 128 + signum


def _record_failure(catalog_path, path, reason, exit_code):
    """Record a failed input with its EXPNUM when a quick look at its headers finds one."""
    if catalog_path is not None:
        with Catalog(catalog_path) as catalog:
            catalog.record_failure(path, reason, exit_code, expnum=expnum_of_input(path))


def _failed(path, exc, catalog_path):
    reason, code = failure_reason(exc)
    _record_failure(catalog_path, path, reason, code)
    return Outcome(path, error=reason, exit_code=code)


def _lost(path, catalog_path):
    _record_failure(catalog_path, path, WORKER_DIED, 1)
    return Outcome(path, error=WORKER_DIED, exit_code=1)


def _prepare_step(path, cfg, catalog_path, on_ccd=None):
    """Read and assemble one exposure; a bad one is recorded and returned as a failed Outcome.

    ``on_ccd(path)``, when given (in-process runs only), returns a callable told each CCD read.
    """
    try:
        return path, prepare_exposure(path, cfg, progress=on_ccd(path) if on_ccd else None), None
    except Exception as exc:  # noqa: BLE001 - a failed exposure never stops the run
        return path, None, _failed(path, exc, catalog_path)


def _finish_step(path, prepared, detections, outdir, cfg, catalog_path):
    """Write the products under temporary names, record the exposure, then rename the products into place.

    Products become visible only once their catalog rows are committed; when they cannot be
    put in place, the rows are withdrawn.  A crash between the two leaves rows without
    products, which the night runner does not count as done (the exposure is processed again).
    A catalog that cannot be written (:class:`CatalogError`) stops the run.
    """
    try:
        with FileGroup() as files:
            result = finish_exposure(prepared, detections, outdir, cfg, files=files)
            result.source = path
            result.identity = input_identity(path)
            if catalog_path is None:
                files.commit()
            else:
                with Catalog(catalog_path) as catalog:
                    catalog.record_exposure(result)
                    try:
                        files.commit()
                    except OSError:
                        catalog.withdraw_exposure(result.expnum)
                        raise
    except CatalogError:
        raise
    except Exception as exc:  # noqa: BLE001 - a failed exposure never stops the run
        if isinstance(exc, OSError):
            exc = OutputError(f"cannot write the products ({short_error(exc)})", path=outdir)
        return _failed(path, exc, catalog_path)
    return Outcome(path, result.expnum, result=without_pixels(result), timings_s=result.timings_s)


@contextmanager
def _signals_stop(executor):
    """Turn SIGTERM and SIGINT into :class:`Interrupted` and stop the executor's workers on the way out."""
    def handler(signum, _frame):
        raise Interrupted(signum)

    installed = {}
    try:
        for sig in (signal.SIGTERM, signal.SIGINT):
            installed[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: signals stay with whoever owns them
        installed = {}
    try:
        yield
    except BaseException:
        executor.stop()
        raise
    else:
        executor.close()
    finally:
        for sig, previous in installed.items():
            signal.signal(sig, previous)


def process_exposures(paths, outdir, config, catalog_path=None, workers=0, batch_size=None, inference=True,
                      on_outcome=None, replace=False, on_ccd=None, skip_done=False):
    """Process exposures: the one loop behind ``run``, ``night`` and the ceci stage.

    Parameters
    ----------
    paths : list of str
        Exposures (anything :func:`desghost.reading.exposure.open_exposure` accepts); recorded as
        absolute paths.
    outdir : str or Path
        Products directory (checked for writing before anything is read).
    config : RunConfig
        With worker processes, its ``workers`` (CCD readers per exposure) should be 1: the
        parallelism is across exposures.
    catalog_path : str, optional
        Every exposure is recorded there, done or failed, by the process that finished it.
        None records nothing (the ceci stage merges its ranks' outcomes itself).
    workers : int
        0 runs every step in this process; N > 0 reads, assembles and writes in N worker processes.
    batch_size : int, optional
        Images per forward pass (default 1 on CPU, 8 on the GPU).
    inference : bool
        False skips the forward pass (products with no detections): the I/O ceiling of a run.
    on_outcome : callable, optional
        Called with each :class:`Outcome` as it completes.
    replace : bool
        An input may replace what its EXPNUM has from another input (see :func:`claim_expnums`).
    on_ccd : callable, optional
        With ``workers=0``: ``on_ccd(path)`` gives a callable called with each CCD as it is read
        (a progress bar); ignored with worker processes.
    skip_done : bool
        Skip an exposure that another process finished (recorded with its products, see
        :func:`is_recorded_done`) after the caller chose its inputs: checked once its claim is held,
        and reported as an Outcome with ``skipped`` set.  Needs ``catalog_path``.

    Returns
    -------
    list of Outcome
        One per input, in completion order.

    Raises
    ------
    OutputError, CatalogError
        The output folder or the catalog cannot be written (exit codes 9, 13); nothing was read.
    Interrupted
        SIGTERM or SIGINT arrived; the workers are stopped, finished exposures stay recorded.
    """
    check_output_dir(outdir)
    check_catalog(catalog_path)
    flow = _ExposureFlow(str(outdir), config, catalog_path, workers, batch_size, inference, on_outcome, on_ccd)
    flow.replace, flow.skip_done = replace, skip_done
    kept, refused = claim_expnums([os.path.abspath(str(p)) for p in paths], catalog_path, replace)
    for path, exc in refused:
        flow.done(_failed(path, exc, catalog_path))
    return flow.run(kept)


class _ExposureFlow:
    """The state of one :func:`process_exposures` call: what is being prepared, detected, finished.

    Exposures move through three stages: ``preparing`` (read and assembled by the executor),
    ``ready`` (waiting for the detector, which runs here on batches) and ``finishing``
    (products written and recorded by the executor).  At most ``limit`` are in flight.
    """

    def __init__(self, outdir, config, catalog_path, workers, batch_size, inference, on_outcome, on_ccd):
        import torch

        self.outdir, self.catalog_path, self.workers, self.inference = outdir, catalog_path, workers, inference
        self.on_outcome, self.on_ccd = on_outcome, (on_ccd if workers == 0 else None)
        self.model = load_run_model(config)
        device = resolve_device(config.device)
        self.batch = resolve_batch_size(batch_size, device)
        self.threads_before = torch.get_num_threads()
        if device == "cpu" and workers > 0:
            torch.set_num_threads(inference_threads(workers, device))
        self.threshold = self.model.config.score_threshold
        if workers > 0 and config.decode_threads is None:
            config = dataclasses.replace(config, decode_threads=decode_threads(workers))
        self.config = config
        self.limit = in_flight_limit(workers, self.batch) if workers > 0 else self.batch
        self.executor = WorkerPool(workers) if workers > 0 else InProcessExecutor()
        self.claims = ExposureClaims(outdir)
        self.outcomes, self.preparing, self.finishing, self.ready = [], {}, {}, deque()
        self.todo, self.waiting = deque(), deque()   # waiting: claimed by another live process for now
        self.replace = False   # an input may replace what its EXPNUM has from another input
        self.skip_done = False   # an exposure another process finished meanwhile is skipped

    @property
    def in_flight(self):
        return len(self.preparing) + len(self.ready) + len(self.finishing)

    def done(self, outcome):
        self.claims.release(outcome.path)
        outcome.in_flight = self.in_flight + 1
        self.outcomes.append(outcome)
        if self.on_outcome:
            self.on_outcome(outcome)

    def collect(self, stage, fut, path):
        """Take a finished step's value: an assembled exposure waits for the detector, the rest is done."""
        value = fut.result()
        if stage is self.finishing:
            self.done(value)
        elif value[2] is None:
            self.ready.append((path, value[1]))
        else:
            self.done(value[2])

    def worker_died(self, extra=()):
        """The steps the pool finished are kept; every other exposure in it is recorded as failed."""
        lost = list(extra)
        for stage in (self.preparing, self.finishing):
            for fut, path in list(stage.items()):
                del stage[fut]
                if fut.done() and not fut.cancelled() and fut.exception() is None:
                    self.collect(stage, fut, path)
                else:
                    lost.append(path)
        self.executor.restart()   # the other workers are gone before their exposures' claims are released
        for p in lost:
            self.done(_lost(p, self.catalog_path))

    def submit(self, futures, path, fn, *args):
        """Queue a step; False when the pool broke first (the exposures in flight are recorded as failed)."""
        try:
            futures[self.executor.submit(fn, *args)] = path
            return True
        except BrokenProcessPool:
            self.worker_died()
            return False

    def run(self, paths):
        """Process ``paths`` to the end; the Outcomes in completion order."""
        self.todo.extend(paths)
        import torch

        with _signals_stop(self.executor):
            try:
                while self.todo or self.waiting or self.in_flight:
                    self.start_preparing()
                    if self.waiting and not (self.todo or self.in_flight):
                        time.sleep(CLAIM_RETRY_S)   # every exposure left is another process's for now
                        self.todo.extend(self.waiting)
                        self.waiting.clear()
                    elif self.ready and (len(self.ready) >= self.batch or not self.preparing):
                        self.detect_ready()
                    elif self.preparing or self.finishing:
                        self.collect_finished()
            finally:
                self.claims.release_all()
                torch.set_num_threads(self.threads_before)
        return self.outcomes

    def start_preparing(self):
        """Start reading exposures until ``limit`` are in flight."""
        while self.todo and self.in_flight < self.limit:
            path = self.todo.popleft()
            if not self.claims.take(path):
                self.waiting.append(path)   # another night works on it: wait for it
                continue
            if self.taken_by_another_input(path) or self.done_by_another_process(path):
                continue
            step_args = (path, self.config, self.catalog_path) + ((self.on_ccd,) if self.on_ccd else ())
            if not self.submit(self.preparing, path, _prepare_step, *step_args):
                self.claims.release(path)
                self.todo.appendleft(path)  # its worker pool broke before it started: try again
                break

    def taken_by_another_input(self, path):
        """True (and ``path`` recorded as failed) when, since this run's check of the catalog,
        another process has recorded ``path``'s EXPNUM from another input: checked again once
        the claim is held, so a night never overwrites another night's exposure unasked."""
        if self.replace or self.catalog_path is None:
            return False
        _, refused = claim_expnums([path], self.catalog_path)
        if refused:
            self.done(_failed(path, refused[0][1], self.catalog_path))
        return bool(refused)

    def done_by_another_process(self, path):
        """True (and ``path`` reported skipped) when, with ``skip_done``, another process finished
        ``path``'s exposure after the caller chose its inputs (two nights given the same input: the
        one that waited for the claim does not do it again)."""
        if not self.skip_done or self.replace or self.catalog_path is None:
            return False
        with Catalog(self.catalog_path) as catalog:
            finished = is_recorded_done(catalog, self.outdir, path)
        if finished:
            self.done(Outcome(path, expnum_of_input(path), skipped="done by another process meanwhile"))
        return finished

    def detect_ready(self):
        """Run the detector on one batch of assembled exposures and queue their products."""
        chunk = [self.ready.popleft() for _ in range(min(self.batch, len(self.ready)))]
        try:
            if self.inference:
                found = detect_prepared([p for _, p in chunk], self.model, self.batch)
            else:
                found = [Detections([], self.model.path, self.threshold, self.model.config.tta_views) for _ in chunk]
        except Exception as exc:  # noqa: BLE001 - e.g. GPU out of memory: these fail, not the run
            for path, _ in chunk:
                self.done(_failed(path, RuntimeError(f"detector failed: {type(exc).__name__}: {exc}"),
                                  self.catalog_path))
            return
        for (path, prepared), detections in zip(chunk, found):
            args = (path, prepared, detections, self.outdir, self.config, self.catalog_path)
            queued = self.submit(self.finishing, path, _finish_step, *args)
            if not queued:  # the pool broke before this exposure reached it: try its replacement
                queued = self.submit(self.finishing, path, _finish_step, *args)
            if not queued:
                self.done(_lost(path, self.catalog_path))

    def collect_finished(self):
        """Wait for a step to finish and take what it gave."""
        finished, _ = wait(list(self.preparing) + list(self.finishing), return_when=FIRST_COMPLETED)
        for fut in finished:
            stage = self.preparing if fut in self.preparing else self.finishing
            path = stage.pop(fut)
            try:
                self.collect(stage, fut, path)
            except BrokenProcessPool:
                self.worker_died([path])
                break
