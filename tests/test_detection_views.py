"""Test-time augmentation: view transforms and the fusion of instances across views."""
import numpy as np
import pytest
import torch

from desghost.detection.detect import detect_images
from desghost.detection.model import ModelConfig, build_model, load_model, save_model
from desghost.detection.views import apply_view, fuse_views, unflip_boxes, view_flips


def _square(y0, x0, size, shape=(40, 40)):
    m = np.zeros(shape, dtype=bool)
    m[y0:y0 + size, x0:x0 + size] = True
    return m


def _box(mask):
    rows, cols = np.nonzero(mask)
    return [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]


def test_views_undo_themselves_and_boxes_map_back():
    img = np.arange(12).reshape(3, 4)
    for flips in view_flips(4):
        assert np.array_equal(apply_view(apply_view(img, flips), flips), img)
    m = _square(5, 2, 4)  # rows 5-8, cols 2-5 in a 40x40 image
    for flips in view_flips(4):
        seen = apply_view(m, flips)
        back = unflip_boxes([_box(seen)], flips, 40, 40)[0]
        assert list(back) == _box(m), flips
    with pytest.raises(ValueError, match="tta_views"):
        view_flips(3)


def test_fusion_merges_matching_instances_and_divides_by_the_number_of_views():
    a = _square(5, 5, 10)
    a_shift = _square(6, 5, 10)   # IoU 0.82 with a: the same artifact seen in another view
    b = _square(25, 25, 8)
    views = [
        (np.array([1, 2]), np.array([0.9, 0.6]), np.stack([a, b]), np.array([_box(a), _box(b)], float)),
        (np.array([1]), np.array([0.7]), np.stack([a_shift]), np.array([_box(a_shift)], float)),
    ]
    labels, scores, masks, boxes = fuse_views(views, n_views=2)
    assert list(labels) == [1, 2]
    assert scores == pytest.approx([0.8, 0.3])        # (0.9 + 0.7) / 2 and 0.6 / 2
    # majority of two masks: pixels in at least one of the two (ties keep the pixel)
    assert np.array_equal(masks[0], a | a_shift) and list(boxes[0]) == _box(a | a_shift)
    assert np.array_equal(masks[1], b)


def test_fusion_keeps_classes_and_one_member_per_view_apart():
    a = _square(5, 5, 10)
    views = [
        (np.array([1, 1]), np.array([0.9, 0.5]), np.stack([a, a]), np.array([_box(a)] * 2, float)),
        (np.array([2]), np.array([0.8]), np.stack([a]), np.array([_box(a)], float)),
    ]
    labels, scores, masks, _ = fuse_views(views, n_views=2)
    # the two same-view instances stay apart, and the other class is never merged in
    assert sorted(zip(labels.tolist(), np.round(scores, 3).tolist())) == [(1, 0.25), (1, 0.45), (2, 0.4)]
    empty = fuse_views([(np.zeros(0, int), np.zeros(0), np.zeros((0, 40, 40), bool), np.zeros((0, 4)))], 1)
    assert empty[2].shape == (0, 40, 40) and empty[1].size == 0


def test_detect_with_flip_views_is_flip_invariant(tmp_path):
    """With the left-right view, an image and its mirror give mirrored results (a real forward pass)."""
    from desghost.simulate.training import render_training_image
    torch.manual_seed(0)
    cfg = ModelConfig()
    path = tmp_path / "m.safetensors"
    save_model(path, build_model(cfg), cfg)
    lm = load_model(path, device="cpu", overrides={"tta_views": 2, "detections_per_img": 20})
    img = render_training_image(np.random.default_rng(5)).image
    a, b = detect_images([img, img[:, ::-1].copy()], lm, threshold=0.0, batch_size=4)
    assert len(a) > 0
    key = lambda i: (i.class_id, round(i.score, 3))  # noqa: E731
    keys_a, keys_b = sorted(map(key, a)), sorted(map(key, b))
    assert [c for c, _ in keys_a] == [c for c, _ in keys_b]
    assert [s for _, s in keys_a] == pytest.approx([s for _, s in keys_b], abs=2e-3)  # flat: pytest 9 refuses nesting
    best_a, best_b = max(a, key=lambda i: i.score), max(b, key=lambda i: i.score)
    assert (best_a.mask ^ best_b.mask[:, ::-1]).sum() <= 0.02 * max(1, best_a.mask.sum())
