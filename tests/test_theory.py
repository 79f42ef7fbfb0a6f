"""The lower-bound maths of gmm_lab.theory against independent computations."""

import numpy as np
import pytest
from scipy.special import logsumexp, rel_entr
from scipy.stats import multivariate_normal

from gmm_lab import run_em
from gmm_lab.theory import (
    complete_data_log_likelihood,
    elbo,
    expected_complete_log_likelihood,
    kl_to_posterior,
    label_entropy,
    lower_bound_trace,
)


@pytest.fixture(scope="module")
def theta():
    """A three-component mixture in 2-D, its points, and a random q."""
    rng = np.random.default_rng(3)
    weights = np.array([0.5, 0.3, 0.2])
    means = np.array([[0.0, 0.0], [3.0, 1.0], [-2.0, 4.0]])
    covariances = np.array([[[1.0, 0.3], [0.3, 0.5]], [[2.0, -0.8], [-0.8, 1.0]], [[0.4, 0.0], [0.0, 0.9]]])
    X = rng.normal(size=(40, 2)) * 2.0
    q = rng.dirichlet(np.ones(3), size=40)
    return X, q, weights, means, covariances


def scipy_joint(X, weights, means, covariances):
    """log(pi_k N(x_n | mu_k, Sigma_k)) with scipy.stats, column by column."""
    return np.column_stack([
        np.log(w) + multivariate_normal(m, c).logpdf(X) for w, m, c in zip(weights, means, covariances)
    ])


def test_elbo_matches_a_direct_sum(theta):
    X, q, *params = theta
    joint = scipy_joint(X, *params)
    expected = np.sum(q * (joint - np.log(q)))
    assert elbo(X, q, *params) == pytest.approx(expected, rel=1e-12)
    assert expected_complete_log_likelihood(X, q, *params) == pytest.approx(np.sum(q * joint), rel=1e-12)


def test_elbo_plus_kl_is_the_log_likelihood_for_any_q(theta):
    X, q, *params = theta
    log_likelihood = logsumexp(scipy_joint(X, *params), axis=1).sum()
    assert elbo(X, q, *params) + kl_to_posterior(X, q, *params) == pytest.approx(log_likelihood, rel=1e-12)
    # Jensen: the ELBO is below L for a q that is not the posterior.
    assert elbo(X, q, *params) < log_likelihood


def test_kl_matches_scipy_rel_entr(theta):
    X, q, *params = theta
    joint = scipy_joint(X, *params)
    posterior = np.exp(joint - logsumexp(joint, axis=1, keepdims=True))
    assert kl_to_posterior(X, q, *params) == pytest.approx(rel_entr(q, posterior).sum(), rel=1e-10)


def test_kl_is_zero_and_the_bound_tight_at_the_posterior(theta):
    X, _, *params = theta
    joint = scipy_joint(X, *params)
    posterior = np.exp(joint - logsumexp(joint, axis=1, keepdims=True))
    assert abs(kl_to_posterior(X, posterior, *params)) < 1e-12
    assert elbo(X, posterior, *params) == pytest.approx(logsumexp(joint, axis=1).sum(), abs=1e-10)


def test_hard_labels_give_the_complete_data_log_likelihood(theta):
    X, _, *params = theta
    labels = np.arange(X.shape[0]) % 3
    one_hot = np.eye(3)[labels]
    expected = scipy_joint(X, *params)[np.arange(X.shape[0]), labels].sum()
    assert complete_data_log_likelihood(X, labels, *params) == pytest.approx(expected, rel=1e-12)
    # A one-hot q has no entropy, so the ELBO is the complete-data log-likelihood.
    assert label_entropy(one_hot) == 0.0
    assert elbo(X, one_hot, *params) == pytest.approx(expected, rel=1e-12)


def test_entropy_closed_forms():
    assert label_entropy(np.full((5, 4), 0.25)) == pytest.approx(5 * np.log(4))
    assert label_entropy(np.array([[1.0, 0.0], [0.5, 0.5]])) == pytest.approx(np.log(2))


def test_q_is_checked(theta):
    X, q, *params = theta
    with pytest.raises(ValueError, match="shape"):
        elbo(X, q[:, :2], *params)
    with pytest.raises(ValueError, match="summing to 1"):
        kl_to_posterior(X, 2 * q, *params)


def test_trace_of_exact_em_is_tight_and_monotone(iy_ih_X):
    history = run_em(iy_ih_X, 2, init_params="random", random_state=0, tol=1e-6, max_iter=500)
    trace = lower_bound_trace(history)
    L = trace.log_likelihood
    assert np.allclose(trace.elbo + trace.kl, L[1:], rtol=0, atol=1e-8)
    assert trace.kl.min() > -1e-9
    # Exact M-step: the bound rises from L(theta_{t-1}) (tight there) ...
    assert trace.m_step_gain.min() > -1e-8
    # ... so L never falls.
    assert np.diff(L).min() > -1e-8


def test_trace_with_a_large_reg_covar_has_a_falling_m_step(iy_ih_X):
    history = run_em(iy_ih_X, 2, init_params="random_from_data", random_state=27, reg_covar=400.0, tol=1e-6,
                     max_iter=500)
    trace = lower_bound_trace(history)
    fall = np.argmin(np.diff(trace.log_likelihood))
    assert np.diff(trace.log_likelihood)[fall] < -0.04
    assert trace.m_step_gain[fall] < 0
