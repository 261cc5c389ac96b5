"""Multi-order HEALPix coverage (MOC) cells: the sky index of the catalog.

A footprint is stored as the NEST HEALPix pixels it touches at :data:`INDEX_ORDER`, four
siblings merged into their parent wherever all four are present, each cell written as its
NUNIQ number ``4 * 4**order + ipix`` (the IVOA MOC 2.0 convention).  A position's cell at
INDEX_ORDER lies in a footprint exactly when one of its ancestors-or-self is one of the
footprint's cells, so a point lookup is INDEX_ORDER + 1 probes of one B-tree index, whatever the
footprint's size; a large disc costs few rows (merged cells), a small ghost a few dozen.  A large
search disc or box is probed at a coarser order: its pixels' ancestors, and for each finer order
the contiguous NUNIQ run of their descendants, one index range scan each.

Why this form: NUNIQ cells are the field's standard sky-coverage encoding (MOC, mocpy,
Aladin), need nothing but an integer column and SQLite's ordinary index, and answer both a
point and a disc (the disc's pixels' ancestors) without a spatial extension.
"""
import hpgeom
import numpy as np

__all__ = ["ancestor_nuniq", "box_probe_ranges", "disc_probe_ranges", "INDEX_ORDER", "INDEX_NSIDE", "MAX_PROBE_PIXELS",
           "merge_to_cells", "polygons_pixels", "probe_order", "probe_ranges"]

#: Order of the finest index cells: nside 1024, pixels of 3.4 arcmin (a DECam CCD is about
#: 9 x 18 arcmin, so a CCD touches about 20 of them).  The exact test against the mask follows
#: the lookup, so the order sets only the index's size and how many candidates are tested.
INDEX_ORDER = 10
INDEX_NSIDE = 2 ** INDEX_ORDER


def polygons_pixels(ra_deg, dec_deg, order=INDEX_ORDER):
    """NEST pixels at ``order`` touched by convex sky polygons.

    Parameters
    ----------
    ra_deg, dec_deg : ndarray of float, shape (n, k)
        The vertices of n convex polygons (k >= 3 each), degrees.
    order : int

    Returns
    -------
    ndarray of int64
        Sorted distinct pixels (hpgeom's inclusive polygon query: every pixel the polygon
        overlaps, possibly a few more).
    """
    ra, dec = np.atleast_2d(ra_deg), np.atleast_2d(dec_deg)
    parts = [hpgeom.query_polygon(2 ** order, r, d, nest=True, inclusive=True) for r, d in zip(ra, dec)]
    return np.unique(np.concatenate(parts)).astype(np.int64) if parts else np.zeros(0, np.int64)


def merge_to_cells(pixels, order=INDEX_ORDER):
    """NUNIQ cells of a pixel set: complete groups of four siblings merged into their parent.

    Parameters
    ----------
    pixels : array of int
        NEST pixels at ``order``.

    Returns
    -------
    ndarray of int64
        Sorted NUNIQ numbers (``4 * 4**o + ipix`` at each cell's order o).

    Examples
    --------
    >>> merge_to_cells([0, 1, 2, 3, 4], order=1).tolist()   # pixels 0-3 make pixel 0 of order 0
    [4, 20]
    """
    current = np.unique(np.asarray(pixels, dtype=np.int64))
    cells = []
    for o in range(order, 0, -1):
        parents, counts = np.unique(current >> 2, return_counts=True)
        full = parents[counts == 4]
        cells.append(4 * 4 ** o + current[~np.isin(current >> 2, full)])
        current = full
    cells.append(4 + current)
    return np.sort(np.concatenate(cells))


def ancestor_nuniq(pixels, order=INDEX_ORDER):
    """NUNIQ numbers of every ancestor-or-self of NEST pixels at ``order``.

    Returns
    -------
    ndarray of int64
        Distinct, sorted: a stored cell contains one of ``pixels`` exactly when its NUNIQ is here.

    Examples
    --------
    >>> ancestor_nuniq([5], order=1).tolist()   # pixel 5 of order 1 (nuniq 21) is in pixel 1 of order 0 (nuniq 5)
    [5, 21]
    """
    p = np.asarray(pixels, dtype=np.int64)
    return np.unique(np.concatenate([4 * 4 ** o + (p >> (2 * (order - o))) for o in range(order + 1)]))


