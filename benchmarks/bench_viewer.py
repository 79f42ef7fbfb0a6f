"""Size and speed of the browser viewer (gmm_lab.viewer), the issue's worst case.

A 100-iteration, K = 10 run on all 1520 tokens (k-means++ from seed 0,
tol=0 so that it takes all 100 steps). Printed:

- the payload (the run packed for the browser, compact JSON), the offline
  HTML page, and the widget's output as a notebook would store it
  (text/html iframe fallback and image/png picture; the widget view itself
  is a few bytes, its state holds the payload once more when saved);
- key press on the slider -> repainted figure in headless Chromium, timed
  inside the page: from the keydown's timestamp to the next
  requestAnimationFrame callback after the frame was drawn ("next frame"),
  and to the one after that ("after paint", when the pixels have been
  presented). Median and range over the steps; the target is a median of at
  most 33 ms (two frames at 60 Hz).

- the live runner (gmm_lab.viewer.live): one new state arriving in the
  page (the kernel's message, theta_t base64) -> appended and the figure
  repainted, timed inside the page the same way, for states 50..99 of the
  same run; and the kernel's side, one EM iteration plus packing the message.

Run: ``python benchmarks/bench_viewer.py [--steps 30] [--lab]``; ``--lab``
times the widget inside JupyterLab too (the front end the issue measured
the ipympl scrubber in, median 150-160 ms), and the live runner there: a
click on Step -> the new state drawn (a kernel round trip: the click's
message, one EM iteration, the state's message, the repaint). Needs Debian's
chromium and the Python playwright package for the latency part. Numbers
only, nothing asserted: they depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from gmm_lab import load_vowels, run_em
from gmm_lab.viewer import history_payload
from gmm_lab.viewer.page import page_from_payload

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

#: Installed in the page: time each key press on the slider to the repaint.
TIMING_JS = """
(slider) => {
    window.latencies = [];
    window.afterPaint = [];
    let pressed = null;
    slider.addEventListener('keydown', (event) => { pressed = event.timeStamp; });
    // Added after the viewer's own listener, so this runs once the frame is drawn.
    slider.addEventListener('input', () => {
        const start = pressed;
        requestAnimationFrame(() => {
            window.latencies.push(performance.now() - start);
            requestAnimationFrame(() => window.afterPaint.push(performance.now() - start));
        });
    });
}
"""


def the_run():
    data = load_vowels()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not converging in 100 steps is the point (tol=0)
        history = run_em(data.X, 10, init_params="k-means++", random_state=0, max_iter=100,
                         tol=0.0)
    return history, data


def sizes(history, data) -> dict:
    from gmm_lab.viewer import EMViewerWidget

    payload = history_payload(history, data)
    widget = EMViewerWidget(history, data)
    bundle, _ = widget._repr_mimebundle_()
    return {
        "payload": len(json.dumps(payload, separators=(",", ":"))),
        "page": len(page_from_payload(payload).encode("utf-8")),
        "text/html": len(bundle["text/html"].encode("utf-8")),
        "image/png": len(bundle["image/png"]),
        "widget state (payload + module)": len(json.dumps(widget.payload, separators=(",", ":")))
        + len(str(widget._esm)),
    }


def latencies(page_path: Path, steps: int, half_steps: bool) -> tuple:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1000})
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.route("**/*", lambda route: route.continue_()
                       if route.request.url.startswith(("file:", "data:")) else route.abort())
            page.goto(page_path.as_uri())
            page.wait_for_selector("canvas.scatter")
            if not half_steps:
                page.locator("input.half-steps").uncheck()
            first, painted = press_and_time(page, page.locator("input.frame-slider"), steps)
            if errors:
                raise RuntimeError(f"page errors: {errors}")
            return first, painted
        finally:
            browser.close()


def press_and_time(page, slider, steps: int) -> tuple:
    """Press ArrowRight `steps` times on `slider`; the latencies timed inside the page (ms)."""
    slider.evaluate(TIMING_JS)
    slider.focus()
    page.keyboard.press("Home")
    page.wait_for_timeout(200)
    page.evaluate("() => { window.latencies = []; window.afterPaint = []; }")
    for _ in range(steps):
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(120)
    page.wait_for_timeout(300)
    return (np.array(page.evaluate("() => window.latencies")),
            np.array(page.evaluate("() => window.afterPaint")))


#: Installed in the page: append each message to the view, time it to the next frames.
APPEND_JS = """
async ([messages]) => {
    const root = document.querySelector('.gmm-em-view');
    const first = [], painted = [];
    for (const message of messages) {
        const start = performance.now();
        root.gmmView.append(message);
        await new Promise((resolve) => requestAnimationFrame(() => {
            first.push(performance.now() - start);
            requestAnimationFrame(() => { painted.push(performance.now() - start); resolve(); });
        }));
    }
    return [first, painted, +root.dataset.iteration];
}
"""


def live_latencies(history, data, start: int = 50) -> tuple:
    """States start.. of the run appended one message at a time to a page holding states 0..start-1."""
    from playwright.sync_api import sync_playwright

    from gmm_lab.states import History
    from gmm_lab.viewer.live import _state_message

    payload = history_payload(History(history.states[:start], history.X), data)
    messages = [_state_message("bench", [history[t]], t) for t in range(start, len(history))]
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        path = Path(folder) / "live.html"
        path.write_text(page_from_payload(payload), encoding="utf-8")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1000})
            page.goto(path.as_uri())
            page.wait_for_selector("canvas.scatter")
            page.locator("input.frame-slider").focus()
            page.keyboard.press("End")  # follow the newest state, as the runner does
            first, painted, shown = page.evaluate(APPEND_JS, [messages])
            if shown != len(history) - 1:
                raise RuntimeError(f"the view shows iteration {shown}, not the last state")
            return np.array(first), np.array(painted)
        finally:
            browser.close()


def kernel_step_times(data, repeats: int = 30) -> np.ndarray:
    """One EM iteration (K = 10, all tokens) plus packing its message, in ms."""
    import time

    from gmm_lab import em
    from gmm_lab.viewer.live import _state_message

    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        states = em(data.X, 10, init_params="k-means++", random_state=0, max_iter=repeats,
                    tol=0.0)
        next(states)
        for t in range(1, repeats + 1):
            started = time.perf_counter()
            state = next(states)
            json.dumps(_state_message("bench", [state], t))
            times.append(1e3 * (time.perf_counter() - started))
    return np.array(times)


LAB_CELLS = [
    "import warnings\n"
    "from gmm_lab import load_vowels, run_em\n"
    "from gmm_lab.viewer import EMViewerWidget",
    "data = load_vowels()\n"
    "with warnings.catch_warnings():\n"
    "    warnings.simplefilter('ignore')\n"
    "    history = run_em(data.X, 10, init_params='k-means++', random_state=0, max_iter=100, tol=0.0)\n"
    "EMViewerWidget(history, data)",
    "from gmm_lab.widgets import LiveRunner\n"
    "LiveRunner(vowels=[v.label for v in __import__('gmm_lab').VOWELS], n_components=10,\n"
    "           init_params='k-means++', seed=0, max_iter=200, tol=0.0)",
]

#: Installed in the page: time each click on the runner's Step to the new state's repaint.
STEP_JS = """
(runner) => {
    window.stepLatencies = [];
    let clicked = null;
    runner.querySelector('button.live-step').addEventListener('click', () => { clicked = performance.now(); }, true);
    new MutationObserver(() => {
        if (clicked === null) return;
        const start = clicked;
        clicked = null;
        requestAnimationFrame(() => window.stepLatencies.push(performance.now() - start));
    }).observe(runner, {attributes: true, attributeFilter: ['data-states']});
}
"""


def lab_latencies(steps: int) -> tuple:
    """The same key presses on the widget in JupyterLab (the harness of tests/e2e)."""
    import nbformat
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.e2e.jupyter_browser import LabPage, jupyter_lab, launch_chromium

    with tempfile.TemporaryDirectory() as folder:
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [nbformat.v4.new_code_cell(source) for source in LAB_CELLS]
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                           "language": "python"}
        nbformat.write(notebook, Path(folder) / "bench.ipynb")
        with jupyter_lab(Path(folder)) as server, sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 1100})
                lab = LabPage(page, server)
                lab.open_notebook("bench.ipynb")
                lab.run_all()
                viewer = lab.widget(".gmm-em-view")
                viewer.locator("canvas.scatter").wait_for()
                keys = press_and_time(page, viewer.locator("input.frame-slider"), steps)
                runner = lab.widget(".gmm-live-runner")
                runner.locator("canvas.scatter").wait_for()
                runner.evaluate(STEP_JS)
                for n in range(2, steps + 2):
                    runner.locator("button.live-step").click()
                    page.wait_for_function(f"(r) => +r.dataset.states >= {n}",
                                           arg=runner.element_handle(), timeout=30_000)
                page.wait_for_timeout(200)
                return (*keys, np.array(page.evaluate("() => window.stepLatencies")))
            finally:
                browser.close()
                server.shutdown_kernels()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="key presses timed (default: 30)")
    parser.add_argument("--verbose", action="store_true", help="print every step's latency")
    parser.add_argument("--lab", action="store_true",
                        help="also time the widget in JupyterLab (starts a server; ~1 min)")
    args = parser.parse_args(argv)
    history, data = the_run()
    print(f"{len(data)} tokens, K = {history[0].n_components}, {len(history) - 1} iterations")
    for name, size in sizes(history, data).items():
        print(f"  {name:<32} {size / 1e3:8.1f} kB")
    if not Path(CHROMIUM).is_file():
        print(f"latency: skipped (no Chromium at {CHROMIUM})")
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.html"
        path.write_text(page_from_payload(history_payload(history, data)), encoding="utf-8")
        for half_steps in (True, False):
            first, painted = latencies(path, args.steps, half_steps)
            label = "half-steps" if half_steps else "whole iterations"
            if args.verbose:
                print(f"  {label}, next frame, per step (ms):", np.round(first, 1).tolist())
            for name, values in (("next frame", first), ("after paint", painted)):
                print(f"key -> repaint, {label:<16} {name:<11}: median {np.median(values):5.1f} ms, "
                      f"range {values.min():5.1f}-{values.max():5.1f} ms ({values.size} steps)")
    steps = kernel_step_times(data)
    print(f"live runner, kernel: one EM iteration + its message: median {np.median(steps):5.1f} ms, "
          f"range {steps.min():5.1f}-{steps.max():5.1f} ms ({steps.size} iterations)")
    first, painted = live_latencies(history, data)
    for name, values in (("next frame", first), ("after paint", painted)):
        print(f"live runner, state arrives -> repaint, {name:<11}: median {np.median(values):5.1f} ms, "
              f"range {values.min():5.1f}-{values.max():5.1f} ms ({values.size} states)")
    if args.lab:
        first, painted, stepped = lab_latencies(args.steps)
        for name, values in (("next frame", first), ("after paint", painted)):
            print(f"key -> repaint, JupyterLab widget, half-steps, {name:<11}: median "
                  f"{np.median(values):5.1f} ms, range {values.min():5.1f}-{values.max():5.1f} ms "
                  f"({values.size} steps)")
        print(f"live runner in JupyterLab, Step click -> new state drawn: median "
              f"{np.median(stepped):5.1f} ms, range {stepped.min():5.1f}-{stepped.max():5.1f} ms "
              f"({stepped.size} clicks)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
