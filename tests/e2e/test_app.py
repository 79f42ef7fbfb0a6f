"""End-to-end: the teacher's page (``make app``), apps/explorer.ipynb served by Voila, in headless Chromium.

Voila runs the notebook in a kernel and shows its outputs without code: the
live runner's controls and picture. The test starts Voila on a free
loopback port (every Jupyter directory in a temporary folder), opens the
page, waits for the widget, presses Step, Run and Stop and checks that the
figure changes and states arrive, and that no page error occurs; then it
stops Voila by the process group it started. Screenshots go to
``build/e2e/app/``; look at them.

Run with ``pytest -m e2e tests/e2e/test_app.py``. Needs Debian's ``chromium``,
the Python ``playwright`` package and ``voila`` (the ``teacher`` extra);
without them the tests are skipped, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .jupyter_browser import (CANVAS_HASH_JS, CHROMIUM, free_port, isolated_env, launch_chromium,
                              stop_process_group)

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
APP = REPO_ROOT / "apps" / "explorer.ipynb"
SCREENSHOTS = REPO_ROOT / "build" / "e2e" / "app"


@pytest.fixture(scope="module", autouse=True)
def requirements():
    missing = []
    if not Path(CHROMIUM).is_file():
        missing.append(f"Chromium at {CHROMIUM} (install: apt-get install -y chromium)")
    for module, extra in (("playwright", "e2e"), ("voila", "teacher")):
        if importlib.util.find_spec(module) is None:
            missing.append(f"the Python {module} package (pip install -e '.[{extra}]')")
    if missing:
        message = "the app's browser test needs " + " and ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="module")
def voila_url():
    """Voila serving apps/explorer.ipynb on 127.0.0.1, as ``make app`` does; stopped afterwards."""
    with tempfile.TemporaryDirectory(prefix="gmm-lab-app-") as tmp:
        env = isolated_env(Path(tmp) / "home")
        port = free_port()
        log_path = Path(tmp) / "voila.log"
        command = [sys.executable, "-m", "voila", str(APP), "--no-browser",
                   "--Voila.ip=127.0.0.1", f"--port={port}", "--theme=light"]
        with open(log_path, "ab") as log:
            process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"Voila exited ({process.returncode}):\n"
                                       f"{log_path.read_text(errors='replace')[-3000:]}")
                try:  # any HTTP answer (Voila refuses this path: 403) means it is listening
                    with urllib.request.urlopen(url + "api/status", timeout=2):
                        break
                except urllib.error.HTTPError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise TimeoutError("Voila did not answer within 60 s:\n"
                                           + log_path.read_text(errors="replace")[-3000:])
                    time.sleep(0.25)
            yield url
        finally:
            stop_process_group(process)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            (SCREENSHOTS / "voila.log").write_text(log_path.read_text(errors="replace"))


def test_app_steps_runs_and_stops(voila_url):
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1300})
            errors, refused = [], []
            page.on("pageerror", lambda error: errors.append(str(error)))

            def route(request_route):  # the page may use the server, nothing else
                if request_route.request.url.startswith((voila_url, "data:", "blob:")):
                    request_route.continue_()
                else:
                    refused.append(request_route.request.url)
                    request_route.abort()

            page.route("**/*", route)
            page.goto(voila_url, timeout=120_000)
            runner = page.locator(".gmm-live-runner")
            runner.wait_for(timeout=120_000)
            canvas = runner.locator("canvas.scatter")
            canvas.wait_for()
            # No code shown: neither an editor nor the cell's source text.
            assert page.locator(".jp-InputArea-editor, .jp-Editor").count() == 0
            assert "import LiveRunner" not in page.locator("body").inner_text()
            assert runner.get_attribute("data-states") == "1"
            first = canvas.evaluate(CANVAS_HASH_JS)
            page.screenshot(path=SCREENSHOTS / "01-app-start.png", full_page=True)

            def wait(condition, timeout=30_000):
                page.wait_for_function(f"(r) => {condition}", arg=runner.element_handle(),
                                       timeout=timeout)

            runner.locator("button.live-step").click()
            wait("+r.dataset.states === 2")
            stepped = canvas.evaluate(CANVAS_HASH_JS)
            assert stepped != first, "Step did not change the figure"
            page.screenshot(path=SCREENSHOTS / "02-app-after-step.png", full_page=True)

            runner.locator("button.live-run").click()
            wait("r.dataset.running === 'true'")
            wait("+r.dataset.states >= 4")
            runner.locator("button.live-stop").click(force=True)
            wait("r.dataset.running === 'false'")
            stopped = int(runner.get_attribute("data-states"))
            page.wait_for_timeout(800)
            assert int(runner.get_attribute("data-states")) == stopped, "states after Stop"
            assert canvas.evaluate(CANVAS_HASH_JS) != stepped
            page.screenshot(path=SCREENSHOTS / "03-app-after-run-stop.png", full_page=True)
            assert errors == [], errors
            # Voila's own template asks a CDN for Font Awesome's CSS (refused here, the page
            # works without it); nothing else may leave the machine.
            assert all("fontawesome" in url for url in refused), refused
        finally:
            browser.close()
