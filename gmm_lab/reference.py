"""The EM algorithm for a Gaussian mixture, written to be read in one sitting.

This is the reference: every line of math carries the equation it
implements, in the lessons' notation. It is not the code that
:func:`gmm_lab.em` runs: that one (``gmm_lab._engine``) computes the same
numbers in one chunked pass with reused buffers, and the tests hold it to
this module's numbers at every iteration (``tests/test_reference.py``).

Notation (lesson 3):

    x_n        point n, n = 1..N, of D features
    pi_k       weight of component k, k = 1..K        (weights, shape (K,))
    mu_k       mean of component k                     (means, shape (K, D))
    Sigma_k    covariance of component k               (covariances, shape (K, D, D))
    gamma_nk   responsibility of component k for x_n   (responsibilities, shape (N, K))
    N_k        sum_n gamma_nk, the points' worth component k holds
    L(theta)   sum_n log sum_k pi_k N(x_n | mu_k, Sigma_k), the log-likelihood

One iteration: the E-step computes gamma_nk and L from theta_t = (pi, mu,
Sigma); the M-step computes theta_{t+1} from gamma. Everything stays in
log space until the responsibilities, and Sigma_k is only ever used through
its Cholesky factor (no inverse, no determinant of a raw matrix).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import LinAlgError, cholesky, solve_triangular

from ._validation import (
    check_covariance_type,
    check_data,
    check_number,
    check_parameters,
    check_responsibilities,
)
from .exceptions import SingularCovarianceError
from .gaussian import logsumexp_rows

__all__ = ["log_gaussian", "e_step", "log_likelihood", "m_step", "reference_em"]

LOG_2PI = np.log(2.0 * np.pi)

# N_k is floored at 10 machine epsilons, so that an empty component divides
# 0 by a tiny number instead of by 0 (scikit-learn adds the same amount).
EMPTY_COMPONENT_GUARD = 10 * np.finfo(np.float64).eps


# ---------------------------------------------------------------------------
# E-step


def log_gaussian(X, mean, covariance, component=0) -> np.ndarray:
    """log N(x_n | mu, Sigma) for every point, from the Cholesky factor of Sigma.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    mean : ndarray of shape (n_features,)
    covariance : ndarray of shape (n_features, n_features)
    component : int, default=0
        Only to name the component if Sigma is not positive definite.

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    n_features = X.shape[1]
    try:
        L = cholesky(covariance, lower=True)  # Sigma = L L^T
    except LinAlgError:
        raise SingularCovarianceError.for_component(component) from None
    z = solve_triangular(L, (X - mean).T, lower=True)  # L z_n = x_n - mu
    squared_distances = (z * z).sum(axis=0)  # ||z_n||^2 = (x_n - mu)^T Sigma^{-1} (x_n - mu)
    log_det = 2.0 * np.log(np.diag(L)).sum()  # log |Sigma| = 2 sum_d log L_dd
    # log N(x_n | mu, Sigma) = -1/2 (D log 2 pi + log |Sigma| + ||z_n||^2)
    return -0.5 * (n_features * LOG_2PI + log_det + squared_distances)


def e_step(X, weights, means, covariances) -> tuple:
    """The E-step: responsibilities gamma_nk and the log-likelihood L(theta).

    gamma_nk = pi_k N(x_n | mu_k, Sigma_k) / sum_j pi_j N(x_n | mu_j, Sigma_j)
    L(theta) = sum_n log sum_k pi_k N(x_n | mu_k, Sigma_k)

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    weights : array-like of shape (n_components,)
    means : array-like of shape (n_components, n_features)
    covariances : array-like of shape (n_components, n_features, n_features)

    Returns
    -------
    responsibilities : ndarray of shape (n_samples, n_components)
        Each row sums to 1, even for a point a million standard deviations
        from every component.
    log_likelihood : float
    """
    X = check_data(X, float32=False, allow_empty=True, copy=False)
    means, covariances = check_parameters(means, covariances, X.shape[1])
    with np.errstate(divide="ignore"):  # a weight of 0 gives log 0 = -inf, which is fine
        log_weights = np.log(np.asarray(weights, dtype=np.float64))
    weighted = np.column_stack([  # log(pi_k N(x_n | mu_k, Sigma_k)), shape (N, K)
        log_weights[k] + log_gaussian(X, means[k], covariances[k], component=k)
        for k in range(len(means))
    ])
    log_norm = logsumexp_rows(weighted)  # log p(x_n) = log sum_k pi_k N(x_n | mu_k, Sigma_k)
    responsibilities = np.exp(weighted - log_norm[:, np.newaxis])  # gamma_nk = pi_k N(...) / p(x_n)
    return responsibilities, float(log_norm.sum())  # L = sum_n log p(x_n)


def log_likelihood(X, weights, means, covariances) -> float:
    """L(theta) = sum_n log sum_k pi_k N(x_n | mu_k, Sigma_k), the total over the points.

    Parameters and shapes as :func:`e_step`; this is its second output.
    """
    return e_step(X, weights, means, covariances)[1]


# ---------------------------------------------------------------------------
# M-step


