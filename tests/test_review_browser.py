"""A person reviews a simulated night through the review page in headless Chromium: confirm one
instance and reject another with the keyboard, add a missed artifact by clicking a CCD and pressing
keys; the catalog holds the three decisions, and the reviewed lists differ from the model's by exactly
those CCDs, with ANALYST per row."""
import csv
import io
import threading

import fitsio
import pytest
from werkzeug.serving import make_server

from desghost.catalog.store import Catalog
from desghost.cli import main
from desghost.driver.exposure import RunConfig
from desghost.layout import load_layout
from desghost.review.app import ReviewNight, create_app
from desghost.runners.night import run_night
from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure

from .helpers import headless_chromium, needs_browser

ANALYST = "Ann O'Tator"


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """Two simulated exposures: one with three artifacts, one clean."""
    d = tmp_path_factory.mktemp("review_night")
    for expnum, n in ((700500, 3), (700501, 0)):
        write_simulated_exposure(d / "in" / f"DECam_{expnum:08d}.fits.fz",
                                 SimulationConfig(expnum=expnum, seed=expnum % 100 + 7, n_artifacts=n))
    run_night([d / "in"], d / "out", config=RunConfig(), workers=1, progress=False)
    return d / "out"


@pytest.fixture(scope="module")
def server(night):
    app = create_app(ReviewNight(night), ANALYST)
    httpd = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def _rows(catalog, capsys, *extra):
    assert main(["query", "--catalog", str(catalog), "--format", "csv", *extra]) == 0
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


@pytest.mark.browser
@needs_browser
def test_a_night_reviewed_in_the_browser_changes_exactly_the_decided_ccds(night, server, tmp_path, capsys):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    catalog = night / "desghost_catalog.sqlite"
    with Catalog(catalog, readonly=True) as cat:
        instances = {r["instance_id"]: {int(c) for c in r["ccdnums"].split(",")}
                     for r in cat.query("SELECT instance_id, ccdnums FROM instances WHERE expnum=700500")}
        model = {int(r["ccdnum"]) for r in cat.query("SELECT ccdnum FROM excluded_ccds WHERE expnum=700500")}
    assert len(instances) >= 2, "the simulated exposure should give the shipped model two instances"
    layout = load_layout()
    missed_ccd = min(set(layout.ccdnums) - model - set(layout.dead_ccds(700500)))
    driver = headless_chromium("1600,1400")
    try:
        def decisions_shown(n):
            WebDriverWait(driver, 20).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history tr.confirm, "
                                                                          "#history tr.reject, #history tr.missed")) == n)

        def key(k):
            driver.find_element(By.TAG_NAME, "body").send_keys(k)

        driver.get(server + "/")
        assert "2 of 2 exposures left to review" in driver.find_element(By.ID, "left").text
        key("n")                                   # the queue's first: the exposure with instances
        WebDriverWait(driver, 20).until(lambda d: "/exposure/700500" in d.current_url)
        assert driver.execute_script("return document.images[0].complete && document.images[0].naturalWidth") > 0
        key("c")                                   # confirm instance 0 (selected first)
        decisions_shown(1)
        selected = driver.find_element(By.CSS_SELECTOR, "tr.instance.selected").get_attribute("data-instance")
        assert selected == "1"                     # the next undecided one
        key("x")                                   # reject instance 1
        decisions_shown(2)
        driver.find_element(By.CSS_SELECTOR, f"rect.ccd[data-ccd='{missed_ccd}']").click()   # the mouse
        assert driver.find_element(By.ID, "missed-ccds").get_attribute("value") == str(missed_ccd)
        key("3")                                   # class Rays
        driver.find_element(By.ID, "comment").send_keys("thin ray <script>alert(1)</script>")
        key("m")                                   # add the missed artifact
        decisions_shown(3)
        assert "<script>alert(1)</script>" in driver.find_element(By.CSS_SELECTOR, "#history td.comment").text
        assert "1 left to review" in driver.find_element(By.ID, "left").text
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
    finally:
        driver.quit()
    with Catalog(catalog, readonly=True) as cat:
        stored = [(d.target_kind, d.target, d.decision, d.artifact_class, d.ccdnums, d.analyst) for d in cat.decisions()]
    assert stored == [("instance", "0", "confirm", "", (), ANALYST), ("instance", "1", "reject", "", (), ANALYST),
                      ("exposure", "missed-0", "missed", "Rays", (missed_ccd,), ANALYST)]
    # the reviewed lists differ from the model's by exactly those CCDs, with ANALYST per row
    only_rejected = instances[1] - set().union(*(c for i, c in instances.items() if i != 1))
    changed = (only_rejected & model) | {missed_ccd}
    reviewed = {int(r["ccdnum"]): r["analyst"] for r in _rows(catalog, capsys, "--review", "reviewed", "--expnum", "700500")}
    assert set(reviewed) ^ model == changed
    assert all(reviewed[c] == ANALYST for c in (instances[0] & model) | {missed_ccd})
    assert all(a.startswith("desghost-") for c, a in reviewed.items() if c not in instances[0] | {missed_ccd})
    for fmt, name in (("fits", "x.fits"), ("raytrace", "x.txt")):
        for label, extra in (("model", ()), ("reviewed", ("--review", "reviewed"))):
            assert main(["query", "--catalog", str(catalog), "--expnum", "700500", "--format", fmt, *extra,
                         "-o", str(tmp_path / f"{label}_{name}")]) == 0
    fits = {label: set(fitsio.read(str(tmp_path / f"{label}_x.fits"), ext="EXCLUDE")["CCDNUM"])
            for label in ("model", "reviewed")}
    assert fits["model"] ^ fits["reviewed"] == changed
    text = {label: {int(line.split()[-1]) for line in (tmp_path / f"{label}_x.txt").read_text().splitlines()[1:]}
            for label in ("model", "reviewed")}
    assert text["model"] ^ text["reviewed"] == changed
    added = [line.split() for line in (tmp_path / "reviewed_x.txt").read_text().splitlines()
             if line.split()[-1] == str(missed_ccd)]   # a person's row, as DELVE's hand-entered rows: ccd "nan"
    assert added == [["20170424", "700500", "nan", layout.ccds[missed_ccd].detpos, str(missed_ccd)]]


def test_clean_exposures_are_confirmed_in_bulk_from_the_queue(night, tmp_path):
    import re
    import shutil

    copy = tmp_path / "out"
    shutil.copytree(night, copy)
    with Catalog(copy / "desghost_catalog.sqlite") as cat:
        cat.conn.execute("DELETE FROM decisions")
    client = create_app(ReviewNight(copy), "bob").test_client()
    html = client.get("/").data.decode()
    assert re.search(r'name="expnum" value="700501" checked', html) and 'value="700500" checked' not in html
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    assert client.post("/bulk-clean", data={"token": token, "expnum": ["700501"]}).status_code == 303
    with Catalog(copy / "desghost_catalog.sqlite", readonly=True) as cat:
        assert [(d.expnum, d.target_kind, d.decision, d.analyst) for d in cat.decisions()] == [
            (700501, "exposure", "confirm", "bob")]
    assert "1 of 2 exposures left to review" in client.get("/").data.decode()
    # one instance decided is not the exposure reviewed: it stays in the count, and "next" goes on to it
    page = client.get("/exposure/700500").data.decode()
    assert client.post("/decide", data={"token": token, "expnum": 700500, "target_kind": "instance", "target": "0",
                                        "decision": "confirm"}).status_code == 303
    assert "1 of 2 exposures left to review" in client.get("/").data.decode()
    assert 'id="next"' not in page or 'href="/exposure/700501"' not in page   # 700501 is done
