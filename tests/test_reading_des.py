"""The DES flavor's reader: only SCI is a CCD, MSK and infinite values flag pixels."""
import fitsio
import numpy as np

from desghost.reading.des import DesReader
from desghost.reading.exposure import open_exposure


def test_only_the_sci_hdu_is_a_ccd_and_msk_flags_pixels(des_exposure):
    files, _ = des_exposure
    exposure = open_exposure([str(f) for f in files])
    assert exposure.flavor == "des" and isinstance(exposure.reader, DesReader)
    reader = DesReader()
    assert reader.is_science_hdu("sci") and not reader.is_science_hdu("MSK") and not reader.is_science_hdu("WGT")
    assert all(e.extname.upper() == "SCI" for e in exposure.entries)
    entry = exposure.entries[0]
    with fitsio.FITS(entry.path) as fits:
        pixels, full_shape = reader.read_pixels(fits, entry, 1, "test")
        msk = fits["MSK"].read()
    assert pixels.shape == full_shape == msk.shape
    assert np.isnan(pixels[msk != 0]).all() and np.isfinite(pixels[msk == 0]).mean() > 0.9
    assert reader.flags_infinite and not reader.reports_nonfinite and reader.flag_name == "MSK"
