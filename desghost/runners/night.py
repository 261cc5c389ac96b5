"""The nightly batch runner: many exposures, resumable, idempotent, failures recorded.

Every exposure goes through :func:`desghost.driver.many.process_exposures` with worker
processes: they read, assemble and write, this process runs the model (loaded once) on
batches.  An exposure is done when its products exist and its catalog row is in; done
exposures are skipped unless ``force``, and exposures that failed before are skipped (and
listed as still failed) unless ``retry_failed``.  An exposure's products and catalog rows
appear together, so a run killed at any moment loses nothing and leaves no half-written
product; stale temporary files of a killed run are removed when the next run starts.
"""
import json
import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import fitsio
import numpy as np
from tqdm import tqdm

from desghost import __version__
from desghost.atomic import atomic_path, folder_lock, open_no_follow, remove_stale_parts
from desghost.catalog.store import Catalog
from desghost.driver.exposure import RunConfig, product_names
from desghost.driver.many import process_exposures
from desghost.driver.preflight import REQUIRED_PRODUCTS, check_catalog, check_output_dir, is_recorded_done
from desghost.driver.scheduling import default_workers
from desghost.errors import OutputError, exit_code_of_run, failure_reason
from desghost.products.exclusion import raytrace_lines
from desghost.products.exclusion_rule import CCDExclusion
from desghost.products.region_table import REGION_DTYPE, write_region_table
from desghost.reading.discovery import discover_inputs
from desghost.reading.fitsfile import cfitsio_name
from desghost.report.html import write_report
from desghost.report.night_data import SUMMARY_NAME

__all__ = ["NightPlan", "NightSummary", "plan_night", "REQUIRED_PRODUCTS", "run_night", "write_night_lists",
           "write_summary"]


@dataclass
class NightSummary:
    """What a night did.

    Attributes
    ----------
    done, skipped : list of str
        Absolute input paths.
    failed : list of (str, str, int)
        ``(input, reason, exit code)`` of the exposures that failed in this run.
    still_failed : list of (str, str, int)
        Exposures skipped because they failed in an earlier run (``--retry-failed`` retries them).
    warning_codes : set of int
        Exit codes of the input warnings of the exposures done (10-12, 15, 17).
    warnings : list of (str, str)
        ``(input, message)`` of every input warning of the exposures done (logged, in the
        summary file and the report).
    seconds : float
    report, report_error : str or None
        The HTML report written, or why it could not be.
    """

    done: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    still_failed: list = field(default_factory=list)
    warning_codes: set = field(default_factory=set)
    warnings: list = field(default_factory=list)
    seconds: float = 0.0
    report: str | None = None
    report_error: str | None = None

    @property
    def exposures_per_minute(self):
        return len(self.done) / self.seconds * 60 if self.seconds > 0 else 0.0

    def exit_code(self, lenient=False):
        """The night's exit code by :func:`desghost.errors.exit_code_of_run`; still-failed exposures count."""
        codes = [code for _, _, code in self.failed + self.still_failed]
        n_inputs = len(self.done) + len(self.skipped) + len(self.failed)
        return exit_code_of_run(codes, n_inputs, self.warning_codes, lenient)

    def line(self):
        still = f" ({len(self.still_failed)} failed before)" if self.still_failed else ""
        warned = f"; {len(self.warnings)} input warnings (exit {max(self.warning_codes)})" if self.warnings else ""
        return (f"done {len(self.done)}, skipped {len(self.skipped)}{still}, failed {len(self.failed)} "
                f"in {self.seconds:.1f} s ({self.exposures_per_minute:.2f} exposures/min){warned}")


def _earlier_failure(catalog, path):
    rows = catalog.query("SELECT reason, exit_code FROM failures WHERE source='desghost' AND input=?", (path,))
    return (path, rows[0]["reason"], rows[0]["exit_code"] or 1) if rows else None


