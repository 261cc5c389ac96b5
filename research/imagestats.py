"""Summary statistics of focal-plane images, to compare simulated with real ones (pure numpy)."""
import numpy as np

from desghost.training.photometry import sky_statistics


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
    p16, p84, p99 = np.percentile(v, [16, 84, 99])
    median, noise_sigma = sky_statistics(image, live)
    return {
        "fill_fraction": float(np.mean(np.abs(g - 23) <= 4)),
        "median": median,
        "half_width_16_84": float((p84 - p16) / 2),
        "noise_sigma": noise_sigma,
        "p99": float(p99),
        "frac_255": float(np.mean(v >= 255)),
        "frac_0": float(np.mean(v <= 0)),
    }


def annotation_statistics(masks, labels, ghost_classes=(1, 2), inside_fraction=0.8):
    """How many instances an image's annotation holds, and how many ghosts sit inside another.

    A ghost counts as nested when at least ``inside_fraction`` of its pixels lie inside a
    larger instance of the same class (a ring of a ghost family, annotated on its own).

    Parameters
    ----------
    masks : numpy.ndarray
        Boolean ``(N, rows, cols)``.
    labels : array_like
        Class ids ``(N,)``.

    Returns
    -------
    dict
        ``instances``, ``ghosts`` (instances of ``ghost_classes``) and ``nested_ghosts``.
    """
    masks = np.asarray(masks, dtype=bool)
    labels = np.asarray(labels)
    areas = masks.reshape(len(labels), -1).sum(axis=1) if len(labels) else np.zeros(0)
    nested = 0
    ghosts = np.flatnonzero(np.isin(labels, ghost_classes))
    for i in ghosts:
        larger = [j for j in ghosts if labels[j] == labels[i] and areas[j] > areas[i]]
        if any((masks[i] & masks[j]).sum() >= inside_fraction * areas[i] for j in larger):
            nested += 1
    return {"instances": int(len(labels)), "ghosts": int(len(ghosts)), "nested_ghosts": nested}


def instance_contrasts(image, live, masks, labels, min_pixels=10):
    """Contrast of each annotated instance above the sky, in units of the pixel noise.

    The sky is the median of the live pixels outside every mask and the noise comes from
    neighbouring-pixel differences (as in :func:`image_statistics`).

    Returns
    -------
    list of dict
        One per instance with at least ``min_pixels`` live pixels: ``class_id``, ``area_px``,
        ``median`` and ``p90`` (median and 90th percentile of the instance's pixels above the
        sky, noise units).
    """
    g = np.asarray(image, dtype=float)
    masks = np.asarray(masks, dtype=bool)
    outside = live & ~masks.any(axis=0) if len(masks) else live
    sky = float(np.median(g[outside]))
    noise = image_statistics(g, live)["noise_sigma"]
    out = []
    for mask, label in zip(masks, labels):
        values = g[mask & live]
        if values.size < min_pixels:
            continue
        p50, p90 = np.percentile(values, [50, 90])
        out.append({"class_id": int(label), "area_px": int(values.size),
                    "median": float((p50 - sky) / noise), "p90": float((p90 - sky) / noise)})
    return out


def largest_saturated_area_px(image, live, level=240):
    """Area of the largest connected patch of saturated live pixels (a bright star's core).

    On the real images, exposures with a family of ghosts hold their source star: a patch of
    100-750 pixels at or above 240 in a 400x400 image; in the others the largest patch has a
    median of 34 pixels (p84 85).

    Parameters
    ----------
    image : ndarray, shape (H, W)
        Grey 0-255 image.
    live : ndarray of bool
    level : float
        Grey level counted as saturated.

    Returns
    -------
    int
    """
    from scipy.ndimage import label
    labels, n = label((np.asarray(image) >= level) & live)
    if n == 0:
        return 0
    return int(np.bincount(labels.ravel())[1:].max())


def edge_steps(image, live, ccd_index, masks, band_px=12, min_pixels=30):
    """The step across each mask's edge, in noise units (NaN where no CCD qualifies).

    For every CCD the outline crosses, the median of the live pixels in a band ``band_px`` wide
    just inside the mask is compared with the median of a band as wide just outside it; the
    differences are averaged over those CCDs, weighted by the smaller band's pixel count.  A
    per-CCD comparison is what an annotator sees: a ghost that covers whole CCDs is removed by
    each CCD's sky subtraction and shows only where its edge crosses a CCD.  The median inside
    an instance (:func:`instance_contrasts`) cannot see that, and for the large Faint ghosts of
    the real images it is about 0.06 noise units whether or not their edges show.

    Parameters
    ----------
    image : ndarray, shape (H, W)
        Grey image.
    live : ndarray of bool
    ccd_index : ndarray of int
        CCDNUM per pixel (0 in gaps).
    masks : ndarray of bool, shape (N, H, W)
    band_px : int
        Width of the bands on each side of the edge (400x400-image pixels).
    min_pixels : int
        A CCD counts only when both of its bands hold at least this many live pixels.

    Returns
    -------
    ndarray of float, shape (N,)
        Inside minus outside, noise units; NaN for a mask whose edge crosses no CCD that way.
    """
    from scipy.ndimage import binary_dilation, binary_erosion
    g = np.asarray(image, dtype=float)
    noise = image_statistics(g, live)["noise_sigma"]
    out = np.full(len(masks), np.nan)
    for k, mask in enumerate(np.asarray(masks, dtype=bool)):
        inner = mask & ~binary_erosion(mask, iterations=band_px, border_value=1) & live  # the image border is no edge
        outer = binary_dilation(mask, iterations=band_px) & ~mask & live
        steps, weights = [], []
        for ccdnum in np.unique(ccd_index[inner]):
            if ccdnum == 0:
                continue
            a, b = g[inner & (ccd_index == ccdnum)], g[outer & (ccd_index == ccdnum)]
            if min(a.size, b.size) >= min_pixels:
                steps.append(np.median(a) - np.median(b))
                weights.append(min(a.size, b.size))
        if steps:
            out[k] = float(np.average(steps, weights=weights) / noise)
    return out


def instance_edge_contrasts(image, live, ccd_index, masks, labels, band_px=12, min_pixels=30):
    """How visible each instance's outline is (:func:`edge_steps`), for the instances where it is defined.

    Returns
    -------
    list of dict
        One per instance whose edge crosses at least one CCD with both bands of ``min_pixels``:
        ``class_id``, ``area_px`` (live pixels), ``edge`` (inside minus outside, noise units).
    """
    masks = np.asarray(masks, dtype=bool)
    steps = edge_steps(image, live, ccd_index, masks, band_px, min_pixels)
    return [{"class_id": int(label), "area_px": int((mask & live).sum()), "edge": float(step)}
            for mask, label, step in zip(masks, labels, steps) if np.isfinite(step)]
