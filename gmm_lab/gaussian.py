"""Multivariate normal densities in log space, from Cholesky factors.

The handout computed

    p(x | mu, Sigma) = exp(-1/2 (x - mu)^T Sigma^{-1} (x - mu)) / ((2 pi)^{D/2} |Sigma|^{1/2})

with ``pinv(Sigma)`` and ``det(Sigma)``, then multiplied raw densities. On
formants in Hz those densities are around 1e-7 at the centre of a vowel and
underflow to exactly 0 a few hundred Hz away, so normalising them divides
0 by 0. Here everything stays in log space:

    log N(x | mu, Sigma) = -1/2 (D log 2 pi + ||z||^2) - sum_d log L_dd,
    with Sigma = L L^T (Cholesky) and L z = x - mu (a triangular solve),

so ||z||^2 is the squared Mahalanobis distance, log|Sigma| = 2 sum_d log L_dd,
and no inverse or pseudo-inverse of Sigma is ever formed.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "SingularCovarianceError",
    "cholesky_factors",
    "log_gaussian_density",
    "weighted_log_densities",
    "logsumexp_rows",
    "log_responsibilities",
    "responsibilities",
    "log_likelihood",
    "get_predictions",
]

LOG_2PI = np.log(2.0 * np.pi)


class SingularCovarianceError(ValueError):
    """A covariance matrix is not positive definite, so it has no Cholesky factor."""


# ---------------------------------------------------------------------------
# Cholesky factors


def _singular_message(component: int, where: str = "") -> str:
    return (
        f"Covariance of component {component}{where} is not positive definite "
        "(singular or nearly so: its points coincide, lie on a line, or a "
        "feature is a combination of others), so it has no Cholesky factor. "
        "Add a small reg_covar to the diagonal (the default is 1e-6), use fewer "
        "components, or drop redundant features."
    )


def cholesky_factors(covariances, *, where: str = "") -> np.ndarray:
    """Lower Cholesky factors L_k with Sigma_k = L_k L_k^T.

    Parameters
    ----------
    covariances : array-like of shape (n_components, n_features, n_features)
    where : str, optional
        Text such as " at iteration 4" added to the error message.

    Returns
    -------
    ndarray of shape (n_components, n_features, n_features)
        Lower-triangular factors with a positive diagonal.

    Raises
    ------
    SingularCovarianceError
        Naming the first component whose covariance is not positive definite.
    """
    covariances = np.asarray(covariances)
    try:
        factors = np.linalg.cholesky(covariances)
    except np.linalg.LinAlgError:
        factors = None
    if factors is None or not np.all(np.isfinite(factors)):
        for k, covariance in enumerate(covariances):
            try:
                if np.all(np.isfinite(np.linalg.cholesky(covariance))):
                    continue
            except np.linalg.LinAlgError:
                pass
            raise SingularCovarianceError(_singular_message(k, where))
    return factors


def _factors_2d(covariances, where: str = ""):
    """Closed-form 2 x 2 Cholesky factor entries, each of shape (n_components,).

    Sigma = [[a, b], [b, c]] = L L^T with L = [[l11, 0], [l21, l22]]:
    l11 = sqrt(a), l21 = b / l11, l22 = sqrt(c - l21^2).
    """
    a = covariances[:, 0, 0]
    b = covariances[:, 1, 0]
    c = covariances[:, 1, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        l11 = np.sqrt(a)
        l21 = b / l11
        l22 = np.sqrt(c - l21 * l21)
    bad = ~(np.isfinite(l11) & np.isfinite(l22) & (l11 > 0) & (l22 > 0))
    if bad.any():
        raise SingularCovarianceError(_singular_message(int(np.argmax(bad)), where))
    return l11, l21, l22


# ---------------------------------------------------------------------------
# Log densities: two exact ways to compute the same numbers


def _log_density_2d(X, means, factors) -> np.ndarray:
    """log N(x_n | mu_k, Sigma_k) for D = 2 on (n_samples, n_components) arrays.

    Forward substitution L z = x - mu written out for 2 x 2 factors:
    z1 = dx / l11, z2 = (dy - l21 z1) / l22. Exact, and a handful of
    whole-array operations instead of one small matrix call per component.
    """
    l11, l21, l22 = factors
    z1 = X[:, 0:1] - means[:, 0]  # dx, then z1 in place
    z1 *= 1.0 / l11
    z2 = X[:, 1:2] - means[:, 1]  # dy
    z2 -= l21 * z1
    z2 *= 1.0 / l22
    # -1/2 ||z||^2 - log l11 - log l22 - log 2 pi
    z1 *= z1
    z2 *= z2
    z1 += z2
    z1 *= -0.5
    z1 -= np.log(l11) + np.log(l22) + LOG_2PI
    return z1


def _precision_factors(factors) -> np.ndarray:
    """U_k = L_k^{-T}, so that ||z||^2 = ||(x - mu)^T U_k||^2.

    This inverts the triangular factor L (condition number sqrt(cond Sigma)),
    by a triangular solve, as scikit-learn does; Sigma itself is never
    inverted. It turns the K triangular solves on the data into one matrix
    product per chunk.
    """
    n_components, n_features, _ = factors.shape
    identity = np.broadcast_to(np.eye(n_features), factors.shape)
    # triu: the inverse of a lower-triangular matrix is lower-triangular;
    # the general solver leaves 1e-19 where exact zeros belong.
    return np.triu(np.linalg.solve(factors, identity).transpose(0, 2, 1))


def _log_density_general(X, means, factors, precision_factors=None) -> np.ndarray:
    """log N(x_n | mu_k, Sigma_k) for any D, shape (n_samples, n_components)."""
    n_components, n_features, _ = factors.shape
    if precision_factors is None:
        precision_factors = _precision_factors(factors)
    # z_nk = (x_n - mu_k)^T U_k for all k with one product: (N, D) @ (D, K*D)
    stacked = precision_factors.transpose(1, 0, 2).reshape(n_features, -1)
    z = (X @ stacked).reshape(X.shape[0], n_components, n_features)
    z -= np.einsum("kd,kde->ke", means, precision_factors)
    z *= z
    squared_distance = z.sum(axis=2)
    log_det = np.log(np.diagonal(factors, axis1=1, axis2=2)).sum(axis=1)
    return -0.5 * (n_features * LOG_2PI + squared_distance) - log_det


def _check_2d_array(X, name="X"):
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_samples, n_features); got an "
            f"array of shape {X.shape}. Use X.reshape(-1, 1) for a single feature."
        )
    if not np.all(np.isfinite(X)):
        rows = np.flatnonzero(~np.isfinite(X).all(axis=1))
        raise ValueError(
            f"{name} contains NaN or infinity in {rows.size} row(s), the first "
            f"at row {rows[0]}. Drop or fill those rows first."
        )
    return X


def _check_parameters(means, covariances, n_features):
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


def log_gaussian_density(X, means, covariances, *, method="auto") -> np.ndarray:
    """log N(x_n | mu_k, Sigma_k) for every point and component.

    log N(x | mu, Sigma) = -1/2 (D log 2 pi + ||z||^2) - sum_d log L_dd,
    where Sigma = L L^T and L z = x - mu.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    means : array-like of shape (n_components, n_features)
    covariances : array-like of shape (n_components, n_features, n_features)
    method : {'auto', '2d', 'general'}, default='auto'
        '2d' writes the 2 x 2 Cholesky factor out in closed form (D = 2
        only); 'general' works for any D; 'auto' picks '2d' when D = 2.
        Both give the same numbers up to rounding.

    Returns
    -------
    ndarray of shape (n_samples, n_components)
    """
    X = _check_2d_array(X)
    means, covariances = _check_parameters(means, covariances, X.shape[1])
    if method == "auto":
        method = "2d" if X.shape[1] == 2 else "general"
    if method == "2d":
        if X.shape[1] != 2:
            raise ValueError(f"method='2d' needs 2 features; X has {X.shape[1]}.")
        return _log_density_2d(X, means, _factors_2d(covariances))
    if method == "general":
        return _log_density_general(X, means, cholesky_factors(covariances))
    raise ValueError(f"method must be 'auto', '2d' or 'general'; got {method!r}.")


def weighted_log_densities(X, weights, means, covariances, **kwargs) -> np.ndarray:
    """log(pi_k N(x_n | mu_k, Sigma_k)), shape (n_samples, n_components).

    A component with weight 0 gets -inf, which the normaliser handles.
    """
    with np.errstate(divide="ignore"):
        log_weights = np.log(np.asarray(weights, dtype=float))
    return log_gaussian_density(X, means, covariances, **kwargs) + log_weights


def logsumexp_rows(a) -> np.ndarray:
    """log sum_k exp(a_nk) for each row, without overflow or underflow.

    log sum_k exp(a_nk) = m_n + log sum_k exp(a_nk - m_n), m_n = max_k a_nk,
    so the largest term is exp(0) = 1 and the sum is at least 1.

    Parameters
    ----------
    a : array-like of shape (n_samples, n_components)

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    a = np.asarray(a, dtype=float)
    row_max = a.max(axis=1, keepdims=True)
    # A row of -inf (every weight zero) would give -inf - -inf = nan.
    row_max[~np.isfinite(row_max)] = 0.0
    with np.errstate(divide="ignore"):
        return row_max[:, 0] + np.log(np.exp(a - row_max).sum(axis=1))


