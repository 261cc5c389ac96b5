"""The overlay picture a person looks at to trust or reject a result.

Two copies of the focal plane at 2x side by side under a title line: on the left every CCD
outlined and numbered (excluded CCDs in magenta, thick; CCDs and amplifier halves the camera
layout marks dead hatched grey and labelled ``dead``), each instance outlined in its class
colour with its number in a box of that colour sitting on the outline; on the right the same
image without any drawing, so that faint artifacts are not hidden under their outlines.  A
side panel holds the colour legend and one line per instance (number, class, score, CCDs).
Labels never overlap: they are placed greedily, CCD numbers first
(:mod:`desghost.products.label_layout`).  Instances are numbered by
:func:`~desghost.products.label_layout.instance_number`, as in the report.
"""
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from skimage.measure import find_contours

from desghost.atomic import atomic_path
from desghost.classes import CLASS_COLORS, CLASS_ORDER
from desghost.focalplane.ccd_map import ccd_map
from desghost.products.label_layout import Label, instance_number, outline_candidates, place_labels

__all__ = ["CCD_TEXT_COLOR", "DEAD_COLOR", "dead_labels", "dead_regions_px", "EXCLUDED_COLOR", "GRID_COLOR",
           "instance_outlines", "NUMBER_PAD_PX", "overlay_font", "overlay_labels", "plain_image_x0",
           "render_overlay", "write_overlay"]

EXCLUDED_COLOR = (255, 0, 255)
GRID_COLOR = (90, 90, 90)
CCD_TEXT_COLOR = (200, 200, 200)
DEAD_COLOR = (125, 125, 125)
TITLE_H_PX, PANEL_W_PX, SCALE, GAP_PX = 22, 260, 2, 8
#: Padding (px) around an instance number inside its coloured box.
NUMBER_PAD_PX = 2


def _artifact_count(result):
    """``"2 artifacts (3 instances)"``: artifacts as grouped by the driver, instances as detected."""
    n, m = getattr(result, "n_artifacts", 0) or len(result.instances), len(result.instances)
    return f"{n} artifact{'s' if n != 1 else ''}" + (f" ({m} instances)" if m != n else "")


@lru_cache(maxsize=8)
def overlay_font(size_px=11, bold=False):
    """DejaVu Sans (shipped with matplotlib: every glyph of the labels), else Pillow's default font."""
    try:
        from matplotlib import font_manager
        props = font_manager.FontProperties(family="DejaVu Sans", weight="bold" if bold else "normal")
        return ImageFont.truetype(font_manager.findfont(props, fallback_to_default=True), size_px)
    except (ImportError, OSError, ValueError):
        return ImageFont.load_default()


def _text_size(draw, text, font):
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
    return x1 + 1, y1 + 1


def _color(inst):
    return CLASS_COLORS.get(inst.class_name, (255, 255, 255))


def plain_image_x0(result):
    """Canvas column where the copy of the image without drawings starts."""
    return result.image.shape[1] * SCALE + GAP_PX


def instance_outlines(result):
    """The outlines drawn around each instance.

    Returns
    -------
    list of list of list of tuple
        Per instance (in ``result.instances`` order), its closed curves, each a list of
        ``(x, y)`` canvas pixels on the outlined (left) image.
    """
    out = []
    for inst in result.instances:
        curves = find_contours(np.pad(inst.mask, 1).astype(float), 0.5)
        out.append([[((c - 0.5) * SCALE, (r - 0.5) * SCALE + TITLE_H_PX) for r, c in curve]
                    for curve in curves if len(curve) > 2])
    return out


def dead_regions_px(result, layout):
    """Parts of CCDs the camera layout marks dead for this exposure (whole CCDs or amplifier halves).

    Returns
    -------
    dict
        ``{ccdnum: ndarray of bool}``: per CCD, its dead focal-plane image pixels.
    """
    index, live = ccd_map(layout, result.expnum)
    dead = (index > 0) & ~live
    return {int(c): dead & (index == c) for c in np.unique(index[dead])}


def dead_labels(dead, draw=None):
    """The ``dead`` label of each dead region, centred in it: ``{"text", "box", "ccdnum"}`` in canvas px."""
    draw = draw or ImageDraw.Draw(Image.new("RGB", (8, 8)))
    w, h = _text_size(draw, "dead", overlay_font())
    out = []
    for ccdnum, mask in sorted(dead.items()):
        rows, cols = np.nonzero(mask)
        cx, cy = (cols.min() + cols.max() + 1) / 2 * SCALE, (rows.min() + rows.max() + 1) / 2 * SCALE + TITLE_H_PX
        out.append({"text": "dead", "box": (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), "ccdnum": ccdnum})
    return out


