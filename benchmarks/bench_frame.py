"""Time one frame of the EM view: ``view.update(state)`` + ``fig.canvas.draw()``.

The worst case the lessons show: all 1520 tokens, K = 10 components, Agg.
A frame moves ten ellipses, the means, the log-likelihood marker and (with
responsibility colours) recolours every point, then renders the figure.

Two numbers are printed for each colouring:

- ``update + draw``: exactly ``view.update(state); fig.canvas.draw()``. On
  Agg, ``draw_idle()`` (called once by ``update``) renders at once, so this
  renders the figure twice.
- ``one render``: ``view.update(state, draw=False); fig.canvas.draw()``,
  the cost of a frame in JupyterLab, where ipympl's ``draw_idle()`` only
  asks the browser to request one render.

Run: ``python benchmarks/bench_frame.py [--repeats 5]``. The aim is a median
under 20 ms so that Play at full speed stays smooth.
"""

from __future__ import annotations

import argparse
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gmm_lab.data import load_vowels  # noqa: E402
from gmm_lab.em import run_em  # noqa: E402
from gmm_lab.plotting import EMView  # noqa: E402

N_COMPONENTS = 10


def time_frames(view, states, repeats: int, *, draw_idle: bool) -> np.ndarray:
    """Seconds per frame over ``repeats`` passes through all states."""
    canvas = view.figure.canvas
    view.update(states[0])
    canvas.draw()  # warm caches (fonts, text layout) before timing
    seconds = []
    for _ in range(repeats):
        for state in states:
            start = time.perf_counter()
            view.update(state, draw=draw_idle)
            canvas.draw()
            seconds.append(time.perf_counter() - start)
    return np.array(seconds)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5,
                        help="passes through the run's states (default: 5)")
    args = parser.parse_args(argv)

    data = load_vowels()
    history = run_em(data.X, N_COMPONENTS, random_state=0, init_params="kmeans")
    print(f"{len(data)} points, K = {N_COMPONENTS}, {len(history)} states, "
          f"backend {matplotlib.get_backend()}, matplotlib {matplotlib.__version__}")

    for color_by in ("responsibility", "vowel"):
        view = EMView(data, history, color_by=color_by)
        width, height = view.figure.canvas.get_width_height()
        for label, draw_idle in (("update + draw", True), ("one render", False)):
            ms = 1e3 * time_frames(view, history, args.repeats, draw_idle=draw_idle)
            print(f"{color_by:>14} colours, {label:<13} ({width}x{height} px): "
                  f"median {np.median(ms):6.1f} ms   p90 {np.percentile(ms, 90):6.1f} ms   "
                  f"({ms.size} frames)")
        plt.close(view.figure)


if __name__ == "__main__":
    main()
