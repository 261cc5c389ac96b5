"""What every subcommand shares: exit codes, help layout, parent parsers, messages."""
import argparse
import json
import math
import sys

from desghost.detection.model import default_model_path
from desghost.errors import UsageError

EXIT_CODES_HELP = """exit codes:
  0   success
  1   unexpected internal error (run with --debug for the traceback)
  2   usage error or missing input
  3   not a FITS file               4   truncated or corrupt FITS file
  5   not a DECam exposure          6   missing or malformed keyword (EXPNUM, CCDNUM, ...)
  7   duplicate CCDNUM              8   files of different exposures, or CCDNUM/DETPOS clash
  9   an output file cannot be written    13  catalog missing, corrupt or foreign
  14  several exposures given and some failed (each is reported and recorded)
  10  image written, but CCDs were missing (left blank)
  11  image written, but NaN/inf pixels were excluded
  12  image written, but an HDU was all zeros (left blank)
  (--lenient turns 10-12 into 0; the warning lines are still printed)"""

DEVICES = ("auto", "cpu", "cuda")


def formatter(prog):
    """Help layout of every command: descriptions and epilogs as written, options aligned."""
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def _parent():
    return argparse.ArgumentParser(add_help=False)


def device_parent():
    """``--device``: where the model runs."""
    p = _parent()
    p.add_argument("--device", default="auto", choices=DEVICES,
                   help="where the model runs: cuda when available with auto (default auto)")
    return p


def model_parent(threshold_help="detection score threshold (default: the model's own, stored in the model file "
                                "and recorded in every product)"):
    """``--model`` and ``--threshold``: which detector, at which operating point."""
    p = _parent()
    p.add_argument("--model", default="default", help="model file (default: the shipped model)")
    p.add_argument("--threshold", type=float, default=None, help=threshold_help)
    return p


def json_parent(help_text):
    """``--json``: machine-readable output on stdout."""
    p = _parent()
    p.add_argument("--json", action="store_true", help=help_text)
    return p


def inference_parent():
    """``--config`` and ``--tta-views``: inference overrides of the model's settings."""
    p = _parent()
    p.add_argument("--config", help="JSON file of inference overrides (e.g. score_threshold, detections_per_img, "
                                    "mask_threshold)")
    p.add_argument("--tta-views", type=int, choices=(1, 2, 4), default=None,
                   help="test-time views (1: off, 2: + left-right flip, 4: + up-down flips); default: the model's")
    return p


def add_parser(sub, name, command, **kwargs):
    """A subcommand parser with desghost's help layout that runs ``command(args)``."""
    p = sub.add_parser(name, formatter_class=formatter, **kwargs)
    p.set_defaults(func=command)
    return p


def log(args, text):
    """A progress or timing line on stderr, unless --quiet."""
    if not args.quiet:
        print(text, file=sys.stderr, flush=True)


def warn(text):
    """A warning on stderr, shown even with --quiet."""
    print(f"desghost: warning: {text}", file=sys.stderr, flush=True)


def progress_bar(args, total, desc):
    """A tqdm bar on stderr (None with --quiet; hidden when stderr is not a terminal)."""
    if args.quiet:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="ccd", file=sys.stderr, leave=False,
                disable=not sys.stderr.isatty())


def model_arg(value):
    """The model file named by ``--model`` (``default``: the shipped one)."""
    return default_model_path() if value in (None, "default") else value


def inference_overrides(args):
    """ModelConfig overrides from ``--config`` and ``--tta-views`` (None when there are none)."""
    out = {}
    if getattr(args, "config", None):
        try:
            out = json.loads(open(args.config).read())
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read the config: {exc}", path=args.config) from None
    if getattr(args, "tta_views", None) is not None:
        out["tta_views"] = args.tta_views
    return out or None


def format_metric(value):
    """A metric as ``0.123``, or ``  nan`` when it is undefined (None or not finite)."""
    return "  nan" if value is None or not math.isfinite(value) else f"{value:5.3f}"