def _ccd_label_specs(result, layout, draw, font):
    excluded = {r.ccdnum for r in result.exclusions}
    width_px = result.image.shape[1] * SCALE
    specs = []
    for ccdnum in sorted(layout.ccds, key=lambda c: (c not in excluded, c)):
        x0, y0, x1, y1 = (v * SCALE for v in layout.ccds[ccdnum].box_px)
        x0, x1 = max(x0, 0), min(x1, width_px)  # CCDs 25, 31, 32, 38 stick out of the image
        text = str(ccdnum)
        w, h = _text_size(draw, text, font)
        top, bottom = y0 + TITLE_H_PX + 2, y1 + TITLE_H_PX - h - 2
        candidates = [(x0 + 3, top), (x1 - w - 3, top), (x0 + 3, bottom), (x1 - w - 3, bottom)]
        kind = "excluded_ccd" if ccdnum in excluded else "ccd"
        color = EXCLUDED_COLOR if kind == "excluded_ccd" else CCD_TEXT_COLOR
        specs.append((Label(text, (w, h), candidates), {"color": color, "kind": kind}))
    return specs


def _instance_label_specs(result, draw):
    font = overlay_font(bold=True)
    specs = []
    for k, (inst, curves) in enumerate(zip(result.instances, instance_outlines(result))):
        text = str(instance_number(k))
        w, h = _text_size(draw, text, font)
        size = (w + 2 * NUMBER_PAD_PX, h + NUMBER_PAD_PX)
        candidates = outline_candidates([p for curve in curves for p in curve], size)
        specs.append((Label(text, size, candidates), {"color": _color(inst), "kind": "instance", "index": k}))
    return specs


def overlay_labels(result, layout, draw=None):
    """Where every CCD number and instance number of the overlay goes.

    CCD numbers sit in their CCD's corners (excluded CCDs first), clear of the ``dead`` labels;
    each instance number then takes the first free place on its own outline
    (:func:`~desghost.products.label_layout.outline_candidates`).

    Returns
    -------
    list of dict
        ``{"text", "box" (x0, y0, x1, y1) canvas px, or None when it found no free place,
        "color", "kind" ("ccd", "excluded_ccd" or "instance")}``, CCDs first; instance labels also
        carry ``"index"``, the instance's position in ``result.instances``.
    """
    draw = draw or ImageDraw.Draw(Image.new("RGB", (8, 8)))
    specs = _ccd_label_specs(result, layout, draw, overlay_font()) + _instance_label_specs(result, draw)
    bounds = (0, TITLE_H_PX, result.image.shape[1] * SCALE, TITLE_H_PX + result.image.shape[0] * SCALE)
    taken = [d["box"] for d in dead_labels(dead_regions_px(result, layout), draw)]
    boxes = place_labels([s[0] for s in specs], bounds, taken)
    return [{"text": s[0].text, "box": box, **s[1]} for s, box in zip(specs, boxes)]


def _hatch_dead(canvas, dead):
    """Hatch the dead regions of the outlined image grey (diagonal lines over the blank area)."""
    if not dead:
        return canvas
    mask = np.kron(np.logical_or.reduce(list(dead.values())), np.ones((SCALE, SCALE), dtype=bool))
    yy, xx = np.indices(mask.shape)
    arr = np.array(canvas)
    view = arr[TITLE_H_PX:TITLE_H_PX + mask.shape[0], :mask.shape[1]]
    view[mask & ((xx + yy) % 7 < 2)] = DEAD_COLOR
    return Image.fromarray(arr)


def _draw_outlines(draw, result, layout):
    excluded = {r.ccdnum for r in result.exclusions}
    for ccdnum in sorted(layout.ccds, key=lambda c: c in excluded):  # excluded outlines drawn last, on top
        x0, y0, x1, y1 = (v * SCALE for v in layout.ccds[ccdnum].box_px)
        color, width = (EXCLUDED_COLOR, 3) if ccdnum in excluded else (GRID_COLOR, 1)
        draw.rectangle([x0, y0 + TITLE_H_PX, x1 - 1, y1 + TITLE_H_PX - 1], outline=color, width=width)
    for inst, curves in zip(result.instances, instance_outlines(result)):
        for pts in curves:
            draw.line(pts + [pts[0]], fill=_color(inst), width=2)


def _draw_number(draw, xy, text, color):
    """An instance number: bold black digits in a box filled with the class colour."""
    w, h = _text_size(draw, text, overlay_font(bold=True))
    x0, y0 = xy
    draw.rectangle([x0, y0, x0 + w + 2 * NUMBER_PAD_PX - 1, y0 + h + NUMBER_PAD_PX - 1], fill=color,
                   outline=(0, 0, 0))
    draw.text((x0 + NUMBER_PAD_PX, y0), text, fill=(0, 0, 0), font=overlay_font(bold=True))


def _draw_labels(draw, labels, dead):
    font = overlay_font()
    for label in dead:
        x0, y0, x1, y1 = label["box"]
        draw.rectangle([x0 - 1, y0 - 1, x1, y1], fill=(0, 0, 0))
        draw.text((x0, y0), label["text"], fill=CCD_TEXT_COLOR, font=font)
    for label in labels:
        if label["box"] is None:
            continue
        x0, y0, x1, y1 = label["box"]
        if label["kind"] == "instance":
            _draw_number(draw, (x0, y0), label["text"], label["color"])
        else:
            draw.rectangle([x0 - 1, y0 - 1, x1, y1], fill=(0, 0, 0))  # a dark plate keeps it legible
            draw.text((x0, y0), label["text"], fill=label["color"], font=font)


