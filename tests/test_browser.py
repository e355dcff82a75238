"""``report.html`` opened in a real browser: headless Chromium, driven by Playwright.

The report of the committed sample world (small parameters) must open on its summary, load with
no console error and no request to the network, show every figure (decoded, with its caption as
alt text, none twice) and no empty section. Screenshots of the top of the page and of the whole
page are kept under ``reports/browser-check/`` (git-ignored; CI keeps them as artifacts).

Chromium is Debian's package (``.ci/run`` installs it), launched through ``executable_path``
since Playwright's own browser download cannot reach the internet here; without it these tests
are skipped and say so.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.paths import reports_dir, sample_world
from workbench.reports.html import page_problems
from workbench.reports.pdf import find_chromium

CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (Debian's chromium package)"),
]

CONFIG = """
[notebooks."02-segmentation"]
n_boot = 2
sample_size = 800
[notebooks."03-bayesian-testing"]
draws = 300
tune = 300
n_sim = 30
[notebooks."06-targeting-and-strategy"]
weeks = 2
replications = 2
k = 4
"""
SHOTS = reports_dir() / "browser-check"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("browser")
    config = tmp / "run.toml"
    config.write_text(CONFIG)
    out = tmp / "reports"
    argv = ["report", "--world", str(sample_world()), "--config", str(config), "--out", str(out)]
    assert main(argv) == 0
    (run,) = out.iterdir()
    return run


@pytest.fixture(scope="module")
def page(report: Path):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        pg = browser.new_page(viewport={"width": 1280, "height": 900})
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.on("request", lambda r: requests.append(r.url))
        pg.goto((report / "report.html").as_uri(), wait_until="load")
        shutil.rmtree(SHOTS, ignore_errors=True)
        SHOTS.mkdir(parents=True)
        pg.screenshot(path=str(SHOTS / "top.png"))
        pg.screenshot(path=str(SHOTS / "full.png"), full_page=True)
        yield pg, errors, requests
        browser.close()


def test_report_opens_on_its_summary(page) -> None:  # type: ignore[no-untyped-def]
    pg, _, _ = page
    summary = pg.locator("#summary")
    assert summary.count() == 1
    assert summary.bounding_box()["y"] < 900  # in the first screen, under the run facts
    text = pg.locator(".wb-summary").inner_text()
    assert "Recommended actions" in text and "What we found" in text
    # every link of the summary leads to an element of the page
    for href in pg.locator(".wb-summary a").evaluate_all(
        "els => els.map(e => e.getAttribute('href'))"
    ):
        if href.startswith("#"):
            assert pg.locator(f"[id='{href[1:]}']").count() == 1, href
    assert (SHOTS / "top.png").stat().st_size > 10_000


def test_no_console_error_and_nothing_fetched_from_the_network(page) -> None:  # type: ignore[no-untyped-def]
    _, errors, requests = page
    assert errors == []
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []


def test_every_figure_shows_with_its_caption(page) -> None:  # type: ignore[no-untyped-def]
    pg, _, _ = page
    images = pg.locator("img").evaluate_all(
        "els => els.map(e => [e.complete && e.naturalWidth > 0, e.alt,"
        " e.getBoundingClientRect().width])"
    )
    assert len(images) > 10
    for ok, alt, width in images:
        assert ok, alt
        assert alt and not alt.startswith("No description"), alt
        assert width <= 1280  # fits the page: nothing wider than the window


def test_no_image_twice_and_no_empty_section(report: Path) -> None:
    assert page_problems((report / "report.html").read_text(encoding="utf-8")) == []
