"""A self-contained HTML page of an EM run: the ES module and the payload inlined.

The page needs no network and no kernel: open it from disk, in a browser
with no connection, and the slider, Play and the E-/M-step panels work.
It runs the same ``render`` as :class:`gmm_lab.viewer.EMViewerWidget`, with
a stand-in for the widget model.
"""

from __future__ import annotations

import html
from importlib import resources
from pathlib import Path

from .payload import history_payload, payload_json

__all__ = ["viewer_html", "write_viewer_html", "module_source"]

_MODULE = "em_view.js"

# The stand-in model: what render() asks of an anywidget model, for a payload that never changes.
_BOOT = """
const payload = JSON.parse(document.getElementById("gmm-em-payload").textContent);
const model = { get: (name) => (name === "payload" ? payload : undefined), on() {}, off() {}, set() {}, save_changes() {}, send() {} };
render({ model, el: document.getElementById("gmm-em-root") });
"""


def module_source() -> str:
    """The text of the viewer's ES module, ``em_view.js``."""
    return resources.files(__package__).joinpath(_MODULE).read_text(encoding="utf-8")


def page_from_payload(payload: dict, *, title: str | None = None) -> str:
    """The HTML page for an already packed payload (see :func:`viewer_html`)."""
    source = module_source()
    if "</script" in source.lower():
        raise RuntimeError(f"{_MODULE} contains '</script', which would end the inline script early.")
    heading = html.escape(title or payload.get("title", "EM run"))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        # No network, whatever the page holds: only inline scripts, styles and data: images.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:\">\n"
        f"<title>{heading}</title>\n"
        "<style>body { margin: 8px; background: #fff; }</style>\n"
        "</head>\n<body>\n"
        '<div id="gmm-em-root"></div>\n'
        f'<script type="application/json" id="gmm-em-payload">{payload_json(payload)}</script>\n'
        f'<script type="module">\n{source}\n{_BOOT}</script>\n'
        "</body>\n</html>\n"
    )


def viewer_html(history, data=None, **options) -> str:
    """A self-contained HTML page showing an EM run, for a browser with no network.

    Parameters
    ----------
    history : History
        A run of :func:`gmm_lab.run_em` on two features.
    data : VowelData or array-like of shape (n_samples, 2), optional
        The tokens the run was fitted on (vowel colours, speaker groups, axis names).
    **options
        Passed to :func:`gmm_lab.viewer.history_payload` (n_std, fps,
        half_steps, color_by, vowel_chart, reg_covar, title).

    Returns
    -------
    str
        The page: the viewer's ES module and the run inlined, no URL to fetch.
    """
    return page_from_payload(history_payload(history, data, **options))


def write_viewer_html(path, history, data=None, **options) -> Path:
    """Write :func:`viewer_html` to ``path`` (UTF-8) and return the path."""
    path = Path(path)
    path.write_text(viewer_html(history, data, **options), encoding="utf-8")
    return path
