"""Expectation-Maximization for Gaussian mixtures, one state per iteration.

The contract (lesson 3, ``notebooks/03_em_step_by_step.ipynb``, walks
through it): state t holds theta_t = (pi, mu, Sigma), the responsibilities
gamma_t computed from theta_t (E-step) and the log-likelihood L(theta_t);
theta_{t+1} is the M-step applied to gamma_t:

    N_k     = sum_n gamma_nk
    mu_k    = (1/N_k) sum_n gamma_nk x_n
    Sigma_k = (1/N_k) sum_n gamma_nk (x_n - mu_k)(x_n - mu_k)^T + reg_covar I
    pi_k    = N_k / N

The M-step only needs three sums over the points (the sufficient
statistics N_k, sum_n gamma_nk (x_n - c) and sum_n gamma_nk (x_n - c)(x_n - c)^T
about any centre c), because
(1/N_k) sum_n gamma_nk (x_n - mu_k)(x_n - mu_k)^T
    = (1/N_k) sum_n gamma_nk (x_n - c)(x_n - c)^T - (mu_k - c)(mu_k - c)^T.
So one pass over the data computes the E-step of iteration t and the sums
for theta_{t+1} together, chunk by chunk, with matrix products: memory stays
small and the loop stays fast on a million points.

That subtraction cancels when a component sits far from c (an outlier, a
typo 1e5 Hz away): the two terms agree to every digit and Sigma_k is lost.
c is the median of the data, and each M-step checks every component for
the loss; one that lost digits is summed again about its own mean (a
second pass, from the kept responsibilities or a rerun of the E-step).
The result equals the two-pass M-step (:func:`m_step`) to 1e-9 relative
or better, for points up to 1e12 away, and fits data scaled by 1e-150 to
1e150 (``tests/test_numerics.py`` holds both).

Where em() / run_em() deliberately differ from scikit-learn's
GaussianMixture (the estimator :class:`gmm_lab.GaussianMixture` follows
scikit-learn in the first two, to give its numbers):

- the initial weights sum to 1 (scikit-learn's sum to K / N with the
  one-point seeds of 'k-means++' and 'random_from_data'); only L(theta_0)
  changes, no responsibility;
- with those seeds, a 'tied' start is the exact M-step of the seeds,
  reg_covar I (scikit-learn sums x x^T over all points, seed or not);
- the default init is 'k-means++' (scikit-learn's is 'kmeans');
- the run stops at the first converged state (scikit-learn takes one
  more M-step);
- N_k is floored at 10 machine epsilons rather than increased by them (the
  same for an empty component; scikit-learn's shift moves a lone point's
  mean by 10 eps of its distance from the origin, and its variance by the
  square: (10 eps * 1e12)^2 = 4.9e-6, five times reg_covar);
- every covariance type is summed about the component's mean:
  scikit-learn's 'diag', 'spherical' and 'tied' M-steps sum x^2 about the
  origin in one pass and lose digits the same way on far points; there
  gmm_lab is exact and differs from scikit-learn.
"""

from __future__ import annotations

from functools import lru_cache
from numbers import Integral, Real

import numpy as np

# scikit-learn (k-means, check_random_state, ConvergenceWarning) and
# threadpoolctl are imported where they are first needed: importing
# scikit-learn costs about a second, and ``import gmm_lab`` should not.
from ._warnings import warn
from .gaussian import _weighted_log_density_kernel, log_responsibilities
from .states import EMState, History

__all__ = [
    "COVARIANCE_TYPES",
    "INIT_METHODS",
    "CollapsedComponentWarning",
    "RegularizationWarning",
    "em",
    "run_em",
    "e_step",
    "m_step",
    "initial_parameters",
]

COVARIANCE_TYPES = ("full", "diag", "spherical", "tied")
INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")
_INIT_ALIASES = {"k-means": "kmeans", "kmeans++": "k-means++", "random-from-data": "random_from_data"}
ENGINES = ("auto", "2d", "general")

# Rows per chunk are chosen so that one (rows, n_components) block is about
# 1 MiB: it stays in cache while a dozen whole-array operations run over it.
CHUNK_ELEMENTS = 1 << 17

# scikit-learn adds 10 machine epsilons to every N_k so that an empty
# component divides 0 by a tiny number instead of by 0. gmm_lab floors N_k
# at that value instead: the same for an empty component, and no bias
# otherwise (scikit-learn's pulls a mean towards the origin by 10 eps of its
# distance, which adds (10 eps |mu|)^2 to the variance of a component on a
# single point 1e12 away: 4.9e-6, five times reg_covar).
_EMPTY_COMPONENT_GUARD = 10 * np.finfo(np.float64).eps

