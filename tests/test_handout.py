"""The handout's code fails the way the lesson says it does."""

import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.preprocessing import normalize

from gmm_lab import load_vowels, responsibilities
from gmm_lab.handout import handout_em, handout_get_predictions


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
