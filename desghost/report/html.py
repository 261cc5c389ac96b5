"""Write a night's HTML report: ``index.html``, one page per exposure, thumbnails and figures.

The report reads from the local disk only (no script, font or style from the network) and
reads the same without JavaScript (a few lines sort the exposure table).  It is built in a
hidden temporary folder and renamed into place, so a re-run replaces it whole and a failed
run leaves the previous report as it was.
"""
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import fitsio
import numpy as np
from jinja2 import Environment, PackageLoader
from PIL import Image

from desghost import __version__
from desghost.atomic import current_umask, folder_lock, private_folder, remove_stale_parts
from desghost.classes import CLASS_ORDER
from desghost.errors import UsageError
from desghost.layout import load_layout
from desghost.products.label_layout import instance_number
from desghost.products.overlay import TITLE_H_PX
from desghost.reading.fitsfile import cfitsio_name
from desghost.report.figures import exclusion_map, masked_sky, score_histogram
from desghost.report.night_data import collect_night

__all__ = ["check_report_target", "find_healpix_map", "night_title", "PRODUCT_LABELS", "REPORT_ENTRIES",
           "REPORT_MARKER", "THUMB_WIDTH_PX", "write_report"]

#: Width of the overlay thumbnails in the exposure table.
THUMB_WIDTH_PX = 160
PRODUCT_LABELS = {"mask": "mask FITS (per-CCD bit masks)", "exclusion_fits": "exclusion table (FITS)",
                  "exclusion_txt": "exclusion list (ray-tracing text format)",
                  "regions": "region table (decasu's quads)", "overlay": "overlay PNG"}
#: File that marks a folder as a desghost report (a report folder is replaced only when it has it).
REPORT_MARKER = ".desghost-report"
#: What a report folder holds (an earlier report written before the marker existed is recognised by it).
REPORT_ENTRIES = {"index.html", "exposures", "thumbs", "figures", REPORT_MARKER}


def find_healpix_map(outdir):
    """A HEALPix map file in ``outdir`` (its HDU 1 has PIXTYPE = HEALPIX), or None."""
    for path in sorted(Path(outdir).glob("*.fits")):
        if path.name.startswith("D") and "_desghost_" in path.name:
            continue
        try:
            with cfitsio_name(path) as name:
                header = fitsio.read_header(name, ext=1)
        except (OSError, ValueError):
            continue
        if str(header.get("PIXTYPE", "")).strip().upper() == "HEALPIX":
            return path
    return None


def _thumbnail(overlay, path):
    """A thumbnail of the overlay's outlined image (its left square, below the title line)."""
    with Image.open(overlay) as img:
        side = min(img.height - TITLE_H_PX, img.width)
        thumb = img.crop((0, TITLE_H_PX, side, TITLE_H_PX + side))
        thumb.thumbnail((THUMB_WIDTH_PX, THUMB_WIDTH_PX * 2))
        thumb.save(path, format="PNG")
        return thumb.size


def _figures(data, tmp, layout, healpix_path):
    figdir = tmp / "figures"
    figdir.mkdir()
    figures = []
    n = len(data.exposures)
    exclusion_map(figdir / "exclusions.png", layout, data.excluded_fraction_by_ccd(layout.ccdnums), n)
    figures.append({"src": "figures/exclusions.png", "alt": "map of CCD exclusions",
                    "caption": f"How often each CCD was excluded in the night's {n} exposures, with CCD numbers "
                               "(the focal plane as in the overlays)."})
    score_histogram(figdir / "scores.png", data.scores_by_class(), data.thresholds)
    figures.append({"src": "figures/scores.png", "alt": "histogram of instance scores",
                    "caption": "Scores of the night's instances by class; the dashed line is the score threshold "
                               "(instances below it are not kept, so the histogram starts there)."})
    if healpix_path is not None:
        import healpy as hp

        masked_sky(figdir / "sky.png", hp.read_map(str(healpix_path), dtype=np.float64))
        figures.append({"src": "figures/sky.png", "alt": "masked sky area",
                        "caption": f"Masked sky area from {Path(healpix_path).name}."})
    return figures


