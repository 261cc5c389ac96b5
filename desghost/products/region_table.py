"""Region tables decasu reads: convex sky quads that cover each instance's mask on each CCD.

decasu (the DECam survey-property mapper) removes streaks and bleed trails given as FITS tables
of convex quads (``EXPNUM, CCDNUM, RA_1..RA_4, DEC_1..DEC_4``, read by
``decasu.utils.read_maskfiles``); desghost writes its masks in the same form
(``D<expnum>_desghost_regions.fits``, beside the exclusion table) so that decasu can leave ghosts
and scattered light out of its maps too.  After decasu's columns: BAND, CLASS and INSTANCE
(the instance's number, as in the catalog and the overlay).

Covering rule: an instance's full-resolution mask on a CCD is the 400x400 mask upsampled by
nearest pixel (:func:`desghost.projection.ccd_mask_rows`), so it is made of rectangular blocks:
runs of CCD rows that share one pattern, and in each run the runs of masked columns.  Each such
rectangle, to the pixel edges, is one quad, its four corners taken through the CCD's WCS.  The
quads cover the mask exactly in pixel space (no extra area); on the sky their straight edges
differ from the WCS's images of the pixel edges by far less than a pixel.
"""
import numpy as np

from desghost.atomic import atomic_path
from desghost.products.skymap import cards_wcs
from desghost.projection import ccd_mask_rows

__all__ = ["block_rectangles_px", "exposure_regions", "REGION_DTYPE", "write_region_table"]

#: decasu's streak-table columns, then the band, the instance's class and its number.
REGION_DTYPE = np.dtype([("EXPNUM", ">i4"), ("CCDNUM", ">i2")]
                        + [(f"RA_{k}", ">f8") for k in (1, 2, 3, 4)] + [(f"DEC_{k}", ">f8") for k in (1, 2, 3, 4)]
                        + [("BAND", "S4"), ("CLASS", "S8"), ("INSTANCE", ">i2")])


def block_rectangles_px(rows, row_index):
    """The rectangles a block-structured CCD mask is made of.

    Parameters
    ----------
    rows : ndarray, shape (n, nx)
        The mask's distinct rows (non-zero: masked).
    row_index : ndarray of int, shape (ny,)
        Which of ``rows`` each CCD row is.

    Returns
    -------
    list of (float, float, float, float)
        ``(x0, y0, x1, y1)`` pixel edges (pixel centres at integers): per run of CCD rows with
        one pattern, one rectangle per run of masked columns.

    Examples
    --------
    >>> rows = np.array([[0, 1, 1, 0, 1], [0, 0, 0, 0, 0]])
    >>> block_rectangles_px(rows, np.array([1, 0, 0, 1]))
    [(0.5, 0.5, 2.5, 2.5), (3.5, 0.5, 4.5, 2.5)]
    """
    hit = np.asarray(rows) != 0
    patterns = [hit[i].tobytes() for i in range(len(hit))]
    keys = np.array([patterns[i] for i in row_index], dtype=object)
    bounds = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    out = []
    for r0, r1 in zip(np.r_[0, bounds], np.r_[bounds, len(row_index)]):
        cols = hit[row_index[r0]]
        edges = np.flatnonzero(np.diff(np.r_[0, cols.astype(np.int8), 0]))
        out += [(float(c0) - 0.5, float(r0) - 0.5, float(c1) - 0.5, float(r1) - 0.5)
                for c0, c1 in zip(edges[::2], edges[1::2])]
    return out


def exposure_regions(result, layout, ccd_frames):
    """The region rows of one exposure's instances.

    Parameters
    ----------
    result : ExposureResult
        Its instances (400x400 masks), their CCD coverages, EXPNUM, band, dead CCDs.
    layout : CameraLayout
    ccd_frames : dict
        ``{ccdnum: CCDMaskFrame}``: each CCD's shape, orientation, WCS cards and cut-out window,
        as for the mask file.

    Returns
    -------
    ndarray
        :data:`REGION_DTYPE` rows, by instance, CCD and position.
    """
    out = []
    for number, (inst, cov) in enumerate(zip(result.instances, result.coverages)):
        for ccdnum in sorted(c.ccdnum for c in cov):
            frame = ccd_frames.get(ccdnum)
            if frame is None or ccdnum in result.dead_ccds or not frame.wcs_cards:
                continue
            rows, row_index = ccd_mask_rows(inst.mask, layout.ccds[ccdnum].box_px, frame.ny_px, frame.nx_px,
                                            frame.orientation, frame.window)
            rects = block_rectangles_px(rows, row_index)
            if not rects:
                continue
            x = np.array([[x0, x1, x1, x0] for x0, _, x1, _ in rects]).ravel()
            y = np.array([[y0, y0, y1, y1] for _, y0, _, y1 in rects]).ravel()
            ra, dec = (v.reshape(-1, 4) for v in cards_wcs(frame.wcs_cards).all_pix2world(x, y, 0))
            out += [(result.expnum, ccdnum, *r, *d, result.band.encode(), inst.class_name.encode(), number)
                    for r, d in zip(ra, dec)]
    return np.array(out, dtype=REGION_DTYPE)


def write_region_table(path, regions, provenance_cards=()):
    """Write region rows as a FITS BINTABLE (EXTNAME REGIONS) atomically."""
    import fitsio

    header = [{"name": "DGRULE", "value": "mask blocks", "comment": "covering rule (desghost.products.region_table)"},
              *provenance_cards]
    with atomic_path(path) as tmp:
        with fitsio.FITS(str(tmp), "rw", clobber=True) as f:
            f.write(None, header=header)
            f.write(np.asarray(regions, dtype=REGION_DTYPE), extname="REGIONS", header=header)
    return str(path)
