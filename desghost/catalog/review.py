"""Review decisions: what an operator said about the model's detections, and the newest-wins rule.

An operator confirms or overrules each detection (the DES Exposure Checker's way, Melchior et
al. 2016; DESDM's evaluation tables keep an analyst per row and let the newest evaluation win).
Decisions are never overwritten: the catalog keeps every one, and the newest per target counts.

A decision's target is an instance of the exposure (its ``instance_id``), one CCD (its CCDNUM),
or the whole exposure.  ``confirm`` marks the model's rows as checked, ``reject`` says it is not
an artifact (a rejected exposure is clean), ``missed`` adds an artifact the model did not find,
with its class and either a polygon in focal-plane pixels or a list of CCDNUMs.  Pure
computation; :class:`desghost.catalog.store.Catalog` stores the decisions.
"""
import json
from dataclasses import dataclass

from desghost.classes import CLASS_ORDER

__all__ = ["DECISIONS", "Decision", "TARGET_KINDS", "check_decision", "newest_decisions"]

#: What a decision can say.
DECISIONS = ("confirm", "reject", "missed")
#: What a decision can be about.
TARGET_KINDS = ("instance", "ccd", "exposure")


@dataclass(frozen=True)
class Decision:
    """One review decision, as the catalog stores it.

    Attributes
    ----------
    expnum : int
    target_kind : str
        ``instance``, ``ccd`` or ``exposure``.
    target : str
        The instance id or the CCDNUM as text; empty for the exposure, and for each ``missed``
        decision its own number (several missed artifacts on one exposure are separate targets).
    decision : str
        ``confirm``, ``reject`` or ``missed``.
    analyst : str
        Who decided (never empty).
    decided_at : str
        UTC, ISO 8601.
    artifact_class : str
        Bright, Faint or Rays for ``missed``; empty otherwise.
    polygon_px : tuple of (float, float)
        The missed artifact's outline, (x, y) focal-plane image pixels; empty when given as CCDs.
    ccdnums : tuple of int
        The missed artifact's CCDs.
    comment : str
    decision_id : int
        The catalog's row number (orders decisions made in the same second).
    """

    expnum: int
    target_kind: str
    target: str
    decision: str
    analyst: str
    decided_at: str
    artifact_class: str = ""
    polygon_px: tuple = ()
    ccdnums: tuple = ()
    comment: str = ""
    decision_id: int = 0

    @classmethod
    def from_row(cls, row):
        """From a ``decisions`` catalog row (``class``, ``polygon_px`` as JSON, ``ccdnums`` comma-separated)."""
        polygon = tuple(tuple(p) for p in json.loads(row["polygon_px"])) if row["polygon_px"] else ()
        ccds = tuple(int(c) for c in str(row["ccdnums"] or "").split(",") if c.strip())
        return cls(int(row["expnum"]), row["target_kind"], str(row["target"]), row["decision"], row["analyst"],
                   row["decided_at"], row["class"] or "", polygon, ccds, row["comment"] or "", int(row["id"]))


def check_decision(target_kind, target, decision, analyst, artifact_class="", polygon_px=(), ccdnums=()):
    """Refuse a decision the catalog must not hold; returns nothing when it is sound.

    Raises
    ------
    ValueError
        An empty analyst name, an unknown decision or target kind, a ``missed`` without a class
        or without a polygon (at least 3 points) or CCDs, or class and geometry on another decision.
    """
    if not str(analyst or "").strip():
        raise ValueError("a decision needs the analyst's name")
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
    if target_kind not in TARGET_KINDS:
        raise ValueError(f"target must be one of {', '.join(TARGET_KINDS)}, got {target_kind!r}")
    if target_kind != "exposure" and not str(target).strip():
        raise ValueError(f"a decision on a {target_kind} names it")
    if decision == "missed":
        if artifact_class not in CLASS_ORDER:
            raise ValueError(f"a missed artifact needs its class ({', '.join(CLASS_ORDER)}), got {artifact_class!r}")
        if len(polygon_px) < 3 and not ccdnums:
            raise ValueError("a missed artifact needs a polygon of at least 3 points or a list of CCDNUMs")
    elif artifact_class or polygon_px or ccdnums:
        raise ValueError(f"only a missed artifact has a class, a polygon or CCDs (this is a {decision})")


def newest_decisions(decisions):
    """The decision that counts for each target: the newest (latest ``decided_at``, then the latest row).

    Parameters
    ----------
    decisions : iterable of Decision
        Any number per target, in any order.

    Returns
    -------
    dict
        ``{(expnum, target_kind, target): Decision}``.

    Examples
    --------
    >>> a = Decision(1, "instance", "0", "reject", "ann", "2026-12-01T01:00:00+00:00", decision_id=1)
    >>> b = Decision(1, "instance", "0", "confirm", "bob", "2026-12-01T02:00:00+00:00", decision_id=2)
    >>> newest_decisions([b, a])[(1, "instance", "0")].decision
    'confirm'
    """
    out = {}
    for d in decisions:
        key = (d.expnum, d.target_kind, d.target)
        if key not in out or (d.decided_at, d.decision_id) > (out[key].decided_at, out[key].decision_id):
            out[key] = d
    return out
