"""healsparse bitmask maps of the masked sky, in DES Y6's convention.

A map pixel holds the OR of the mask bits of every desghost mask pixel in it: bits 15, 16, 17
for Bright, Faint and Rays (:data:`desghost.classes.CLASS_BITS`, as in the mask files), integer
type with sentinel 0 (healsparse's default sentinel for integers is the type's minimum, which
breaks bitmask use), NEST ordering, ``nside_coverage`` 32 and ``nside_sparse`` 16384 by default
as the DES Y6 masks (pizza-cutter's masking constants).  The bit names are in the map's metadata
(``BIT15 = 'GHOST_BRIGHT'`` ...).

Rasterization rule, healsparse's own (``realize_geom`` and ``hpgeom.query_polygon`` without
``inclusive``): a HEALPix pixel is set when its centre falls on a masked CCD pixel, with that
pixel's bits, so the map's area equals the masks' area (within 1% on a full-size exposure at nside
16384) instead of growing by the pixels a mask only grazes.  Candidates come from projecting
every masked pixel on the mask's boundary (a masked pixel with an unmasked or missing
4-neighbour) through the CCD's WCS, and the interior on a grid at least
:data:`SAMPLES_PER_HEALPIX` times finer than the HEALPix pixel (on DECam at nside 16384: every
12th pixel, 3.2 arcsec, against 12.9 arcsec): the CCD pixel under a HEALPix pixel's centre lies
inside that HEALPix pixel, and is either a boundary pixel or an interior one the grid cannot
miss, so no HEALPix pixel whose centre the mask covers is missed.  Each candidate's centre is
then taken back through the WCS to the CCD pixel it falls on.  The tests check the rule
exhaustively (every masked centre projected) at two map resolutions.
"""
import os

import numpy as np
from scipy.ndimage import binary_erosion

from desghost import __version__
from desghost.atomic import atomic_path
from desghost.classes import CLASS_BITS, PLANE_NAMES
from desghost.errors import UsageError
from desghost.products.skymap import ccd_corners_deg, ccd_mask_hdus, check_mask_file, header_wcs
from desghost.reading.fitsfile import open_fits

__all__ = ["add_masks_to_bitmask_map", "bitmask_pixels", "ccd_polygon_pixels", "centres_on_mask", "excluded_ccd_bits",
           "interior_stride_px", "map_metadata", "mask_sample_px",
           "NSIDE_COVERAGE", "NSIDE_SPARSE", "or_by_pixel", "read_bitmask_map", "SAMPLES_PER_HEALPIX"]

#: DES Y6's healsparse mask resolution (pizza-cutter ``healsparse`` masks).
NSIDE_COVERAGE = 32
NSIDE_SPARSE = 16384
#: Interior samples per HEALPix pixel width (the grid step is the HEALPix resolution over this).
SAMPLES_PER_HEALPIX = 4


def interior_stride_px(nside, pixel_scale_arcsec):
    """The interior grid step in CCD pixels: at least :data:`SAMPLES_PER_HEALPIX` samples per
    HEALPix pixel width (1 when the CCD pixels are already that coarse).

    Examples
    --------
    >>> interior_stride_px(16384, 0.263)   # DECam at DES Y6's resolution
    12
    """
    import hpgeom

    resolution_arcsec = hpgeom.nside_to_resolution(nside) * 3600.0
    return max(1, int(resolution_arcsec / (SAMPLES_PER_HEALPIX * pixel_scale_arcsec)))


def mask_sample_px(mask, stride_px):
    """The CCD pixels of a mask to project: every boundary pixel, and the interior on a grid.

    Parameters
    ----------
    mask : ndarray of int, shape (ny, nx)
        Mask values (0: not masked).
    stride_px : int

    Returns
    -------
    (ndarray, ndarray)
        Row and column indices (int) of the samples.

    Examples
    --------
    >>> m = np.zeros((40, 40), np.int32); m[4:36, 4:36] = 1 << 15
    >>> rows, cols = mask_sample_px(m, 8)
    >>> bool((m[rows, cols] != 0).all()), bool(len(rows) < m.astype(bool).sum())
    (True, True)
    """
    hit = mask != 0
    interior = binary_erosion(hit, border_value=0)
    grid = np.zeros_like(hit)
    grid[::stride_px, ::stride_px] = True
    return np.nonzero((hit & ~interior) | (interior & grid))


