"""End-to-end: what a student does in JupyterLab, in headless Chromium.

Starts JupyterLab on a temporary copy of the notebooks, runs every cell of
a notebook, then drives gmm_lab's browser widgets as a student would:

- the viewer of a finished run (``show_history``): arrow keys, End, Home and
  Play on the slider, the E- and M-steps as frames of their own, a clicked
  token's E-step panel (its numbers equal the library's to 1e-9, computed
  here from the float64 parameters the page holds), a clicked component's
  M-step panel;
- the live runner (``LiveRunner``): Step and Run add states one by one while
  the page watches (live, not after the run), Stop stops them, a finished
  run, then initial means placed by clicking and a run from them: the two
  starts side by side, the components' colours matched across the restart.

No page error may occur. Screenshots of every stage go to
``build/e2e/<scenario>-<notebook>/``, the server log to
``build/e2e/jupyter-server.log``.

Run with ``pytest -m e2e`` (``make e2e``). Needs Debian's ``chromium`` and
the Python ``playwright`` package; without them the tests are skipped,
except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from gmm_lab import e_step, log_gaussian_density, log_responsibilities, m_step

from .jupyter_browser import CANVAS_HASH_JS, CHROMIUM, LabPage, jupyter_lab, launch_chromium

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
SCREENSHOT_ROOT = REPO_ROOT / "build" / "e2e"

#: Written by the fixture into the temporary copy, next to the lessons: the
#: widget cells of lesson 3 on their own (a viewer of a finished run, then a
#: live runner).
WIDGETS = "widgets_small.ipynb"
WIDGET_CELLS = [
    "from gmm_lab import load_vowels, run_em\n"
    "from gmm_lab.widgets import LiveRunner, show_history",
    'data = load_vowels(["IY", "IH"])\n'
    'run = run_em(data.X, 2, init_params="k-means++", random_state=0)',
    'show_history(run, data, color_by="responsibility")',
    'LiveRunner(vowels=("IY", "IH"), n_components=2, covariance_type="full", seed=0)',
]
#: Notebooks with a viewer of a finished run, then a live runner.
WIDGET_NOTEBOOKS = ["03_em_step_by_step.ipynb"]
#: Notebooks that must run in the browser without an error output,
#: e.g. "01_vowel_data.ipynb".
RENDER_NOTEBOOKS = ["01_vowel_data.ipynb", "05_classifying_vowels.ipynb"]

#: Browser window; wide enough that widgets do not wrap.
VIEWPORT = {"width": 1280, "height": 1000}


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def browser_requirements():
    """Skip (or, under ``CI=true``, fail) when Chromium or Playwright is missing.

    A fixture rather than a skip at import time, so that collecting this
    module for a unit-test run (``-m "not e2e"``) neither reports skips nor
    fails on a CI machine that has not installed the browser yet.
    """
    missing = []
    if not Path(CHROMIUM).is_file():
        missing.append(f"Chromium at {CHROMIUM} (install: apt-get install -y chromium)")
    if importlib.util.find_spec("playwright") is None:
        missing.append(
            "the Python playwright package (install: pip install playwright; "
            "no `playwright install` needed, the Debian browser is used)"
        )
    if missing:
        message = "browser tests need " + " and ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="module")
def content_dir(tmp_path_factory) -> Path:
    """A temporary folder with the lessons and the toy notebook.

    Never the working tree: running notebooks writes outputs, checkpoints
    and autosaves.
    """
    root = tmp_path_factory.mktemp("notebooks")
    if NOTEBOOKS_DIR.is_dir():
        shutil.copytree(NOTEBOOKS_DIR, root, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    write_notebook(root / WIDGETS, WIDGET_CELLS)
    return root


def write_notebook(path: Path, cells) -> Path:
    """An unexecuted notebook of code cells, for the Python 3 kernel."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, path)
    return path


@pytest.fixture(scope="module")
def lab_server(browser_requirements, content_dir):
    """One JupyterLab server for the module, stopped whatever happens."""
    with jupyter_lab(content_dir, log_path=SCREENSHOT_ROOT / "jupyter-server.log") as server:
        yield server


