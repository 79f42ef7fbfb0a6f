"""Pack an EM run compactly for the browser viewer, and unpack it again.

The browser gets the tokens once and the parameters theta_t of every state,
never the responsibilities: it recomputes gamma_t from the float64
parameters (the whole responsibility history of a 100-iteration, K = 10 run
on 1520 tokens would be 1.5 million numbers), which is also what lets its
numbers equal the library's.

Arrays travel as ``{"dtype", "shape", "data"}`` with ``data`` the base64 of
the little-endian bytes (row-major), so a float64 arrives bit for bit.

Layout of the payload (a JSON-ready dict)::

    format            "gmm_lab.viewer/1"
    n_samples, n_features, n_components, n_states
    features          ('f1', 'f2'), axis_labels ('F1 (Hz)', 'F2 (Hz)')
    X                 float64 (n_samples, 2), Hz
    vowel_id          uint8 (n_samples,) or None; vowels: one record per vowel id
    speaker_group     uint8 (n_samples,) index into speaker_groups, or None
    weights           float64 (n_states, n_components)          pi_k
    means             float64 (n_states, n_components, 2)       mu_k
    covariances       float64 (n_states, n_components, 2, 2)    Sigma_k
    log_likelihoods   float64 (n_states,)                       L(theta_t)
    covariance_type, reg_covar, converged
    component_colors  hex colours from gmm_lab.plotting.component_colors
    over_vowels_color, unassigned_color   neutral greys of gmm_lab.plotting
    options           n_std, fps, half_steps, color_by, vowel_chart
"""

from __future__ import annotations

import base64
import json

import numpy as np

from ..data import SPEAKER_GROUPS, VOWELS, VowelData
from ..states import History

__all__ = ["FORMAT", "history_payload", "run_summary", "decode_array", "encode_array",
           "payload_json"]

FORMAT = "gmm_lab.viewer/1"
_DTYPES = {"float64": "<f8", "float32": "<f4", "uint8": "u1", "uint16": "<u2"}
_COLOR_BY = ("responsibility", "vowel")


def encode_array(array, dtype: str = "float64") -> dict:
    """Base64 of the little-endian bytes of ``array`` (row-major), with dtype and shape.

    Parameters
    ----------
    array : array-like
    dtype : {'float64', 'float32', 'uint8', 'uint16'}, default='float64'

    Returns
    -------
    dict
        ``{"dtype": dtype, "shape": [...], "data": "<base64>"}``.
    """
    values = np.ascontiguousarray(np.asarray(array), dtype=_DTYPES[dtype])
    return {"dtype": dtype, "shape": list(values.shape),
            "data": base64.b64encode(values.tobytes()).decode("ascii")}


def decode_array(packed: dict) -> np.ndarray:
    """Inverse of :func:`encode_array`: the array with its dtype and shape, bit for bit."""
    raw = base64.b64decode(packed["data"])
    values = np.frombuffer(raw, dtype=_DTYPES[packed["dtype"]])
    return values.reshape(packed["shape"]).astype(values.dtype.newbyteorder("="))


def _hex(rgb) -> str:
    import matplotlib.colors

    return matplotlib.colors.to_hex(rgb)


def _colors(n_components: int) -> dict:
    """The colours of gmm_lab.plotting, so the browser and the static figures agree."""
    from .. import plotting

    vowel_colors = {vowel.id: _hex(plotting.vowel_color(vowel.id)) for vowel in VOWELS}
    vowel_markers = {vowel.id: plotting.vowel_marker(vowel.id) for vowel in VOWELS}
    return {
        "vowel_colors": vowel_colors,
        "vowel_markers": vowel_markers,
        "component_colors": [_hex(c) for c in plotting.component_colors(n_components)],
        "over_vowels_color": _hex(plotting.OVER_VOWELS_COLOR),
        # the grey of points not yet assigned to any component (plot_state's 'none')
        "unassigned_color": _hex(getattr(plotting, "_UNLABELLED_COLOR", (0.35, 0.35, 0.35))),
    }


def _unpack_data(history: History, data):
    """X, vowel ids, speaker groups and feature names of the tokens the run was fitted on."""
    if data is None:
        return np.asarray(history.X, dtype=float), None, None, ("x0", "x1")
    if isinstance(data, VowelData):
        X = np.asarray(data.X, dtype=float)
        groups = list(SPEAKER_GROUPS)
        group_index = np.array([groups.index(str(g)) for g in data.speaker_type], dtype=np.uint8)
        return X, np.asarray(data.vowel_id, dtype=np.uint8), group_index, tuple(data.features)
    return np.asarray(data, dtype=float), None, None, ("x0", "x1")


def run_summary(history: History, component_colors, title: str) -> dict:
    """Where one run ended, for the side-by-side comparison of several starts.

    Parameters
    ----------
    history : History
    component_colors : sequence of n_components colours
        The colours the run's components were shown in.
    title : str
        How the comparison names the run, e.g. 'from 3 placed means'.

    Returns
    -------
    dict
        'title', 'n_components', 'n_iterations' (T), 'converged',
        'log_likelihood' (L(theta_T)), 'colors', and the final 'weights',
        'means', 'covariances' as encoded arrays.
    """
    final = history.final
    return {
        "title": title,
        "n_components": int(final.n_components),
        "n_iterations": len(history) - 1,
        "converged": bool(history.converged),
        "log_likelihood": float(final.log_likelihood),
        "colors": [_hex(c) for c in component_colors],
        "weights": encode_array(final.weights),
        "means": encode_array(final.means),
        "covariances": encode_array(final.covariances),
    }


