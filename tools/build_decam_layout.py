"""Build ``ccd_layout/decam_ccds.csv`` from the DECam layout facts in ../shared/data.

The CCD boxes in the 400x400 focal-plane image are derived from the focal-plane
mm corners through the measured linear map stored in ``ccd_layout/decam_camera.json``.
Run from the repository root::

    python tools/build_decam_layout.py ../shared/data/decam/decam_layout.csv
"""
import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(source_csv):
    camera = json.loads((ROOT / "ccd_layout" / "decam_camera.json").read_text())
    m = camera["mm_to_image_px"]
    rows = list(csv.DictReader(open(source_csv)))
    out = ROOT / "ccd_layout" / "decam_ccds.csv"
    fields = ["ccdnum", "detpos", "row", "col", "x_center_mm", "y_center_mm",
              "xmin_mm", "xmax_mm", "ymin_mm", "ymax_mm", "detsec_x0", "detsec_y0",
              "amp_a_side", "box_x0_px", "box_y0_px", "box_x1_px", "box_y1_px"]
    with open(out, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        for r in rows:
            cols = [m["col0"] + m["col_per_y_mm"] * float(r[k]) for k in ("ymin_mm", "ymax_mm")]
            rws = [m["row0"] + m["row_per_x_mm"] * float(r[k]) for k in ("xmin_mm", "xmax_mm")]
            rec = {k: r[k] for k in fields[:12]}
            rec["amp_a_side"] = "right" if r["amp_a_side"].startswith("right") else "left"
            rec.update(box_x0_px=f"{min(cols):.2f}", box_x1_px=f"{max(cols):.2f}",
                       box_y0_px=f"{min(rws):.2f}", box_y1_px=f"{max(rws):.2f}")
            w.writerow(rec)
    print(f"wrote {out} ({len(rows)} CCDs)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/decam/decam_layout.csv")
