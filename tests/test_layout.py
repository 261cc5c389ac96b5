import csv
import json

import numpy as np
import pytest

from desghost.layout import load_layout

from .helpers import shared_data


def test_decam_layout_has_62_ccds_in_twelve_rows():
    layout = load_layout()
    assert layout.ccdnums == list(range(1, 63))
    per_row = {}
    for c in layout.ccds.values():
        per_row.setdefault(c.row, []).append(c)
    assert [len(per_row[r]) for r in sorted(per_row)] == [3, 4, 5, 6, 6, 7, 7, 6, 6, 5, 4, 3]
    # top row left to right is 3, 2, 1; bottom row 62, 61, 60: CCDNUM decreases left to right
    for row in per_row.values():
        by_x = sorted(row, key=lambda c: c.box_px[0])
        nums = [c.ccdnum for c in by_x]
        assert nums == sorted(nums, reverse=True)
    assert [c.ccdnum for c in sorted(per_row[1], key=lambda c: c.box_px[0])] == [3, 2, 1]
    assert [c.ccdnum for c in sorted(per_row[12], key=lambda c: c.box_px[0])] == [62, 61, 60]


def test_boxes_follow_the_mm_geometry_through_the_linear_map():
    layout = load_layout()
    for n, c in layout.ccds.items():
        assert np.allclose(c.box_px, layout.box_from_mm(n), atol=0.011), n
        x0, y0, x1, y1 = c.box_px
        assert 57.5 < x1 - x0 < 58.5 and 28.7 < y1 - y0 < 29.3  # 29.05 x 58.13 px


@pytest.mark.real_data
def test_boxes_match_the_measured_boxes_within_one_pixel():
    measured = list(csv.DictReader(open(shared_data("dgb", "ccd_boxes_400.csv"))))
    layout = load_layout()
    assert len(measured) == 62
    worst = 0.0
    for m in measured:
        box = np.clip(layout.ccds[int(m["ccdnum"])].box_px, 0, 400)  # measured boxes are clipped at the edges
        meas = np.array([float(m[k]) for k in ("x0", "y0", "x1", "y1")])
        assert layout.ccds[int(m["ccdnum"])].detpos == m["detpos"]
        worst = max(worst, float(np.abs(box - meas).max()))
    assert worst < 1.0, f"largest box difference {worst:.2f} px"


@pytest.mark.real_data
def test_layout_table_matches_the_reference_table():
    ref = {int(r["ccdnum"]): r for r in csv.DictReader(open(shared_data("decam", "decam_layout.csv")))}
    layout = load_layout()
    for n, c in layout.ccds.items():
        assert c.detpos == ref[n]["detpos"]
        assert c.x_center_mm == pytest.approx(float(ref[n]["x_center_mm"]))
        assert c.amp_a_side == ("right" if ref[n]["amp_a_side"].startswith("right") else "left")


def test_known_bad_regions_have_validity_ranges():
    layout = load_layout()
    assert 61 in layout.dead_ccds(160000) and 61 in layout.dead_ccds(900000)
    assert 2 in layout.dead_ccds(400000)
    assert 2 not in layout.dead_ccds(200000) and 2 not in layout.dead_ccds(700000)
    regions = layout.dead_regions(700000)
    assert [r.region for r in regions[31]] == ["amp_a"]
    assert 31 not in layout.dead_ccds(700000)


def test_another_camera_is_just_another_data_file(tmp_path):
    (tmp_path / "toy_ccds.csv").write_text(
        "ccdnum,detpos,row,col,x_center_mm,y_center_mm,xmin_mm,xmax_mm,ymin_mm,ymax_mm,detsec_x0,detsec_y0,"
        "amp_a_side,box_x0_px,box_y0_px,box_x1_px,box_y1_px\n"
        "1,A1,1,1,-10,0,-20,0,-20,20,1,1,right,10.0,10.0,50.0,30.0\n"
        "2,A2,2,1,10,0,0,20,-20,20,1,1,left,10.0,30.0,50.0,50.0\n")
    (tmp_path / "toy_bad.csv").write_text("ccdnum,detpos,region,expnum_min,expnum_max,reason\n2,A2,all,5,9,test\n")
    cfg = dict(load_layout().config)
    cfg.update(camera="Toy", instrument_keyword="Toy", ccd_table="toy_ccds.csv", bad_regions_table="toy_bad.csv",
               image_shape_px=[60, 60])
    (tmp_path / "toy_camera.json").write_text(json.dumps(cfg))
    toy = load_layout(str(tmp_path / "toy_camera.json"))
    assert toy.name == "Toy" and toy.ccdnums == [1, 2]
    assert toy.dead_ccds(7) == [2] and toy.dead_ccds(10) == []
