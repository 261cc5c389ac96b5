"""What the pipeline stage needs around :func:`process_exposure`: light results and merging.

Kept free of ceci so it can be tested (and reused by other workflow systems) on its own.
"""
import os
from dataclasses import dataclass

from .catalog import Catalog
from .errors import DesghostError
from .pipeline import process_exposure
from .products.exclusion import write_exclusion_fits


@dataclass
class LightInstance:
    """An instance without its pixels: what the catalog stores."""

    class_id: int
    class_name: str
    score: float
    bbox_px: tuple
    area_px: int


def light_result(result):
    """An ExposureResult stripped of pixel arrays, cheap to send between MPI ranks."""
    result.image = None
    result.instances = [LightInstance(i.class_id, i.class_name, i.score, i.bbox_px, i.area_px) for i in result.instances]
    return result


def process_for_stage(path, outdir, cfg):
    """Process one exposure; never raises for bad input (returns a failure record instead)."""
    abspath = os.path.abspath(path)
    try:
        result = process_exposure(abspath, outdir, cfg)
    except DesghostError as exc:
        return {"ok": False, "input": abspath, "reason": str(exc), "exit_code": exc.exit_code}
    except Exception as exc:  # noqa: BLE001 - one exposure never stops the stage
        return {"ok": False, "input": abspath, "reason": f"internal error: {type(exc).__name__}: {exc}", "exit_code": 1}
    result.source = abspath
    return {"ok": True, "input": abspath, "result": light_result(result)}


def merge_results(results, catalog_path, exclusion_path):
    """Record every rank's results in the catalog and write the merged exclusion table."""
    from . import __version__
    rows = []
    with Catalog(catalog_path) as cat:
        for r in results:
            if r["ok"]:
                cat.record_exposure(r["result"])
                rows.extend(r["result"].exclusions)
            else:
                cat.record_failure(r["input"], r["reason"], r["exit_code"])
    rows.sort(key=lambda x: (x["expnum"], x["ccdnum"]))
    cards = [{"name": "DGVERS", "value": f"desghost {__version__}"},
             {"name": "NEXPOSUR", "value": len(results)},
             {"name": "NFAILED", "value": sum(not r["ok"] for r in results)}]
    return write_exclusion_fits(exclusion_path, rows, cards)
