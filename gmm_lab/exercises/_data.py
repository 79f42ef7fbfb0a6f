"""Inputs shared by several exercises: vowel Gaussians, random Gaussians, far points."""

from __future__ import annotations

import functools

import numpy as np

from ..data import load_vowels

LOG_2PI = np.log(2.0 * np.pi)

# How far the "faraway point" lies from its Gaussian, in standard deviations.
# There log N(x | mu, Sigma) is about -5e11: exp() of it is exactly 0.
FAR_AWAY_STD = 1e6
FAR_AWAY_TEXT = "a million"


@functools.lru_cache(maxsize=None)
def vowel_gaussians():
    """F1/F2 of IY and IH, and each vowel's mean and ML covariance (in Hz).

    Returns
    -------
    X : ndarray of shape (304, 2)
    means : ndarray of shape (2, 2)
    covariances : ndarray of shape (2, 2, 2)
        Divided by the count, not count - 1.
    """
    iy = load_vowels("IY").X
    ih = load_vowels("IH").X
    X = np.vstack([iy, ih])
    means = np.array([iy.mean(axis=0), ih.mean(axis=0)])
    covariances = np.array([np.cov(iy.T, bias=True), np.cov(ih.T, bias=True)])
    for array in (X, means, covariances):
        array.flags.writeable = False
    return X, means, covariances


def random_covariance(rng, n_features):
    """A random well-conditioned covariance: A A^T / D + I, eigenvalues >= 1."""
    factor = rng.normal(size=(n_features, n_features))
    return factor @ factor.T / n_features + np.eye(n_features)


def far_point(mean, covariance):
    """A point FAR_AWAY_STD standard deviations from ``mean`` along the first feature."""
    point = np.array(mean, dtype=float)
    point[0] += FAR_AWAY_STD * np.sqrt(covariance[0, 0])
    return point


def squared_distances(X, mean, matrix, *, invert=True) -> np.ndarray:
    """(x_n - mu)^T M^-1 (x_n - mu) for each point (M itself if invert=False)."""
    centred = X - mean
    if invert:
        solved = np.linalg.solve(matrix, centred.T).T
    else:
        solved = centred @ matrix
    return np.sum(solved * centred, axis=1)


def log_det(matrix) -> float:
    return float(np.linalg.slogdet(matrix)[1])


def log_density_variant(X, mean, covariance, *, constant=None, det_factor=-0.5,
                        exponent_factor=-0.5, quadratic="inverse"):
    """log N(x | mu, Sigma) with one of its terms changed the way a mistake changes it.

    The correct density is constant = -D/2 log 2 pi, det_factor = -1/2,
    exponent_factor = -1/2, quadratic = 'inverse'. The other quadratic forms
    are the Cholesky mistakes, with Sigma = L L^T and d = x - mu:
    'diagonal' (solve_triangular without lower=True reads only the diagonal
    of L: z = d / diag(L)), 'L^T' (solve L^T z = d), 'times L' (z = L d),
    'covariance' (d^T Sigma d, also z = L^T d), 'euclidean' (d^T d).
    """
    n_features = X.shape[1]
    if constant is None:
        constant = -0.5 * n_features * LOG_2PI
    centred = X - mean
    L = np.linalg.cholesky(covariance)
    if quadratic == "inverse":
        distance = squared_distances(X, mean, covariance)
    elif quadratic == "covariance":
        distance = squared_distances(X, mean, covariance, invert=False)
    elif quadratic == "diagonal":
        distance = np.sum((centred / np.diag(L)) ** 2, axis=1)
    elif quadratic == "L^T":
        distance = np.sum(np.linalg.solve(L.T, centred.T) ** 2, axis=0)
    elif quadratic == "times L":
        distance = np.sum((L @ centred.T) ** 2, axis=0)
    else:  # "euclidean": the covariance left out of the quadratic form
        distance = np.sum(centred**2, axis=1)
    return constant + det_factor * log_det(covariance) + exponent_factor * distance
