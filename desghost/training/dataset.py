"""Training data: synthetic images rendered on the fly, VIA-annotated real images, augmentation."""

import numpy as np

from desghost.classes import ARTIFACT_IDS
from desghost.layout import load_layout
from desghost.mask_geometry import boxes_from_masks, mask_iou
from desghost.simulate.training import jpeg_roundtrip, render_training_image
from desghost.training.photometry import REAL_PHOTOMETRY, live_pixels, sky_statistics, transfer_sky

__all__ = ["augment", "CLEAN_FRACTION", "FAMILY_DISC_RULES", "LOCAL_BACKGROUND_FRACTION", "LOCAL_BACKGROUND_MESH_PX", "medoid_annotator",
           "mirror", "REAL_GEOMETRIES", "REAL_TARGETS", "RealPool", "synthetic_sample", "to_target"]


#: How real images are turned in training: ``dihedral`` (mirrors and 90-degree turns) or
#: ``mirror`` (left-right and up-down mirrors only).  DECam's CCD layout maps onto itself under
#: both mirrors to within 0.63 image px, but a 90-degree turn moves CCDs and gaps by up to 40 px
#: (``tests/test_training_dataset.py`` measures both on ``ccd_layout/``).
REAL_GEOMETRIES = ("dihedral", "mirror")


def mirror(image, masks, left_right, up_down):
    """An image and its masks mirrored together.

    Parameters
    ----------
    image : ndarray, shape (H, W)
    masks : ndarray of bool, shape (n, H, W)
    left_right, up_down : bool
        Mirror columns (x -> W - 1 - x), rows (y -> H - 1 - y).

    Returns
    -------
    tuple of ndarray
        Views of the mirrored image and masks.
    """
    if left_right:
        image, masks = image[:, ::-1], masks[:, :, ::-1]
    if up_down:
        image, masks = image[::-1, :], masks[:, ::-1, :]
    return image, masks


def augment(rng, image, masks, fill_value=23, jitter=True, geometric=True, rotate=True):
    """Mirrors, 90-degree rotations and stretch/noise/JPEG jitter of an image and its masks.

    The jitter changes the sky level (-18..+10 grey levels), the contrast (x0.8..1.4) and the
    noise, and passes most images through JPEG at quality 60-95, like the real q75 images;
    fill-value pixels stay at the fill value.  ``geometric``: each mirror with probability 1/2,
    then, when ``rotate``, a 90-degree turn by a random multiple with probability 1/2.
    """
    image = image.copy()
    if jitter:
        live = image != fill_value
        v = image[live].astype(np.float32)
        v = 55.0 + rng.uniform(0.8, 1.4) * (v - 55.0) + rng.uniform(-18, 10)
        v += rng.normal(0, rng.uniform(0, 5), size=v.shape)
        image[live] = np.clip(np.rint(v), 0, 255).astype(np.uint8)
        if rng.random() < 0.7:
            image = jpeg_roundtrip(image, int(rng.integers(60, 96)))
    if geometric:
        image, masks = mirror(image, masks, rng.random() < 0.5, rng.random() < 0.5)
        k = int(rng.integers(4)) if rotate and rng.random() < 0.5 else 0
        if k:
            image, masks = np.rot90(image, k), np.rot90(masks, k, axes=(1, 2))
    return np.ascontiguousarray(image), np.ascontiguousarray(masks)


def to_target(masks, labels):
    """torchvision's target dict from boolean masks and class ids (empty masks dropped)."""
    import torch
    keep = masks.reshape(len(masks), -1).sum(1) >= 4 if len(masks) else np.zeros(0, dtype=bool)
    masks, labels = masks[keep], labels[keep]
    return {
        "boxes": boxes_from_masks(masks).reshape(-1, 4),
        "labels": torch.from_numpy(np.asarray(labels, dtype=np.int64)),
        "masks": torch.from_numpy(masks.astype(np.uint8)),
    }


#: Share of synthetic training images with a local (mesh) sky subtraction, and its scale range.
LOCAL_BACKGROUND_FRACTION = 0.5
LOCAL_BACKGROUND_MESH_PX = (5.0, 14.0)
#: Default share of synthetic training images with no artifact at all (plain sky and stars).
CLEAN_FRACTION = 0.15


#: How a drawn ghost family gets its big faint disc (``train --family-disc``): ``constant``, half
#: of the families without one (the shipped recipe's rule), or ``member-radius``, the measured
#: rule of :func:`desghost.simulate.artifacts.family_disc_probability` (families of small ghosts
#: get it less often).  Value: the probability given to the renderer (None: the measured rule).
FAMILY_DISC_RULES = {"constant": 0.5, "member-radius": None}