@pytest.fixture(scope="module")
def browser(browser_requirements):
    """Debian's Chromium, headless, with a throw-away profile."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def lab(request, browser, lab_server):
    """A fresh browser context and page, wrapped in :class:`LabPage`.

    Screenshots go where the test points them (:func:`screenshots_for`);
    on failure the page is saved as ``FAILED-<test>.png`` next to them.
    Afterwards the test's kernels are shut down, so each test runs its
    notebook in a fresh kernel.
    """
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    lab_page = LabPage(page, lab_server, screenshot_dir=SCREENSHOT_ROOT)
    lab_page.page_errors = []
    page.on("pageerror", lambda error: lab_page.page_errors.append(str(error)))
    try:
        yield lab_page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            safe_name = re.sub(r"[^\w.-]+", "_", request.node.name)
            lab_page.screenshot(f"FAILED-{safe_name}")
        context.close()
        # A server that died has no kernels left; its failure is reported
        # by the test itself.
        with contextlib.suppress(OSError):
            lab_server.shutdown_kernels()


def screenshots_for(lab: LabPage, scenario: str, notebook: str) -> None:
    """Send `lab`'s screenshots to a fresh ``build/e2e/<scenario>-<notebook stem>/``."""
    folder = SCREENSHOT_ROOT / f"{scenario}-{Path(notebook).stem}"
    if folder.is_dir():
        for old in folder.glob("*.png"):  # stale stages would mislead a reviewer
            old.unlink()
    lab.screenshot_dir = folder


# --------------------------------------------------------------------------
# Stages of the scenario
# --------------------------------------------------------------------------

#: theta_t and the tokens as the page holds them (float64, bit for bit from the kernel).
PARAMETERS_JS = """
(root, t) => {
    const run = root.gmmView.view.run, K = run.K;
    return {
        X: Array.from(run.X), K,
        weights: Array.from(run.weights.slice(t * K, (t + 1) * K)),
        means: Array.from(run.means.slice(2 * t * K, 2 * (t + 1) * K)),
        covariances: Array.from(run.covs.slice(4 * t * K, 4 * (t + 1) * K)),
        reg_covar: run.payload.reg_covar, covariance_type: run.payload.covariance_type,
    };
}
"""


def open_and_run_all(lab: LabPage, notebook: str) -> None:
    """Open `notebook`, run all cells, and require a clean run."""
    lab.open_notebook(notebook)
    lab.run_all()
    assert_clean_run(lab, notebook)


def assert_clean_run(lab: LabPage, notebook: str) -> None:
    """No error output, every code cell executed, no error in the page."""
    errors = lab.error_outputs()
    assert not errors, f"{notebook} produced error output(s):\n" + "\n---\n".join(errors)
    assert lab.unexecuted_cells() == 0, f"{notebook}: some code cells did not run"
    assert getattr(lab, "page_errors", []) == [], lab.page_errors


def canvas_hash(viewer) -> str:
    return viewer.locator("canvas.scatter").evaluate(CANVAS_HASH_JS)


def frame(viewer) -> dict:
    return viewer.evaluate("root => ({index: +root.dataset.frame, kind: root.dataset.frameKind, "
                           "iteration: +root.dataset.iteration})")


def parameters(viewer, t: int) -> dict:
    """theta_t and X as numpy arrays, read from the page."""
    raw = viewer.evaluate(PARAMETERS_JS, t)
    K = raw["K"]
    return {"X": np.reshape(raw["X"], (-1, 2)), "weights": np.array(raw["weights"]),
            "means": np.reshape(raw["means"], (K, 2)),
            "covariances": np.reshape(raw["covariances"], (K, 2, 2)),
            "reg_covar": raw["reg_covar"], "covariance_type": raw["covariance_type"]}


def click_canvas(lab: LabPage, viewer, pixel) -> None:
    canvas = viewer.locator("canvas.scatter")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    lab.page.mouse.click(box["x"] + pixel[0], box["y"] + pixel[1])


