"""``desghost assemble`` and ``desghost simulate``: exposures in, focal-plane images out; synthetic exposures."""
import argparse
import json
import sys
import time

from desghost.cli.common import (
    DECODER_HELP,
    add_parser,
    json_line,
    json_parent,
    log,
    progress_bar,
)
from desghost.errors import UsageError, exit_code_of_run
from desghost.focalplane.assembly import DEFAULT_ROW_STEP, assemble_exposure
from desghost.focalplane.imagefile import check_output_format, write_focal_plane
from desghost.options import expnum, non_negative_int, positive_int
from desghost.reading.discovery import discover_inputs
from desghost.reading.exposure import DECODERS, open_exposure
from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure

__all__ = ["cmd_assemble", "cmd_simulate", "register"]


def register(sub):
    """Add ``assemble`` and ``simulate`` to the subcommands ``sub``."""
    p = add_parser(
        sub, "assemble", cmd_assemble, parents=[json_parent("print the image metadata as JSON on stdout")],
        help="turn a DECam exposure into the 400x400 focal-plane image",
        description="Read a DECam exposure (raw, community-pipeline or DES per-CCD files), bin every "
                    "CCD into its place in the focal plane and stretch it like the DeepGhostBusters images.",
        epilog="examples:\n"
               "  desghost assemble DECam_00229388.fits.fz -o D00229388.png\n"
               "  desghost assemble c4d_190402_050618_ooi_VR_v1.fits.fz -o fp.fits --row-step 1\n"
               "  desghost assemble 'D00412037_g_c*_r4000p01_immasked.fits.fz' -o fp.npy   # per-CCD files\n")
    p.add_argument("exposure", nargs="+", help="exposure file, directory or glob of per-CCD files")
    p.add_argument("-o", "--output", required=True, help="output image: .fits, .png or .npy")
    p.add_argument("--row-step", type=positive_int, default=None,
                   help="read every N-th CCD row: N times faster, sqrt(N) lower signal-to-noise (default 1: all rows)")
    p.add_argument("--ccd-workers", type=positive_int, default=1, help="processes reading CCDs in parallel (default 1)")
    p.add_argument("--workers", dest="ccd_workers", type=positive_int, default=argparse.SUPPRESS,
                   help="the former name of --ccd-workers, kept for one release (--workers counts exposures in "
                        "parallel in run and night)")
    p.add_argument("--decoder", choices=DECODERS, default="auto", help=DECODER_HELP)
    p.add_argument("--lenient", action="store_true",
                   help="exit 0 when the image was written despite input warnings (codes 10-12, 15, 17)")

    p = add_parser(
        sub, "simulate", cmd_simulate,
        help="write a realistic synthetic DECam exposure and its ground truth",
        description="Write a synthetic exposure with sky, noise, stars, dead CCDs for its EXPNUM and "
                    "ghost/scattered-light artifacts drawn from the DeepGhostBusters annotation "
                    "statistics, plus a ground-truth JSON (<name>_truth.json).",
        epilog="examples:\n"
               "  desghost simulate sim.fits.fz                         # small raw exposure\n"
               "  desghost simulate DECam_00700000.fits.fz --ccd-shape full --expnum 700000\n"
               "  desghost simulate des_dir/ --flavor des --artifacts 3 --seed 7\n")
    p.add_argument("out", help="output file (raw, ooi) or directory (des)")
    p.add_argument("--flavor", choices=("raw", "ooi", "des"), default="raw",
                   help="raw DECam file, community-pipeline ooi file, or a directory of DES per-CCD files "
                        "(default raw)")
    p.add_argument("--expnum", type=expnum, default=500000, help="EXPNUM of the exposure (default %(default)s)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed: the same seed gives the same file (default 0)")
    p.add_argument("--ccd-shape", choices=("full", "small"), default="small",
                   help="full: 2048x4096 CCDs (~0.5 GB raw); small: 256x512 for tests")
    p.add_argument("--artifacts", type=non_negative_int, default=None, metavar="K",
                   help="number of artifacts (default: one annotated image's worth; 0: clean)")
    p.add_argument("--band", default="r", choices=("g", "r", "i", "z", "Y"), help="filter band (default r)")


def cmd_assemble(args):
    check_output_format(args.output)
    sources = discover_inputs(args.exposure)
    if len(sources) > 1:
        raise UsageError(f"assemble takes one exposure; the inputs hold {len(sources)}: "
                         + ", ".join(sources[:3]) + (" ..." if len(sources) > 3 else ""))
    source = sources[0]
    row_step = args.row_step or DEFAULT_ROW_STEP
    if row_step < 1:
        raise UsageError("--row-step must be >= 1")
    exposure = open_exposure(source)
    bar = progress_bar(args, len(exposure.ccdnums), f"EXPNUM {exposure.expnum}")
    fp = assemble_exposure(exposure, row_step=row_step, workers=args.ccd_workers, decoder=args.decoder,
                           progress=(lambda c: bar.update()) if bar else None)
    if bar:
        bar.close()
    out = write_focal_plane(fp, args.output)
    for w in fp.warnings:
        print(f"desghost: warning: {w.message}", file=sys.stderr)
    log(args, f"assembled EXPNUM {fp.expnum} ({fp.flavor}, {len(fp.ccds_present)} CCDs, "
              f"row step {fp.row_step}) in {fp.seconds:.2f} s -> {out}")
    if args.json:
        print(json_line(dict(fp.metadata(), output=out)))
    return exit_code_of_run([], 1, [w.exit_code for w in fp.warnings], args.lenient)


def cmd_simulate(args):
    cfg = SimulationConfig(flavor=args.flavor, expnum=args.expnum, seed=args.seed,
                           ccd_shape=args.ccd_shape, n_artifacts=args.artifacts, band=args.band)
    t0 = time.perf_counter()
    bar = progress_bar(args, 62, f"simulate {args.flavor}")
    files, truth = write_simulated_exposure(args.out, cfg, progress=(lambda c: bar.update()) if bar else None)
    if bar:
        bar.close()
    with open(truth) as fh:
        n_art = len(json.load(fh)["artifacts"])
    log(args, f"simulated EXPNUM {cfg.expnum} ({cfg.flavor}, {cfg.ccd_shape} CCDs, {n_art} artifacts) "
              f"in {time.perf_counter() - t0:.1f} s -> {files[0] if len(files) == 1 else args.out} + {truth}")
    return 0
