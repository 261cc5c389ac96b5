"""``desghost run`` and ``desghost night``: exposures in, masks, exclusion tables and catalog rows out."""
import os
import sys
import time

from desghost.catalog.location import CATALOG_HELP, catalog_path
from desghost.cli.common import (
    DECODER_HELP,
    add_parser,
    device_parent,
    json_line,
    json_parent,
    log,
    model_parent,
    progress_bar,
)
from desghost.driver.exposure import RunConfig
from desghost.driver.many import process_exposures
from desghost.errors import UsageError, exit_code_of_run
from desghost.options import fraction, nside, positive_int
from desghost.products.exclusion_rule import DEFAULT_MIN_PRESENT_FRACTION
from desghost.products.skymap import add_masks_to_map
from desghost.reading.discovery import discover_inputs
from desghost.reading.exposure import DECODERS
from desghost.runners.night import run_night
from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure

__all__ = ["AREA_THRESHOLD_HELP", "cmd_night", "cmd_run", "MIN_CCD_FRACTION_HELP", "register_night", "register_run"]

AREA_THRESHOLD_HELP = ("exclude a CCD when this fraction of the part read of it is covered "
                       "(default 0: any pixel; 0.05, 0.1, 0.2)")
MIN_CCD_FRACTION_HELP = ("never exclude a CCD the input holds only a cut-out of when the cut-out is less than this "
                         "fraction of the CCD (default 0.5); the exclusion table's PARTIAL HDU says why")


def register_run(sub):
    """Add ``run`` to the subcommands ``sub``."""
    p = add_parser(
        sub, "run", cmd_run, parents=[model_parent(), device_parent(),
                                      json_parent("print one JSON summary per exposure")],
        help="the main job: read, assemble, detect, project and write masks and exclusion tables",
        description="For each exposure: assemble the focal-plane image, detect artifacts, project them onto "
                    "the CCDs and write, named from EXPNUM: D<expnum>_desghost_mask.fits.fz (per-CCD bit masks, "
                    "PLIO), _exclude.fits (EXPNUM/CCDNUM/REASON/ANALYST + CLASS, SCORE, AREA_FRAC, MODEL, BAND, "
                    "DATE_OBS), _exclude.txt (ray-tracing list format) and _overlay.png, and record it in the catalog "
                    "(OUTDIR/desghost_catalog.sqlite unless --catalog or $DESGHOST_CATALOG names another). A bad "
                    "exposure is recorded as a failure and the run goes on.",
        epilog="examples:\n"
               "  desghost run --demo -o demo_out/                  # simulate an exposure and process it\n"
               "  desghost run DECam_00229388.fits.fz -o out/ --catalog night.sqlite\n"
               "  desghost run raw/*.fits.fz -o out/ --area-threshold 0.05 --device cuda\n")
    p.add_argument("exposures", nargs="*", help="exposure files, per-CCD folders, globs or list files; per-CCD "
                   "files are grouped into exposures by EXPNUM however they are given")
    p.add_argument("-o", "--outdir", required=True, help="directory of the products (made when absent)")
    p.add_argument("--demo", action="store_true", help="simulate a small raw exposure into OUTDIR/input and run on it")
    p.add_argument("--area-threshold", type=fraction, default=0.0, help=AREA_THRESHOLD_HELP)
    p.add_argument("--min-ccd-fraction", type=fraction, default=DEFAULT_MIN_PRESENT_FRACTION,
                   help=MIN_CCD_FRACTION_HELP)
    p.add_argument("--catalog", default=None, help=CATALOG_HELP)
    p.add_argument("--row-step", type=positive_int, default=1,
                   help="read every N-th CCD row: N times faster, sqrt(N) lower signal-to-noise (default 1: all rows)")
    p.add_argument("--workers", type=positive_int, default=1,
                   help="exposures processed in parallel, each in its own process (default 1: in this process); "
                        "with a single exposure, the former meaning (--ccd-workers) is kept for one release")
    p.add_argument("--ccd-workers", type=positive_int, default=1, help="processes reading the CCDs of one exposure")
    p.add_argument("--decoder", choices=DECODERS, default="auto", help=DECODER_HELP)
    p.add_argument("--no-overlay", action="store_true", help="do not write the overlay PNG")
    p.add_argument("--healpix", metavar="MAP", help="also add the masked area to this HEALPix map")
    p.add_argument("--nside", type=nside, default=1024, help="nside of a new --healpix map (a power of 2)")
    p.add_argument("--force", action="store_true",
                   help="replace the products and catalog rows an EXPNUM has from another input (exit 16 without)")
    p.add_argument("--lenient", action="store_true",
                   help="exit 0 when the products were written despite input warnings (codes 10-12, 15, 17)")