# One-pass covariances whose terms exceed Sigma_dd + reg_covar by more than
# this are recomputed about the component's own mean: about 1e-12 relative
# error at most in float64 (1e4 * a few eps). Real formants stay far below
# (tens to hundreds); a component on a far point is at 1e10 and above.
# The second entry is for float32 data, whose statistics carry 6e-8.
_CANCELLATION_LIMIT = (1e4, 1e3)


class CollapsedComponentWarning(UserWarning):
    """A component shrank onto (nearly) a point or a line; reg_covar keeps it alive."""


class RegularizationWarning(UserWarning):
    """reg_covar is not small next to the data's own variance: it shapes every covariance."""


# reg_covar above this fraction of a feature's variance "swamps" the data.
_SWAMPED_FRACTION = 0.1


def _warn_if_reg_covar_swamps(variances, reg_covar) -> bool:
    """Warn (and return True) when reg_covar > 0.1 x the smallest feature variance.

    ``variances`` : ndarray of shape (n_features,), the variance of each feature of X.
    """
    if reg_covar <= 0:
        return False
    feature = int(np.argmin(variances))
    if not reg_covar > _SWAMPED_FRACTION * variances[feature]:
        return False
    warn(
        f"reg_covar={reg_covar:g} is more than a tenth of the variance of feature "
        f"{feature} of X ({variances[feature]:.3g}): every covariance will be "
        "mostly reg_covar on its diagonal, whatever the data, and components "
        "will look collapsed. Rescale X (standardise it, or use larger units) "
        "or lower reg_covar.",
        RegularizationWarning,
    )
    return True


# ---------------------------------------------------------------------------
# shape and value checkers (the public boundary)


def check_data(X, n_components=None, name="X") -> np.ndarray:
    """Validate X and return it as a float64 (or float32) array.

    Raises
    ------
    TypeError
        When X is not numeric.
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
        if X.dtype != np.float32:
            X = X.astype(np.float64)
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
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}); it needs points and features.")
    finite = np.isfinite(X).all(axis=1)
    if not finite.all():
        rows = np.flatnonzero(~finite)
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
    if isinstance(n_components, bool) or not isinstance(n_components, Integral):
        raise TypeError(
            f"n_components must be an integer >= 1; got {n_components!r} "
            f"of type {type(n_components).__name__}."
        )
    if n_components < 1:
        raise ValueError(f"n_components must be >= 1; got {n_components}.")
    return int(n_components)


def check_covariance_type(covariance_type) -> str:
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(
            f"Unknown covariance_type {covariance_type!r}. Use one of "
            f"{', '.join(repr(c) for c in COVARIANCE_TYPES)}."
        )
    return covariance_type


def check_init_params(init_params) -> str:
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


def _check_number(value, name, *, low, integer=False, low_inclusive=True):
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


def _check_engine(engine, n_features) -> str:
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
# covariance shapes: scikit-learn's per-type arrays <-> full matrices


def expand_covariances(covariances, covariance_type, n_components, n_features) -> np.ndarray:
    """Full (n_components, n_features, n_features) matrices from a per-type array."""
    covariances = np.asarray(covariances, dtype=np.float64)
    if covariance_type == "full":
        return covariances.copy()
    if covariance_type == "tied":
        return np.repeat(covariances[np.newaxis], n_components, axis=0)
    if covariance_type == "diag":
        return covariances[:, :, np.newaxis] * np.eye(n_features)
    return covariances[:, np.newaxis, np.newaxis] * np.eye(n_features)


def compact_covariances(covariances, covariance_type) -> np.ndarray:
    """scikit-learn's per-type shape from full matrices (inverse of expand)."""
    if covariance_type == "full":
        return covariances.copy()
    if covariance_type == "tied":
        return covariances[0].copy()
    diagonals = np.diagonal(covariances, axis1=1, axis2=2).copy()
    if covariance_type == "diag":
        return diagonals
    return diagonals[:, 0].copy()


def _covariances_from_precisions(precisions, covariance_type, n_components, n_features):
    """Sigma = Lambda^{-1} for user-given precisions (via a Cholesky solve)."""
    if covariance_type in ("diag", "spherical"):
        return expand_covariances(1.0 / precisions, covariance_type, n_components, n_features)
    matrices = precisions.reshape(-1, n_features, n_features)
    # Lambda = C C^T  =>  Sigma = C^{-T} C^{-1}; solve with the factor.
    factors = np.linalg.cholesky(matrices)
    identity = np.broadcast_to(np.eye(n_features), factors.shape)
    inverse_factors = np.linalg.solve(factors, identity)
    covariances = inverse_factors.transpose(0, 2, 1) @ inverse_factors
    return expand_covariances(
        covariances[0] if covariance_type == "tied" else covariances,
        covariance_type,
        n_components,
        n_features,
    )


# ---------------------------------------------------------------------------
# parameter estimators (M-step), from sufficient statistics


