"""Inference: focal-plane images in, instances (class, score, box, 400x400 mask) out."""
from dataclasses import dataclass

import numpy as np

from .model import load_model


@dataclass
class Instance:
    """One detected artifact.

    Attributes
    ----------
    class_id : int
        1=Bright, 2=Faint, 3=Rays.
    class_name : str
    score : float
    bbox_px : tuple of float
        ``(x0, y0, x1, y1)`` in image pixels (x = column).
    mask : ndarray of bool, shape (400, 400)
    """

    class_id: int
    class_name: str
    score: float
    bbox_px: tuple
    mask: np.ndarray

    @property
    def area_px(self):
        return int(self.mask.sum())


def to_tensor(image):
    """A 2-D uint8 image as the model's float input: 3 identical channels in 0..1."""
    import torch
    t = torch.from_numpy(np.array(image, dtype=np.uint8, copy=True)).float().div_(255.0)
    return t.unsqueeze(0).expand(3, -1, -1).contiguous()


def instances_from_output(output, class_names, threshold, mask_threshold=0.5):
    """torchvision's output dict for one image as a list of :class:`Instance` above ``threshold``."""
    scores = output["scores"].detach().cpu().numpy()
    keep = scores >= threshold
    labels = output["labels"].detach().cpu().numpy()[keep]
    boxes = output["boxes"].detach().cpu().numpy()[keep]
    masks = (output["masks"].detach().cpu().numpy()[keep, 0] >= mask_threshold)
    out = []
    for lab, sc, box, m in zip(labels, scores[keep], boxes, masks):
        out.append(Instance(int(lab), class_names[int(lab)], float(sc), tuple(float(v) for v in box), m))
    return out


def suppress_overlaps(instances, max_iou):
    """Drop instances whose mask overlaps a higher-scoring one (any class) by more than ``max_iou``.

    Parameters
    ----------
    instances : list of Instance
    max_iou : float
        Mask intersection over union above which the lower-scoring instance goes; 0 keeps all.

    Returns
    -------
    list of Instance
        Highest score first.
    """
    ordered = sorted(instances, key=lambda i: -i.score)
    if max_iou <= 0 or len(ordered) < 2:
        return ordered
    kept = []
    for inst in ordered:
        area = inst.mask.sum()
        clash = False
        for k in kept:
            inter = np.logical_and(inst.mask, k.mask).sum()
            union = area + k.mask.sum() - inter
            if union > 0 and inter / union > max_iou:
                clash = True
                break
        if not clash:
            kept.append(inst)
    return kept


def detect_images(images, model=None, threshold=None, batch_size=4):
    """Detect artifacts in focal-plane images.

    Parameters
    ----------
    images : sequence of ndarray
        2-D uint8 images (400x400 focal-plane images).
    model : LoadedModel, optional
        Defaults to the shipped model on the ``auto`` device.
    threshold : float, optional
        Detection score threshold; the model's configured one (0.8) when None.
    batch_size : int
        Images per forward pass.

    Returns
    -------
    list of list of Instance
        One list per input image, highest score first.
    """
    import torch
    model = model or load_model()
    threshold = model.config.score_threshold if threshold is None else threshold
    results = []
    with torch.inference_mode():
        for i in range(0, len(images), batch_size):
            batch = [to_tensor(im).to(model.device) for im in images[i:i + batch_size]]
            for out in model.model(batch):
                found = instances_from_output(out, model.config.class_names, threshold)
                results.append(suppress_overlaps(found, model.config.overlap_iou))
    return results
