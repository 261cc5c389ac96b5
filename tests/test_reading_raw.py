"""The raw flavor's reader: DATASEC is the data, integer pixels, Rice tiles decoded directly."""
import fitsio
import numpy as np

from desghost.reading.exposure import open_exposure
from desghost.reading.flavors import READERS
from desghost.reading.raw import RawReader


def test_the_table_holds_one_reader_per_flavor_detect_flavor_gives():
    assert set(READERS) == {"raw", "ooi", "des"}
    assert all(reader.name == flavor for flavor, reader in READERS.items())


def test_raw_data_extent_is_datasec_and_pixels_are_the_overscan_corrected_data(raw_exposure):
    exposure = open_exposure(raw_exposure[0])
    assert exposure.flavor == "raw" and isinstance(exposure.reader, RawReader)
    entry = exposure.entries[0]
    extent = exposure.data_extent(entry)
    datasec = entry.header["DATASEC"].strip("[]").split(",")
    (c0, c1), (r0, r1) = (map(int, datasec[0].split(":")), map(int, datasec[1].split(":")))
    assert (extent.nx_px, extent.ny_px, extent.col0_px, extent.row0_px) == (c1 - c0 + 1, r1 - r0 + 1, c0 - 1, r0 - 1)
    assert RawReader().integer_pixels(entry.header)
    with fitsio.FITS(entry.path) as fits:
        pixels, full_shape = RawReader().read_pixels(fits, entry, 1, "test")
    assert pixels.shape == full_shape == (extent.ny_px, extent.nx_px) and pixels.dtype == np.float32
    assert np.isfinite(pixels).all() and abs(float(np.median(pixels))) < 1e4   # overscan subtracted
