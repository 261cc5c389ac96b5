"""A reviewed night as a VIA 2.0 project (``desghost export-via``): the corrections become training data.

The DeepGhostBusters annotators worked in the VGG Image Annotator (VIA 2): they received a
project file and returned it with regions drawn.  This writes the same thing with the regions
pre-filled from the review: each instance nobody rejected as ``polygon`` regions (one per
connected part of its mask, from the catalog's ``outline_px``) with ``Type`` = its class and its
score; each ``missed`` decision as a polygon (drawn ones as drawn, CCDs as the CCD's box).
Marking an exposure clean removes what was decided or found before it, as in the reviewed
list.  The images are the night's 400x400 focal-plane
images, read back exactly from the overlay's copy without drawings (a lossless PNG at 2x,
nearest neighbour) and written as JPEG, as the real training images are stored
(``Ghost_img_D<expnum>.jpg``, RGB).  ``desghost train --real-images DIR --real-annotations
project.json`` reads the project as it comes back.
"""
import json
from pathlib import Path

import numpy as np
from PIL import Image

from desghost import __version__
from desghost.atomic import atomic_path
from desghost.catalog.review import current_decisions, is_clean, newest_decisions, overruled_by_clean
from desghost.catalog.store import Catalog
from desghost.classes import CLASS_ORDER
from desghost.errors import OutputError, UsageError
from desghost.products.overlay import GAP_PX, SCALE, TITLE_H_PX

__all__ = ["export_via", "focal_plane_from_overlay", "image_name", "via_project", "VIA_ATTRIBUTES"]

#: The region attributes of the project: the paper's ``Type`` dropdown, and desghost's score.
VIA_ATTRIBUTES = {
    "region": {"Type": {"type": "dropdown", "description": "artifact class",
                        "options": {c: "" for c in CLASS_ORDER}, "default_options": {"Faint": True}},
               "score": {"type": "text", "description": "desghost score (empty: drawn by a person)",
                         "default_value": ""}},
    "file": {}}
#: JPEG quality of the exported images (the real training images are JPEG).
JPEG_QUALITY = 95


def image_name(expnum):
    """``Ghost_img_D<expnum, 8 digits>.jpg``: the real training images' naming."""
    return f"Ghost_img_D{int(expnum):08d}.jpg"


def focal_plane_from_overlay(path, shape_px):
    """The 400x400 focal-plane image an overlay was drawn from, from its copy without drawings.

    Parameters
    ----------
    path : str or Path
        ``D<expnum>_desghost_overlay.png``.
    shape_px : tuple of int
        ``(H, W)`` of the focal-plane image.

    Returns
    -------
    ndarray of uint8, shape (H, W)
    """
    h, w = shape_px
    with Image.open(path) as img:
        pixels = np.asarray(img.convert("L"))
    x0 = w * SCALE + GAP_PX   # where the copy without drawings starts (overlay.plain_image_x0)
    return np.ascontiguousarray(pixels[TITLE_H_PX:TITLE_H_PX + h * SCALE:SCALE, x0:x0 + w * SCALE:SCALE])


def _polygon_region(points, artifact_class, score):
    xs = [round(float(x), 2) for x, _ in points]
    ys = [round(float(y), 2) for _, y in points]
    return {"shape_attributes": {"name": "polygon", "all_points_x": xs, "all_points_y": ys},
            "region_attributes": {"Type": artifact_class, "score": "" if score is None else f"{score:.3f}"}}


def exposure_regions(instances, decisions, layout, expnum):
    """The VIA regions of one exposure after review.

    Parameters
    ----------
    instances : list of dict
        Catalog ``instances`` rows (``instance_id``, ``class``, ``score``, ``outline_px``).
    decisions : list of Decision
        Every decision on the exposure (the newest per target counts).
    layout : CameraLayout
        The CCD boxes of ``missed`` decisions given as CCDNUMs.
    expnum : int

    Returns
    -------
    list of dict
        VIA 2 region records (``polygon`` shapes).

    Raises
    ------
    UsageError
        An instance without an outline (recorded by a desghost older than catalog schema 5: run
        the exposure again).
    """
    newest = newest_decisions(decisions)
    clean = newest.get((expnum, "exposure", ""))
    regions = []
    for inst in instances:
        verdict = newest.get((expnum, "instance", str(inst["instance_id"])))
        if overruled_by_clean(verdict, clean) or (verdict is None and is_clean(clean)):
            continue   # the reviewed list's rule: marking the exposure clean overrules what came before
        if verdict is not None and verdict.decision == "reject":
            continue
        if inst["outline_px"] is None:
            raise UsageError(f"EXPNUM {expnum}: instance {inst['instance_id']} has no outline in the catalog "
                             "(recorded before catalog schema 5); run the exposure again")
        regions += [_polygon_region(p, inst["class"], inst["score"]) for p in json.loads(inst["outline_px"])]
    for d in newest.values():
        if d.decision != "missed" or overruled_by_clean(d, clean):
            continue
        if d.polygon_px:
            regions.append(_polygon_region(d.polygon_px, d.artifact_class, None))
        for c in d.ccdnums:
            x0, y0, x1, y1 = layout.ccds[c].box_px
            regions.append(_polygon_region([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], d.artifact_class, None))
    return regions


