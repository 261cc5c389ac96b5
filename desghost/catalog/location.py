"""Where a command's catalog is: the one rule every command follows.

``--catalog`` names a file, or a folder holding ``desghost_catalog.sqlite`` (a night's output
folder); without it, ``$DESGHOST_CATALOG``; without that, ``desghost_catalog.sqlite`` in the
command's output folder (``run``, ``night``, ``report``) or in the working folder (``query``,
``compare``, ``import-raytrace``).  So ``desghost query --catalog OUTDIR`` reads what
``desghost night ... -o OUTDIR`` wrote.
"""
import os
from pathlib import Path

__all__ = ["CATALOG_HELP", "CATALOG_NAME", "catalog_path"]

CATALOG_NAME = "desghost_catalog.sqlite"

#: The help text of every ``--catalog`` option.
CATALOG_HELP = (f"catalog file, or a folder holding {CATALOG_NAME} (default: $DESGHOST_CATALOG, else "
                f"{CATALOG_NAME} in the output folder, or in the working folder for commands without one)")


def catalog_path(given=None, outdir=None):
    """The catalog a command uses.

    Parameters
    ----------
    given : str or Path, optional
        The ``--catalog`` value: a file, or a folder holding :data:`CATALOG_NAME`.
    outdir : str or Path, optional
        The command's output folder, when it has one.

    Returns
    -------
    Path
    """
    if given:
        path = Path(given)
        return path / CATALOG_NAME if path.is_dir() else path
    if os.environ.get("DESGHOST_CATALOG"):
        return catalog_path(os.environ["DESGHOST_CATALOG"])
    return Path(outdir or ".") / CATALOG_NAME
