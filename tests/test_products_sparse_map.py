"""``desghost skymap``: healsparse bitmask maps in DES Y6's convention (sentinel 0, bits 15-17 named,
NEST 32/16384), no masked pixel missed, nights ORed in atomically, coarser maps by OR."""
import shutil

import fitsio
import numpy as np
import pytest

from desghost.cli import main
from desghost.products.skymap import header_wcs
from desghost.products.sparse_map import add_masks_to_bitmask_map

hsp = pytest.importorskip("healsparse", reason="healsparse is a dependency of desghost skymap")
hpgeom = pytest.importorskip("hpgeom")


@pytest.fixture
def mask_file(demo_night):
    (path,) = demo_night.glob("D*_desghost_mask.fits.fz")
    return path


def _covered_by_brute_force(mask_file, nside):
    """``{NEST pixel: bits}`` of every HEALPix pixel whose centre falls on a masked CCD pixel, found by
    projecting every masked CCD pixel (not the module's samples) and taking each hit's centre back."""
    out = {}
    with fitsio.FITS(str(mask_file)) as f:
        for hdu in f[1:]:
            hdr = hdu.read_header()
            if "CCDNUM" not in hdr or "CTYPE1" not in hdr:
                continue
            mask = hdu.read()
            rows, cols = np.nonzero(mask)
            if not len(rows):
                continue
            wcs = header_wcs(hdr)
            ra, dec = wcs.all_pix2world(cols, rows, 0)
            hits = np.unique(hpgeom.angle_to_pixel(nside, ra, dec, nest=True))
            x, y = wcs.all_world2pix(*hpgeom.pixel_to_angle(nside, hits, nest=True), 0)
            for p, c, r in zip(hits, np.rint(x).astype(int), np.rint(y).astype(int)):
                if 0 <= r < mask.shape[0] and 0 <= c < mask.shape[1] and mask[r, c]:
                    out[int(p)] = out.get(int(p), 0) | int(mask[r, c])
    return out


@pytest.mark.parametrize("nside", [16384, 1024])   # the demo's 2.1" pixels: every pixel, then a 12-px grid
def test_every_masked_pixel_centre_is_in_a_set_pixel_with_its_bits(mask_file, tmp_path, nside):
    out = tmp_path / "map.hsp"
    assert main(["-q", "skymap", str(mask_file), "-o", str(out), "--nside-sparse", str(nside)]) == 0
    m = hsp.HealSparseMap.read(str(out))
    assert (m.nside_coverage, m.nside_sparse, m.dtype, m.sentinel) == (32, nside, np.int32, 0)
    assert m.metadata["BIT15"] == "GHOST_BRIGHT" and m.metadata["BIT16"] == "GHOST_FAINT" \
        and m.metadata["BIT17"] == "SCATTER_RAYS"
    expected = _covered_by_brute_force(mask_file, nside)
    assert len(expected) > (1000 if nside > 4096 else 20)
    assert sorted(m.valid_pixels) == sorted(expected)         # none missed, none extra
    assert [int(v) for v in m.get_values_pix(np.array(sorted(expected)))] == [expected[p] for p in sorted(expected)]
    far = hpgeom.angle_to_pixel(nside, 0.0, -89.0, nest=True)
    assert m.get_values_pix(np.array([far]))[0] == 0


def test_degrading_keeps_the_union_of_bits(mask_file, tmp_path):
    out = tmp_path / "map.hsp"
    assert main(["-q", "skymap", str(mask_file), "-o", str(out)]) == 0
    m = hsp.HealSparseMap.read(str(out))
    coarse = m.degrade(4096, reduction="or")
    fine = m.valid_pixels
    parents = fine >> (2 * 2)                                 # NEST: 16384 -> 4096 drops two levels
    expected = {}
    for p, v in zip(parents, m.get_values_pix(fine)):
        expected[p] = expected.get(p, 0) | int(v)
    assert sorted(coarse.valid_pixels) == sorted(expected)
    assert [int(v) for v in coarse.get_values_pix(np.array(sorted(expected)))] == [expected[p] for p in sorted(expected)]


def test_a_night_is_ored_in_and_a_failed_run_leaves_the_map_as_it_was(mask_file, tmp_path, capsys):
    out = tmp_path / "map.hsp"
    assert main(["-q", "skymap", str(mask_file), "-o", str(out)]) == 0
    before = out.read_bytes()
    bad = tmp_path / "not_a_mask.fits"
    fitsio.write(str(bad), np.zeros((4, 4), np.int32))
    assert main(["-q", "skymap", str(mask_file), str(bad), "-o", str(out)]) == 2
    assert "not a desghost mask file" in capsys.readouterr().err
    assert out.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == sorted(["map.hsp", "not_a_mask.fits"])
    m = hsp.HealSparseMap.read(str(out))
    some = m.valid_pixels[:5]
    old = m.get_values_pix(some)
    new = np.array([hpgeom.angle_to_pixel(16384, 10.0, 10.0, nest=True)])
    add_masks_to_bitmask_map(out, np.r_[some, new], np.full(6, 1 << 15, np.int32))
    m2 = hsp.HealSparseMap.read(str(out))
    assert list(m2.get_values_pix(some)) == list(old | (1 << 15)) and m2.get_values_pix(new)[0] == 1 << 15
    assert m2.n_valid == m.n_valid + 1