def m_step(X, responsibilities, covariance_type="full", reg_covar=1e-6) -> tuple:
    """The M-step: new (weights, means, covariances) from the responsibilities.

    N_k     = sum_n gamma_nk
    mu_k    = (1/N_k) sum_n gamma_nk x_n
    Sigma_k = (1/N_k) sum_n gamma_nk (x_n - mu_k)(x_n - mu_k)^T + reg_covar I
    pi_k    = N_k / N

    with the covariance type's restriction before reg_covar is added:
    'diag' keeps the diagonal of each Sigma_k, 'spherical' its mean variance
    times I, and 'tied' one Sigma = sum_k N_k Sigma_k / N for every component.

    Each Sigma_k is summed about its own mean (two passes over the points),
    so it is exact even for a component on a point far from the others.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    responsibilities : array-like of shape (n_samples, n_components)
        gamma, each entry >= 0 (each row usually sums to 1).
    covariance_type : {'full', 'diag', 'spherical', 'tied'}, default='full'
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance, so none is singular.

    Returns
    -------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)
        Always full matrices, whatever the covariance type.
    """
    X = check_data(X, float32=False)
    gamma = check_responsibilities(responsibilities, X.shape[0])
    check_covariance_type(covariance_type)
    check_number(reg_covar, "reg_covar", low=0)
    n_components, n_features = gamma.shape[1], X.shape[1]

    counts = np.empty(n_components)
    means = np.empty((n_components, n_features))
    covariances = np.empty((n_components, n_features, n_features))
    for k in range(n_components):
        gamma_k = gamma[:, k]
        N_k = max(gamma_k.sum(), EMPTY_COMPONENT_GUARD)  # N_k = sum_n gamma_nk
        mu_k = gamma_k @ X / N_k  # first pass: mu_k = (1/N_k) sum_n gamma_nk x_n
        diff = X - mu_k  # second pass: x_n - mu_k
        Sigma_k = (gamma_k * diff.T) @ diff / N_k  # (1/N_k) sum_n gamma_nk (x_n - mu_k)(x_n - mu_k)^T
        # In exact arithmetic (1/N_k) sum_n gamma_nk (x_n - mu_k) = 0; what is
        # left is the rounding of the first pass, taken out of both (Chan,
        # Golub and LeVeque's corrected two-pass algorithm).
        correction = gamma_k @ diff / N_k
        counts[k] = N_k
        means[k] = mu_k + correction
        covariances[k] = Sigma_k - np.outer(correction, correction)

    if covariance_type == "tied":  # Sigma = sum_k N_k Sigma_k / sum_k N_k, shared by all
        tied = np.tensordot(counts, covariances, axes=1) / counts.sum()
        covariances = np.broadcast_to(tied, covariances.shape).copy()
    elif covariance_type == "diag":  # Sigma_k = diag(Sigma_k)
        covariances = np.diagonal(covariances, axis1=1, axis2=2)[:, :, np.newaxis] * np.eye(n_features)
    elif covariance_type == "spherical":  # Sigma_k = sigma_k^2 I, sigma_k^2 = (1/D) trace(Sigma_k)
        variances = np.diagonal(covariances, axis1=1, axis2=2).mean(axis=1)
        covariances = variances[:, np.newaxis, np.newaxis] * np.eye(n_features)
    covariances += reg_covar * np.eye(n_features)  # Sigma_k + reg_covar I

    weights = counts / counts.sum()  # pi_k = N_k / N (sum_k N_k = N when each row of gamma sums to 1)
    return weights, means, covariances


# ---------------------------------------------------------------------------
# the loop


def reference_em(X, weights, means, covariances, *, covariance_type="full", reg_covar=1e-6,
                 max_iter=100, tol=1e-3):
    """EM from theta_0 = (weights, means, covariances): yield (theta_t, gamma_t, L_t).

    State t holds theta_t, the responsibilities gamma_t = E-step(theta_t)
    and L_t = L(theta_t); theta_{t+1} = M-step(gamma_t). The loop stops after
    the first state whose mean log-likelihood L_t / N changed by less than
    ``tol`` since the previous state, or after state ``max_iter``: the same
    rule, and the same numbers up to rounding, as :func:`gmm_lab.em`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    weights : array-like of shape (n_components,)
    means : array-like of shape (n_components, n_features)
    covariances : array-like of shape (n_components, n_features, n_features)
        theta_0, with full covariance matrices whatever the covariance type.
    covariance_type : {'full', 'diag', 'spherical', 'tied'}, default='full'
    reg_covar : float, default=1e-6
    max_iter : int, default=100
    tol : float, default=1e-3

    Yields
    ------
    theta : tuple (weights, means, covariances)
    gamma : ndarray of shape (n_samples, n_components)
    L : float
    """
    X = check_data(X, float32=False)
    theta = (np.asarray(weights, dtype=np.float64), *check_parameters(means, covariances, X.shape[1]))
    previous_mean = -np.inf
    for t in range(max_iter + 1):
        gamma, L = e_step(X, *theta)  # E-step at theta_t
        yield theta, gamma, L
        mean = L / X.shape[0]  # L(theta_t) / N
        if abs(mean - previous_mean) < tol or t == max_iter:
            return
        previous_mean = mean
        theta = m_step(X, gamma, covariance_type, reg_covar)  # theta_{t+1} = M-step(gamma_t)