@lru_cache(maxsize=None)
def _upper_indices(n_features):
    """Row and column indices of the upper triangle (cached: 28 us a call)."""
    rows, cols = np.triu_indices(n_features)
    rows.flags.writeable = cols.flags.writeable = False
    return rows, cols


def _feature_rows(X, shift) -> np.ndarray:
    """[1, x - shift, upper triangle of (x - shift)(x - shift)^T] as rows.

    Returns
    -------
    ndarray of shape (1 + D + D (D + 1) / 2, n_samples)
        gamma^T @ this.T gives (N_k, sum gamma x, sum gamma x x^T) in one
        product. Filled row by row, so building it needs no other copy of X.
    """
    n_samples, n_features = X.shape
    rows, cols = _upper_indices(n_features)
    features = np.empty((1 + n_features + rows.size, n_samples), dtype=X.dtype)
    features[0] = 1.0
    for d in range(n_features):
        np.subtract(X[:, d], shift[d], out=features[1 + d])
    for j, (r, c) in enumerate(zip(rows, cols)):
        np.multiply(features[1 + r], features[1 + c], out=features[1 + n_features + j])
    return features


def _moments_from_statistics(statistics, shifts, reg_covar=0.0, limit=None):
    """N_k, mu_k and the unregularised full Sigma_k from sums about ``shifts``.

    Parameters
    ----------
    statistics : ndarray of shape (n_components, 1 + D + D (D + 1) / 2)
        resp^T @ [1, x - c_k, upper((x - c_k)(x - c_k)^T)].
    shifts : ndarray of shape (n_features,) or (n_components, n_features)
        The centre c_k the sums were taken about (one for all, or one each).
    reg_covar : float, default=0.0
        Only for the cancellation test.
    limit : float or None
        Test for cancellation with this limit (see below); None: no test.

    Returns
    -------
    counts : ndarray of shape (n_components,)
        N_k, floored at 10 machine epsilons (an empty component divides 0
        by a tiny number instead of by 0).
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)
        (1/N_k) sum_n gamma_nk (x_n - mu_k)(x_n - mu_k)^T, before the
        covariance type's restriction and reg_covar.
    cancelled : ndarray of shape (n_components,) of bool, or None
        The components whose covariance lost digits to cancellation (None
        when none did, or when not tested). With S_dd = (1/N_k) sum_n
        gamma_nk (x_nd - c_d)^2 and m = mu_k - c, Sigma_dd = S_dd - m_d^2
        carries an absolute rounding error of a few eps * S_dd, so its
        relative error is about eps * S_dd / (Sigma_dd + reg_covar). A
        component is flagged when that ratio exceeds ``limit`` (or Sigma_dd
        came out negative), that is when m_d^2 > (1 - 1/limit) S_dd + reg_covar.
        A component on a point 1e5 from c has a ratio of 1e16.
    """
    n_components = statistics.shape[0]
    n_features = np.shape(shifts)[-1]
    counts = np.maximum(statistics[:, 0], _EMPTY_COMPONENT_GUARD)  # N_k
    centred_means = statistics[:, 1 : 1 + n_features] / counts[:, np.newaxis]  # mu_k - c_k
    covariances = np.empty((n_components, n_features, n_features))
    rows, cols = _upper_indices(n_features)
    covariances[:, rows, cols] = statistics[:, 1 + n_features :]
    covariances[:, cols, rows] = statistics[:, 1 + n_features :]
    covariances /= counts[:, np.newaxis, np.newaxis]  # S_k = (1/N_k) sum_n gamma_nk (x_n - c)(x_n - c)^T
    cancelled = None
    if limit is not None:
        squared_means = centred_means * centred_means
        kept = squared_means <= (1.0 - 1.0 / limit) * np.diagonal(covariances, axis1=1, axis2=2) + reg_covar
        if not kept.all():
            cancelled = ~kept.all(axis=1)
    # Sigma_k = S_k - (mu_k - c)(mu_k - c)^T
    covariances -= centred_means[:, :, np.newaxis] * centred_means[:, np.newaxis, :]
    return counts, centred_means + shifts, covariances, cancelled


def _restrict(covariances, counts, covariance_type, reg_covar):
    """Apply the covariance type's restriction to full Sigma_k, then add reg_covar I."""
    n_features = covariances.shape[1]
    if covariance_type == "tied":
        # Sigma = sum_k N_k Sigma_k / sum_k N_k, shared by all components
        tied = np.tensordot(counts, covariances, axes=1) / counts.sum()
        covariances = np.broadcast_to(tied, covariances.shape).copy()
    elif covariance_type in ("diag", "spherical"):
        variances = np.diagonal(covariances, axis1=1, axis2=2)
        if covariance_type == "spherical":
            variances = variances.mean(axis=1, keepdims=True).repeat(n_features, axis=1)
        covariances = variances[:, :, np.newaxis] * np.eye(n_features)
    diagonal = np.arange(n_features)
    covariances[:, diagonal, diagonal] += reg_covar
    return covariances