def token_away_from_means(viewer, gamma):
    """A token EM is unsure about, whose pixel is not near a mean (a click finds it, not a mean)."""
    means = [viewer.evaluate(f"root => root.gmmView.pixelOfMean({k})") for k in range(gamma.shape[1])]
    for n in np.argsort(-np.sort(gamma, axis=1)[:, -2]):  # most divided first
        pixel = viewer.evaluate(f"root => root.gmmView.pixelOfToken({n})")
        if all(np.hypot(pixel[0] - m[0], pixel[1] - m[1]) > 15 for m in means):
            return int(n), pixel
    raise AssertionError("no token away from the means")


def check_scrubber(lab: LabPage) -> None:
    """Keys, Play and half-steps move the figure; the E- and M-step panels equal the library."""
    page = lab.page
    viewer = lab.widget(".gmm-em-view")  # the first: the finished run's (the runner's comes later)
    viewer.locator("canvas.scatter").wait_for()
    slider = viewer.locator("input.frame-slider")
    first = canvas_hash(viewer)
    assert frame(viewer) == {"index": 0, "kind": "initial", "iteration": 0}
    lab.screenshot("02-viewer-start", viewer)

    # Arrow keys (JupyterLab would take them if the slider did not keep them): half-steps.
    slider.focus()
    seen, kinds = {first}, []
    for expected in (1, 2, 3, 4):
        page.keyboard.press("ArrowRight")
        state = frame(viewer)
        assert state["index"] == expected
        kinds.append((state["kind"], state["iteration"]))
        seen.add(canvas_hash(viewer))
    assert kinds == [("E", 0), ("M", 1), ("E", 1), ("M", 2)]  # E recolours, M moves the ellipses
    assert len(seen) == 5, "a key press left the figure as it was"
    lab.screenshot("03-viewer-m-step-2", viewer)
    page.keyboard.press("End")
    assert frame(viewer)["index"] == int(slider.get_attribute("max"))
    page.keyboard.press("Home")
    assert frame(viewer)["index"] == 0 and canvas_hash(viewer) == first

    # Play at 30 frames per second, then pause.
    viewer.locator("select.speed").select_option("30")
    viewer.locator("button.play").click()
    page.wait_for_function("(root) => +root.dataset.frame >= 6", arg=viewer.element_handle(),
                           timeout=10_000)
    viewer.locator("button.play").click()
    paused = frame(viewer)["index"]
    page.wait_for_timeout(300)
    assert frame(viewer)["index"] == paused and canvas_hash(viewer) != first

    # A token's E-step at gamma_1, against the library from the same float64 parameters.
    slider.focus()
    page.keyboard.press("Home")
    for _ in range(3):
        page.keyboard.press("ArrowRight")  # E-step 1
    t = frame(viewer)["iteration"]
    theta = parameters(viewer, t)
    gamma, _ = e_step(theta["X"], theta["weights"], theta["means"], theta["covariances"])
    n, pixel = token_away_from_means(viewer, gamma)
    click_canvas(lab, viewer, pixel)
    panel = viewer.locator(".panel")
    panel.wait_for(state="visible")
    assert panel.get_attribute("data-panel") == "e-step"
    assert int(panel.get_attribute("data-iteration")) == t
    n = int(panel.get_attribute("data-token"))  # the token clicked, or one at the same place
    x = theta["X"][n:n + 1]
    log_density = log_gaussian_density(x, theta["means"], theta["covariances"])[0]
    _, log_norm = log_responsibilities(x, theta["weights"], theta["means"], theta["covariances"])
    for name, expected in (("data-log-density", log_density), ("data-gamma", gamma[n]),
                           ("data-log-norm", log_norm[0]),
                           ("data-log-weights", np.log(theta["weights"]))):
        np.testing.assert_allclose(json.loads(panel.get_attribute(name)), expected,
                                   rtol=0, atol=1e-9, err_msg=name)
    lab.screenshot("04-viewer-e-step-panel", viewer)

    # A component's M-step from gamma_1, against the library's m_step.
    k = 1
    click_canvas(lab, viewer, viewer.evaluate(f"root => root.gmmView.pixelOfMean({k})"))
    panel.wait_for(state="visible")
    page.wait_for_function("(p) => p.dataset.panel === 'm-step'", arg=panel.element_handle())
    assert int(panel.get_attribute("data-component")) == k
    weights, means, covariances = m_step(theta["X"], gamma, theta["covariance_type"],
                                         theta["reg_covar"])
    np.testing.assert_allclose(json.loads(panel.get_attribute("data-counts")), gamma[:, k].sum(),
                               rtol=1e-9)
    np.testing.assert_allclose(json.loads(panel.get_attribute("data-weight")), weights[k], rtol=1e-9)
    np.testing.assert_allclose(json.loads(panel.get_attribute("data-mean")), means[k], rtol=1e-9)
    np.testing.assert_allclose(json.loads(panel.get_attribute("data-covariance")), covariances[k],
                               rtol=1e-9)
    lab.screenshot("05-viewer-m-step-panel", viewer)


