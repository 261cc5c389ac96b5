"""Read the DELVE/DES ray-tracing exclusion lists (every category and both layouts)."""
import re
import warnings
from pathlib import Path

import numpy as np


def list_category(path):
    """``ghost-scatter-y04.txt`` -> (``ghost-scatter``, ``y04``)."""
    m = re.match(r"(.+?)-(y\d+)\.txt$", Path(path).name)
    return (m.group(1), m.group(2)) if m else (Path(path).stem, "")


def read_list(path):
    """Rows ``(date, expnum, ccdnum, detpos)`` of one list.

    CCD lists have the header ``#date expnum ccd id ccdnum``; whole-exposure lists
    (``problem``) have ``#Nite Exposure Problem`` and give ``ccdnum = 0`` (all CCDs).  Read
    with ``numpy.genfromtxt(names=True)`` like the existing readers; comment lines are
    skipped and malformed lines are dropped.
    """
    with open(path) as fh:
        header = fh.readline()
    names = header.lstrip("#").split()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = np.genfromtxt(path, names=True, dtype=None, encoding="utf-8", comments="#",
                             invalid_raise=False)
    data = np.atleast_1d(data)
    if data.size == 0 or data.dtype.names is None:
        return []
    cols = {n.lower(): n for n in data.dtype.names}
    out = []
    if "ccdnum" in cols:
        for d in data:
            try:
                out.append((int(d[cols["date"]]), int(d[cols["expnum"]]), int(d[cols["ccdnum"]]),
                            str(d[cols["id"]]) if "id" in cols else ""))
            except (TypeError, ValueError):
                continue
    elif len(names) >= 2:
        date_col, exp_col = data.dtype.names[0], data.dtype.names[1]
        for d in data:
            try:
                out.append((int(d[date_col]), int(d[exp_col]), 0, ""))
            except (TypeError, ValueError):
                continue
    return out
