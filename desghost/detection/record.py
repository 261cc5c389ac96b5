"""The stable JSON record of one image's detections, as ``desghost detect --json`` prints it.

``{file, expnum?, model, threshold, tta_views, seconds, ccdnums, instances: [{class, class_id,
score, bbox: [x0, y0, x1, y1] image px, area_px, mask: COCO RLE {size, counts}, ccdnums}]}``.
"""
import os

import numpy as np
from pycocotools import mask as mask_utils

from desghost.mask_geometry import ccds_touched

__all__ = ["detection_record"]


def detection_record(meta, instances, model, threshold, seconds, ccd_index, dead=()):
    """One image's detections as a JSON-serialisable dict.

    Parameters
    ----------
    meta : dict
        What is known of the input (``file``, and ``expnum`` etc. for exposures); copied first.
    instances : list of Instance
        The detector's output (400x400 boolean masks).
    model : LoadedModel
    threshold : float
        The score threshold the instances were cut at.
    seconds : float
        Time spent on this input (reading and detection).
    ccd_index : ndarray of int16, shape (400, 400)
        CCDNUM per image pixel (:func:`desghost.focalplane.ccd_map.ccd_map`).
    dead : collection of int
        CCDNUMs that cannot be covered: dead for the exposure, or missing from it.

    Returns
    -------
    dict
        Scores rounded to 4 decimals, boxes to 2; ``ccdnums`` follow the products' rule
        (:func:`desghost.mask_geometry.covered_fractions`): the live CCDs whose layout box holds
        at least one mask pixel, so they are the CCDs ``desghost run`` excludes at its default
        ``--area-threshold 0``.
    """
    insts, all_ccds = [], set()
    for inst in instances:
        rle = mask_utils.encode(np.asfortranarray(inst.mask.astype(np.uint8)))
        ccds = sorted(ccds_touched(inst.mask[None], ccd_index, dead=dead))
        all_ccds.update(ccds)
        insts.append({"class": inst.class_name, "class_id": inst.class_id, "score": round(inst.score, 4),
                      "bbox": [round(v, 2) for v in inst.bbox_px], "area_px": inst.area_px,
                      "mask": {"size": list(rle["size"]), "counts": rle["counts"].decode()}, "ccdnums": ccds})
    rec = dict(meta)
    rec.update(model=os.path.basename(model.path), threshold=threshold, tta_views=model.config.tta_views,
               seconds=round(seconds, 3), ccdnums=sorted(all_ccds), instances=insts)
    return rec
