"""End-to-end: the offline HTML page of gmm_lab's browser viewer, in headless Chromium.

The page (``gmm_lab.viewer.viewer_html``) is written to a temporary folder
and opened from disk (file://) with every network request refused. A
student's actions are replayed: keys and Play on the slider, half-step
frames, hovering and clicking a token (its E-step, whose numbers must equal
``gmm_lab``'s to 1e-9), clicking a component's mean (its M-step). No page
error may occur. Screenshots go to ``build/e2e/viewer/``; look at them.

Run with ``pytest -m e2e tests/e2e/test_viewer_page.py``. Needs Debian's
``chromium`` and the Python ``playwright`` package; without them the tests
are skipped, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gmm_lab import e_step, load_vowels, log_gaussian_density, log_responsibilities, run_em

from .jupyter_browser import CANVAS_HASH_JS, CHROMIUM, LabPage, jupyter_lab, launch_chromium
from .viewer_notebook import execute_without_widget_state, write_viewer_notebook

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "build" / "e2e" / "viewer"
VIEWPORT = {"width": 1100, "height": 1250}


@pytest.fixture(scope="module", autouse=True)
def browser_requirements():
    """Skip (or, under ``CI=true``, fail) when Chromium or Playwright is missing."""
    missing = []
    if not Path(CHROMIUM).is_file():
        missing.append(f"Chromium at {CHROMIUM} (install: apt-get install -y chromium)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("the Python playwright package (install: pip install playwright)")
    if missing:
        message = "browser tests need " + " and ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="module")
def tokens():
    return load_vowels()


@pytest.fixture(scope="module")
def history(tokens):
    """All 1520 tokens, K = 4, k-means++ from seed 0, at most 60 iterations."""
    return run_em(tokens.X, 4, init_params="k-means++", random_state=0, max_iter=60, tol=1e-4)


@pytest.fixture(scope="module")
def page_path(tmp_path_factory, history, tokens) -> Path:
    from gmm_lab.viewer import viewer_html

    path = tmp_path_factory.mktemp("viewer") / "run.html"
    path.write_text(viewer_html(history, tokens), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def browser(browser_requirements):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, page_path):
    """The page opened from disk, every non-file request aborted; page errors collected."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.errors = []
    page.refused = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))

    def route(request_route):
        url = request_route.request.url
        if url.startswith(("file:", "data:")):
            request_route.continue_()
        else:
            page.refused.append(url)
            request_route.abort()

    page.route("**/*", route)
    page.goto(page_path.as_uri())
    page.wait_for_selector("canvas.scatter")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield page
        assert page.errors == [], page.errors
        assert page.refused == [], page.refused
    finally:
        context.close()


def canvas_hash(page) -> str:
    return page.locator("canvas.scatter").evaluate(CANVAS_HASH_JS)


def frame(page) -> dict:
    return page.locator(".gmm-em-view").evaluate(
        "root => ({index: +root.dataset.frame, kind: root.dataset.frameKind, "
        "iteration: +root.dataset.iteration})")


def go_to(page, index: int) -> None:
    """Move the slider to frame ``index`` as a user would: focus, Home, then ArrowRight."""
    slider = page.locator("input.frame-slider")
    slider.focus()
    page.keyboard.press("Home")
    for _ in range(index):
        page.keyboard.press("ArrowRight")
    assert frame(page)["index"] == index


def click_canvas(page, pixel) -> None:
    box = page.locator("canvas.scatter").bounding_box()
    page.mouse.click(box["x"] + pixel[0], box["y"] + pixel[1])


def test_keys_scrub_the_frames(page, history):
    first = canvas_hash(page)
    assert frame(page) == {"index": 0, "kind": "initial", "iteration": 0}
    page.screenshot(path=SCREENSHOTS / "01-initial.png", full_page=True)
    page.locator("input.frame-slider").focus()
    seen = {first}
    for expected in (1, 2, 3):
        page.keyboard.press("ArrowRight")
        assert frame(page)["index"] == expected
        seen.add(canvas_hash(page))
    assert len(seen) == 4  # every step repainted something new
    page.keyboard.press("End")
    last = frame(page)
    assert last["iteration"] == len(history) - 1 and last["kind"] == "E"
    assert canvas_hash(page) not in seen
    page.screenshot(path=SCREENSHOTS / "02-end.png", full_page=True)
    page.keyboard.press("ArrowLeft")
    assert frame(page)["index"] == last["index"] - 1
    page.keyboard.press("Home")
    assert frame(page)["index"] == 0 and canvas_hash(page) == first


