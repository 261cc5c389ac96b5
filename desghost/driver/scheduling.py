"""How the driver shares the machine: worker processes, detector threads, batch size, exposures in flight."""
from desghost.hardware import available_cores

__all__ = ["decode_threads", "DEFAULT_GPU_BATCH", "default_workers", "in_flight_limit", "inference_threads",
           "resolve_batch_size"]

#: Images per forward pass on the GPU when the caller does not choose.
DEFAULT_GPU_BATCH = 8


def default_workers():
    """Assembly workers when the user does not choose: one per core.

    Assembly is the bottleneck on CPU too (about 18 s per full-size raw exposure on one core
    against 0.7 s of detection), so the detector shares a core rather than keeping one idle.
    """
    return max(1, available_cores())


def decode_threads(workers, cores=None):
    """Decoding threads of each assembly when ``workers`` processes assemble exposures side by side."""
    cores = cores or available_cores()
    return max(1, cores // max(1, workers))


def inference_threads(workers, device, cores=None):
    """Torch threads of the parent's detector: the cores the workers leave, at least one (CPU only)."""
    cores = cores or available_cores()
    return max(1, cores - workers) if device == "cpu" else 1


def resolve_batch_size(batch_size, device):
    """``None`` means 1 on CPU (identical to single-exposure runs) and 8 on the GPU."""
    if batch_size:
        return int(batch_size)
    return DEFAULT_GPU_BATCH if device == "cuda" else 1


def in_flight_limit(workers, batch_size):
    """Exposures allowed in flight at once (queued, assembled and waiting, or being written).

    Enough to keep every worker busy while a batch waits for the detector and the previous
    batch is written; memory per exposure in flight is one 400x400 image plus its masks.
    """
    return 2 * workers + batch_size
