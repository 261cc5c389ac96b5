"""Duplicated instances of one artifact are counted once (issue 33 item 5)."""
import numpy as np

from desghost.detection.detect import ARTIFACT_OVERLAP, artifact_groups
from desghost.detection.instance import Instance


def _inst(class_id, score, rows, cols):
    mask = np.zeros((400, 400), bool)
    mask[rows[0]:rows[1], cols[0]:cols[1]] = True
    return Instance(class_id, {1: "Bright", 2: "Faint", 3: "Rays"}[class_id], score, (0, 0, 1, 1), mask)


def test_overlapping_instances_of_one_class_are_one_artifact():
    a = _inst(3, 0.9, (100, 110), (50, 250))     # a Ray
    b = _inst(3, 0.8, (101, 110), (60, 240))     # its duplicate: inside it
    c = _inst(3, 0.7, (105, 115), (50, 250))     # half over it: 0.5 < 0.8, another artifact
    d = _inst(1, 0.9, (100, 110), (50, 250))     # the same pixels, another class
    e = _inst(3, 0.6, (300, 310), (50, 250))     # elsewhere
    assert artifact_groups([a, b, c, d, e]) == [0, 0, 1, 2, 3]
    assert artifact_groups([a, b, c], min_overlap=0.4) == [0, 0, 0]   # a chain is one artifact
    assert artifact_groups([]) == [] and ARTIFACT_OVERLAP == 0.8


def test_the_demo_reports_its_two_rays_as_two_artifacts(tmp_path, capsys):
    import json

    from desghost.cli import main

    assert main(["run", "--demo", "-o", str(tmp_path), "--json"]) == 0
    record = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert record["n_artifacts"] == 2 and record["n_instances"] >= 2
