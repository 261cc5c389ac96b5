"""``detect --json`` lists CCDs by the products' coverage rule: it agrees with ``run`` and never names a dead CCD."""
import json

import fitsio
import numpy as np

from desghost.cli import main
from desghost.detection.instance import Instance
from desghost.detection.model import load_model
from desghost.detection.record import detection_record
from desghost.focalplane.ccd_map import ccd_map
from desghost.layout import load_layout


def test_a_mask_over_a_dead_ccd_never_lists_it():
    layout = load_layout()
    index = ccd_map(layout)[0]
    mask = (index == 61) | (index == 60)        # CCD 61 is dead in every exposure (ccd_layout/decam_bad_regions.csv)
    inst = Instance(3, "Rays", 0.9, (0.0, 0.0, 400.0, 400.0), mask)
    model = load_model()
    dead = layout.dead_ccds(None)
    rec = detection_record({"file": "x.png"}, [inst], model, 0.5, 0.1, index, dead)
    assert dead == [61] and rec["ccdnums"] == [60] and rec["instances"][0]["ccdnums"] == [60]
    everything = detection_record({"file": "x.png"}, [inst], model, 0.5, 0.1, index)
    assert everything["ccdnums"] == [60, 61]   # without the dead list the raw footprint shows both


def test_detect_json_and_run_flag_the_same_ccds_on_the_demo(tmp_path, capsys):
    assert main(["-q", "run", "--demo", "-o", str(tmp_path)]) == 0
    capsys.readouterr()
    exposure = next((tmp_path / "input").glob("DECam_*.fits.fz"))
    table = fitsio.read(next(tmp_path.glob("D*_desghost_exclude.fits")), ext="EXCLUDE")
    excluded = sorted(set(table["CCDNUM"].tolist()))
    assert main(["-q", "detect", str(exposure), "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert excluded and rec["ccdnums"] == excluded
    assert 61 not in rec["ccdnums"] and all(np.isin(i["ccdnums"], excluded).all() for i in rec["instances"])
