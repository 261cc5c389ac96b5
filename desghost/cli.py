"""The ``desghost`` command line: one subcommand per job, thin shells around the API."""
import argparse
import json
import sys
import time
import traceback

from . import __version__
from .errors import DesghostError, UsageError

EXIT_CODES_HELP = """exit codes:
  0   success
  1   unexpected internal error (run with --debug for the traceback)
  2   usage error or missing input
  3   not a FITS file               4   truncated or corrupt FITS file
  5   not a DECam exposure          6   missing or malformed keyword (EXPNUM, CCDNUM, ...)
  7   duplicate CCDNUM              8   files of different exposures, or CCDNUM/DETPOS clash
  9   an output file cannot be written
  10  image written, but CCDs were missing (left blank)
  11  image written, but NaN/inf pixels were excluded
  12  image written, but an HDU was all zeros (left blank)
  (--lenient turns 10-12 into 0; the warning lines are still printed)"""


def _formatter(prog):
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def _add_assemble(sub):
    p = sub.add_parser(
        "assemble", formatter_class=_formatter,
        help="turn a DECam exposure into the 400x400 focal-plane image",
        description="Read a DECam exposure (raw, community-pipeline or DES per-CCD files), bin every "
                    "CCD into its place in the focal plane and stretch it like the DeepGhostBusters images.",
        epilog="examples:\n"
               "  desghost assemble DECam_00229388.fits.fz -o D00229388.png\n"
               "  desghost assemble c4d_190402_050618_ooi_VR_v1.fits.fz -o fp.fits --row-step 1\n"
               "  desghost assemble 'D00412037_g_c*_r4000p01_immasked.fits.fz' -o fp.npy   # per-CCD files\n\n"
               + EXIT_CODES_HELP)
    p.add_argument("exposure", nargs="+", help="exposure file, directory or glob of per-CCD files")
    p.add_argument("-o", "--output", required=True, help="output image: .fits, .png or .npy")
    p.add_argument("--row-step", type=int, default=None,
                   help="read every N-th CCD row: N times faster, sqrt(N) lower signal-to-noise (default 1: all rows)")
    p.add_argument("--workers", type=int, default=1, help="processes reading CCDs in parallel (default 1)")
    p.add_argument("--json", action="store_true", help="print the image metadata as JSON on stdout")
    p.add_argument("--lenient", action="store_true", help="exit 0 when the image was written despite warnings")
    p.set_defaults(func=cmd_assemble)


def _add_simulate(sub):
    p = sub.add_parser(
        "simulate", formatter_class=_formatter,
        help="write a realistic synthetic DECam exposure and its ground truth",
        description="Write a synthetic exposure with sky, noise, stars, dead CCDs for its EXPNUM and "
                    "ghost/scattered-light artifacts drawn from the DeepGhostBusters annotation "
                    "statistics, plus a ground-truth JSON (<name>_truth.json).",
        epilog="examples:\n"
               "  desghost simulate sim.fits.fz                         # small raw exposure\n"
               "  desghost simulate DECam_00700000.fits.fz --ccd-shape full --expnum 700000\n"
               "  desghost simulate des_dir/ --flavor des --artifacts 3 --seed 7\n")
    p.add_argument("out", help="output file (raw, ooi) or directory (des)")
    p.add_argument("--flavor", choices=("raw", "ooi", "des"), default="raw")
    p.add_argument("--expnum", type=int, default=500000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ccd-shape", choices=("full", "small"), default="small",
                   help="full: 2048x4096 CCDs (~0.5 GB raw); small: 256x512 for tests")
    p.add_argument("--artifacts", type=int, default=None, metavar="K",
                   help="number of artifacts (default: one annotated image's worth; 0: clean)")
    p.add_argument("--band", default="r", choices=("g", "r", "i", "z", "Y"))
    p.set_defaults(func=cmd_simulate)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="desghost", formatter_class=_formatter,
        description="Find ghosting and scattered-light artifacts in DECam exposures.",
        epilog="examples:\n  desghost simulate sim.fits.fz && desghost assemble sim.fits.fz -o sim.png\n"
               "  desghost assemble --help")
    parser.add_argument("--version", action="version", version=f"desghost {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress or timing lines")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_assemble(sub)
    _add_simulate(sub)
    return parser


def _log(args, text):
    if not args.quiet:
        print(text, file=sys.stderr, flush=True)


def _progress_bar(args, total, desc):
    if args.quiet:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="ccd", file=sys.stderr, leave=False,
                disable=not sys.stderr.isatty())


def cmd_assemble(args):
    from .focalplane import DEFAULT_ROW_STEP, assemble_exposure
    from .imageio import write_focal_plane
    from .readers import open_exposure

    from .imageio import check_output_format
    check_output_format(args.output)
    source = args.exposure[0] if len(args.exposure) == 1 else args.exposure
    row_step = args.row_step or DEFAULT_ROW_STEP
    if row_step < 1:
        raise UsageError("--row-step must be >= 1")
    exposure = open_exposure(source)
    bar = _progress_bar(args, len(exposure.ccdnums), f"EXPNUM {exposure.expnum}")
    fp = assemble_exposure(exposure, row_step=row_step, workers=max(1, args.workers),
                           progress=(lambda c: bar.update()) if bar else None)
    if bar:
        bar.close()
    out = write_focal_plane(fp, args.output)
    for w in fp.warnings:
        print(f"desghost: warning: {w.message}", file=sys.stderr)
    _log(args, f"assembled EXPNUM {fp.expnum} ({fp.flavor}, {len(fp.ccds_present)} CCDs, "
               f"row step {fp.row_step}) in {fp.seconds:.2f} s -> {out}")
    if args.json:
        print(json.dumps(dict(fp.metadata(), output=out)))
    if fp.warnings and not args.lenient:
        return max(w.exit_code for w in fp.warnings)
    return 0


def cmd_simulate(args):
    from .simulate.exposure import SimulationConfig, write_simulated_exposure

    cfg = SimulationConfig(flavor=args.flavor, expnum=args.expnum, seed=args.seed,
                           ccd_shape=args.ccd_shape, n_artifacts=args.artifacts, band=args.band)
    t0 = time.perf_counter()
    bar = _progress_bar(args, 62, f"simulate {args.flavor}")
    files, truth = write_simulated_exposure(args.out, cfg, progress=(lambda c: bar.update()) if bar else None)
    if bar:
        bar.close()
    n_art = len(json.load(open(truth))["artifacts"])
    _log(args, f"simulated EXPNUM {cfg.expnum} ({cfg.flavor}, {cfg.ccd_shape} CCDs, {n_art} artifacts) "
               f"in {time.perf_counter() - t0:.1f} s -> {files[0] if len(files) == 1 else args.out} + {truth}")
    return 0


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except DesghostError as exc:
        print(f"desghost: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("desghost: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one line by default, traceback with --debug
        if args.debug:
            traceback.print_exc()
        else:
            print(f"desghost: internal error: {type(exc).__name__}: {exc} (run with --debug)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
