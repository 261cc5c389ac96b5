"""Anything a user points the detector at, turned into a 400x400 focal-plane image."""
import os

import fitsio

from desghost.focalplane.assembly import assemble_exposure
from desghost.focalplane.imagefile import read_focal_plane_image, read_provenance
from desghost.reading.exposure import open_exposure
from desghost.reading.fitsfile import cfitsio_name

__all__ = ["check_input", "is_focal_plane_image", "load_input"]


def is_focal_plane_image(path):
    """True for a 400x400-style image file (.png/.jpg/.npy, or a FITS image without CCD HDUs)."""
    p = str(path).lower()
    if p.endswith((".png", ".jpg", ".jpeg", ".npy")):
        return True
    if os.path.isdir(path) or not p.endswith((".fits", ".fits.fz", ".fz", ".fit")):
        return False
    try:
        with cfitsio_name(path) as name, fitsio.FITS(name) as f:
            n_images = 0
            for hdu in f:
                if hdu.get_exttype() == "IMAGE_HDU" and hdu.get_dims():
                    n_images += 1
                    if "CCDNUM" in hdu.read_header():
                        return False
            return n_images == 1
    except OSError:
        return False


def check_input(path):
    """Check one input of ``detect`` before the model loads, and read it when it is an image.

    Returns
    -------
    tuple or Exposure
        ``(image, meta)`` for a focal-plane image file (read and converted, see
        :func:`desghost.focalplane.imagefile.as_focal_plane_uint8`); for an exposure, the open
        :class:`~desghost.reading.exposure.Exposure` (headers read and found sound), which
        :func:`load_input` assembles.

    Raises
    ------
    DesghostError
        An image that cannot be read or is not 400x400 (exit code 2), or a bad exposure (its
        own code).
    """
    if is_focal_plane_image(path):
        image, conversion = read_focal_plane_image(path)
        meta = {"file": str(path), **read_provenance(path)}
        if conversion:
            meta["conversion"] = conversion
        return image, meta
    return open_exposure(path)


def load_input(path, workers=1, checked=None):
    """A focal-plane image and its metadata from an image file or an exposure.

    ``checked`` is what :func:`check_input` returned for ``path`` (read again when None).

    Returns
    -------
    image : ndarray of uint8 (400, 400)
    meta : dict
        ``{"file": ..., "expnum": ... (exposures only), ...}``
    """
    checked = check_input(path) if checked is None else checked
    if isinstance(checked, tuple):
        return checked
    fp = assemble_exposure(checked, workers=workers)
    meta = {"file": str(path), "expnum": fp.expnum, "band": fp.band, "date_obs": fp.date_obs,
            "flavor": fp.flavor, "ccds_present": list(fp.ccds_present), "warnings": [w.message for w in fp.warnings]}
    return fp.image, meta
