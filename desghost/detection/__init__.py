"""Detection: the Mask R-CNN model, inference, test-time views, input images."""

from desghost.detection.detect import detect_images
from desghost.detection.instance import Instance
from desghost.detection.model import LoadedModel, ModelConfig, load_model

__all__ = ["detect_images", "Instance", "load_model", "LoadedModel", "ModelConfig"]
