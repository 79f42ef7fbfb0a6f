"""Why EM works: the latent variable, the lower bound and its gap, as numbers.

A Gaussian mixture is a model with a hidden label z_n in {1..K} for each
point: p(z_n = k) = pi_k and p(x_n | z_n = k) = N(x_n | mu_k, Sigma_k). For
any distribution q_n(k) over the labels of each point (Bishop PRML §9.4):

    L(theta) = ELBO(q, theta) + KL(q || p(z | x, theta))

    ELBO(q, theta) = sum_n sum_k q_nk [log(pi_k N(x_n | mu_k, Sigma_k)) - log q_nk]
    KL(q || p)     = sum_n sum_k q_nk [log q_nk - log gamma_nk(theta)]

where gamma_nk(theta) = p(z_n = k | x_n, theta) is the posterior (the
E-step's responsibilities). KL >= 0, so the ELBO is a lower bound on L; the
E-step sets q = gamma(theta_t), which makes KL = 0 and the bound tight; the
M-step maximises the ELBO over theta with q held fixed. So

    L(theta_{t+1}) = ELBO(gamma_t, theta_{t+1}) + KL(...)  >=  ELBO(gamma_t, theta_{t+1})
                  >= ELBO(gamma_t, theta_t) = L(theta_t).

The functions here compute each term on real data, so a lesson can check
the argument instead of only stating it. Everything is in log space, with
0 log 0 = 0.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .gaussian import logsumexp_rows, weighted_log_densities

__all__ = [
    "complete_data_log_likelihood",
    "expected_complete_log_likelihood",
    "label_entropy",
    "elbo",
    "kl_to_posterior",
    "BoundTrace",
    "lower_bound_trace",
]


def _check_q(q, n_samples, n_components) -> np.ndarray:
    q = np.asarray(q, dtype=float)
    if q.shape != (n_samples, n_components):
        raise ValueError(
            f"q must have shape (n_samples, n_components) = ({n_samples}, "
            f"{n_components}); got {q.shape}."
        )
    if np.any(q < 0) or not np.allclose(q.sum(axis=1), 1.0, atol=1e-8):
        raise ValueError(
            "q must hold one probability distribution per row: entries >= 0, "
            "each row summing to 1."
        )
    return q


def _q_log_q(q) -> np.ndarray:
    """q log q elementwise, with 0 log 0 = 0 (its limit)."""
    out = np.zeros_like(q)
    positive = q > 0
    out[positive] = q[positive] * np.log(q[positive])
    return out


def complete_data_log_likelihood(X, labels, weights, means, covariances) -> float:
    """log p(X, z | theta) when every label z_n is known.

    log p(X, z | theta) = sum_n log(pi_{z_n} N(x_n | mu_{z_n}, Sigma_{z_n})):
    no sum inside the log, so with known labels the maximum likelihood
    estimate is one Gaussian fit per group.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of int, shape (n_samples,)
        z_n in 0..n_components-1.
    weights : array-like of shape (n_components,)
    means : array-like of shape (n_components, n_features)
    covariances : array-like of shape (n_components, n_features, n_features)

    Returns
    -------
    float
    """
    joint = weighted_log_densities(X, weights, means, covariances)
    labels = np.asarray(labels)
    if labels.shape != (joint.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"labels must be integers of shape ({joint.shape[0]},); got "
            f"{labels.dtype} of shape {labels.shape}."
        )
    return float(joint[np.arange(joint.shape[0]), labels].sum())


def expected_complete_log_likelihood(X, q, weights, means, covariances) -> float:
    """Q = E_q[log p(X, z | theta)] = sum_n sum_k q_nk log(pi_k N(x_n | mu_k, Sigma_k)).

    The quantity the M-step maximises over theta for fixed q = gamma_t
    (Bishop's Q(theta, theta_old)).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    q : array-like of shape (n_samples, n_components)
        A distribution over the labels of each point (rows sum to 1).
    weights, means, covariances
        theta, as in :func:`complete_data_log_likelihood`.

    Returns
    -------
    float
    """
    joint = weighted_log_densities(X, weights, means, covariances)
    q = _check_q(q, *joint.shape)
    # q_nk = 0 contributes 0 even where log(pi_k N) is -inf (pi_k = 0).
    terms = np.where(q > 0, q * joint, 0.0)
    return float(terms.sum())


def label_entropy(q) -> float:
    """H(q) = -sum_n sum_k q_nk log q_nk, with 0 log 0 = 0.

    Parameters
    ----------
    q : array-like of shape (n_samples, n_components)

    Returns
    -------
    float
        >= 0; 0 for hard (one-hot) labels, N log K for uniform ones.
    """
    q = np.asarray(q, dtype=float)
    return float(-_q_log_q(q).sum())


def elbo(X, q, weights, means, covariances) -> float:
    """ELBO(q, theta) = E_q[log p(X, z | theta)] + H(q).

    = sum_n sum_k q_nk [log(pi_k N(x_n | mu_k, Sigma_k)) - log q_nk], a lower
    bound on L(theta) for every q (Jensen's inequality), equal to it when
    q_nk = gamma_nk(theta).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    q : array-like of shape (n_samples, n_components)
    weights, means, covariances
        theta, as in :func:`complete_data_log_likelihood`.

    Returns
    -------
    float
    """
    return expected_complete_log_likelihood(X, q, weights, means, covariances) + label_entropy(q)


def kl_to_posterior(X, q, weights, means, covariances) -> float:
    """KL(q || p(z | X, theta)) = sum_n sum_k q_nk [log q_nk - log gamma_nk(theta)].

    gamma_nk(theta) = p(z_n = k | x_n, theta), computed in log space:
    log gamma_nk = log(pi_k N(x_n | mu_k, Sigma_k)) - log sum_j pi_j N(x_n | mu_j, Sigma_j).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    q : array-like of shape (n_samples, n_components)
    weights, means, covariances
        theta, as in :func:`complete_data_log_likelihood`.

    Returns
    -------
    float
        >= 0 (up to rounding), and 0 exactly when q is the posterior.
    """
    joint = weighted_log_densities(X, weights, means, covariances)
    q = _check_q(q, *joint.shape)
    log_posterior = joint - logsumexp_rows(joint)[:, np.newaxis]
    terms = np.where(q > 0, _q_log_q(q) - q * np.where(q > 0, log_posterior, 0.0), 0.0)
    return float(terms.sum())


class BoundTrace(NamedTuple):
    """The lower-bound bookkeeping of one EM run (see :func:`lower_bound_trace`).

    Attributes
    ----------
    log_likelihood : ndarray of shape (n_states,)
        L(theta_t), t = 0..T.
    elbo : ndarray of shape (n_states - 1,)
        elbo[t - 1] = ELBO(gamma_{t-1}, theta_t): the bound after M-step t,
        before the next E-step.
    kl : ndarray of shape (n_states - 1,)
        kl[t - 1] = KL(gamma_{t-1} || p(z | X, theta_t)): the gap that E-step
        t closes.
    """

    log_likelihood: np.ndarray
    elbo: np.ndarray
    kl: np.ndarray

    @property
    def m_step_gain(self) -> np.ndarray:
        """ELBO(gamma_{t-1}, theta_t) - L(theta_{t-1}), shape (n_states - 1,).

        What M-step t added to the bound; >= 0 when the M-step maximises the
        ELBO (exact EM), because ELBO(gamma_{t-1}, theta_{t-1}) = L(theta_{t-1}).
        """
        return self.elbo - self.log_likelihood[:-1]

    @property
    def e_step_gain(self) -> np.ndarray:
        """L(theta_t) - ELBO(gamma_{t-1}, theta_t) = KL, shape (n_states - 1,)."""
        return self.kl


def lower_bound_trace(history) -> BoundTrace:
    """ELBO and KL after every M-step of a run, from its kept responsibilities.

    For t = 1..T: q = gamma_{t-1} (the E-step at theta_{t-1}) and theta_t (the
    M-step from that q) give ELBO(gamma_{t-1}, theta_t) and
    KL(gamma_{t-1} || p(z | X, theta_t)), whose sum is L(theta_t).

    Parameters
    ----------
    history : gmm_lab.states.History
        A run made with ``keep_responsibilities=True`` (the default).

    Returns
    -------
    BoundTrace
    """
    X = history.X
    elbos, kls = [], []
    for previous, state in zip(history[:-1], history[1:]):
        if previous.responsibilities is None:
            raise ValueError(
                "lower_bound_trace needs the responsibilities of every state: run EM "
                "with keep_responsibilities=True."
            )
        theta = (state.weights, state.means, state.covariances)
        elbos.append(elbo(X, previous.responsibilities, *theta))
        kls.append(kl_to_posterior(X, previous.responsibilities, *theta))
    return BoundTrace(history.log_likelihoods, np.array(elbos), np.array(kls))
