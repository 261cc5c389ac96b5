"""Option values checked the same way by every entry point (the CLI, the night, the ceci stage).

Each function is an argparse ``type``: it takes the option's text and returns the value, or
raises ``argparse.ArgumentTypeError`` with a one-line reason; the ceci stage calls the same
functions on its configuration values.
"""
import argparse

from desghost.reading.exposure import DECODERS
from desghost.reading.headers import MAX_EXPNUM

__all__ = ["ccdnum", "check_date_order", "decoder", "device", "DEVICES", "expnum", "expnum_range", "fraction",
           "non_negative_int", "nside", "obs_date", "positive_float", "positive_int"]


def _parsed(text, cast, expected):
    """``cast(text)``, or the argparse error ``expected ..., got ...``."""
    try:
        return cast(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None


def non_negative_int(text):
    """An argparse type: an integer >= 0 (0 where an option documents it as "never")."""
    value = _parsed(text, int, "an integer")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def positive_int(text):
    """An argparse type: an integer >= 1."""
    value = non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def nside(text):
    """An argparse type: a HEALPix nside, a power of 2 from 1 to 2**29."""
    value = positive_int(text)
    if value & (value - 1) or value > 2 ** 29:
        raise argparse.ArgumentTypeError(f"a HEALPix nside is a power of 2 (1, 2, 4, ... 8192), got {value}")
    return value


def expnum(text):
    """An argparse type: an EXPNUM, a whole number in 1..2**31-1 (the exclusion table's >i4 column)."""
    value = non_negative_int(text)
    if not 1 <= value <= MAX_EXPNUM:
        raise argparse.ArgumentTypeError(f"an EXPNUM is from 1 to {MAX_EXPNUM}, got {value}")
    return value


def expnum_range(text):
    """An argparse type: ``N`` or ``A-B`` (EXPNUMs, A <= B) -> ``(A, B)``."""
    parts = str(text).split("-")
    if len(parts) not in (1, 2):
        raise argparse.ArgumentTypeError(f"expected N or A-B (EXPNUMs), got {text!r}")
    lo, hi = expnum(parts[0]), expnum(parts[-1])
    if lo > hi:
        raise argparse.ArgumentTypeError(f"the range {text} runs backwards (write {hi}-{lo})")
    return lo, hi


def ccdnum(text):
    """An argparse type: a DECam CCDNUM, 1..62."""
    value = non_negative_int(text)
    if not 1 <= value <= 62:
        raise argparse.ArgumentTypeError(f"a DECam CCDNUM is from 1 to 62, got {value}")
    return value


def obs_date(text):
    """An argparse type: a DATE-OBS prefix ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` or an ISO date and time."""
    from datetime import datetime

    formats = {4: "%Y", 7: "%Y-%m", 10: "%Y-%m-%d"}
    try:
        if len(text) in formats:
            datetime.strptime(text, formats[len(text)])
        else:
            datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date such as 2017, 2017-03 or 2017-03-05, got {text!r}") from None
    return text


def check_date_order(since, until):
    """Raise UsageError when ``--since`` comes after ``--until`` (both as :func:`obs_date` gives them)."""
    from desghost.errors import UsageError

    if since and until and since[:len(until)] > until:
        raise UsageError(f"--since {since} is after --until {until}")


def positive_float(text):
    """An argparse type: a finite number > 0."""
    value = _parsed(text, float, "a number")
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def fraction(text):
    """An argparse type: a number in [0, 1]."""
    value = _parsed(text, float, "a number from 0 to 1")
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be from 0 to 1, got {text}")
    return value


def decoder(text):
    """An argparse type: how raw CCDs are decoded, one of :data:`desghost.reading.exposure.DECODERS`."""
    if text not in DECODERS:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(DECODERS)}, got {text!r}")
    return text


#: Where the detector runs: ``auto`` is the GPU when there is one, else the CPU.
DEVICES = ("auto", "cpu", "cuda")


def device(text):
    """An argparse type: one of :data:`DEVICES`."""
    if text not in DEVICES:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(DEVICES)}, got {text!r}")
    return text