def register_night(sub):
    """Add ``night`` to the subcommands ``sub``."""
    p = add_parser(
        sub, "night", cmd_night, parents=[model_parent(), device_parent()],
        help="process a night of exposures: resumable, idempotent, parallel",
        description="Run `desghost run` on every exposure of a directory, glob or list file (one path per line; "
                    "sub-directories of per-CCD files count as one exposure), with the work overlapped: worker "
                    "processes read and assemble exposures while the model, loaded once, runs on batches of "
                    "them (on the GPU when there is one); a bounded queue keeps memory flat. Exposures whose "
                    "products and catalog rows exist are skipped (unless --force); a bad exposure is recorded as a "
                    "failure and the night goes on (--retry-failed retries them). Kill it at any moment and run "
                    "it again: nothing is lost or half-written. A log goes to OUTDIR/logs/.",
        epilog="examples:\n"
               "  desghost night /data/20171201/ -o out/20171201 --workers 2\n"
               "  desghost night '/data/20171201/*.fits.fz' -o out/ --device cuda --workers 14 --batch-size 16\n"
               "  desghost night exposures.txt -o out/ --catalog survey.sqlite --retry-failed\n")
    p.add_argument("inputs", nargs="+", help="directories, globs, list files (one path per line) or exposures")
    p.add_argument("-o", "--outdir", required=True, help="directory of the products, the catalog and the logs")
    p.add_argument("--workers", type=positive_int, default=None,
                   help="processes reading and assembling exposures (default: one per core); the model runs "
                        "once, in the parent, on the remaining cores or the GPU")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help="images per forward pass (default 1 on CPU: identical to `desghost run`; 8 on the GPU)")
    p.add_argument("--catalog", help=CATALOG_HELP)
    p.add_argument("--decoder", choices=DECODERS, default="auto", help=DECODER_HELP)
    p.add_argument("--area-threshold", type=fraction, default=0.0, help=AREA_THRESHOLD_HELP)
    p.add_argument("--min-ccd-fraction", type=fraction, default=DEFAULT_MIN_PRESENT_FRACTION,
                   help=MIN_CCD_FRACTION_HELP)
    p.add_argument("--retry-failed", action="store_true", help="process exposures that failed before again")
    p.add_argument("--force", action="store_true",
                   help="process every exposure again, replacing what an EXPNUM has from another input")
    p.add_argument("--lenient", action="store_true",
                   help="exit 0 when the products were written despite input warnings (codes 10-12, 15, 17)")
    p.add_argument("--no-report", dest="report", action="store_false",
                   help="do not write the HTML report (OUTDIR/report/index.html) at the end")


def _run_config(args, **extra):
    """The RunConfig of ``run`` or ``night``: the command's options, checked by RunConfig.from_options."""
    return RunConfig.from_options({**vars(args), **extra})


