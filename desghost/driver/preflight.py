"""What the driver checks before it reads any exposure: the output folder, the catalog, one input per EXPNUM."""
import uuid
from pathlib import Path

from desghost.catalog.store import Catalog
from desghost.driver.exposure import product_names
from desghost.errors import DuplicateExposureError, OutputError
from desghost.reading.discovery import expnum_of_input
from desghost.reading.fitsfile import short_error
from desghost.reading.identity import input_identity

__all__ = ["check_catalog", "check_output_dir", "claim_expnums", "is_recorded_done", "REQUIRED_PRODUCTS"]

#: The products an exposure must have in the output folder to count as done.
REQUIRED_PRODUCTS = ("mask", "exclusion_fits", "exclusion_txt")


def check_output_dir(outdir):
    """Make ``outdir`` and prove a file can be written there, before any exposure is read.

    Raises
    ------
    OutputError
        The folder cannot be made or written (exit code 9).
    """
    outdir = Path(outdir)
    probe = outdir / f".desghost-write-test-{uuid.uuid4().hex}"
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"cannot write products here ({short_error(exc.strerror or exc)})", path=outdir) from None


def check_catalog(catalog_path):
    """Open (or create) the catalog once, before any exposure is read; raises CatalogError (13)."""
    if catalog_path is not None:
        Catalog(catalog_path).close()


def claim_expnums(paths, catalog_path=None, replace=False):
    """Which inputs may write their EXPNUM's products: one input per exposure, never a silent overwrite.

    Two inputs of one EXPNUM in ``paths``: the first (in the given order) is kept, the others
    fail.  An input whose EXPNUM the catalog holds from another input fails too, unless
    ``replace``, or unless its content identity is the recorded one (the same files, moved).  Inputs whose EXPNUM cannot be read quickly are kept (their full read reports
    why).

    Parameters
    ----------
    paths : list of str
        Absolute input paths.
    catalog_path : str, optional
    replace : bool
        Let an input replace the products and rows its EXPNUM has from another input.

    Returns
    -------
    kept : list of str
    refused : list of (str, DuplicateExposureError)
    """
    claimed, kept, refused = {}, [], []
    recorded, identities = {}, {}
    if catalog_path is not None and not replace and Path(catalog_path).exists():
        with Catalog(catalog_path) as catalog:
            rows = catalog.query("SELECT expnum, input, identity FROM exposures WHERE source='desghost' AND status='ok'")
            recorded = {r["expnum"]: r["input"] for r in rows}     # one read: input and identity agree
            identities = {r["expnum"]: r["identity"] for r in rows}
    for path in paths:
        expnum = expnum_of_input(path)
        if expnum is not None and expnum in claimed:
            refused.append((path, DuplicateExposureError(
                f"EXPNUM {expnum} is also the exposure of {claimed[expnum]}, another input of this run; "
                "not processed", path=path)))
        elif (expnum is not None and recorded.get(expnum) not in (None, path)
              and not (identities.get(expnum) and identities[expnum] == input_identity(path))):
            refused.append((path, DuplicateExposureError(
                f"EXPNUM {expnum} is in the catalog from {recorded[expnum]}; not processed (--force replaces it)",
                path=path)))
        else:
            if expnum is not None:
                claimed[expnum] = path
            kept.append(path)
    return kept, refused


def is_recorded_done(catalog, outdir, path):
    """Whether ``path``'s exposure is done: recorded ok in ``catalog`` with its products in ``outdir``.

    An exposure recorded from another path whose content identity matches (the files were moved)
    is done too, and its recorded path is updated to ``path``.

    Parameters
    ----------
    catalog : Catalog
        Open for writing (a moved input's path is recorded).
    outdir : str or Path
    path : str
        Absolute input path.

    Returns
    -------
    bool
    """
    rows = catalog.query("SELECT expnum FROM exposures WHERE source='desghost' AND status='ok' AND input=?",
                         (path,))
    moved = False
    if not rows:
        expnum = expnum_of_input(path)
        rows = [] if expnum is None else catalog.query(
            "SELECT expnum, identity FROM exposures WHERE source='desghost' AND status='ok' AND expnum=?", (expnum,))
        if not rows or not rows[0]["identity"] or rows[0]["identity"] != input_identity(path):
            return False
        moved = True
    names = product_names(rows[0]["expnum"])
    done = all((Path(outdir) / names[k]).exists() for k in REQUIRED_PRODUCTS)
    if done and moved:
        catalog.record_moved(rows[0]["expnum"], path)
    return done
