"""Training: synthetic images (and optionally VIA-annotated real ones), resumable, on CPU or GPU.

The recipe for 2 CPU cores: a light backbone (MobileNetV3-FPN), 400 px inputs, fewer RPN
proposals and sampled RoIs, AdamW with warm-up and cosine decay, synthetic images rendered
on the fly (no epoch ever repeats), optionally mixed with real annotated images.  A run
directory holds ``checkpoint.pt`` (weights and optimizer state as plain tensors, loaded with
``weights_only=True``), ``log.csv`` and, at the end, the exported model file.
"""
import csv
import json
import math
import shutil
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from desghost.atomic import atomic_path
from desghost.detection.detect import to_tensor
from desghost.detection.model import (
    ModelConfig,
    build_model,
    read_model_metadata,
    resolve_device,
    save_model,
    trained_real_images,
)
from desghost.training.config import RESUMABLE_CHANGES, TrainConfig, checked, resume_conflicts, trainer_threads
from desghost.training.dataset import synthetic_sample, to_target
from desghost.training.prefetch import step_batches

__all__ = ["batch_samples", "BATCH_STREAM_TAG", "LOG_COLUMNS", "slim_checkpoint", "train", "weighted_loss"]

BATCH_STREAM_TAG = 2  # a non-zero last seed word keeps batch draws apart from synthetic_sample's seeds


def weighted_loss(losses, weights):
    """The training loss: torchvision's loss terms (``loss_<name>``) summed with ``weights``.

    Parameters
    ----------
    losses : dict of str to tensor
        Mask R-CNN's training output, keys ``loss_classifier``, ``loss_mask`` and so on.
    weights : dict of str to float
        Weight by short name (``mask``); terms not named count once.

    Returns
    -------
    tensor
        The weighted sum, in float32.
    """
    return sum(float(weights.get(k[len("loss_"):], 1.0)) * v.float() for k, v in losses.items())


def batch_samples(step, train_cfg, real_pool=None):
    """The training samples of one step: a pure function of its arguments.

    Parameters
    ----------
    step : int
        Optimizer step (0-based).
    train_cfg : TrainConfig
        Its seed, batch size, real and clean fractions decide the batch.
    real_pool : RealPool, optional
        Real annotated images, drawn with probability ``train_cfg.real_fraction`` per sample.

    Returns
    -------
    list of (ndarray, ndarray, ndarray)
        ``batch_size`` tuples ``(image uint8 (H, W), masks bool (N, H, W), labels int (N,))``.
    """
    rng = np.random.default_rng([train_cfg.seed, 7, step, BATCH_STREAM_TAG])
    samples = []
    for j in range(train_cfg.batch_size):
        if real_pool is not None and rng.random() < train_cfg.real_fraction:
            samples.append(real_pool.draw(rng))
        else:
            samples.append(synthetic_sample(train_cfg.seed, step * train_cfg.batch_size + j,
                                            clean_fraction=train_cfg.clean_fraction,
                                            family_disc=train_cfg.family_disc))
    return samples


def _lr_factor(step, cfg):
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    t = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))


def _save_checkpoint(path, model, optimizer, step, model_cfg, train_record):
    import torch

    with atomic_path(path) as tmp:
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": torch.tensor(step),
                    "model_config": json.dumps(model_cfg.to_dict()), "train_config": json.dumps(train_record),
                    "torch_rng": torch.get_rng_state()}, tmp)


def slim_checkpoint(src, dst):
    """Write a checkpoint small enough to keep in the repository: weights in float16, no optimizer state.

    ``--resume`` from it continues the run at its step, on the same image stream and learning-rate
    schedule, with AdamW's moments started afresh (they rebuild within tens of steps).  It lets
    a long CPU run outlive the machine it runs on.

    Parameters
    ----------
    src : str or Path
        A run's ``checkpoint.pt``.
    dst : str or Path
        The slim copy (about a sixth of the size).

    Returns
    -------
    int
        The checkpoint's step.
    """
    import torch

    state = _load_checkpoint(src)
    state.pop("optimizer", None)
    state["model"] = {k: v.half() if v.is_floating_point() else v for k, v in state["model"].items()}
    with atomic_path(dst) as tmp:
        torch.save(state, tmp)
    return int(state["step"])