def via_project(records, name):
    """A VIA 2.0 project document.

    Parameters
    ----------
    records : list of (str, int, list)
        ``(filename, file size in bytes, regions)`` per image.
    name : str
        The project's name.

    Returns
    -------
    dict
        ``_via_settings``, ``_via_img_metadata`` (keys ``filename + size``, as VIA makes them),
        ``_via_attributes``, ``_via_data_format_version`` and ``_via_image_id_list`` (the keys).
    """
    metadata = {f"{f}{size}": {"filename": f, "size": size, "regions": regions, "file_attributes": {}}
                for f, size, regions in records}
    return {"_via_settings": {"ui": {"annotation_editor_height": 25, "annotation_editor_fontsize": 0.8,
                                     "leftsidebar_width": 18,
                                     "image_grid": {"img_height": 80, "rshape_fill": "none", "rshape_fill_opacity": 0.3,
                                                    "rshape_stroke": "yellow", "rshape_stroke_width": 2,
                                                    "show_region_shape": True, "show_image_policy": "all"},
                                     "image": {"region_label": "Type", "region_color": "Type",
                                               "region_label_font": "10px Sans",
                                               "on_image_annotation_editor_placement": "NEAR_REGION"}},
                              "core": {"buffer_size": 18, "filepath": {}, "default_filepath": ""},
                              "project": {"name": name}},
            "_via_img_metadata": metadata, "_via_attributes": VIA_ATTRIBUTES, "_via_data_format_version": "2.0.10",
            "_via_image_id_list": list(metadata)}


def export_via(night, outdir, project_name=None):
    """Write the reviewed night's images and its VIA 2.0 project into ``outdir``.

    Parameters
    ----------
    night : ReviewNight
        The night (its exposures, catalog and layout).
    outdir : str or Path
        Created when missing; ``via_project.json`` and one JPEG per exposure with an overlay.
    project_name : str, optional

    Returns
    -------
    dict
        ``{"project": path, "images": n, "regions": n, "skipped": [EXPNUM without an overlay]}``.

    Raises
    ------
    UsageError
        An instance without an outline in the catalog (exit code 2).
    OutputError
        The folder or a file cannot be written (exit code 9).
    """
    outdir = Path(outdir)
    try:
        return _export(night, outdir, project_name)
    except OSError as exc:
        raise OutputError(f"cannot write the VIA project ({exc.strerror or exc})", path=outdir) from None


def _export(night, outdir, project_name):
    outdir.mkdir(parents=True, exist_ok=True)
    with Catalog(night.catalog_path, readonly=True) as cat:
        decisions = cat.decisions()
        instances = cat.query("SELECT expnum, instance_id, class, score, outline_px FROM instances "
                              "WHERE source='desghost' ORDER BY expnum, instance_id")
        runs = {r["expnum"]: r["processed_at"] for r in cat.query(
            "SELECT expnum, processed_at FROM exposures WHERE source='desghost'")}
    decisions = current_decisions(decisions, runs)[0]
    records, skipped = [], []
    for expnum, entry in sorted(night.exposures.items()):
        if "overlay" not in entry.products:
            skipped.append(expnum)
            continue
        regions = exposure_regions([i for i in instances if i["expnum"] == expnum],
                                   [d for d in decisions if d.expnum == expnum], night.layout, expnum)
        image = focal_plane_from_overlay(entry.products["overlay"], night.layout.image_shape_px)
        path = outdir / image_name(expnum)
        with atomic_path(path, ".jpg") as tmp:
            Image.fromarray(image).convert("RGB").save(tmp, format="JPEG", quality=JPEG_QUALITY)
        records.append((path.name, path.stat().st_size, regions))
    name = project_name or f"desghost_{Path(night.outdir).resolve().name}"
    project = outdir / "via_project.json"
    with atomic_path(project) as tmp:
        Path(tmp).write_text(json.dumps({**via_project(records, name), "_desghost": {
            "software": f"desghost {__version__}", "outdir": str(Path(night.outdir).resolve()),
            "catalog": str(Path(night.catalog_path).resolve())}}, indent=1))
    return {"project": str(project), "images": len(records), "regions": sum(len(r[2]) for r in records),
            "skipped": skipped}
