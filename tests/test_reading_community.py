"""The Community Pipeline flavor's reader: a float image per CCD, its ood mask found beside it."""
import fitsio
import numpy as np

from desghost.reading.community import CommunityReader
from desghost.reading.exposure import open_exposure


def test_ooi_pixels_are_the_whole_image_and_float(ooi_exposure):
    exposure = open_exposure(ooi_exposure[0])
    assert exposure.flavor == "ooi" and isinstance(exposure.reader, CommunityReader)
    entry = exposure.entries[0]
    extent = exposure.data_extent(entry)
    assert (extent.row0_px, extent.col0_px) == (0, 0)
    with fitsio.FITS(entry.path) as fits:
        pixels, full_shape = CommunityReader().read_pixels(fits, entry, 2, "test")
        image = fits[entry.hdu_index].read()
    assert full_shape == image.shape == (extent.ny_px, extent.nx_px)
    assert pixels.dtype == np.float32 and np.array_equal(pixels, image[::2].astype(np.float32))
    assert not CommunityReader().integer_pixels(entry.header) and CommunityReader().reports_nonfinite


def test_an_ood_file_beside_an_ooi_file_is_its_mask(tmp_path):
    ooi = tmp_path / "c4d_170302_030619_ooi_r_v1.fits.fz"
    ood = tmp_path / "c4d_170302_030619_ood_r_v1.fits.fz"
    ooi.write_bytes(b"")
    assert CommunityReader().dq_masks([str(ooi)]) == {}
    ood.write_bytes(b"")
    assert {k: str(v) for k, v in CommunityReader().dq_masks([str(ooi)]).items()} == {str(ooi): str(ood)}