def log_responsibilities(X, weights, means, covariances) -> tuple:
    """The E-step in log space.

    log gamma_nk = log(pi_k N(x_n | mu_k, Sigma_k)) - log sum_j pi_j N(x_n | mu_j, Sigma_j)

    Returns
    -------
    log_resp : ndarray of shape (n_samples, n_components)
    log_norm : ndarray of shape (n_samples,)
        log p(x_n) = log sum_k pi_k N(x_n | mu_k, Sigma_k).
    """
    weighted = weighted_log_densities(X, weights, means, covariances)
    log_norm = logsumexp_rows(weighted)
    return weighted - log_norm[:, np.newaxis], log_norm


def responsibilities(X, weights, means, covariances) -> np.ndarray:
    """gamma_nk = pi_k N(x_n | mu_k, Sigma_k) / sum_j pi_j N(x_n | mu_j, Sigma_j).

    Returns
    -------
    ndarray of shape (n_samples, n_components)
        Rows sum to 1, even for points a million standard deviations away.
    """
    log_resp, _ = log_responsibilities(X, weights, means, covariances)
    return np.exp(log_resp)


def log_likelihood(X, weights, means, covariances) -> float:
    """L = sum_n log sum_k pi_k N(x_n | mu_k, Sigma_k), the total over the points."""
    return float(logsumexp_rows(weighted_log_densities(X, weights, means, covariances)).sum())


def get_predictions(mu, s, p, X) -> np.ndarray:
    """The handout's E-step numerator: Z_nk = p_k N(x_n | mu_k, s_k).

    Same signature and meaning as the lecture handout's function, computed
    from log densities and Cholesky factors (no ``pinv``, no determinant of
    a raw matrix) and exponentiated only at the end.

    Parameters
    ----------
    mu : array-like of shape (n_components, n_features)
        Means of the components.
    s : array-like of shape (n_components, n_features, n_features)
        Covariances of the components.
    p : array-like of shape (n_components,)
        Weights of the components.
    X : array-like of shape (n_samples, n_features)
        The data.

    Returns
    -------
    Z : ndarray of shape (n_samples, n_components)
        Weighted densities. They are still raw densities: on Hz-scale data
        they underflow to 0 far from every component, which is why the EM in
        gmm_lab normalises in log space (:func:`responsibilities`) instead of
        dividing Z by its row sums.
    """
    return np.exp(weighted_log_densities(X, p, mu, s))
