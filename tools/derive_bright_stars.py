"""Package the bright-star list DELVE ray-traces its ghost lists from.

Reads ``../shared/data/raytrace/bsc5p-bright-stars.csv`` (DELVE, MIT licence: the Yale Bright
Star Catalogue's brightest stars, chosen by Steve Kent and Alex Drlica-Wagner for the DES Y6
foreground regions) and writes the columns desghost uses to
``desghost/sky/data/bright_stars.csv``: HR (the catalogue's ``id``), RA and Dec (J2000, degrees),
V magnitude, and the name (blank names become ``HR <id>``), with the licence beside it.  Run
from the repository root::

    python tools/derive_bright_stars.py ../shared/data/raytrace
"""
import argparse
import csv
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "desghost" / "sky" / "data"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("raytrace", help="the folder holding bsc5p-bright-stars.csv and DELVE's LICENSE")
    args = ap.parse_args()
    src = Path(args.raytrace)
    lines = [line for line in (src / "bsc5p-bright-stars.csv").read_text().splitlines() if not line.startswith("#")]
    rows = list(csv.DictReader(lines))
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "bright_stars.csv", "w", newline="") as fh:
        fh.write("# The brightest Yale Bright Star Catalogue (BSC5P) stars DELVE ray-traces ghosts from:\n"
                 "# DELVE's bsc5p-bright-stars.csv (Steve Kent & Alex Drlica-Wagner; MIT licence, copyright\n"
                 "# (c) 2021 DELVE: BRIGHT_STARS_LICENSE beside this file), columns id ra dec vmag name kept.\n"
                 "# Written by tools/derive_bright_stars.py.\n")
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["hr", "ra_deg", "dec_deg", "vmag", "name"])
        for r in rows:
            name = r["name"].strip() or f"HR {int(r['id'])}"
            out.writerow([int(r["id"]), f"{float(r['ra']):.4f}", f"{float(r['dec']):.4f}", f"{float(r['vmag']):.2f}",
                          name])
    shutil.copy(src / "LICENSE", OUT / "BRIGHT_STARS_LICENSE")
    print(f"{len(rows)} stars -> {OUT / 'bright_stars.csv'}")


if __name__ == "__main__":
    main()