def runner_states(runner) -> int:
    return int(runner.get_attribute("data-states"))


def wait_for_runner(lab: LabPage, runner, condition: str, timeout: float = 30.0) -> None:
    """Wait until `condition` (JS, of the runner's root element `r`) holds."""
    lab.page.wait_for_function(f"(r) => {condition}", arg=runner.element_handle(),
                               timeout=timeout * 1000)


def check_live_runner(lab: LabPage) -> None:
    """Step and Run add states live, Stop stops them; placed means, starts compared, colours kept."""
    page = lab.page
    runner = lab.widget(".gmm-live-runner")
    view = runner.locator(".gmm-em-view")
    view.locator("canvas.scatter").wait_for()
    assert runner_states(runner) == 1
    initial = canvas_hash(view)
    lab.screenshot("06-runner-start", runner)

    # Step twice: one state each, drawn as it arrives.
    step = runner.locator("button.live-step")
    for n in (2, 3):
        step.click()
        wait_for_runner(lab, runner, f"+r.dataset.states === {n}")
    assert canvas_hash(view) != initial
    assert frame(view)["iteration"] == 2  # the view follows the newest state

    # Run at 4 iterations per second: the page sees the states arrive one by one.
    runner.locator("button.live-run").click()
    wait_for_runner(lab, runner, "r.dataset.running === 'true'")
    counts = []
    for _ in range(8):
        counts.append(runner_states(runner))
        page.wait_for_timeout(200)
    assert len(set(counts)) >= 3, f"states did not arrive one by one while running: {counts}"
    runner.locator("button.live-stop").click(force=True)  # force: Run may have finished meanwhile
    wait_for_runner(lab, runner, "r.dataset.running === 'false'")
    stopped = runner_states(runner)
    assert "paused" in runner.locator(".live-status").inner_text()
    page.wait_for_timeout(800)
    assert runner_states(runner) == stopped, "states kept arriving after Stop"
    lab.screenshot("07-runner-after-run-stop", runner)

    # Full speed to convergence: the finished run becomes start 1.
    speed = runner.locator("input.live-speed")
    speed.focus()
    page.keyboard.press("End")
    runner.locator("button.live-run").click()
    wait_for_runner(lab, runner, "r.dataset.finished === 'true' && r.dataset.running === 'false'")
    assert "converged" in runner.locator(".live-status").inner_text()
    finished = runner_states(runner)
    assert finished > stopped
    old_colors = view.evaluate("root => root.gmmView.view.run.payload.component_colors")

    # Place two means on the old components' final means, in the other order, and Run.
    view.locator("button.place").click()
    pixels = [view.evaluate(f"root => root.gmmView.pixelOfMean({k})") for k in (1, 0)]
    for x, y in pixels:
        click_canvas(lab, view, (x + 3, y + 3))
    assert view.get_attribute("data-placed") == "2"
    placed = np.array(view.evaluate("root => root.gmmView.view.placed"))
    lab.screenshot("08-runner-placed-means", runner)
    view.locator("button.run-placed").click()
    lab.wait_for_text(runner.locator(".gmm-em-view h3"), r"EM from 2 placed means", timeout=60)
    wait_for_runner(lab, runner, "r.dataset.finished === 'true' && r.dataset.running === 'false'")
    view = runner.locator(".gmm-em-view")
    start = np.reshape(view.evaluate("root => Array.from(root.gmmView.view.run.means.slice(0, 4))"),
                       (2, 2))
    np.testing.assert_allclose(start, placed, rtol=0, atol=1e-9)
    new_colors = view.evaluate("root => root.gmmView.view.run.payload.component_colors")
    assert new_colors == [old_colors[1], old_colors[0]], (old_colors, new_colors)
    starts = view.locator(".starts .start")
    starts.first.wait_for()
    assert starts.count() == 2
    final_l = view.evaluate("root => root.gmmView.view.run.L.at(-1)")
    assert json.loads(starts.nth(1).get_attribute("data-final-l")) == final_l
    view.locator("input.frame-slider").focus()
    page.keyboard.press("End")
    lab.screenshot("09-runner-from-placed-means", runner)
    lab.screenshot("10-runner-starts-compared", view.locator(".starts"))

    # Typing a new K (JupyterLab must leave the digits to the box) starts a new run.
    n_cells = lab.panel.locator(".jp-Cell").count()
    k_box = runner.locator("input.live-k")
    k_box.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("3")
    page.keyboard.press("Enter")
    lab.wait_for_text(runner.locator(".gmm-em-view h3"), r"K = 3", timeout=60)
    wait_for_runner(lab, runner, "+r.dataset.states === 1")
    assert runner.locator(".gmm-em-view").evaluate("root => root.gmmView.view.run.K") == 3
    assert lab.panel.locator(".jp-Cell").count() == n_cells  # no notebook shortcut fired
    lab.screenshot("11-runner-k-3", runner)


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------