def write_night_lists(catalog, outdir, inputs):
    """Write ``ghost-scatter-<NITE>.txt`` for each observing night of the done ``inputs``: DELVE's list
    layout; and ``desghost_regions-<NITE>.fits``, the night's region tables in one (decasu's quads).

    Each list holds every desghost row of its night in the catalog (earlier runs included), so
    DELVE's converter labels the rows as ghosts by the file name; the region table joins the
    ``D<expnum>_desghost_regions.fits`` of the night's exposures in ``outdir``.  Returns the
    paths written.
    """
    if not inputs:
        return []
    marks = ",".join("?" * len(inputs))
    nites = [r["nite"] for r in catalog.query(
        f"SELECT DISTINCT nite FROM exposures WHERE source='desghost' AND nite IS NOT NULL AND input IN ({marks})",  # noqa: S608
        tuple(inputs))]
    written = []
    for nite in sorted(nites):
        rows = [CCDExclusion.from_row(r) for r in catalog.query(
            "SELECT * FROM excluded_ccds WHERE source='desghost' AND nite=?", (nite,))]
        path = Path(outdir) / f"ghost-scatter-{nite}.txt"
        with atomic_path(path) as tmp:
            tmp.write_text("\n".join(raytrace_lines(rows)) + "\n")
        written.append(str(path))
        written += _night_regions(catalog, outdir, nite)
    return written


def _night_regions(catalog, outdir, nite):
    """``desghost_regions-<NITE>.fits``: the region tables of the night's exposures in ``outdir``, joined."""
    expnums = [r["expnum"] for r in catalog.query(
        "SELECT expnum FROM exposures WHERE source='desghost' AND nite=? ORDER BY expnum", (nite,))]
    tables = []
    for e in expnums:
        path = Path(outdir) / product_names(e)["regions"]
        if path.exists():
            with cfitsio_name(path) as name:
                tables.append(fitsio.read(name, ext="REGIONS"))
    if not tables:
        return []
    path = Path(outdir) / f"desghost_regions-{nite}.fits"
    write_region_table(path, np.concatenate(tables).astype(REGION_DTYPE),
                       [{"name": "NITE", "value": nite, "comment": "observing night"},
                        {"name": "DGVERS", "value": f"desghost {__version__}"}])
    return [str(path)]


def write_summary(path, summary, config, workers, batch_size):
    """The night's summary as JSON (read by the report), written atomically."""
    doc = {"software": f"desghost {__version__}", "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "seconds": round(summary.seconds, 3), "exposures_per_minute": round(summary.exposures_per_minute, 3),
           "done": len(summary.done), "skipped": len(summary.skipped), "done_inputs": summary.done,
           "warnings": [{"input": p, "message": m} for p, m in summary.warnings],
           "failed": [{"input": p, "reason": r, "exit_code": c, "earlier_run": False} for p, r, c in summary.failed]
           + [{"input": p, "reason": r, "exit_code": c, "earlier_run": True} for p, r, c in summary.still_failed],
           "model": config.model or "default", "threshold": config.threshold, "area_threshold": config.area_threshold,
           "min_ccd_fraction": config.min_present_fraction,
           "workers": workers, "batch_size": batch_size}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(doc, indent=1) + "\n")


