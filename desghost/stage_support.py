"""What the pipeline stage needs around the one-exposure chain: batching, light results, merging.

Kept free of ceci so it can be tested (and reused by other workflow systems) on its own.
"""
import os
from dataclasses import dataclass

from .catalog import Catalog
from .errors import failure_reason
from .pipeline import detect_prepared, finish_exposure, load_run_model, prepare_exposure
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


def _failure(abspath, exc):
    reason, code = failure_reason(exc)
    return {"ok": False, "input": abspath, "reason": reason, "exit_code": code}


def process_for_stage(paths, outdir, cfg, batch_size=1):
    """Process exposures with the detector batched; never raises for bad input.

    The steps are those of :func:`desghost.pipeline.process_exposure` (prepare, detect,
    finish), with ``batch_size`` assembled images per forward pass.

    Returns
    -------
    list of dict
        Per exposure, ``{"ok": True, "input", "result"}`` or ``{"ok": False, "input", "reason",
        "exit_code"}``, in input order.
    """
    model = load_run_model(cfg)
    threshold = model.config.score_threshold
    results = {}
    order = [os.path.abspath(p) for p in paths]
    for start in range(0, len(order), max(1, batch_size)):
        chunk = []
        for abspath in order[start:start + max(1, batch_size)]:
            try:
                chunk.append((abspath, prepare_exposure(abspath, cfg)))
            except Exception as exc:  # noqa: BLE001 - one exposure never stops the stage
                results[abspath] = _failure(abspath, exc)
        if not chunk:
            continue
        found, per_image_s = detect_prepared([p for _, p in chunk], model, batch_size)
        for (abspath, prepared), instances in zip(chunk, found):
            try:
                result = finish_exposure(prepared, instances, outdir, cfg, threshold, detect_s=per_image_s)
            except Exception as exc:  # noqa: BLE001
                results[abspath] = _failure(abspath, exc)
                continue
            result.source = abspath
            results[abspath] = {"ok": True, "input": abspath, "result": light_result(result)}
    return [results[a] for a in order]


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
