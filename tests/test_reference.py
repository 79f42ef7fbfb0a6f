"""The readable reference EM (gmm_lab.reference) is the oracle for the fast engine.

The reference computes one component at a time with scipy's Cholesky factor
and triangular solve, sums each covariance about its own mean, and keeps
no buffers: it shares no arithmetic with the engine beyond numpy itself.
It is checked here against closed forms and scipy; then every state of
:func:`gmm_lab.em` is held to it.
"""

import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from gmm_lab import CollapsedComponentWarning, SingularCovarianceError, em
from gmm_lab.reference import e_step, log_gaussian, log_likelihood, m_step, reference_em

COVARIANCE_TYPES = ["full", "diag", "spherical", "tied"]
RTOL = 1e-10


# ---------------------------------------------------------------------------
# the reference against independent references


def test_log_gaussian_matches_scipy():
    rng = np.random.default_rng(0)
    for n_features in (1, 2, 4):
        A = rng.normal(size=(n_features, n_features))
        covariance = A @ A.T + 0.5 * np.eye(n_features)
        mean = rng.normal(size=n_features)
        X = rng.normal(scale=3.0, size=(30, n_features))
        expected = multivariate_normal(mean, covariance).logpdf(X).reshape(-1)
        np.testing.assert_allclose(log_gaussian(X, mean, covariance), expected, rtol=1e-12)


