"""The EM viewer as a Jupyter widget (anywidget): the run sent once, drawn in the browser.

The Python side is a thin consumer of a finished run: it packs the history
(:func:`gmm_lab.viewer.history_payload`) into one synced traitlet; the ES
module ``em_view.js`` draws every frame itself, so scrubbing never waits for
the kernel.

Where no widget can be drawn, the display falls back (see
:meth:`EMViewerWidget._repr_mimebundle_`): a ``text/html`` entry holding the
same viewer as a self-contained page in an ``<iframe srcdoc=...>`` (used by
``jupyter nbconvert --to html`` when the notebook has no saved widget state)
and an ``image/png`` picture of the run (for renderers that run no scripts).
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import anywidget
import traitlets

from .page import page_from_payload
from .payload import history_payload

__all__ = ["EMViewerWidget", "iframe_html", "history_png"]

_MODULE_PATH = Path(__file__).with_name("em_view.js")
_FALLBACK_HEIGHT = 880  # px: the page's height, as the iframe cannot size itself without scripts


def iframe_html(page: str, *, height: int = _FALLBACK_HEIGHT) -> str:
    """An ``<iframe srcdoc=...>`` holding ``page`` (escaped), for a text/html output."""
    return (f'<iframe srcdoc="{html.escape(page, quote=True)}" '
            f'style="width: 100%; height: {int(height)}px; border: none" '
            'title="EM run viewer"></iframe>')


def history_png(history, data=None, *, dpi: int = 72) -> bytes:
    """PNG of :func:`gmm_lab.plotting.plot_iterations` for the run: the picture without scripts."""
    from ..plotting import plot_iterations

    from PIL import Image  # matplotlib's own dependency

    figure = plot_iterations(history, data)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    # 256 colours (median cut) keep the picture and take a third of the bytes.
    picture = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    buffer = io.BytesIO()
    picture.quantize(256, method=Image.Quantize.MEDIANCUT).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


class EMViewerWidget(anywidget.AnyWidget):
    """Scrub a finished EM run in the browser: E- and M-steps, and what is inside them.

    Parameters
    ----------
    history : History
        A run of :func:`gmm_lab.run_em` on two features.
    data : VowelData or array-like of shape (n_samples, 2), optional
        The tokens the run was fitted on (vowel colours, speaker groups, axis names).
    **options
        Passed to :func:`gmm_lab.viewer.history_payload`: n_std, fps,
        half_steps, color_by, vowel_chart, reg_covar, title.

    Attributes
    ----------
    payload : dict
        The packed run, synced to the browser once.

    Examples
    --------
    >>> from gmm_lab import load_vowels, run_em
    >>> from gmm_lab.viewer import EMViewerWidget
    >>> data = load_vowels(["IY", "IH"])
    >>> history = run_em(data.X, 2, init_params="k-means++", random_state=0)
    >>> EMViewerWidget(history, data)  # doctest: +SKIP
    """

    _esm = _MODULE_PATH
    payload = traitlets.Dict().tag(sync=True)

    def __init__(self, history, data=None, **options):
        self._history = history
        self._data = data
        self._png = None
        super().__init__(payload=history_payload(history, data, **options))

    def __repr__(self) -> str:
        # Deterministic (no memory address), so strict nbval can compare it.
        payload = self.payload
        return (f"EMViewerWidget({payload['n_states']} states, K = {payload['n_components']}, "
                f"{payload['n_samples']} tokens, {payload['covariance_type']} covariances)")

    def html_page(self) -> str:
        """The same viewer as a self-contained offline HTML page."""
        return page_from_payload(self.payload)

    def png(self) -> bytes:
        """The static picture of the run (computed once)."""
        if self._png is None:
            self._png = history_png(self._history, self._data)
        return self._png

    def _repr_mimebundle_(self, **kwargs):
        """The widget view, plus text/html and image/png for front ends that cannot draw it.

        JupyterLab draws the widget (or, with no kernel and no saved widget
        state, an error: it never falls back). ``jupyter nbconvert --to
        html`` uses the widget view when the notebook has saved widget state
        (through a CDN script, so not offline), otherwise the ``text/html``
        entry: the offline page in an iframe, scrubbable. A renderer that runs
        no scripts can show the ``image/png``.
        """
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle
        data = dict(data)
        data["text/html"] = iframe_html(self.html_page())
        data["image/png"] = base64.b64encode(self.png()).decode("ascii")
        return data, metadata
