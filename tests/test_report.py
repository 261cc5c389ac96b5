"""The night report in a real browser: every picture loads, one row per exposure, no console error."""
import os
import shutil

import pytest

from desghost.driver.exposure import RunConfig
from desghost.runners.night import run_night
from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")
needs_browser = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                   reason="needs Chromium and ChromeDriver (.ci/run installs Debian's chromium and "
                                          "chromium-driver as root)")


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


@needs_browser
def test_the_report_loads_in_headless_chromium(night, tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is a test extra")
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    out, _ = night
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1300,1800"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
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
