"""Simulated focal-plane images against the 30 real DeepGhostBusters images, side by side.

Prints, for each statistic, the min / median / max over the real images, over 20 images of
the training renderer, and over 4 assembled small simulated raw exposures (both passed
through q75 JPEG like the real ones), then lists the differences that remain.  Needs ../shared/data (or $DESGHOST_SHARED_DATA).

    python benchmarks/compare_sim_real.py
"""
import glob
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # research/ lives beside tools/, not installed

from desghost.classes import CLASS_ORDER  # noqa: E402
from desghost.focalplane.assembly import assemble_exposure  # noqa: E402
from desghost.focalplane.ccd_map import ccd_map  # noqa: E402
from desghost.focalplane.imagefile import read_focal_plane_image  # noqa: E402
from desghost.layout import load_layout  # noqa: E402
from desghost.reading.annotations import instance_masks, read_via  # noqa: E402
from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure  # noqa: E402
from desghost.simulate.training import jpeg_roundtrip, render_training_image  # noqa: E402
from desghost.training.photometry import live_pixels, sky_statistics, transfer_sky  # noqa: E402
from research.imagestats import (  # noqa: E402
    annotation_statistics,
    image_statistics,
    instance_contrasts,
    instance_edge_contrasts,
    largest_saturated_area_px,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("DESGHOST_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))


CLASS_NAMES = dict(enumerate(CLASS_ORDER, start=1))
AREA_BINS_PX = ((0, 1000), (1000, 5000), (5000, 20000), (20000, 10 ** 6))


def summarize(rows, key):
    v = np.array([r[key] for r in rows])
    return f"{v.min():7.3f} {np.median(v):7.3f} {v.max():7.3f}"


def nesting_row(name, stats):
    n_img = len(stats)
    inst = sum(s["instances"] for s in stats)
    ghosts = sum(s["ghosts"] for s in stats)
    nested = sum(s["nested_ghosts"] for s in stats)
    print(f"{name:<48}{n_img:>7}{inst / n_img:>12.2f}{nested / max(ghosts, 1):>16.2f}")


def real_annotated(layout):
    """Each real image with each annotator's instances: ``(image, live, ccd_index, masks, labels)``."""
    files = sorted((DATA / "dgb" / "real" / "annotations").glob("common_core_*.json"))
    annotations = [read_via(f) for f in files]
    for f in sorted((DATA / "dgb" / "real" / "images").glob("Ghost_img_D*.jpg")):
        image = np.asarray(Image.open(f))[..., 0]
        index, live = ccd_map(layout, int(re.search(r"D(\d+)", f.name).group(1)))
        for ann in annotations:
            yield (image, live, index, *instance_masks(ann.get(f.name, [])))


def print_by_class_and_size(title, real, rendered, key):
    """Percentiles of ``key`` per class and area bin (Rays in one bin), real against rendered rows."""
    print(f"\n{title:<44}{'real: n  p16  median  p84':>28}{'rendered: n  p16  median  p84':>32}")
    for cid, name in CLASS_NAMES.items():
        bins = ((0, 10 ** 6),) if cid == 3 else AREA_BINS_PX
        for lo, hi in bins:
            cells = []
            for rows in (real, rendered):
                v = [r[key] for r in rows if r["class_id"] == cid and lo <= r["area_px"] < hi]
                cells.append(f"{len(v):5d} " + ("  ".join(f"{x:5.2f}" for x in np.percentile(v, [16, 50, 84]))
                                                if len(v) >= 4 else "      (too few)"))
            print(f"{name + f' {key}, area {lo}-{hi} px':<44}{cells[0]:>28}{cells[1]:>32}")


def compare_contrasts(layout, n_rendered=80):
    """Contrast inside real annotations and inside the renderer's masks, then across their edges."""
    real, real_edges = [], []
    for image, live, index, masks, labels in real_annotated(layout):
        real += instance_contrasts(image, live, masks, labels)
        real_edges += instance_edge_contrasts(image, live, index, masks, labels)
    rng = np.random.default_rng(2)
    index, live = ccd_map(layout, 500000)
    rendered, rendered_edges = [], []
    for i in range(n_rendered):  # half with local sky subtraction, as in training
        t = render_training_image(rng, layout, expnum=500000, jpeg_quality=75, background_mesh_px=8 if i % 2 else None)
        rendered += instance_contrasts(t.image, live, t.masks, t.labels)
        rendered_edges += instance_edge_contrasts(t.image, live, index, t.masks, t.labels)
    print_by_class_and_size("contrast inside instances (noise units)", real, rendered, "median")
    for cid, name in CLASS_NAMES.items():
        v = [[r["p90"] for r in rows if r["class_id"] == cid] for rows in (real, rendered)]
        print(f"{name + ' 90th percentile, all sizes':<44}{len(v[0]):5d}{np.median(v[0]):>17.2f}{len(v[1]):>15d}"
              f"{np.median(v[1]):>17.2f}")
    print_by_class_and_size("step across the edge, per CCD (noise units)", real_edges, rendered_edges, "edge")


def compare_annotation_structure(layout):
    """Instances per image and nested ghost share: annotations against the training renderer."""
    print(f"\n{'annotation structure':<48}{'images':>7}{'inst/image':>12}{'nested ghosts':>16}")
    sources = [("paper's training+val annotations", sorted((DATA / "dgb" / "annotations").glob("annotations_[tv]*.json"))),
               ("30 real images, 8 annotators (pooled)", sorted((DATA / "dgb" / "real" / "annotations").glob("common_core_*.json")))]
    for name, files in sources:
        stats = [annotation_statistics(*instance_masks(regions))
                 for f in files for regions in read_via(f).values() if regions]
        if stats:
            nesting_row(name, stats)
    rng = np.random.default_rng(1)
    rendered = [render_training_image(rng, layout) for _ in range(150)]
    nesting_row("training renderer (150 images with artifacts)",
                [annotation_statistics(t.masks, t.labels) for t in rendered if len(t.labels)])


def compare_source_stars(layout, n_rendered=60):
    """Largest saturated patch, images with at least 3 annotated instances against those with fewer."""
    files = sorted((DATA / "dgb" / "real" / "annotations").glob("common_core_*.json"))
    annotations = [read_via(f) for f in files]
    real = {True: [], False: []}
    for f in sorted((DATA / "dgb" / "real" / "images").glob("Ghost_img_D*.jpg")):
        live = ccd_map(layout, int(re.search(r"D(\d+)", f.name).group(1)))[1]
        n_inst = np.mean([len(a.get(f.name, [])) for a in annotations])
        real[n_inst >= 3].append(largest_saturated_area_px(np.asarray(Image.open(f))[..., 0], live))
    rng = np.random.default_rng(2)
    _, live = ccd_map(layout, 500000)
    rendered = {True: [], False: []}
    for _ in range(n_rendered):
        t = render_training_image(rng, layout, jpeg_quality=75)
        rendered[len(t.labels) >= 3].append(largest_saturated_area_px(t.image, live))
    print(f"\n{'largest saturated patch (px >= 240)':<44}{'real: n  p16  median  p84':>28}{'rendered: n  p16  median  p84':>32}")
    for many in (True, False):
        cells = [f"{len(v):5d}{np.percentile(v, 16):>7.0f}{np.median(v):>8.0f}{np.percentile(v, 84):>6.0f}" if v else ""
                 for v in (real[many], rendered[many])]
        print(f"{('>= 3' if many else '< 3') + ' instances':<44}{cells[0]:>28}{cells[1]:>32}")


def compare_families(n_drawn=2000):
    """Ghost-family statistics (research/families.py): real 30 (per annotator) against the simulator's draws."""
    from desghost.simulate.artifacts import draw_artifacts, family_regions
    from research.families import family_statistics

    stats = json.loads((ROOT / "desghost" / "family_stats.json").read_text())
    rng = np.random.default_rng(1)
    drawn = [family_regions(draw_artifacts(rng)) for _ in range(n_drawn)]
    sim = family_statistics(drawn)
    rows = [("families with a big faint disc", "p_big_faint_given_family", None),
            ("images without a family: big disc", "p_big_faint_without_family", None),
            ("disc along the line (x family distance)", "along", "median"),
            ("disc across the line (x family distance)", "across", "median"),
            ("disc radius (px)", "r_px", "median")]
    print(f"\n{'ghost families':<42}{'real 30 (8 annotators)':>24}{'paper 2000':>22}{f'drawn ({n_drawn})':>22}")
    for label, key, part in rows:
        cells = []
        for src in (stats["real_30_per_annotator"], stats["paper_2000"], sim):
            v = src[key] if part is None else src[key][part]
            digits = 2 if abs(v) < 10 else 0
            spread = "" if part is None else f" [{src[key]['p16']:.{digits}f}, {src[key]['p84']:.{digits}f}]"
            cells.append(f"{v:.{digits}f}{spread}")
        print(f"{label:<42}{cells[0]:>24}{cells[1]:>22}{cells[2]:>22}")
    for key, label in (("small", "largest member < 30 px"), ("large", "largest member >= 30 px")):
        cells = [f"{src['disc_by_member_radius'][key]['p']:.2f} (n={src['disc_by_member_radius'][key]['n']})"
                 for src in (stats["real_30_per_annotator"], stats["paper_2000"], sim)]
        print(f"{'disc share, ' + label:<42}{cells[0]:>24}{cells[1]:>22}{cells[2]:>22}")
    print("(the disc radius spread is p16-p84; families: >= 2 small ghosts within 8 deg of polar angle;\n"
          " disc share: of each image's outermost family, by its largest small ghost)")


def compare_sky_transfer(files, layout, draws=60):
    """Real images as read against real images given another real image's sky (train --real-photometry transfer)."""
    images = [read_focal_plane_image(f)[0] for f in files]
    live = [live_pixels(layout, Path(f).name) for f in files]
    sky = [sky_statistics(img, lv) for img, lv in zip(images, live)]
    rng = np.random.default_rng(1)
    transferred = []
    for _ in range(draws):
        i, j = (int(k) for k in rng.integers(len(images), size=2))
        transferred.append(image_statistics(transfer_sky(images[i], live[i], sky[i], sky[j]), live[i]))
    as_read = [image_statistics(img, lv) for img, lv in zip(images, live)]
    print(f"\nReal images' photometric jitter (train --real-photometry transfer; {draws} draws):")
    print(f"{'statistic':<18}{f'as read ({len(files)}): min  median  max':>34}{'sky-transferred':>26}")
    for key in ("median", "half_width_16_84", "noise_sigma", "p99", "frac_255"):
        print(f"{key:<18}{summarize(as_read, key):>34}{summarize(transferred, key):>26}")


def main():
    folder = DATA / "dgb" / "real" / "images"
    files = sorted(glob.glob(str(folder / "Ghost_img_D*.jpg")))
    if not files:
        sys.exit(f"no real images under {folder}")
    layout = load_layout()
    real = []
    for f in files:
        expnum = int(re.search(r"D(\d+)", f).group(1))
        real.append(image_statistics(np.asarray(Image.open(f))[..., 0], ccd_map(layout, expnum)[1]))
    rng = np.random.default_rng(0)
    _, live = ccd_map(layout, 500000)
    rendered = [image_statistics(render_training_image(rng, layout, jpeg_quality=75).image, live) for _ in range(20)]
    embossed = [image_statistics(render_training_image(rng, layout, jpeg_quality=75, background_mesh_px=8).image, live)
                for _ in range(20)]
    assembled = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(4):
            path = Path(tmp) / f"s{seed}.fits.fz"
            write_simulated_exposure(path, SimulationConfig(expnum=700000 + seed, seed=seed))
            fp = assemble_exposure(path)
            assembled.append(image_statistics(jpeg_roundtrip(fp.image), ccd_map(layout, fp.expnum)[1]))
    print(f"{'statistic':<18}{'real (30): min  median  max':>30}{'rendered (20)':>26}{'local sky (20)':>26}"
          f"{'assembled (4)':>26}")
    for key in real[0]:
        print(f"{key:<18}{summarize(real, key):>30}{summarize(rendered, key):>26}{summarize(embossed, key):>26}"
              f"{summarize(assembled, key):>26}")
    compare_sky_transfer(files, layout)
    compare_annotation_structure(layout)
    compare_contrasts(layout)
    compare_source_stars(layout)
    compare_families()
    print("\nRemaining differences (by construction or not yet modelled):")
    print("- real medians vary 37-65 between exposures; ours sit at 55 (the stretch fixes it; the model")
    print("  sees the spread through training-time stretch jitter).")
    print("- real faint ghosts often look 'embossed' (bright/dark edges) after DES sky subtraction; the")
    print("  'local sky' column renders that (mesh 8 px; training draws 5-14 px for half the images),")
    print("  the others keep soft discs/annuli with rims and spider shadows.")
    print("- real images hold more faint stars and galaxies than ours.")
    print("- each ghost family's source star is rendered (desghost.simulate.source: placed from the")
    print("  ghosts' radial line, with spikes and glow); small Bright ghosts have their own dimmer range")
    print("  since session 9 (median contrast 2.9 against the real 2.0; it was 4.6).")
    print("- the edges of large Faint ghosts: the annotators marked many whose edges are invisible (median")
    print("  step 0.09 noise units); rendered ones show theirs (0.43).")


if __name__ == "__main__":
    main()
