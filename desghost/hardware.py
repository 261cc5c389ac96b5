"""What the machine offers this process (a leaf)."""
import os

__all__ = ["available_cores"]


def available_cores():
    """CPU cores this process may run on.

    Returns
    -------
    int
        The size of the process's CPU affinity set (Linux), else ``os.cpu_count()``, at least 1.
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
