"""The night report in a real browser: every picture loads, one row per exposure, no console error."""
import os
import re
import shutil

import numpy as np
import pytest

from desghost.driver.exposure import RunConfig
from desghost.runners.night import run_night
from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure

from .helpers import headless_chromium, needs_browser


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """A simulated night of three small exposures (one of per-CCD files) and a corrupt file, with its report."""
    d = tmp_path_factory.mktemp("report_night")
    for k, flavor in enumerate(("raw", "raw", "des")):
        expnum = 700400 + k
        name = f"DECam_{expnum:08d}.fits.fz" if flavor == "raw" else f"D{expnum:08d}"
        write_simulated_exposure(d / "in" / name, SimulationConfig(flavor=flavor, expnum=expnum, seed=40 + k,
                                                                   n_artifacts=3))
    (d / "in" / "DECam_00700409.fits.fz").write_bytes(b"SIMPLE  =" + b"\0" * 3000)
    summary = run_night([d / "in"], d / "out", config=RunConfig(), workers=1, progress=False)
    assert len(summary.done) == 3 and len(summary.failed) == 1 and summary.report
    return d / "out", summary


@pytest.mark.e2e
def test_the_night_writes_its_report_with_a_page_per_exposure(night):
    out, summary = night
    index = out / "report" / "index.html"
    assert summary.report == str(index)
    html = index.read_text()
    assert "http://" not in html and "https://" not in html  # nothing from the network
    for expnum in (700400, 700401, 700402):
        assert f'href="exposures/{expnum}.html"' in html
        page = (out / "report" / "exposures" / f"{expnum}.html").read_text()
        assert "../../D00%d_desghost_mask.fits.fz" % expnum in page and "Provenance" in page
    assert "DECam_00700409.fits.fz" in html and "exit 4" in html


def test_a_healpix_map_in_the_folder_is_shown(night, tmp_path):
    from desghost.cli import main
    from desghost.report.html import write_report

    out, _ = night
    masks = sorted(str(p) for p in out.glob("D*_desghost_mask.fits.fz"))
    assert main(["-q", "healpix", *masks, "-o", str(tmp_path / "sky.fits"), "--nside", "256"]) == 0
    index = write_report(out, report_dir=tmp_path / "report", healpix_map=tmp_path / "sky.fits")
    assert (tmp_path / "report" / "figures" / "sky.png").stat().st_size > 5_000
    assert 'src="figures/sky.png"' in open(index).read()
    page = (tmp_path / "report" / "exposures" / "700400.html").read_text()
    assert f'href="{os.path.relpath(out / "D00700400_desghost_mask.fits.fz", tmp_path / "report" / "exposures")}"' in page


def test_a_rerun_replaces_the_report_whole(night, tmp_path):
    from desghost.report.html import write_report

    out, _ = night
    stale = out / "report" / "thumbs" / "stale.png"
    stale.write_bytes(b"x")
    index = write_report(out)
    assert not stale.exists() and (out / "report" / "index.html").exists() and index.endswith("index.html")
    assert not [p for p in out.iterdir() if p.name.startswith(".report")]


@pytest.mark.browser
@needs_browser
def test_the_report_loads_in_headless_chromium(night, tmp_path):
    out, _ = night
    driver = headless_chromium()
    from selenium.webdriver.common.by import By
    try:
        for page, n_rows in ((out / "report" / "index.html", 4), (out / "report" / "exposures" / "700401.html", None)):
            driver.get(page.as_uri())
            images = driver.execute_script(
                "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])")
            assert images, f"{page.name}: no picture"
            broken = [src for src, complete, width in images if not (complete and width > 0)]
            assert not broken, f"{page.name}: pictures that did not load: {broken}"
            if n_rows is not None:
                rows = driver.find_elements(By.CSS_SELECTOR, "#exposures tbody tr")
                assert len(rows) == n_rows  # three exposures done, one failed
                driver.save_screenshot(str(tmp_path / "report.png"))
                # sorting by EXPNUM twice puts the highest first
                header = driver.find_element(By.XPATH, "//table[@id='exposures']//th[normalize-space()='EXPNUM']")
                header.click()
                header.click()
                first = driver.find_element(By.CSS_SELECTOR, "#exposures tbody tr td:nth-child(2)").text
                assert first == "700402"
            errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
            assert not errors, f"{page.name}: console errors {errors}"
    finally:
        driver.quit()
    assert (tmp_path / "report.png").stat().st_size > 10_000


@pytest.fixture(scope="module")
def rerun(night, tmp_path_factory):
    """A copy of the night's output, run again on the same inputs: every exposure is skipped."""
    out, _ = night
    copy = tmp_path_factory.mktemp("rerun") / "out"
    shutil.copytree(out, copy)
    summary = run_night([out.parent / "in"], copy, config=RunConfig(), workers=1, progress=False)
    assert not summary.done and summary.report
    return copy, (copy / "report" / "index.html").read_text()


def _catalog(out, sql):
    from desghost.catalog.store import Catalog

    with Catalog(out / "desghost_catalog.sqlite", create=False) as cat:
        return cat.query(sql)


def _summary_value(html, name):
    match = re.search(rf"<tr[^>]*><td>{re.escape(name)}</td>\s*<td>(.*?)</td></tr>", html, re.S)
    assert match, f"no summary row {name!r}"
    return re.sub(r"<[^>]+>", "", match.group(1)).split()