def test_e_step_is_bayes_rule_and_the_log_likelihood_its_normaliser():
    rng = np.random.default_rng(1)
    weights = np.array([0.2, 0.5, 0.3])
    means = rng.normal(scale=3.0, size=(3, 2))
    covariances = np.array([np.eye(2), [[2.0, 0.5], [0.5, 1.0]], 0.3 * np.eye(2)])
    X = rng.normal(scale=3.0, size=(40, 2))
    joint = np.column_stack([w * multivariate_normal(m, c).pdf(X)
                             for w, m, c in zip(weights, means, covariances)])
    gamma, L = e_step(X, weights, means, covariances)
    np.testing.assert_allclose(gamma, joint / joint.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(L, np.log(joint.sum(axis=1)).sum(), rtol=1e-12)
    assert log_likelihood(X, weights, means, covariances) == L


def test_m_step_is_the_weighted_mean_and_covariance():
    """Against numpy's weighted average and np.cov(aweights=...), for every type."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 3)) @ rng.normal(size=(3, 3)) + 10.0
    gamma = rng.dirichlet(np.ones(2), size=50)
    counts = gamma.sum(axis=0)
    full = np.array([np.cov(X.T, aweights=gamma[:, k], bias=True) for k in range(2)])
    means = np.array([np.average(X, axis=0, weights=gamma[:, k]) for k in range(2)])
    expected = {
        "full": full,
        "diag": np.array([np.diag(np.diag(c)) for c in full]),
        "spherical": np.array([np.trace(c) / 3 * np.eye(3) for c in full]),
        "tied": np.array(2 * [np.tensordot(counts, full, axes=1) / counts.sum()]),
    }
    for covariance_type, covariances in expected.items():
        weights, mu, sigma = m_step(X, gamma, covariance_type, reg_covar=0.5)
        np.testing.assert_allclose(weights, counts / 50, rtol=1e-14)
        np.testing.assert_allclose(mu, means, rtol=1e-13)
        np.testing.assert_allclose(sigma, covariances + 0.5 * np.eye(3), rtol=1e-12)


def test_a_singular_covariance_is_named():
    with pytest.raises(SingularCovarianceError, match="component 1 .*reg_covar"):
        e_step(np.zeros((3, 2)), [0.5, 0.5], np.zeros((2, 2)), np.array([np.eye(2), np.ones((2, 2))]))


# ---------------------------------------------------------------------------
# the oracle: every state of the fast engine equals the reference's


def _explicit_start(X, n_components, seed):
    """Means on data points, unequal weights, each covariance the data's / K (full matrices)."""
    rng = np.random.default_rng(seed)
    means = X[rng.choice(X.shape[0], n_components, replace=False)]
    weights = rng.dirichlet(5 * np.ones(n_components))
    covariances = np.array(n_components * [np.cov(X.T, bias=True) / n_components])
    return weights, means, covariances


def _precisions(covariances, covariance_type):
    """scikit-learn's per-type precisions_init for the full covariances of _explicit_start."""
    if covariance_type in ("full", "tied"):
        # precisions_init is Sigma^{-1} by definition (em() turns it back by Cholesky)
        precisions = np.linalg.solve(covariances, np.broadcast_to(np.eye(covariances.shape[1]), covariances.shape))
        return precisions[0] if covariance_type == "tied" else precisions
    variances = np.diagonal(covariances, axis1=1, axis2=2)
    return 1.0 / (variances if covariance_type == "diag" else variances.mean(axis=1))


def assert_same_states(states, reference):
    assert len(states) == len(reference), f"{len(states)} states against the reference's {len(reference)}"
    for state, ((weights, means, covariances), gamma, L) in zip(states, reference):
        where = f"state {state.iteration}"
        np.testing.assert_allclose(state.weights, weights, rtol=RTOL, err_msg=where)
        np.testing.assert_allclose(state.means, means, rtol=RTOL, err_msg=where)
        np.testing.assert_allclose(state.covariances, covariances, rtol=RTOL,
                                   atol=RTOL * np.abs(covariances).max(), err_msg=where)
        np.testing.assert_allclose(state.log_likelihood, L, rtol=RTOL, err_msg=where)
        np.testing.assert_allclose(state.responsibilities, gamma, rtol=RTOL, atol=1e-13, err_msg=where)


CASES = [("vowels", "2d"), ("vowels", "general"), ("3d", "auto")]


@pytest.mark.parametrize("data, engine", CASES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_engine_equals_the_reference_from_an_explicit_start(vowel_X, synthetic_3d, data, engine,
                                                             covariance_type):
    """2-D closed form, 2-D general path, 3-D data: run to convergence, every state."""
    X = vowel_X if data == "vowels" else synthetic_3d
    n_components = 4 if data == "vowels" else 3
    weights, means, covariances = _explicit_start(X, n_components, seed=3)
    if covariance_type in ("diag", "spherical"):  # a start of the type's own shape
        variances = np.diagonal(covariances, axis1=1, axis2=2)
        if covariance_type == "spherical":
            variances = variances.mean(axis=1, keepdims=True).repeat(X.shape[1], axis=1)
        covariances = variances[:, :, None] * np.eye(X.shape[1])
    states = list(em(X, n_components, covariance_type=covariance_type, engine=engine,
                     weights_init=weights, means_init=means,
                     precisions_init=_precisions(covariances, covariance_type)))
    start = states[0]  # the same theta_0 to the last digit
    reference = list(reference_em(X, start.weights, start.means, start.covariances,
                                  covariance_type=covariance_type))
    assert len(states) > 3
    assert_same_states(states, reference)


@pytest.mark.parametrize("data, engine", CASES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_engine_equals_the_reference_from_seed_points(vowel_X, synthetic_3d, data, engine,
                                                      covariance_type):
    """k-means++ seeds: every component starts at reg_covar I on one point, a
    harsh first E-step (log densities of -1e12); 15 iterations, tol=0."""
    X = vowel_X if data == "vowels" else synthetic_3d
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollapsedComponentWarning)
        states = list(em(X, 3, covariance_type=covariance_type, engine=engine, init_params="k-means++",
                         random_state=0, max_iter=15, tol=0))
    start = states[0]
    reference = list(reference_em(X, start.weights, start.means, start.covariances,
                                  covariance_type=covariance_type, max_iter=15, tol=0))
    assert_same_states(states, reference)