def test_half_steps_are_frames_of_their_own(page, history):
    n_states = len(history)
    slider = page.locator("input.frame-slider")
    assert int(slider.get_attribute("max")) == 2 * n_states - 1  # theta_0, then E and M per step
    kinds = []
    hashes = []
    slider.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
        kinds.append((frame(page)["kind"], frame(page)["iteration"]))
        hashes.append(canvas_hash(page))
    # E-step 0 recolours (ellipses at theta_0), M-step 0 moves them to theta_1, ...
    assert kinds == [("E", 0), ("M", 1), ("E", 1), ("M", 2), ("E", 2)]
    assert len(set(hashes)) == 5
    assert "E-step 2" in page.locator(".caption").inner_text()
    page.locator("input.half-steps").uncheck()
    assert int(slider.get_attribute("max")) == n_states - 1
    assert frame(page)["kind"] == "iteration" and frame(page)["iteration"] == 2
    slider.focus()
    page.keyboard.press("ArrowRight")
    assert frame(page) == {"index": 3, "kind": "iteration", "iteration": 3}


def test_play_advances_and_pauses(page):
    page.locator("select.speed").select_option("30")
    page.locator("button.play").click()
    page.wait_for_function("() => +document.querySelector('.gmm-em-view').dataset.frame >= 6",
                           timeout=5000)
    page.locator("button.play").click()  # pause
    stopped = frame(page)["index"]
    page.wait_for_timeout(300)
    assert frame(page)["index"] == stopped
    assert "Play" in page.locator("button.play").inner_text()


def _token_away_from_means(page, tokens, responsibilities, t):
    """A token EM is unsure about at gamma_t, whose pixel is not near a mean."""
    means = [page.locator(".gmm-em-view").evaluate(f"root => root.gmmView.pixelOfMean({k})")
             for k in range(responsibilities.shape[1])]
    order = np.argsort(-np.sort(responsibilities, axis=1)[:, -2])  # most divided first
    for n in order:
        pixel = page.locator(".gmm-em-view").evaluate(f"root => root.gmmView.pixelOfToken({n})")
        if all(np.hypot(pixel[0] - m[0], pixel[1] - m[1]) > 15 for m in means):
            return int(n), pixel
    raise AssertionError("no token away from the means")


def test_token_e_step_panel_equals_the_library(page, history, tokens):
    go_to(page, 7)  # E-step 3
    assert frame(page)["kind"] == "E"
    t = frame(page)["iteration"]
    state = history[t]
    gamma, _ = e_step(tokens.X, state.weights, state.means, state.covariances)
    n, pixel = _token_away_from_means(page, tokens, gamma, t)
    box = page.locator("canvas.scatter").bounding_box()
    page.mouse.move(box["x"] + pixel[0], box["y"] + pixel[1])
    tooltip = page.locator(".tooltip")
    tooltip.wait_for(state="visible")
    hovered = int(tooltip.get_attribute("data-token"))
    assert np.array_equal(tokens.X[hovered], tokens.X[n])  # the token, or one at the same place
    assert tokens.vowel[hovered] in tooltip.inner_text()
    page.screenshot(path=SCREENSHOTS / "03-hover.png", full_page=True)
    click_canvas(page, pixel)
    panel = page.locator(".panel")
    panel.wait_for(state="visible")
    assert panel.get_attribute("data-panel") == "e-step"
    n = int(panel.get_attribute("data-token"))
    assert int(panel.get_attribute("data-iteration")) == t
    x = tokens.X[n:n + 1]
    log_density = log_gaussian_density(x, state.means, state.covariances)[0]
    log_resp, log_norm = log_responsibilities(x, state.weights, state.means, state.covariances)
    np.testing.assert_allclose(json.loads(panel.get_attribute("data-log-density")), log_density,
                               rtol=0, atol=1e-9)
    np.testing.assert_allclose(json.loads(panel.get_attribute("data-gamma")), gamma[n],
                               rtol=0, atol=1e-9)
    np.testing.assert_allclose(json.loads(panel.get_attribute("data-log-norm")), log_norm[0],
                               rtol=0, atol=1e-9)
    np.testing.assert_allclose(json.loads(panel.get_attribute("data-log-weights")),
                               np.log(state.weights), rtol=0, atol=1e-12)
    text = panel.inner_text()
    assert "log-sum-exp" in text or "log p(x" in text
    assert "γ" in text
    page.screenshot(path=SCREENSHOTS / "04-e-step-panel.png", full_page=True)


