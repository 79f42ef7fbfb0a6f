"""gmm_lab.collapse: a component narrowing onto two points, followed to the error."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from gmm_lab import em, run_em
from gmm_lab.collapse import component_trace, peak_log_density, run_until_error

# Every run here collapses on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::gmm_lab.CollapsedComponentWarning")


@pytest.fixture(scope="module")
def two_outliers():
    """A round cloud of 200 points and two outliers, with a start that sits a component on them."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(200, 2)), [[8.0, 8.0], [9.0, 8.5]]])
    start = dict(
        weights_init=[0.95, 0.05],
        means_init=[[0.0, 0.0], [8.5, 8.25]],
        precisions_init=[np.eye(2), np.linalg.inv(np.eye(2) * 2.0)],
    )
    return X, start


def test_peak_log_density_equals_scipy_at_the_mean():
    rng = np.random.default_rng(1)
    for n_features in (1, 2, 3):
        A = rng.normal(size=(n_features, n_features))
        covariance = A @ A.T + 0.1 * np.eye(n_features)
        mean = rng.normal(size=n_features)
        expected = multivariate_normal(mean, covariance).logpdf(mean)
        np.testing.assert_allclose(peak_log_density(covariance), expected, rtol=1e-12)
    stacked = np.array([np.eye(2), 4 * np.eye(2)])
    np.testing.assert_allclose(peak_log_density(stacked), [-np.log(2 * np.pi), -np.log(8 * np.pi)])


def test_peak_log_density_of_a_singular_covariance_is_infinite():
    assert peak_log_density(np.array([[1.0, 1.0], [1.0, 1.0]])) == np.inf


def test_run_until_error_keeps_the_states_before_a_collapse():
    """Two identical outliers: the component on them collapses onto a point, then EM fails."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(200, 2)), [[8.0, 8.0], [8.0, 8.0]]])
    start = dict(weights_init=[0.97, 0.03], means_init=[[0.0, 0.0], [6.0, 6.0]],
                 precisions_init=[np.eye(2), 0.2 * np.eye(2)])
    states, error = run_until_error(X, 2, reg_covar=0.0, tol=0.0, max_iter=100, **start)
    assert isinstance(error, ValueError) and "not positive definite" in str(error)
    assert [state.iteration for state in states] == list(range(len(states)))
    assert f"at iteration {len(states)}" in str(error)
    # The same states as the generator yields, up to the one that failed.
    generator = em(X, 2, reg_covar=0.0, tol=0.0, max_iter=100, **start)
    for ours, reference in zip(states, generator):
        np.testing.assert_array_equal(ours.covariances, reference.covariances)
    trace = component_trace(states, 1)
    assert abs(trace.count[-1] - 2) < 1e-6
    assert trace.variances[-1, 1] < 1e-9 * trace.variances[0, 1]


def test_a_component_on_two_distinct_points_collapses_onto_their_line(two_outliers):
    """Two points need no tie: the covariance becomes (d/2)^2 along their line, 0 across it."""
    X, start = two_outliers
    states, error = run_until_error(X, 2, reg_covar=0.0, tol=0.0, max_iter=30, **start)
    trace = component_trace(states, 1)
    assert abs(trace.count[-1] - 2) < 1e-6
    d = X[-1] - X[-2]
    np.testing.assert_allclose(trace.variances[-1, 1], d @ d / 4, rtol=1e-9)
    assert trace.variances[-1, 0] < 1e-12 * trace.variances[0, 0]
    assert np.all(np.diff(trace.peak_log_density[:3]) > 0)


def test_run_until_error_without_an_error_returns_the_whole_run(two_outliers):
    X, start = two_outliers
    states, error = run_until_error(X, 2, reg_covar=1e-3, **start)
    assert error is None
    reference = run_em(X, 2, reg_covar=1e-3, **start)
    assert len(states) == len(reference)
    np.testing.assert_array_equal(states[-1].means, reference[-1].means)


def test_run_until_error_raises_when_there_is_no_state_at_all():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])  # all on one line
    with pytest.raises(ValueError, match="not positive definite"):
        run_until_error(X, 1, reg_covar=0.0, init_params="kmeans", random_state=0)


def test_component_trace_follows_one_component(two_outliers):
    X, start = two_outliers
    run = run_em(X, 2, reg_covar=1e-3, **start)
    trace = component_trace(run, 0)
    assert trace.iteration.tolist() == list(range(len(run)))
    for t, state in enumerate(run):
        np.testing.assert_allclose(trace.variances[t], np.linalg.eigvalsh(state.covariances[0]))
        assert trace.count[t] == state.component_counts[0]
        assert trace.log_likelihood[t] == state.log_likelihood
    with pytest.raises(ValueError, match="component must be in 0..1"):
        component_trace(run, 2)
    with pytest.raises(ValueError, match="states is empty"):
        component_trace([], 0)
