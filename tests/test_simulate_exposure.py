"""The simulator: headers, compression, WCS, dead CCDs, ground truth, training images."""
import json

import fitsio
import numpy as np
import pytest
from astropy.wcs import WCS

from desghost.focalplane.ccd_map import ccd_map
from desghost.layout import load_layout
from desghost.simulate.artifacts import (
    AMPLITUDE_RANGE,
    SMALL_BRIGHT_AMPLITUDE_RANGE,
    SMALL_BRIGHT_AREA_PX,
    Artifact,
    amplitude_range,
    draw_artifacts,
    footprint_mask,
    load_stats,
    surface,
)
from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure
from desghost.simulate.training import render_training_image
from research.imagestats import annotation_statistics, edge_steps, instance_contrasts, instance_edge_contrasts


def test_raw_file_structure_matches_decam(raw_exposure):
    with fitsio.FITS(raw_exposure[0]) as f:
        assert len(f) == 63
        prim = f[0].read_header()
        assert prim["INSTRUME"] == "DECam" and prim["EXPNUM"] == 700001 and prim["PROCTYPE"] == "RAW"
        assert "DATE-OBS" in prim and "MJD-OBS" in prim and prim["FILTER"].startswith("r ")
        s1 = f["S1"]
        assert s1.is_compressed()
        h = s1.read_header()
        assert h["CCDNUM"] == 25 and h["DETPOS"] == "S1" and h["INHERIT"]
        assert h["DATASEC"] == "[57:312,51:562]"  # S CCDs: postscan rows first, like DECam
        assert f["N1"].read_header()["DATASEC"] == "[57:312,1:512]"
        assert s1.get_dims() == [562, 368]
        assert s1.read().dtype == np.uint16
        raw_hdr = fitsio.read_header(raw_exposure[0], ext=1)
        assert raw_hdr.get("ZCMPTYPE", "RICE_1") == "RICE_1"


def test_rice_tiles_are_one_row(raw_exposure):
    import astropy.io.fits as afits
    with afits.open(raw_exposure[0], disable_image_compression=True) as hdul:
        hdr = hdul[1].header
        assert hdr["ZCMPTYPE"] == "RICE_1" and hdr["ZTILE2"] == 1 and hdr["ZTILE1"] == hdr["ZNAXIS1"]


def test_wcs_is_a_valid_decam_like_tan_per_ccd(raw_exposure):
    layout = load_layout()
    with fitsio.FITS(raw_exposure[0]) as f:
        centres = {}
        for ccd in (1, 3, 28, 62):
            hdr = f[layout.ccds[ccd].detpos].read_header()
            w = WCS({k: hdr[k] for k in ("CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2",
                                          "CD1_1", "CD1_2", "CD2_1", "CD2_2")})
            centres[ccd] = w.pixel_to_world(56 + 127.5, (50 if ccd < 32 else 0) + 255.5)
    # distances between CCD centres follow the focal-plane mm at 0.263"/15um = 17.53 "/mm
    for a, b in ((1, 3), (1, 62), (28, 62)):
        ca, cb = layout.ccds[a], layout.ccds[b]
        mm = np.hypot(ca.x_center_mm - cb.x_center_mm, ca.y_center_mm - cb.y_center_mm)
        assert centres[a].separation(centres[b]).arcsec == pytest.approx(mm * 17.53, rel=0.01)
    # S29 (CCD 1) is east of S31 (CCD 3): sky east is image left, and CCD 3 sits left of CCD 1
    assert centres[3].ra.deg > centres[1].ra.deg


def test_truth_file_describes_every_artifact(raw_exposure):
    truth = json.load(open(raw_exposure[1]))
    layout = load_layout()
    assert truth["expnum"] == 700001 and truth["dead_ccds"] == [61]
    assert truth["artifacts"], "the default draw takes an annotated image, never empty"
    for art in truth["artifacts"]:
        assert art["class"] in ("Bright", "Faint", "Rays")
        px = np.array(art["footprint_px"])
        mm = np.array(art["footprint_mm"])
        col, row = layout.mm_to_image_px(mm[:, 0], mm[:, 1])
        assert np.allclose(col, px[:, 0], atol=0.02) and np.allclose(row, px[:, 1], atol=0.02)
        assert 61 not in art["ccds"]
        assert set(art["ccds"]) == {int(k) for k in art["ccd_footprints"]}
        for fp in art["ccd_footprints"].values():
            x0, y0, x1, y1 = fp["bbox_px"]
            assert -0.6 <= x0 <= x1 <= 255.6 and -0.6 <= y0 <= y1 <= 511.6
            assert 0 < fp["area_frac"] <= 1.0