def _legend(draw, x0, y, font):
    """The colour legend, from canvas row ``y``; returns the row below it."""
    draw.text((x0, y), "legend", fill=(255, 255, 255), font=font)
    y += 16
    for name in CLASS_ORDER:
        draw.line([(x0, y + 6), (x0 + 18, y + 6)], fill=CLASS_COLORS[name], width=2)
        draw.text((x0 + 24, y), name, fill=CLASS_COLORS[name], font=font)
        y += 15
    draw.rectangle([x0, y + 1, x0 + 18, y + 11], outline=EXCLUDED_COLOR, width=3)
    draw.text((x0 + 24, y), "excluded CCD", fill=EXCLUDED_COLOR, font=font)
    y += 15
    draw.rectangle([x0, y + 1, x0 + 18, y + 11], outline=GRID_COLOR, width=1)
    draw.text((x0 + 24, y), "CCD and its CCDNUM", fill=CCD_TEXT_COLOR, font=font)
    y += 15
    for k in range(-10, 18, 7):
        draw.line([(x0 + max(k, 0), y + 1 + max(-k, 0)), (x0 + min(k + 10, 18), y + 11 - max(k - 8, 0))],
                  fill=DEAD_COLOR, width=2)
    draw.text((x0 + 24, y), "dead CCD or amplifier", fill=CCD_TEXT_COLOR, font=font)
    y += 15
    _draw_number(draw, (x0 + 2, y), "0", CLASS_COLORS[CLASS_ORDER[0]])
    draw.text((x0 + 24, y), "instance id (as in the catalog)", fill=CCD_TEXT_COLOR, font=font)
    return y + 24


def _panel(draw, result, x0, font):
    """The legend and the instance list, in the panel starting at canvas column ``x0``."""
    y = _legend(draw, x0, TITLE_H_PX + 6, font)
    draw.text((x0, y), f"{len(result.instances)} instances", fill=(255, 255, 255), font=font)
    y += 16
    bottom = TITLE_H_PX + result.image.shape[0] * SCALE - 16
    for k, (inst, cov) in enumerate(zip(result.instances, result.coverages)):
        if y > bottom - 15 and k + 1 < len(result.instances):
            draw.text((x0, y), f"... and {len(result.instances) - k} more", fill=(255, 255, 255), font=font)
            break
        _draw_number(draw, (x0, y), str(instance_number(k)), _color(inst))
        ccds = [str(c.ccdnum) for c in cov]
        line, n = "CCD " + ",".join(ccds), len(ccds)
        while n > 1 and _text_size(draw, line, font)[0] > PANEL_W_PX - 118:  # a long CCD list ends "... (N)"
            n -= 1
            line = "CCD " + ",".join(ccds[:n]) + f"... ({len(ccds)})"
        for dx, text in ((26, inst.class_name), (72, f"{inst.score:.2f}"), (104, line)):
            draw.text((x0 + dx, y), text, fill=_color(inst), font=font)
        y += 16


def render_overlay(result, layout):
    """The overlay as an RGB image of ``(800 + 22, 2 * 800 + 8 + 260)`` pixels (see the module docstring)."""
    h, w = result.image.shape
    img = Image.fromarray(result.image).convert("RGB").resize((w * SCALE, h * SCALE), Image.NEAREST)
    plain_x0 = plain_image_x0(result)
    canvas = Image.new("RGB", (plain_x0 + img.width + PANEL_W_PX, img.height + TITLE_H_PX), (0, 0, 0))
    canvas.paste(img, (0, TITLE_H_PX))
    dead = dead_regions_px(result, layout)
    canvas = _hatch_dead(canvas, dead)
    draw = ImageDraw.Draw(canvas)
    font = overlay_font()
    _draw_outlines(draw, result, layout)
    _draw_labels(draw, overlay_labels(result, layout, draw), dead_labels(dead, draw))
    draw.rectangle([img.width, 0, canvas.width, canvas.height], fill=(0, 0, 0))  # outlines past the image edge
    canvas.paste(img, (plain_x0, TITLE_H_PX))
    _panel(draw, result, plain_x0 + img.width + 8, font)
    title = (f"EXPNUM {result.expnum}  {result.band}  {result.date_obs[:19]}  model {result.model_name}  "
             f"thr {result.threshold:.2f}  {_artifact_count(result)}, "
             f"{len({r.ccdnum for r in result.exclusions})} CCDs excluded")
    draw.text((4, 4), title, fill=(255, 255, 255), font=font)
    draw.text((plain_x0 + 4, 4), "the same image without outlines", fill=CCD_TEXT_COLOR, font=font)
    return canvas


def write_overlay(path, result, layout, provenance=None):
    """Write the overlay PNG atomically (provenance in a text chunk)."""
    import json

    from PIL import PngImagePlugin
    info = PngImagePlugin.PngInfo()
    if provenance:
        info.add_text("desghost", json.dumps(provenance))
    with atomic_path(path) as tmp:
        render_overlay(result, layout).save(tmp, format="PNG", pnginfo=info)
    return str(path)
