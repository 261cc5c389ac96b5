"""Annotated real focal-plane images: the image set with its VIA masks, name lists and the split.

Used by training, evaluation, the research scans and the benchmarks alike, so it sits below all
of them, beside the focal-plane image reader it uses.
"""
from pathlib import Path

from desghost.focalplane.imagefile import read_focal_plane_image
from desghost.reading.annotations import instance_masks, read_via

__all__ = ["load_via_images", "read_name_list", "real_split"]


def real_split(names, n_train):
    """The explicit real-image split used everywhere (train, evaluate, scans, benchmarks).

    Parameters
    ----------
    names : iterable of str
        Names of the annotated images (e.g. the keys of :func:`load_via_images`).
    n_train : int
        How many of them, in sorted order, are for training.

    Returns
    -------
    (list of str, list of str)
        The training names and the held-out names, both sorted.

    Examples
    --------
    >>> real_split(["c.png", "a.png", "b.png"], 2)
    (['a.png', 'b.png'], ['c.png'])
    """
    names = sorted(names)
    return names[:n_train], names[n_train:]


def read_name_list(path, known):
    """Image names from a text file (one per line, ``#`` comments), checked against ``known``.

    Parameters
    ----------
    path : str or Path
        For example one fold's training or scoring list (``python -m research.folds DIR``).
    known : collection of str
        The annotated images' names.

    Returns
    -------
    list of str
        Sorted, without duplicates.

    Raises
    ------
    UsageError
        A name that is not among ``known``, or an empty list (exit code 2).
    """
    from desghost.errors import UsageError

    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read the name list ({exc.strerror or exc})", path=path) from None
    names = sorted({ln.split("#", 1)[0].strip() for ln in lines} - {""})
    unknown = [n for n in names if n not in set(known)]
    if unknown or not names:
        raise UsageError(f"names not among the annotated images: {', '.join(unknown[:3])}" if unknown
                         else "no image names in it", path=path)
    return names


def load_via_images(image_dir, annotation_files, names=None):
    """Real images with the masks of one or more VIA files.

    Parameters
    ----------
    image_dir : str or Path
        Folder of 400x400 focal-plane images (PNG, JPEG or FITS).
    annotation_files : sequence of str or Path
        VIA 2.0 project or annotation files, one per annotator.
    names : collection of str, optional
        Only these image names.

    Returns
    -------
    dict
        ``{filename: {"image": uint8 (H, W), "annotations": [(masks, labels), ...]}}``, one
        ``(masks, labels)`` pair per annotation file (annotator), in the order given; only
        images some file annotates.

    Raises
    ------
    MalformedTextError, UsageError
        From :func:`desghost.reading.annotations.read_via` and
        :func:`desghost.focalplane.imagefile.read_focal_plane_image`.
    """
    per_file = [read_via(a) for a in annotation_files]
    out = {}
    for path in sorted(Path(image_dir).iterdir()):
        if names is not None and path.name not in names:
            continue
        if not any(path.name in ann for ann in per_file):
            continue
        image = read_focal_plane_image(path)[0]
        anns = [instance_masks(ann.get(path.name, []), image.shape) for ann in per_file]
        out[path.name] = {"image": image, "annotations": anns}
    return out