def test_band_maps_need_a_name_with_the_band_and_write_one_per_band(mask_file, tmp_path, capsys):
    assert main(["-q", "skymap", str(mask_file), "-o", str(tmp_path / "m.hsp"), "--band"]) == 2
    assert "{band}" in capsys.readouterr().err
    assert main(["-q", "skymap", str(mask_file), "-o", str(tmp_path / "m_{band}.hsp"), "--band"]) == 0
    band = fitsio.read_header(str(mask_file), ext=0)["BAND"].strip()
    assert [p.name for p in tmp_path.glob("m_*.hsp")] == [f"m_{band}.hsp"]
    shutil.rmtree(tmp_path)


@pytest.mark.e2e
def test_the_map_area_is_the_masks_area_on_a_full_size_exposure(full_size_exposure, tmp_path):
    assert main(["-q", "run", str(full_size_exposure), "-o", str(tmp_path / "out")]) == 0
    mask_file = tmp_path / "out" / "D00700800_desghost_mask.fits.fz"
    assert main(["-q", "skymap", str(mask_file), "-o", str(tmp_path / "m.hsp")]) == 0
    m = hsp.HealSparseMap.read(str(tmp_path / "m.hsp"))
    map_area_deg2 = m.n_valid * hpgeom.nside_to_pixel_area(16384)
    mask_area_deg2 = 0.0
    with fitsio.FITS(str(mask_file)) as f:
        for hdu in f[1:]:
            hdr = hdu.read_header()
            if "CCDNUM" in hdr and "CTYPE1" in hdr:
                mask_area_deg2 += np.count_nonzero(hdu.read()) * abs(np.linalg.det(header_wcs(hdr).pixel_scale_matrix))
    assert mask_area_deg2 > 0.1                                   # a real test: ghosts of a tenth of a deg2 or more
    assert map_area_deg2 == pytest.approx(mask_area_deg2, rel=0.02)


def test_whole_excluded_ccds_are_their_wcs_polygons(mask_file, tmp_path, capsys):
    """--whole-ccds: each CCD the exclusion table names is set whole, with its row's class bit; the rest untouched."""
    import healsparse
    import hpgeom

    out = tmp_path / "excluded.hsp"
    assert main(["-q", "skymap", str(mask_file), "-o", str(out), "--whole-ccds"]) == 0
    m = healsparse.HealSparseMap.read(str(out))
    table = fitsio.read(str(mask_file).replace("_mask.fits.fz", "_exclude.fits"), ext="EXCLUDE")
    bits = {int(r["CCDNUM"]): 1 << {"Bright": 15, "Faint": 16, "Rays": 17}[str(r["CLASS"]).strip()] for r in table}
    area_deg2, seen = 0.0, set()
    with fitsio.FITS(str(mask_file)) as f:
        for hdu in f[1:]:
            hdr = hdu.read_header()
            if "CCDNUM" not in hdr:
                continue
            ny, nx = hdu.get_dims()
            wcs = header_wcs(hdr)
            yy, xx = np.mgrid[5:ny - 5:17, 5:nx - 5:17]          # pixels away from the edges, all over the CCD
            ra, dec = wcs.all_pix2world(xx.ravel(), yy.ravel(), 0)
            values = m.get_values_pos(ra, dec, lonlat=True)
            if hdr["CCDNUM"] in bits:
                seen.add(hdr["CCDNUM"])
                area_deg2 += nx * ny * abs(np.linalg.det(wcs.pixel_scale_matrix))
                assert np.all(values & bits[hdr["CCDNUM"]]), hdr["CCDNUM"]
            else:
                assert not values.any(), hdr["CCDNUM"]
    assert seen == set(bits) and len(bits) >= 2
    assert m.n_valid * hpgeom.nside_to_pixel_area(m.nside_sparse) == pytest.approx(area_deg2, rel=0.01)
    (tmp_path / "alone").mkdir()
    lonely = tmp_path / "alone" / mask_file.name
    shutil.copy(mask_file, lonely)
    assert main(["-q", "skymap", str(lonely), "-o", str(tmp_path / "x.hsp"), "--whole-ccds"]) == 2
    assert "needs the exclusion table beside the mask file" in capsys.readouterr().err
