"""Geometry helpers for ground truth: polygons in mm and in each CCD's pixels."""
import numpy as np

__all__ = ["ccd_footprints", "clip_polygon_to_rect", "mm_to_ccd_pixels", "polygon_area"]


def clip_polygon_to_rect(poly, x0, y0, x1, y1):
    """Clip a polygon (N, 2) to the rectangle [x0, x1] x [y0, y1] (Sutherland-Hodgman)."""
    def clip(points, inside, intersect):
        out = []
        n = len(points)
        for i in range(n):
            cur, prev = points[i], points[i - 1]
            if inside(cur):
                if not inside(prev):
                    out.append(intersect(prev, cur))
                out.append(cur)
            elif inside(prev):
                out.append(intersect(prev, cur))
        return out

    def at_x(x):
        return lambda p, q: (x, p[1] + (q[1] - p[1]) * (x - p[0]) / (q[0] - p[0]))

    def at_y(y):
        return lambda p, q: (p[0] + (q[0] - p[0]) * (y - p[1]) / (q[1] - p[1]), y)

    pts = [tuple(p) for p in np.asarray(poly, dtype=float)]
    for inside, inter in ((lambda p: p[0] >= x0, at_x(x0)), (lambda p: p[0] <= x1, at_x(x1)),
                          (lambda p: p[1] >= y0, at_y(y0)), (lambda p: p[1] <= y1, at_y(y1))):
        if not pts:
            break
        pts = clip(pts, inside, inter)
    return np.asarray(pts, dtype=float).reshape(-1, 2)


def polygon_area(poly):
    """Shoelace area of a polygon (N, 2)."""
    p = np.asarray(poly, dtype=float)
    if len(p) < 3:
        return 0.0
    x, y = p[:, 0], p[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def mm_to_ccd_pixels(layout, ccdnum, x_mm, y_mm, nx_px, ny_px):
    """Focal-plane mm to a CCD's 0-based pixel coordinates (x along the 2048 axis)."""
    c = layout.ccds[ccdnum]
    x_px = (np.asarray(x_mm) - c.xmin_mm) / (c.xmax_mm - c.xmin_mm) * nx_px - 0.5
    y_px = (np.asarray(y_mm) - c.ymin_mm) / (c.ymax_mm - c.ymin_mm) * ny_px - 0.5
    return x_px, y_px


def ccd_footprints(layout, polygon_px, nx_px, ny_px):
    """Where an image-pixel polygon falls on each CCD.

    Returns
    -------
    dict
        ``{ccdnum: {"polygon_px": [[x, y], ...], "bbox_px": [x0, y0, x1, y1],
        "area_frac": float}}`` in the CCD's own 0-based pixel coordinates, for every CCD
        the polygon overlaps.
    """
    poly = np.asarray(polygon_px, dtype=float)
    x_mm, y_mm = layout.image_px_to_mm(poly[:, 0], poly[:, 1])
    out = {}
    for ccdnum in layout.ccdnums:
        xp, yp = mm_to_ccd_pixels(layout, ccdnum, x_mm, y_mm, nx_px, ny_px)
        clipped = clip_polygon_to_rect(np.column_stack([xp, yp]), -0.5, -0.5, nx_px - 0.5, ny_px - 0.5)
        area = polygon_area(clipped)
        if area <= 0:
            continue
        out[ccdnum] = {
            "polygon_px": np.round(clipped, 2).tolist(),
            "bbox_px": [round(float(v), 2) for v in (*clipped.min(0), *clipped.max(0))],
            "area_frac": round(area / (nx_px * ny_px), 6),
        }
    return out