def synthetic_sample(seed, index, layout=None, augment_images=True, clean_fraction=CLEAN_FRACTION,
                     family_disc="constant"):
    """The ``index``-th synthetic training sample of a run: ``(image uint8, masks, labels)``.

    Deterministic in ``(seed, index, clean_fraction, family_disc)``, so a resumed run sees the
    same stream.  ``clean_fraction`` is the share of images with no artifact (hard negatives for
    false detections on plain sky); ``family_disc`` a key of :data:`FAMILY_DISC_RULES`.
    """
    rng = np.random.default_rng([seed, index])
    n = None if rng.random() < 1.0 - clean_fraction else 0
    expnum = int(rng.choice([300000, 700000]))
    # half the images get a reduction pipeline's local sky subtraction (faint ghosts embossed,
    # as in sky-subtracted DES images), half only a per-CCD level (as assembled raw data);
    # drawn from their own generator so the rest of the stream does not change
    style = np.random.default_rng([seed, index, 1])
    mesh_px = float(style.uniform(*LOCAL_BACKGROUND_MESH_PX)) if style.random() < LOCAL_BACKGROUND_FRACTION else None
    t = render_training_image(rng, layout, n_artifacts=n, expnum=expnum, background_mesh_px=mesh_px,
                              family_disc_probability=FAMILY_DISC_RULES[family_disc])
    image, masks = t.image, t.masks
    if augment_images:
        image, masks = augment(rng, image, masks)
    return image, masks, t.labels


#: How a real image's masks are chosen among its annotators while training (see train.RealPool).
REAL_TARGETS = ("random", "medoid")


def medoid_annotator(annotations, classes=ARTIFACT_IDS):
    """Index of the annotator who agrees most with the others on one image.

    Agreement between two annotators is the pixel IoU of their per-class unions (intersections
    and unions summed over classes); the medoid has the highest mean agreement with the rest.
    Training on the medoid's masks gives consistent targets, where drawing a random annotator
    teaches the model that a region is marked only some of the time.

    Parameters
    ----------
    annotations : list of (masks, labels)
        One per annotator: masks bool (N, H, W), labels (N,).

    Returns
    -------
    int
    """
    if len(annotations) < 2:
        return 0
    unions = np.stack([np.stack([m[np.asarray(l) == c].any(axis=0) if len(l) else np.zeros(m.shape[1:], bool)
                                 for c in classes]) for m, l in annotations])
    agreement = mask_iou(unions, unions)  # (K, 3, H, W) flattened per annotator: summed over classes
    mean_agreement = (agreement.sum(axis=1) - np.diag(agreement)) / (len(annotations) - 1)
    return int(np.argmax(mean_agreement))


class RealPool:
    """Real annotated images for mixing into batches.

    Parameters
    ----------
    samples : dict
        As returned by :func:`desghost.training.dataset.load_via_images`.
    targets : str
        ``random``: one randomly drawn annotator's masks each time; ``medoid``: always the
        masks of the annotator who agrees most with the others on that image
        (:func:`medoid_annotator`).
    geometry : str
        ``dihedral`` or ``mirror`` (:data:`REAL_GEOMETRIES`): how the images are turned.
    photometry : str
        ``as_read`` or ``transfer`` (:data:`desghost.training.photometry.REAL_PHOTOMETRY`): with
        ``transfer`` each draw takes the sky median and noise of a randomly drawn image of
        ``samples`` (:func:`desghost.training.photometry.transfer_sky`) before it is turned.
    layout : CameraLayout, optional
        Where the CCDs are (for ``transfer``'s live pixels); default: the shipped layout.

    Raises
    ------
    ValueError
        An unknown ``targets``, ``geometry`` or ``photometry``.
    """

    def __init__(self, samples, targets="random", geometry="dihedral", photometry="as_read", layout=None):
        if targets not in REAL_TARGETS:
            raise ValueError(f"real targets must be one of {REAL_TARGETS}, got {targets!r}")
        if geometry not in REAL_GEOMETRIES:
            raise ValueError(f"real geometry must be one of {REAL_GEOMETRIES}, got {geometry!r}")
        if photometry not in REAL_PHOTOMETRY:
            raise ValueError(f"real photometry must be one of {REAL_PHOTOMETRY}, got {photometry!r}")
        self.geometry = geometry
        self.photometry = photometry
        self.names = sorted(samples)
        self.samples = [samples[n] for n in self.names]
        self.targets = targets
        self.medoids = [medoid_annotator(s["annotations"]) if targets == "medoid" else None for s in self.samples]
        self.live, self.sky = [], []
        if photometry == "transfer":
            layout = layout or load_layout()
            self.live = [live_pixels(layout, n) for n in self.names]
            self.sky = [sky_statistics(s["image"], live) for s, live in zip(self.samples, self.live)]

    def draw(self, rng):
        """One augmented real image: ``(image uint8 (400, 400), masks bool (n, 400, 400), labels)``."""
        i = int(rng.integers(len(self.samples)))
        s = self.samples[i]
        k = self.medoids[i] if self.targets == "medoid" else int(rng.integers(len(s["annotations"])))
        masks, labels = s["annotations"][k]
        image = s["image"]
        if self.photometry == "transfer":
            image = transfer_sky(image, self.live[i], self.sky[i], self.sky[int(rng.integers(len(self.samples)))])
        image, masks = augment(rng, image, masks, jitter=False, rotate=self.geometry == "dihedral")
        return image, masks, labels
