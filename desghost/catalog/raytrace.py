"""Read the DELVE/DES ray-tracing exclusion lists (every category and both layouts)."""
import re
from pathlib import Path

from desghost.errors import MalformedTextError

__all__ = ["list_category", "read_list"]


def list_category(path):
    """``ghost-scatter-y04.txt`` -> (``ghost-scatter``, ``y04``).

    A night list ``ghost-scatter-20171112.txt`` gives (``ghost-scatter``, ``20171112``), and
    desghost's own per-exposure list ``D00695765_desghost_exclude.txt`` (``ghost-scatter``, ``""``).
    """
    name = Path(path).name
    if re.match(r"D\d{8,}_desghost_exclude\.txt$", name):
        return "ghost-scatter", ""
    m = re.match(r"(.+?)-(y\d+|\d{8})\.txt$", name)
    return (m.group(1), m.group(2)) if m else (Path(path).stem, "")


def read_list(path):
    """Rows ``(date, expnum, ccdnum, detpos)`` of one list.

    CCD lists have the header ``#date expnum ccd id ccdnum``; whole-exposure lists
    (``problem``) have ``#Nite Exposure Problem``, a free-text problem, and give ``ccdnum = 0``
    (all CCDs), as does a CCD list row whose CCD columns are ``nan`` (``processing-y07``).  Blank
    lines and ``#`` comment lines are skipped; every other line must parse.

    Raises
    ------
    MalformedTextError
        Not UTF-8 text, an unknown header, or a line that does not parse; the message names
        the file and the line (exit code 18).
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise MalformedTextError("not a text file (not UTF-8): expected a ray-tracing list", path=path) from None
    names = [n.lower() for n in (lines[0].lstrip("#").split() if lines and lines[0].startswith("#") else [])]
    if {"date", "expnum", "ccdnum"} <= set(names):
        columns, whole_exposure = (names.index("date"), names.index("expnum"), names.index("ccdnum")), False
    elif names[:2] == ["nite", "exposure"]:
        columns, whole_exposure = (0, 1, None), True
    else:
        first = lines[0][:60] if lines else ""
        raise MalformedTextError(f"line 1: expected the header '#date expnum ccd id ccdnum' or "
                                 f"'#Nite Exposure Problem', got {first!r}", path=path)
    id_col = names.index("id") if "id" in names and not whole_exposure else None
    out = []
    for lineno, line in enumerate(lines[1:], start=2):
        tokens = line.split()
        if not tokens or tokens[0].startswith("#"):
            continue
        try:
            date, expnum = int(tokens[columns[0]]), int(tokens[columns[1]])
            if whole_exposure or (len(tokens) <= columns[2] and all(t.lower() == "nan" for t in tokens[2:])):
                ccd = "nan"  # a row of nan CCD columns, short or not, stands for the whole exposure
            else:
                ccd = tokens[columns[2]]
            ccdnum = 0 if ccd.lower() == "nan" else int(ccd)
        except (IndexError, ValueError):
            raise MalformedTextError(f"line {lineno}: cannot read {line.strip()[:60]!r} as "
                                     + ("'nite exposure problem'" if whole_exposure else "'" + " ".join(names) + "'"),
                                     path=path) from None
        detpos = tokens[id_col] if id_col is not None and id_col < len(tokens) else ""
        out.append((date, expnum, ccdnum, "" if detpos.lower() == "nan" else detpos))
    return out
