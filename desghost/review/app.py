"""The review web page (``desghost review``): a person confirms or overrules each detection of a night.

A Flask application over a night's output folder and its catalog.  It serves the overlays
with review controls, writes each decision to the catalog at once (one transaction, never
overwriting an earlier decision) and shows it on reload.  It binds to the loopback interface
only, answers only requests addressed to it by a loopback name (``TRUSTED_HOSTS``, against
DNS rebinding), accepts a write only with the page's own token (against cross-site requests)
and only when it was started with an analyst's name, and validates every request against the
night: an unknown EXPNUM, instance or CCD is a 400 with a message, and nothing is written.
Every name and comment it shows is escaped (Jinja2 autoescape).
"""
import secrets
from pathlib import Path

from flask import Flask, Response, abort, redirect, render_template, request, send_file, url_for
from PIL import Image

from desghost import __version__
from desghost.catalog.review import current_decisions, newest_decisions
from desghost.catalog.reviewed import reviewed_list
from desghost.catalog.store import Catalog
from desghost.classes import CLASS_ORDER
from desghost.errors import UsageError
from desghost.layout import load_layout
from desghost.products.overlay import SCALE, TITLE_H_PX
from desghost.report.night_data import collect_night
from desghost.review.checks import check_against_night, parse_ccdnums
from desghost.review.queue import review_queue

__all__ = ["check_loopback", "create_app", "LOOPBACK_HOSTS", "ReviewNight"]


#: The names the page may be bound to and reached by (Flask's TRUSTED_HOSTS, against DNS rebinding).
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def check_loopback(host):
    """Refuse to serve on anything but the loopback interface.

    Raises
    ------
    UsageError
        ``host`` is not one of :data:`LOOPBACK_HOSTS` (exit code 2).
    """
    if host not in LOOPBACK_HOSTS:
        raise UsageError(f"--host {host}: refused; the review page serves only the loopback interface "
                         f"({', '.join(LOOPBACK_HOSTS)}): reach it from elsewhere through an SSH tunnel")


