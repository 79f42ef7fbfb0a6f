"""End-to-end: what a student does in JupyterLab, in headless Chromium.

Starts JupyterLab on a temporary copy of the notebooks, runs every cell,
then drives the widgets as a student would (keyboard on the slider, Play,
Step) and checks the figure's pixels, the iteration readout, and that the
figure shown is the kernel's (no lost frames). Screenshots of every stage
go to ``build/e2e/<scenario>-<notebook>/``, the server log to
``build/e2e/jupyter-server.log``.

Run with ``pytest -m e2e`` (``make e2e``). Needs Debian's ``chromium`` and
the Python ``playwright`` package; without them the tests are skipped,
except under ``CI=true``, where they fail.

The widget scenario runs on a toy notebook (``toy_notebook.py``) that
follows gmm_lab's DOM contract, so the harness is proven independently of
gmm_lab; the lessons join through ``WIDGET_NOTEBOOKS``/``RENDER_NOTEBOOKS``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
from pathlib import Path

import pytest

from .jupyter_browser import CHROMIUM, LabPage, jupyter_lab, launch_chromium
from .toy_notebook import write_toy_notebook

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
SCREENSHOT_ROOT = REPO_ROOT / "build" / "e2e"

#: Written by the fixture into the temporary copy, next to the lessons.
TOY = "toy_em_widgets.ipynb"
#: Notebooks (names in notebooks/) with a scrubber and a live runner
#: following gmm_lab's DOM contract, e.g. "03_em_step_by_step.ipynb".
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
    write_toy_notebook(root / TOY)
    return root


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


def iteration_pattern(t: int) -> str:
    """Regex: the readout's first "iteration" is followed by `t` exactly.

    Only the first occurrence counts, because a readout may say more
    ("iteration 3 of 17 · change from iteration 2"); and ``\\b`` keeps
    ``iteration 1`` from matching ``iteration 17``.
    """
    return rf"^(?:(?!iteration)[\s\S])*iteration\s+{t}\b"


def open_and_run_all(lab: LabPage, notebook: str) -> None:
    """Open `notebook`, run all cells, and require a clean run."""
    lab.open_notebook(notebook)
    lab.run_all()
    assert_clean_run(lab, notebook)


def assert_clean_run(lab: LabPage, notebook: str) -> None:
    """No error output, and every code cell executed."""
    errors = lab.error_outputs()
    assert not errors, f"{notebook} produced error output(s):\n" + "\n---\n".join(errors)
    assert lab.unexecuted_cells() == 0, f"{notebook}: some code cells did not run"


def assert_canvas_current(lab: LabPage, container, stage: str) -> None:
    """The figure in the browser is the kernel's figure, not a stale frame.

    Call after the stage's screenshot: if the check fails, that screenshot
    shows what the student saw and ``<stage>-full-redraw.png`` what they
    should have seen.
    """
    stale = lab.stale_canvas(container)
    if stale is not None:
        lab.screenshot(f"{stage}-full-redraw", container)
    assert stale is None, (
        f"{stage}: the browser shows a stale or corrupted frame; a full redraw from the "
        f"kernel changed the canvas ({stale[0]} -> {stale[1]}). Lost or torn ipympl frames: "
        "render each change once with canvas.draw(), as a full frame, under a lock shared "
        "with the canvas (see gmm_lab.plotting.EMView.redraw and toy_notebook.py)."
    )


def check_scrubber(lab: LabPage) -> None:
    """Keyboard on the slider and Play must move the figure and the readout."""
    scrubber = lab.widget(".gmm-lab-scrubber")
    slider = scrubber.locator(".gmm-lab-slider")
    readout = scrubber.locator(".gmm-lab-readout")
    play_pause = scrubber.locator(".gmm-lab-play button").first

    start = lab.slider_state(slider)
    assert start["max"] > start["min"] + 1, f"nothing to scrub: {start}"
    lab.wait_for_text(readout, iteration_pattern(start["now"]))
    first = lab.wait_for_canvas(scrubber)
    lab.screenshot("02-scrubber-start", scrubber)

    # One step right with the arrow key.
    lab.press_on_slider(slider, "ArrowRight")
    state = lab.wait_for_slider(slider, lambda s: s["now"] == start["now"] + 1, "one step right")
    lab.wait_for_text(readout, iteration_pattern(state["now"]))
    stepped = lab.wait_for_canvas(scrubber, differs_from=first)
    lab.screenshot("03-scrubber-arrow-right", scrubber)

    # Jump to the last iteration.
    lab.press_on_slider(slider, "End")
    state = lab.wait_for_slider(slider, lambda s: s["now"] == s["max"], "to its end")
    lab.wait_for_text(readout, iteration_pattern(state["max"]))
    last = lab.wait_for_canvas(scrubber, differs_from=stepped)
    lab.screenshot("04-scrubber-end", scrubber)
    assert_canvas_current(lab, scrubber, "04-scrubber-end")

    # Back to the start, then Play; pause it midway if it is still playing.
    lab.press_on_slider(slider, "Home")
    lab.wait_for_slider(slider, lambda s: s["now"] == s["min"], "back to its start")
    lab.wait_for_text(readout, iteration_pattern(start["min"]))
    home = lab.wait_for_canvas(scrubber, differs_from=last)
    play_pause.click()
    lab.wait_for_slider(slider, lambda s: s["now"] >= s["min"] + 2, "moved by Play")
    if play_pause.locator("i.fa-pause").count():
        play_pause.click()
    state = lab.wait_for_slider_to_settle(slider)
    lab.wait_for_text(readout, iteration_pattern(state["now"]))
    lab.wait_for_canvas(scrubber, differs_from=home)
    lab.screenshot("05-scrubber-after-play", scrubber)
    assert_canvas_current(lab, scrubber, "05-scrubber-after-play")


def check_live_runner(lab: LabPage) -> None:
    """Step twice must add two states; Run/Stop must add some, then stop."""
    runner = lab.widget(".gmm-lab-runner")
    slider = runner.locator(".gmm-lab-slider")
    readout = runner.locator(".gmm-lab-readout")

    before = lab.slider_state(slider)
    lab.wait_for_text(readout, iteration_pattern(before["now"]))
    initial = lab.wait_for_canvas(runner)
    lab.screenshot("06-runner-start", runner)

    # Wait for each Step's state before the next click: a second click
    # could otherwise land while the button is busy.
    step = runner.locator(".gmm-lab-step")
    for n_new in (1, 2):
        step.click()
        lab.wait_for_slider(slider, lambda s, n=n_new: s["max"] == before["max"] + n, f"{n_new} new state(s)")
    state = lab.wait_for_slider_to_settle(slider)
    assert state["max"] == before["max"] + 2, f"two Steps gave {state['max'] - before['max']} new states"
    lab.wait_for_text(readout, iteration_pattern(state["now"]))
    stepped = lab.wait_for_canvas(runner, differs_from=initial)
    lab.screenshot("07-runner-after-two-steps", runner)
    assert_canvas_current(lab, runner, "07-runner-after-two-steps")

    # Run adds states until Stop; after Stop no more arrive.
    runner.locator(".gmm-lab-run").click()
    lab.wait_for_slider(slider, lambda s: s["max"] > state["max"], "new states from Run")
    # force: if EM converged meanwhile, Stop is disabled again, and a plain
    # click would wait for it to become enabled.
    runner.locator(".gmm-lab-stop").click(force=True)
    stopped = lab.wait_for_slider_to_settle(slider, settle=1.0)
    lab.wait_for_text(readout, iteration_pattern(stopped["now"]))
    lab.wait_for_canvas(runner, differs_from=stepped)
    lab.screenshot("08-runner-after-run-stop", runner)
    assert_canvas_current(lab, runner, "08-runner-after-run-stop")


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------


@pytest.mark.parametrize("notebook", WIDGET_NOTEBOOKS)
def test_scrubber_and_live_runner(lab, notebook):
    """Run all, then scrub, play and step as a student would."""
    screenshots_for(lab, "widgets", notebook)
    open_and_run_all(lab, notebook)
    lab.screenshot("01-after-run-all")
    check_scrubber(lab)
    check_live_runner(lab)
    # Callback errors surface in the widgets' Output areas only now.
    assert_clean_run(lab, notebook)


@pytest.mark.parametrize("notebook", RENDER_NOTEBOOKS)
def test_notebook_runs_in_browser(lab, notebook):
    """The lesson runs top to bottom in JupyterLab without an error output."""
    screenshots_for(lab, "runs", notebook)
    open_and_run_all(lab, notebook)
    lab.screenshot("01-after-run-all")


def test_harness_catches_failures(lab, lab_server):
    """Self-check: the harness reports errors, stderr and an unlinked slider.

    A temporary copy of the toy notebook gets more cells: one disconnects
    the scrubber's slider from the figure (as a broken link in gmm_lab
    would), one writes to stderr, one raises. All must be noticed.
    """
    broken = "toy_broken.ipynb"
    write_toy_notebook(
        lab_server.root_dir / broken,
        extra_cells=[
            'slider.unobserve_all("value")  # the slider no longer moves the figure',
            'import sys; print("e2e self-check: injected warning", file=sys.stderr)',
            'raise RuntimeError("e2e self-check: injected failure")',
            'print("after the failure: never runs")',
        ],
    )
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

    scrubber = lab.widget(".gmm-lab-scrubber")
    slider = scrubber.locator(".gmm-lab-slider")
    before = lab.wait_for_canvas(scrubber)
    lab.press_on_slider(slider, "ArrowRight")
    lab.wait_for_slider(slider, lambda s: s["now"] == 1, "one step right")
    with pytest.raises(TimeoutError, match="canvas hash"):
        lab.wait_for_canvas(scrubber, differs_from=before, timeout=3)
    with pytest.raises(AssertionError):
        lab.wait_for_text(scrubber.locator(".gmm-lab-readout"), iteration_pattern(1), timeout=1)
    lab.screenshot("01-broken-slider-did-not-move-figure", scrubber)
