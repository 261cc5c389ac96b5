"""Text labels placed so that none overlaps another (greedy, in priority order; pure Python).

Also the one rule that numbers instances for people (:func:`instance_number`), shared by the
overlay PNG and the report, and the candidate places that put a number on its outline
(:func:`outline_candidates`).
"""
from typing import NamedTuple

__all__ = ["box_to_points_px", "instance_number", "Label", "outline_candidates", "overlaps", "place_labels"]


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


def instance_number(instance_id):
    """The number people see for an instance: its ``instance_id``, unchanged (0 for the first).

    ``instance_id`` is the instance's position in the exposure's result (highest score first),
    as the catalog stores it (``instances.instance_id``, what ``desghost query`` prints) and the
    mask FITS's INSTANCES table (column ``ID``); the overlay and the report's exposure page
    show the same number, so a number read off a picture is the one to query.

    Examples
    --------
    >>> instance_number(0)
    0
    """
    return int(instance_id)


def outline_candidates(outline_px, size_px, max_points=120):
    """Top-left places for a label of ``size_px`` that put it on an outline, best first.

    Parameters
    ----------
    outline_px : sequence of tuple
        ``(x, y)`` points of the outline (all its closed curves), in canvas pixels.
    size_px : tuple
        ``(width, height)`` of the label.
    max_points : int
        The outline is thinned to about this many points (taken top to bottom).

    Returns
    -------
    list of tuple
        Every candidate box contains an outline point: first boxes centred on a point
        (topmost point first), then boxes with one corner on a point.
    """
    points = sorted({(round(x), round(y)) for x, y in outline_px}, key=lambda p: (p[1], p[0]))
    points = points[::max(1, len(points) // max_points)]
    w, h = size_px
    offsets = ((-w / 2, -h / 2), (-w, -h), (0, -h), (-w, 0), (0, 0))
    return [(x + dx, y + dy) for dx, dy in offsets for x, y in points]


def box_to_points_px(box, points):
    """Distance from box ``(x0, y0, x1, y1)`` to the nearest of ``points`` (0 when one lies in the box)."""
    def gap(v, lo, hi):
        return max(lo - v, 0.0, v - hi)
    return min(((gap(x, box[0], box[2]) ** 2 + gap(y, box[1], box[3]) ** 2) ** 0.5 for x, y in points),
               default=float("inf"))


def overlaps(a, b):
    """True when boxes ``(x0, y0, x1, y1)`` ``a`` and ``b`` share any area."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _inside(box, bounds):
    return box[0] >= bounds[0] and box[1] >= bounds[1] and box[2] <= bounds[2] and box[3] <= bounds[3]


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
        boxes = ((x, y, x + w, y + h) for x, y in label.candidates_px)
        placed = next((b for b in boxes if _inside(b, bounds_px) and not any(overlaps(b, o) for o in occupied)),
                      None)
        if placed is not None:
            occupied.append(placed)
        out.append(placed)
    return out
