"""The handout's code fails the way the lesson says it does."""

import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.preprocessing import normalize

from gmm_lab import load_vowels, responsibilities
from gmm_lab.handout import (
    handout_em,
    handout_get_predictions,
    handout_random_start,
    trace_handout_em,
)


def diagonal_gaussians():
    iy, ih = load_vowels("IY").X, load_vowels("IH").X
    means = np.array([iy.mean(axis=0), ih.mean(axis=0)])
    covariances = np.array([np.diag(iy.var(axis=0)), np.diag(ih.var(axis=0))])
    return np.array([0.5, 0.5]), means, covariances


def test_handout_density_is_right_where_nothing_underflows():
    weights, means, covariances = diagonal_gaussians()
    X = load_vowels(["IY", "IH"]).X
    expected = np.column_stack([w * multivariate_normal(m, c).pdf(X) for w, m, c in zip(weights, means, covariances)])
    np.testing.assert_allclose(handout_get_predictions(means, covariances, weights, X), expected, rtol=1e-9)


def test_normalize_leaves_rows_with_tiny_sums_alone():
    """scikit-learn's normalize treats a row sum below 10 eps as zero; on the
    vowels some rows fall below it, and exactly those come back unnormalised."""
    weights, means, covariances = diagonal_gaussians()
    X = load_vowels().X
    Z = handout_get_predictions(means, covariances, weights, X)
    tiny = Z.sum(axis=1) < 10 * np.finfo(float).eps
    unnormalised = ~np.isclose(normalize(Z, axis=1, norm="l1").sum(axis=1), 1.0)
    assert tiny.any()
    np.testing.assert_array_equal(unnormalised, tiny)
    np.testing.assert_allclose(responsibilities(X, weights, means, covariances).sum(axis=1), 1.0)


def test_handout_em_divides_by_zero_when_a_column_underflows():
    iy = load_vowels("IY").X
    far = iy.mean(axis=0) + 1e4  # a component no token can reach
    means = np.vstack([iy[:2], far])
    covariances = np.array([np.diag(iy.var(axis=0))] * 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mu, _, _ = handout_em(iy, means, covariances, np.ones(3) / 3, n_iter=1)
        assert np.all(np.isnan(mu[2])) and np.all(np.isfinite(mu[:2]))
        # and the next iteration's pinv of a NaN covariance crashes
        with pytest.raises(ValueError, match="infs or NaNs"):
            handout_em(iy, means, covariances, np.ones(3) / 3, n_iter=2)


def test_normalize_keeps_an_all_zero_row_at_zero():
    """No 0/0: scikit-learn's normalize returns a zero row unchanged."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and says nothing about it
        out = normalize(np.array([[0.0, 0.0], [1.0, 3.0]]), axis=1, norm="l1")
    np.testing.assert_array_equal(out, [[0.0, 0.0], [0.25, 0.75]])


def test_on_the_handouts_own_data_every_row_normalises():
    weights, means, covariances = diagonal_gaussians()
    Z = handout_get_predictions(means, covariances, weights, load_vowels(["IY", "IH"]).X)
    assert Z.sum(axis=1).min() > 1e4 * 10 * np.finfo(float).eps  # about 2.6e-10


def test_random_start_is_the_lessons_start():
    iy = load_vowels("IY").X
    means, covariances, weights = handout_random_start(iy, 6, seed=13)
    rng = np.random.default_rng(13)
    np.testing.assert_array_equal(means, iy[rng.choice(len(iy), 6, replace=False)])
    np.testing.assert_allclose(covariances[3], np.diag(iy.var(axis=0)) / 6)
    np.testing.assert_allclose(weights, np.full(6, 1 / 6))


def test_the_k6_failure_is_a_collapse_onto_one_token():
    iy = load_vowels("IY").X
    start = handout_random_start(iy, 6, seed=13)
    trace = trace_handout_em(iy, *start)
    # The run ends with normalize refusing an infinite row, as handout_em does.
    assert isinstance(trace.error, ValueError) and "infinity" in str(trace.error)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError, match="infinity"):
            handout_em(iy, *start)
    # Component 0 holds one token's worth of responsibility, on one token ...
    np.testing.assert_allclose(trace.counts[-3:-1, 0], 1.0, atol=1e-6)
    token = trace.means[-1, 0]
    assert np.sum(np.all(iy == token, axis=1)) == 1
    # ... its variances shrink to exactly 0, so det = 0 and the density divides by it.
    assert np.all(trace.variances[-1, 0] == 0.0) and trace.determinants[-1, 0] == 0.0
    assert np.all(trace.determinants[-1, 1:] > 1e6)  # the others are healthy
    (warning,) = trace.warnings
    assert warning.startswith(f"E-step {len(trace.counts) - 1}: divide by zero")
