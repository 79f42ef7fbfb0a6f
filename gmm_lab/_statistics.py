"""The M-step from sufficient statistics, and covariance shapes: the engine's arithmetic.

:func:`gmm_lab.reference.m_step` is the M-step to read; the functions here
compute the same numbers from sums the engine accumulates in its E-step pass.

The M-step only needs three sums over the points (the sufficient
statistics N_k, sum_n gamma_nk (x_n - c) and sum_n gamma_nk (x_n - c)(x_n - c)^T
about any centre c), because
(1/N_k) sum_n gamma_nk (x_n - mu_k)(x_n - mu_k)^T
    = (1/N_k) sum_n gamma_nk (x_n - c)(x_n - c)^T - (mu_k - c)(mu_k - c)^T.
That subtraction cancels when a component sits far from c (an outlier, a
typo 1e5 Hz away): :func:`moments_from_statistics` flags such a component,
and the engine sums it again about its own mean.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = [
    "EMPTY_COMPONENT_GUARD",
    "CANCELLATION_LIMIT",
    "expand_covariances",
    "compact_covariances",
    "covariances_from_precisions",
    "upper_indices",
    "feature_rows",
    "moments_from_statistics",
    "restrict",
    "two_pass_m_step",
    "smallest_eigenvalues",
]

# scikit-learn adds 10 machine epsilons to every N_k so that an empty
# component divides 0 by a tiny number instead of by 0. gmm_lab floors N_k
# at that value instead: the same for an empty component, and no bias
# otherwise (scikit-learn's pulls a mean towards the origin by 10 eps of its
# distance, which adds (10 eps |mu|)^2 to the variance of a component on a
# single point 1e12 away: 4.9e-6, five times reg_covar).
EMPTY_COMPONENT_GUARD = 10 * np.finfo(np.float64).eps

# One-pass covariances whose terms exceed Sigma_dd + reg_covar by more than
# this are recomputed about the component's own mean: about 1e-12 relative
# error at most in float64 (1e4 * a few eps). Real formants stay far below
# (tens to hundreds); a component on a far point is at 1e10 and above.
# The second entry is for float32 data, whose statistics carry 6e-8.
CANCELLATION_LIMIT = (1e4, 1e3)


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


def covariances_from_precisions(precisions, covariance_type, n_components, n_features):
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
def upper_indices(n_features):
    """Row and column indices of the upper triangle (cached: 28 us a call)."""
    rows, cols = np.triu_indices(n_features)
    rows.flags.writeable = cols.flags.writeable = False
    return rows, cols


def feature_rows(X, shift) -> np.ndarray:
    """[1, x - shift, upper triangle of (x - shift)(x - shift)^T] as rows.

    Returns
    -------
    ndarray of shape (1 + D + D (D + 1) / 2, n_samples)
        gamma^T @ this.T gives (N_k, sum gamma x, sum gamma x x^T) in one
        product. Filled row by row, so building it needs no other copy of X.
    """
    n_samples, n_features = X.shape
    rows, cols = upper_indices(n_features)
    features = np.empty((1 + n_features + rows.size, n_samples), dtype=X.dtype)
    features[0] = 1.0
    for d in range(n_features):
        np.subtract(X[:, d], shift[d], out=features[1 + d])
    for j, (r, c) in enumerate(zip(rows, cols)):
        np.multiply(features[1 + r], features[1 + c], out=features[1 + n_features + j])
    return features


def moments_from_statistics(statistics, shifts, reg_covar=0.0, limit=None):
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
    counts = np.maximum(statistics[:, 0], EMPTY_COMPONENT_GUARD)  # N_k
    centred_means = statistics[:, 1 : 1 + n_features] / counts[:, np.newaxis]  # mu_k - c_k
    covariances = np.empty((n_components, n_features, n_features))
    rows, cols = upper_indices(n_features)
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


def restrict(covariances, counts, covariance_type, reg_covar):
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


def two_pass_m_step(X, responsibilities, covariance_type, reg_covar):
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
    counts = np.maximum(responsibilities.sum(axis=0), EMPTY_COMPONENT_GUARD)  # N_k
    first = responsibilities.T @ X / counts[:, np.newaxis]  # m_k
    rows, cols = upper_indices(X.shape[1])
    statistics = np.empty((n_components, 1 + X.shape[1] + rows.size))
    for k in range(n_components):
        statistics[k] = feature_rows(X, first[k]) @ responsibilities[:, k]
    _, means, covariances, _ = moments_from_statistics(statistics, first)
    return counts, means, restrict(covariances, counts, covariance_type, reg_covar)


def smallest_eigenvalues(covariances) -> np.ndarray:
    """Smallest eigenvalue of each covariance, shape (n_components,).

    For 2 x 2 [[a, b], [b, c]] in closed form, (a + c)/2 - sqrt(((a - c)/2)^2 + b^2).
    """
    if covariances.shape[1] == 2:
        a, b, c = covariances[:, 0, 0], covariances[:, 1, 0], covariances[:, 1, 1]
        return (0.5 * a + 0.5 * c) - np.hypot(0.5 * a - 0.5 * c, b)  # no overflow near 1e308
    return np.linalg.eigvalsh(covariances)[:, 0]
