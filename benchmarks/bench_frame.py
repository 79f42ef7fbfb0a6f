"""Time one frame of the EM view: ``view.update(state)`` on Agg.

The worst case the lessons show: all 1520 tokens, K = 10 components, Agg.
A frame moves ten ellipses, the means, the log-likelihood marker and (with
responsibility colours) recolours every point, then renders the figure once
(in JupyterLab, ipympl then sends that render to the browser as a PNG).

Two numbers are printed for each colouring:

- ``frame``: ``view.update(state)``, what the scrubber and Play do. The view
  renders a frame as its picture of everything that does not move plus the
  artists that do (the same pixels as a full render).
- ``full render``: ``view.update(state, draw=False); view.redraw()``, a
  render of the whole figure, as every frame cost before the view kept that
  picture (and as the first frame, and a frame after the figure changed in
  other ways, still cost).

Run: ``python benchmarks/bench_frame.py [--repeats 5]``. The aim is a median
frame under 20 ms so that Play at full speed stays smooth.
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


def time_frames(view, states, repeats: int, *, full: bool) -> np.ndarray:
    """Seconds per frame over ``repeats`` passes through all states."""
    view.update(states[0])  # warm caches (fonts, text layout) before timing
    seconds = []
    for _ in range(repeats):
        for state in states:
            start = time.perf_counter()
            if full:
                view.update(state, draw=False)
                view.redraw()
            else:
                view.update(state)
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
        for label, full in (("frame", False), ("full render", True)):
            ms = 1e3 * time_frames(view, history, args.repeats, full=full)
            print(f"{color_by:>14} colours, {label:<11} ({width}x{height} px): "
                  f"median {np.median(ms):6.1f} ms   p90 {np.percentile(ms, 90):6.1f} ms   "
                  f"({ms.size} frames)")
        plt.close(view.figure)


if __name__ == "__main__":
    main()
