"""The lecture handout's code, kept to show how it fails. Not used by gmm_lab.

The handout (``shared/seed/``) computed the E-step with raw densities and
``pinv`` and then normalised the rows with scikit-learn's
``normalize(Z, axis=1, norm='l1')``; its M-step fitted diagonal covariances.
On formants in Hz this fails in two ways, which lesson 2 runs:

- **Rows too small to normalise.** Densities in Hz are tiny, and recent
  scikit-learn versions (since pull request #19527, 2021) treat a row whose
  sum is below 10 * eps (about 2.2e-15) as zero and return it unchanged,
  without a warning: its "responsibilities" then do not sum to 1. (A row of
  exact zeros stays zeros; ``normalize`` never computes 0/0.) On the
  handout's own data, IY and IH under an IY/IH model, no row is that small;
  applying that two-vowel model to all ten vowels leaves 114 such rows.
- **A component collapsing onto one token.** With K = 6 on IY, one start of
  20 (seed 13 of :func:`handout_random_start`) lets a component shrink onto
  a single token; its variances reach exactly 0, so ``det`` is 0, the
  density ``1 / sqrt((2 pi)^D |det|)`` divides by zero (numpy warns), the
  row of Z holds ``inf``, and ``normalize`` raises ``ValueError: Input
  contains infinity``. This is a singularity of maximum likelihood, not an
  underflow, and working in log space does not prevent it: gmm_lab's EM
  from the same start collapses the same component onto the same token and
  stays finite only because ``reg_covar`` is added to its variances
  (lesson 4).

A third failure is possible but needs a contrived start: a component no
token reaches has a column of Z that underflows to 0, and the M-step divides
sum_n Z_nk = 0 by itself (NaN means, then ``pinv`` of a NaN matrix raises).

:func:`trace_handout_em` runs the loop and records what each iteration did,
so the lesson can show the collapse instead of describing it.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import scipy.linalg
from sklearn.preprocessing import normalize

__all__ = ["handout_get_predictions", "handout_em", "handout_random_start", "trace_handout_em",
           "HandoutTrace"]


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


def _handout_m_step(X, Z, mu, s, p) -> None:
    """The handout's M-step with diagonal covariances, in place (N_k = sum_n Z_nk)."""
    for i in range(mu.shape[0]):
        mu[i, :] = np.matmul(X.T, Z[:, i]) / np.sum(Z[:, i])
        squared = (X - mu[i]) ** 2
        s[i, :, :] = np.diag(squared.T @ Z[:, i] / np.sum(Z[:, i]))
        p[i] = np.mean(Z[:, i])


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
        The parameters after ``n_iter`` iterations.

    Raises
    ------
    ValueError
        From ``normalize`` ("Input contains infinity") when a component has
        collapsed onto one token: its variances reach 0, its density divides
        by det = 0 (numpy warns "divide by zero"), and Z holds ``inf``. Or
        from ``pinv`` ("infs or NaNs") one iteration after a component's
        column of Z summed to 0 and its M-step gave NaN means.
    """
    mu, s, p = np.array(mu, dtype=float), np.array(s, dtype=float), np.array(p, dtype=float)
    for _ in range(n_iter):
        # E-step: raw densities, then rows scaled to sum to 1 (or left alone)
        Z = normalize(handout_get_predictions(mu, s, p, X), axis=1, norm="l1")
        # M-step, with the diagonal covariances the handout fits
        _handout_m_step(X, Z, mu, s, p)
    return mu, s, p


def handout_random_start(X, n_components, seed):
    """The lesson's random start for the handout's EM.

    Means at ``n_components`` distinct random tokens (numpy's
    ``default_rng(seed)``), every covariance the data's diagonal variance
    divided by ``n_components``, equal weights.

    Returns
    -------
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)
    weights : ndarray of shape (n_components,)
    """
    X = np.asarray(X, dtype=float)
    rng = np.random.default_rng(seed)
    means = X[rng.choice(len(X), n_components, replace=False)]
    covariances = np.array([np.diag(X.var(axis=0)) / n_components] * n_components)
    return means, covariances, np.full(n_components, 1.0 / n_components)


class HandoutTrace(NamedTuple):
    """What :func:`trace_handout_em` saw, one row per E-step that finished or failed.

    Attributes
    ----------
    counts : ndarray of shape (n_e_steps, n_components)
        N_k = sum_n Z_nk after ``normalize`` (NaN for an E-step that raised).
    variances : ndarray of shape (n_e_steps, n_components, n_features)
        The diagonal of each s_k that E-step used.
    determinants : ndarray of shape (n_e_steps, n_components)
        det(s_k) as the handout computes it (``scipy.linalg.det``).
    means : ndarray of shape (n_e_steps, n_components, n_features)
    warnings : list of str
        numpy's RuntimeWarnings, as 'E-step t: message'.
    error : Exception or None
        What ended the run early, or None if all ``n_iter`` iterations ran.
    """

    counts: np.ndarray
    variances: np.ndarray
    determinants: np.ndarray
    means: np.ndarray
    warnings: list
    error: Exception | None


def trace_handout_em(X, mu, s, p, n_iter=20) -> HandoutTrace:
    """Run :func:`handout_em` and record every E-step, including the one that fails.

    The same arithmetic as :func:`handout_em`; numpy's warnings are recorded
    (not shown, not raised) and an exception ends the run and is returned,
    not raised.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    mu, s, p : ndarray
        Initial means (K, D), covariances (K, D, D) and weights (K,); copied.
    n_iter : int, default=20

    Returns
    -------
    HandoutTrace
    """
    X = np.asarray(X, dtype=float)
    mu, s, p = np.array(mu, dtype=float), np.array(s, dtype=float), np.array(p, dtype=float)
    counts, variances, determinants, means, messages = [], [], [], [], []
    error = None
    for t in range(n_iter):
        variances.append(np.array([np.diag(s_k) for s_k in s]))
        determinants.append(np.array([scipy.linalg.det(s_k) for s_k in s]))
        means.append(mu.copy())
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            try:
                Z = normalize(handout_get_predictions(mu, s, p, X), axis=1, norm="l1")
            except ValueError as exc:
                error = exc
            messages += [f"E-step {t}: {w.message}" for w in caught
                         if issubclass(w.category, RuntimeWarning)]
        if error is not None:
            counts.append(np.full(len(p), np.nan))
            break
        counts.append(Z.sum(axis=0))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            _handout_m_step(X, Z, mu, s, p)
            messages += [f"M-step {t}: {w.message}" for w in caught
                         if issubclass(w.category, RuntimeWarning)]
    return HandoutTrace(np.array(counts), np.array(variances), np.array(determinants),
                        np.array(means), messages, error)