def test_truth_ccds_match_the_400px_mask():
    layout = load_layout()
    index, live = ccd_map(layout, 700001)
    rng = np.random.default_rng(5)
    from desghost.simulate.artifacts import footprint_polygon
    from desghost.simulate.geometry import ccd_footprints
    for art in draw_artifacts(rng, 12):
        by_polygon = set(ccd_footprints(layout, footprint_polygon(art), 256, 512))
        by_mask = set(np.unique(index[footprint_mask(art) & (index > 0)]).tolist())
        assert by_mask <= by_polygon  # pixel centres inside imply overlap
        assert len(by_polygon - by_mask) <= 6  # only slivers smaller than a pixel centre may differ


def test_counts_and_classes_follow_the_annotation_statistics():
    stats = load_stats()
    assert len(stats["images"]) > 1000
    rng = np.random.default_rng(0)
    classes = [a.cls for _ in range(200) for a in draw_artifacts(rng)]
    frac = {c: classes.count(c) / len(classes) for c in ("Bright", "Faint", "Rays")}
    ref = [r[0] for im in stats["images"] for r in im]
    for c in frac:
        assert abs(frac[c] - ref.count(c) / len(ref)) < 0.12
    assert draw_artifacts(rng, 0) == []


def test_annotation_statistics_counts_nested_ghosts_of_the_same_class():
    masks = np.zeros((5, 40, 40), dtype=bool)
    masks[0, 5:35, 5:35] = True    # Faint family ring
    masks[1, 10:20, 10:20] = True  # Faint, inside 0: nested
    masks[2, 12:18, 12:18] = True  # Bright inside 0 but another class: not nested
    masks[3, 30:39, 30:39] = True  # Faint, only 25 of 81 pixels inside 0: not nested
    masks[4, 0:40, 0:3] = True     # Rays: not a ghost
    stats = annotation_statistics(masks, [2, 2, 1, 2, 3])
    assert stats == {"instances": 5, "ghosts": 4, "nested_ghosts": 1}
    assert annotation_statistics(np.zeros((0, 40, 40), bool), [])["nested_ghosts"] == 0


def test_instance_contrast_is_the_step_above_sky_in_noise_units():
    rng = np.random.default_rng(0)
    image = 50.0 + 10.0 * rng.standard_normal((200, 200))
    masks = np.zeros((2, 200, 200), dtype=bool)
    masks[0, 50:100, 50:100] = True
    masks[1, 150:152, 150:152] = True  # too small to measure: skipped
    image[masks[0]] += 30.0
    live = np.ones((200, 200), dtype=bool)
    (rec,) = instance_contrasts(image, live, masks, [2, 1])
    assert rec["class_id"] == 2 and rec["area_px"] == 2500
    assert abs(rec["median"] - 3.0) < 0.25 and abs(rec["p90"] - (3.0 + 1.28)) < 0.3


