"""Atomic file writes that never follow a link: write inside a private folder, then rename.

Every temporary file lives in a hidden folder made by :func:`tempfile.mkdtemp` beside its
target (``.NAME.part-PID-XXXXXXXX``, mode 0700, created exclusively), so nothing planted in the
output folder beforehand (a symbolic link at a temporary name, say) can redirect a write: the
folder's name is new and only its owner can create entries in it.  The finished file is renamed
onto its final name, and ``rename`` replaces a link found there instead of following it.
"""
import errno
import fcntl
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "current_umask", "FileGroup", "folder_lock", "needs_alias", "open_no_follow", "PART_MARKER",
           "part_owner_pid", "pid_alive", "plain_name", "private_folder", "publish_mode", "remove_stale_parts",
           "temporary_name"]

#: Marker in the names of the hidden temporary folders (``.NAME.part-PID-XXXXXXXX``).
PART_MARKER = ".part-"


def plain_name(name):
    """``name`` with every character outside ``A-Za-z0-9._-`` replaced by ``_`` (no tool parses it)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def needs_alias(path):
    """True when cfitsio would not take ``path`` literally (``[1]``, ``(out)``, ``+1``, ``!``, ``-``, ``scheme://``)."""
    path = str(path)
    return any(c in path for c in "[]()+") or path.startswith(("!", "-")) or "://" in path


def _folder_alias(folder):
    """``(name, fd)``: a name for ``folder`` that every library reads literally, and the fd to close (or None)."""
    if not needs_alias(folder) or not os.path.isdir("/proc/self/fd"):
        return Path(folder), None
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    return Path(f"/proc/self/fd/{fd}"), fd


def current_umask():
    """This process's umask (read from ``/proc/self/status`` where it can be, without changing it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def publish_mode(path):
    """Give a finished temporary file the mode a plain ``open`` would have (0666 less the umask).

    Some writers (safetensors, ``tempfile``) create files 0600; the private folder already keeps
    others out while the file is written, so the final file can have the user's usual mode.
    """
    if os.path.isfile(path) and not os.path.islink(path):
        os.chmod(path, 0o666 & ~current_umask())


def private_folder(path):
    """Create a new private hidden folder beside ``path`` and return it.

    The folder is ``.NAME.part-PID-XXXXXXXX`` in ``path``'s folder (which is made when absent),
    created exclusively with mode 0700.

    Raises
    ------
    OSError
        The folder cannot be made (read-only or full file system, or a parent is not a folder).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{plain_name(path.name)}{PART_MARKER}{os.getpid()}-", dir=path.parent))


def temporary_name(path, suffix=""):
    """A new temporary path for writing ``path``, inside a fresh private folder beside it.

    The caller removes the folder (``temporary_name(...).parent``) when done; prefer
    :func:`atomic_path` or :class:`FileGroup`, which do, and which give a name that cfitsio
    reads literally even when the output folder's name holds ``[`` or ``(``.
    """
    path = Path(path)
    return private_folder(path) / f"{plain_name(path.name)}{suffix}"


def part_owner_pid(path):
    """The process id in a temporary name ``.NAME.part-PID-...``, or None when there is none."""
    name = Path(path).name
    if not name.startswith(".") or PART_MARKER not in name:
        return None
    digits = name.rsplit(PART_MARKER, 1)[1].split("-", 1)[0]
    return int(digits) if digits.isdigit() else None


def pid_alive(pid):
    """Whether a live process with this id exists on this machine (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat_line.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def remove_stale_parts(folder, name_glob="*"):
    """Remove the hidden temporaries ``.NAME.part-PID-*`` in ``folder`` whose process is gone.

    Links are removed as links (never followed); folders are removed with what they hold.
    Temporaries of live processes (another night, a report being written) are kept.

    Returns
    -------
    list of Path
        What was removed.
    """
    removed = []
    for entry in Path(folder).glob(f".{name_glob}{PART_MARKER}*"):
        pid = part_owner_pid(entry)
        if pid is None or (pid != os.getpid() and pid_alive(pid)):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry)
        except OSError:
            pass
    return removed


def open_no_follow(path, mode="a"):
    """Open a text file for appending or writing without following a link at ``path``.

    ``mode`` is ``"a"`` (create or append) or ``"x"`` (create; the name must be new).

    Raises
    ------
    OSError
        ``path`` is a symbolic link (``ELOOP``) or cannot be opened.
    """
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= os.O_APPEND if mode == "a" else os.O_EXCL
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, "is a symbolic link; desghost does not write through links", str(path)) from None
        raise
    return os.fdopen(fd, "a" if mode == "a" else "w")


@contextmanager
def atomic_path(path, suffix=""):
    """Yield a temporary path; on success rename it to ``path``, on failure remove it.

    Readers never see a half-written ``path``; an existing ``path`` (or a link at that name) is
    replaced in one step.  ``suffix`` is appended to the temporary name for writers that insist
    on an extension.
    """
    path = Path(path)
    tmp = temporary_name(path, suffix)
    alias, fd = _folder_alias(tmp.parent)
    try:
        yield alias / tmp.name
        publish_mode(tmp)
        os.replace(tmp, path)
    finally:
        if fd is not None:
            os.close(fd)
        shutil.rmtree(tmp.parent, ignore_errors=True)


@contextmanager
def folder_lock(folder):
    """Hold an exclusive ``flock`` on ``folder`` for the block: processes that read the catalog and
    write a file summarising it (a night's lists, a report) take turns, so an older view never
    overwrites a newer one.  Not re-entrant within one process.

    Raises
    ------
    OSError
        ``folder`` cannot be opened.
    """
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _keep_aside(path, aside):
    """A second name ``aside`` for the file at ``path``: a hard link (``path`` stays in place), or
    a move where the file system refuses hard links."""
    try:
        os.link(path, aside, follow_symlinks=False)
    except OSError:
        os.replace(path, aside)


class FileGroup:
    """Files that appear together or not at all: written under temporary names, renamed in one go.

    ``group.temporary(path)`` gives a new private name to write ``path`` to; :meth:`commit`
    renames every file to its final name; :meth:`discard` (or leaving a ``with`` block by an
    exception) removes the temporaries.  A run killed in between leaves only hidden
    ``.NAME.part-PID-*`` folders, which the night runner removes when it next starts.

    Examples
    --------
    >>> with FileGroup() as group:                                  # doctest: +SKIP
    ...     write_a(group.temporary("out/a.fits")); write_b(group.temporary("out/b.txt"))
    ...     group.commit()
    """

    def __init__(self):
        self._pending = {}
        self._fds = []

    def temporary(self, path):
        """The temporary name to write ``path`` to (its folder is made when absent)."""
        path = Path(path)
        tmp = temporary_name(path)
        self._pending[path] = tmp
        alias, fd = _folder_alias(tmp.parent)
        if fd is not None:
            self._fds.append(fd)
        return alias / tmp.name

    def commit(self):
        """Rename every temporary to its final name, all or none.

        Files already at the final names are kept aside first (a hard link, so the final name
        never disappears for a reader in another process; moved where the file system has no
        hard links) and put back if any rename fails, so a failed commit leaves the previous set
        of files as it was.

        Raises
        ------
        OSError
            A temporary is missing, a final name is taken by a folder, or a rename failed (the
            group is then left uncommitted).
        """
        for path, tmp in self._pending.items():
            if not tmp.exists():
                raise FileNotFoundError(f"{path}: its temporary file was never written")
            if path.is_dir() and not path.is_symlink():
                raise IsADirectoryError(f"{path}: the name is taken by something that is not a file")
        kept_aside, placed = {}, []
        try:
            for path, tmp in self._pending.items():
                if path.is_symlink() or path.exists():
                    kept_aside[path] = tmp.parent / f"{path.name}-previous"
                    _keep_aside(path, kept_aside[path])
                publish_mode(tmp)
                os.replace(tmp, path)
                placed.append(path)
        except OSError:
            for path in placed:
                if path not in kept_aside:
                    path.unlink(missing_ok=True)
            for path, aside in kept_aside.items():
                if path in placed or not (path.is_symlink() or path.exists()):
                    os.replace(aside, path)
            raise
        self.discard()

    def discard(self):
        """Remove the temporaries (and their private folders) not yet committed."""
        for tmp in self._pending.values():
            shutil.rmtree(tmp.parent, ignore_errors=True)
        self._pending.clear()
        for fd in self._fds:
            os.close(fd)
        self._fds.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.discard()
        return False
