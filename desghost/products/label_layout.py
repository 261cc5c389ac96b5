"""Text labels placed so that none overlaps another (greedy, in priority order; pure Python)."""
from typing import NamedTuple


class Label(NamedTuple):
    """A label to place.

    Attributes
    ----------
    text : str
    size_px : tuple of int
        ``(width, height)`` of the rendered text.
    candidates_px : list of tuple
        Top-left ``(x, y)`` positions to try, best first.
    """

    text: str
    size_px: tuple
    candidates_px: list


def overlaps(a, b):
    """True when boxes ``(x0, y0, x1, y1)`` ``a`` and ``b`` share any area."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_labels(labels, bounds_px, taken=()):
    """Give each label the first of its candidate positions that is inside ``bounds_px`` and free.

    Parameters
    ----------
    labels : list of Label
        In priority order: earlier labels get their preferred places.
    bounds_px : tuple
        ``(x0, y0, x1, y1)`` every label must lie within.
    taken : iterable of tuple
        Boxes already occupied.

    Returns
    -------
    list of tuple or None
        Per label, its box ``(x0, y0, x1, y1)``, or None where every candidate collides.
    """
    occupied = list(taken)
    out = []
    for label in labels:
        w, h = label.size_px
        placed = None
        for x, y in label.candidates_px:
            box = (x, y, x + w, y + h)
            inside = box[0] >= bounds_px[0] and box[1] >= bounds_px[1] and box[2] <= bounds_px[2] \
                and box[3] <= bounds_px[3]
            if inside and not any(overlaps(box, o) for o in occupied):
                placed = box
                break
        if placed is not None:
            occupied.append(placed)
        out.append(placed)
    return out
