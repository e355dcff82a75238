"""JupyterLab in a real browser: open a notebook, run it, move a widget, see the output change.

What a student does in the lab: JupyterLab is started as ``make lab`` starts it (the project's
environment, no headless ``MPLBACKEND``), headless Chromium (Debian's package, through
Playwright's ``executable_path``) opens notebook 03 (small sampling parameters), runs every cell
from the *Run* menu, then moves the A/B explorer's "variant conv." slider with the keyboard and
types an exact value in the box beside it. Each time the explorer's decision table must change,
the box must follow the slider, and the figure must be drawn. Screenshots go to
``reports/browser-check/lab-*.png``. Without Chromium the test is skipped and says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from workbench.paths import notebooks_dir, project_root, reports_dir
from workbench.reports.pdf import find_chromium
from workbench.teaching.exercises import set_parameters

CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (Debian's chromium package)"),
]
SHOTS = reports_dir() / "browser-check"
SMALL = {"draws": 150, "tune": 150, "n_sim": 30}
CHANGED = """(old) => {
  const tables = document.querySelectorAll('.widget-html table');
  return tables.length > 0 && tables[tables.length - 1].innerText !== old;
}"""
"""True once the explorer's (re-drawn) decision table no longer reads ``old``."""
SHOWS = """(text) => {
  const tables = document.querySelectorAll('.widget-html table');
  return tables.length > 0 && tables[tables.length - 1].innerText.includes(text);
}"""
"""True once the explorer's decision table holds ``text``."""


def _settle(page, quiet_s: float = 2.0) -> None:  # type: ignore[no-untyped-def]
    """Wait until the kernel has been idle for ``quiet_s`` seconds (the last redraw is done)."""
    idle = ".jp-Notebook-ExecutionIndicator[data-status='idle']"
    deadline = time.monotonic() + 120
    calm_since = None
    while time.monotonic() < deadline:
        if page.locator(idle).count():
            calm_since = calm_since or time.monotonic()
            if time.monotonic() - calm_since >= quiet_s:
                return
        else:
            calm_since = None
        page.wait_for_timeout(200)
    raise AssertionError("the kernel stayed busy for two minutes")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A JupyterLab server on a copy of notebook 03; yields the notebook's URL."""
    root = tmp_path_factory.mktemp("lab")
    nb = json.loads((notebooks_dir() / "03-bayesian-testing.ipynb").read_text())
    (root / "lab-check.ipynb").write_text(json.dumps(set_parameters(nb, SMALL)))
    port, token = _free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # as `make lab`: inline
    env |= {
        "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(root / ".workspaces"),
        "WORKBENCH_HOME": str(project_root()),
    }
    log = (root / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", "--allow-root"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        _start_session(base, token, "lab-check.ipynb")
        yield f"{base}/lab/tree/lab-check.ipynb?token={token}"
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _api(base: str, token: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{base}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def _start_session(base: str, token: str, notebook: str) -> None:
    """Start the notebook's kernel session through the server's REST API.

    The page then attaches to this one session; left to itself, a slow start of the page can
    make JupyterLab start a second kernel and ask which one to use.
    """
    deadline = time.monotonic() + 90
    while True:  # the server takes a few seconds to listen
        try:
            _api(base, token, "/api/status")
            break
        except (OSError, urllib.error.URLError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    body = {"path": notebook, "name": notebook, "type": "notebook", "kernel": {"name": "python3"}}
    _api(base, token, "/api/sessions", body)  # the page waits for the kernel to be idle


def _started(page) -> bool:  # type: ignore[no-untyped-def]
    """Whether a cell has started or run (its prompt shows ``[*]`` or a number)."""
    prompts = page.locator(".jp-InputPrompt").all_inner_texts()
    return any("*" in t or any(c.isdigit() for c in t) for t in prompts)


def _run_all_cells(page) -> None:  # type: ignore[no-untyped-def]
    """Run > Run All Cells, as a student would; answer JupyterLab's kernel question if asked.

    When the kernel's session is still starting, JupyterLab may ask which kernel to use and drop
    the command: a student then clicks Select and runs again, and so does this.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(3):
        _answer_kernel_question(page)  # it can come before the menu is clicked, and block it
        try:
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click(timeout=10_000)
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click(timeout=10_000)
        except PlaywrightTimeout:  # the question came up in between: answer it, try again
            continue
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not _started(page):
            with contextlib.suppress(PlaywrightTimeout):
                page.locator(".jp-Dialog button", has_text="Select").click(timeout=1_000)
        if _started(page):
            return
    raise AssertionError("Run All Cells did not start the notebook")


def _answer_kernel_question(page) -> bool:  # type: ignore[no-untyped-def]
    """Click Select when JupyterLab asks which kernel to use; whether it asked."""
    dialog = page.locator(".jp-Dialog button", has_text="Select")
    if dialog.count():
        dialog.first.click()
        return True
    return False


def _wait_for_widget(page, timeout: float) -> None:  # type: ignore[no-untyped-def]
    """Wait for the explorer's sliders; if JupyterLab asks which kernel to use meanwhile (it can,
    after the run started, and then drops the run), answer Select and run all cells again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    deadline = time.monotonic() + timeout
    while True:
        try:
            page.wait_for_selector(".widget-slider", timeout=5_000)
            return
        except PlaywrightTimeout:
            if time.monotonic() > deadline:
                raise
        if _answer_kernel_question(page):
            _run_all_cells(page)


def test_a_notebook_runs_in_jupyterlab_and_its_widget_answers(lab: str) -> None:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            deadline = time.monotonic() + 60
            while True:  # the server takes a few seconds to listen
                try:
                    page.goto(lab)
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(1)
            idle = ".jp-Notebook-ExecutionIndicator[data-status='idle']"
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            page.wait_for_selector(idle, timeout=60_000)  # the kernel is up
            _run_all_cells(page)
            try:
                _wait_for_widget(page, timeout=300)
                page.wait_for_selector(idle, timeout=300_000)
            finally:
                page.screenshot(path=str(SHOTS / "lab-ran.png"))
            errors = [
                t for t in page.locator(".jp-OutputArea-output").all_inner_texts()
                if "Traceback" in t
            ]  # fmt: skip
            assert not errors, errors[0][:2000]

            row = page.locator(
                ".widget-hbox", has=page.locator(".widget-label", has_text="variant conv.")
            ).last
            row.scroll_into_view_if_needed()
            box = row.locator("input").first
            table = page.locator(".widget-html table").last
            before, box_before = table.inner_text(), box.input_value()
            assert "%" in before and "e-0" not in before  # numbers written for people
            assert page.locator("img.widget-image").count() >= 1  # the figure is drawn

            row.locator(".noUi-handle").first.focus()  # move the slider as a user would
            for _ in range(30):
                page.keyboard.press("ArrowRight")
            page.wait_for_function(CHANGED, arg=before, timeout=60_000)
            _settle(page)  # every key press redraws once: wait for the last
            moved = table.inner_text()
            assert moved != before
            assert box.input_value() != box_before  # the box follows the slider

            box.fill("300")  # an exact value in the box moves the slider and the table
            box.press("Enter")
            page.wait_for_function(SHOWS, arg="\t300\t", timeout=60_000)
            _settle(page)
            assert "\t300\t" in table.inner_text() and table.inner_text() != moved
            page.screenshot(path=str(SHOTS / "lab-widget-moved.png"))
        finally:
            browser.close()
