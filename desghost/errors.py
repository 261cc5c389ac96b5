"""Error types with stable exit codes, and the one-line messages the CLI prints.

Fatal input problems raise a :class:`DesghostError` subclass.  Problems that still allow a
focal-plane image (missing CCDs, non-finite pixels, all-zero HDUs) are collected as
:class:`InputWarning` records and reported with their own exit codes.
"""
from dataclasses import dataclass

__all__ = ["COMMAND_EXIT_CODES", "CorruptFileError", "DesghostError", "DuplicateCCDError", "DuplicateExposureError",
           "exit_code_of_run", "EXIT_CODES", "exit_codes_of", "failure_reason", "InconsistentExposureError",
           "InputWarning", "MalformedTextError", "MAX_REASON_CHARS", "MissingKeywordError", "ModelFileError",
           "NotDecamError", "NotFitsError", "one_line", "OutputError", "SOME_EXPOSURES_FAILED", "UsageError",
           "WARNING_EXIT_CODES"]


class DesghostError(Exception):
    """Base class of all input errors; ``exit_code`` is what the CLI exits with."""

    exit_code = 2

    def __init__(self, message, path=None, hdu=None, keyword=None):
        self.path = None if path is None else str(path)
        self.hdu = hdu
        self.keyword = keyword
        where = []
        if self.path:
            where.append(self.path)
        if hdu is not None:
            where.append(f"HDU {hdu}")
        if keyword:
            where.append(f"keyword {keyword}")
        prefix = ": ".join([", ".join(where)]) + ": " if where else ""
        super().__init__(prefix + message)


class UsageError(DesghostError):
    """Bad command-line arguments or an input path that does not exist."""

    exit_code = 2


class NotFitsError(DesghostError):
    """The file is not a FITS file at all."""

    exit_code = 3


class CorruptFileError(DesghostError):
    """The file is FITS but truncated or corrupt (a header or data block cannot be read)."""

    exit_code = 4


class NotDecamError(DesghostError):
    """The file holds data from another instrument."""

    exit_code = 5


class MissingKeywordError(DesghostError):
    """A required header keyword (EXPNUM, CCDNUM, ...) is missing or malformed."""

    exit_code = 6


class DuplicateCCDError(DesghostError):
    """Two HDUs or files claim the same CCDNUM."""

    exit_code = 7


class InconsistentExposureError(DesghostError):
    """Per-CCD files that do not belong to one exposure, or CCDNUM and DETPOS disagree."""

    exit_code = 8


class DuplicateExposureError(DesghostError):
    """Another input of the run, or of the catalog, is the same exposure (EXPNUM): not processed."""

    exit_code = 16


class MalformedTextError(DesghostError):
    """A text input (ray-tracing list, VIA annotation JSON) that cannot be parsed: file and line named."""

    exit_code = 18


class OutputError(DesghostError):
    """An output file cannot be written (missing permissions, full disk, ...)."""

    exit_code = 9


class ModelFileError(DesghostError):
    """A model file is missing or is not a desghost model (not safetensors, no configuration, wrong weights)."""

    exit_code = 19


#: Longest reason recorded for a failed exposure (a library's multi-line dump is cut to one line).
MAX_REASON_CHARS = 300


