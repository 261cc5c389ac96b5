"""Derive the simulator's artifact statistics from the paper's annotation files.

Writes ``desghost/simulate/artifact_stats.json``: for every annotated image of the train
and validation splits, the list of its regions as (class, centroid column, centroid row,
equivalent radius, major and minor axis length, angle) in 400x400 image pixels.  The
simulator draws whole images' worth of regions from it, so counts per image, positions,
sizes and co-occurrence follow the real annotations.  Run from the repository root::

    python tools/derive_artifact_stats.py ../shared/data/dgb/annotations
"""
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from desghost.classes import CLASS_NAMES  # noqa: E402
from desghost.reading.annotations import read_via, region_mask  # noqa: E402


def region_stats(mask):
    rr, cc = np.nonzero(mask)
    area = rr.size
    cy, cx = rr.mean(), cc.mean()
    cov = np.cov(np.vstack([cc - cx, rr - cy])) if area > 2 else np.eye(2)
    evals, evecs = np.linalg.eigh(cov)
    major = 4 * np.sqrt(max(evals[1], 0.25))
    minor = 4 * np.sqrt(max(evals[0], 0.25))
    angle = float(np.degrees(np.arctan2(evecs[1, 1], evecs[0, 1])))
    return [round(float(cx), 1), round(float(cy), 1), round(float(np.sqrt(area / np.pi)), 2),
            round(float(major), 1), round(float(minor), 1), round(angle, 1)]


def main(folder):
    images = []
    for split in ("train", "val"):
        for name, regions in read_via(Path(folder) / f"annotations_{split}.json").items():
            recs = []
            for reg in regions:
                m = region_mask(reg)
                if m.sum() >= 4:
                    recs.append([CLASS_NAMES[reg.class_id]] + region_stats(m))
            images.append(recs)
    out = ROOT / "desghost" / "simulate" / "artifact_stats.json"
    doc = {"source": "DeepGhostBusters annotations_train.json + annotations_val.json (MIT)",
           "columns": ["class", "cx_px", "cy_px", "r_eq_px", "major_px", "minor_px", "angle_deg"],
           "images": images}
    out.write_text(json.dumps(doc, separators=(",", ":")))
    n = sum(len(i) for i in images)
    print(f"wrote {out}: {len(images)} images, {n} regions")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/dgb/annotations")
