"""Thin Rays at the focal-plane edge: how many the annotators mark and how many the renderer draws.

For every Rays instance of the 30 real images (each of the eight annotators' masks) and of
rendered training images (as ``benchmarks/compare_sim_real.py`` renders them: JPEG q75, half
with a local sky subtraction): its width (minor axis of the equivalent ellipse,
``research.diagnostics.instance_widths_px``), its centroid's distance from the optical axis, and
the step across its edge in noise units (``research.imagestats.edge_steps``).  Prints the share
narrower than 10 px, the share at the edge (150 px or more from the axis), and the edge steps.

    python -m research.rays_width [--rendered 300]
"""
import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from compare_sim_real import real_annotated  # noqa: E402

from desghost.family_geometry import AXIS_PX  # noqa: E402
from desghost.focalplane.ccd_map import ccd_map  # noqa: E402
from desghost.layout import load_layout  # noqa: E402
from desghost.simulate.training import render_training_image  # noqa: E402
from research.diagnostics import instance_widths_px  # noqa: E402
from research.imagestats import edge_steps  # noqa: E402

THIN_PX = 10.0
EDGE_DISTANCE_PX = 150.0


def rays_rows(image, live, index, masks, labels):
    """``(width_px, distance_px, edge_step)`` of each Rays instance of one image."""
    rays = np.array([m for m, label in zip(masks, labels) if label == 3])
    if not len(rays):
        return []
    out = []
    for m, width, step in zip(rays, instance_widths_px(rays), edge_steps(image, live, index, rays)):
        yy, xx = np.nonzero(m)
        out.append((width, float(np.hypot(xx.mean() + 0.5 - AXIS_PX[0], yy.mean() + 0.5 - AXIS_PX[1])), step))
    return out


def summary(name, rows):
    w, d, step = np.array(rows, dtype=float).T
    thin, edge = w < THIN_PX, d >= EDGE_DISTANCE_PX
    print(f"{name}: {len(w)} Rays; narrower than {THIN_PX:g} px {thin.mean():.2f}; at the edge {edge.mean():.2f}; "
          f"both {(thin & edge).mean():.2f} (n={int((thin & edge).sum())})")
    for label, sel in (("thin at the edge", thin & edge), ("all", np.ones(len(w), bool))):
        s = step[sel & np.isfinite(step)]
        if len(s) >= 3:
            print(f"  edge step, {label}: p16 {np.percentile(s, 16):.2f}, median {np.median(s):.2f}, "
                  f"p84 {np.percentile(s, 84):.2f} (n={len(s)})")
    print(f"  width p16/median/p84 {np.percentile(w[np.isfinite(w)], [16, 50, 84]).round(1).tolist()} px")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rendered", type=int, default=300, help="rendered images (default 300)")
    args = ap.parse_args()
    layout = load_layout()
    real = [r for sample in real_annotated(layout) for r in rays_rows(*sample)]
    rng = np.random.default_rng(2)
    index, live = ccd_map(layout, 500000)
    rendered = []
    for i in range(args.rendered):
        t = render_training_image(rng, layout, expnum=500000, jpeg_quality=75, background_mesh_px=8 if i % 2 else None)
        rendered += rays_rows(t.image, live, index, t.masks, t.labels)
    summary("real, 30 images x 8 annotators", real)
    summary(f"rendered, {args.rendered} images", rendered)


if __name__ == "__main__":
    main()