def cmd_run(args):
    inputs = list(args.exposures)
    if args.demo:
        files, truth = write_simulated_exposure(os.path.join(args.outdir, "input", "DECam_00700000.fits.fz"),
                                                SimulationConfig(expnum=700000, seed=7))
        log(args, f"demo exposure: {files[0]} (truth: {truth})")
        inputs.append(files[0])
    if not inputs:
        raise UsageError("give exposures to process, or --demo")
    inputs = discover_inputs(inputs, outdir=args.outdir)   # per-CCD files given one by one are one exposure
    exposure_workers, ccd_workers = args.workers, args.ccd_workers
    if len(inputs) == 1 and exposure_workers > 1:   # the former meaning of --workers, kept for one release
        print("desghost: warning: --workers now counts exposures in parallel; with one exposure it is taken as "
              "--ccd-workers (processes reading its CCDs), a meaning kept for one release", file=sys.stderr)
        exposure_workers, ccd_workers = 1, max(ccd_workers, exposure_workers)
    cfg = _run_config(args, ccd_workers=ccd_workers if exposure_workers <= 1 else 1,
                      write_overlay=not args.no_overlay)
    t0 = time.perf_counter()

    def report(outcome):
        if outcome.error is not None:
            print(f"desghost: error: {outcome.error}", file=sys.stderr)
            return
        result = outcome.result
        if args.healpix and "mask" in result.outputs:
            add_masks_to_map(args.healpix, [result.outputs["mask"]], args.nside, 8)
        for w in result.warnings:
            print(f"desghost: warning: {w}", file=sys.stderr)
        log(args, f"EXPNUM {result.expnum}: {result.n_artifacts} artifacts ({len(result.instances)} instances), "
                  f"{len(result.exclusions)} CCDs "
                  f"excluded, {result.timings_s['total']:.1f} s -> {result.outputs.get('exclusion_fits')}")
        if args.json:
            print(json_line({"expnum": result.expnum, "input": outcome.path, "outputs": result.outputs,
                              "timings_s": result.timings_s, "n_instances": len(result.instances),
                              "n_artifacts": result.n_artifacts,
                              "excluded_ccds": [r.ccdnum for r in result.exclusions],
                              "partial_ccds": [{k: r.as_dict()[k] for k in ("ccdnum", "present_frac", "area_frac",
                                                                           "excluded", "note")}
                                               for r in result.partial_ccds]}),
                  flush=True)

    catalog = str(catalog_path(args.catalog, args.outdir))
    bars = []

    def on_ccd(path):
        """A CCD bar per exposure on a terminal (reading a full exposure takes seconds)."""
        while bars:
            bars.pop().close()
        bar = progress_bar(args, 62, os.path.basename(path)[:30])
        if bar is None:
            return None
        bars.append(bar)
        return lambda _ccdnum: bar.update()

    try:
        outcomes = process_exposures(inputs, args.outdir, cfg, catalog_path=catalog, on_outcome=report,
                                     workers=exposure_workers if exposure_workers > 1 else 0, replace=args.force,
                                     on_ccd=on_ccd if sys.stderr.isatty() else None)
    finally:
        for bar in bars:
            bar.close()
    failures = [o.exit_code for o in outcomes if o.error is not None]
    warnings = {c for o in outcomes if o.error is None for c in o.result.warning_codes}
    n = len(inputs)
    log(args, f"{n - len(failures)} of {n} exposures done, {len(failures)} failed, "
              f"{n / max(time.perf_counter() - t0, 1e-9) * 60:.1f} exposures/min")
    return exit_code_of_run(failures, n, warnings, args.lenient)


def cmd_night(args):
    summary = run_night(args.inputs, args.outdir, str(catalog_path(args.catalog, args.outdir)), _run_config(args), workers=args.workers,
                        batch_size=args.batch_size, force=args.force,
                        retry_failed=args.retry_failed, progress=not args.quiet and sys.stderr.isatty(),
                        report=args.report,
                        echo=None if args.quiet or sys.stderr.isatty() else lambda line: print(
                            f"night: {line}", file=sys.stderr, flush=True))
    for path, message in summary.warnings:
        print(f"desghost: warning: {message}", file=sys.stderr)
    for path, error, _code in summary.failed:
        print(f"desghost: failed: {error}", file=sys.stderr)
    for path, error, _code in summary.still_failed:
        print(f"desghost: still failed from an earlier run (--retry-failed retries it): {path}: {error}",
              file=sys.stderr)
    print(f"night: {summary.line()}", file=sys.stderr)
    if summary.report:
        log(args, f"report: {summary.report}")
    if summary.report_error:
        print(f"desghost: warning: the report was not written: {summary.report_error}", file=sys.stderr)
    return summary.exit_code(args.lenient)