#: Most index pixels a probe looks at: a larger disc or box is probed at a coarser order.
MAX_PROBE_PIXELS = 4096


def probe_order(area_deg2, order=INDEX_ORDER):
    """The finest order, at most ``order``, at which an area spans at most MAX_PROBE_PIXELS pixels."""
    pixel_deg2 = 41252.96 / (12 * 4 ** np.arange(order + 1))
    fits = np.flatnonzero(area_deg2 / pixel_deg2 <= MAX_PROBE_PIXELS)
    return int(fits[-1]) if len(fits) else 0


def probe_ranges(pixel_ranges, probe_order_, order=INDEX_ORDER):
    """NUNIQ ranges ``(lo, hi)`` that hold every stored cell meeting the given pixels.

    Parameters
    ----------
    pixel_ranges : ndarray of int, shape (n, 2)
        NEST pixel ranges ``[start, stop)`` at ``probe_order_`` (hpgeom's ``return_pixel_ranges``).
    probe_order_ : int
    order : int
        The index's finest order (stored cells are at this order or coarser).

    Returns
    -------
    ndarray of int64, shape (m, 2)
        Inclusive NUNIQ ranges: each pixel's ancestors-or-self (single values) and, at every finer
        order, the contiguous run of its descendants.

    Examples
    --------
    >>> probe_ranges(np.array([[1, 2]]), 0, order=1).tolist()   # pixel 1 of order 0, index to order 1
    [[5, 5], [20, 23]]
    """
    ranges = np.asarray(pixel_ranges, dtype=np.int64).reshape(-1, 2)
    pixels = np.concatenate([np.arange(a, b) for a, b in ranges]) if len(ranges) else np.zeros(0, np.int64)
    singles = ancestor_nuniq(pixels, probe_order_)
    out = [np.column_stack([singles, singles])]
    for finer in range(probe_order_ + 1, order + 1):
        k = 4 ** (finer - probe_order_)
        out.append(np.column_stack([4 * 4 ** finer + ranges[:, 0] * k, 4 * 4 ** finer + ranges[:, 1] * k - 1]))
    return np.concatenate(out)


def disc_probe_ranges(ra_deg, dec_deg, radius_deg, order=INDEX_ORDER):
    """The NUNIQ ranges to look up for a position and a search radius (0: the position alone).

    The disc (hpgeom's inclusive query, which holds the position's own pixel) is taken at
    :func:`probe_order` of its area, so a large radius costs at most MAX_PROBE_PIXELS pixels.
    """
    o = probe_order(np.pi * radius_deg ** 2, order)
    own = int(hpgeom.angle_to_pixel(2 ** o, ra_deg, dec_deg, nest=True))
    ranges = [[own, own + 1]]
    if radius_deg > 0:
        ranges += hpgeom.query_circle(2 ** o, ra_deg, dec_deg, radius_deg, nest=True, inclusive=True,
                                      return_pixel_ranges=True).tolist()
    return probe_ranges(np.array(ranges), o, order)


def box_probe_ranges(box_deg, order=INDEX_ORDER):
    """The NUNIQ ranges to look up for an RA/Dec box ``(ra_min, ra_max, dec_min, dec_max)`` (degrees)."""
    ra_min, ra_max, dec_min, dec_max = box_deg
    width = (ra_max - ra_min) % 360.0 or 360.0
    area = np.degrees(1.0) * width * (np.sin(np.radians(dec_max)) - np.sin(np.radians(dec_min)))
    o = probe_order(area, order)
    ranges = hpgeom.query_box(2 ** o, ra_min, ra_max, dec_min, dec_max, nest=True, inclusive=True,
                              return_pixel_ranges=True)
    return probe_ranges(ranges, o, order)