def one_line(text, limit=MAX_REASON_CHARS):
    """``text`` with its whitespace runs (newlines included) collapsed, cut to ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def failure_reason(exc):
    """``(reason, exit_code)`` recorded for an exposure that failed with ``exc``.

    A :class:`DesghostError` keeps its exit code; anything else is an internal error (exit code
    1) named by its type.  The reason is always one line (see :func:`one_line`).
    """
    if isinstance(exc, DesghostError):
        return one_line(exc), exc.exit_code
    return one_line(f"internal error: {type(exc).__name__}: {exc}"), 1


#: Exit code of a command given several exposures when any of them failed.
SOME_EXPOSURES_FAILED = 14

#: Every exit code of every command and what it means: the one table that the commands' --help
#: and the README's bad-input section list.
EXIT_CODES = {
    0: "success",
    1: "unexpected internal error (run with --debug for the traceback)",
    2: "usage error or missing input",
    3: "not a FITS file",
    4: "truncated or corrupt FITS file",
    5: "not a DECam exposure",
    6: "missing or malformed keyword (EXPNUM, CCDNUM, ...)",
    7: "duplicate CCDNUM",
    8: "files of different exposures, a CCDNUM/DETPOS clash, or a mask that does not fit its image",
    9: "an output file cannot be written (unwritable folder, full disk)",
    10: "products written, but CCDs were missing (left blank)",
    11: "products written, but NaN/inf pixels were excluded",
    12: "products written, but an HDU was all zeros (left blank)",
    13: "catalog missing, corrupt or foreign, or it cannot be written (full disk, read-only): the night stops",
    14: "several exposures given and some failed (each is reported and recorded)",
    15: "products written, but a CCD had every pixel flagged by its mask (left blank)",
    16: "the EXPNUM is also another input's, in this run or in the catalog (--force replaces)",
    17: "products written, but CCDs were cut-outs (windows) of their CCD: judged on the part read",
    18: "a text input (ray-tracing list, annotation JSON) cannot be parsed (file and line named)",
    19: "the model file is missing or not a desghost model (checked before any exposure is read)",
    130: "interrupted (SIGINT, Ctrl-C); finished exposures are recorded",
    143: "stopped by SIGTERM; finished exposures are recorded",
}


_READING = (3, 4, 5, 6, 7, 8)
_WARNINGS = (10, 11, 12, 15, 17)
_ALWAYS = (0, 1, 2, 130)
#: The exit codes each command can return (its ``--help`` lists these and no others).
COMMAND_EXIT_CODES = {
    "assemble": (*_ALWAYS, *_READING, 9, *_WARNINGS),
    "simulate": (*_ALWAYS, 9),
    "train": (*_ALWAYS, 9, 18, 19),
    "detect": (*_ALWAYS, *_READING, *_WARNINGS, 14, 19),
    "evaluate": (*_ALWAYS, 18, 19),
    "agreement": (*_ALWAYS, 18),
    "run": (*_ALWAYS, *_READING, 9, *_WARNINGS, 13, 14, 16, 19, 143),
    "night": (*_ALWAYS, *_READING, 9, *_WARNINGS, 13, 14, 16, 19, 143),
    "query": (*_ALWAYS, 9, 13),
    "import-raytrace": (*_ALWAYS, 13, 18),
    "compare": (*_ALWAYS, 13),
    "healpix": (*_ALWAYS, 3, 4, 9),
    "skymap": (*_ALWAYS, 3, 4, 9),
    "report": (*_ALWAYS, 9, 13),
    "review": (*_ALWAYS, 13, 18),
    "export-via": (*_ALWAYS, 9, 13),
}


def exit_codes_of(command):
    """``{code: meaning}`` of the codes ``command`` can return, in code order (all codes for an unknown name)."""
    codes = COMMAND_EXIT_CODES.get(command, tuple(EXIT_CODES))
    return {code: EXIT_CODES[code] for code in sorted(set(codes))}


def exit_code_of_run(codes, n_inputs, warning_codes=(), lenient=False):
    """The exit code of a command that processed ``n_inputs`` exposures.

    The one policy of ``assemble``, ``run`` and ``night``:

    - a failure wins: the failure's own code when the command was given one exposure,
      otherwise 14 (several exposures given and some failed; each is reported and recorded);
    - else an input warning (products made, a problem reported: 10-12, 15, 17) gives the highest
      warning code, unless ``lenient``;
    - else 0.
    """
    codes = list(codes)
    if codes:
        return codes[0] if n_inputs == 1 and len(codes) == 1 else SOME_EXPOSURES_FAILED
    warning_codes = list(warning_codes)
    return max(warning_codes) if warning_codes and not lenient else 0


@dataclass(frozen=True)
class InputWarning:
    """A non-fatal input problem: the image is still made, the problem is reported.

    Attributes
    ----------
    kind : str
        One of ``missing_ccds``, ``nonfinite_pixels``, ``all_zero_hdu``, ``masked_ccds``,
        ``partial_ccds``.
    message : str
        One line naming the file, the HDU or the CCDs.
    ccdnum : int or None
        The CCD it is about, when it is about one.
    """

    kind: str
    message: str
    ccdnum: int | None = None

    @property
    def exit_code(self):
        return WARNING_EXIT_CODES[self.kind]


#: Exit codes of the warning conditions: the image and products are made, the problem is reported.
WARNING_EXIT_CODES = {"missing_ccds": 10, "nonfinite_pixels": 11, "all_zero_hdu": 12, "masked_ccds": 15,
                      "partial_ccds": 17}
