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


class FileGroup:
    """Files that appear together or not at all: written under temporary names, renamed in one go.

    ``group.temporary(path)`` gives the hidden name to write ``path`` to; :meth:`commit` renames
    every file to its final name; :meth:`discard` (or leaving a ``with`` block by an exception)
    removes the temporaries.  A run killed in between leaves only hidden ``.NAME.part-PID*``
    files, which the night runner removes when it next starts.

    Examples
    --------
    >>> with FileGroup() as group:                                  # doctest: +SKIP
    ...     write_a(group.temporary("out/a.fits")); write_b(group.temporary("out/b.txt"))
    ...     group.commit()
    """

    def __init__(self):
        self._pending = {}

    def temporary(self, path):
        """The temporary name to write ``path`` to (its folder is made when absent)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = temporary_name(path, "-group")
        self._pending[path] = tmp
        return tmp

    def commit(self):
        """Rename every temporary to its final name, all or none.

        Files already at the final names are moved aside first and put back if any rename
        fails, so a failed commit leaves the previous set of files as it was.

        Raises
        ------
        OSError
            A temporary is missing, a final name is taken by something that is not a file,
            or a rename failed (the group is then left uncommitted).
        """
        for path, tmp in self._pending.items():
            if not tmp.exists():
                raise FileNotFoundError(f"{path}: its temporary file was never written")
            if path.exists() and not path.is_file():
                raise IsADirectoryError(f"{path}: the name is taken by something that is not a file")
        moved_aside, placed = {}, []
        try:
            for path, tmp in self._pending.items():
                if path.exists():
                    moved_aside[path] = temporary_name(path, "-previous")
                    os.replace(path, moved_aside[path])
                os.replace(tmp, path)
                placed.append(path)
        except OSError:
            for path in placed:
                path.unlink(missing_ok=True)
            for path, aside in moved_aside.items():
                os.replace(aside, path)
            raise
        for aside in moved_aside.values():
            aside.unlink(missing_ok=True)
        self._pending.clear()

    def discard(self):
        """Remove the temporaries not yet committed."""
        for tmp in self._pending.values():
            if tmp.exists():
                tmp.unlink()
        self._pending.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.discard()
        return False