def _exposure_rows(data, tmp, report_dir):
    thumbs = tmp / "thumbs"
    thumbs.mkdir()
    pages = tmp / "exposures"
    pages.mkdir()
    rows = []
    for e in data.exposures:
        row = {"expnum": e.expnum, "band": e.band, "date_obs": e.date_obs, "nite": e.nite, "input": e.input,
               "seconds": e.seconds, "instances": [dict(i, number=instance_number(i["id"])) for i in e.instances],
               "excluded": e.excluded, "page": f"exposures/{e.expnum}.html",
               "counts": {c: e.count(c) for c in CLASS_ORDER}, "best": {c: e.best_score(c) for c in CLASS_ORDER},
               "provenance": e.provenance, "warnings": e.warnings, "review": e.review, "thumb": None, "overlay": None}
        if "overlay" in e.products:
            row["thumb_size"] = _thumbnail(e.products["overlay"], thumbs / f"{e.expnum}.png")
            row["thumb"] = f"thumbs/{e.expnum}.png"
            row["overlay"] = os.path.relpath(e.products["overlay"], report_dir / "exposures")
        row["links"] = [(PRODUCT_LABELS[k], os.path.relpath(p, report_dir / "exposures"))
                        for k, p in e.products.items()]
        rows.append(row)
    return rows


def night_title(nights, fallback):
    """What the report is of: ``night YYYYMMDD``, the range of several nights, else ``fallback``."""
    if not nights:
        return fallback
    if len(nights) == 1:
        return f"night {nights[0]}"
    return f"nights {nights[0]} to {nights[-1]} ({len(nights)} nights)"


def _night_totals(data, rows):
    """The night's output, whatever run wrote it: every exposure in the folder and its catalog rows."""
    total_s, n_timed = data.processing_seconds()
    excluded = [c for r in rows for c in r["excluded"]]
    return {"exposures": len(rows), "flagged": sum(bool(r["excluded"]) for r in rows), "failed": len(data.failures),
            "classes": {c: sum(r["counts"][c] for r in rows) for c in CLASS_ORDER},
            "instances": sum(len(r["instances"]) for r in rows), "excluded_ccds": len(excluded),
            "distinct_ccds": len(set(excluded)), "seconds": total_s if n_timed else None,
            "seconds_per_exposure": total_s / n_timed if n_timed else None}


def _last_run(data):
    """What the last run alone did (from the summary file), or None without one."""
    if not data.summary_found:
        return None
    return {"finished": data.run_finished, "done": data.n_done_run, "skipped": data.n_skipped,
            "failed": sum(not f.earlier_run for f in data.failures), "seconds": data.seconds,
            "per_minute": data.exposures_per_minute if data.n_done_run else None}


def _night_page(env, data, rows, figures, where, common):
    failures = [{"name": Path(f.input).name, "input": f.input, "reason": f.reason, "exit_code": f.exit_code,
                 "earlier_run": f.earlier_run} for f in data.failures]
    return env.get_template("night.html.j2").render(
        where=where, title=night_title(data.nights, Path(where).name or where), exposures=rows,
        failures=failures, figures=figures, classes=CLASS_ORDER, night=_night_totals(data, rows),
        last_run=_last_run(data), models=data.models, thresholds=data.thresholds,
        area_thresholds=data.area_thresholds, **common)


