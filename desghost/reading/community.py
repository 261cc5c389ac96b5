"""NOIRLab Community Pipeline files (``c4d_*_ooi_*``): one float image HDU per CCD, and its masks.

The archive delivers each exposure as three files that differ only in the product letter
after ``oo``: ``ooi`` the image, ``ood`` its data-quality mask, ``oow`` its weight map (their
PRODTYPE card cannot tell them apart: real copies say 'image' in all three).  The ``ooi`` file
is the exposure; its ``ood`` file, found beside it, is applied like the DES MSK plane (pixels
with a non-zero mask value are excluded); ``oow`` files are not read.
"""
import re
from pathlib import Path

import numpy as np

from desghost.errors import CorruptFileError, InconsistentExposureError
from desghost.reading.fitsfile import find_hdu, open_fits, short_error
from desghost.reading.records import FlavorReader

__all__ = ["apply_dq_mask", "CommunityReader", "dq_mask_path", "product_kind", "PRODUCT_KINDS", "read_community_ccd"]

#: ``c4d_YYMMDD_HHMMSS_oo<kind>_...``: the archive's naming of Community Pipeline products.
_PRODUCT_NAME = re.compile(r"^c4d_\d{6}_\d{6}_oo([idw])_")
PRODUCT_KINDS = {"i": "image", "d": "data-quality mask", "w": "weight map"}


def product_kind(path):
    """``"image"``, ``"data-quality mask"`` or ``"weight map"`` for a Community Pipeline file name, else None."""
    m = _PRODUCT_NAME.match(Path(path).name)
    return PRODUCT_KINDS[m.group(1)] if m else None


def dq_mask_path(image_path):
    """The ``ood`` file beside an ``ooi`` file (any of .fits, .fits.fz, .fits.gz), or None."""
    image_path = Path(image_path)
    if product_kind(image_path) != "image":
        return None
    stem = image_path.name.replace("_ooi_", "_ood_", 1)
    base = stem.split(".fits")[0]
    for candidate in [stem] + [base + ext for ext in (".fits", ".fits.fz", ".fits.gz")]:
        path = image_path.with_name(candidate)
        if path.exists():
            return path
    return None


def read_community_ccd(hdu, ny, nx, row_step, dq_hdu=None):
    """Pixels of one Community Pipeline CCD HDU of shape ``(ny, nx)``, every ``row_step``-th row.

    Parameters
    ----------
    hdu : fitsio.ImageHDU
    ny, nx : int
    row_step : int
    dq_hdu : fitsio.ImageHDU, optional
        The CCD's HDU of the ``ood`` file; pixels with a non-zero value become NaN.

    Returns
    -------
    ndarray of float32, shape (ceil(ny / row_step), nx)
    """
    pixels = hdu[0:ny:row_step, 0:nx].astype(np.float32)
    if dq_hdu is not None:
        pixels[dq_hdu[0:ny:row_step, 0:nx] != 0] = np.nan
    return pixels


def apply_dq_mask(pixels, mask_path, entry, row_step):
    """Set the pixels flagged in the CCD's HDU of the ``ood`` file to NaN, in place.

    Parameters
    ----------
    pixels : ndarray of float32, shape (ceil(ny / row_step), nx)
        The CCD's pixels as read from the ``ooi`` file.
    mask_path : str or Path
        The ``ood`` file.
    entry : CCDEntry
        The CCD (its file and EXTNAME, for the HDU and the messages).
    row_step : int

    Raises
    ------
    InconsistentExposureError
        The mask file has no HDU of that EXTNAME, or one of another shape (exit code 8).
    CorruptFileError
        Its pixels cannot be read (exit code 4).
    """
    with open_fits(mask_path) as masks:
        index = find_hdu(masks, entry.extname.upper())
        if index is None:
            raise InconsistentExposureError(f"its data-quality mask {mask_path} has no HDU {entry.extname}",
                                            path=entry.path, hdu=entry.extname)
        ny, nx = masks[index].get_dims()
        if (len(range(0, ny, row_step)), nx) != pixels.shape:
            raise InconsistentExposureError(
                f"its data-quality mask {mask_path}[{entry.extname}] is {nx}x{ny} pixels, unlike the image",
                path=entry.path, hdu=entry.extname)
        try:
            flagged = read_community_ccd(masks[index], ny, nx, row_step) != 0
        except (OSError, ValueError, RuntimeError) as exc:
            raise CorruptFileError(f"cannot read pixels ({short_error(exc)})", path=mask_path,
                                   hdu=entry.extname) from exc
    pixels[flagged] = np.nan


class CommunityReader(FlavorReader):
    """Community Pipeline ``ooi`` files: a float image per CCD, flagged by the ``ood`` file beside it."""

    name = "ooi"

    def dq_masks(self, files):
        return {f: m for f in files if (m := dq_mask_path(f)) is not None}

    def read_pixels(self, fits, entry, row_step, source, rice=None):
        """The image HDU's pixels (:func:`read_community_ccd`); the ``ood`` mask is applied by the caller."""
        hdu = fits[entry.hdu_index]
        ny, nx = hdu.get_dims()
        return read_community_ccd(hdu, ny, nx, row_step), (ny, nx)

