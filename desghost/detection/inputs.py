"""Anything a user points the detector at, turned into a 400x400 focal-plane image."""
import os

import fitsio

from desghost.focalplane.assembly import assemble_exposure
from desghost.focalplane.imagefile import read_focal_plane_image


def is_focal_plane_image(path):
    """True for a 400x400-style image file (.png/.jpg/.npy, or a FITS image without CCD HDUs)."""
    p = str(path).lower()
    if p.endswith((".png", ".jpg", ".jpeg", ".npy")):
        return True
    if os.path.isdir(path) or not p.endswith((".fits", ".fits.fz", ".fz", ".fit")):
        return False
    try:
        with fitsio.FITS(str(path)) as f:
            n_images = 0
            for hdu in f:
                if hdu.get_exttype() == "IMAGE_HDU" and hdu.get_dims():
                    n_images += 1
                    if "CCDNUM" in hdu.read_header():
                        return False
            return n_images == 1
    except OSError:
        return False


def load_input(path, workers=1):
    """A focal-plane image and its metadata from an image file or an exposure.

    Returns
    -------
    image : ndarray of uint8 (400, 400)
    meta : dict
        ``{"file": ..., "expnum": ... (exposures only), ...}``
    """
    if is_focal_plane_image(path):
        return read_focal_plane_image(path), {"file": str(path)}
    fp = assemble_exposure(path, workers=workers)
    meta = {"file": str(path), "expnum": fp.expnum, "band": fp.band, "date_obs": fp.date_obs,
            "flavor": fp.flavor, "warnings": [w.message for w in fp.warnings]}
    return fp.image, meta