def _m_step_two_pass(X, responsibilities, covariance_type, reg_covar):
    """The M-step with each covariance summed about its own mean (two passes).

    The first pass gives m_k = sum_n gamma_nk x_n / N_k; the second sums
    about it, with the centring corrected (Chan, Golub and LeVeque's
    corrected two-pass algorithm):

        d_k     = (1/N_k) sum_n gamma_nk (x_n - m_k),   mu_k = m_k + d_k
        Sigma_k = (1/N_k) sum_n gamma_nk (x_n - m_k)(x_n - m_k)^T - d_k d_k^T

    Exact (to rounding of Sigma_k itself) even for a component holding a
    single point far from the data mean.

    Returns
    -------
    counts, means, covariances
        N_k (shape (n_components,)), mu_k, and full Sigma_k.
    """
    n_components = responsibilities.shape[1]
    counts = np.maximum(responsibilities.sum(axis=0), _EMPTY_COMPONENT_GUARD)  # N_k
    first = responsibilities.T @ X / counts[:, np.newaxis]  # m_k
    rows, cols = _upper_indices(X.shape[1])
    statistics = np.empty((n_components, 1 + X.shape[1] + rows.size))
    for k in range(n_components):
        statistics[k] = _feature_rows(X, first[k]) @ responsibilities[:, k]
    _, means, covariances, _ = _moments_from_statistics(statistics, first)
    return counts, means, _restrict(covariances, counts, covariance_type, reg_covar)


def m_step(X, responsibilities, covariance_type="full", reg_covar=1e-6) -> tuple:
    """The M-step: new (weights, means, covariances) from the responsibilities.

    N_k = sum_n gamma_nk, mu_k = (1/N_k) sum_n gamma_nk x_n,
    Sigma_k = (1/N_k) sum_n gamma_nk (x_n - mu_k)(x_n - mu_k)^T + reg_covar I,
    pi_k = N_k / N. 'diag' keeps the diagonal of Sigma_k, 'spherical' its
    mean variance, 'tied' one Sigma = sum_k N_k Sigma_k / N for all.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    responsibilities : array-like of shape (n_samples, n_components)
    covariance_type : {'full', 'diag', 'spherical', 'tied'}, default='full'
    reg_covar : float, default=1e-6

    Returns
    -------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)
    """
    X = np.asarray(check_data(X), dtype=np.float64)
    responsibilities = check_responsibilities(responsibilities, X.shape[0])
    check_covariance_type(covariance_type)
    _check_number(reg_covar, "reg_covar", low=0)
    counts, means, covariances = _m_step_two_pass(X, responsibilities, covariance_type, reg_covar)
    return counts / counts.sum(), means, covariances


def e_step(X, weights, means, covariances) -> tuple:
    """The E-step: responsibilities gamma_nk and the log-likelihood L(theta).

    gamma_nk = pi_k N(x_n | mu_k, Sigma_k) / sum_j pi_j N(x_n | mu_j, Sigma_j),
    L(theta) = sum_n log sum_k pi_k N(x_n | mu_k, Sigma_k), both in log space.

    Returns
    -------
    responsibilities : ndarray of shape (n_samples, n_components)
    log_likelihood : float
    """
    log_resp, log_norm = log_responsibilities(X, weights, means, covariances)
    return np.exp(log_resp), float(log_norm.sum())


# ---------------------------------------------------------------------------
# initialisation


def initial_responsibilities(X, n_components, init_params, random_state) -> np.ndarray:
    """A first assignment of points to components, as scikit-learn makes it.

    'kmeans' runs k-means once; 'k-means++' and 'random_from_data' each pick
    n_components points as seeds (one point per component); 'random' draws
    uniform responsibilities.
    """
    from sklearn.cluster import KMeans, kmeans_plusplus

    n_samples = X.shape[0]
    resp = np.zeros((n_samples, n_components), dtype=X.dtype)
    if init_params == "kmeans":
        labels = (
            KMeans(n_clusters=n_components, n_init=1, random_state=random_state)
            .fit(X)
            .labels_
        )
        resp[np.arange(n_samples), labels] = 1
    elif init_params == "random":
        resp = random_state.uniform(size=(n_samples, n_components)).astype(X.dtype)
        resp /= resp.sum(axis=1)[:, np.newaxis]
    elif init_params == "random_from_data":
        indices = random_state.choice(n_samples, size=n_components, replace=False)
        resp[indices, np.arange(n_components)] = 1
    else:  # k-means++
        _, indices = kmeans_plusplus(X, n_components, random_state=random_state)
        resp[indices, np.arange(n_components)] = 1
    return resp


