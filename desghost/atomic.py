"""Atomic file writes: write to a hidden temporary name beside the target, then rename."""
import os
from contextlib import contextmanager
from pathlib import Path


def temporary_name(path, suffix=""):
    """The hidden temporary name used while ``path`` is written (``.NAME.part-PID``)."""
    path = Path(path)
    return path.with_name(f".{path.name}.part-{os.getpid()}{suffix}")


@contextmanager
def atomic_path(path, suffix=""):
    """Yield a temporary path; on success rename it to ``path``, on failure remove it.

    Readers never see a half-written ``path``; an existing ``path`` is replaced in one step.
    ``suffix`` is appended to the temporary name for writers that insist on an extension.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path, suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
