"""The detector: torchvision's Mask R-CNN with 4 classes, built, saved and loaded safely.

A model file is one ``.safetensors`` file: the weights (stored as float16 to keep the
shipped default under 50 MB) and, in the safetensors metadata, a JSON document with the
architecture config, class names, input conventions, training summary, metrics and the
software version.  Nothing is pickled and nothing is ever downloaded: every torchvision
model is built with ``weights=None, weights_backbone=None``.
"""
import json
import os
from dataclasses import asdict, dataclass, field, fields
from importlib import resources

from desghost import __version__
from desghost.atomic import atomic_path
from desghost.classes import CLASS_NAMES
from desghost.errors import ModelFileError

__all__ = ["BACKBONES", "build_model", "DEFAULT_MODEL_NAME", "default_model_path", "load_model", "LoadedModel",
           "ModelConfig", "read_model_metadata", "resolve_device", "save_model", "trained_real_images"]

BACKBONES = ("mobilenet_v3_large_fpn", "efficientnet_lite0_fpn", "efficientnet_lite1_fpn", "efficientnet_lite2_fpn",
             "resnet18_fpn", "resnet50_fpn", "resnet101_fpn")
DEFAULT_MODEL_NAME = "desghost_default.safetensors"


@dataclass
class ModelConfig:
    """Architecture and inference settings; every field can be overridden from a config file or CLI.

    Defaults follow the paper where that makes sense (score threshold 0.8, up to 100
    instances) and suit 400x400 focal-plane images with objects from a few pixels up to the
    whole focal plane.  A model file stores the settings it was calibrated with, which win over
    these defaults: the shipped model stores its own score threshold (its card says how it was chosen).
    """

    backbone: str = "mobilenet_v3_large_fpn"
    class_names: tuple = CLASS_NAMES
    image_size_px: int = 400
    score_threshold: float = 0.8
    detections_per_img: int = 100
    anchor_sizes_px: tuple = (16, 32, 64, 128, 256)
    anchor_aspect_ratios: tuple = (0.5, 1.0, 2.0)
    rpn_pre_nms_top_n_train: int = 1000
    rpn_post_nms_top_n_train: int = 500
    rpn_pre_nms_top_n_test: int = 500
    rpn_post_nms_top_n_test: int = 300
    box_batch_size_per_image: int = 128
    box_head_dim: int = 512
    box_nms_thresh: float = 0.5
    #: Class-agnostic suppression after detection: an instance whose mask overlaps a
    #: higher-scoring one by more than this IoU is dropped (torchvision's NMS is per class,
    #: so one ghost can come out as both Bright and Faint).  0 turns it off.
    overlap_iou: float = 0.0
    #: Test-time augmentation: 1 (off), 2 (+ left-right flip) or 4 (+ up-down flip and both);
    #: the views' instances are fused (see ``desghost.detection.views``).  Costs one forward pass per view.
    tta_views: int = 1
    #: Mask head probability from which a pixel belongs to an instance (torchvision's 0.5 by
    #: default); higher values give tighter outlines.
    mask_threshold: float = 0.5
    #: Add the big faint disc to each detected ghost family without one
    #: (``desghost.detection.families.complete_families``); off by default.
    family_completion: bool = False
    #: Drop the big faint discs of an image with no small ghost detected
    #: (``desghost.detection.families.drop_lone_discs``); off by default.
    drop_lone_discs: bool = False
    pixel_mean: float = 55.0 / 255.0
    pixel_std: float = 30.0 / 255.0

    @classmethod
    def from_dict(cls, d):
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        d = dict(d)
        for key in ("class_names", "anchor_sizes_px", "anchor_aspect_ratios"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)

    def to_dict(self):
        return asdict(self)


def _backbone(cfg):
    from torch import nn
    from torchvision.models.detection.backbone_utils import mobilenet_backbone, resnet_fpn_backbone

    if cfg.backbone == "mobilenet_v3_large_fpn":
        return mobilenet_backbone(backbone_name="mobilenet_v3_large", weights=None, fpn=True,
                                  norm_layer=nn.BatchNorm2d, trainable_layers=6, returned_layers=[2, 3, 4, 5])
    if cfg.backbone.startswith("efficientnet_lite") and cfg.backbone in BACKBONES:
        from desghost.detection.efficientnet_lite import EfficientNetLiteFPN
        return EfficientNetLiteFPN(cfg.backbone[:-len("_fpn")])
    if cfg.backbone in ("resnet18_fpn", "resnet50_fpn", "resnet101_fpn"):
        return resnet_fpn_backbone(backbone_name=cfg.backbone.split("_")[0], weights=None,
                                   trainable_layers=5, norm_layer=nn.BatchNorm2d)
    raise ValueError(f"unknown backbone {cfg.backbone!r}; choose one of {', '.join(BACKBONES)}")