def test_component_m_step_panel_equals_the_library(page, history, tokens):
    go_to(page, 5)  # E-step 2: the M-step from gamma_2 gives theta_3
    t = frame(page)["iteration"]
    k = 1
    pixel = page.locator(".gmm-em-view").evaluate(f"root => root.gmmView.pixelOfMean({k})")
    click_canvas(page, pixel)
    panel = page.locator(".panel")
    panel.wait_for(state="visible")
    assert panel.get_attribute("data-panel") == "m-step"
    assert int(panel.get_attribute("data-component")) == k
    counts = json.loads(panel.get_attribute("data-counts"))
    np.testing.assert_allclose(counts, history[t].component_counts[k], rtol=1e-9)
    np.testing.assert_allclose(json.loads(panel.get_attribute("data-mean")), history[t + 1].means[k],
                               rtol=1e-9)
    np.testing.assert_allclose(json.loads(panel.get_attribute("data-weight")),
                               history[t + 1].weights[k], rtol=1e-9)
    np.testing.assert_allclose(json.loads(panel.get_attribute("data-covariance")),
                               history[t + 1].covariances[k], rtol=1e-9)
    assert "N" in panel.inner_text() and "π" in panel.inner_text()
    page.screenshot(path=SCREENSHOTS / "05-m-step-panel.png", full_page=True)


def test_vowel_colours_and_vowel_chart(page):
    before = canvas_hash(page)
    page.locator("select.color-by").select_option("vowel")
    assert canvas_hash(page) != before
    assert "IY /i/ heed" in page.locator(".key").inner_text()
    page.locator("input.vowel-chart").check()
    go_to(page, 9)
    page.screenshot(path=SCREENSHOTS / "06-vowels-chart.png", full_page=True)


def test_high_density_screen(browser, page_path, history):
    """At device pixel ratio 2 the canvas has twice the pixels, and clicks still find
    the token and the mean under the pointer."""
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=2)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(page_path.as_uri())
        canvas = page.locator("canvas.scatter")
        canvas.wait_for()
        size = canvas.evaluate("c => [c.width, c.height, c.clientWidth, c.clientHeight]")
        assert size[0] == 2 * size[2] and size[1] == 2 * size[3]
        go_to(page, 3)
        root = page.locator(".gmm-em-view")
        click_canvas(page, root.evaluate("root => root.gmmView.pixelOfMean(2)"))
        panel = page.locator(".panel")
        panel.wait_for(state="visible")
        assert panel.get_attribute("data-panel") == "m-step"
        assert panel.get_attribute("data-component") == "2"
        page.screenshot(path=SCREENSHOTS / "11-device-pixel-ratio-2.png")
        assert errors == []
    finally:
        context.close()


@pytest.fixture(scope="module")
def exported_notebook(tmp_path_factory) -> Path:
    """A notebook showing the widget, executed without widget state, exported by nbconvert."""
    folder = tmp_path_factory.mktemp("exported")
    notebook = execute_without_widget_state(write_viewer_notebook(folder / "viewer.ipynb"))
    completed = subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", str(notebook)],
        capture_output=True, text=True, timeout=300, cwd=folder)
    assert completed.returncode == 0, completed.stderr
    return folder / "viewer.html"


