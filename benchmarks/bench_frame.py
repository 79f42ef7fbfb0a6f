"""Time one frame of the matplotlib EM view, as gmm-lab's GIF and PNG render it.

The worst case the lessons show: all 1520 tokens, K = 10 components, Agg.
A frame moves ten ellipses, the means, the log-likelihood marker and (with
responsibility colours) recolours every point (``view.show(t,
draw=False)``), then renders the whole figure (``canvas.draw()``), which is
what :func:`gmm_lab.plotting.save_animation` does for each GIF frame and
``gmm-lab`` for its PNG. (The notebooks' scrubber and live runner no longer
use this view: they draw in the browser, see benchmarks/bench_viewer.py.)

Run: ``python benchmarks/bench_frame.py [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gmm_lab.data import load_vowels  # noqa: E402
from gmm_lab import run_em  # noqa: E402
from gmm_lab.plotting import EMView  # noqa: E402

N_COMPONENTS = 10


def time_frames(view, states, repeats: int) -> np.ndarray:
    """Seconds per frame (move the artists, render the figure) over ``repeats`` passes."""
    view.show(0, draw=False)
    view.figure.canvas.draw()  # warm caches (fonts, text layout) before timing
    seconds = []
    for _ in range(repeats):
        for index in range(len(states)):
            start = time.perf_counter()
            view.show(index, draw=False)
            view.figure.canvas.draw()
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
        ms = 1e3 * time_frames(view, history, args.repeats)
        print(f"{color_by:>14} colours, one frame ({width}x{height} px): "
              f"median {np.median(ms):6.1f} ms   p90 {np.percentile(ms, 90):6.1f} ms   "
              f"({ms.size} frames)")
        plt.close(view.figure)


if __name__ == "__main__":
    main()
