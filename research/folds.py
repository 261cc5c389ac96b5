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


def write_fold_lists(folder, folds=None):
    """Write ``fold<k>_train.txt`` and ``fold<k>_score.txt`` for every fold into ``folder``.

    They feed ``desghost train --real-names`` and ``desghost evaluate --names``.

    Returns
    -------
    list of (Path, Path)
    """
    folds = load_folds() if folds is None else folds
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(len(folds)):
        training, scoring = fold_split(folds, k)
        pair = (folder / f"fold{k}_train.txt", folder / f"fold{k}_score.txt")
        pair[0].write_text("\n".join(training) + "\n")
        pair[1].write_text("\n".join(scoring) + "\n")
        out.append(pair)
    return out


if __name__ == "__main__":
    import sys

    for train_list, score_list in write_fold_lists(sys.argv[1] if len(sys.argv) > 1 else "folds"):
        print(train_list, score_list)