@pytest.mark.parametrize("notebook", WIDGET_NOTEBOOKS)
def test_scrubber_and_live_runner(lab, notebook):
    """Run all, then scrub, play, look inside the steps, step and run as a student would."""
    screenshots_for(lab, "widgets", notebook)
    open_and_run_all(lab, notebook)
    lab.screenshot("01-after-run-all")
    check_scrubber(lab)
    check_live_runner(lab)
    assert_clean_run(lab, notebook)


@pytest.mark.parametrize("notebook", RENDER_NOTEBOOKS)
def test_notebook_runs_in_browser(lab, notebook):
    """The lesson runs top to bottom in JupyterLab without an error output."""
    screenshots_for(lab, "runs", notebook)
    open_and_run_all(lab, notebook)
    lab.screenshot("01-after-run-all")


def test_harness_catches_failures(lab, lab_server):
    """Self-check: the harness reports an exception, stderr, the cells not run, a page error."""
    broken = "broken.ipynb"
    write_notebook(lab_server.root_dir / broken, [
        'import sys; print("e2e self-check: injected warning", file=sys.stderr)',
        'from IPython.display import HTML, display\n'
        'display(HTML("<img src=x onerror=\\"throw new Error(\'e2e self-check: page error\')\\">"))',
        'raise RuntimeError("e2e self-check: injected failure")',
        'print("after the failure: never runs")',
    ])
    screenshots_for(lab, "selfcheck", broken)
    lab.open_notebook(broken)
    lab.run_all()
    errors = lab.error_outputs(include_stderr=False)
    assert len(errors) == 1 and "RuntimeError: e2e self-check: injected failure" in errors[0], errors
    errors = lab.error_outputs()
    assert len(errors) == 2 and "injected warning" in errors[1], errors
    assert lab.unexecuted_cells() == 1  # execution stops at the error
    with pytest.raises(AssertionError, match="error output"):
        assert_clean_run(lab, broken)
    assert any("e2e self-check: page error" in error for error in lab.page_errors), lab.page_errors
    lab.screenshot("01-errors-reported")
