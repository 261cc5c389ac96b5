"""HEALPix maps of masked sky area, from the per-CCD masks and each CCD's WCS.

A map pixel holds the masked area in square degrees that falls in it, summed over the mask
files given (and over an existing map when adding to one).  Maps are standard HEALPix FITS
files written with healpy (RING ordering, celestial coordinates).
"""
import os

import numpy as np

from desghost import __version__
from desghost.atomic import atomic_path

__all__ = ["add_masks_to_map", "ccd_mask_hdus", "cards_wcs", "ccd_corners_deg", "check_mask_file", "header_wcs", "masked_area_map", "wcs_cards", "WCS_KEYS", "write_map"]

WCS_KEYS = ("CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2", "CD1_1", "CD1_2", "CD2_1", "CD2_2",
            "CUNIT1", "CUNIT2", "RADESYS", "EQUINOX", "LONPOLE", "LATPOLE")


def wcs_cards(header, col_offset_px=0, row_offset_px=0):
    """WCS keywords of a CCD header (TAN or TPV, PV terms included), CRPIX shifted to the data section."""
    cards = []
    for key, value in header.items():
        if key in WCS_KEYS or key.startswith("PV1_") or key.startswith("PV2_"):
            if key == "CRPIX1":
                value = float(value) - col_offset_px
            elif key == "CRPIX2":
                value = float(value) - row_offset_px
            cards.append({"name": key, "value": value})
    return cards


def header_wcs(header):
    """An astropy WCS from a header's WCS cards (a mapping; TAN or TPV, PV terms included)."""
    import warnings

    from astropy.io.fits import Header
    from astropy.wcs import WCS, FITSFixedWarning
    h = Header()
    for key in header.keys():
        if key in WCS_KEYS or key.startswith(("PV1_", "PV2_")):
            h[key] = header[key]
    h["NAXIS"] = 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        return WCS(h)


def cards_wcs(cards):
    """An astropy WCS from fitsio header records (``[{"name", "value"}, ...]``, as :func:`wcs_cards` makes)."""
    return header_wcs({c["name"]: c["value"] for c in cards})


def ccd_corners_deg(wcs, ny_px, nx_px):
    """RA, Dec (degrees, arrays of 4) of a data section's corners (its outer pixel edges) through ``wcs``."""
    x = np.array([-0.5, nx_px - 0.5, nx_px - 0.5, -0.5])
    y = np.array([-0.5, -0.5, ny_px - 0.5, ny_px - 0.5])
    ra, dec = wcs.all_pix2world(x, y, 0)
    return np.asarray(ra, float), np.asarray(dec, float)


def masked_area_map(mask_files, nside, step_px=8, bits=None, base_map=None):
    """Accumulate masked area (deg^2 per HEALPix pixel) from desghost mask files.

    Parameters
    ----------
    mask_files : iterable of path
    nside : int
    step_px : int
        Sample every ``step_px``-th pixel in x and y; each sample stands for step_px^2 pixels.
    bits : int, optional
        Only count pixels with these mask bits (default: any non-zero).
    base_map : ndarray, optional
        A map to add to (same nside).

    Raises
    ------
    UsageError, NotFitsError, CorruptFileError
        An input that is missing or not a desghost mask file (2), not FITS (3) or unreadable (4).
    """
    import healpy as hp

    from desghost.reading.fitsfile import open_fits

    npix = hp.nside2npix(nside)
    out = np.zeros(npix) if base_map is None else np.asarray(base_map, dtype=float).copy()
    for path in mask_files:
        with open_fits(path) as f:
            check_mask_file(path, f)
            for hdu, hdr in ccd_mask_hdus(f):
                ny, nx = hdu.get_dims()
                sample = hdu[0:ny:step_px, 0:nx:step_px]
                hit = sample != 0 if bits is None else (sample & bits) != 0
                if not hit.any():
                    continue
                yy, xx = np.nonzero(hit)
                w = header_wcs(hdr)
                ra, dec = w.all_pix2world(xx * step_px + (step_px - 1) / 2.0, yy * step_px + (step_px - 1) / 2.0, 0)
                pix_area_deg2 = abs(np.linalg.det(w.pixel_scale_matrix))
                np.add.at(out, hp.ang2pix(nside, ra, dec, lonlat=True), pix_area_deg2 * step_px ** 2)
    return out


def ccd_mask_hdus(fits):
    """The CCD mask HDUs of an open desghost mask file with a WCS: ``(hdu, header)`` pairs."""
    for hdu in fits:
        if hdu.get_exttype() != "IMAGE_HDU" or not hdu.get_dims():
            continue
        hdr = hdu.read_header()
        if "CCDNUM" in hdr and "CTYPE1" in hdr:
            yield hdu, hdr


def write_map(path, hmap, provenance=None):
    """Write a HEALPix map (healpy, RING, celestial) atomically."""
    import healpy as hp
    extra = [(k[:8], v) for k, v in (provenance or {}).items()]
    with atomic_path(path, suffix=".fits") as tmp:
        hp.write_map(str(tmp), hmap, coord="C", column_names=["MASKED_AREA"], column_units="deg2",
                     extra_header=extra, overwrite=True, dtype=np.float64)
    return str(path)


def check_mask_file(path, fits):
    """Refuse a file that is not a desghost mask file.

    Parameters
    ----------
    path : str or Path
        For the message.
    fits : fitsio.FITS
        The file, open.

    Raises
    ------
    UsageError
        No such file, or a FITS file without desghost's FOCALPLANE HDU and mask planes (exit code 2).
    NotFitsError, CorruptFileError
        Not FITS (3), or unreadable (4).
    """
    from desghost.errors import UsageError
    from desghost.reading.fitsfile import find_hdu

    if find_hdu(fits, "FOCALPLANE") is None or "DGVERS" not in fits[0].read_header():
        raise UsageError("not a desghost mask file (D*_desghost_mask.fits.fz: no FOCALPLANE HDU or DGVERS card)",
                         path=path)


def add_masks_to_map(path, mask_files, nside, step_px=8, add=True):
    """Add the masked area of desghost mask files to the HEALPix map at ``path`` (made when absent).

    Each input is checked to be a desghost mask file as it is read, and the map is written to a
    temporary name and renamed at the end, so a bad input leaves an existing map as it was.

    Parameters
    ----------
    path : str or Path
        The map file; when it exists and ``add`` is true, its nside wins over ``nside`` and its
        values are the base.
    mask_files : list of str
        ``D*_desghost_mask.fits.fz`` files.
    nside : int
        nside of a new map.
    step_px : int
        Sample every N-th CCD pixel (each sample stands for step_px**2 pixels).
    add : bool
        Add to an existing map at ``path``; False replaces it.

    Returns
    -------
    (str, ndarray of float64)
        The map written (atomically) and its values in deg^2 per HEALPix pixel.
    """
    import healpy as hp

    from desghost.errors import UsageError

    base = None
    if add and os.path.exists(path):
        try:
            base = hp.read_map(path, dtype=np.float64)
        except Exception as exc:  # healpy raises bare Exceptions and astropy errors alike
            raise UsageError(f"cannot add to it: not a HEALPix map ({' '.join(str(exc).split())[:120]})",
                             path=path) from None
        nside = hp.npix2nside(base.size)
    hmap = masked_area_map(mask_files, nside, step_px=step_px, base_map=base)
    return write_map(path, hmap, {"DGVERS": f"desghost {__version__}", "DGSTEP": step_px}), hmap
