"""What the ceci stage needs around the driver: one rank's share of the exposures, and merging the ranks.

Kept free of ceci so it can be tested (and reused by other workflow systems) on its own.
"""
import os

from desghost import __version__
from desghost.catalog.store import Catalog
from desghost.driver.many import process_exposures
from desghost.products.exclusion import write_exclusion_fits

__all__ = ["merge_results", "process_for_stage"]


def process_for_stage(paths, outdir, cfg, batch_size=1):
    """Process one rank's exposures in this process with the detector batched; never raises for bad input.

    The steps are those of :func:`desghost.driver.many.process_exposures` (no catalog: rank 0
    records every rank's results with :func:`merge_results`).

    Returns
    -------
    list of dict
        Per exposure, ``{"ok": True, "input", "result"}`` (the result without pixels) or
        ``{"ok": False, "input", "reason", "exit_code"}``, in input order.
    """
    outcomes = {o.path: o for o in process_exposures(paths, outdir, cfg, catalog_path=None, workers=0,
                                                     batch_size=batch_size)}
    results = []
    for path in (os.path.abspath(str(p)) for p in paths):
        o = outcomes[path]
        results.append({"ok": True, "input": path, "result": o.result} if o.error is None else
                       {"ok": False, "input": path, "reason": o.error, "exit_code": o.exit_code})
    return results


def merge_results(results, catalog_path, exclusion_path):
    """Record every rank's results in the catalog and write the merged exclusion table."""
    rows = []
    with Catalog(catalog_path) as cat:
        for r in results:
            if r["ok"]:
                cat.record_exposure(r["result"])
                rows.extend(r["result"].exclusions)
            else:
                cat.record_failure(r["input"], r["reason"], r["exit_code"])
    rows.sort(key=lambda x: (x.expnum, x.ccdnum))
    cards = [{"name": "DGVERS", "value": f"desghost {__version__}"},
             {"name": "NEXPOSUR", "value": len(results)},
             {"name": "NFAILED", "value": sum(not r["ok"] for r in results)}]
    return write_exclusion_fits(exclusion_path, rows, cards)
