"""HEALPix map of masked area: one small case against a direct computation."""
import fitsio
import healpy as hp
import numpy as np
import pytest
from astropy.wcs import WCS

from desghost.cli import main
from desghost.products.skymap import masked_area_map

SCALE = 0.263 / 3600 * 8  # deg per pixel of a small 256x512 CCD


def write_mask(path, mask, crval=(45.0, -30.0)):
    hdr = [{"name": k, "value": v} for k, v in (
        ("CCDNUM", 21), ("EXPNUM", 1), ("CTYPE1", "RA---TAN"), ("CTYPE2", "DEC--TAN"), ("CRVAL1", crval[0]),
        ("CRVAL2", crval[1]), ("CRPIX1", 128.5), ("CRPIX2", 256.5), ("CD1_1", 0.0), ("CD1_2", SCALE),
        ("CD2_1", -SCALE), ("CD2_2", 0.0))]
    with fitsio.FITS(str(path), "rw", clobber=True) as f:  # laid out as desghost writes them
        f.write(None, header=[{"name": "DGVERS", "value": "desghost test"}])
        f.write(mask.astype(np.int32), header=hdr, extname="S10", compress="PLIO", tile_dims=[1, 256])
        f.write(np.zeros((400, 400), dtype=np.int32), extname="FOCALPLANE")


def test_masked_area_matches_a_direct_computation(tmp_path):
    mask = np.zeros((512, 256), dtype=np.int32)
    mask[100:300, 50:150] = 1 << 15
    write_mask(tmp_path / "m.fits.fz", mask)
    hmap = masked_area_map([tmp_path / "m.fits.fz"], nside=256, step_px=1)
    direct_area = mask.astype(bool).sum() * SCALE ** 2
    assert hmap.sum() == pytest.approx(direct_area, rel=1e-6)
    # direct computation of where every masked pixel lands
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [45.0, -30.0]
    w.wcs.crpix = [128.5, 256.5]
    w.wcs.cd = [[0.0, SCALE], [-SCALE, 0.0]]
    yy, xx = np.nonzero(mask)
    c = w.pixel_to_world(xx, yy)
    direct = np.bincount(hp.ang2pix(256, c.ra.deg, c.dec.deg, lonlat=True), minlength=hp.nside2npix(256))
    assert np.allclose(hmap, direct * SCALE ** 2)
    centre = hp.ang2pix(256, 45.0, -30.0, lonlat=True)
    assert hmap[centre] > 0  # the CCD centre (CRPIX) is masked and lands on CRVAL


def test_cli_writes_a_map_healpy_reads_and_accumulates(tmp_path, capsys):
    mask = np.zeros((512, 256), dtype=np.int32)
    mask[:64, :64] = 1 << 17
    write_mask(tmp_path / "a.fits.fz", mask)
    out = tmp_path / "map.fits"
    assert main(["healpix", str(tmp_path / "a.fits.fz"), "-o", str(out), "--nside", "128", "--step", "1"]) == 0
    m1 = hp.read_map(str(out))
    assert hp.npix2nside(m1.size) == 128 and m1.sum() == pytest.approx(64 * 64 * SCALE ** 2, rel=1e-5)
    assert main(["healpix", str(tmp_path / "a.fits.fz"), "-o", str(out), "--add", "--step", "1"]) == 0
    assert hp.read_map(str(out)).sum() == pytest.approx(2 * m1.sum(), rel=1e-5)
    assert fitsio.read_header(str(out), ext=1)["ORDERING"] == "RING"


def test_a_failed_healpix_run_leaves_the_map_as_it_was(tmp_path, raw_exposure, capsys):
    """Inputs are checked before the map is touched; the map is written to a temporary name and renamed."""
    mask = np.zeros((512, 256), dtype=np.int32)
    mask[:64, :64] = 1 << 17
    write_mask(tmp_path / "a.fits.fz", mask)
    out = tmp_path / "map.fits"
    assert main(["healpix", str(tmp_path / "a.fits.fz"), "-o", str(out), "--nside", "128"]) == 0
    before = out.read_bytes()
    notes = tmp_path / "notes.txt"
    notes.write_text("not FITS\n" * 400)
    for bad, code in ((raw_exposure[0], 2), (notes, 3), (tmp_path / "absent.fits.fz", 2)):
        capsys.readouterr()
        assert main(["healpix", str(tmp_path / "a.fits.fz"), str(bad), "-o", str(out)]) == code
        err = capsys.readouterr().err
        assert str(bad) in err and "Traceback" not in err
        assert out.read_bytes() == before and sorted(p.name for p in tmp_path.glob("*map*")) == ["map.fits"]
    assert "not a desghost mask file" in (main(["healpix", str(raw_exposure[0]), "-o", str(out)]),
                                          capsys.readouterr().err)[1]