def write_report(outdir, catalog_path=None, report_dir=None, healpix_map=None, layout=None, display_name=None):
    """Write (or replace) the HTML report of a night's output folder.

    Parameters
    ----------
    outdir : str or Path
        The output folder of ``desghost night``, ``desghost run`` or the ceci stage.
    catalog_path : str or Path, optional
        Default ``OUTDIR/desghost_catalog.sqlite``.
    report_dir : str or Path, optional
        Default ``OUTDIR/report``.
    healpix_map : str or Path, optional
        A HEALPix map of masked area to show; default: one found in ``outdir``, if any.
    layout : CameraLayout, optional
    display_name : str, optional
        The name the report's text gives the output folder (default its absolute path): the
        ceci stage writes into a temporary folder that ceci renames to its final name.

    Returns
    -------
    str
        The path of the report's ``index.html``.

    Raises
    ------
    UsageError
        ``outdir`` is not a folder (exit code 2).
    """
    outdir = Path(outdir)
    if not outdir.is_dir():
        raise UsageError("no such output folder", path=outdir)
    report_dir = Path(report_dir) if report_dir else outdir / "report"
    where = str(display_name) if display_name else str(outdir.resolve())
    layout = layout or load_layout()
    env = Environment(loader=PackageLoader("desghost.report", "templates"), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    check_report_target(report_dir, outdir)
    report_dir.parent.mkdir(parents=True, exist_ok=True)
    with folder_lock(report_dir.parent):   # read to swap: a report of an older view never replaces a newer one
        data = collect_night(outdir, catalog_path)
        healpix_path = Path(healpix_map) if healpix_map else find_healpix_map(outdir)
        _write_report_folder(report_dir, outdir, data, healpix_path, env, where, layout)
    return str(report_dir / "index.html")


def _write_report_folder(report_dir, outdir, data, healpix_path, env, where, layout):
    """Render the report into a private folder and swap it in place of ``report_dir``."""
    tmp = private_folder(report_dir)
    try:
        figures = _figures(data, tmp, layout, healpix_path)
        rows = _exposure_rows(data, tmp, report_dir)
        common = {"version": __version__, "written": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        (tmp / "index.html").write_text(_night_page(env, data, rows, figures, where, common))
        template = env.get_template("exposure.html.j2")
        for row in rows:
            (tmp / row["page"]).write_text(template.render(e=row, **common))
        (tmp / REPORT_MARKER).write_text(f"desghost {__version__} report of {where}\n")
        tmp.chmod(0o777 & ~current_umask())
        check_report_target(report_dir, outdir)
        _swap_into_place(tmp, report_dir)
        remove_stale_parts(report_dir.parent, report_dir.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_report_target(report_dir, outdir):
    """Refuse a report folder whose replacement would remove anything but an earlier report.

    A report folder is replaced whole, so it must be absent, empty, or an earlier report
    (it holds only the entries a report writes, :data:`REPORT_ENTRIES`); and it may
    not be the output folder or a folder above it.

    Raises
    ------
    UsageError
        The target holds other files, is a link or a file, or contains ``outdir`` (exit code 2).
    """
    report_dir, outdir = Path(report_dir), Path(outdir)
    if report_dir.is_symlink():
        raise UsageError("the report folder is a symbolic link; give a real folder", path=report_dir)
    if not report_dir.exists():
        return
    if not report_dir.is_dir():
        raise UsageError("the report folder's name is taken by a file", path=report_dir)
    inside = outdir.resolve()
    if inside == report_dir.resolve() or report_dir.resolve() in inside.parents:
        raise UsageError("the report folder would hold the output folder it reports on; "
                         "give a folder of its own (default OUTDIR/report)", path=report_dir)
    names = {p.name for p in report_dir.iterdir()}
    if not names <= REPORT_ENTRIES:
        shown = ", ".join(sorted(names - REPORT_ENTRIES)[:3])
        raise UsageError(f"the report folder holds files that are not a desghost report ({shown}); "
                         "it would be replaced whole: give an empty or new folder", path=report_dir)


def _swap_into_place(tmp, report_dir):
    """Replace ``report_dir`` by ``tmp`` in two renames (the old report goes only once the new one is in)."""
    old = None
    if report_dir.exists():
        old = private_folder(report_dir) / "previous"
        os.replace(report_dir, old)
    try:
        os.replace(tmp, report_dir)
    except OSError:
        if old is not None:
            os.replace(old, report_dir)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old.parent, ignore_errors=True)
