"""Raw CCDs decoded from their Rice tiles (imagecodecs, threads) against fitsio's pixels."""
import fitsio
import numpy as np
import pytest

from desghost.focalplane.assembly import assemble_exposure
from desghost.reading.exposure import open_exposure
from desghost.reading.fitsfile import header_to_dict
from desghost.reading.rice import read_rice_rows, rice_layout


def test_every_hdu_decodes_bit_identical_to_fitsio_at_every_row_step(raw_exposure):
    path = str(raw_exposure[0])
    with fitsio.FITS(path) as f:
        for hdu in list(f)[1:]:
            layout = rice_layout(header_to_dict(hdu.read_header()))
            assert layout is not None, hdu.get_extname()
            start = hdu.get_offsets()["data_start"]
            reference = hdu.read()
            whole = read_rice_rows(path, start, layout, range(layout.ny_px))
            assert whole.dtype == reference.dtype == np.uint16 and np.array_equal(whole, reference)
            assert np.array_equal(read_rice_rows(path, start, layout, range(5, layout.ny_px, 4)), reference[5::4])


def test_the_threaded_reader_gives_the_frames_of_the_fitsio_reader(raw_exposure):
    exposure = open_exposure(raw_exposure[0])
    reference = list(exposure.ccds(row_step=2, only={1, 2, 3, 60}, decoder="fitsio"))
    one_thread = list(exposure.ccds(row_step=2, only={1, 2, 3, 60}, threads=1))
    threaded = list(exposure.ccds(row_step=2, only={1, 2, 3, 60}, threads=2))
    assert [f.ccdnum for f in threaded] == [f.ccdnum for f in reference] == [f.ccdnum for f in one_thread] == [1, 2, 3, 60]
    for a, b, c in zip(reference, one_thread, threaded):
        assert a.pixels.dtype == c.pixels.dtype == np.float32
        assert np.array_equal(a.pixels, b.pixels, equal_nan=True) and np.array_equal(a.pixels, c.pixels, equal_nan=True)
    image = assemble_exposure(raw_exposure[0], decoder="fitsio").image
    assert np.array_equal(image, assemble_exposure(raw_exposure[0], threads=2).image)
    with pytest.raises(ValueError, match="decoder"):
        next(exposure.ccds(decoder="cfitsio"))


def test_products_are_the_same_with_either_decoder(raw_exposure, tmp_path):
    """Mask pixels of every HDU, exclusion rows and catalog rows: bit-identical with fitsio and with the tiles."""
    import sqlite3

    from desghost.driver.exposure import RunConfig
    from desghost.driver.many import process_exposures

    inputs = [str(raw_exposure[0])]
    runs = {}
    for decoder in ("fitsio", "auto"):
        out = tmp_path / decoder
        outcomes = process_exposures(inputs, out, RunConfig(threshold=0.2, decoder=decoder, write_overlay=False),
                                     catalog_path=str(out / "c.sqlite"))
        assert all(o.error is None for o in outcomes)
        masks = {}
        for o in outcomes:
            with fitsio.FITS(o.result.outputs["mask"]) as f:
                masks.update({(o.result.expnum, h.get_extname()): h.read() for h in list(f)[1:]})
            with fitsio.FITS(o.result.outputs["exclusion_fits"]) as f:
                masks[(o.result.expnum, "exclusions")] = f[1].read()
        with sqlite3.connect(out / "c.sqlite") as db:
            rows = {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall()) for t in ("instances", "excluded_ccds")}
            rows["exposures"] = sorted(db.execute("SELECT expnum, n_instances, n_excluded FROM exposures").fetchall())
        runs[decoder] = masks, rows
    (masks_f, rows_f), (masks_a, rows_a) = runs["fitsio"], runs["auto"]
    assert masks_f.keys() == masks_a.keys() and rows_f == rows_a
    assert all(np.array_equal(masks_f[k], masks_a[k]) for k in masks_f)
    assert rows_f["excluded_ccds"] and any(masks_f[k].any() for k in masks_f if k[1] not in ("exclusions", "INSTANCES"))


@pytest.mark.parametrize("change", [{"ZCMPTYPE": "GZIP_1"}, {"ZBITPIX": -32}, {"TFIELDS": 2}, {"BZERO": 10.0},
                                    {"ZTILE1": 100}, {"ZNAME1": "BYTEPIX", "ZVAL1": 4}])
def test_headers_the_tile_decoder_does_not_cover_go_to_fitsio(raw_exposure, change):
    with fitsio.FITS(str(raw_exposure[0])) as f:
        header = header_to_dict(f[1].read_header())
    assert rice_layout(header) is not None
    assert rice_layout({**header, **change}) is None
