"""The order in which a night's exposures are offered for review: the least certain first.

Pure computation on the report's :class:`~desghost.report.night_data.ExposureEntry` records.
"""
from dataclasses import dataclass

__all__ = ["DEFAULT_THRESHOLD", "QueueItem", "review_queue"]

#: Score threshold assumed for an exposure whose exclusion table does not record one (DGTHRESH).
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class QueueItem:
    """One exposure in the review queue.

    Attributes
    ----------
    expnum : int
    margin : float or None
        Smallest distance of an instance's score from the exposure's threshold (None: no instance).
    n_classes : int
        Number of different classes among its instances (more than one: the instances disagree
        about what the artifact is).
    reviewed : bool
        A person has made at least one decision on it.
    """

    expnum: int
    margin: float | None
    n_classes: int
    reviewed: bool

    @property
    def empty(self):
        """The model found nothing here (reviewable in bulk)."""
        return self.margin is None


def review_queue(exposures, reviewed_expnums):
    """The night's exposures in review order.

    The rule: exposures nobody has reviewed come first; among them those with instances, the
    least certain first: the smallest margin between an instance's score and the threshold,
    then the most classes among the instances, then EXPNUM; exposures without instances come
    after them (they are reviewed in bulk), and reviewed exposures last, in the same order.

    Parameters
    ----------
    exposures : iterable of ExposureEntry
        Each with ``expnum``, ``instances`` (dicts with ``score`` and ``class``) and
        ``provenance`` (``DGTHRESH``, the threshold the instances were cut at).
    reviewed_expnums : set of int

    Returns
    -------
    list of QueueItem

    Examples
    --------
    >>> from types import SimpleNamespace as E
    >>> night = [E(expnum=1, instances=[{"score": 0.95, "class": "Bright"}], provenance={"DGTHRESH": 0.5}),
    ...          E(expnum=2, instances=[{"score": 0.52, "class": "Faint"}], provenance={"DGTHRESH": 0.5}),
    ...          E(expnum=3, instances=[], provenance={})]
    >>> [q.expnum for q in review_queue(night, set())]
    [2, 1, 3]
    >>> [q.expnum for q in review_queue(night, {2})]
    [1, 3, 2]
    """
    items = []
    for e in exposures:
        threshold = float(e.provenance.get("DGTHRESH", DEFAULT_THRESHOLD))
        scores = [float(i["score"]) for i in e.instances]
        margin = min(abs(s - threshold) for s in scores) if scores else None
        items.append(QueueItem(e.expnum, margin, len({i["class"] for i in e.instances}), e.expnum in reviewed_expnums))
    return sorted(items, key=lambda q: (q.reviewed, q.empty, q.margin or 0.0, -q.n_classes, q.expnum))
