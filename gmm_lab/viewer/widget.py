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
import warnings
from pathlib import Path

import anywidget
import numpy as np
import traitlets
from scipy.linalg import cho_factor, cho_solve

from .._em import run_em
from .colors import colors_from_indices, matched_indices

from .page import page_from_payload
from .payload import history_payload, run_summary

__all__ = ["EMViewerWidget", "iframe_html", "history_png", "start_from_means"]
MAX_PLACED_MEANS = 10

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


def start_from_means(X, means, covariance_type: str = "full") -> tuple:
    """theta_0 for a run from means a student placed: equal weights, each Gaussian as wide as the data.

    pi_k = 1 / K, mu_k = the placed means, Sigma_k = S, the covariance of
    all the data (S = (1/N) sum_n (x_n - xbar)(x_n - xbar)^T), so the first
    E-step shares each token out by its distance to the placed means
    (Mahalanobis, under S).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    means : array-like of shape (n_components, n_features)
    covariance_type : {'full', 'diag', 'spherical', 'tied'}, default='full'
        Decides the shape of the precisions, as :func:`gmm_lab.em` takes them.

    Returns
    -------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    precisions : ndarray
        S^{-1} (through its Cholesky factor) in scikit-learn's shape for the
        type: (n_components, n_features, n_features) 'full', (n_features,
        n_features) 'tied', (n_components, n_features) 'diag',
        (n_components,) 'spherical'.
    """
    X = np.asarray(X, dtype=float)
    means = np.atleast_2d(np.asarray(means, dtype=float))
    if means.ndim != 2 or means.shape[1] != X.shape[1] or means.shape[0] < 1:
        raise ValueError(f"means must have shape (n_components, {X.shape[1]}); got {means.shape}.")
    n_components, n_features = means.shape
    centred = X - X.mean(axis=0)
    spread = centred.T @ centred / X.shape[0]  # S
    weights = np.full(n_components, 1.0 / n_components)
    if covariance_type in ("full", "tied"):
        precision = cho_solve(cho_factor(spread, lower=True), np.eye(n_features))  # S^{-1}
        precisions = precision if covariance_type == "tied" else np.tile(precision, (n_components, 1, 1))
    elif covariance_type == "diag":
        precisions = np.tile(1.0 / np.diag(spread), (n_components, 1))
    elif covariance_type == "spherical":
        precisions = np.full(n_components, 1.0 / np.diag(spread).mean())
    else:
        raise ValueError(f"covariance_type must be 'full', 'diag', 'spherical' or 'tied'; "
                         f"got {covariance_type!r}.")
    return weights, means, precisions


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
    #: Offer "place initial means, then Run" (needs a kernel; the offline page has none).
    interactive = traitlets.Bool(True).tag(sync=True)

    def __init__(self, history, data=None, *, max_iter: int = 100, tol: float = 1e-3, **options):
        self._history = history
        self._data = data
        self._options = options
        self._run_options = {"max_iter": max_iter, "tol": tol}
        self._png = None
        self._starts = []  # run_summary of each run shown, once there is more than one
        self._color_indices = list(range(history[0].n_components))  # palette position per component
        super().__init__(payload=history_payload(history, data, **options))
        self.on_msg(self._on_message)

    @property
    def history(self):
        """The run shown (a new one after "Run EM from these means")."""
        return self._history

    def run_from_means(self, means) -> None:
        """Run EM from placed means (see :func:`start_from_means`) and show that run.

        The clicked means arrive here from the browser; a notebook can call
        it too. Convergence and collapse warnings are shown in the view's
        title, errors in its caption.
        """
        X = self._history.X
        payload = self.payload
        covariance_type = payload["covariance_type"]
        weights, means, precisions = start_from_means(X, means, covariance_type)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = run_em(X, means.shape[0], covariance_type=covariance_type,
                             init_params="k-means++", reg_covar=payload["reg_covar"],
                             weights_init=weights, means_init=means, precisions_init=precisions,
                             **self._run_options)
        notes = sorted({type(w.message).__name__ for w in caught})
        title = (f"EM from {means.shape[0]} placed means on {X.shape[0]} tokens, "
                 f"{covariance_type} covariances" + (f" ({', '.join(notes)})" if notes else ""))
        options = {**self._options, "title": title}
        options.update({key: payload["options"][key] for key in ("n_std", "fps", "half_steps",
                                                                  "color_by", "vowel_chart")})
        # Colours that stay: each new component takes the colour of the old one matched to it.
        self._color_indices = matched_indices(self._history.final.means, self._color_indices,
                                              history.final.means)
        options["component_colors"] = colors_from_indices(self._color_indices)
        if not self._starts:
            self._starts.append(run_summary(self._history, payload["component_colors"],
                                            f"start 1: {payload['title']}"))
        self._starts.append(run_summary(
            history, options["component_colors"],
            f"start {len(self._starts) + 1}: from {means.shape[0]} placed means"))
        options["starts"] = self._starts
        self._history = history
        self._png = None
        self.payload = history_payload(history, self._data, **options)

    def _on_message(self, _widget, content, _buffers) -> None:
        if not isinstance(content, dict) or content.get("type") != "run":
            return
        try:
            means = np.asarray(content.get("means"), dtype=float)
            if means.ndim != 2 or not 1 <= means.shape[0] <= MAX_PLACED_MEANS:
                raise ValueError(f"place between 1 and {MAX_PLACED_MEANS} means; got "
                                 f"{means.shape[0] if means.ndim == 2 else 0}.")
            self.run_from_means(means)
        except Exception as error:  # shown in the view: a comm callback has nowhere else to say it
            self.send({"type": "error", "message": f"{type(error).__name__}: {error}"})

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
