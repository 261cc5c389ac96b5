"""Parse IRAF/NOAO image sections such as ``[57:2104,51:4146]``."""
import re

__all__ = ["format_section", "parse_section"]

_SECTION = re.compile(r"^\s*\[\s*(\d+)\s*:\s*(\d+)\s*,\s*(\d+)\s*:\s*(\d+)\s*\]\s*$")


def parse_section(text):
    """Turn a FITS section string into numpy slices.

    Parameters
    ----------
    text : str
        ``[x1:x2,y1:y2]``, 1-based and inclusive, FITS axis order (x first).  Reversed
        ranges (``[2048:1025,...]``) are accepted and normalised.

    Returns
    -------
    tuple of slice
        ``(row_slice, col_slice)`` for a numpy array indexed ``[y, x]``.

    Examples
    --------
    >>> parse_section("[57:2104,51:4146]")
    (slice(50, 4146, None), slice(56, 2104, None))
    """
    m = _SECTION.match(str(text))
    if not m:
        raise ValueError(f"not an image section: {text!r}")
    x1, x2, y1, y2 = (int(v) for v in m.groups())
    xa, xb = sorted((x1, x2))
    ya, yb = sorted((y1, y2))
    return slice(ya - 1, yb), slice(xa - 1, xb)


def format_section(row_slice, col_slice):
    """Inverse of :func:`parse_section` for forward slices.

    >>> format_section(slice(50, 4146), slice(56, 2104))
    '[57:2104,51:4146]'
    """
    return f"[{col_slice.start + 1}:{col_slice.stop},{row_slice.start + 1}:{row_slice.stop}]"