def initial_parameters(
    X,
    n_components,
    *,
    covariance_type="full",
    init_params="k-means++",
    reg_covar=1e-6,
    random_state=None,
    weights_init=None,
    means_init=None,
    precisions_init=None,
) -> tuple:
    """theta_0 = (weights, means, covariances), as scikit-learn initialises.

    Parameters not given explicitly come from the M-step applied to
    :func:`initial_responsibilities`; precisions_init is turned into
    covariances (Sigma = Lambda^{-1}).

    Two deliberate differences from scikit-learn, both only with the
    one-point seeds of 'k-means++' and 'random_from_data' (where a row of
    the responsibilities sums to 0 unless its point is a seed):

    - the weights are normalised to sum to 1 (scikit-learn's sum to K / N);
      no responsibility changes, only L(theta_0);
    - a 'tied' covariance is the exact M-step of the seeds, reg_covar I
      (scikit-learn's formula sums x x^T over every point, seed or not,
      and starts from a covariance as wide as the data's second moment).

    :class:`~gmm_lab.GaussianMixture` follows scikit-learn in both, to give
    its numbers.

    Returns
    -------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)
    """
    parameters, _ = _initial_parameters(
        X, n_components, covariance_type, init_params, reg_covar, random_state,
        weights_init, means_init, precisions_init,
    )
    return parameters


def _initial_parameters(
    X, n_components, covariance_type, init_params, reg_covar, random_state,
    weights_init, means_init, precisions_init, *, like_sklearn=False,
) -> tuple:
    """:func:`initial_parameters`, and log of scikit-learn's initial weight sum.

    With ``like_sklearn`` the tied covariance is scikit-learn's
    (X^T X - sum_k N_k mu_k mu_k^T) / sum_k N_k + reg_covar I: the exact
    one plus sum_n (1 - r_n) x_n x_n^T / sum_k N_k, r_n = sum_k gamma_nk
    (zero when every row sums to 1, as with 'kmeans' and 'random').

    Returns
    -------
    (weights, means, covariances), log_weight_sum
        log_weight_sum is log(sum_k N_k / n_samples): what scikit-learn's
        first lower bound adds to L(theta_0) / N (0 with weights_init).
    """
    n_features = X.shape[1]
    weights = means = covariances = None
    log_weight_sum = 0.0
    if weights_init is None or means_init is None or precisions_init is None:
        from sklearn.utils import check_random_state

        random_state = check_random_state(random_state)
        X64 = np.asarray(X, dtype=np.float64)
        resp = np.asarray(initial_responsibilities(X, n_components, init_params, random_state),
                          dtype=np.float64)
        counts, means, covariances = _m_step_two_pass(X64, resp, covariance_type, reg_covar)
        weights = counts / counts.sum()
        if weights_init is None:
            log_weight_sum = float(np.log(counts.sum() / X.shape[0]))
        if like_sklearn and covariance_type == "tied":
            missing = 1.0 - resp.sum(axis=1)  # 1 - r_n
            missing[np.abs(missing) < 1e-8] = 0.0
            extra = (missing * X64.T) @ X64 / counts.sum()
            covariances = covariances + extra
    if weights_init is not None:
        weights = np.array(weights_init, dtype=np.float64)
    if means_init is not None:
        means = np.array(means_init, dtype=np.float64)
    if precisions_init is not None:
        covariances = _covariances_from_precisions(
            np.asarray(precisions_init, dtype=np.float64), covariance_type, n_components, n_features
        )
    return (weights, means, covariances), log_weight_sum


# ---------------------------------------------------------------------------
# the engine: E-step + sufficient statistics in one chunked pass


