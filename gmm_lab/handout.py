"""The lecture handout's code, kept to show how it fails. Not used by gmm_lab.

The handout (``shared/seed/``) computed the E-step with raw densities and
``pinv`` and then normalised the rows with scikit-learn's
``normalize(Z, axis=1, norm='l1')``; its M-step fitted diagonal covariances.
On formants in Hz the densities underflow: ``normalize`` treats a row whose
sum is below about 2e-15 as zero and silently leaves it unnormalised, and a
component that no point reaches gets sum_n Z_nk = 0, so its M-step divides
by zero. The lessons run this code to show both; the EM in
:mod:`gmm_lab.em` is the corrected version.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from sklearn.preprocessing import normalize

__all__ = ["handout_get_predictions", "handout_em"]


def handout_get_predictions(mu, s, p, X):
    """The handout's ``get_predictions``: p_k N(x_n | mu_k, s_k) from pinv and det.

    Numerically unsafe on purpose (see the module docstring); use
    :func:`gmm_lab.get_predictions` or :func:`gmm_lab.responsibilities`.

    Returns
    -------
    Z : ndarray of shape (n_samples, n_components)
    """
    n_components = s.shape[0]
    n_samples, n_features = X.shape
    Z = np.zeros((n_samples, n_components))
    for i in range(n_components):
        X_minus_mu = X - mu[i]
        inverse_s = np.squeeze(scipy.linalg.pinv(s[i]))
        s_i_det = scipy.linalg.det(s[i])
        x_s_x = np.matmul(X_minus_mu, inverse_s) * X_minus_mu
        Z[:, i] = (
            p[i]
            * (1 / np.power((2 * np.pi) ** n_features * np.abs(s_i_det), 0.5))
            * np.exp(-0.5 * np.sum(x_s_x, axis=1))
        )
    return Z


def handout_em(X, mu, s, p, n_iter=20):
    """The handout's EM loop (diagonal covariances), without its plotting.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    mu, s, p : ndarray
        Initial means (K, D), covariances (K, D, D) and weights (K,); copied.
    n_iter : int, default=20

    Returns
    -------
    mu, s, p : ndarray
        The parameters after ``n_iter`` iterations. NaN when a component's
        column of Z summed to 0 (numpy then warns "divide by zero").
    """
    mu, s, p = np.array(mu, dtype=float), np.array(s, dtype=float), np.array(p, dtype=float)
    for _ in range(n_iter):
        # E-step: raw densities, then rows scaled to sum to 1 (or left alone)
        Z = normalize(handout_get_predictions(mu, s, p, X), axis=1, norm="l1")
        # M-step, with the diagonal covariances the handout fits
        for i in range(mu.shape[0]):
            mu[i, :] = np.matmul(X.T, Z[:, i]) / np.sum(Z[:, i])
            squared = (X - mu[i]) ** 2
            s[i, :, :] = np.diag(squared.T @ Z[:, i] / np.sum(Z[:, i]))
            p[i] = np.mean(Z[:, i])
    return mu, s, p
