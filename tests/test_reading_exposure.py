"""Readers of every flavor on real (simulated) FITS files."""
import os

import numpy as np
import pytest

from desghost.reading.exposure import open_exposure

from .helpers import copy_exposure, set_card


def test_raw_flavor_metadata_and_ccds(raw_exposure):
    exp = open_exposure(raw_exposure[0])
    assert exp.flavor == "raw" and exp.expnum == 700001 and exp.band == "r"
    assert exp.date_obs.startswith("20")
    assert sorted(exp.ccdnums) == list(range(1, 63))


def test_raw_overscan_is_subtracted_and_gain_applied(raw_exposure):
    exp = open_exposure(raw_exposure[0])
    frame = next(f for f in exp.ccds(only={10}))
    assert frame.pixels.shape == (512, 256) and frame.pixels.dtype == np.float32
    # sky is 2500 electrons; bias 1200 ADU and gain ~4 must be gone
    assert np.median(frame.pixels) == pytest.approx(2500, rel=0.02)
    half = frame.pixels.shape[1] // 2
    assert np.median(frame.pixels[:, :half]) == pytest.approx(np.median(frame.pixels[:, half:]), rel=0.01)


def test_known_dead_areas_are_excluded(raw_exposure):
    frames = {f.ccdnum: f for f in open_exposure(raw_exposure[0]).ccds(only={31, 61, 30})}
    assert np.isnan(frames[61].pixels).all()
    p31 = frames[31].pixels
    assert np.isnan(p31[:, 128:]).all() and np.isfinite(p31[:, :128]).all()  # amp A (x >= nx/2) of S7
    assert np.isfinite(frames[30].pixels).all()


def test_row_step_reads_every_kth_row(raw_exposure):
    exp = open_exposure(raw_exposure[0])
    full = next(exp.ccds(only={20})).pixels
    sub = next(exp.ccds(row_step=4, only={20})).pixels
    assert sub.shape == (128, 256)
    assert np.allclose(sub, full[::4], atol=1e-3)


def test_ooi_flavor(ooi_exposure):
    exp = open_exposure(ooi_exposure[0])
    assert exp.flavor == "ooi" and exp.expnum == 700001
    frame = next(exp.ccds(only={5}))
    assert frame.pixels.shape == (510, 254)
    assert abs(np.median(frame.pixels)) < 20  # sky-subtracted


def test_des_per_ccd_files_as_list_directory_and_glob(des_exposure):
    files, _ = des_exposure
    folder = os.path.dirname(files[0])
    for source in (files, folder, folder + "/D*_c*_immasked.fits.fz"):
        exp = open_exposure(source)
        assert exp.flavor == "des" and exp.expnum == 700001 and exp.band == "r"
        assert len(exp.ccdnums) == 61  # DES does not deliver the dead N30
    frame = next(open_exposure(files).ccds(only={7}))
    assert np.isnan(frame.pixels[:, 3]).all()  # the MSK'd bad column
    assert np.isfinite(frame.pixels[:, 4]).all()


def test_des_files_of_two_exposures_are_refused(des_exposure, tmp_path):
    from desghost.errors import InconsistentExposureError
    files, _ = des_exposure
    other = tmp_path / "other.fits"
    copy_exposure(files[1], other, edit_primary=lambda c: c,
                  edit_hdu=lambda i, n, d, c: (d, set_card(c, "EXPNUM", 123)))
    with pytest.raises(InconsistentExposureError, match="different exposures"):
        open_exposure([files[0], str(other)])


def test_extname_with_trailing_spaces_and_focus_ccds_are_handled(ooi_exposure, tmp_path):
    dst = tmp_path / "spaces.fits"

    def edit(i, name, data, cards):
        if i == 1:  # turn the first HDU into a focus CCD
            cards = set_card(set_card(cards, "CCDNUM", 63), "DETPOS", "FS1")
        return data, cards

    copy_exposure(ooi_exposure[0], dst, edit_hdu=edit, extname=lambda i, n: "FS1" if i == 1 else n + "   ")
    exp = open_exposure(dst)
    assert 1 not in exp.ccdnums and len(exp.ccdnums) == 61
    assert all(f.detpos == f.detpos.strip() for f in exp.ccds(only={2, 3}))


def test_primary_keywords_are_inherited(raw_exposure):
    frame = next(open_exposure(raw_exposure[0]).ccds(only={1}))
    assert frame.header["EXPNUM"] == 700001 and frame.header["CCDNUM"] == 1
    assert frame.header["INSTRUME"] == "DECam"


def test_streaming_keeps_one_ccd_in_memory(raw_exposure):
    import weakref
    refs = []
    for frame in open_exposure(raw_exposure[0]).ccds():
        refs.append(weakref.ref(frame.pixels))
        del frame  # reference counting frees a CCD's pixels at once (no collector pass needed)
        assert sum(r() is not None for r in refs) <= 1