def test_edge_contrast_sees_a_ghost_only_where_its_edge_crosses_a_ccd():
    rng = np.random.default_rng(3)
    image = 50.0 + 10.0 * rng.standard_normal((200, 400))
    ccd_index = np.zeros((200, 400), dtype=int)
    ccd_index[:, :200], ccd_index[:, 200:] = 1, 2
    live = np.ones((200, 400), dtype=bool)
    rows, cols = np.mgrid[0:200, 0:400]
    disc = np.hypot(rows - 100.0, cols - 200.0) < 60  # a ghost across both CCDs
    image[disc] += 20.0
    (rec,) = instance_edge_contrasts(image, live, ccd_index, disc[None], [2])
    assert rec["class_id"] == 2 and rec["area_px"] == int(disc.sum())
    assert abs(rec["edge"] - 2.0) < 0.3  # the 20-unit step over noise 10
    beside = np.hypot(rows - 100.0, cols - 330.0) < 50  # a mask on plain sky, clear of the ghost
    (off,) = instance_edge_contrasts(image, live, ccd_index, beside[None], [2])
    assert abs(off["edge"]) < 0.3
    edge_cut = np.hypot(rows - 100.0, cols - 395.0) < 40  # on sky and cut by the image border: no step either
    (cut,) = instance_edge_contrasts(image, live, ccd_index, edge_cut[None], [1])
    assert abs(cut["edge"]) < 0.3
    others = np.zeros((2, 200, 400), dtype=bool)
    others[0, :, :200] = True  # covers CCD 1 exactly: no edge on any CCD
    others[1, 150:152, 150:152] = True  # too small for the bands
    assert instance_edge_contrasts(image, live, ccd_index, others, [2, 1]) == []
    steps = edge_steps(image, live, ccd_index, np.stack([disc, others[0], others[1]]))
    assert abs(steps[0] - rec["edge"]) < 1e-12 and np.isnan(steps[1:]).all()  # one value per mask, NaN where undefined


def test_amplitudes_are_log_uniform_within_their_class_and_size_range(monkeypatch):
    import desghost.simulate.artifacts as artifacts
    monkeypatch.setattr(artifacts, "NESTED_COMPANION_PROBABILITY", 0.0)  # companions scale their ghost's
    monkeypatch.setattr(artifacts, "FAMILY_DISC_PROBABILITY", 0.0)  # family discs: their own range (test_families)
    rng = np.random.default_rng(5)
    arts = [a for _ in range(400) for a in draw_artifacts(rng)]
    groups = {}
    for a in arts:
        groups.setdefault(amplitude_range(a.cls, np.pi * a.a_px * a.b_px), []).append(a.amplitude)
    assert set(groups) == set(AMPLITUDE_RANGE.values()) | {SMALL_BRIGHT_AMPLITUDE_RANGE}
    for (lo, hi), amp in groups.items():
        amp = np.array(amp)
        assert amp.min() >= lo and amp.max() <= hi
        assert abs(np.log(np.median(amp)) - 0.5 * np.log(lo * hi)) < 0.1 * np.log(hi / lo)  # uniform draws would miss by 0.17-0.2
    small = [a for a in arts if a.cls == "Bright" and np.pi * a.a_px * a.b_px < SMALL_BRIGHT_AREA_PX]
    assert 0.2 < len(small) / sum(a.cls == "Bright" for a in arts) < 0.8  # both Bright ranges are used


def test_rays_are_thin_streaks_over_a_dim_glow():
    rows, cols = np.mgrid[0:400, 0:400] + 0.5
    soft = Artifact("Rays", 200.0, 200.0, 80.0, 30.0, 20.0, 10.0, softness_px=1.0, taper=0.2)
    streaky = Artifact("Rays", 200.0, 200.0, 80.0, 30.0, 20.0, 10.0, softness_px=1.0, taper=0.2, streaks=3, streak_seed=4)
    inside = footprint_mask(soft)
    for art, lo, hi in ((soft, 0.4, 1.0), (streaky, 0.0, 0.2)):
        values = surface(art, cols, rows)[inside]
        assert lo < np.median(values) / values.max() < hi
    again = surface(Artifact(**{**streaky.__dict__}), cols, rows)
    assert np.array_equal(again, surface(streaky, cols, rows))  # the seed fixes the streaks


@pytest.mark.slow
def test_synthetic_ghost_families_nest_about_as_often_as_annotated_ones():
    # the paper's annotations: 21% (training set), 28% (eight annotators of the 30 real images)
    rng = np.random.default_rng(3)
    totals = np.zeros(2)
    for _ in range(60):
        t = render_training_image(rng)
        s = annotation_statistics(t.masks, t.labels)
        totals += (s["nested_ghosts"], s["ghosts"])
    assert 0.15 < totals[0] / totals[1] < 0.38