def _load_checkpoint(path):
    import torch
    return torch.load(path, map_location="cpu", weights_only=True)


def _safe_validate(validate, model, log):
    """Run a validation; a failure is logged and never stops a long training run."""
    model.eval()
    try:
        return validate(model)
    except Exception as exc:  # noqa: BLE001
        log(f"validation failed ({type(exc).__name__}: {exc}); training goes on")
        return {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        model.train()


def _truncate_log(log_path, last_step):
    """Drop log rows after ``last_step`` (logged after the checkpoint a resume starts from)."""
    with open(log_path, newline="") as fh:
        rows = list(csv.reader(fh))
    kept = rows[:1] + [r for r in rows[1:] if r and r[0].isdigit() and int(r[0]) <= last_step]
    if len(kept) != len(rows):
        with atomic_path(log_path) as tmp, open(tmp, "w", newline="") as fh:
            csv.writer(fh).writerows(kept)


def train(run_dir, model_cfg=None, train_cfg=None, resume=False, init_model=None, real_pool=None,
          validate=None, device="auto", out_model=None, log=print, overwrite=False, init_overrides=None):
    """Train (or resume training) a detector.

    Parameters
    ----------
    run_dir : str or Path
        Where the checkpoint, the log and the exported model go.
    model_cfg, train_cfg : ModelConfig, TrainConfig
    resume : bool
        Continue from ``run_dir/checkpoint.pt`` (same stream of synthetic images).
    init_model : str, optional
        Start from the weights of a model file (e.g. the shipped default) instead of scratch;
        the model's configuration is then the file's, not ``model_cfg``.
    init_overrides : dict, optional
        With ``init_model``: ModelConfig fields that change the file's configuration (for
        example ``{"image_size_px": 600}`` to continue at a larger internal input).
    real_pool : RealPool, optional
        Real annotated images mixed in at ``train_cfg.real_fraction``.
    validate : callable, optional
        ``validate(model) -> dict`` of metrics, run every ``val_every`` steps and at the end.
    out_model : str, optional
        Path of the exported model file (default ``run_dir/model.safetensors``).
    overwrite : bool
        Start afresh in a run directory that already holds a checkpoint (otherwise an error,
        so a forgotten ``--resume`` never destroys a run).

    Returns
    -------
    str
        The exported model file.
    """
    import torch

    train_cfg = checked(train_cfg or TrainConfig())
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    device = resolve_device(device)
    if threads := trainer_threads(train_cfg.threads, device):
        torch.set_num_threads(threads)
    start = _starting_point(run_dir, model_cfg, train_cfg, resume, init_model, init_overrides, overwrite, real_pool)
    model = _initial_model(start, train_cfg, init_model, log)
    model.to(device).train()
    run = _TrainingRun(run_dir, train_cfg, model, start, device, real_pool, validate, log)
    step = run.loop()
    metrics = _safe_validate(validate, model, log) if validate is not None else {}
    model.eval()
    out_model = out_model or str(run_dir / "model.safetensors")
    save_model(out_model, model, start.model_cfg, _model_metadata(start, train_cfg, init_model, real_pool, step,
                                                                  metrics, run.wall_s))
    log(f"wrote {out_model} after {step} steps")
    return out_model


@dataclass
class _Start:
    """Where a run starts: a fresh model, a model file's weights, or a checkpoint."""

    ckpt_path: Path
    model_cfg: ModelConfig
    train_record: dict
    start_step: int = 0
    state: dict | None = None


def _starting_point(run_dir, model_cfg, train_cfg, resume, init_model, init_overrides, overwrite, real_pool):
    """The run's starting point; refuses a resume with other settings and a run that would be overwritten."""
    ckpt_path = run_dir / "checkpoint.pt"
    start_step, state = 0, None
    train_record = {**asdict(train_cfg), "real_images_trained": real_pool.names if real_pool is not None else []}
    if resume:
        if not ckpt_path.exists():
            raise FileNotFoundError(f"--resume: no checkpoint at {ckpt_path}")
        state = _load_checkpoint(ckpt_path)
        saved = json.loads(state["train_config"])
        conflicts = resume_conflicts(saved, train_record)
        if conflicts:
            raise ValueError(f"{ckpt_path}: cannot resume with other settings ({'; '.join(conflicts)}); give "
                             f"the original options (only {', '.join(RESUMABLE_CHANGES)} may change)")
        if "init_model_real_images" in saved:
            train_record["init_model_real_images"] = saved["init_model_real_images"]
        model_cfg = ModelConfig.from_dict(json.loads(state["model_config"]))
        start_step = int(state["step"])
    elif ckpt_path.exists() and not overwrite:
        raise FileExistsError(f"{ckpt_path} exists: resume it with --resume, or start afresh with --overwrite")
    elif init_model:
        init_meta = read_model_metadata(init_model)
        model_cfg = ModelConfig.from_dict({**init_meta["config"], **(init_overrides or {})})
        inherited, complete = trained_real_images(init_meta)
        train_record["init_model_real_images"] = {"names": sorted(inherited), "complete": complete}
    return _Start(ckpt_path, model_cfg or ModelConfig(), train_record, start_step, state)


def _initial_model(start, train_cfg, init_model, log):
    """The model to train: built (seeded by the run's seed and step), with the starting weights loaded."""
    import torch
    from safetensors.torch import load_file

    torch.manual_seed(train_cfg.seed + start.start_step)
    model = build_model(start.model_cfg)
    model._desghost_config = start.model_cfg
    if start.state is not None:
        model.load_state_dict(start.state["model"])
    elif init_model:
        model.load_state_dict({k: (v.float() if v.is_floating_point() else v) for k, v in load_file(init_model).items()})
    elif train_cfg.imagenet_backbone:
        if not start.model_cfg.backbone.startswith("efficientnet_lite"):
            raise ValueError(f"ImageNet weights exist for the efficientnet_lite backbones, not {start.model_cfg.backbone}")
        from desghost.detection.efficientnet_lite import load_imagenet_weights
        n_tensors = load_imagenet_weights(model.backbone.body, start.model_cfg.backbone[:-len("_fpn")])
        log(f"backbone initialised from ImageNet weights ({n_tensors} tensors)")
    return model


def _model_metadata(start, train_cfg, init_model, real_pool, step, metrics, wall_s):
    """What the exported model file records of its training."""
    data = ("synthetic focal-plane images rendered by desghost.simulate.training (statistics of the "
            "DeepGhostBusters train+val annotations)"
            + (f" + real annotated images at {train_cfg.real_fraction:.0%}" if real_pool else ""))
    return {"training": {"steps": step, "train_config": asdict(train_cfg), "resumed_from": start.start_step,
                         "real_images_trained": start.train_record["real_images_trained"],
                         "init_model_real_images": start.train_record.get("init_model_real_images"),
                         "init_model": init_model, "data": data, "wall_seconds_this_run": round(wall_s, 1)},
            "metrics": {"synthetic_validation": metrics}}


#: The columns of a run's ``log.csv``.
LOG_COLUMNS = ["step", "loss", "loss_classifier", "loss_box_reg", "loss_mask", "loss_objectness", "loss_rpn_box_reg",
               "lr", "sec_per_step"]


class _TrainingRun:
    """The optimizer loop of one :func:`train` call: steps, the log, checkpoints, validation, signals."""

    def __init__(self, run_dir, train_cfg, model, start, device, real_pool, validate, log):
        import torch

        self.run_dir, self.cfg, self.model, self.start, self.device = run_dir, train_cfg, model, start, device
        self.real_pool, self.validate, self.log = real_pool, validate, log
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.params, lr=train_cfg.lr, weight_decay=train_cfg.weight_decay)
        if start.state is not None:
            if "optimizer" in start.state:
                self.optimizer.load_state_dict(start.state["optimizer"])
            else:
                log(f"{start.ckpt_path}: a slim checkpoint (no optimizer state): AdamW's moments start afresh "
                    f"at step {start.start_step}")
            if "torch_rng" in start.state:  # the RPN/RoI samplers' stream continues where it stopped
                torch.set_rng_state(start.state["torch_rng"])
        with atomic_path(run_dir / "train_config.json") as tmp:
            Path(tmp).write_text(json.dumps({"model": start.model_cfg.to_dict(), "train": start.train_record},
                                            indent=1))
        self.wall_s, self.window, self.stop_now = 0.0, [], False

    def loop(self):
        """Run the steps up to ``cfg.steps`` (or a SIGINT/SIGTERM), checkpoint, and return the last step."""
        cfg, step, t_start = self.cfg, self.start.start_step, time.perf_counter()
        log_fh, writer = self._open_log()
        old = {s: signal.signal(s, self._stop) for s in (signal.SIGINT, signal.SIGTERM)}
        batches = iter(step_batches(batch_samples, (cfg, self.real_pool), step, max(step, cfg.steps),
                                    prefetch=cfg.prefetch and step < cfg.steps, workers=cfg.render_workers))
        try:
            while step < cfg.steps and not self.stop_now:
                loss, losses, dt = self._step(step, next(batches))
                step += 1
                self.window.append(dt)
                writer.writerow([step, f"{loss.item():.4f}"] + [f"{losses[k].item():.4f}" for k in LOG_COLUMNS[2:7]]
                                + [f"{self.optimizer.param_groups[0]['lr']:.2e}", f"{dt:.2f}"])
                self._after_step(step, loss, losses, log_fh)
        finally:
            del batches  # stops the prefetching worker
            for s, h in old.items():
                signal.signal(s, h)
            log_fh.close()
        self.wall_s = time.perf_counter() - t_start
        _save_checkpoint(self.start.ckpt_path, self.model, self.optimizer, step, self.start.model_cfg,
                         self.start.train_record)
        return step

    def _stop(self, signum, frame):
        self.stop_now = True
        self.log(f"signal {signum}: saving a checkpoint after this step")

    def _open_log(self):
        log_path = self.run_dir / "log.csv"
        new_log = not log_path.exists() or self.start.state is None
        if not new_log:
            _truncate_log(log_path, self.start.start_step)
        log_fh = open(log_path, "w" if new_log else "a", newline="")
        writer = csv.writer(log_fh)
        if new_log:
            writer.writerow(LOG_COLUMNS)
        return log_fh, writer

    def _step(self, step, samples):
        """One optimizer step on one batch: (loss, loss terms, seconds)."""
        import torch

        t0 = time.perf_counter()
        for g in self.optimizer.param_groups:
            g["lr"] = self.cfg.lr * _lr_factor(step, self.cfg)
        images, targets = [], []
        for image, masks, labels in samples:
            images.append(to_tensor(image).to(self.device))
            targets.append({k: v.to(self.device) for k, v in to_target(masks, labels).items()})
        with torch.autocast(device_type=self.device.split(":")[0], dtype=torch.bfloat16,
                            enabled=self.cfg.precision == "bf16"):
            losses = self.model(images, targets)
        loss = weighted_loss(losses, self.cfg.loss_weights)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, 10.0)
        self.optimizer.step()
        return loss, losses, time.perf_counter() - t0

    def _after_step(self, step, loss, losses, log_fh):
        """Progress line, checkpoint and validation when their intervals come round."""
        cfg = self.cfg
        if (cfg.log_every and step % cfg.log_every == 0) or step == cfg.steps:
            log_fh.flush()
            rate = np.mean(self.window[-(cfg.log_every or len(self.window)):])
            parts = " ".join(f"{k[5:]}={v.item():.3f}" for k, v in losses.items())
            self.log(f"step {step}/{cfg.steps} loss={loss.item():.3f} {parts} "
                     f"{rate:.2f} s/step ETA {rate * (cfg.steps - step) / 60:.1f} min")
        if (cfg.checkpoint_every and step % cfg.checkpoint_every == 0) or step in cfg.keep_checkpoints:
            _save_checkpoint(self.start.ckpt_path, self.model, self.optimizer, step, self.start.model_cfg,
                             self.start.train_record)
        if step in cfg.keep_checkpoints:   # this step's weights outlive the next checkpoint
            shutil.copyfile(self.start.ckpt_path, self.run_dir / f"checkpoint_step{step}.pt")
        if self.validate is not None and cfg.val_every and step % cfg.val_every == 0:
            metrics = _safe_validate(self.validate, self.model, self.log)
            self.log(f"validation at step {step}: " + json.dumps(metrics))
            with open(self.run_dir / "val.jsonl", "a") as fh:
                fh.write(json.dumps({"step": step, **metrics}) + "\n")