def run_night(inputs, outdir, catalog_path=None, config=None, workers=None, force=False, retry_failed=False,
              progress=True, log_path=None, batch_size=None, inference=True, report=True, echo=None):
    """Process a night of exposures.

    Parameters
    ----------
    inputs : list
        Directories, globs, list files or paths (see :func:`desghost.reading.discovery.discover_inputs`).
    outdir : str or Path
    catalog_path : str, optional
        Default ``OUTDIR/desghost_catalog.sqlite``.
    config : RunConfig, optional
    workers : int, optional
        Assembly worker processes (default: one per core).
    force, retry_failed : bool
        Process done exposures / exposures that failed before again; ``force`` also lets an input
        replace what its EXPNUM has from another input (:func:`desghost.driver.preflight.claim_expnums`).
    progress : bool
        A tqdm bar on stderr.
    log_path : str or Path, optional
        Default ``OUTDIR/logs/night-<UTC time>.log``.
    batch_size : int, optional
        Images per forward pass (default 1 on CPU, 8 on the GPU).
    inference : bool
        False skips the detector (products with no detections): the I/O ceiling of a run.
    report : bool
        Write the HTML report (``OUTDIR/report/index.html``) at the end.
    echo : callable, optional
        Called with one line per finished exposure (``[k/N] done EXPNUM ...``): the progress of a
        night without a terminal (the tqdm bar needs one).

    Returns
    -------
    NightSummary
        Also written to ``OUTDIR/night_summary.json``.

    Raises
    ------
    UsageError, OutputError, CatalogError
        No exposure in the inputs (2); the output folder or catalog cannot be written (9, 13).
    desghost.driver.many.Interrupted
        SIGTERM or SIGINT: the workers were stopped; what finished is recorded.
    """
    t0, outdir = time.perf_counter(), Path(outdir)
    catalog_path = _checked_outputs(outdir, catalog_path)
    cfg, workers = config or RunConfig(), workers or default_workers()
    with _night_log(outdir, log_path) as logger:
        remove_stale_parts(outdir)
        plan = _plan_from_catalog(catalog_path, outdir, inputs, force, retry_failed, logger)
        summary = NightSummary(skipped=[p for p, _ in plan.skipped], still_failed=plan.still_failed)
        logger.info("%d to process, %d skipped; %d workers, batch %s, device %s", len(plan.todo),
                    len(summary.skipped), workers, batch_size or "auto", cfg.device)
        with _NightRecorder(summary, logger, len(plan.todo), progress, echo, t0) as record:
            if plan.todo:
                process_exposures(plan.todo, str(outdir), cfg, catalog_path, workers=workers,
                                  batch_size=batch_size, inference=inference, on_outcome=record, replace=force,
                                  skip_done=not force)
            summary.seconds = time.perf_counter() - t0
            _write_night_files(outdir, catalog_path, summary, cfg, workers, batch_size, report, logger)
    return summary


@dataclass
class NightPlan:
    """What a night will do with its inputs: process ``todo``, skip ``skipped`` (path, why)."""

    todo: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    still_failed: list = field(default_factory=list)


def plan_night(paths, done, earlier_failures):
    """Decide, for each input of a night, whether it is processed or skipped (pure).

    Parameters
    ----------
    paths : list of str
        The night's inputs, absolute paths, in order.
    done : collection of str
        Inputs whose exposure is recorded with its products (empty under ``--force``).
    earlier_failures : mapping
        ``{path: (path, reason, exit_code)}`` of inputs that failed in an earlier run and are
        not to be retried (empty under ``--force`` or ``--retry-failed``).

    Returns
    -------
    NightPlan
        ``todo`` in input order; ``skipped`` as ``(path, why)``; ``still_failed`` the earlier
        failures that were skipped.

    Examples
    --------
    >>> plan_night(["/a", "/b", "/c"], done={"/a"}, earlier_failures={"/b": ("/b", "corrupt", 4)})
    NightPlan(todo=['/c'], skipped=[('/a', 'done'), ('/b', 'failed before; --retry-failed to retry')], still_failed=[('/b', 'corrupt', 4)])
    """
    plan = NightPlan()
    for path in paths:
        if path in done:
            plan.skipped.append((path, "done"))
        elif path in earlier_failures:
            plan.skipped.append((path, "failed before; --retry-failed to retry"))
            plan.still_failed.append(earlier_failures[path])
        else:
            plan.todo.append(path)
    return plan


def _checked_outputs(outdir, catalog_path):
    """The catalog's path (default ``OUTDIR/desghost_catalog.sqlite``), both checked for writing."""
    check_output_dir(outdir)
    catalog_path = str(catalog_path or Path(outdir) / "desghost_catalog.sqlite")
    check_catalog(catalog_path)
    return catalog_path


