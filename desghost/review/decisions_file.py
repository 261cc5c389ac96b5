"""Read review decisions from a CSV file (``desghost review OUTDIR --apply decisions.csv``).

One decision per row, with a header line naming the columns::

    expnum,target_kind,target,decision,class,ccdnums,polygon_px,comment
    1135703,instance,0,confirm,,,,
    1135703,instance,2,reject,,,,a satellite trail
    1135703,exposure,,missed,Rays,"12 13",,thin ray at the edge
    1135704,exposure,,reject,,,,clean

``expnum``, ``target_kind`` and ``decision`` are required; ``target`` is the instance id or
the CCDNUM (empty for the whole exposure and for ``missed``); ``ccdnums`` lists CCDNUMs
separated by spaces or commas; ``polygon_px`` is a JSON list of ``[x, y]`` focal-plane image
pixels.  The analyst is given on the command line, never in the file.
"""
import csv
import json

from desghost.errors import MalformedTextError
from desghost.review.checks import parse_ccdnums

__all__ = ["DECISION_COLUMNS", "read_decisions"]

#: The columns of a decisions file, in the order ``export`` writes them.
DECISION_COLUMNS = ("expnum", "target_kind", "target", "decision", "class", "ccdnums", "polygon_px", "comment")
_REQUIRED = ("expnum", "target_kind", "decision")


def read_decisions(path, analyst, check=None):
    """Every decision of a CSV file, each checked; one bad row refuses the whole file.

    Parameters
    ----------
    path : str or Path
    analyst : str
        Who decided (the command's ``--analyst``).
    check : callable, optional
        ``check(decision_dict) -> decision_dict`` raising ValueError for a decision the night
        cannot take (:func:`desghost.review.checks.check_against_night`).

    Returns
    -------
    list of dict
        Keyword arguments of :meth:`desghost.catalog.store.Catalog.record_decisions`.

    Raises
    ------
    MalformedTextError
        The file is not UTF-8 CSV with the required columns, or a row is refused; the message
        names the file and the line (exit code 18).
    """
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in _REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise MalformedTextError(f"line 1: the header lacks column(s) {', '.join(missing)}"
                                         f" (columns: {','.join(DECISION_COLUMNS)})", path=path)
            rows = [(reader.line_num, row) for row in reader]
    except UnicodeDecodeError:
        raise MalformedTextError("not a text file (not UTF-8): expected a decisions CSV", path=path) from None
    except csv.Error as exc:
        raise MalformedTextError(f"not CSV ({exc})", path=path) from None
    decisions = []
    for line, row in rows:
        try:
            d = _decision(row, analyst)
            if check is not None:
                d = check(d)
        except ValueError as exc:
            raise MalformedTextError(f"line {line}: {exc}; nothing was applied", path=path) from None
        decisions.append(d)
    if not decisions:
        raise MalformedTextError("no decisions in the file", path=path)
    return decisions


def _decision(row, analyst):
    if row.get(None):
        raise ValueError(f"more fields than columns ({', '.join(row[None])!r} left over): quote a comment "
                         "that holds commas")
    text = {k: (v or "").strip() for k, v in row.items() if k is not None}
    if not text.get("expnum", "").isdigit():
        raise ValueError(f"EXPNUM {text.get('expnum')!r} is not a whole number")
    polygon = ()
    if text.get("polygon_px"):
        try:
            polygon = tuple((float(x), float(y)) for x, y in json.loads(text["polygon_px"]))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"polygon_px is not a JSON list of [x, y] pairs ({exc})") from None
    return {"expnum": int(text["expnum"]), "target_kind": text.get("target_kind", ""), "target": text.get("target", ""),
            "decision": text.get("decision", ""), "analyst": analyst, "artifact_class": text.get("class", ""),
            "ccdnums": parse_ccdnums(text.get("ccdnums", "")), "polygon_px": polygon,
            "comment": text.get("comment", "")}