def test_expnum_selects_dead_ccds(tmp_path):
    files, truth = write_simulated_exposure(tmp_path / "x.fits.fz",
                                            SimulationConfig(expnum=400000, seed=1, n_artifacts=0))
    assert json.load(open(truth))["dead_ccds"] == [2, 61]
    with fitsio.FITS(files[0]) as f:
        s30 = f["S30"].read().astype(float)
        s31 = f["S31"].read().astype(float)
    assert s30[60:, 60:300].std() < 5 and s31[60:, 60:300].mean() > s30[60:, 60:300].mean() + 200


def test_simulation_is_reproducible(tmp_path):
    a, _ = write_simulated_exposure(tmp_path / "a.fits.fz", SimulationConfig(flavor="ooi", seed=9))
    b, _ = write_simulated_exposure(tmp_path / "b.fits.fz", SimulationConfig(flavor="ooi", seed=9))
    assert np.array_equal(fitsio.read(a[0], ext=5), fitsio.read(b[0], ext=5))


def test_training_images_have_masks_matching_their_labels():
    layout = load_layout()
    _, live = ccd_map(layout, 500000)
    rng = np.random.default_rng(1)
    for _ in range(3):
        t = render_training_image(rng, layout)
        assert t.image.shape == (400, 400) and t.image.dtype == np.uint8
        assert len(t.masks) == len(t.labels) == len(t.artifacts)
        assert set(t.labels.tolist()) <= {1, 2, 3}
        assert np.all(t.image[~live] == 23)
        v = t.image[live].astype(float)
        assert 50 <= np.median(v) <= 60 and 11 <= (np.percentile(v, 84) - np.percentile(v, 16)) / 2 <= 18
        for m, art in zip(t.masks, t.artifacts):
            assert m.sum() >= 4
            if art.cls == "Bright" and art.hole_frac == 0 and (m & live).sum() > 100:
                assert t.image[m & live].mean() > np.median(v) + 20


@pytest.mark.slow
def test_full_size_raw_exposure(full_size_exposure):
    size = full_size_exposure.stat().st_size
    assert 0.3e9 < size < 0.7e9
    with fitsio.FITS(str(full_size_exposure)) as f:
        assert f["N4"].get_dims() == [4146, 2160]


def test_local_background_embosses_faint_discs_and_keeps_stars():
    from desghost.simulate.training import subtract_local_background
    layout = load_layout()
    index, live = ccd_map(layout, 500000)
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((400, 400))
    rows, cols = np.mgrid[0:400, 0:400]
    ccd = index == 28
    r0, c0 = np.argwhere(ccd).mean(0)
    disc = ((rows - r0) ** 2 + (cols - c0) ** 2 < 14 ** 2) * 1.5      # faint, larger than the mesh
    star = ((rows - r0 - 20) ** 2 + (cols - c0) ** 2 < 2) * 40.0        # bright and small
    values = noise + disc + star
    out = subtract_local_background(values.copy(), index, live, mesh_px=6)
    inner = ccd & ((rows - r0) ** 2 + (cols - c0) ** 2 < 8 ** 2)
    edge = ccd & (np.abs(np.hypot(rows - r0, cols - c0) - 12.5) < 1.5)
    assert values[inner].mean() > 1.2 and abs(out[inner].mean()) < 0.4      # interior flattened
    assert out[edge].mean() > out[inner].mean() + 0.3                       # the rim survives
    assert out[star > 0].mean() > 35                                        # the star is kept
    assert np.array_equal(out[~live], values[~live])                        # gaps untouched


@pytest.mark.slow
def test_clean_fraction_sets_the_share_of_artifact_free_training_images():
    from desghost.training.dataset import CLEAN_FRACTION, synthetic_sample
    n = 24
    default = [synthetic_sample(5, i, augment_images=False) for i in range(n)]
    explicit = [synthetic_sample(5, i, augment_images=False, clean_fraction=CLEAN_FRACTION) for i in range(n)]
    # the default is the explicit constant: same stream, image for image
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(default, explicit))
    all_clean = [synthetic_sample(5, i, augment_images=False, clean_fraction=1.0) for i in range(n)]
    assert all(len(labels) == 0 and masks.shape[0] == 0 for _, masks, labels in all_clean)
    none_clean = [synthetic_sample(5, i, augment_images=False, clean_fraction=0.0) for i in range(n)]
    assert all(len(labels) > 0 for _, _, labels in none_clean)
