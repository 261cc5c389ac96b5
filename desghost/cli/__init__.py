"""The ``desghost`` command line: one subcommand per job, thin shells around the API.

Each module of this package registers its own subcommands (``register(sub)``) and holds their
``cmd_*`` functions, which parse nothing themselves and call the library.  Options several
commands share (``--model``, ``--threshold``, ``--device``, ``--json``, ``--config``) come
from the parent parsers of :mod:`desghost.cli.common`.
"""
import argparse
import sys
import traceback

from desghost import __version__
from desghost.cli import catalog, detection, evaluation, exposures, focalplane, report, review, skymap, training
from desghost.cli.common import formatter
from desghost.errors import DesghostError

__all__ = ["build_parser", "main"]


def build_parser():
    """The ``desghost`` parser with every subcommand, in the order ``desghost --help`` lists them."""
    parser = argparse.ArgumentParser(
        prog="desghost", formatter_class=formatter,
        description="Find ghosting and scattered-light artifacts in DECam exposures.",
        epilog="examples:\n  desghost simulate sim.fits.fz && desghost assemble sim.fits.fz -o sim.png\n"
               "  desghost assemble --help")
    parser.add_argument("--version", action="version", version=f"desghost {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress or timing lines")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    focalplane.register(sub)        # assemble, simulate
    training.register(sub)          # train
    detection.register(sub)         # detect
    evaluation.register(sub)        # evaluate, agreement
    exposures.register_run(sub)     # run
    catalog.register(sub)           # query, import-raytrace, compare
    skymap.register(sub)            # healpix
    skymap.register_skymap(sub)     # skymap
    exposures.register_night(sub)   # night
    report.register(sub)            # report
    review.register(sub)            # review
    review.register_export(sub)     # export-via
    return parser


def main(argv=None):
    """Run one ``desghost`` command; returns its exit code (see ``desghost assemble --help``)."""
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
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGINT during a run (the driver's Interrupted)
        print(f"desghost: interrupted ({exc or 'SIGINT'}); finished exposures are recorded", file=sys.stderr)
        return getattr(exc, "exit_code", 130)
    except Exception as exc:  # noqa: BLE001 - one line by default, traceback with --debug
        if args.debug:
            traceback.print_exc()
        else:
            print(f"desghost: internal error: {type(exc).__name__}: {exc} (run with --debug)", file=sys.stderr)
        return 1
