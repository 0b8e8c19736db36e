"""The rendered index.html in a real headless Chromium: column sorting and image loading.

Needs Debian's ``chromium`` and ``chromium-driver`` packages and ``selenium`` from PyPI;
the test is skipped with the reason when any of them is missing.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading

import pytest

from lartpcbench.leaderboard import render_leaderboard

from test_leaderboard_render import GAN_NAME, write_fixture_results

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

CHROMIUM = next((path for name in ("chromium", "chromium-browser") if (path := shutil.which(name))), None)
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="chromium or chromedriver not found on PATH (apt-get install -y chromium chromium-driver)",
)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class names it format
        pass


@pytest.fixture()
def served_site(tmp_path):
    """Render the fixture leaderboard and serve it over HTTP on 127.0.0.1; yield its URL."""
    root = tmp_path / "results"
    write_fixture_results(root)
    site = tmp_path / "site"
    render_leaderboard(root, "sim64-v1", site)
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture()
def browser(tmp_path, monkeypatch):
    # Offline: Selenium Manager must not try to download a driver.
    monkeypatch.setenv("SE_OFFLINE", "true")
    options = Options()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def submission_order(driver) -> list[str]:
    cells = driver.find_elements(By.CSS_SELECTOR, "#leaderboard tbody tr td:nth-child(2)")
    return [cell.get_attribute("data-sort") for cell in cells]


def click_header(driver, label_start: str) -> None:
    headers = driver.find_elements(By.CSS_SELECTOR, "#leaderboard thead th")
    matching = [header for header in headers if header.text.startswith(label_start)]
    assert len(matching) == 1, [header.text for header in headers]
    matching[0].click()


def test_page_sorts_and_loads_images(served_site, browser):
    browser.get(served_site)

    # Initial order: best first by fd_physics, the null value last.
    assert submission_order(browser) == ["Real val", "SGM small", GAN_NAME, "Flow"]

    # Text column: case-insensitive ascending, then descending on a second click.
    click_header(browser, "Submission")
    assert submission_order(browser) == ["Flow", GAN_NAME, "Real val", "SGM small"]
    click_header(browser, "Submission")
    assert submission_order(browser) == ["SGM small", "Real val", GAN_NAME, "Flow"]

    # Higher-is-better metric: the first click puts the best (largest) first.
    click_header(browser, "c2st_auc")
    assert submission_order(browser) == ["Flow", GAN_NAME, "SGM small", "Real val"]

    # Numeric, not lexical: 2000 > 300 > 50; the reference row has no speed and goes last.
    click_header(browser, "Images/s")
    assert submission_order(browser) == [GAN_NAME, "Flow", "SGM small", "Real val"]
    click_header(browser, "Images/s")
    assert submission_order(browser) == ["SGM small", "Flow", GAN_NAME, "Real val"]

    click_header(browser, "fd_physics")
    assert submission_order(browser) == ["Real val", "SGM small", GAN_NAME, "Flow"]
    sorted_header = browser.find_element(By.CSS_SELECTOR, "#leaderboard th[aria-sort]")
    assert sorted_header.text.startswith("fd_physics")
    assert sorted_header.get_attribute("aria-sort") == "ascending"

    # Every image loaded.
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth]);"
    )
    assert len(images) == 5
    for src, complete, width in images:
        assert complete, src
        assert width > 0, src

    # The hostile name shows as text, not markup.
    assert browser.find_elements(By.CSS_SELECTOR, "#leaderboard b") == []
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