def _plan_from_catalog(catalog_path, outdir, inputs, force, retry_failed, logger):
    """The night's plan from its inputs and what the catalog and the output folder hold; each skip is logged."""
    paths = [os.path.abspath(p) for p in discover_inputs(inputs, outdir=outdir)]
    with Catalog(catalog_path) as catalog:
        earlier = {} if force or retry_failed else {p: f for p in paths if (f := _earlier_failure(catalog, p))}
        done = set() if force else {p for p in paths if is_recorded_done(catalog, outdir, p)}
    plan = plan_night(paths, done, earlier)
    reasons = {path: f": {reason}" for path, reason, _code in plan.still_failed}
    for path, why in plan.skipped:
        logger.info("skip (%s) %s%s", why, path, reasons.get(path, ""))
    return plan


@contextmanager
def _night_log(outdir, log_path=None):
    """A logger writing to the night's log file (``OUTDIR/logs/night-<UTC time>.log``, never through a link)."""
    log_path = log_path or Path(outdir) / "logs" / f"night-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}.log"
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger(f"desghost.night.{os.getpid()}")
    logger.setLevel(logging.INFO)
    try:
        handler = logging.StreamHandler(open_no_follow(log_path, "a"))
    except OSError as exc:
        raise OutputError(f"cannot write the night's log: {exc.strerror or exc}", path=log_path) from None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        handler.close()
        handler.stream.close()


class _NightRecorder:
    """Takes each exposure's Outcome into the summary, the log, the progress bar and the echo lines."""

    def __init__(self, summary, logger, n_todo, progress, echo, t0):
        self.summary, self.logger, self.n_todo, self.echo, self.t0 = summary, logger, n_todo, echo, t0
        self.n_finished = 0
        self.bar = tqdm(total=n_todo, unit="exp", desc="night", dynamic_ncols=True) if progress and n_todo else None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        """Close the bar; the night's time and its summary line are logged however it ended."""
        if self.bar:
            self.bar.close()
        self.summary.seconds = self.summary.seconds or time.perf_counter() - self.t0
        self.logger.info(self.summary.line())

    def __call__(self, outcome):
        summary = self.summary
        self.n_finished += 1
        if self.echo is not None:
            what = (f"skipped EXPNUM {outcome.expnum} ({outcome.skipped})" if outcome.skipped
                    else f"done EXPNUM {outcome.expnum} in {outcome.timings_s.get('total', 0):.1f} s"
                    if outcome.error is None else f"failed (exit {outcome.exit_code})")
            self.echo(f"[{self.n_finished}/{self.n_todo}] {what}: {outcome.path}")
        if outcome.skipped:
            summary.skipped.append(outcome.path)
            self.logger.info("skipped EXPNUM %s %s: %s", outcome.expnum, outcome.path, outcome.skipped)
        elif outcome.error is None:
            summary.done.append(outcome.path)
            summary.warning_codes.update(outcome.result.warning_codes)
            self.logger.info("done EXPNUM %s %s %s", outcome.expnum, outcome.path, outcome.timings_s)
            for message in outcome.result.warnings:
                summary.warnings.append((outcome.path, message))
                self.logger.warning("EXPNUM %s: %s", outcome.expnum, message)
        else:
            summary.failed.append((outcome.path, outcome.error, outcome.exit_code))
            self.logger.error("failed %s: %s", outcome.path, outcome.error)
        if self.bar:
            self.bar.update()


def _write_night_files(outdir, catalog_path, summary, cfg, workers, batch_size, report, logger):
    """The night's lists, its summary file and (when ``report``) its HTML report."""
    try:
        with folder_lock(outdir), Catalog(catalog_path) as catalog:   # read to write: never an older view
            for path in write_night_lists(catalog, outdir, summary.done):
                logger.info("night list: %s", path)
        write_summary(outdir / SUMMARY_NAME, summary, cfg, workers, batch_size)
    except OSError as exc:
        raise OutputError(f"cannot write the night's lists or summary ({exc.strerror or exc})",
                          path=exc.filename or outdir) from None
    if report:
        try:
            summary.report = write_report(outdir, catalog_path)
            logger.info("report: %s", summary.report)
        except Exception as exc:  # noqa: BLE001 - the night is done; a report that fails does not undo it
            summary.report_error = failure_reason(exc)[0]
            logger.error("report not written: %s", summary.report_error)