def build_model(cfg=None):
    """A freshly initialised Mask R-CNN for ``cfg`` (no pretrained weights, no download)."""
    from torchvision.models.detection import MaskRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.models.detection.mask_rcnn import MaskRCNNPredictor

    cfg = cfg or ModelConfig()
    backbone = _backbone(cfg)
    sizes = tuple((s,) for s in cfg.anchor_sizes_px)  # one size per FPN level (5 levels)
    anchors = AnchorGenerator(sizes=sizes, aspect_ratios=(tuple(cfg.anchor_aspect_ratios),) * len(sizes))
    n_classes = len(cfg.class_names)
    return MaskRCNN(
        backbone, num_classes=None, min_size=cfg.image_size_px, max_size=cfg.image_size_px,
        image_mean=[cfg.pixel_mean] * 3, image_std=[cfg.pixel_std] * 3,
        rpn_anchor_generator=anchors,
        box_head=TwoMLPHead(backbone.out_channels * 7 * 7, cfg.box_head_dim),
        box_predictor=FastRCNNPredictor(cfg.box_head_dim, n_classes),
        mask_predictor=MaskRCNNPredictor(256, 256, n_classes),
        rpn_pre_nms_top_n_train=cfg.rpn_pre_nms_top_n_train, rpn_post_nms_top_n_train=cfg.rpn_post_nms_top_n_train,
        rpn_pre_nms_top_n_test=cfg.rpn_pre_nms_top_n_test, rpn_post_nms_top_n_test=cfg.rpn_post_nms_top_n_test,
        box_batch_size_per_image=cfg.box_batch_size_per_image, box_detections_per_img=cfg.detections_per_img,
        box_score_thresh=0.05, box_nms_thresh=cfg.box_nms_thresh,
    )


@dataclass
class LoadedModel:
    """A model ready for inference, with its configuration and recorded metadata."""

    model: object
    config: ModelConfig
    metadata: dict = field(default_factory=dict)
    path: str = ""
    device: str = "cpu"


def resolve_device(device="auto"):
    """``auto`` picks CUDA when available, else CPU."""
    import torch
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda asked for, but no CUDA device is available")
    return device


def save_model(path, model, cfg, metadata=None, half=True):
    """Write weights and metadata to one safetensors file (atomically).

    Parameters
    ----------
    half : bool
        Store floating-point tensors as float16 (loaded back as float32).
    """
    import torch
    from safetensors.torch import save_file

    tensors = {}
    for k, v in model.state_dict().items():
        v = v.detach().cpu().contiguous()
        if half and v.is_floating_point():
            v = v.to(torch.float16)
        tensors[k] = v
    doc = {"format": "desghost-model/1", "software": f"desghost {__version__}", "config": cfg.to_dict()}
    doc.update(metadata or {})
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"desghost": json.dumps(doc)})
    return str(path)


def trained_real_images(metadata):
    """The real images a model (or any parent of an averaged model) was trained on.

    Returns
    -------
    (set of str, bool)
        The names recorded under ``real_images_trained`` anywhere in the training records, and
        whether the record is complete (False when some training run mixed in real images but
        predates that record).
    """
    names, complete = set(), True

    def walk(node):
        nonlocal complete
        if isinstance(node, dict):
            inherited = node.get("init_model_real_images")
            if isinstance(inherited, dict):  # what the model it started from had seen
                names.update(inherited.get("names", []))
                complete = complete and bool(inherited.get("complete", False))
            if "real_images_trained" in node:
                names.update(node["real_images_trained"])
            elif (node.get("train_config") or {}).get("real_fraction", 0) > 0:
                complete = False
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk({k: metadata.get(k) for k in ("training", "weight_average")})
    return names, complete


def read_model_metadata(path):
    """The JSON metadata of a model file, without loading its weights.

    Raises
    ------
    ModelFileError
        No such file, a folder, not a safetensors file, or no desghost metadata (exit code 19).
    """
    from safetensors import SafetensorError, safe_open

    path = str(path)
    if not os.path.exists(path):
        raise ModelFileError("no such model file", path=path)
    if not os.path.isfile(path):
        raise ModelFileError("not a model file (a folder or a special file)", path=path)
    try:
        with safe_open(path, framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"not a safetensors model file ({' '.join(str(exc).split())[:120]})", path=path) from None
    if "desghost" not in meta:
        raise ModelFileError("not a desghost model file (no 'desghost' metadata)", path=path)
    try:
        doc = json.loads(meta["desghost"])
    except ValueError:
        raise ModelFileError("its 'desghost' metadata is not JSON", path=path) from None
    if not isinstance(doc, dict):
        raise ModelFileError("its 'desghost' metadata is not a JSON object", path=path)
    return doc


def default_model_path():
    """Path of the model shipped inside the package."""
    return str(resources.files("desghost.models").joinpath(DEFAULT_MODEL_NAME))


def load_model(path=None, device="auto", overrides=None):
    """Load a model file for inference.

    Parameters
    ----------
    path : str, optional
        A ``.safetensors`` model file; the shipped default when None.
    device : str
        ``auto``, ``cpu`` or ``cuda``.
    overrides : dict, optional
        Inference settings to change (for example ``{"score_threshold": 0.5}``).

    Raises
    ------
    ModelFileError
        The file is missing or not a desghost model: not safetensors, metadata not JSON or
        without a configuration, or weights of another network (exit code 19).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = str(path or default_model_path())
    meta = read_model_metadata(path)
    if not isinstance(meta.get("config"), dict):
        raise ModelFileError("its 'desghost' metadata holds no model configuration", path=path)
    cfg_dict = dict(meta["config"])
    cfg_dict.update(overrides or {})
    try:
        cfg = ModelConfig.from_dict(cfg_dict)
        model = build_model(cfg)
    except (TypeError, ValueError, KeyError) as exc:
        raise ModelFileError(f"its configuration cannot build a model ({' '.join(str(exc).split())[:120]})",
                             path=path) from None
    try:
        state = {k: (v.float() if v.is_floating_point() else v) for k, v in load_file(path).items()}
        model.load_state_dict(state)
    except (SafetensorError, OSError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFileError(f"its weights do not fit the configured network ({first[:120]})", path=path) from None
    device = resolve_device(device)
    model.to(device).eval()
    return LoadedModel(model=model, config=cfg, metadata=meta, path=str(path), device=device)