def history_payload(history: History, data=None, *, n_std: float = 2.0, fps: float = 4.0,
                    half_steps: bool = True, color_by: str = "responsibility",
                    vowel_chart: bool = False, reg_covar: float = 1e-6,
                    title: str | None = None, component_colors=None, starts=None,
                    current_start: int | None = None) -> dict:
    """The run packed for the browser: tokens once, theta_t and L(theta_t) per state.

    Parameters
    ----------
    history : History
        A run of :func:`gmm_lab.run_em` on two features.
    data : VowelData or array-like of shape (n_samples, 2), optional
        The tokens the run was fitted on (default ``history.X``); a
        VowelData adds vowel ids, speaker groups and axis names.
    n_std : float, default=2.0
        Mahalanobis radius of the ellipses the viewer draws first.
    fps : float, default=4.0
        Frames per second of Play at first (the viewer offers up to 30).
    half_steps : bool, default=True
        Start with the E- and M-steps as separate frames.
    color_by : {'responsibility', 'vowel'}, default='responsibility'
        Point colours at first.
    vowel_chart : bool, default=False
        Start with phoneticians' axes (F2 across, decreasing; F1 down).
    reg_covar : float, default=1e-6
        The ``reg_covar`` the run used (a History does not record it); the
        M-step panel adds it to the diagonal of Sigma_k.
    title : str, optional
        Heading of the page; default names K and the covariance type.
    component_colors : sequence of n_components colours, optional
        Default :func:`gmm_lab.plotting.component_colors`; a restarted run
        passes the previous run's, matched (:func:`gmm_lab.viewer.colors.matched_colors`).
    starts : list of dict, optional
        :func:`run_summary` of several runs, shown side by side under the
        viewer: final L, iterations and the split each found.
    current_start : int, optional
        Which of ``starts`` is the run shown (framed); default the last.

    Returns
    -------
    dict
        JSON-ready; see the module docstring for the keys.
    """
    if not isinstance(history, History):
        raise TypeError(f"history must be a gmm_lab History (run_em's result); got "
                        f"{type(history).__name__}.")
    if color_by not in _COLOR_BY:
        raise ValueError(f"color_by must be one of {_COLOR_BY}; got {color_by!r}.")
    X, vowel_id, speaker_group, features = _unpack_data(history, data)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"The browser viewer draws two features; the data has shape {X.shape}. "
                         "Fit on two columns, e.g. load_vowels(features=('f1', 'f2')).")
    if X.shape != history.X.shape or not np.array_equal(X, history.X):
        raise ValueError(f"data (shape {X.shape}) is not the data the run was fitted on "
                         f"(shape {history.X.shape}). Pass the same tokens to run_em and here.")
    first = history[0]
    n_components = first.n_components
    from ..plotting import FEATURE_LABELS

    payload = {
        "format": FORMAT,
        "title": title or (f"EM on {X.shape[0]} tokens, K = {n_components}, "
                           f"{first.covariance_type} covariances"),
        "n_samples": int(X.shape[0]),
        "n_features": 2,
        "n_components": int(n_components),
        "n_states": len(history),
        "features": list(features),
        "axis_labels": [FEATURE_LABELS.get(f, f) for f in features],
        "X": encode_array(X),
        "vowel_id": None if vowel_id is None else encode_array(vowel_id, "uint8"),
        "vowels": [{"id": v.id, "label": v.label, "ipa": v.ipa, "word": v.word} for v in VOWELS],
        "speaker_group": None if speaker_group is None else encode_array(speaker_group, "uint8"),
        "speaker_groups": [[code, name] for code, name in SPEAKER_GROUPS.items()],
        "weights": encode_array(np.stack([s.weights for s in history])),
        "means": encode_array(np.stack([s.means for s in history])),
        "covariances": encode_array(np.stack([s.covariances for s in history])),
        "log_likelihoods": encode_array(history.log_likelihoods),
        "covariance_type": first.covariance_type,
        "reg_covar": float(reg_covar),
        "converged": bool(history.converged),
        "options": {"n_std": float(n_std), "fps": float(fps), "half_steps": bool(half_steps),
                    "color_by": color_by, "vowel_chart": bool(vowel_chart)},
    }
    payload.update(_colors(n_components))
    if component_colors is not None:
        if len(component_colors) != n_components:
            raise ValueError(f"component_colors has {len(component_colors)} colours for "
                             f"{n_components} components.")
        payload["component_colors"] = [_hex(c) for c in component_colors]
    payload["starts"] = list(starts or [])
    if current_start is not None:
        if not 0 <= current_start < len(payload["starts"]):
            raise ValueError(f"current_start must index one of the {len(payload['starts'])} "
                             f"starts; got {current_start}.")
        payload["current_start"] = int(current_start)
    payload["vowel_colors"] = {str(k): v for k, v in payload["vowel_colors"].items()}
    payload["vowel_markers"] = {str(k): v for k, v in payload["vowel_markers"].items()}
    return payload


def payload_json(payload: dict) -> str:
    """Compact JSON of a payload, safe to place inside an HTML ``<script>`` element."""
    text = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


