"""Training: data (synthetic and real annotated images), the training loop, batch prefetching."""

from desghost.training.config import TrainConfig
from desghost.training.train import train

__all__ = ["train", "TrainConfig"]