class ReviewNight:
    """A night under review: its exposures (read once) and its catalog (read at every request).

    Parameters
    ----------
    outdir : str or Path
        The night's output folder.
    catalog_path : str or Path, optional
        Default ``OUTDIR/desghost_catalog.sqlite``.
    layout : CameraLayout, optional

    Raises
    ------
    UsageError
        No such folder, no catalog, or no exposure in the folder (exit code 2).
    """

    def __init__(self, outdir, catalog_path=None, layout=None):
        self.outdir = Path(outdir)
        if not self.outdir.is_dir():
            raise UsageError("no such output folder", path=self.outdir)
        self.catalog_path = Path(catalog_path) if catalog_path else self.outdir / "desghost_catalog.sqlite"
        if not self.catalog_path.exists():
            raise UsageError("no catalog: review needs the night's catalog (give --catalog)", path=self.catalog_path)
        self.layout = layout or load_layout()
        self.exposures = {e.expnum: e for e in collect_night(self.outdir, self.catalog_path).exposures}
        if not self.exposures:
            raise UsageError("no exposure to review in this folder (no D*_desghost_exclude.fits)", path=self.outdir)

    def decisions(self, expnum=None, with_stale=False):
        """The catalog's decisions (of one exposure), without those on instances of an earlier run
        (:func:`desghost.catalog.review.current_decisions`); ``with_stale``: ``(current, stale)``."""
        with Catalog(self.catalog_path, readonly=True) as cat:
            runs = {r["expnum"]: r["processed_at"] for r in cat.query(
                "SELECT expnum, processed_at FROM exposures WHERE source='desghost'")}
            current, stale = current_decisions(cat.decisions(expnum), runs)
        return (current, stale) if with_stale else current

    def queue(self):
        """The review queue (:func:`desghost.review.queue.review_queue`) as the catalog stands now.

        An exposure counts as reviewed when a person decided about it as a whole (clean, right,
        or an artifact added) or about every one of its instances.
        """
        newest = newest_decisions(self.decisions())
        whole = {e for (e, kind, _) in newest if kind == "exposure"}
        decided = {(e, t) for (e, kind, t) in newest if kind == "instance"}
        reviewed = {e.expnum for e in self.exposures.values()
                    if e.expnum in whole or (e.instances and all((e.expnum, str(i["id"])) in decided
                                                                  for i in e.instances))}
        return review_queue(self.exposures.values(), reviewed)

    def record(self, decisions):
        """Check every decision against the night, then write them all in one transaction.

        Raises
        ------
        ValueError
            The first refused decision; nothing is written.
        """
        checked = [check_against_night(d, self.exposures, self.layout) for d in decisions]
        with Catalog(self.catalog_path) as cat:
            return cat.record_decisions(checked)

    def reviewed_rows(self, expnum):
        """The exposure's rows of the reviewed exclusion list (:func:`desghost.catalog.reviewed.reviewed_list`)."""
        with Catalog(self.catalog_path, readonly=True) as cat:
            model_rows = cat.query("SELECT * FROM excluded_ccds WHERE source='desghost' AND category='ghost-scatter'"
                                   " AND expnum=?", (expnum,))
            return reviewed_list(cat, model_rows, (expnum, expnum))

    def ccd_boxes(self):
        """Each CCD's box on the focal-plane image, for the clickable map: list of dict."""
        return [{"ccdnum": c, "detpos": g.detpos, "x": g.box_px[0], "y": g.box_px[1],
                 "w": g.box_px[2] - g.box_px[0], "h": g.box_px[3] - g.box_px[1]}
                for c, g in sorted(self.layout.ccds.items())]

    def overlay_frame(self, entry):
        """Where the outlined focal-plane image sits in the overlay PNG, in percent of its size."""
        with Image.open(entry.products["overlay"]) as img:
            width, height = img.size
        h, w = self.layout.image_shape_px
        return {"left": 0.0, "top": 100.0 * TITLE_H_PX / height, "width": 100.0 * w * SCALE / width,
                "height": 100.0 * h * SCALE / height, "image_w": w, "image_h": h}


def create_app(night, analyst=""):
    """The Flask application of a review session.

    Parameters
    ----------
    night : ReviewNight
    analyst : str
        Who decides; empty: the page is read-only (every write is refused with 403).

    Returns
    -------
    flask.Flask
    """
    app = Flask("desghost.review")
    app.jinja_env.autoescape = True
    app.config.update(TRUSTED_HOSTS=["127.0.0.1", "localhost", "::1", "[::1]"], MAX_CONTENT_LENGTH=1 << 20)
    token = secrets.token_urlsafe(24)
    analyst = str(analyst or "").strip()
    common = {"analyst": analyst, "token": token, "version": __version__, "classes": CLASS_ORDER}

    @app.get("/")
    def queue_page():
        queue = night.queue()
        return render_template("queue.html.j2", queue=queue, exposures=night.exposures, left=_left(queue),
                               outdir=str(night.outdir), **common)

    @app.get("/exposure/<int:expnum>")
    def exposure_page(expnum):
        if expnum not in night.exposures:
            abort(404)
        return render_template("exposure.html.j2", **_exposure_context(night, expnum), **common)

    @app.get("/overlay/<int:expnum>.png")
    def overlay(expnum):
        entry = night.exposures.get(expnum)
        if entry is None or "overlay" not in entry.products:
            abort(404)
        return send_file(entry.products["overlay"], mimetype="image/png")

    @app.post("/decide")
    def decide():
        return _decide(night, analyst, token)

    @app.post("/bulk-clean")
    def bulk_clean():
        return _bulk_clean(night, analyst, token)

    @app.after_request
    def no_framing(response):
        """Never inside another site's frame (clickjacking)."""
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
        return response

    return app


