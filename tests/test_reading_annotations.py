"""VIA annotation loading: both layouts, every shape and quirk."""
import json

import numpy as np
import pytest

from desghost.classes import CLASS_IDS
from desghost.reading.annotations import instance_masks, read_via, region_mask

from .helpers import shared_data


def _write(path, records, project=False):
    if project:
        doc = {"_via_settings": {}, "_via_attributes": {}, "_via_img_metadata": {r["filename"] + "123": r for r in records}}
    else:
        doc = records
    path.write_text(json.dumps(doc))
    return path


def _rec(regions, name="img.jpg"):
    return {"filename": name, "size": 1, "file_attributes": {},
            "regions": [{"shape_attributes": s, "region_attributes": {"Type": t} if t else {}} for s, t in regions]}


def test_both_layouts_give_the_same_regions(tmp_path):
    regions = [({"name": "circle", "cx": 50, "cy": 60, "r": 10}, "Bright")]
    a = read_via(_write(tmp_path / "a.json", [_rec(regions)]))
    b = read_via(_write(tmp_path / "b.json", [_rec(regions)], project=True))
    assert list(a) == list(b) == ["img.jpg"]
    assert a["img.jpg"][0].class_id == b["img.jpg"][0].class_id == CLASS_IDS["Bright"]


def test_every_shape_and_point_skipped(tmp_path):
    regions = [
        ({"name": "circle", "cx": 50, "cy": 60, "r": 10}, "Bright"),
        ({"name": "ellipse", "cx": 200, "cy": 200, "rx": 30, "ry": 5, "theta": 0.5}, "Faint"),
        ({"name": "polygon", "all_points_x": [10, 40, 40, 10], "all_points_y": [300, 300, 330, 330]}, "Rays"),
        ({"name": "polyline", "all_points_x": [100, 130, 130, 100], "all_points_y": [300, 300, 330, 330]}, "Rays"),
        ({"name": "rect", "x": 300, "y": 20, "width": 10, "height": 5}, "Faint"),
        ({"name": "point", "cx": 5, "cy": 5}, None),
        ({"name": "point", "cx": 5, "cy": 5}, "Bright"),
        ({"name": "circle", "cx": 9, "cy": 9, "r": 3}, None),  # untyped: skipped
    ]
    regs = read_via(_write(tmp_path / "s.json", [_rec(regions)]))["img.jpg"]
    assert [r.shape for r in regs] == ["circle", "ellipse", "polygon", "polyline", "rect"]
    masks, labels = instance_masks(regs)
    assert masks.shape == (5, 400, 400) and labels.tolist() == [1, 2, 3, 3, 2]
    assert abs(masks[0].sum() - np.pi * 100) < 40
    assert masks[2].sum() == masks[3].sum() > 800  # the open polyline is filled like the polygon
    assert masks[4].sum() == 11 * 6


def test_via_theta_turns_clockwise_on_screen():
    from desghost.reading.annotations import Region
    m = region_mask(Region(2, "ellipse", {"cx": 200, "cy": 200, "rx": 30, "ry": 4, "theta": 0.5}))
    dx, dy = 20 * np.cos(0.5), 20 * np.sin(0.5)
    assert m[int(round(200 + dy)), int(round(200 + dx))]  # down-right: +theta is clockwise (y down)
    assert not m[int(round(200 - dy)), int(round(200 + dx))]


def test_shapes_are_clipped_never_wrapped():
    from desghost.reading.annotations import Region
    m = region_mask(Region(1, "circle", {"cx": 395, "cy": 200, "r": 20}))
    assert m[:, 370:].any() and not m[:, :100].any()
    m = region_mask(Region(3, "polygon", {"all_points_x": [-30, 20, 20, -30], "all_points_y": [0, 0, 20, 20]}))
    assert m[:20, :20].all() and not m[:, 380:].any()


@pytest.mark.real_data
def test_real_annotation_files_load():
    for path in sorted(shared_data("dgb", "real", "annotations").glob("common_core_*.json")):
        regs = read_via(path)
        assert len(regs) == 30, path.name
        n = sum(len(instance_masks(r)[1]) for r in regs.values())
        assert n > 50, path.name
    full = read_via(shared_data("dgb", "annotations", "annotations_full.json"))
    assert len(full) == 1980
    counts = {c: 0 for c in (1, 2, 3)}
    for regs in list(full.values())[:300]:
        for lab in instance_masks(regs)[1]:
            counts[int(lab)] += 1
    assert all(v > 50 for v in counts.values())