def test_nbconvert_export_scrubs_offline(browser, exported_notebook):
    """`jupyter nbconvert --to html` of a notebook without saved widget state: the text/html
    fallback (the offline page in an iframe) scrubs with every network request refused."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors, refused = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def route(request_route):
        url = request_route.request.url
        if url.startswith(("file:", "data:", "about:")):
            request_route.continue_()
        else:  # nbconvert's template asks a CDN for require.js and MathJax: refused
            refused.append(url)
            request_route.abort()

    try:
        page.route("**/*", route)
        page.goto(exported_notebook.as_uri())
        viewer = page.frame_locator("iframe[title='EM run viewer']")
        viewer.locator("canvas.scatter").wait_for()
        before = viewer.locator("canvas.scatter").evaluate(CANVAS_HASH_JS)
        viewer.locator("input.frame-slider").focus()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        assert viewer.locator(".gmm-em-view").get_attribute("data-frame") == "2"
        assert viewer.locator("canvas.scatter").evaluate(CANVAS_HASH_JS) != before
        viewer.locator("select.speed").select_option("30")
        viewer.locator("button.play").click()
        page.wait_for_timeout(600)
        assert int(viewer.locator(".gmm-em-view").get_attribute("data-frame")) > 2
        page.screenshot(path=SCREENSHOTS / "07-nbconvert-export.png", full_page=True)
        assert errors == []
        assert all("cdnjs" in url for url in refused), refused  # nothing of the viewer's
    finally:
        context.close()


@pytest.fixture(scope="module")
def lab_server(browser_requirements, tmp_path_factory):
    """JupyterLab on a folder holding only the viewer notebook (not executed)."""
    folder = tmp_path_factory.mktemp("lab")
    write_viewer_notebook(folder / "viewer.ipynb")
    with jupyter_lab(folder, log_path=SCREENSHOTS / "jupyter-server.log") as server:
        yield server


def test_jupyterlab_widget_scrubs_with_arrow_keys(browser, lab_server):
    """The anywidget in JupyterLab: the arrow keys reach the slider (JupyterLab takes them
    otherwise), the figure changes, and a clicked token's E-step panel opens."""
    context = browser.new_context(viewport={"width": 1280, "height": 1100})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    lab = LabPage(page, lab_server, screenshot_dir=SCREENSHOTS)
    try:
        lab.open_notebook("viewer.ipynb")
        lab.run_all()
        viewer = lab.widget(".gmm-em-view")
        viewer.locator("canvas.scatter").wait_for()
        assert lab.error_outputs() == []
        canvas = viewer.locator("canvas.scatter")
        before = canvas.evaluate(CANVAS_HASH_JS)
        slider = viewer.locator("input.frame-slider")
        slider.focus()
        for expected in ("1", "2", "3"):
            page.keyboard.press("ArrowRight")
            assert viewer.get_attribute("data-frame") == expected
        after = canvas.evaluate(CANVAS_HASH_JS)
        assert after != before
        page.keyboard.press("ArrowLeft")
        assert viewer.get_attribute("data-frame") == "2"
        page.keyboard.press("End")
        assert viewer.get_attribute("data-frame") == slider.get_attribute("max")
        page.keyboard.press("Home")
        assert viewer.get_attribute("data-frame") == "0"
        assert canvas.evaluate(CANVAS_HASH_JS) == before
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        pixel = viewer.evaluate("root => root.gmmView.pixelOfToken(0)")
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        page.mouse.click(box["x"] + pixel[0], box["y"] + pixel[1])
        viewer.locator(".panel[data-panel]").wait_for()
        assert viewer.locator(".panel").get_attribute("data-panel") in ("e-step", "m-step")
        lab.screenshot("08-jupyterlab")
        assert errors == []
    finally:
        context.close()
        lab_server.shutdown_kernels()


def test_jupyterlab_place_means_then_run(browser, lab_server):
    """Place three initial means by clicking on the chart, Run: the kernel runs EM from them
    and the view shows the new run, whose theta_0 has exactly the placed means."""
    context = browser.new_context(viewport={"width": 1280, "height": 1100})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    lab = LabPage(page, lab_server, screenshot_dir=SCREENSHOTS)
    try:
        lab.open_notebook("viewer.ipynb")
        lab.run_all()
        viewer = lab.widget(".gmm-em-view")
        canvas = viewer.locator("canvas.scatter")
        canvas.wait_for()
        viewer.locator("button.place").click()
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        for x, y in ((180, 330), (330, 250), (420, 120)):
            page.mouse.click(box["x"] + x, box["y"] + y)
        assert viewer.get_attribute("data-placed") == "3"
        placed = viewer.evaluate("root => root.gmmView.view.placed")
        lab.screenshot("09-placed-means")
        viewer.locator("button.run-placed").click()
        title = lab.widget(".gmm-em-view h3")
        lab.wait_for_text(title, r"EM from 3 placed means", timeout=60)
        viewer = lab.widget(".gmm-em-view")
        viewer.locator("canvas.scatter").wait_for()
        start = viewer.evaluate("root => Array.from(root.gmmView.view.run.means.slice(0, 6))")
        np.testing.assert_allclose(np.reshape(start, (3, 2)), placed, rtol=0, atol=1e-9)
        # the two starts side by side, each with its final L
        starts = viewer.locator(".starts .start")
        assert starts.count() == 2
        first = run_em(load_vowels(["IY", "IH"]).X, 2, init_params="k-means++", random_state=0)
        assert json.loads(starts.nth(0).get_attribute("data-final-l")) == first.final.log_likelihood
        final_l = viewer.evaluate("root => root.gmmView.view.run.L.at(-1)")
        assert json.loads(starts.nth(1).get_attribute("data-final-l")) == final_l
        slider = viewer.locator("input.frame-slider")
        slider.focus()
        page.keyboard.press("End")
        lab.screenshot("10-run-from-placed-means")
        assert errors == []
        assert lab.error_outputs() == []
    finally:
        context.close()
        lab_server.shutdown_kernels()
