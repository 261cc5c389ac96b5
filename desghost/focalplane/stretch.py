"""Map binned CCD values to the 0..255 scale of the DeepGhostBusters images (pure numpy).

The real images are noise-normalised: per-CCD sky near 55 and a pixel-to-pixel noise of
about 13.5 (measured from neighbour differences of the 30 real images; their 16-84
percentile half-width is 12-16).  We reproduce that: subtract each CCD's sky, divide by
the noise of one binned pixel, scale and offset.
"""
import numpy as np

__all__ = ["binned_noise", "robust_sigma", "stretch_to_uint8"]


def robust_sigma(values):
    """1.4826 x median absolute deviation of the finite ``values`` (NaN when none)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan")
    return float(1.4826 * np.median(np.abs(v - np.median(v))))


def binned_noise(blocks):
    """Noise of one binned pixel, from differences of neighbouring bins inside each CCD.

    Parameters
    ----------
    blocks : iterable of 2-D ndarray
        Per-CCD binned means (NaN for empty bins), sky already subtracted or not.
    """
    diffs = []
    for b in blocks:
        if b.shape[1] > 1:
            diffs.append((b[:, 1:] - b[:, :-1]).ravel())
        if b.shape[0] > 1:
            diffs.append((b[1:, :] - b[:-1, :]).ravel())
    if not diffs:
        return float("nan")
    return robust_sigma(np.concatenate(diffs)) / np.sqrt(2.0)


def stretch_to_uint8(values, sky, noise, sky_value=55.0, noise_value=13.5):
    """``sky_value + noise_value * (values - sky) / noise``, rounded and clipped to 0..255."""
    if not np.isfinite(noise) or noise <= 0:
        noise = 1.0
    scaled = sky_value + noise_value * (np.asarray(values, dtype=float) - sky) / noise
    return np.clip(np.rint(np.nan_to_num(scaled, nan=sky_value)), 0, 255).astype(np.uint8)
