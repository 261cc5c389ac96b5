"""Derive ghost-family statistics from annotation geometry: the paper's 2000 images and the 30 real ones.

Writes ``desghost/family_stats.json``: for each set, how often a family of small
ghosts on one radial line comes with a big faint disc, where the disc sits relative to the
family's line (along it and across it, in units of the family's distance from the optical
axis), and its radius against that distance (see ``research/families.py``).  Run from the
repository root::

    python tools/derive_family_stats.py ../shared/data/dgb
"""
import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from desghost.reading.annotations import instance_masks, read_via  # noqa: E402
from research.families import ANGLE_TOL_DEG, LARGE_R_PX, family_statistics  # noqa: E402
from tools.derive_artifact_stats import region_stats  # noqa: E402

OUT = ROOT / "desghost" / "family_stats.json"


def paper_images():
    """Regions of the 2000 annotated images, from artifact_stats.json (derived from the same files)."""
    stats = json.loads((ROOT / "desghost" / "simulate" / "artifact_stats.json").read_text())
    return [[(cls, cx, cy, r) for cls, cx, cy, r, *_ in image] for image in stats["images"]]


def real_images(real_dir):
    """Regions of the 30 real images, one image record per (annotator, image)."""
    out = []
    for via in sorted((Path(real_dir) / "annotations").glob("common_core_*.json")):
        for name, regions in sorted(read_via(via).items()):
            masks, labels = instance_masks(regions)
            recs = []
            for mask, label in zip(masks, labels):
                if mask.any():
                    cx, cy, r = region_stats(mask)[:3]
                    recs.append((("Bright", "Faint", "Rays")[int(label) - 1], cx, cy, r))
            out.append(recs)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dgb_dir", help="../shared/data/dgb (with real/annotations)")
    args = ap.parse_args()
    doc = {"source": "DeepGhostBusters annotations (geometry only) and the 30 real images' eight annotators",
           "angle_tol_deg": ANGLE_TOL_DEG, "large_r_px": LARGE_R_PX,
           "paper_2000": family_statistics(paper_images()),
           "real_30_per_annotator": family_statistics(real_images(Path(args.dgb_dir) / "real"))}
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
