"""Pure pieces of training: resume checks, a failing validation, the real-image split."""
import pytest

from desghost.focalplane.annotated_set import real_split
from desghost.training.config import resume_conflicts
from desghost.training.train import _safe_validate


def test_a_failing_validation_does_not_stop_training():
    class M:
        training = True

        def eval(self):
            self.training = False

        def train(self):
            self.training = True

    model, logs = M(), []

    def boom(_):
        raise ValueError("bad metric")

    out = _safe_validate(boom, model, logs.append)
    assert "error" in out and model.training and "training goes on" in logs[0]
    assert _safe_validate(lambda _: {"ok": 1}, model, logs.append) == {"ok": 1}


def test_resume_may_change_only_the_length_and_bookkeeping():
    saved = {"steps": 100, "seed": 3, "lr": 2e-4, "log_every": 10, "real_images_trained": ["a.jpg"]}
    assert resume_conflicts(saved, {**saved, "steps": 400, "log_every": 50}) == []
    found = resume_conflicts(saved, {**saved, "lr": 4e-4, "real_images_trained": []})
    assert found == ["lr: checkpoint 0.0002, now 0.0004", "real_images_trained: checkpoint ['a.jpg'], now []"]
    # older checkpoints lack later settings: they ran with what the default keeps
    assert resume_conflicts({"seed": 3}, {"seed": 3, "clean_fraction": 0.15, "real_photometry": "as_read"}) == []
    assert resume_conflicts({"seed": 3}, {"seed": 3, "real_photometry": "transfer"}) == [
        "real_photometry: checkpoint 'as_read', now 'transfer'"]


def test_real_split_is_by_sorted_name():
    assert real_split({"c.jpg": 1, "a.jpg": 2, "b.jpg": 3}, 2) == (["a.jpg", "b.jpg"], ["c.jpg"])


def test_a_mirrored_annotated_polygon_lands_on_the_pixels_of_the_mirrored_image():
    import numpy as np

    from desghost.reading.annotations import Region, region_mask
    from desghost.training.dataset import mirror

    xs, ys = [50, 180, 170, 90, 40], [30, 60, 200, 240, 120]
    region = Region(3, "polygon", {"name": "polygon", "all_points_x": xs, "all_points_y": ys})
    mask = region_mask(region, (400, 400))
    image = np.full((400, 400), 30, np.uint8)
    image[mask] = 200                                 # the artifact the annotator outlined
    for lr, ud in ((True, False), (False, True), (True, True)):
        img, masks = mirror(image, mask[None], lr, ud)
        # the polygon mirrored as geometry (x -> 399 - x, y -> 399 - y) covers the mirrored pixels
        mx = [399 - x for x in xs] if lr else xs
        my = [399 - y for y in ys] if ud else ys
        moved = region_mask(Region(3, "polygon", {"name": "polygon", "all_points_x": mx, "all_points_y": my}),
                            (400, 400))
        assert np.array_equal(masks[0], moved) and np.array_equal(img == 200, masks[0]), (lr, ud)
        assert moved.sum() == mask.sum() > 1000


def test_the_ccd_layout_is_mirror_symmetric_but_not_turn_symmetric():
    import numpy as np

    from desghost.layout import load_layout

    layout = load_layout()
    h, w = layout.image_shape_px
    boxes = [np.array(g.box_px) for g in layout.ccds.values()]

    def worst(f):
        return max(min(np.abs(f(b) - o).max() for o in boxes) for b in boxes)

    assert worst(lambda b: np.array([w - b[2], b[1], w - b[0], b[3]])) < 1.0          # left-right
    assert worst(lambda b: np.array([b[0], h - b[3], b[2], h - b[1]])) < 1.0          # up-down
    assert worst(lambda b: np.array([b[1], w - b[2], b[3], w - b[0]])) > 20.0         # a 90-degree turn


def test_mirror_geometry_never_turns_a_real_image():
    import numpy as np

    from desghost.training.dataset import RealPool

    image = np.zeros((400, 400), np.uint8)
    image[10:20, 300:390] = 200                       # a wide bar near the top right: a turn makes it tall
    mask = image[None] == 200
    pool = RealPool({"a.jpg": {"image": image, "annotations": [(mask, np.array([3]))]}}, geometry="mirror")
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(40):
        img, masks, _ = pool.draw(rng)
        rows, cols = np.nonzero(masks[0])
        assert np.ptp(cols) > np.ptp(rows) and np.array_equal(img == 200, masks[0])
        seen.add((cols.min() < 200, rows.min() < 200))
    assert len(seen) == 4                             # all four mirror images occur
    turned = RealPool({"a.jpg": {"image": image, "annotations": [(mask, np.array([3]))]}}, geometry="dihedral")
    assert any(np.ptp(np.nonzero(turned.draw(rng)[1][0])[0]) > 50 for _ in range(40))
    with pytest.raises(ValueError, match="real geometry"):
        RealPool({}, geometry="rotate")


