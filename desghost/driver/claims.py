"""Claims on exposures: one process works on an exposure's products at a time.

A claim is an exclusive ``flock`` on ``OUTDIR/.claims/<key>.lock``, held by the process that
runs the driver's loop from the moment the exposure is taken up until its outcome is known;
the lock file is removed on release (a taker checks that the file it locked is still the one
at that name).  The kernel drops the lock when that process dies, however it dies, so a claim
left by a dead night is simply taken over.  The key is the exposure's EXPNUM (its products are named by it),
or a digest of the input's path when the EXPNUM cannot be read quickly.
"""
import fcntl
import hashlib
import os
import stat
from pathlib import Path

from desghost.errors import OutputError
from desghost.reading.discovery import expnum_of_input

__all__ = ["claim_key", "CLAIMS_FOLDER", "ExposureClaims"]

#: Folder of the claim files, inside the output folder.
CLAIMS_FOLDER = ".claims"


def claim_key(path):
    """``expnum-N`` for an input whose EXPNUM a quick look finds, else ``input-<sha1 of the path>``."""
    expnum = expnum_of_input(path)
    if expnum is not None:
        return f"expnum-{expnum}"
    return "input-" + hashlib.sha1(os.path.abspath(str(path)).encode()).hexdigest()[:16]


class ExposureClaims:
    """The claims this process holds in one output folder.

    Parameters
    ----------
    outdir : str or Path
        The output folder (its ``.claims`` sub-folder is made when absent).

    Raises
    ------
    OutputError
        ``.claims`` in ``outdir`` is a file or other non-folder (exit code 9), here or in
        :meth:`take` when something else took the name after this object was made.
    """

    def __init__(self, outdir):
        self.folder = Path(outdir) / CLAIMS_FOLDER
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            self._refuse_a_non_folder()
            # else removed by another process's release_all as it was made; take() makes it
        self._held = {}

    def _refuse_a_non_folder(self):
        if _is_a_non_folder(self.folder):
            raise OutputError("the claims folder's name is taken by something that is not a folder",
                              path=self.folder) from None

    def take(self, path):
        """Claim ``path``'s exposure; False when another live process holds it (nothing is held then)."""
        lock_path = self.folder / f"{claim_key(path)}.lock"
        while True:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
            except (FileNotFoundError, FileExistsError, NotADirectoryError):
                self._refuse_a_non_folder()
                continue   # another process's release_all removed the emptied folder in between
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            try:
                same = os.stat(lock_path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:   # not a file its last holder removed while we waited to lock it
                self._held[path] = (fd, lock_path)
                return True
            os.close(fd)

    def release(self, path):
        """Give up the claim on ``path`` (nothing happens when it is not held); its lock file goes."""
        held = self._held.pop(path, None)
        if held is not None:
            fd, lock_path = held
            lock_path.unlink(missing_ok=True)   # removed while still locked: see take()
            os.close(fd)

    def release_all(self):
        """Give up every claim; the claims folder goes when no other process has one there."""
        for path in list(self._held):
            self.release(path)
        try:
            self.folder.rmdir()
        except OSError:
            pass


def _is_a_non_folder(path):
    """True when ``path`` exists and is not a folder, judged from one ``lstat``.

    One system call: ``exists()`` then ``is_dir()`` can see the folder in the first call and not in
    the second when another process removes it in between, which read as "a file took its name".
    """
    try:
        return not stat.S_ISDIR(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False
