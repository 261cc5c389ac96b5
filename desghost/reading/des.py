"""DES reduced per-CCD files (``D*_c??_r*p*_immasked.fits[.fz]``): SCI pixels with the MSK plane applied.

Each file holds one CCD as SCI, MSK and WGT HDUs.  Pixels flagged in MSK (any DES bit) are
excluded (NaN), and so are infinite SCI values.
"""
import numpy as np

from desghost.reading.fitsfile import find_hdu
from desghost.reading.records import FlavorReader

__all__ = ["DesReader", "is_des_file", "MASK_EXTNAME", "read_des_ccd", "SCIENCE_EXTNAME"]

#: The HDU that holds the science pixels; only it is read as a CCD.
SCIENCE_EXTNAME = "SCI"
#: The HDU of the data-quality mask.
MASK_EXTNAME = "MSK"


def is_des_file(extnames):
    """True for a DES per-CCD file (its EXTNAMEs, upper case, include SCI and MSK)."""
    return SCIENCE_EXTNAME in extnames and MASK_EXTNAME in extnames


def read_des_ccd(fits, hdu, ny, nx, row_step):
    """SCI pixels of a DES per-CCD file with MSK-flagged pixels set to NaN.

    Parameters
    ----------
    fits : fitsio.FITS
        The open file (for its MSK HDU).
    hdu : fitsio.ImageHDU
        Its SCI HDU, of shape ``(ny, nx)``.
    row_step : int
        Read every ``row_step``-th row.

    Returns
    -------
    ndarray of float32, shape (ceil(ny / row_step), nx)
    """
    pixels = hdu[0:ny:row_step, 0:nx].astype(np.float32)
    msk_index = find_hdu(fits, MASK_EXTNAME)
    if msk_index is not None:
        mask = fits[msk_index][0:ny:row_step, 0:nx]
        pixels[mask != 0] = np.nan
    return pixels


class DesReader(FlavorReader):
    """DES per-CCD files: only the SCI HDU is a CCD; MSK flags pixels, and so do infinite values."""

    name = "des"
    reports_nonfinite = False
    flags_infinite = True
    flag_name = MASK_EXTNAME

    def is_science_hdu(self, extname):
        return extname.upper() == SCIENCE_EXTNAME

    def read_pixels(self, fits, entry, row_step, source, rice=None):
        """SCI pixels with MSK applied (:func:`read_des_ccd`)."""
        hdu = fits[entry.hdu_index]
        ny, nx = hdu.get_dims()
        return read_des_ccd(fits, hdu, ny, nx, row_step), (ny, nx)

