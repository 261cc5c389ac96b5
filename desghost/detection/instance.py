"""One detected artifact instance: class, score, box and 400x400 mask (a plain record)."""
from dataclasses import dataclass

import numpy as np

__all__ = ["Instance"]


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
