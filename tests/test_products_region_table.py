"""``D<expnum>_desghost_regions.fits``: convex quads in decasu's streak-table form whose union is each
instance's mask on each CCD, read by decasu's own reader."""
import fitsio
import numpy as np
import pytest
from matplotlib.path import Path as Polygon

from desghost.classes import CLASS_BITS
from desghost.products.skymap import header_wcs


@pytest.fixture
def products(demo_night):
    (regions,) = demo_night.glob("D*_desghost_regions.fits")
    (mask,) = demo_night.glob("D*_desghost_mask.fits.fz")
    return regions, mask


def _tangent(ra, dec, ra0, dec0):
    """Degrees on a plane tangent at (ra0, dec0) (small fields: enough to test containment)."""
    return np.column_stack([(np.asarray(ra) - ra0) * np.cos(np.radians(dec0)), np.asarray(dec) - dec0])


def test_the_quads_hold_every_masked_pixel_and_nothing_else(products):
    assert check_quads(*products) > 10_000


def check_quads(regions_file, mask_file):
    """Assert the quads hold every masked pixel of their class and none lies off the mask; the pixels checked.

    Also run on a real Community Pipeline cut-out (real TPV WCS, a window on its CCD) by
    ``tests/test_reading_real_cutouts.py``.
    """
    regions = fitsio.read(str(regions_file), ext="REGIONS")
    assert len(regions) > 0 and set(regions["EXPNUM"]) == {fitsio.read_header(str(mask_file), 0)["EXPNUM"]}
    n_checked = 0
    with fitsio.FITS(str(mask_file)) as f:
        for hdu in f[1:]:
            hdr = hdu.read_header()
            if "CCDNUM" not in hdr or "CTYPE1" not in hdr:
                continue
            mask, wcs, ccd = hdu.read(), header_wcs(hdr), hdr["CCDNUM"]
            mine = regions[regions["CCDNUM"] == ccd]
            assert bool(mask.any()) == bool(len(mine)), ccd
            ra0, dec0 = wcs.wcs.crval
            for class_name, bit in CLASS_BITS.items():
                rows, cols = np.nonzero(mask & (1 << bit))
                quads = mine[mine["CLASS"] == class_name]
                if not len(rows):
                    assert not len(quads)
                    continue
                inside = np.zeros(len(rows), bool)
                points = _tangent(*wcs.all_pix2world(cols, rows, 0), ra0, dec0)
                for q in quads:
                    corners = _tangent([q[f"RA_{k}"] for k in (1, 2, 3, 4)], [q[f"DEC_{k}"] for k in (1, 2, 3, 4)],
                                       ra0, dec0)
                    inside |= Polygon(corners).contains_points(points)
                    # nothing else: the quad's middle falls on a pixel of its class
                    x, y = wcs.all_world2pix([q["RA_1"] / 2 + q["RA_3"] / 2], [q["DEC_1"] / 2 + q["DEC_3"] / 2], 0)
                    assert mask[int(np.rint(y[0])), int(np.rint(x[0]))] & (1 << bit)
                assert inside.all(), (ccd, class_name, int((~inside).sum()))
                n_checked += len(rows)
    return n_checked


def test_decasu_reads_the_table(products):
    decasu_utils = pytest.importorskip("decasu.utils", reason="decasu is a test extra")
    regions_file, _ = products
    expnum = int(fitsio.read(str(regions_file), ext="REGIONS")["EXPNUM"][0])
    table = decasu_utils.read_maskfiles(np.array([expnum]), [str(regions_file)], "expnum")
    ours = fitsio.read(str(regions_file), ext="REGIONS")
    assert len(table) == len(ours) > 0                     # none dropped as zero-extent
    assert {"expnum", "ccdnum", "ra_1", "dec_4"} <= set(table.dtype.names)
    assert np.array_equal(np.sort(table["ccdnum"]), np.sort(ours["CCDNUM"]))
