"""Pieces of inference (desghost.detection.detect)."""
import numpy as np

from desghost.detection.detect import suppress_overlaps
from desghost.detection.instance import Instance


def test_suppress_overlaps_drops_lower_scoring_duplicates_of_any_class():

    def inst(cls, score, r0, r1, c0, c1):
        m = np.zeros((400, 400), dtype=bool)
        m[r0:r1, c0:c1] = True
        return Instance(cls, ("", "Bright", "Faint", "Rays")[cls], score, (c0, r0, c1, r1), m)

    a = inst(1, 0.9, 100, 200, 100, 200)          # Bright
    b = inst(2, 0.6, 105, 200, 100, 200)          # the same ghost as Faint: IoU 0.95
    c = inst(2, 0.7, 150, 250, 100, 200)          # overlaps a by IoU 50/150 = 0.33
    d = inst(3, 0.5, 300, 320, 300, 320)          # elsewhere
    kept = suppress_overlaps([b, d, a, c], 0.5)
    assert [k.score for k in kept] == [0.9, 0.7, 0.5]
    assert [k.score for k in suppress_overlaps([b, d, a, c], 0.3)] == [0.9, 0.5]
    assert len(suppress_overlaps([b, d, a, c], 0.0)) == 4
