"""Input checks at the public boundary, in one place.

Each ``check_*`` function takes what a user passed, returns it in the form
the math needs (a float array, an int, a canonical name) and otherwise
raises an error that names the parameter, what was expected, what arrived
and what to try (STYLE 7). :mod:`gmm_lab.em`, :mod:`gmm_lab.gaussian`,
:mod:`gmm_lab.reference` and :mod:`gmm_lab.mixture` all check through these.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

__all__ = [
    "COVARIANCE_TYPES",
    "INIT_METHODS",
    "ENGINES",
    "check_data",
    "check_enough_points",
    "check_responsibilities",
    "check_n_components",
    "check_covariance_type",
    "check_init_params",
    "check_number",
    "check_weights",
    "check_means",
    "check_precisions",
    "check_engine",
    "check_initial_parameters",
    "check_parameters",
    "check_mixture_weights",
    "check_finite",
]

COVARIANCE_TYPES = ("full", "diag", "spherical", "tied")
INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")
_INIT_ALIASES = {"k-means": "kmeans", "kmeans++": "k-means++", "random-from-data": "random_from_data"}
ENGINES = ("auto", "2d", "general")


def check_data(X, n_components=None, name="X", *, float32=True, allow_empty=False, copy=True) -> np.ndarray:
    """Validate X and return it as a float64 (or, with ``float32``, float32) array.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : int, optional
        Also check that there are at least this many points.
    name : str, default="X"
        The name used in messages.
    float32 : bool, default=True
        Keep float32 data in float32 (the engine's single-precision E-step);
        False converts it to float64.
    allow_empty : bool, default=False
        Accept zero points (a density evaluated on no points is empty).
    copy : bool, default=True
        Always return a new array (a History makes its X read-only, and
        must not freeze the caller's); False converts only when needed.

    Raises
    ------
    TypeError
        When X is not numeric, or complex.
    ValueError
        When X is not 2-D, is empty, has NaN or infinity, or has fewer
        points than ``n_components``.
    """
    try:
        X = np.asarray(X)
        if X.dtype.kind == "O":  # objects: accept numbers, refuse complex ones below
            X = np.array(X.tolist())
        if X.dtype.kind == "c":
            raise TypeError(
                f"{name} is complex ({X.dtype}); complex data is not supported. "
                "Pass the real part (X.real) or the modulus (abs(X)) if that is what you mean."
            )
        if X.dtype != np.float32 or not float32:
            X = X.astype(np.float64, copy=copy)
    except TypeError as error:
        if "complex" in str(error):
            raise
        raise TypeError(
            f"{name} must be a numeric array of shape (n_samples, n_features); "
            f"converting it to float failed: {error}"
        ) from None
    except ValueError as error:
        raise TypeError(
            f"{name} must be a numeric array of shape (n_samples, n_features); "
            f"converting it to float failed: {error}"
        ) from None
    if X.ndim != 2:
        hint = " Use X.reshape(-1, 1) for a single feature." if X.ndim == 1 else ""
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_samples, n_features); got "
            f"{X.ndim} dimension(s), shape {X.shape}.{hint}"
        )
    if (X.shape[0] == 0 and not allow_empty) or X.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}); it needs points and features.")
    if not np.isfinite(X).all():
        rows = np.flatnonzero(~np.isfinite(X).all(axis=1))
        raise ValueError(
            f"{name} contains NaN or infinity in {rows.size} row(s), the first at "
            f"row {rows[0]}. Drop or fill those rows before fitting."
        )
    if n_components is not None:
        check_enough_points(X.shape[0], n_components)
    return X


def check_enough_points(n_samples, n_components) -> None:
    """Each component needs at least one point: n_samples >= n_components."""
    if n_samples < n_components:
        raise ValueError(
            f"n_components={n_components} is larger than the number of points "
            f"({n_samples}): each component needs at least one point. Use fewer "
            "components or more data."
        )


def check_responsibilities(responsibilities, n_samples) -> np.ndarray:
    """gamma of shape (n_samples, n_components): finite, >= 0, as float64."""
    try:
        responsibilities = np.asarray(responsibilities, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(
            "responsibilities must be a numeric array of shape (n_samples, "
            f"n_components); converting it to float failed: {error}"
        ) from None
    if responsibilities.ndim != 2 or responsibilities.shape[0] != n_samples:
        raise ValueError(
            f"responsibilities must have shape (n_samples, n_components) = "
            f"({n_samples}, K); got {responsibilities.shape}. Pass one row per point of X."
        )
    if not np.all(np.isfinite(responsibilities)):
        rows = np.flatnonzero(~np.isfinite(responsibilities).all(axis=1))
        raise ValueError(
            f"responsibilities contain NaN or infinity in {rows.size} row(s), the "
            f"first at row {rows[0]}. Compute them in log space (log-sum-exp) "
            "and exponentiate at the end."
        )
    if responsibilities.size and responsibilities.min() < 0:
        row, column = np.unravel_index(np.argmin(responsibilities), responsibilities.shape)
        raise ValueError(
            f"responsibilities must be >= 0 (probabilities); got "
            f"{responsibilities[row, column]:.3g} at row {row}, component {column}."
        )
    return responsibilities


def check_n_components(n_components) -> int:
    """K: an integer >= 1 (not a bool), returned as int."""
    if isinstance(n_components, bool) or not isinstance(n_components, Integral):
        raise TypeError(
            f"n_components must be an integer >= 1; got {n_components!r} "
            f"of type {type(n_components).__name__}."
        )
    if n_components < 1:
        raise ValueError(f"n_components must be >= 1; got {n_components}.")
    return int(n_components)


def check_covariance_type(covariance_type) -> str:
    """One of COVARIANCE_TYPES."""
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(
            f"Unknown covariance_type {covariance_type!r}. Use one of "
            f"{', '.join(repr(c) for c in COVARIANCE_TYPES)}."
        )
    return covariance_type


def check_init_params(init_params) -> str:
    """One of INIT_METHODS (or an alias such as 'k-means'), returned canonical."""
    if not isinstance(init_params, str):
        raise TypeError(
            f"init_params must be a string, one of "
            f"{', '.join(repr(i) for i in INIT_METHODS)}; got {init_params!r} of type "
            f"{type(init_params).__name__}."
        )
    init = _INIT_ALIASES.get(init_params, init_params)
    if init not in INIT_METHODS:
        raise ValueError(
            f"Unknown init_params {init_params!r}. Use one of "
            f"{', '.join(repr(i) for i in INIT_METHODS)}, or pass means_init "
            "(and optionally weights_init, precisions_init) to start from "
            "parameters of your own."
        )
    return init


def check_number(value, name, *, low, integer=False, low_inclusive=True):
    """A real (or, with ``integer``, integral) number >= ``low`` (> with
    ``low_inclusive=False``), finite; bools are refused."""
    kind = Integral if integer else Real
    if isinstance(value, bool) or not isinstance(value, kind):
        expected = "an integer" if integer else "a number"
        raise TypeError(f"{name} must be {expected}; got {value!r}.")
    if value < low or (value == low and not low_inclusive) or not np.isfinite(value):
        sign = ">=" if low_inclusive else ">"
        finite = "" if integer else " and finite"
        raise ValueError(f"{name} must be {sign} {low}{finite}; got {value}.")
    return value


def check_weights(weights, n_components) -> np.ndarray:
    """weights_init: shape (n_components,), in [0, 1], summing to 1."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (n_components,):
        raise ValueError(
            f"weights_init must have shape ({n_components},), one weight per "
            f"component; got shape {weights.shape}."
        )
    if not np.all(np.isfinite(weights)) or weights.min() < 0 or weights.max() > 1:
        raise ValueError(
            f"weights_init must be in [0, 1]; got min {weights.min():.5g}, "
            f"max {weights.max():.5g}."
        )
    if abs(weights.sum() - 1.0) > 1e-8:
        raise ValueError(
            f"weights_init must sum to 1; they sum to {weights.sum():.10g}. "
            "Divide them by their sum."
        )
    return weights


def check_means(means, n_components, n_features) -> np.ndarray:
    """means_init: shape (n_components, n_features), finite."""
    means = np.asarray(means, dtype=np.float64)
    if means.shape != (n_components, n_features):
        raise ValueError(
            f"means_init must have shape (n_components, n_features) = "
            f"({n_components}, {n_features}); got shape {means.shape}."
        )
    if not np.all(np.isfinite(means)):
        raise ValueError("means_init contains NaN or infinity.")
    return means


_PRECISION_SHAPES = {
    "full": lambda k, d: (k, d, d),
    "tied": lambda k, d: (d, d),
    "diag": lambda k, d: (k, d),
    "spherical": lambda k, d: (k,),
}


def check_precisions(precisions, covariance_type, n_components, n_features) -> np.ndarray:
    """Validate precisions_init (in scikit-learn's shape for the type)."""
    precisions = np.asarray(precisions, dtype=np.float64)
    expected = _PRECISION_SHAPES[covariance_type](n_components, n_features)
    if precisions.shape != expected:
        raise ValueError(
            f"precisions_init for covariance_type={covariance_type!r} must have "
            f"shape {expected}; got shape {precisions.shape}."
        )
    if not np.all(np.isfinite(precisions)):
        raise ValueError("precisions_init contains NaN or infinity.")
    if covariance_type in ("diag", "spherical"):
        if np.any(precisions <= 0):
            raise ValueError(
                f"precisions_init for covariance_type={covariance_type!r} must be "
                "positive; a precision is 1 / variance."
            )
        return precisions
    matrices = precisions.reshape(-1, n_features, n_features)
    for k, matrix in enumerate(matrices):
        which = "" if covariance_type == "tied" else f" of component {k}"
        if not np.allclose(matrix, matrix.T):
            raise ValueError(f"precisions_init{which} is not symmetric.")
        if np.linalg.eigvalsh(matrix).min() <= 0:
            raise ValueError(
                f"precisions_init{which} is not positive definite (an eigenvalue "
                "is <= 0), so it is not the inverse of a covariance matrix."
            )
    return precisions


def check_engine(engine, n_features) -> str:
    """One of ENGINES; '2d' only for two features."""
    if engine not in ENGINES:
        raise ValueError(
            f"engine must be one of {', '.join(repr(e) for e in ENGINES)}; got "
            f"{engine!r}. Use 'auto' unless you are comparing the two kernels."
        )
    if engine == "2d" and n_features != 2:
        raise ValueError(
            f"engine='2d' needs 2 features; X has {n_features}. Use engine='auto' or 'general'."
        )
    return engine


def check_initial_parameters(
    weights_init, means_init, precisions_init, covariance_type, n_components, n_features
) -> tuple:
    """Validate whichever of weights_init, means_init, precisions_init are given (None stays None)."""
    if weights_init is not None:
        weights_init = check_weights(weights_init, n_components)
    if means_init is not None:
        means_init = check_means(means_init, n_components, n_features)
    if precisions_init is not None:
        precisions_init = check_precisions(
            precisions_init, covariance_type, n_components, n_features
        )
    return weights_init, means_init, precisions_init


# ---------------------------------------------------------------------------
# parameters of a mixture given to the densities (not initial values)


def check_parameters(means, covariances, n_features) -> tuple:
    """means of shape (n_components, n_features) and full covariances of shape
    (n_components, n_features, n_features), as float64 arrays."""
    means = np.asarray(means, dtype=float)
    covariances = np.asarray(covariances, dtype=float)
    if means.ndim != 2 or means.shape[1] != n_features:
        raise ValueError(
            f"means must have shape (n_components, {n_features}); got {means.shape}."
        )
    expected = (means.shape[0], n_features, n_features)
    if covariances.shape != expected:
        raise ValueError(
            f"covariances must have shape {expected} (one full matrix per "
            f"component); got {covariances.shape}."
        )
    return means, covariances


def check_mixture_weights(weights, n_components, name="weights") -> np.ndarray:
    """Mixture weights pi_k: shape (n_components,), finite, >= 0.

    A column of shape (n_components, 1), as some handouts keep it, is accepted.
    """
    weights = np.asarray(weights, dtype=float)
    if weights.ndim == 2 and weights.shape[1] == 1:  # a column, as some handouts keep it
        weights = weights[:, 0]
    if weights.ndim != 1 or (n_components is not None and weights.shape[0] != n_components):
        raise ValueError(
            f"{name} must have shape (n_components,) = ({n_components},), one weight "
            f"per component; got shape {weights.shape}."
        )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        bad = int(np.flatnonzero(~(np.isfinite(weights) & (weights >= 0)))[0])
        raise ValueError(
            f"{name} must be finite and >= 0 (mixing weights pi_k, summing to 1); "
            f"got {float(weights[bad])!r} for component {bad}. Weights are N_k / N."
        )
    return weights


def check_finite(value, name) -> None:
    """Parameters must be finite; NaN usually comes from dividing by an empty N_k."""
    if not np.all(np.isfinite(np.asarray(value, dtype=float))):
        raise ValueError(
            f"{name} contains NaN or infinity; the parameters must be finite. "
            "Check the step that computed them (an M-step dividing by an empty "
            "component's N_k = 0 gives NaN)."
        )
