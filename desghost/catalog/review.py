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
from dataclasses import dataclass, replace

from desghost.classes import CLASS_ORDER
from desghost.products.exclusion_rule import MODEL_REASON, CCDExclusion, model_analyst

__all__ = ["DECISIONS", "Decision", "REVIEWED_REASON", "ReviewedRow", "TARGET_KINDS", "check_decision",
           "newest_decisions", "reviewed_exclusions"]

#: REASON of every row of a reviewed list: the model's own (DELVE's ``ghost-scatter`` category).
REVIEWED_REASON = MODEL_REASON

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


@dataclass(frozen=True)
class ReviewedRow:
    """One row of a reviewed exclusion list: the excluded CCD and the decision behind it.

    Attributes
    ----------
    exclusion : CCDExclusion
        ANALYST is the person who confirmed or added the row, else ``desghost-<model id>``.
    decision : Decision or None
        The decision that confirmed or added it; None for a model row nobody reviewed.
    """

    exclusion: CCDExclusion
    decision: Decision | None = None

    @property
    def reviewed(self):
        return self.decision is not None


def reviewed_exclusions(model_rows, instance_ccds, decisions, model_id, ccds_of_polygon=None):
    """The reviewed exclusion list: the model's rows as the operators' newest decisions leave them.

    The rule, per exposure: an exposure rejected as a whole (marked clean) keeps none of the
    model's rows; a CCD rejected, or covered only by rejected instances, is dropped; a ``missed``
    decision adds its CCDs.  A kept model row is reviewed (ANALYST the person) when the CCD, an
    instance on it that was not rejected, or the whole exposure was confirmed.

    Parameters
    ----------
    model_rows : list of CCDExclusion
        The model's excluded CCDs.
    instance_ccds : dict
        ``{(expnum, instance_id): set of CCDNUM}``: the CCDs each of the model's instances covers.
    decisions : iterable of Decision
        Every decision on these exposures (the newest per target counts).
    model_id : str
        The model's name, for the ANALYST of rows nobody reviewed (``desghost-<model id>``).
    ccds_of_polygon : callable, optional
        ``ccds_of_polygon(expnum, polygon_px) -> set of CCDNUM``: the coverage rule applied to a
        missed artifact drawn as a polygon (needed only when there is one).

    Returns
    -------
    list of ReviewedRow
        In (EXPNUM, CCDNUM) order, one row per CCD (a CCD both kept and added appears once, as
        the person's).
    """
    newest = newest_decisions(decisions)

    def said(expnum, kind, target):
        return newest.get((expnum, kind, str(target)))

    rows = {}
    for r in model_rows:
        clean = said(r.expnum, "exposure", "")
        if clean is not None and clean.decision == "reject":
            continue
        ccd = said(r.expnum, "ccd", r.ccdnum)
        covering = [i for (e, i), ccds in instance_ccds.items() if e == r.expnum and r.ccdnum in ccds]
        verdicts = [said(r.expnum, "instance", i) for i in covering]
        standing = [v for v in verdicts if v is None or v.decision != "reject"]
        if (ccd is not None and ccd.decision == "reject") or (covering and not standing):
            continue
        confirmed = [v for v in standing if v is not None and v.decision == "confirm"]
        by = (ccd if ccd is not None and ccd.decision == "confirm" else
              max(confirmed, key=lambda v: (v.decided_at, v.decision_id)) if confirmed else
              clean if clean is not None and clean.decision == "confirm" else None)
        analyst = by.analyst if by is not None else model_analyst(model_id)
        rows[(r.expnum, r.ccdnum)] = ReviewedRow(replace(r, reason=REVIEWED_REASON, analyst=analyst), by)
    for d in newest.values():
        if d.decision != "missed":
            continue
        ccds = set(d.ccdnums) | (ccds_of_polygon(d.expnum, d.polygon_px) if d.polygon_px else set())
        for c in sorted(ccds):
            known = rows.get((d.expnum, c))
            base = known.exclusion if known is not None else CCDExclusion(
                d.expnum, c, "nan", REVIEWED_REASON, d.analyst, d.artifact_class, float("nan"), float("nan"),
                model_analyst(model_id), "", "", "")
            rows[(d.expnum, c)] = ReviewedRow(replace(base, analyst=d.analyst), d)
    return [rows[k] for k in sorted(rows)]

