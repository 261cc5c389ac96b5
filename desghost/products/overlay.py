"""The overlay picture a person looks at to trust or reject a result."""
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from skimage.measure import find_contours

from desghost.atomic import atomic_path
from desghost.classes import CLASS_COLORS

EXCLUDED_COLOR = (255, 0, 255)
GRID_COLOR = (90, 90, 90)


def render_overlay(result, layout, scale=2):
    """An RGB image: the focal plane, CCD grid and numbers, instance outlines with class and
    score, excluded CCDs outlined in magenta, and a title line."""
    img = Image.fromarray(result.image).convert("RGB").resize(
        (result.image.shape[1] * scale, result.image.shape[0] * scale), Image.NEAREST)
    title_h = 18
    canvas = Image.new("RGB", (img.width, img.height + title_h), (0, 0, 0))
    canvas.paste(img, (0, title_h))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    excluded = {r["ccdnum"] for r in result.exclusions}
    for ccdnum, geom in layout.ccds.items():
        x0, y0, x1, y1 = (v * scale for v in geom.box_px)
        box = [x0, y0 + title_h, x1 - 1, y1 + title_h - 1]
        color, width = (EXCLUDED_COLOR, 3) if ccdnum in excluded else (GRID_COLOR, 1)
        draw.rectangle(box, outline=color, width=width)
        draw.text((x0 + 3, y0 + title_h + 2), str(ccdnum), fill=(200, 200, 200) if ccdnum not in excluded
                  else EXCLUDED_COLOR, font=font)
    for inst in result.instances:
        color = CLASS_COLORS.get(inst.class_name, (255, 255, 255))
        padded = np.pad(inst.mask, 1)
        for contour in find_contours(padded.astype(float), 0.5):
            pts = [((c - 1 + 0.5) * scale, (r - 1 + 0.5) * scale + title_h) for r, c in contour]
            if len(pts) > 2:
                draw.line(pts + [pts[0]], fill=color, width=2)
        x0, y0 = inst.bbox_px[0] * scale, inst.bbox_px[1] * scale + title_h
        draw.text((x0 + 2, max(y0 - 12, title_h)), f"{inst.class_name} {inst.score:.2f}", fill=color, font=font)
    title = (f"EXPNUM {result.expnum}  {result.band}  {result.date_obs[:19]}  model {result.model_name}  "
             f"thr {result.threshold:.2f}  {len(result.instances)} artifacts, {len(excluded)} CCDs excluded")
    draw.text((4, 3), title, fill=(255, 255, 255), font=font)
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
