"""The detector's output as records: one :class:`Instance` per artifact, and one image's :class:`Detections`."""
import os
from dataclasses import dataclass

import numpy as np

from desghost.mask_geometry import mask_outlines

__all__ = ["Detections", "Instance"]


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

    @property
    def outline_px(self):
        """The mask's outline: polygons of ``(x, y)`` image pixels (:func:`desghost.mask_geometry.mask_outlines`)."""
        return mask_outlines(self.mask)


@dataclass
class Detections:
    """One image's detections and what made them: the record the products are written from.

    Attributes
    ----------
    instances : list of Instance
        At or above ``threshold``, highest score first.
    model_path : str
        The model file.
    threshold : float
        The score threshold the instances were cut at.
    tta_views : int
        Test-time views fused (1: the image as it is).
    seconds : float
        Detection time of this image (a batch's time divided among its images).
    """

    instances: list
    model_path: str
    threshold: float
    tta_views: int = 1
    seconds: float = 0.0

    @property
    def model_name(self):
        """The model file's name (recorded in every product)."""
        return os.path.basename(self.model_path)

