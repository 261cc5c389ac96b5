"""Model files made from other model files: calibrated copies and weight averages ("model soups").

Research code used by ``tools/`` (not installed with desghost).
"""
from pathlib import Path

from desghost.detection.model import load_model, read_model_metadata, save_model


def write_calibrated_copy(src, dst, settings, calibration):
    """Copy a model file with changed inference settings and a record of how they were chosen.

    Parameters
    ----------
    src, dst : str or Path
        Model file to read and the copy to write (atomically).
    settings : dict
        ModelConfig fields to change, e.g. ``{"score_threshold": 0.3}``.
    calibration : dict
        Merged into the copy's ``calibration`` metadata (e.g. the scan that chose the settings).
    """
    lm = load_model(src, device="cpu", overrides=settings)
    meta = read_model_metadata(src)
    extra = {k: v for k, v in meta.items() if k not in ("format", "software", "config")}
    extra.setdefault("calibration", {}).update(calibration)
    return save_model(dst, lm.model, lm.config, extra)


def write_weight_average(srcs, dst, weights=None):
    """Write a model whose weights are the weighted mean of several model files ("model soup").

    Useful for runs fine-tuned from one another: the average of a model and its continuation
    is often more robust than either.  Integer buffers (BatchNorm's batch counters) come from
    the last file; the architecture and inference settings from the first.

    Parameters
    ----------
    srcs : list of str or Path
        Model files of one architecture.
    dst : str or Path
        File to write (atomically).
    weights : list of float, optional
        One per file, normalised to sum 1 (default: equal).
    """
    if len(srcs) < 2:
        raise ValueError("averaging needs at least two model files")
    weights = [1.0] * len(srcs) if weights is None else [float(w) for w in weights]
    if len(weights) != len(srcs) or min(weights) < 0 or sum(weights) <= 0:
        raise ValueError(f"need one non-negative weight per model file, got {weights} for {len(srcs)} files")
    weights = [w / sum(weights) for w in weights]
    loaded = [load_model(s, device="cpu") for s in srcs]
    states = [lm.model.state_dict() for lm in loaded]
    first = states[0]
    for src, other in zip(srcs[1:], states[1:]):
        bad = sorted(k for k in first if k not in other or other[k].shape != first[k].shape)
        if bad or len(other) != len(first):
            raise ValueError(f"{src}: architecture differs from {srcs[0]} (first mismatching tensor: "
                             f"{bad[0] if bad else 'extra tensors'})")
    averaged = {k: sum(w * st[k] for w, st in zip(weights, states)) if v.is_floating_point() else states[-1][k]
                for k, v in first.items()}
    loaded[0].model.load_state_dict(averaged)
    metas = [lm.metadata for lm in loaded]
    extra = {k: v for k, v in metas[0].items()
             if k not in ("format", "software", "config", "calibration", "training", "metrics", "weight_average")}
    parents = [Path(s).name for s in srcs]
    extra["training"] = {"weight_average_of": parents, "weights": weights,
                         "note": "no training of its own: the weighted mean of the parents' weights; "
                                 "their training records are under 'weight_average'"}
    extra["weight_average"] = {"models": [str(s) for s in srcs], "weights": weights,
                               "training": [m.get("training") for m in metas]}
    return save_model(dst, loaded[0].model, loaded[0].config, extra)
