"""The fixed folds of the 30 real annotated images (``research/real_image_folds.json``).

To score a training recipe on real images: fine-tune it once per fold from the same
synthetic-only base, on the images of the other folds, and score each fold's model on its
own fold only.  The file is written once by ``tools/make_real_folds.py`` and never reshuffled.
"""
import json
from pathlib import Path

FOLDS_FILE = Path(__file__).with_name("real_image_folds.json")


def load_folds(path=FOLDS_FILE):
    """The folds: a list of lists of image names (each name in exactly one fold).

    Raises
    ------
    ValueError
        A name in two folds, or an empty fold.
    """
    folds = json.loads(Path(path).read_text())["folds"]
    names = [n for fold in folds for n in fold]
    if len(names) != len(set(names)) or not all(folds):
        raise ValueError(f"{path}: every image must be in exactly one fold, and no fold empty")
    return folds


def fold_split(folds, k):
    """``(training names, scoring names)`` of fold ``k``: fold k is scored, the others train."""
    scoring = sorted(folds[k])
    training = sorted(n for j, fold in enumerate(folds) if j != k for n in fold)
    return training, scoring
