"""Log densities, responsibilities and get_predictions against scipy and closed forms."""

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from gmm_lab.handout import handout_get_predictions
from gmm_lab import (
    SingularCovarianceError,
    get_predictions,
    log_gaussian_density,
    logsumexp_rows,
    responsibilities,
)


def random_parameters(rng, n_components, n_features):
    means = rng.normal(scale=3.0, size=(n_components, n_features))
    A = rng.normal(size=(n_components, n_features, n_features))
    covariances = A @ A.transpose(0, 2, 1) + 0.5 * np.eye(n_features)
    weights = rng.dirichlet(np.ones(n_components))
    return weights, means, covariances


@pytest.mark.parametrize("n_features, method", [(2, "2d"), (2, "general"), (1, "general"), (4, "general")])
def test_log_density_matches_scipy(n_features, method):
    rng = np.random.default_rng(n_features)
    _, means, covariances = random_parameters(rng, 3, n_features)
    X = rng.normal(scale=4.0, size=(50, n_features))
    expected = np.column_stack(
        [multivariate_normal(m, c).logpdf(X).reshape(-1) for m, c in zip(means, covariances)]
    )
    np.testing.assert_allclose(
        log_gaussian_density(X, means, covariances, method=method), expected, rtol=1e-12
    )


def test_get_predictions_is_the_weighted_density():
    rng = np.random.default_rng(0)
    weights, means, covariances = random_parameters(rng, 3, 2)
    X = rng.normal(scale=2.0, size=(40, 2))
    expected = np.column_stack(
        [w * multivariate_normal(m, c).pdf(X) for w, m, c in zip(weights, means, covariances)]
    )
    np.testing.assert_allclose(get_predictions(means, covariances, weights, X), expected, rtol=1e-12)
    # the handout's version agrees here, where nothing underflows
    np.testing.assert_allclose(handout_get_predictions(means, covariances, weights, X), expected, rtol=1e-9)


def test_logsumexp_rows_matches_scipy_including_extremes():
    a = np.array([[0.0, -1e3, 1.0], [-1e12, -1e12 - 1, -1e12 + 2], [700.0, 710.0, -np.inf]])
    np.testing.assert_allclose(logsumexp_rows(a), logsumexp(a, axis=1), rtol=1e-15)


def test_far_points_stay_finite_where_raw_densities_underflow(vowel_X):
    means = np.array([[300.0, 2300.0], [400.0, 2000.0]])
    covariances = np.array([[[900.0, 0.0], [0.0, 2e4]], [[1600.0, 0.0], [0.0, 2e4]]])
    weights = np.array([0.5, 0.5])
    # 1e6 standard deviations from both components
    far = np.array([[300.0 + 1e6 * 30.0, 2300.0]])
    X = np.vstack([vowel_X, far])
    with np.errstate(all="ignore"):
        raw = handout_get_predictions(means, covariances, weights, X)
        seed_resp = raw / raw.sum(axis=1, keepdims=True)
    assert np.isnan(seed_resp).any(), "the handout's normalisation should divide 0 by 0 here"
    resp = responsibilities(X, weights, means, covariances)
    assert np.all(np.isfinite(resp))
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all((resp >= 0) & (resp <= 1))
    log_density = log_gaussian_density(far, means, covariances)
    assert np.all(np.isfinite(log_density))
    # squared Mahalanobis distance (1e6)^2 for the first component, exactly
    expected = -0.5 * (2 * np.log(2 * np.pi) + 1e12) - 0.5 * np.log(900.0 * 2e4)
    np.testing.assert_allclose(log_density[0, 0], expected, rtol=1e-12)


def test_singular_covariance_names_the_component():
    means = np.zeros((2, 2))
    covariances = np.array([np.eye(2), [[1.0, 1.0], [1.0, 1.0]]])
    for method in ("2d", "general"):
        with pytest.raises(SingularCovarianceError, match="component 1 .*reg_covar"):
            log_gaussian_density(np.zeros((3, 2)), means, covariances, method=method)


@pytest.mark.parametrize(
    "X, message",
    [
        (np.zeros(5), "2-D array"),
        (np.array([[1.0, np.nan]]), "NaN or infinity"),
    ],
)
def test_bad_X_for_densities(X, message):
    with pytest.raises(ValueError, match=message):
        get_predictions(np.zeros((1, 2)), np.eye(2)[None], np.ones(1), X)


def test_wrong_covariance_shape_is_named():
    with pytest.raises(ValueError, match=r"covariances must have shape \(2, 2, 2\)"):
        log_gaussian_density(np.zeros((3, 2)), np.zeros((2, 2)), np.ones((2, 2)))


def test_the_module_docstrings_numbers_for_densities_in_hz():
    """gmm_lab.gaussian's docstring: peak densities 3.9e-6 (AE) to 1.6e-5 (AO)
    per Hz^2, underflow to 0 some 1900 to 12000 Hz away along F1 or F2, and
    normalize leaves small rows unnormalised and zero rows at zero."""
    from sklearn.preprocessing import normalize

    from gmm_lab import load_vowels

    data = load_vowels()
    peaks, distances = {}, []
    for vowel in ("IY", "IH", "EH", "AE", "AH", "AA", "AO", "UH", "UW", "ER"):
        X = data.X[data.vowel == vowel]
        mean, covariance = X.mean(axis=0), np.cov(X.T, bias=True)
        peaks[vowel] = np.exp(log_gaussian_density(mean[None], mean[None], covariance[None])[0, 0])
        for axis in (0, 1):  # furthest point along one axis still above e^-745
            step = np.zeros(2)
            step[axis] = 1.0
            far = mean + step * np.arange(0, 20000, 10.0)[:, None]
            density = np.exp(log_gaussian_density(far, mean[None], covariance[None])[:, 0])
            distances.append(10.0 * np.flatnonzero(density > 0).max())
    assert min(peaks, key=peaks.get) == "AE" and 3.5e-6 < peaks["AE"] < 4.5e-6
    assert max(peaks, key=peaks.get) == "AO" and 1.5e-5 < peaks["AO"] < 1.7e-5
    assert 1800 < min(distances) < 2000 and 11500 < max(distances) < 12500
    eps = np.finfo(float).eps
    rows = normalize(np.array([[9 * eps, 0.0], [0.0, 0.0], [11 * eps, 0.0]]), norm="l1")
    np.testing.assert_array_equal(rows, [[9 * eps, 0.0], [0.0, 0.0], [1.0, 0.0]])
