"""Following a collapsing component: the run up to its failure, and its density spike.

A component whose responsibility concentrates on a few tokens that lie on a
point or a line (in 2-D, any two tokens do) gets a covariance whose smallest
eigenvalue goes to 0. Its determinant goes to 0, the height of its density
at its mean,

    N(mu_k | mu_k, Sigma_k) = (2 pi)^(-D/2) |Sigma_k|^(-1/2),

grows without bound, and so does the log-likelihood: the singularity of
maximum likelihood for mixtures (Bishop, PRML section 9.2.1, Fig. 9.7). With
``reg_covar = 0`` the covariance stops having a Cholesky factor and EM stops
with an error; these functions keep the states it reached on the way.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._em import em

__all__ = ["run_until_error", "ComponentTrace", "component_trace", "peak_log_density"]


def run_until_error(X, n_components, **options) -> tuple:
    """Run :func:`gmm_lab.em` and keep the states it yields before it fails.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : int
    **options
        Passed to :func:`gmm_lab.em` (``init_params``, ``random_state``,
        ``reg_covar``, ``tol``, ...).

    Returns
    -------
    states : list of EMState
        States 0, 1, ... that EM reached (all of them when it did not fail).
    error : ValueError or None
        The error that stopped EM (a covariance without a Cholesky factor),
        or None when the run ended normally.
    """
    states = []
    try:
        for state in em(X, n_components, **options):
            states.append(state)
    except ValueError as error:
        if not states:
            raise
        return states, error
    return states, None


def peak_log_density(covariances) -> np.ndarray:
    """log N(mu | mu, Sigma): the log of a Gaussian's density at its mean.

    log N(mu | mu, Sigma) = -(D/2) log(2 pi) - (1/2) log |Sigma|, computed
    from the eigenvalues of Sigma (so a nearly singular Sigma gives a large
    finite value, an exactly singular one +inf).

    Parameters
    ----------
    covariances : array-like of shape (n_features, n_features) or (n_components, n_features, n_features)

    Returns
    -------
    float or ndarray of shape (n_components,)
        In log units of 1 / (the data's unit)^D, e.g. log(1/Hz^2).
    """
    covariances = np.asarray(covariances, dtype=float)
    n_features = covariances.shape[-1]
    eigenvalues = np.linalg.eigvalsh(covariances)
    with np.errstate(divide="ignore"):
        log_det = np.log(np.clip(eigenvalues, 0.0, None)).sum(axis=-1)
    return -0.5 * n_features * np.log(2.0 * np.pi) - 0.5 * log_det


class ComponentTrace(NamedTuple):
    """One component followed through a run, one entry per state.

    Attributes
    ----------
    iteration : ndarray of shape (n_states,)
    count : ndarray of shape (n_states,)
        N_k = sum_n gamma_nk, the points' worth of responsibility it holds.
    variances : ndarray of shape (n_states, n_features)
        Eigenvalues of Sigma_k, ascending (column 0 is the smallest variance).
    peak_log_density : ndarray of shape (n_states,)
        log N(mu_k | mu_k, Sigma_k), see :func:`peak_log_density`.
    log_likelihood : ndarray of shape (n_states,)
        L(theta_t) of the whole mixture.
    """

    iteration: np.ndarray
    count: np.ndarray
    variances: np.ndarray
    peak_log_density: np.ndarray
    log_likelihood: np.ndarray


def component_trace(states, component: int) -> ComponentTrace:
    """Follow component ``component`` through a sequence of EM states.

    Parameters
    ----------
    states : sequence of EMState
        A run, e.g. from :func:`run_until_error` or :func:`gmm_lab.run_em`.
    component : int
        k, the component to follow.

    Returns
    -------
    ComponentTrace
    """
    states = list(states)
    if not states:
        raise ValueError("states is empty: pass the states of a run (at least state 0).")
    n_components = states[0].n_components
    if not 0 <= component < n_components:
        raise ValueError(f"component must be in 0..{n_components - 1}; got {component}.")
    covariances = np.array([state.covariances[component] for state in states])
    return ComponentTrace(
        iteration=np.array([state.iteration for state in states]),
        count=np.array([state.component_counts[component] for state in states]),
        variances=np.linalg.eigvalsh(covariances),
        peak_log_density=peak_log_density(covariances),
        log_likelihood=np.array([state.log_likelihood for state in states]),
    )
