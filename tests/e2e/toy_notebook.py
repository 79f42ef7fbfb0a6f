"""A stand-in notebook that follows gmm_lab's widget DOM contract.

It proves the browser harness on its own, without gmm_lab: an ipympl figure
with an ellipse that a Play + IntSlider scrubber moves in place, and a live
runner whose Step/Run/Stop/Reset buttons grow a list of "states". The CSS
classes are the ones the real viewers carry:

- scrubber ``gmm-lab-scrubber`` holding ``gmm-lab-play``, ``gmm-lab-slider``,
  ``gmm-lab-readout`` ("iteration T of N · ...") and the figure;
- runner ``gmm-lab-runner`` holding ``gmm-lab-step``, ``gmm-lab-run``,
  ``gmm-lab-stop``, ``gmm-lab-reset``, ``gmm-lab-slider`` (its max grows) and
  ``gmm-lab-readout``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

IMPORTS = """\
%matplotlib widget
import asyncio

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Ellipse"""

# The ellipse walks round a circle and turns: every iteration draws
# different pixels, as EM's ellipses do.
HELPERS = """\
def toy_state(t):
    angle = 0.5 * t
    return (np.cos(angle), np.sin(angle)), 25.0 * t


def toy_figure(title):
    with plt.ioff():  # shown inside the container, not on its own
        fig, ax = plt.subplots(figsize=(4.5, 3.5))
    ax.set(xlim=(-2, 2), ylim=(-2, 2), title=title)
    ax.set_aspect("equal")
    ellipse = Ellipse((0, 0), 1.6, 0.7, fill=False, lw=3, color="C1")
    ax.add_patch(ellipse)
    (centre,) = ax.plot([], [], "x", ms=12, mew=3, color="C0")
    fig.canvas.header_visible = False
    fig.canvas.footer_visible = False

    def draw(t, send=True):
        xy, angle = toy_state(t)
        ellipse.set_center(xy)
        ellipse.set_angle(angle)
        centre.set_data([xy[0]], [xy[1]])
        if send:
            # Two ipympl pitfalls when frames follow each other quickly
            # (Step, Step; matplotlib issue #19116): draw_idle() asks the
            # browser to request a frame, and the browser drops that request
            # while it still waits for an earlier frame (which, with
            # JupyterLab's comms over kernel subshells, may have been
            # rendered on another thread before this change); and frames are
            # sent as diffs, so one frame the browser skips leaves the
            # picture wrong for good. So send every frame at once (draw())
            # and whole (_force_full, the flag matplotlib sets itself on a
            # resize). Not before the figure is shown: the view requests its
            # first frame. (gmm_lab's EMView also renders under a lock shared
            # with its canvas; this toy is too small to need it.)
            fig.canvas._force_full = True
            fig.canvas.draw()

    return fig, draw"""

SCRUBBER = """\
n_states = 18
scrub_fig, scrub_draw = toy_figure("scrubber")
play = widgets.Play(min=0, max=n_states - 1, interval=150)
slider = widgets.IntSlider(min=0, max=n_states - 1, description="t")
readout = widgets.HTML()
widgets.jslink((play, "value"), (slider, "value"))


def show(t, send=True):
    scrub_draw(t, send)
    readout.value = f"iteration {t} of {n_states - 1} · log-likelihood {-100 / (t + 1):.2f}"


slider.observe(lambda change: show(change["new"]), names="value")
show(0, send=False)

play.add_class("gmm-lab-play")
slider.add_class("gmm-lab-slider")
readout.add_class("gmm-lab-readout")
scrubber = widgets.VBox([widgets.HBox([play, slider]), readout, scrub_fig.canvas])
scrubber.add_class("gmm-lab-scrubber")
scrubber"""

RUNNER = """\
run_fig, run_draw = toy_figure("live runner")
states = [0]
run_slider = widgets.IntSlider(min=0, max=0, description="t")
run_readout = widgets.HTML()
buttons = {name: widgets.Button(description=name.title()) for name in ("step", "run", "stop", "reset")}
running = {"task": None}


def run_show(t, send=True):
    run_draw(t, send)
    run_readout.value = f"iteration {t} · states computed: {len(states)}"


def step(_=None):
    states.append(len(states))
    run_slider.max = len(states) - 1
    run_slider.value = run_slider.max  # the observer draws it


async def run_loop():
    while True:
        step()
        await asyncio.sleep(0.3)


def run(_):
    if running["task"] is None or running["task"].done():
        running["task"] = asyncio.ensure_future(run_loop())


def stop(_=None):
    if running["task"] is not None:
        running["task"].cancel()


def reset(_):
    stop()
    del states[1:]
    run_slider.value = run_slider.max = 0
    run_show(0)


for name, callback in [("step", step), ("run", run), ("stop", stop), ("reset", reset)]:
    buttons[name].on_click(callback)
    buttons[name].add_class(f"gmm-lab-{name}")
run_slider.observe(lambda change: run_show(change["new"]), names="value")
run_show(0, send=False)

run_slider.add_class("gmm-lab-slider")
run_readout.add_class("gmm-lab-readout")
runner = widgets.VBox([widgets.HBox(list(buttons.values())), run_slider, run_readout, run_fig.canvas])
runner.add_class("gmm-lab-runner")
runner"""


def toy_notebook() -> nbformat.NotebookNode:
    """The toy notebook: imports, helpers, a scrubber, a live runner."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Toy notebook for the browser harness"),
        nbformat.v4.new_code_cell(IMPORTS),
        nbformat.v4.new_code_cell(HELPERS),
        nbformat.v4.new_code_cell(SCRUBBER),
        nbformat.v4.new_code_cell(RUNNER),
    ]
    return notebook


def write_toy_notebook(path: Path, extra_cells: list[str] = ()) -> Path:
    """Write the toy notebook to `path`, with `extra_cells` (code) appended.

    Parameters
    ----------
    path : pathlib.Path
        Target ``.ipynb`` file (in a temporary folder, never the repo).
    extra_cells : list of str
        Source of code cells to add at the end, e.g. one that raises, to
        prove that the harness reports errors.

    Returns
    -------
    pathlib.Path
        `path`.
    """
    notebook = toy_notebook()
    notebook.cells.extend(nbformat.v4.new_code_cell(source) for source in extra_cells)
    nbformat.write(notebook, path)
    return path
