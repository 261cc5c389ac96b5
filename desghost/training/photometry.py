"""Photometric jitter of real training images: one real image's sky level and noise given another's.

The 30 real focal-plane images differ in sky level (median 36-67 grey levels) and noise (sigma
11.5-21 grey levels; ``python benchmarks/compare_sim_real.py``).  Giving a real training image
the sky median and noise of another real image of the same training set keeps the jittered
images inside that measured spread, where a fixed jitter range would leave it.
"""
import re

import numpy as np

from desghost.focalplane.ccd_map import ccd_map
from desghost.focalplane.stretch import robust_sigma

__all__ = ["live_pixels", "REAL_PHOTOMETRY", "sky_statistics", "transfer_sky"]

#: How real images' photometry is varied in training (``train --real-photometry``): ``as_read``
#: (unchanged) or ``transfer`` (each draw takes the sky median and noise of a randomly drawn real
#: image of the same training set: :func:`transfer_sky`).
REAL_PHOTOMETRY = ("as_read", "transfer")


def live_pixels(layout, name):
    """Pixels of a 400x400 real image that show a CCD with data.

    Parameters
    ----------
    layout : CameraLayout
    name : str
        Image file name; ``D<EXPNUM>`` in it (``Ghost_img_D00158660.jpg``) selects the exposure's
        dead CCDs and amplifiers; without one, every CCD counts as live.

    Returns
    -------
    ndarray of bool, shape of ``layout.image_shape_px``
    """
    found = re.search(r"D(\d+)", name)
    return ccd_map(layout, int(found.group(1)) if found else None)[1]


def sky_statistics(image, live):
    """Sky level and noise of an image's live pixels.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W)
    live : ndarray of bool, shape (H, W)

    Returns
    -------
    tuple of float
        ``(median, noise_sigma)`` in grey levels; the noise is 1.4826 x MAD of the differences
        of horizontally neighbouring live pixels over sqrt(2) (the statistic of
        ``benchmarks/compare_sim_real.py``).

    Raises
    ------
    ValueError
        When fewer than 100 pairs of horizontally neighbouring live pixels remain.
    """
    g = np.asarray(image, dtype=np.float32)
    both = live[:, 1:] & live[:, :-1]
    if both.sum() < 100:
        raise ValueError(f"sky statistics need at least 100 live pixel pairs, got {int(both.sum())}")
    diffs = (g[:, 1:] - g[:, :-1])[both]
    return float(np.median(g[live])), float(robust_sigma(diffs) / np.sqrt(2))


def transfer_sky(image, live, source, target):
    """An image with another image's sky level and noise: ``m_t + (s_t / s_s) (v - m_s)``.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W)
    live : ndarray of bool, shape (H, W)
        Only these pixels change (the CCD gaps keep their fill value).
    source, target : tuple of float
        ``(median, noise_sigma)`` of this image and of the image whose photometry it takes
        (:func:`sky_statistics`).

    Returns
    -------
    ndarray of uint8, shape (H, W)
        A new array; saturated pixels (255) stay at 255, the rest are rounded and clipped to 0-255.

    Raises
    ------
    ValueError
        When the source noise is not positive (a flat image has no noise to scale).
    """
    (m_s, s_s), (m_t, s_t) = source, target
    if not s_s > 0:
        raise ValueError(f"sky transfer needs a positive source noise, got {s_s!r}")
    out = np.array(image, dtype=np.uint8, copy=True)
    change = live & (out < 255)
    v = m_t + (s_t / s_s) * (out[change].astype(np.float32) - m_s)
    out[change] = np.clip(np.rint(v), 0, 255).astype(np.uint8)
    return out
