"""400x400 training images with per-instance masks, straight from the artifact renderer.

The image is made the way :mod:`desghost.focalplane.assembly` makes one from an exposure: noise of
one binned pixel, stars and artifacts in binned-noise units, per-CCD sky subtraction, the
same stretch, gaps and dead areas at the fill value.
"""
from dataclasses import dataclass

import numpy as np

from desghost.classes import CLASS_IDS
from desghost.focalplane.ccd_map import ccd_map
from desghost.focalplane.stretch import stretch_to_uint8
from desghost.layout import load_layout
from desghost.simulate.artifacts import draw_artifacts, footprint_mask, render
from desghost.simulate.source import scene_stars
from desghost.simulate.stars import render_stars_image

__all__ = ["jpeg_roundtrip", "render_training_image", "subtract_local_background", "TrainingImage"]


@dataclass
class TrainingImage:
    """A simulated focal-plane image and its instances."""

    image: np.ndarray      # uint8 (400, 400)
    masks: np.ndarray      # bool (N, 400, 400)
    labels: np.ndarray     # int64 (N,), 1=Bright 2=Faint 3=Rays
    artifacts: list


def jpeg_roundtrip(image, quality=75):
    """The image after JPEG compression at ``quality``, like the published real images."""
    import io

    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=int(quality))
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))


def subtract_local_background(values, index, live, mesh_px, clip_sigma=3.0):
    """Subtract a smooth local sky from each CCD, like a reduction pipeline's background model.

    Each CCD's background is its image with bright pixels (above ``clip_sigma`` noise units,
    grown by one pixel: stars, bright ghosts) replaced by the CCD median, smoothed with a
    Gaussian of ``sigma = mesh_px / 2``.  Faint structure larger than the mesh is flattened and
    its sharp edges survive with a bright inner and a dark outer rim (the "embossed" look of
    faint ghosts in sky-subtracted DES images); stars and bright ghosts stay as they are.

    Parameters
    ----------
    values : ndarray of float, shape (H, W)
        Image in noise units; changed in place and returned.
    index : ndarray of int
        CCD number of each pixel (0 outside CCDs).
    live : ndarray of bool
    mesh_px : float
        Background scale in 400x400-image pixels.
    clip_sigma : float
        Pixels this far above the CCD median are left out of the background.
    """
    from scipy.ndimage import binary_dilation, find_objects, gaussian_filter
    labels = np.where(live, index, 0)
    for ccdnum, box in enumerate(find_objects(labels), start=1):
        if box is None:
            continue
        sub = values[box]
        own = labels[box] == ccdnum
        med = float(np.median(sub[own]))
        bright = binary_dilation(sub > med + clip_sigma)
        background = gaussian_filter(np.where(own & ~bright, sub, med), mesh_px / 2.0, mode="nearest")
        sub[own] -= background[own]
    return values


def render_training_image(rng, layout=None, n_artifacts=None, expnum=500000, ccd_offset_sigma=0.25,
                          jpeg_quality=None, background_mesh_px=None, family_disc_probability=None):
    """Render one focal-plane image and the masks of its artifacts.

    Parameters
    ----------
    rng : numpy.random.Generator
    layout : CameraLayout, optional
    n_artifacts : int, optional
        As in :func:`desghost.simulate.artifacts.draw_artifacts` (None: one annotated
        image's worth).
    expnum : int
        Selects dead CCDs and amplifiers.
    ccd_offset_sigma : float
        Residual per-CCD sky level scatter, in noise units.
    jpeg_quality : int, optional
        Pass the image through JPEG at this quality (the real images are q75 JPEG).
    background_mesh_px : float, optional
        Subtract a local background of this scale (see :func:`subtract_local_background`)
        instead of only each CCD's median, as a sky-subtracting reduction does.
    family_disc_probability : float, optional
        Chance to complete a drawn family with its big faint disc; None: the measured rule
        (:func:`desghost.simulate.artifacts.family_disc_probability`).
    """
    layout = layout or load_layout()
    shape = layout.image_shape_px
    index, live = ccd_map(layout, expnum)
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]] + 0.5
    artifacts = draw_artifacts(rng, n_artifacts, family_disc_probability=family_disc_probability)
    signal = render(artifacts, cols, rows) + render_stars_image(scene_stars(rng, artifacts), shape)
    values = rng.standard_normal(shape) + signal
    if background_mesh_px:
        subtract_local_background(values, index, live, background_mesh_px)
    for ccdnum in np.unique(index[live]):
        sel = live & (index == ccdnum)
        values[sel] -= np.median(values[sel]) - rng.normal(0.0, ccd_offset_sigma)
    st = layout.config["stretch"]
    image = stretch_to_uint8(values, 0.0, 1.0, st["sky_value"], st["noise_value"])
    image[~live] = layout.fill_value
    if jpeg_quality:
        image = jpeg_roundtrip(image, jpeg_quality)
    masks, labels, kept = [], [], []
    for art in artifacts:
        m = footprint_mask(art, shape)
        if (m & live).sum() >= 4:
            masks.append(m)
            labels.append(CLASS_IDS[art.cls])
            kept.append(art)
    masks = np.stack(masks) if masks else np.zeros((0,) + tuple(shape), dtype=bool)
    return TrainingImage(image, masks, np.asarray(labels, dtype=np.int64), kept)
