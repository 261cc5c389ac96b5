"""Summary statistics of focal-plane images, to compare simulated with real ones (pure numpy)."""
import numpy as np

from .stretch import robust_sigma


def image_statistics(image, live):
    """Sky and noise statistics of the live pixels of a 400x400 grey image.

    Returns
    -------
    dict
        ``fill_fraction`` (pixels within 4 of the fill value 23, all pixels), ``median``,
        ``half_width_16_84``, ``noise_sigma`` (from neighbouring-pixel differences),
        ``p99``, ``frac_255``, ``frac_0``.
    """
    g = np.asarray(image, dtype=float)
    v = g[live]
    p16, p50, p84, p99 = np.percentile(v, [16, 50, 84, 99])
    both = live[:, 1:] & live[:, :-1]
    diffs = (g[:, 1:] - g[:, :-1])[both]
    return {
        "fill_fraction": float(np.mean(np.abs(g - 23) <= 4)),
        "median": float(p50),
        "half_width_16_84": float((p84 - p16) / 2),
        "noise_sigma": robust_sigma(diffs) / np.sqrt(2),
        "p99": float(p99),
        "frac_255": float(np.mean(v >= 255)),
        "frac_0": float(np.mean(v <= 0)),
    }