def test_transfer_sky_gives_an_image_another_images_sky_level_and_noise():
    import numpy as np

    from desghost.training.photometry import sky_statistics, transfer_sky

    rng = np.random.default_rng(1)
    image = np.clip(np.rint(rng.normal(40, 12, (400, 400))), 0, 254).astype(np.uint8)
    live = np.ones((400, 400), bool)
    live[:, 195:205] = False                         # a CCD gap at the fill value
    image[~live] = 23
    image[100:104, 100:104] = 255                    # a saturated star core
    source = sky_statistics(image, live)
    assert source[0] == 40 and abs(source[1] - 12) < 0.5
    before = image.copy()
    out = transfer_sky(image, live, source, (60.0, 18.0))
    median, noise = sky_statistics(out, live)
    assert median == 60 and abs(noise - 18) < 1.05   # the MAD of integer differences moves in steps of 1.05
    assert np.all(out[~live] == 23) and np.all(out[100:104, 100:104] == 255)
    assert out.dtype == np.uint8 and np.array_equal(image, before)  # the input is not changed in place
    steep = transfer_sky(image, live, source, (40.0, 60.0))          # gain 5: both ends clip
    assert steep[live].min() == 0 and (steep[live] == 255).sum() > (image[live] == 255).sum()
    with pytest.raises(ValueError, match="live pixel pairs"):
        sky_statistics(image, np.zeros((400, 400), bool))
    with pytest.raises(ValueError, match="positive source noise"):
        transfer_sky(image, live, (40.0, 0.0), (60.0, 18.0))


def test_the_live_pixels_of_a_real_image_are_its_ccds():
    import numpy as np

    from desghost.focalplane.imagefile import read_focal_plane_image
    from desghost.layout import load_layout
    from desghost.training.photometry import live_pixels

    from .helpers import shared_data

    path = shared_data("dgb", "real", "images", "Ghost_img_D00158660.jpg")
    image = read_focal_plane_image(path)[0]
    live = live_pixels(load_layout(), path.name)
    at_fill = np.abs(image.astype(int) - 23) <= 4    # the gaps' fill value, after JPEG
    assert at_fill[~live].mean() > 0.7 and at_fill[live].mean() < 0.1
    assert at_fill[live.T].mean() > 3 * at_fill[live].mean()   # a transposed mask would not fit


def test_as_read_draws_are_the_plain_augmented_images():
    import numpy as np

    from desghost.training.dataset import RealPool, augment

    rng = np.random.default_rng(3)
    image = rng.integers(0, 255, (400, 400)).astype(np.uint8)
    masks = np.zeros((1, 400, 400), bool)
    masks[0, 50:90, 300:320] = True
    pool = RealPool({"a.jpg": {"image": image, "annotations": [(masks, np.array([3]))]}})
    drawn, by_hand = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(5):
        got_image, got_masks, _ = pool.draw(drawn)
        by_hand.integers(1), by_hand.integers(1)     # the image, then the annotator
        want_image, want_masks = augment(by_hand, image, masks, jitter=False)
        assert np.array_equal(got_image, want_image) and np.array_equal(got_masks, want_masks)
    assert drawn.random() == by_hand.random()        # the stream goes on in step


def test_transfer_photometry_draws_the_sky_of_an_image_of_the_same_training_set():
    import numpy as np

    from desghost.training.dataset import RealPool
    from desghost.training.photometry import sky_statistics

    rng = np.random.default_rng(2)
    skies = {"a.jpg": (40, 12), "b.jpg": (62, 20)}
    samples = {}
    for name, (level, sigma) in skies.items():
        image = np.clip(np.rint(rng.normal(level, sigma, (400, 400))), 0, 254).astype(np.uint8)
        samples[name] = {"image": image, "annotations": [(np.zeros((1, 400, 400), bool), np.array([3]))]}
    pool = RealPool(samples, geometry="mirror", photometry="transfer")
    live = pool.live[0]
    assert live.mean() > 0.5                         # the layout's CCD pixels, not the gaps

    def nearest_sky(drawn_pool):
        # a mirrored draw is measured on the unmirrored live pixels: its median moves by 1-2 levels
        median = sky_statistics(drawn_pool.draw(rng)[0], live)[0]
        level = min((40, 62), key=lambda m: abs(m - median))
        assert abs(median - level) <= 2
        return level

    assert {nearest_sky(pool) for _ in range(30)} == {40, 62}   # every sky of the set occurs

    def live_minus_gaps(img):                        # the gaps keep the image's own sky
        return abs(np.median(img[live]) - np.median(img[~live]))

    assert any(live_minus_gaps(pool.draw(rng)[0]) > 15 for _ in range(40))      # another image's sky
    plain = RealPool(samples, geometry="mirror")
    assert {nearest_sky(plain) for _ in range(30)} == {40, 62}
    assert all(live_minus_gaps(plain.draw(rng)[0]) <= 2 for _ in range(30))    # as_read: always its own
    assert plain.sky == []                           # as_read computes nothing
    with pytest.raises(ValueError, match="real photometry"):
        RealPool(samples, photometry="stretch")
