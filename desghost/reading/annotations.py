"""Load VIA 2.0 annotation files (both layouts, every shape) as per-instance masks.

Classes live in ``region_attributes["Type"]``: Bright=1, Faint=2, Rays=3.  Shapes: circle,
ellipse (VIA's theta turns the other way from scikit-image's rotation), polygon, polyline
(an open line, filled as a polygon as the paper did), rect, and untyped ``point`` shapes,
which are skipped.  Shapes are clipped to the image; nothing wraps around an edge.
"""
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from skimage.draw import ellipse as draw_ellipse
from skimage.draw import polygon as draw_polygon

from desghost.classes import CLASS_IDS
from desghost.errors import MalformedTextError

__all__ = ["instance_masks", "read_via", "Region", "region_mask"]


@dataclass
class Region:
    """One annotated region: its class id, VIA shape name and attributes."""

    class_id: int
    shape: str
    attributes: dict


def read_via(path):
    """Image records of a VIA file, whichever layout it uses.

    Returns
    -------
    dict
        ``{filename: [Region, ...]}``; regions without a known class are skipped.

    Raises
    ------
    MalformedTextError
        Not UTF-8, not JSON, or JSON that is not a VIA file (exit code 18).
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise MalformedTextError("not a text file (not UTF-8): expected VIA annotation JSON", path=path) from None
    except json.JSONDecodeError as exc:
        raise MalformedTextError(f"line {exc.lineno}, column {exc.colno}: not JSON ({exc.msg})", path=path) from None
    if isinstance(data, dict) and "_via_img_metadata" in data:
        records = list(data["_via_img_metadata"].values())
    elif isinstance(data, dict):
        records = list(data.values())
    else:
        records = list(data)
    if not all(isinstance(rec, dict) and "filename" in rec for rec in records):
        raise MalformedTextError("JSON, but not a VIA annotation file (records without 'filename')", path=path)
    out = {}
    for rec in records:
        regions = []
        for reg in rec.get("regions", []) or []:
            shape = reg.get("shape_attributes", {}) or {}
            cls = (reg.get("region_attributes", {}) or {}).get("Type")
            if isinstance(cls, dict):  # VIA checkbox-style attributes
                cls = next((k for k, v in cls.items() if v), None)
            if cls not in CLASS_IDS or shape.get("name") == "point":
                continue
            regions.append(Region(CLASS_IDS[cls], shape.get("name"), shape))
        out.setdefault(rec["filename"], []).extend(regions)
    return out


def region_mask(region, shape=(400, 400)):
    """Boolean mask of one region, clipped to an image of ``shape`` (rows, cols)."""
    a = region.attributes
    mask = np.zeros(shape, dtype=bool)
    name = region.shape
    if name == "circle":
        rr, cc = draw_ellipse(a["cy"], a["cx"], max(a["r"], 0.5), max(a["r"], 0.5), shape=shape)
    elif name == "ellipse":
        # VIA's theta is clockwise in image coordinates; skimage's rotation is counter-clockwise.
        rr, cc = draw_ellipse(a["cy"], a["cx"], max(a["ry"], 0.5), max(a["rx"], 0.5), shape=shape,
                              rotation=-float(a.get("theta", 0.0)))
    elif name in ("polygon", "polyline"):
        xs, ys = a.get("all_points_x", []), a.get("all_points_y", [])
        if len(xs) < 3:
            return mask
        rr, cc = draw_polygon(ys, xs, shape=shape)
    elif name == "rect":
        r0, c0 = max(int(a["y"]), 0), max(int(a["x"]), 0)
        mask[r0:int(a["y"] + a["height"]) + 1, c0:int(a["x"] + a["width"]) + 1] = True
        return mask
    else:
        return mask
    mask[rr, cc] = True
    return mask


def instance_masks(regions, shape=(400, 400)):
    """Masks ``(N, rows, cols)`` and class ids ``(N,)`` of non-empty regions."""
    masks, labels = [], []
    for reg in regions:
        m = region_mask(reg, shape)
        if m.any():
            masks.append(m)
            labels.append(reg.class_id)
    if not masks:
        return np.zeros((0,) + tuple(shape), dtype=bool), np.zeros(0, dtype=np.int64)
    return np.stack(masks), np.asarray(labels, dtype=np.int64)