def bitmask_pixels(mask_files, nside_sparse=NSIDE_SPARSE, whole_ccds=False):
    """The NEST HEALPix pixels the masks cover and the OR of their bits, per band.

    Parameters
    ----------
    mask_files : iterable of path
        ``D*_desghost_mask.fits.fz``.
    nside_sparse : int
    whole_ccds : bool
        Also every CCD the exclusion table beside each mask file (``D*_desghost_exclude.fits``)
        excludes, whole: the pixels whose centre falls in the CCD's WCS polygon (its data
        section's corners; a cut-out's window), with the bit of the row's CLASS.

    Returns
    -------
    dict
        ``{band: (pixels int64 (n,), values int32 (n,))}``, pixels unique.

    Raises
    ------
    UsageError, NotFitsError, CorruptFileError
        A file that is not a desghost mask file (2), not FITS (3) or unreadable (4); with
        ``whole_ccds``, a mask file without its exclusion table beside it (2).
    """
    import hpgeom

    found = {}
    for path in mask_files:
        excluded = excluded_ccd_bits(path) if whole_ccds else {}
        with open_fits(path) as f:
            check_mask_file(path, f)
            band = str(f[0].read_header().get("BAND", "") or "").strip()
            for hdu, hdr in ccd_mask_hdus(f):
                if hdr["CCDNUM"] in excluded:
                    found.setdefault(band, []).append(ccd_polygon_pixels(hdr, hdu.get_dims(), nside_sparse,
                                                                         excluded[hdr["CCDNUM"]]))
                mask = hdu.read()
                if not mask.any():
                    continue
                wcs = header_wcs(hdr)
                scale_arcsec = 3600.0 * np.sqrt(abs(np.linalg.det(wcs.pixel_scale_matrix)))
                rows, cols = mask_sample_px(mask, interior_stride_px(nside_sparse, scale_arcsec))
                ra, dec = wcs.all_pix2world(cols, rows, 0)
                found.setdefault(band, []).append(centres_on_mask(
                    np.unique(hpgeom.angle_to_pixel(nside_sparse, ra, dec, nest=True)), nside_sparse, mask, wcs))
    return {band: or_by_pixel(np.concatenate([p for p, _ in parts]), np.concatenate([v for _, v in parts]))
            for band, parts in found.items()}


def excluded_ccd_bits(mask_file):
    """``{ccdnum: mask bit value}`` of the CCDs excluded by the exclusion table beside a mask file.

    Raises
    ------
    UsageError
        No ``D*_desghost_exclude.fits`` beside it, no EXCLUDE table in it, or a row whose CLASS
        is not Bright, Faint or Rays, naming the file (and row) (exit code 2).
    NotFitsError, CorruptFileError
        The table is not FITS (3) or cannot be read (4).
    """
    table_path = str(mask_file).replace("_desghost_mask.fits.fz", "_desghost_exclude.fits")
    if table_path == str(mask_file) or not os.path.isfile(table_path):
        raise UsageError("--whole-ccds needs the exclusion table beside the mask file (D*_desghost_exclude.fits)",
                         path=mask_file)
    with open_fits(table_path) as f:
        if "EXCLUDE" not in f:
            raise UsageError("no EXCLUDE table: not a desghost exclusion table", path=table_path)
        rows = f["EXCLUDE"].read()
    out = {}
    for i, r in enumerate(rows):
        name = str(r["CLASS"]).strip()
        if name not in CLASS_BITS:
            raise UsageError(f"row {i + 1}: CLASS {name!r} is not Bright, Faint or Rays", path=table_path)
        out[int(r["CCDNUM"])] = 1 << CLASS_BITS[name]
    return out


def ccd_polygon_pixels(header, dims, nside, bits):
    """The NEST pixels whose centre falls in a CCD's WCS polygon (data-section corners), all with ``bits``."""
    import hpgeom

    ra, dec = ccd_corners_deg(header_wcs(header), *dims)
    pixels = hpgeom.query_polygon(nside, ra, dec, nest=True, inclusive=False).astype(np.int64)
    return pixels, np.full(len(pixels), bits, np.int32)


