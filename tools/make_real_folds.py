"""Write research/real_image_folds.json once: the 30 real images in 3 folds of 10, stratified.

Images are ordered by how many instances the annotators mark on them (mean over annotators,
then name) and dealt to the folds in snake order (0 1 2 2 1 0 ...), so each fold holds busy and
quiet images alike.  The file is never rewritten: a second run refuses.

    python tools/make_real_folds.py ../shared/data/dgb/real
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desghost.reading.annotations import read_via  # noqa: E402
from research.folds import FOLDS_FILE  # noqa: E402


def stratified_folds(counts, n_folds):
    """Names dealt to ``n_folds`` folds in snake order of decreasing ``counts[name]``."""
    order = sorted(counts, key=lambda n: (-counts[n], n))
    folds = [[] for _ in range(n_folds)]
    for i, name in enumerate(order):
        lap, pos = divmod(i, n_folds)
        folds[pos if lap % 2 == 0 else n_folds - 1 - pos].append(name)
    return [sorted(f) for f in folds]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("real_dir", help="folder with images/ and annotations/common_core_*.json")
    ap.add_argument("--folds", type=int, default=3, help="number of folds (default 3)")
    args = ap.parse_args()
    if FOLDS_FILE.exists():
        sys.exit(f"{FOLDS_FILE} exists: the folds are fixed and never reshuffled")
    names = sorted(p.name for p in (Path(args.real_dir) / "images").glob("Ghost_img_D*.jpg"))
    files = sorted((Path(args.real_dir) / "annotations").glob("common_core_*.json"))
    per_file = [read_via(f) for f in files]
    counts = {n: float(np.mean([len(a.get(n, [])) for a in per_file])) for n in names}
    folds = stratified_folds(counts, args.folds)
    FOLDS_FILE.write_text(json.dumps({
        "rule": "mean annotated instances per image, snake-dealt; written once by tools/make_real_folds.py",
        "annotators": [f.name for f in files], "folds": folds}, indent=1) + "\n")
    print(f"{FOLDS_FILE}: " + ", ".join(f"fold {k}: {len(f)} images, "
                                        f"{sum(counts[n] for n in f):.0f} instances" for k, f in enumerate(folds)))


if __name__ == "__main__":
    main()
