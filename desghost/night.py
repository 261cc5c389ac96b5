"""The nightly batch runner: many exposures, resumable, idempotent, failures recorded.

Every exposure goes through the steps of :func:`desghost.pipeline.process_exposure`, with
the work overlapped by :func:`desghost.batchrun.run_overlapped`: worker processes read and
assemble, this process runs the model (loaded once) on batches.  An exposure is done when its products exist and its
catalog row is in; done exposures are skipped unless ``force``.  Products are written to
temporary names and renamed, and each exposure's catalog rows go in one transaction, so a
run killed at any moment loses nothing and leaves no half-written product; stale temporary
files of a killed run are removed when the next run starts.
"""
import glob
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .catalog import Catalog
from .batchrun import default_workers, run_overlapped
from .errors import UsageError
from .pipeline import RunConfig, product_names
from .readers import FITS_PATTERNS

REQUIRED_PRODUCTS = ("mask", "exclusion_fits", "exclusion_txt")


def discover_inputs(inputs):
    """Exposures named by directories, globs, list files (one path per line) or paths.

    In a directory, each FITS file is one exposure and each sub-directory of FITS files is
    one exposure of per-CCD files.
    """
    out = []
    for item in inputs:
        item = str(item)
        if os.path.isdir(item):
            files = sorted({f for pat in FITS_PATTERNS for f in glob.glob(os.path.join(item, pat))})
            subdirs = sorted(d for d in glob.glob(os.path.join(item, "*")) if os.path.isdir(d)
                             and any(glob.glob(os.path.join(d, pat)) for pat in FITS_PATTERNS))
            out.extend(files + subdirs)
        elif any(ch in item for ch in "*?["):
            out.extend(sorted(glob.glob(item)))
        elif item.endswith((".txt", ".list", ".lst")) and os.path.isfile(item):
            for line in Path(item).read_text().splitlines():
                line = line.split("#", 1)[0].strip()
                if line:
                    out.append(line)
        else:
            out.append(item)
    seen, unique = set(), []
    for x in out:
        key = os.path.abspath(x)
        if key not in seen:
            seen.add(key)
            unique.append(x)
    if not unique:
        raise UsageError("no exposures found in the inputs")
    return unique


@dataclass
class NightSummary:
    done: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def exposures_per_minute(self):
        return len(self.done) / self.seconds * 60 if self.seconds > 0 else 0.0

    def line(self):
        return (f"done {len(self.done)}, skipped {len(self.skipped)}, failed {len(self.failed)} "
                f"in {self.seconds:.1f} s ({self.exposures_per_minute:.2f} exposures/min)")


def _is_done(catalog, outdir, path):
    rows = catalog.query("SELECT expnum FROM exposures WHERE source='desghost' AND status='ok' AND input=?",
                         (os.path.abspath(path),))
    if not rows:
        return False
    names = product_names(rows[0]["expnum"])
    return all((Path(outdir) / names[k]).exists() for k in REQUIRED_PRODUCTS)


def _has_failed(catalog, path):
    return bool(catalog.query("SELECT 1 FROM failures WHERE source='desghost' AND input=?", (os.path.abspath(path),)))


def _remove_stale_parts(outdir):
    for p in Path(outdir).glob(".*.part-*"):
        try:
            p.unlink()
        except OSError:
            pass


def run_night(inputs, outdir, catalog_path=None, config=None, workers=None, force=False, retry_failed=False,
              progress=True, log_path=None, batch_size=None, inference=True):
    """Process a night of exposures.

    Parameters
    ----------
    inputs : list
        Directories, globs, list files or paths (see :func:`discover_inputs`).
    outdir : str or Path
    catalog_path : str, optional
        Default ``OUTDIR/desghost_catalog.sqlite``.
    config : RunConfig, optional
    workers : int, optional
        Assembly worker processes (default: one per core).
    force, retry_failed : bool
        Process done exposures / exposures that failed before again.
    batch_size : int, optional
        Images per forward pass (default 1 on CPU, 8 on the GPU).
    inference : bool
        False skips the detector (products with no detections): the I/O ceiling of a run.

    Returns
    -------
    NightSummary
    """
    t0 = time.perf_counter()
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    catalog_path = str(catalog_path or outdir / "desghost_catalog.sqlite")
    log_path = log_path or outdir / "logs" / f"night-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}.log"
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger(f"desghost.night.{os.getpid()}")
    logger.setLevel(logging.INFO)
    handler = logging.FileHandler(log_path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    _remove_stale_parts(outdir)
    cfg = config or RunConfig()
    summary = NightSummary()
    todo = []
    with Catalog(catalog_path) as catalog:
        for path in discover_inputs(inputs):
            if not force and _is_done(catalog, outdir, path):
                summary.skipped.append(path)
                logger.info("skip (done) %s", path)
            elif not force and not retry_failed and _has_failed(catalog, path):
                summary.skipped.append(path)
                logger.info("skip (failed before; --retry-failed to retry) %s", path)
            else:
                todo.append(path)
    workers = workers or default_workers()
    logger.info("%d to process, %d skipped; %d workers, batch %s, device %s", len(todo), len(summary.skipped),
                workers, batch_size or "auto", cfg.device)
    bar = None
    if progress and todo:
        from tqdm import tqdm
        bar = tqdm(total=len(todo), unit="exp", desc="night", dynamic_ncols=True)

    def record(outcome):
        if outcome.error is None:
            summary.done.append(outcome.path)
            logger.info("done EXPNUM %s %s %s", outcome.expnum, outcome.path, outcome.timings_s)
        else:
            summary.failed.append((outcome.path, outcome.error))
            logger.error("failed %s: %s", outcome.path, outcome.error)
        if bar:
            bar.update()

    try:
        if todo:
            run_overlapped(todo, str(outdir), cfg, catalog_path, workers=workers, batch_size=batch_size,
                           inference=inference, on_outcome=record)
    finally:
        if bar:
            bar.close()
        summary.seconds = time.perf_counter() - t0
        logger.info(summary.line())
        logger.removeHandler(handler)
        handler.close()
    return summary
