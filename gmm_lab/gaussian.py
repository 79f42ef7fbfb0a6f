"""Multivariate normal densities in log space, from Cholesky factors.

The handout computed

    p(x | mu, Sigma) = exp(-1/2 (x - mu)^T Sigma^{-1} (x - mu)) / ((2 pi)^{D/2} |Sigma|^{1/2})

with ``pinv(Sigma)`` and ``det(Sigma)``, then multiplied raw densities. On
formants in Hz those densities are small: at the centre of a vowel, under
that vowel's own Gaussian, from 3.9e-6 per Hz^2 (AE) to 1.6e-5 (AO), and
they underflow to exactly 0 (below e^-745) some 1900 to 12000 Hz away
along F1 or F2 (tests/test_gaussian.py checks these numbers). The
handout's ``normalize(Z, norm='l1')`` never divides 0 by 0: it leaves a
row whose sum is below 10 eps (2.2e-15) as it is, unnormalised, and an
all-zero row stays zero; the division by zero comes in its M-step, where
a component whose column is all zeros has sum_n Z_nk = 0. Here
everything stays in log space:

    log N(x | mu, Sigma) = -1/2 (D log 2 pi + ||z||^2) - sum_d log L_dd,
    with Sigma = L L^T (Cholesky) and L z = x - mu (a triangular solve),

so ||z||^2 is the squared Mahalanobis distance, log|Sigma| = 2 sum_d log L_dd,
and no inverse or pseudo-inverse of Sigma is ever formed.

:func:`gmm_lab.reference.log_gaussian` writes that formula out line by
line for one component; the functions here evaluate every component at
once with the engine's kernels (``gmm_lab._kernels``), to the same numbers.
"""

from __future__ import annotations

import numpy as np

from ._kernels import cholesky_factors, weighted_log_density_kernel
from ._validation import check_data, check_finite, check_mixture_weights, check_parameters
from .exceptions import SingularCovarianceError

__all__ = [
    "SingularCovarianceError",
    "cholesky_factors",
    "log_gaussian_density",
    "weighted_log_densities",
    "logsumexp_rows",
    "log_responsibilities",
    "responsibilities",
    "get_predictions",
]


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
    return _evaluate(X, None, means, covariances, method)


def weighted_log_densities(X, weights, means, covariances, *, method="auto") -> np.ndarray:
    """log(pi_k N(x_n | mu_k, Sigma_k)), shape (n_samples, n_components).

    A component with weight 0 gets -inf, which the normaliser handles.
    """
    return _evaluate(X, weights, means, covariances, method)


def _evaluate(X, weights, means, covariances, method):
    """Check the inputs, pick the kernel, evaluate on all points at once."""
    X = check_data(X, float32=False, allow_empty=True, copy=False)
    means, covariances = check_parameters(means, covariances, X.shape[1])
    if method == "auto":
        method = "2d" if X.shape[1] == 2 else "general"
    if method not in ("2d", "general"):
        raise ValueError(f"method must be 'auto', '2d' or 'general'; got {method!r}.")
    if method == "2d" and X.shape[1] != 2:
        raise ValueError(f"method='2d' needs 2 features; X has {X.shape[1]}.")
    n_components = means.shape[0]
    if weights is None:
        log_weights = np.zeros(n_components)
    else:
        with np.errstate(divide="ignore"):
            log_weights = np.log(np.asarray(weights, dtype=float))
    kernel, work_rows = weighted_log_density_kernel(log_weights, means, covariances, method)
    out = np.empty((n_components, X.shape[0]))
    work = np.empty((n_components * work_rows, X.shape[0]))
    return kernel(X.T, out, work).T


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

    Raises
    ------
    ValueError
        When p is not one finite, non-negative weight per component, or mu
        or s hold NaN or infinity.
    """
    mu = np.asarray(mu, dtype=float)
    n_components = mu.shape[0] if mu.ndim == 2 else None
    p = check_mixture_weights(p, n_components, name="p")
    check_finite(mu, "mu")
    check_finite(s, "s")
    return np.exp(weighted_log_densities(X, p, mu, s))
