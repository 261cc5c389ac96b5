"""Agreement between two lists of flagged CCDs: precision, recall, F1 (pure, a leaf)."""

__all__ = ["ccd_level_scores", "precision_recall_f1"]


def precision_recall_f1(tp, fp, fn):
    """Precision, recall and F1 from counts (NaN where undefined).

    F1 is ``2 tp / (2 tp + fp + fn)``: 0 when there are errors and no hit, NaN only when there
    is nothing at all (no prediction and no truth).

    Parameters
    ----------
    tp, fp, fn : int
        True positives, false positives, false negatives.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1`` (float) and the three counts.
    """
    p = tp / (tp + fp) if tp + fp else float("nan")
    r = tp / (tp + fn) if tp + fn else float("nan")
    f = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "fp": fp, "fn": fn}


def ccd_level_scores(pred_sets, true_sets):
    """Micro-averaged CCD-level precision/recall/F1 over (image, CCD) pairs.

    Parameters
    ----------
    pred_sets, true_sets : sequence of set of int
        CCDNUMs per image, predicted and true, in the same image order.

    Returns
    -------
    dict
        As :func:`precision_recall_f1`.

    Examples
    --------
    >>> ccd_level_scores([{1, 2}], [{2, 3}])["f1"]
    0.5
    """
    tp = sum(len(p & t) for p, t in zip(pred_sets, true_sets))
    fp = sum(len(p - t) for p, t in zip(pred_sets, true_sets))
    fn = sum(len(t - p) for p, t in zip(pred_sets, true_sets))
    return precision_recall_f1(tp, fp, fn)
