"""The EM viewer that draws in the browser.

- :func:`history_payload`: a run packed compactly (tokens once, theta_t and
  L(theta_t) per state; the browser recomputes the responsibilities).
- :func:`viewer_html`: a self-contained offline HTML page of the run.
- :class:`EMViewerWidget`: the same view as an anywidget in Jupyter.
- :class:`LiveRunnerWidget`: EM run in the kernel, each iteration drawn as
  it arrives, with the runner's controls (vowels, K, ..., Step / Run / Stop).

All three run one ES module, ``em_view.js``: ``render`` builds the DOM and
canvases once, ``draw(view, index)`` paints a frame from the data alone.
"""

from .colors import start_summaries
from .payload import decode_array, encode_array, history_payload, run_summary

__all__ = ["history_payload", "run_summary", "start_summaries", "decode_array", "encode_array",
           "viewer_html", "write_viewer_html", "EMViewerWidget", "LiveRunnerWidget"]


def __getattr__(name):
    # anywidget/ipywidgets and matplotlib load only when the page or widget is asked for.
    if name in ("viewer_html", "write_viewer_html"):
        from . import page

        return getattr(page, name)
    if name == "EMViewerWidget":
        from .widget import EMViewerWidget

        return EMViewerWidget
    if name == "LiveRunnerWidget":
        from .live import LiveRunnerWidget

        return LiveRunnerWidget
    raise AttributeError(f"module 'gmm_lab.viewer' has no attribute {name!r}")