def _decide(night, analyst, token):
    """``POST /decide``: one decision from the page's form, then back to the exposure."""
    problem = _write_refusal(analyst, token)
    if problem:
        return _refuse(403, problem)
    try:
        decision = _form_decision(request.form, analyst)
        night.record([decision])
    except ValueError as exc:
        return _refuse(400, str(exc))
    return redirect(url_for("exposure_page", expnum=decision["expnum"]), code=303)


def _bulk_clean(night, analyst, token):
    """``POST /bulk-clean``: the ticked exposures without instances confirmed as they are, together."""
    problem = _write_refusal(analyst, token)
    if problem:
        return _refuse(403, problem)
    try:
        expnums = [int(e) for e in request.form.getlist("expnum")]
    except ValueError:
        return _refuse(400, "EXPNUMs must be whole numbers")
    if not expnums:
        return _refuse(400, "no exposure was ticked")
    busy = [e for e in expnums if e in night.exposures and night.exposures[e].instances]
    if busy:
        return _refuse(400, f"EXPNUM {busy[0]} has instances: review it on its own page")
    try:
        night.record([{"expnum": e, "target_kind": "exposure", "target": "", "decision": "confirm",
                       "analyst": analyst, "comment": "bulk: no artifact"} for e in expnums])
    except ValueError as exc:
        return _refuse(400, str(exc))
    return redirect(url_for("queue_page"), code=303)


def _refuse(status, message):
    """A plain-text error answer (never rendered as HTML) saying that nothing was written."""
    return Response(f"desghost review: {message}; nothing was written\n", status=status, mimetype="text/plain")


def _write_refusal(analyst, token):
    """Why a write must be refused (no analyst, a foreign or stale page), or ""."""
    if not analyst:
        return "no analyst name: this page is read-only (start it with desghost review OUTDIR --analyst NAME)"
    if not secrets.compare_digest(request.form.get("token", "").encode(), token.encode()):
        return "the request does not come from this review page (reload the page)"
    return ""


def _form_decision(form, analyst):
    """A decision dict from the page's form fields (raises ValueError for malformed fields)."""
    expnum = form.get("expnum", "")
    if not expnum.isdigit():
        raise ValueError(f"EXPNUM {expnum!r} is not a whole number")
    decision = form.get("decision", "")
    return {"expnum": int(expnum), "target_kind": form.get("target_kind", ""), "target": form.get("target", "").strip(),
            "decision": decision, "analyst": analyst,
            "artifact_class": form.get("class", "") if decision == "missed" else "",
            "ccdnums": parse_ccdnums(form.get("ccdnums", "")) if decision == "missed" else (),
            "comment": form.get("comment", "").strip()}


def _left(queue):
    return sum(not q.reviewed for q in queue)


def _exposure_context(night, expnum):
    """What the exposure page shows: the entry, each instance's standing verdict, the history."""
    entry = night.exposures[expnum]
    history, stale = night.decisions(expnum, with_stale=True)
    newest = newest_decisions(history)
    instances = [dict(i, verdict=newest.get((expnum, "instance", str(i["id"])))) for i in entry.instances]
    queue = night.queue()
    order = [q.expnum for q in queue]
    k = order.index(expnum)
    waiting = [q.expnum for q in queue[k + 1:] + queue[:k] if not q.reviewed]
    rows = night.reviewed_rows(expnum)
    return {"e": entry, "instances": instances, "exposure_verdict": newest.get((expnum, "exposure", "")),
            "history": list(reversed(history)), "stale": stale, "position": k + 1, "total": len(order), "left": _left(queue),
            "previous": order[k - 1] if k > 0 else None, "next": waiting[0] if waiting else None,
            "reviewed_rows": rows, "ccds": night.ccd_boxes(),
            "frame": night.overlay_frame(entry) if "overlay" in entry.products else None}