def test_after_a_rerun_that_skips_everything_the_summary_gives_the_nights_totals(rerun):
    out, html = rerun
    instances = _catalog(out, "SELECT class FROM instances WHERE source='desghost'")
    excluded = _catalog(out, "SELECT expnum FROM excluded_ccds WHERE source='desghost'")
    assert _summary_value(html, "exposures done") == ["3"]
    assert _summary_value(html, "exposures with a CCD excluded") == [str(len({r["expnum"] for r in excluded}))]
    assert _summary_value(html, "failed") == ["1"]
    counts = " ".join(_summary_value(html, "instances"))
    assert counts.startswith(f"{len(instances)}:")
    for cls in ("Bright", "Faint", "Rays"):
        assert f"{sum(r['class'] == cls for r in instances)} {cls}" in counts
    assert _summary_value(html, "CCDs excluded")[0] == str(len(excluded))
    last = " ".join(_summary_value(html, "last run"))
    assert last.startswith("0 done, 4 skipped") and "exposures/min" not in last
    assert "The last run alone" in html and "0.00 exposures/min" not in html


def test_the_title_gives_the_observing_night(night):
    out, _ = night
    html = (out / "report" / "index.html").read_text()
    nites = {r["nite"] for r in _catalog(out, "SELECT nite FROM exposures WHERE source='desghost'")}
    assert len(nites) == 1 and re.fullmatch(r"\d{8}", next(iter(nites)))
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    assert next(iter(nites)) in title and next(iter(nites)) in re.search(r"<h1>(.*?)</h1>", html, re.S).group(1)
    assert out.name not in title

    from desghost.report.html import night_title

    assert night_title(["20171112", "20171114"], "x") == "nights 20171112 to 20171114 (2 nights)"
    assert night_title([], "my_folder") == "my_folder"


def test_a_failure_reason_has_a_row_of_its_own(night):
    out, _ = night
    html = (out / "report" / "index.html").read_text()
    table = html[html.index('<table id="exposures"'):]
    n_columns = len(re.findall(r"<th[ >]", table[:table.index("</thead>")]))
    rows = re.findall(r'<tr class="failed">(.*?)</tr>', table, re.S)
    assert len(rows) == 1 and rows[0].count("<td") == 1
    assert f'colspan="{n_columns}"' in rows[0]
    assert "DECam_00700409.fits.fz" in rows[0] and "cannot open" in rows[0] and "exit 4" in rows[0]


def test_the_exposure_page_numbers_instances_as_the_overlay_does(night, tmp_path):
    from desghost.driver.exposure import process_exposure
    from desghost.layout import load_layout
    from desghost.products.overlay import overlay_labels

    out, _ = night
    page = (out / "report" / "exposures" / "700400.html").read_text()
    body = page[page.index("<h2>Instances</h2>"):page.index("</table>")]
    shown = [(int(n), c, float(s)) for n, c, s in
             re.findall(r'<td class="num id">(\d+)</td><td class="\w+">(\w+)</td><td class="num">([\d.]+)</td>', body)]
    result = process_exposure(out.parent / "in" / "DECam_00700400.fits.fz", tmp_path)  # the same exposure again
    drawn = {int(lab["text"]): result.instances[lab["index"]]
             for lab in overlay_labels(result, load_layout()) if lab["kind"] == "instance"}
    assert shown and sorted(n for n, _, _ in shown) == sorted(drawn)
    for number, cls, score in shown:
        assert drawn[number].class_name == cls and abs(drawn[number].score - score) < 1e-3
    ids = [r["instance_id"] for r in _catalog(out, "SELECT instance_id FROM instances WHERE expnum=700400 "
                                                   "ORDER BY instance_id")]
    assert [n for n, _, _ in shown] == ids  # the catalog's instance_id, as shown


def test_the_report_names_the_folder_it_is_given_to_show(night, tmp_path):
    from desghost.report.html import write_report

    out, _ = night
    index = write_report(out, report_dir=tmp_path / "report", display_name="/final/products<b>")
    html = open(index).read()
    assert "/final/products&lt;b&gt;" in html and "<b>" not in html and str(out.resolve()) not in html
    assert "/final/products<b>" in (tmp_path / "report" / ".desghost-report").read_text()


def test_the_masked_sky_is_drawn_as_filled_pixels(tmp_path):
    import healpy as hp
    from PIL import Image

    from desghost.report.figures import masked_sky

    nside = 64
    sky = np.zeros(hp.nside2npix(nside))
    disc = hp.query_disc(nside, hp.ang2vec(30.0, -40.0, lonlat=True), np.radians(6))
    sky[disc] = hp.nside2pixarea(nside, degrees=True)
    png = np.asarray(Image.open(masked_sky(tmp_path / "sky.png", sky)).convert("RGB")).astype(int)
    coloured = (png.max(axis=-1) - png.min(axis=-1)) > 60
    coloured[:, int(png.shape[1] * 0.8):] = False  # the colour bar
    widest = coloured[coloured.sum(axis=1).argmax()]
    inside = np.flatnonzero(widest)
    assert inside.size > 50 and widest[inside.min():inside.max() + 1].mean() > 0.97  # no gap between the pixels
