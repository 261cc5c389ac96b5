"""What every subcommand shares: exit codes, help layout, parent parsers, messages."""
import argparse
import json
import math
import sys
from contextlib import contextmanager

from desghost.detection.model import default_model_path
from desghost.errors import OutputError, UsageError, exit_codes_of
from desghost.options import DEVICES, fraction

__all__ = ["add_parser", "DECODER_HELP", "device_parent", "DEVICES", "emit_text", "exit_codes_help", "format_metric", "formatter",
           "inference_overrides", "inference_parent", "json_line", "json_parent", "log", "model_arg", "model_parent",
           "progress_bar", "quiet_parent", "warn", "writing"]


def exit_codes_help(command):
    """The ``exit codes:`` epilog of ``command``: only the codes it can return."""
    codes = exit_codes_of(command)
    text = "exit codes:\n" + "\n".join(f"  {code:<4}{meaning}" for code, meaning in codes.items())
    if 10 in codes:
        text += "\n  (--lenient turns the warnings 10-12, 15 and 17 into 0; the warning lines are still printed)"
    return text



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
    p.add_argument("--threshold", type=fraction, default=None, help=threshold_help)
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
    p.add_argument("--family-completion", action="store_true", default=None,
                   help="add the big faint disc to each detected ghost family that lacks one, placed with the "
                        "geometry measured from the annotations (off unless the model turns it on)")
    return p


def quiet_parent():
    """``-q`` after the subcommand too; absent there, the value given before it stands."""
    p = _parent()
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                   help="no progress or timing lines")
    return p


def add_parser(sub, name, command, parents=(), epilog="", **kwargs):
    """A subcommand parser with desghost's help layout, ``-q`` and the exit codes, that runs ``command(args)``."""
    epilog = epilog.rstrip("\n") + "\n\n" + exit_codes_help(name)
    p = sub.add_parser(name, formatter_class=formatter, parents=[*parents, quiet_parent()], epilog=epilog, **kwargs)
    p.set_defaults(func=command)
    return p


def log(args, text):
    """A progress or timing line on stderr, unless --quiet."""
    if not args.quiet:
        print(text, file=sys.stderr, flush=True)


def emit_text(args, text):
    """Write a command's text to ``args.output`` (``-o FILE``) or stdout; the exit code 0.

    Raises
    ------
    OutputError
        The file cannot be written (exit code 9).
    """
    if args.output:
        with writing(args.output):
            with open(args.output, "w") as fh:
                fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


@contextmanager
def writing(path):
    """Turn an OSError while writing ``path`` into a one-line OutputError naming it (exit code 9)."""
    try:
        yield
    except OSError as exc:
        raise OutputError(f"cannot write it ({exc.strerror or exc})", path=path) from None


def warn(text):
    """A warning on stderr, shown even with --quiet."""
    print(f"desghost: warning: {text}", file=sys.stderr, flush=True)


def progress_bar(args, total, desc, unit="ccd"):
    """A tqdm bar on stderr (None with --quiet; hidden when stderr is not a terminal)."""
    if args.quiet:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False,
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
    if getattr(args, "family_completion", None):
        out["family_completion"] = True
    return out or None


def _json_ready(value):
    """``value`` with NaN and infinite floats as None, numpy scalars and arrays as Python values."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return _json_ready(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_line(value):
    """One line of strict JSON (RFC 8259): an undefined metric (NaN) is ``null``, never ``NaN``."""
    return json.dumps(_json_ready(value), allow_nan=False)


def format_metric(value):
    """A metric as ``0.123``, or ``  nan`` when it is undefined (None or not finite)."""
    return "  nan" if value is None or not math.isfinite(value) else f"{value:5.3f}"


#: ``--decoder`` of the commands that read exposures.
DECODER_HELP = ("how raw CCDs are decoded: auto, their Rice tiles by imagecodecs in one thread per core (the same "
                "pixels as cfitsio, faster); fitsio, every pixel by cfitsio (default auto)")