@lru_cache(maxsize=1)
def _blas_threads():
    """threadpoolctl's view of the BLAS libraries, inspected once (it costs ms)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _smallest_eigenvalues(covariances) -> np.ndarray:
    """Smallest eigenvalue of each covariance, shape (n_components,).

    For 2 x 2 [[a, b], [b, c]] in closed form, (a + c)/2 - sqrt(((a - c)/2)^2 + b^2).
    """
    if covariances.shape[1] == 2:
        a, b, c = covariances[:, 0, 0], covariances[:, 1, 0], covariances[:, 1, 1]
        return (0.5 * a + 0.5 * c) - np.hypot(0.5 * a - 0.5 * c, b)  # no overflow near 1e308
    return np.linalg.eigvalsh(covariances)[:, 0]


class _Engine:
    """Runs iterations on one data set; holds what does not change between them."""

    def __init__(self, X, covariance_type, reg_covar, engine="auto"):
        self.n_samples, self.n_features = X.shape
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        if engine == "auto":
            engine = "2d" if self.n_features == 2 else "general"
        if engine == "2d" and self.n_features != 2:
            raise ValueError(f"engine='2d' needs 2 features; X has {self.n_features}.")
        self.engine = engine
        self.X = X
        # Sums of (x - c)(x - c)^T about a centre c inside the data keep the
        # one-pass Sigma_k = sum gamma (x - c)(x - c)^T / N_k - (mu_k - c)(mu_k - c)^T
        # free of cancellation for components near c. The median (of at most
        # about 4096 rows) stays inside the bulk of the data when a few points
        # are far away, where the mean would follow them; components far
        # from c are detected and recomputed about their own mean (maximisation).
        self.shift = np.median(X[:: max(1, self.n_samples // 4096)], axis=0).astype(np.float64)
        self.features = _feature_rows(X, self.shift.astype(X.dtype))
        self.cancellation_limit = _CANCELLATION_LIMIT[X.dtype.itemsize < 8]
        self.collapsed = set()
        self.swamped = _warn_if_reg_covar_swamps(self._feature_variances(), reg_covar)
        self._buffers = {}
        self._kernel = None

    def _feature_variances(self) -> np.ndarray:
        """Variance of each feature, from the centred rows (no N x D temporary).

        var_d = mean((x_d - c_d)^2) - mean(x_d - c_d)^2, c the median: no
        cancellation to speak of, and only compared with reg_covar.
        """
        rows, cols = _upper_indices(self.n_features)
        squares = 1 + self.n_features + np.flatnonzero(rows == cols)
        offsets = self.features[1 : 1 + self.n_features].mean(axis=1, dtype=np.float64)
        second = np.array([self.features[row].mean(dtype=np.float64) for row in squares])
        return second - offsets * offsets

    def _chunk_columns(self, n_components):
        """Points per chunk: one (K, chunk) block (or (K D, chunk) in the
        general path) of about 1 MiB stays in cache while a dozen whole-array
        operations run over it."""
        height = n_components * (1 if self.engine == "2d" else max(self.n_features // 2, 1))
        return min(self.n_samples, max(64, CHUNK_ELEMENTS // height))

    def _buffer(self, name, shape):
        """Scratch arrays reused from one iteration to the next."""
        buffer = self._buffers.get(name)
        if buffer is None or buffer.shape != shape:
            buffer = self._buffers[name] = np.empty(shape, self.features.dtype)
        return buffer

    def expectation(self, weights, means, covariances, *, keep, iteration):
        """E-step at theta_t and the sufficient statistics of gamma_t, in one pass.

        The general path's (K D, D) @ (D, chunk) products are too small for
        two BLAS threads: on a 2-core machine they were measured stalling
        (32 ms best, 240 ms median at N = 1e5, D = 4), so that path runs
        with one BLAS thread.
        """
        if self.engine == "general":
            with _blas_threads().limit(limits=1, user_api="blas"):
                return self._expectation(weights, means, covariances, keep=keep, iteration=iteration)
        return self._expectation(weights, means, covariances, keep=keep, iteration=iteration)

    def _expectation(self, weights, means, covariances, *, keep, iteration):
        """E-step at theta_t and the sufficient statistics of gamma_t, in one pass.

        Returns
        -------
        log_likelihood : float
        responsibilities : ndarray of shape (n_samples, n_components) or None
            Read-only (states keep it without a copy).
        statistics : ndarray of shape (n_components, 1 + D + D (D + 1) / 2)
        """
        n_components = weights.shape[0]
        dtype = self.features.dtype
        with np.errstate(divide="ignore"):
            log_weights = np.log(weights)
        kernel, work_rows = _weighted_log_density_kernel(
            log_weights, means - self.shift, covariances, self.engine, dtype,
            where=f" at iteration {iteration}",
        )
        self._kernel = (kernel, work_rows, n_components)  # for a second pass (_recentred)
        resp_t = np.empty((n_components, self.n_samples), dtype) if keep else None
        statistics = np.zeros((n_components, self.features.shape[0]))
        log_likelihood = 0.0
        for start, stop, resp, chunk_log_likelihood in self._responsibility_chunks():
            log_likelihood += chunk_log_likelihood
            # N_k, sum_n gamma_nk x_n, sum_n gamma_nk x_n x_n^T in one product
            statistics += resp @ self.features[:, start:stop].T
            if keep:
                resp_t[:, start:stop] = resp
        responsibilities = None
        if keep:
            resp_t.flags.writeable = False  # the state's view cannot be made writeable
            responsibilities = resp_t.T
        return log_likelihood, responsibilities, statistics

    def _responsibility_chunks(self):
        """Yield (start, stop, gamma^T, L of the chunk) chunk by chunk at the last theta_t.

        gamma^T has shape (K, stop - start) and lives in a reused buffer;
        L of the chunk is sum_n log sum_k pi_k N(x_n | mu_k, Sigma_k) over it.
        """
        kernel, work_rows, n_components = self._kernel
        step = self._chunk_columns(n_components)
        out = self._buffer("out", (n_components, step))
        work = self._buffer("work", (n_components * work_rows, step))
        points = self.features[1 : 1 + self.n_features]
        for start in range(0, self.n_samples, step):
            stop = min(start + step, self.n_samples)
            # log(pi_k N(x_n | mu_k, Sigma_k)), shape (K, chunk)
            resp = kernel(points[:, start:stop], out, work)
            # log-sum-exp with each point's largest term shifted out, then
            # gamma_nk = exp(a_nk - max) / sum_j exp(a_nj - max)
            column_max = resp.max(axis=0)
            resp -= column_max
            np.exp(resp, out=resp)
            column_sum = resp.sum(axis=0)
            chunk_log_likelihood = float(column_max.sum(dtype=np.float64))
            chunk_log_likelihood += float(np.log(column_sum).sum(dtype=np.float64))
            resp *= np.reciprocal(column_sum, out=column_sum)
            yield start, stop, resp, chunk_log_likelihood

    def maximisation(self, statistics, iteration, responsibilities=None):
        """theta_{t+1} from the sums of the last :meth:`expectation`.

        Components whose one-pass covariance lost digits to cancellation
        (:func:`_moments_from_statistics`: they sit far from the centre of
        the sums) are
        summed again about their own mean, from ``responsibilities`` when
        the state kept them, else from a second pass of the E-step.
        """
        counts, means, covariances, cancelled = _moments_from_statistics(
            statistics, self.shift, self.reg_covar, self.cancellation_limit
        )
        if cancelled is not None:
            flagged = np.flatnonzero(cancelled)
            counts[flagged], means[flagged], covariances[flagged], _ = _moments_from_statistics(
                self._recentred(flagged, means[flagged], responsibilities), means[flagged]
            )
        covariances = _restrict(covariances, counts, self.covariance_type, self.reg_covar)
        self._warn_collapsed(counts, covariances, iteration)
        return counts / counts.sum(), means, covariances

    def _recentred(self, components, centres, responsibilities=None):
        """Sums of the E-step's gamma_nk for ``components``, about ``centres``.

        Returns
        -------
        ndarray of shape (len(components), 1 + D + D (D + 1) / 2)
            sum_n gamma_nk [1, x_n - c_k, upper((x_n - c_k)(x_n - c_k)^T)],
            in float64 from the data as given (not from the shifted copy).
        """
        statistics = np.zeros((len(components), self.features.shape[0]))
        if responsibilities is not None:
            chunks = [(0, self.n_samples, responsibilities.T, None)]
        else:
            chunks = self._responsibility_chunks()
        for start, stop, resp, _ in chunks:
            for j, (k, centre) in enumerate(zip(components, centres)):
                # only the points the component holds: one, for a lone far point
                rows = np.flatnonzero(resp[k])
                X = np.asarray(self.X[start + rows], dtype=np.float64)
                statistics[j] += _feature_rows(X, centre) @ np.asarray(resp[k][rows], dtype=np.float64)
        return statistics

    def _warn_collapsed(self, counts, covariances, iteration):
        """Warn once per component whose covariance is held up by reg_covar alone."""
        if self.swamped:  # already said: reg_covar dominates every covariance
            return
        smallest = _smallest_eigenvalues(covariances)
        threshold = 2.0 * self.reg_covar
        for k in np.flatnonzero(smallest <= threshold):
            if k in self.collapsed:
                continue
            self.collapsed.add(k)
            remedy = (
                f"reg_covar={self.reg_covar:g} keeps it positive definite. Try "
                "another random_state, fewer components, or a larger reg_covar."
                if self.reg_covar > 0
                else "With reg_covar=0 EM cannot go on: set reg_covar > 0."
            )
            warn(
                f"Component {k} collapsed at iteration {iteration}: it holds "
                f"{counts[k]:.3g} points' worth of responsibility and its covariance "
                "is singular (its points coincide, or lie on a line or plane: a "
                f"feature may be a combination of others). {remedy}",
                CollapsedComponentWarning,
            )

    def states(self, parameters, *, max_iter, tol, keep, extra_steps=0, previous=None,
               first_offset=0.0):
        """Yield states 0, 1, ... from theta_0 = ``parameters``.

        Stops after the first state whose mean log-likelihood changed by less
        than ``tol`` (then ``extra_steps`` more, for scikit-learn's counting)
        or after state ``max_iter``. ``first_offset`` is added to state 0's
        mean log-likelihood in that test only (scikit-learn's initial weights
        sum to K / N with one-point seeds; see :func:`_initial_parameters`).
        """
        weights, means, covariances = parameters
        previous_mean = -np.inf if previous is None else previous
        remaining_extra = None
        for iteration in range(max_iter + 1):
            log_likelihood, resp, statistics = self.expectation(
                weights, means, covariances, keep=keep, iteration=iteration
            )
            mean = log_likelihood / self.n_samples
            converged = remaining_extra is not None or abs(mean - previous_mean) < tol
            yield EMState(
                iteration=iteration,
                weights=weights,
                means=means,
                covariances=covariances,
                responsibilities=resp,
                log_likelihood=log_likelihood,
                converged=converged,
                n_samples=self.n_samples,
                covariance_type=self.covariance_type,
                component_counts=statistics[:, 0],
            )
            if converged:
                remaining_extra = extra_steps if remaining_extra is None else remaining_extra - 1
                if remaining_extra <= 0:
                    return
            previous_mean = mean + (first_offset if iteration == 0 else 0.0)
            if iteration < max_iter:
                weights, means, covariances = self.maximisation(statistics, iteration + 1, resp)


# ---------------------------------------------------------------------------
# public entry points


def em(
    X,
    n_components,
    *,
    covariance_type="full",
    init_params="k-means++",
    max_iter=100,
    tol=1e-3,
    reg_covar=1e-6,
    random_state=None,
    means_init=None,
    weights_init=None,
    precisions_init=None,
    keep_responsibilities=True,
    engine="auto",
):
    """Run EM and yield an :class:`EMState` per iteration, state 0 first.

    Parameter names and meanings are scikit-learn's GaussianMixture's.
    Inputs are checked here, when ``em`` is called, not at the first
    ``next()``. Where em() deliberately differs from scikit-learn (the
    default init, normalised initial weights, the exact 'tied' start with
    one-point seeds, stopping at the converged state, exact M-steps on far
    points), the module docstring lists it; :class:`gmm_lab.GaussianMixture`
    gives scikit-learn's numbers.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        float64, or float32 to run the E-step in single precision: about
        twice as fast on large data, with parameters and log-likelihoods
        agreeing with float64 to about 1e-4 relative (the sufficient
        statistics are always summed in float64).
    n_components : int
        K, the number of Gaussians.
    covariance_type : {'full', 'diag', 'spherical', 'tied'}, default='full'
    init_params : {'k-means++', 'kmeans', 'random', 'random_from_data'}, default='k-means++'
        How theta_0 is chosen when means_init etc. are not given.
    max_iter : int, default=100
        The most M-steps to take; the last state is at most ``max_iter``.
    tol : float, default=1e-3
        Stop when the mean log-likelihood per point changes by less.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance, so none is singular.
    random_state : int, RandomState or None
        Seeds the initialisation.
    means_init, weights_init, precisions_init : array-like, optional
        Explicit theta_0 (precisions in scikit-learn's per-type shape).
    keep_responsibilities : bool, default=True
        Store gamma_t in every state (the scrubber colours points with it);
        turn off for large data.
    engine : {'auto', '2d', 'general'}, default='auto'
        The closed-form 2 x 2 path or the general one; 'auto' picks '2d'
        for two features. Both give the same numbers up to rounding.

    Yields
    ------
    EMState
        Immutable snapshots, t = 0, 1, ..., until converged or max_iter.

    Examples
    --------
    >>> from gmm_lab import em, load_vowels
    >>> X = load_vowels(["IY", "IH"]).X
    >>> for state in em(X, 2, random_state=0):
    ...     pass
    >>> state.converged
    True
    """
    n_components = check_n_components(n_components)
    X = check_data(X, n_components)
    covariance_type = check_covariance_type(covariance_type)
    init_params = check_init_params(init_params)
    _check_number(max_iter, "max_iter", low=0, integer=True)
    _check_number(tol, "tol", low=0)
    _check_number(reg_covar, "reg_covar", low=0)
    _check_engine(engine, X.shape[1])
    weights_init, means_init, precisions_init = check_initial_parameters(
        weights_init, means_init, precisions_init, covariance_type, n_components, X.shape[1]
    )
    parameters = initial_parameters(
        X,
        n_components,
        covariance_type=covariance_type,
        init_params=init_params,
        reg_covar=reg_covar,
        random_state=random_state,
        weights_init=weights_init,
        means_init=means_init,
        precisions_init=precisions_init,
    )
    runner = _Engine(X, covariance_type, reg_covar, engine)
    return runner.states(parameters, max_iter=max_iter, tol=tol, keep=keep_responsibilities)


def run_em(X, n_components, **options) -> History:
    """Run :func:`em` to the end and return the :class:`History` of states.

    Takes the same arguments as :func:`em` (and differs from scikit-learn
    where it does). Warns with scikit-learn's ``ConvergenceWarning`` when
    max_iter is reached before convergence.
    """
    X = check_data(X)
    states = list(em(X, n_components, **options))
    if not states[-1].converged and options.get("max_iter", 100) > 0:
        from sklearn.exceptions import ConvergenceWarning

        warn(
            f"EM did not converge in {len(states) - 1} iterations (tol="
            f"{options.get('tol', 1e-3)}). Increase max_iter or tol, or try "
            "another initialisation.",
            ConvergenceWarning,
        )
    return History(states=states, X=X)
