"""Geometry of n-sigma ellipses: numbers only, no drawing.

The n-sigma ellipse of a 2-D Gaussian N(mu, Sigma) is the contour at
Mahalanobis distance n_std from the mean,

    (x - mu)^T Sigma^{-1} (x - mu) = n_std^2.

With the eigen-decomposition Sigma = V diag(lambda) V^T its semi-axes point
along the eigenvectors and have lengths n_std * sqrt(lambda). The functions
here turn a covariance into those numbers (the width, height and angle that
``matplotlib.patches.Ellipse`` wants) and into points on the boundary;
:mod:`gmm_lab.plotting` does the drawing.

How much probability is inside? In 2-D the squared Mahalanobis distance is
chi-square with 2 degrees of freedom, so the n-sigma ellipse holds
1 - exp(-n_std^2 / 2) of the mass: 39.3 % at 1 sigma, 86.5 % at 2 sigma,
98.9 % at 3 sigma. (The familiar 68-95-99.7 rule is for one dimension.)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats

__all__ = [
    "EllipseGeometry",
    "ellipse_geometry",
    "ellipse_boundary",
    "mass_within",
]


class EllipseGeometry(NamedTuple):
    """Width, height and angle of n-sigma ellipses, as matplotlib's Ellipse takes them.

    Attributes
    ----------
    width : float or ndarray of shape (n_components,)
        Full length of the major axis, 2 * n_std * sqrt(largest eigenvalue).
    height : float or ndarray of shape (n_components,)
        Full length of the minor axis, 2 * n_std * sqrt(smallest eigenvalue).
    angle : float or ndarray of shape (n_components,)
        Degrees, anticlockwise from the x-axis to the major axis, in [0, 180).
    """

    width: float | np.ndarray
    height: float | np.ndarray
    angle: float | np.ndarray


def _check_covariances(covariances) -> np.ndarray:
    covariances = np.asarray(covariances, dtype=float)
    if covariances.ndim < 2 or covariances.shape[-2:] != (2, 2):
        raise ValueError(
            "covariances must be of shape (2, 2) or (n_components, 2, 2); "
            f"got shape {covariances.shape}. For data with more features, pass "
            "the 2x2 block of the two features you plot, e.g. "
            "covariances[:, [0, 1]][:, :, [0, 1]]."
        )
    return covariances


def _check_n_std(n_std) -> float:
    n_std = float(n_std)
    if not n_std > 0:
        raise ValueError(f"n_std must be a positive number of standard deviations; got {n_std}.")
    return n_std


def _principal_axes(covariances: np.ndarray):
    """Eigenvalues (largest first) and eigenvectors (as columns) of 2x2 covariances."""
    # eigh returns eigenvalues in ascending order, so the last column is the
    # major axis. Rounding can make a flat covariance's small eigenvalue a
    # tiny negative number; its square root would be NaN, so clip at 0.
    eigenvalues, eigenvectors = np.linalg.eigh(covariances)
    eigenvalues = np.clip(eigenvalues[..., ::-1], 0.0, None)
    eigenvectors = eigenvectors[..., ::-1]
    return eigenvalues, eigenvectors


def ellipse_geometry(covariances, n_std: float = 2.0) -> EllipseGeometry:
    """Width, height and angle of the n-sigma ellipse of each covariance.

    Parameters
    ----------
    covariances : array-like of shape (2, 2) or (n_components, 2, 2)
        Symmetric positive semi-definite covariance matrices Sigma_k.
    n_std : float, default=2.0
        Mahalanobis radius of the contour. A 2-sigma ellipse holds
        1 - exp(-2), about 86.5 %, of a 2-D Gaussian's mass.

    Returns
    -------
    EllipseGeometry
        ``width`` and ``height`` (full axis lengths, not semi-axes) and
        ``angle`` in degrees; floats for one covariance, arrays of shape
        (n_components,) for a stack.

    Examples
    --------
    >>> ellipse_geometry([[9.0, 0.0], [0.0, 1.0]], n_std=2.0)
    EllipseGeometry(width=12.0, height=4.0, angle=0.0)
    """
    covariances = _check_covariances(covariances)
    n_std = _check_n_std(n_std)
    eigenvalues, eigenvectors = _principal_axes(covariances)
    # semi-axis_i = n_std * sqrt(lambda_i); matplotlib wants full lengths.
    width = 2.0 * n_std * np.sqrt(eigenvalues[..., 0])
    height = 2.0 * n_std * np.sqrt(eigenvalues[..., 1])
    # The major axis is the first eigenvector (v_x, v_y); its direction is
    # defined only up to sign, so fold the angle into [0, 180).
    major_x = eigenvectors[..., 0, 0]
    major_y = eigenvectors[..., 1, 0]
    angle = np.degrees(np.arctan2(major_y, major_x)) % 180.0
    # A 180.0 from rounding (e.g. -1e-15 % 180) is the same as 0.0.
    angle = np.where(np.isclose(angle, 180.0), 0.0, angle)
    if covariances.ndim == 2:
        return EllipseGeometry(float(width), float(height), float(angle))
    return EllipseGeometry(width, height, angle)


def ellipse_boundary(mean, covariance, n_std: float = 2.0, n_points: int = 100) -> np.ndarray:
    """Points on the n-sigma ellipse of N(mean, covariance).

    Parameters
    ----------
    mean : array-like of shape (2,)
        Centre mu of the ellipse.
    covariance : array-like of shape (2, 2)
        Covariance Sigma.
    n_std : float, default=2.0
        Mahalanobis radius: every returned x has
        (x - mu)^T Sigma^{-1} (x - mu) = n_std^2.
    n_points : int, default=100
        How many points, evenly spaced in the angle parameter. The last
        point is not a repeat of the first.

    Returns
    -------
    ndarray of shape (n_points, 2)
        The boundary points, anticlockwise.
    """
    mean = np.asarray(mean, dtype=float)
    covariance = _check_covariances(covariance)
    if covariance.ndim != 2 or mean.shape != (2,):
        raise ValueError(
            "ellipse_boundary draws one ellipse: mean must be of shape (2,) and "
            f"covariance of shape (2, 2); got {mean.shape} and {covariance.shape}."
        )
    n_std = _check_n_std(n_std)
    eigenvalues, eigenvectors = _principal_axes(covariance)
    theta = np.linspace(0.0, 2.0 * np.pi, n_points, endpoint=False)
    unit_circle = np.stack([np.cos(theta), np.sin(theta)])  # (2, n_points)
    # x = mu + n_std * V diag(sqrt(lambda)) u maps the unit circle u onto the
    # contour: (x - mu)^T Sigma^{-1} (x - mu) = n_std^2 u^T u = n_std^2.
    scale = eigenvectors * np.sqrt(eigenvalues)
    return mean + n_std * (scale @ unit_circle).T


def mass_within(n_std: float, n_features: int = 2) -> float:
    """Probability that a Gaussian sample falls inside its n-sigma ellipse(oid).

    The squared Mahalanobis distance of a sample is chi-square distributed
    with ``n_features`` degrees of freedom, so this is the chi-square CDF at
    n_std^2. In 2-D it is exactly 1 - exp(-n_std^2 / 2).

    Parameters
    ----------
    n_std : float
        Mahalanobis radius of the contour.
    n_features : int, default=2
        Dimension of the Gaussian.

    Returns
    -------
    float

    Examples
    --------
    >>> round(mass_within(2.0), 3)
    0.865
    >>> round(mass_within(1.0, n_features=1), 3)
    0.683
    """
    n_std = _check_n_std(n_std)
    return float(stats.chi2.cdf(n_std**2, df=n_features))
