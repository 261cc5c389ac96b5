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
import math
from dataclasses import dataclass, replace

from desghost.classes import CLASS_ORDER
from desghost.products.exclusion_rule import MODEL_REASON, CCDExclusion, model_analyst

__all__ = ["current_decisions", "DECISIONS", "Decision", "is_clean", "overruled_by_clean", "REVIEWED_REASON", "ReviewedRow", "TARGET_KINDS",
           "check_decision", "newest_decisions", "reviewed_exclusions"]

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
    run_at : str
        ``processed_at`` of the exposure's run the decision was made on ("" when unknown): a
        decision on an instance refers to that run's instance numbers.
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
    run_at: str = ""

    @classmethod
    def from_row(cls, row):
        """From a ``decisions`` catalog row (``class``, ``polygon_px`` as JSON, ``ccdnums`` comma-separated)."""
        polygon = tuple(tuple(p) for p in json.loads(row["polygon_px"])) if row["polygon_px"] else ()
        ccds = tuple(int(c) for c in str(row["ccdnums"] or "").split(",") if c.strip())
        return cls(int(row["expnum"]), row["target_kind"], str(row["target"]), row["decision"], row["analyst"],
                   row["decided_at"], row["class"] or "", polygon, ccds, row["comment"] or "", int(row["id"]),
                   str(row.get("run_at") or ""))


def check_decision(target_kind, target, decision, analyst, artifact_class="", polygon_px=(), ccdnums=()):
    """Refuse a decision the catalog must not hold; returns nothing when it is sound.

    Raises
    ------
    ValueError
        An empty analyst name, an unknown decision or target kind, a ``missed`` without a class
        or without a polygon or CCDs, a polygon of fewer than 3 points or with non-finite
        coordinates, or class and geometry on another decision.
    """
    if not str(analyst or "").strip():
        raise ValueError("a decision needs the analyst's name")
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
    if target_kind not in TARGET_KINDS:
        raise ValueError(f"target must be one of {', '.join(TARGET_KINDS)}, got {target_kind!r}")
    if target_kind != "exposure" and not str(target).strip():
        raise ValueError(f"a decision on a {target_kind} names it")
    if polygon_px and (len(polygon_px) < 3 or not all(math.isfinite(float(v)) for p in polygon_px for v in p)):
        raise ValueError("a polygon needs at least 3 points with finite coordinates")
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


def current_decisions(decisions, runs):
    """The decisions that still apply: those on instances made on an earlier run of the exposure are
    dropped (a re-run numbers its instances afresh); decisions on CCDs and whole exposures are
    about the sky and stay.

    Parameters
    ----------
    decisions : iterable of Decision
    runs : dict
        ``{expnum: processed_at}`` of the exposures' current runs.

    Returns
    -------
    (list of Decision, list of Decision)
        The current decisions, and the stale ones.

    Examples
    --------
    >>> old = Decision(1, "instance", "0", "reject", "ann", "t1", run_at="run1")
    >>> clean = Decision(1, "exposure", "", "reject", "ann", "t2", run_at="run1")
    >>> [[d.target_kind for d in part] for part in current_decisions([old, clean], {1: "run2"})]
    [['exposure'], ['instance']]
    """
    current, stale = [], []
    for d in decisions:
        now = runs.get(d.expnum)
        (stale if d.target_kind == "instance" and d.run_at and now and d.run_at != now else current).append(d)
    return current, stale


def is_clean(exposure_verdict):
    """Whether the exposure's standing whole-exposure decision marks it clean (a ``reject``)."""
    return exposure_verdict is not None and exposure_verdict.decision == "reject"


def overruled_by_clean(decision, exposure_verdict):
    """Whether marking the exposure clean overrules ``decision``: it was made before the clean mark.

    Parameters
    ----------
    decision : Decision or None
    exposure_verdict : Decision or None
        The exposure's standing whole-exposure decision.

    Returns
    -------
    bool
        False for no decision, or when the exposure is not marked clean.
    """
    return (decision is not None and is_clean(exposure_verdict)
            and (decision.decided_at, decision.decision_id) < (exposure_verdict.decided_at,
                                                               exposure_verdict.decision_id))


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

    The rule, per exposure: marking the exposure clean (rejecting it as a whole) overrules every
    decision made before it and the model's rows nobody confirmed after it; a CCD rejected, or
    covered only by rejected instances, is dropped; a ``missed`` decision adds its CCDs.  A kept
    model row is reviewed (ANALYST the person) when the CCD, an instance on it that was not
    rejected, or the whole exposure was confirmed.  :func:`overruled_by_clean` is the clean rule,
    shared with the VIA export.

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
        ccd = said(r.expnum, "ccd", r.ccdnum)
        ccd = None if overruled_by_clean(ccd, clean) else ccd
        covering = [i for (e, i), ccds in instance_ccds.items() if e == r.expnum and r.ccdnum in ccds]
        verdicts = [said(r.expnum, "instance", i) for i in covering]
        if is_clean(clean):   # only what a person confirmed after marking it clean stands
            confirmed_later = (ccd is not None and ccd.decision == "confirm") or any(
                v is not None and v.decision == "confirm" and not overruled_by_clean(v, clean) for v in verdicts)
            if not confirmed_later:
                continue
        verdicts = [None if overruled_by_clean(v, clean) else v for v in verdicts]
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
        if d.decision != "missed" or overruled_by_clean(d, said(d.expnum, "exposure", "")):
            continue
        ccds = set(d.ccdnums) | (ccds_of_polygon(d.expnum, d.polygon_px) if d.polygon_px else set())
        for c in sorted(ccds):
            known = rows.get((d.expnum, c))
            base = known.exclusion if known is not None else CCDExclusion(
                d.expnum, c, "nan", REVIEWED_REASON, d.analyst, d.artifact_class, float("nan"), float("nan"),
                model_analyst(model_id), "", "", "")
            rows[(d.expnum, c)] = ReviewedRow(replace(base, analyst=d.analyst), d)
    return [rows[k] for k in sorted(rows)]

