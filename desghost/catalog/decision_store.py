"""The catalog's review decisions: written all-or-nothing, never overwritten, read oldest first.

A mixin of :class:`desghost.catalog.store.Catalog` (it uses the catalog's connection and
transactions), kept apart so that the store holds the exposures' rows and this module the
people's decisions about them (:mod:`desghost.catalog.review` holds the rules).
"""
import json
from datetime import datetime, timezone

from desghost.catalog.review import Decision, check_decision

__all__ = ["DecisionStore", "now_utc"]


def now_utc():
    """The time now, UTC, ISO 8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class DecisionStore:
    """Review decisions in a catalog (needs ``self.conn``, ``self.transaction()`` and ``self.query``)."""

    def record_decision(self, expnum, target_kind, target, decision, analyst, artifact_class="", polygon_px=(),
                        ccdnums=(), comment="", source="desghost"):
        """Add one review decision (never overwriting an earlier one), in its own transaction.

        Parameters
        ----------
        expnum : int
        target_kind, target, decision, analyst, artifact_class, polygon_px, ccdnums, comment
            As :class:`desghost.catalog.review.Decision`; a ``missed`` decision's target is
            numbered here (``missed-<k>``) when given empty.

        Returns
        -------
        Decision
            As stored, with its row number and UTC time.

        Raises
        ------
        ValueError
            A decision :func:`desghost.catalog.review.check_decision` refuses (nothing is written).
        CatalogError
            The catalog cannot be written (exit code 13).
        """
        return self.record_decisions([dict(expnum=expnum, target_kind=target_kind, target=target, decision=decision,
                                           analyst=analyst, artifact_class=artifact_class, polygon_px=polygon_px,
                                           ccdnums=ccdnums, comment=comment)], source)[0]

    def record_decisions(self, decisions, source="desghost"):
        """Add several review decisions all-or-nothing: every one is checked first, then all go in
        one transaction.

        Parameters
        ----------
        decisions : list of dict
            Keyword arguments of :meth:`record_decision` (``expnum``, ``target_kind``, ``target``,
            ``decision``, ``analyst``, optional ``artifact_class``, ``polygon_px``, ``ccdnums``, ``comment``).

        Returns
        -------
        list of Decision

        Raises
        ------
        ValueError
            The first decision :func:`~desghost.catalog.review.check_decision` refuses, as
            ``"decision <k>: <reason>"`` (k from 1); nothing is written.
        CatalogError
            The catalog cannot be written (exit code 13); nothing is written.
        """
        items = [{"target": "", "artifact_class": "", "polygon_px": (), "ccdnums": (), "comment": "", **d}
                 for d in decisions]
        for k, d in enumerate(items, 1):
            try:
                check_decision(d["target_kind"], d["target"], d["decision"], d["analyst"], d["artifact_class"],
                               d["polygon_px"], d["ccdnums"])
            except ValueError as exc:
                raise ValueError(f"decision {k}: {exc}" if len(items) > 1 else str(exc)) from None
        stored = []
        with self.transaction():
            for d in items:
                stored.append(self._insert_decision(d, source))
        return stored

    def _insert_decision(self, d, source):
        target = d["target"]
        if d["decision"] == "missed" and not str(target).strip():
            n = self.conn.execute("SELECT COUNT(*) FROM decisions WHERE source=? AND expnum=? AND decision='missed'",
                                  (source, int(d["expnum"]))).fetchone()[0]
            target = f"missed-{n}"
        run = self.conn.execute("SELECT processed_at FROM exposures WHERE source=? AND expnum=?",
                                (source, int(d["expnum"]))).fetchone()
        cur = self.conn.execute(
            "INSERT INTO decisions (source, expnum, target_kind, target, decision, class, polygon_px, ccdnums,"
            " analyst, comment, decided_at, run_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (source, int(d["expnum"]), d["target_kind"], str(target), d["decision"], d["artifact_class"] or None,
             json.dumps([list(map(float, p)) for p in d["polygon_px"]]) if d["polygon_px"] else None,
             ",".join(str(int(c)) for c in d["ccdnums"]) or None, str(d["analyst"]).strip(), d["comment"] or None,
             now_utc(), run[0] if run else None))
        cur = self.conn.execute("SELECT * FROM decisions WHERE id=?", (cur.lastrowid,))
        cols = [c[0] for c in cur.description]
        return Decision.from_row(dict(zip(cols, cur.fetchone())))

    def decisions(self, expnum=None, source="desghost"):
        """Every review decision (of one exposure when ``expnum`` is given), oldest first: a list of Decision."""
        sql = "SELECT * FROM decisions WHERE source=?" + (" AND expnum=?" if expnum is not None else "")
        rows = self.query(sql + " ORDER BY decided_at, id", (source,) + ((int(expnum),) if expnum is not None else ()))
        return [Decision.from_row(r) for r in rows]
