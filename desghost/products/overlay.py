"""The overlay picture a person looks at to trust or reject a result.

The focal plane at 2x, every CCD outlined and numbered (excluded CCDs in magenta, thick), each
instance outlined in its class colour with its number; a title line; and a side panel with the
colour legend and one line per instance (number, class, score, CCDs).  Labels never overlap:
they are placed greedily, excluded-CCD numbers first (:mod:`desghost.products.label_layout`).
"""
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from skimage.measure import find_contours

from desghost.atomic import atomic_path
from desghost.classes import CLASS_COLORS, CLASS_ORDER
from desghost.products.label_layout import Label, place_labels

EXCLUDED_COLOR = (255, 0, 255)
GRID_COLOR = (90, 90, 90)
CCD_TEXT_COLOR = (200, 200, 200)
TITLE_H_PX, PANEL_W_PX, SCALE = 22, 260, 2


@lru_cache(maxsize=4)
def overlay_font(size_px=11):
    """DejaVu Sans (shipped with matplotlib: every glyph of the labels), else Pillow's default font."""
    try:
        from matplotlib import font_manager
        return ImageFont.truetype(font_manager.findfont("DejaVu Sans", fallback_to_default=True), size_px)
    except (ImportError, OSError, ValueError):
        return ImageFont.load_default()


def _text_size(draw, text, font):
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
    return x1 + 1, y1 + 1


def overlay_labels(result, layout, draw=None):
    """Where every label of the overlay goes.

    Returns
    -------
    list of dict
        ``{"text", "box" (x0, y0, x1, y1) canvas px, or None when it found no free place,
        "color", "kind" ("ccd", "excluded_ccd" or "instance")}``, excluded CCDs first.
    """
    draw = draw or ImageDraw.Draw(Image.new("RGB", (8, 8)))
    font = overlay_font()
    excluded = {r["ccdnum"] for r in result.exclusions}
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
        specs.append((Label(text, (w, h), candidates), EXCLUDED_COLOR if kind == "excluded_ccd" else CCD_TEXT_COLOR,
                      kind))
    for k, inst in enumerate(result.instances, start=1):
        text = str(k)
        w, h = _text_size(draw, text, font)
        bx0, by0, bx1, by1 = (v * SCALE for v in inst.bbox_px)
        by0, by1 = by0 + TITLE_H_PX, by1 + TITLE_H_PX
        candidates = [(bx0, by0 - h - 1), (bx0, by1 + 1), (bx1 - w, by0 - h - 1), (bx1 + 2, by0), (bx0 - w - 2, by0),
                      (bx0 + 2, by0 + 2), (bx1 - w - 2, by1 - h - 2)]
        cx, cy = (bx0 + bx1) / 2, (by0 + by1) / 2
        candidates += [(cx + dx - w / 2, cy + dy - h / 2) for dx in (0, -20, 20, -40, 40) for dy in (0, -14, 14)]
        specs.append((Label(text, (w, h), candidates), CLASS_COLORS.get(inst.class_name, (255, 255, 255)), "instance"))
    bounds = (0, TITLE_H_PX, width_px, TITLE_H_PX + result.image.shape[0] * SCALE)
    boxes = place_labels([s[0] for s in specs], bounds)
    return [{"text": s[0].text, "box": box, "color": s[1], "kind": s[2]} for s, box in zip(specs, boxes)]


def _panel(draw, result, x0, font):
    """The legend and the instance list, in the panel starting at canvas column ``x0``."""
    y = TITLE_H_PX + 6
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
    y += 24
    draw.text((x0, y), f"{len(result.instances)} instances", fill=(255, 255, 255), font=font)
    y += 16
    bottom = TITLE_H_PX + result.image.shape[0] * SCALE - 16
    for k, (inst, cov) in enumerate(zip(result.instances, result.coverages), start=1):
        if y > bottom - 15 and k < len(result.instances):
            draw.text((x0, y), f"... and {len(result.instances) - k + 1} more", fill=(255, 255, 255), font=font)
            break
        head, ccds = f"{k:>2}  {inst.class_name:<6} {inst.score:.2f}  CCD ", [str(c.ccdnum) for c in cov]
        line, n = head + ",".join(ccds), len(ccds)
        while n > 1 and _text_size(draw, line, font)[0] > PANEL_W_PX - 12:  # a long CCD list ends "... (N)"
            n -= 1
            line = head + ",".join(ccds[:n]) + f"... ({len(ccds)})"
        draw.text((x0, y), line, fill=CLASS_COLORS.get(inst.class_name, (255, 255, 255)), font=font)
        y += 14


def render_overlay(result, layout):
    """The overlay as an RGB image of ``(800 + 22, 800 + 260)`` pixels (see the module docstring)."""
    h, w = result.image.shape
    img = Image.fromarray(result.image).convert("RGB").resize((w * SCALE, h * SCALE), Image.NEAREST)
    canvas = Image.new("RGB", (img.width + PANEL_W_PX, img.height + TITLE_H_PX), (0, 0, 0))
    canvas.paste(img, (0, TITLE_H_PX))
    draw = ImageDraw.Draw(canvas)
    font = overlay_font()
    excluded = {r["ccdnum"] for r in result.exclusions}
    for ccdnum in sorted(layout.ccds, key=lambda c: c in excluded):  # excluded outlines drawn last, on top
        x0, y0, x1, y1 = (v * SCALE for v in layout.ccds[ccdnum].box_px)
        color, width = (EXCLUDED_COLOR, 3) if ccdnum in excluded else (GRID_COLOR, 1)
        draw.rectangle([x0, y0 + TITLE_H_PX, x1 - 1, y1 + TITLE_H_PX - 1], outline=color, width=width)
    for inst in result.instances:
        color = CLASS_COLORS.get(inst.class_name, (255, 255, 255))
        for contour in find_contours(np.pad(inst.mask, 1).astype(float), 0.5):
            pts = [((c - 0.5) * SCALE, (r - 0.5) * SCALE + TITLE_H_PX) for r, c in contour]
            if len(pts) > 2:
                draw.line(pts + [pts[0]], fill=color, width=2)
    for label in overlay_labels(result, layout, draw):
        if label["box"] is not None:
            x0, y0, x1, y1 = label["box"]
            draw.rectangle([x0 - 1, y0 - 1, x1, y1], fill=(0, 0, 0))  # a dark plate keeps it legible
            draw.text((x0, y0), label["text"], fill=label["color"], font=font)
    _panel(draw, result, img.width + 8, font)
    title = (f"EXPNUM {result.expnum}  {result.band}  {result.date_obs[:19]}  model {result.model_name}  "
             f"thr {result.threshold:.2f}  {len(result.instances)} artifacts, {len(excluded)} CCDs excluded")
    draw.text((4, 4), title, fill=(255, 255, 255), font=font)
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