def centres_on_mask(candidates, nside, mask, wcs):
    """The candidate HEALPix pixels whose centre falls on a masked pixel of this CCD, with its bits.

    Parameters
    ----------
    candidates : ndarray of int64
        NEST pixels.
    nside : int
    mask : ndarray of int, shape (ny, nx)
    wcs : astropy.wcs.WCS
        The CCD's.

    Returns
    -------
    (ndarray of int64, ndarray of int32)
    """
    import hpgeom

    ra, dec = hpgeom.pixel_to_angle(nside, candidates, nest=True)
    x, y = wcs.all_world2pix(ra, dec, 0)
    col, row = np.rint(x).astype(np.int64), np.rint(y).astype(np.int64)
    inside = (col >= 0) & (col < mask.shape[1]) & (row >= 0) & (row < mask.shape[0])
    values = np.zeros(len(candidates), np.int32)
    values[inside] = mask[row[inside], col[inside]]
    keep = values != 0
    return candidates[keep].astype(np.int64), values[keep]


def or_by_pixel(pixels, values):
    """Unique pixels and the OR of the values each one gets: ``(pixels int64, values int32)``."""
    order = np.argsort(pixels, kind="stable")
    pixels, values = pixels[order], values[order]
    starts = np.flatnonzero(np.r_[True, pixels[1:] != pixels[:-1]])
    return pixels[starts].astype(np.int64), np.bitwise_or.reduceat(values, starts).astype(np.int32)


def map_metadata():
    """The map's metadata: bit names, software, the sampling rule."""
    meta = {f"BIT{b}": PLANE_NAMES[c] for c, b in CLASS_BITS.items()}
    meta.update(DGVERS=f"desghost {__version__}", DGSAMPLE=SAMPLES_PER_HEALPIX)
    return meta


def read_bitmask_map(path):
    """An existing desghost bitmask map, checked to be one.

    Raises
    ------
    UsageError
        Not a healsparse map, or one that is not an integer map with sentinel 0 (exit code 2).
    """
    import healsparse as hsp

    try:
        m = hsp.HealSparseMap.read(str(path))
    except Exception as exc:  # noqa: BLE001 - healsparse and fitsio raise many kinds
        raise UsageError(f"cannot add to it: not a healsparse map ({' '.join(str(exc).split())[:120]})",
                         path=path) from None
    if not np.issubdtype(m.dtype, np.integer) or m.sentinel != 0:
        raise UsageError(f"cannot add to it: not an integer bitmask map with sentinel 0 (dtype {m.dtype}, "
                         f"sentinel {m.sentinel})", path=path)
    return m


def add_masks_to_bitmask_map(path, pixels, values, nside_coverage=NSIDE_COVERAGE, nside_sparse=NSIDE_SPARSE,
                             add=True):
    """OR pixels into the bitmask map at ``path`` (made when absent) and replace the file atomically.

    Parameters
    ----------
    path : str or Path
        A healsparse FITS map (``.hsp``); when it exists and ``add`` is true its resolution wins.
    pixels, values : ndarray
        NEST pixels at ``nside_sparse`` (or the existing map's) and their bits.
    nside_coverage, nside_sparse : int
        Of a new map.
    add : bool
        OR into an existing map; False replaces it.

    Returns
    -------
    healsparse.HealSparseMap

    Raises
    ------
    UsageError
        An existing file that is not a desghost bitmask map, or of another nside (exit code 2);
        the file is left as it was.
    """
    import healsparse as hsp

    if add and os.path.exists(path):
        m = read_bitmask_map(path)
        if m.nside_sparse != nside_sparse:
            raise UsageError(f"cannot add to it: its nside_sparse is {m.nside_sparse}, these pixels are at "
                             f"{nside_sparse}", path=path)
    else:
        m = hsp.HealSparseMap.make_empty(nside_coverage, nside_sparse, np.int32, sentinel=0)
    if len(pixels):
        m.update_values_pix(np.asarray(pixels, np.int64), np.asarray(values, np.int32), operation="or")
    m.metadata = {**(m.metadata or {}), **map_metadata()}
    with atomic_path(path, suffix=".hsp") as tmp:
        m.write(str(tmp), clobber=True)
    return m
