"""Multi-order HEALPix coverage (MOC) cells: the sky index of the catalog.

A footprint is stored as the NEST HEALPix pixels it touches at :data:`INDEX_ORDER`, four
siblings merged into their parent wherever all four are present, each cell written as its
NUNIQ number ``4 * 4**order + ipix`` (the IVOA MOC 2.0 convention).  A position's cell at
INDEX_ORDER lies in a footprint exactly when one of its ancestors-or-self is one of the
footprint's cells, so a point lookup is INDEX_ORDER + 1 probes of one B-tree index, whatever the
footprint's size; a large disc costs few rows (merged cells), a small ghost a few dozen.

Why this form: NUNIQ cells are the field's standard sky-coverage encoding (MOC, mocpy,
Aladin), need nothing but an integer column and SQLite's ordinary index, and answer both a
point and a disc (the disc's pixels' ancestors) without a spatial extension.
"""
import hpgeom
import numpy as np

__all__ = ["ancestor_nuniq", "disc_probe_nuniq", "INDEX_ORDER", "INDEX_NSIDE", "merge_to_cells",
           "polygons_pixels"]

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


def disc_probe_nuniq(ra_deg, dec_deg, radius_deg, order=INDEX_ORDER):
    """The NUNIQ numbers to look up for a position and a search radius.

    Parameters
    ----------
    ra_deg, dec_deg : float
    radius_deg : float
        0 for the position alone.

    Returns
    -------
    ndarray of int64
        Ancestors-or-self of every index pixel within the radius (hpgeom's inclusive disc,
        which also holds the position's own pixel).
    """
    nside = 2 ** order
    own = hpgeom.angle_to_pixel(nside, ra_deg, dec_deg, nest=True)
    pixels = np.atleast_1d(own)
    if radius_deg > 0:
        pixels = np.union1d(pixels, hpgeom.query_circle(nside, ra_deg, dec_deg, radius_deg, nest=True, inclusive=True))
    return ancestor_nuniq(pixels, order)
