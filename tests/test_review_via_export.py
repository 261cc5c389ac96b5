"""The VIA round trip: export-via writes the reviewed night as a VIA 2.0 project, an annotator edits it,
and training reads back exactly the edited regions and records the images it learned from."""
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from desghost.catalog.store import Catalog
from desghost.classes import CLASS_IDS
from desghost.cli import main
from desghost.reading.annotations import read_via


@pytest.fixture
def exported(demo_night, tmp_path):
    night = tmp_path / "night"
    shutil.copytree(demo_night, night, ignore=shutil.ignore_patterns("report"))
    with Catalog(night / "desghost_catalog.sqlite") as cat:
        expnum = cat.query("SELECT expnum FROM exposures")[0]["expnum"]
        outlines = {r["instance_id"]: json.loads(r["outline_px"])
                    for r in cat.query("SELECT instance_id, outline_px FROM instances")}
        cat.record_decision(expnum, "instance", "1", "reject", "ann")
        cat.record_decision(expnum, "exposure", "", "missed", "ann", "Bright", ccdnums=[12])
    assert main(["-q", "export-via", str(night), "-o", str(tmp_path / "via")]) == 0
    return night, tmp_path / "via", expnum, outlines


def test_export_via_writes_the_reviewed_regions_as_a_via_2_project(exported):
    night, via, expnum, outlines = exported
    project = json.loads((via / "via_project.json").read_text())
    name = f"Ghost_img_D{expnum:08d}.jpg"
    key = f"{name}{(via / name).stat().st_size}"
    assert project["_via_image_id_list"] == list(project["_via_img_metadata"]) == [key]
    assert project["_via_data_format_version"].startswith("2.")
    assert project["_via_attributes"]["region"]["Type"]["type"] == "dropdown"
    assert set(project["_via_attributes"]["region"]["Type"]["options"]) == {"Bright", "Faint", "Rays"}
    regions = project["_via_img_metadata"][key]["regions"]
    assert {r["shape_attributes"]["name"] for r in regions} == {"polygon"}
    kept = [p for i, parts in outlines.items() if i != 1 for p in parts]      # instance 1 was rejected
    assert len(regions) == len(kept) + 1                                      # + the missed CCD's box
    drawn = [list(zip(r["shape_attributes"]["all_points_x"], r["shape_attributes"]["all_points_y"])) for r in regions]
    assert [list(map(tuple, p)) for p in kept] == [list(map(tuple, p)) for p in drawn[:-1]]
    assert regions[-1]["region_attributes"] == {"Type": "Bright", "score": ""}
    assert all(float(r["region_attributes"]["score"]) > 0 for r in regions[:-1])
    with Image.open(via / name) as img:
        assert img.size == (400, 400) and img.format == "JPEG"
        # the image is the night's focal-plane image (JPEG at quality 95: within a few counts)
        assert main(["-q", "assemble", str(night / "input" / f"DECam_{expnum:08d}.fits.fz"), "-o",
                     str(via.parent / "fp.npy")]) == 0
        diff = np.abs(np.asarray(img.convert("L"), float) - np.load(via.parent / "fp.npy"))
        assert diff.mean() < 2.0


def _edit_as_an_annotator(project_path):
    """Delete the first region, relabel the second as Rays, draw a new Faint polygon; returns the regions."""
    project = json.loads(project_path.read_text())
    record = next(iter(project["_via_img_metadata"].values()))
    regions = record["regions"][1:]
    regions[0]["region_attributes"]["Type"] = "Rays"
    regions.append({"shape_attributes": {"name": "polygon", "all_points_x": [300, 340, 330],
                                         "all_points_y": [40, 50, 90]}, "region_attributes": {"Type": "Faint"}})
    record["regions"] = regions
    project_path.write_text(json.dumps(project))
    return regions


@pytest.mark.slow
def test_an_edited_project_trains_with_exactly_its_regions_and_the_model_lists_the_images(exported, tmp_path):
    from desghost.detection.model import read_model_metadata

    _, via, expnum, _ = exported
    edited = _edit_as_an_annotator(via / "via_project.json")
    read = read_via(via / "via_project.json")[f"Ghost_img_D{expnum:08d}.jpg"]
    assert [(r.class_id, r.attributes) for r in read] == [
        (CLASS_IDS[e["region_attributes"]["Type"]], e["shape_attributes"]) for e in edited]
    assert main(["-q", "train", str(tmp_path / "ft"), "--steps", "2", "--batch-size", "2", "--warmup-steps", "1",
                 "--real-images", str(via), "--real-annotations", str(via / "via_project.json"),
                 "--real-fraction", "1", "--val-images", "0", "--val-every", "0", "--no-prefetch"]) == 0
    meta = read_model_metadata(tmp_path / "ft" / "model.safetensors")
    assert meta["training"]["real_images_trained"] == [f"Ghost_img_D{expnum:08d}.jpg"]


def test_an_exposure_without_an_overlay_is_named_and_left_out(demo_night, tmp_path, capsys):
    night = tmp_path / "night"
    shutil.copytree(demo_night, night, ignore=shutil.ignore_patterns("report", "*_overlay.png"))
    assert main(["export-via", str(night), "-o", str(tmp_path / "via")]) == 0
    assert "has no overlay" in capsys.readouterr().err
    project = json.loads((tmp_path / "via" / "via_project.json").read_text())
    assert project["_via_img_metadata"] == {} and project["_via_image_id_list"] == []
