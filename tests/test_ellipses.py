"""n-sigma ellipse geometry against closed forms and independent computations."""


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.patches import Ellipse

from gmm_lab.ellipses import ellipse_boundary, ellipse_geometry, mass_within


def rotation(degrees):
    theta = np.radians(degrees)
    return np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])


def rotated_covariance(major_variance, minor_variance, degrees):
    """Sigma = R diag(major, minor) R^T: its major axis is at ``degrees``."""
    R = rotation(degrees)
    return R @ np.diag([major_variance, minor_variance]) @ R.T


def mahalanobis(points, mean, covariance):
    """sqrt((x - mu)^T Sigma^{-1} (x - mu)) by a linear solve, row by row."""
    centred = np.asarray(points) - mean
    solved = np.linalg.solve(covariance, centred.T).T
    return np.sqrt(np.sum(centred * solved, axis=1))


def eigenvalues_2x2(covariance):
    """Closed form for a symmetric 2x2 matrix [[a, b], [b, c]], largest first."""
    a, b, c = covariance[0, 0], covariance[0, 1], covariance[1, 1]
    centre = (a + c) / 2
    radius = np.hypot((a - c) / 2, b)
    return centre + radius, centre - radius


# ---------------------------------------------------------------------------
# closed forms


def test_axis_aligned_two_sigma_ellipse():
    # Variances 9 and 1: standard deviations 3 and 1, so at 2 sigma the
    # semi-axes are 6 and 2, the full axes 12 and 4, along x.
    width, height, angle = ellipse_geometry(np.diag([9.0, 1.0]), n_std=2.0)
    assert width == pytest.approx(12.0)
    assert height == pytest.approx(4.0)
    assert angle == pytest.approx(0.0, abs=1e-9)


def test_major_axis_along_y_has_angle_90():
    width, height, angle = ellipse_geometry(np.diag([1.0, 4.0]), n_std=2.0)
    assert width == pytest.approx(8.0)  # 2 * 2 * sqrt(4)
    assert height == pytest.approx(4.0)  # 2 * 2 * sqrt(1)
    assert angle == pytest.approx(90.0)


@pytest.mark.parametrize("degrees", [30.0, 60.0, 120.0, 150.0])
def test_rotated_two_sigma_ellipse(degrees):
    covariance = rotated_covariance(16.0, 4.0, degrees)
    width, height, angle = ellipse_geometry(covariance, n_std=2.0)
    assert width == pytest.approx(2 * 2 * 4.0)
    assert height == pytest.approx(2 * 2 * 2.0)
    assert angle == pytest.approx(degrees)


def test_negative_correlation_tilts_the_other_way():
    # -30 degrees is the same axis as 150 degrees; angles are in [0, 180).
    width, height, angle = ellipse_geometry(rotated_covariance(16.0, 4.0, -30.0))
    assert angle == pytest.approx(150.0)


def test_stack_of_covariances_gives_arrays():
    covariances = np.array([np.diag([9.0, 1.0]), rotated_covariance(16.0, 4.0, 30.0)])
    width, height, angle = ellipse_geometry(covariances, n_std=1.0)
    np.testing.assert_allclose(width, [6.0, 8.0])
    np.testing.assert_allclose(height, [2.0, 4.0])
    np.testing.assert_allclose(angle, [0.0, 30.0], atol=1e-9)


def test_n_std_scales_the_axes_linearly():
    covariance = rotated_covariance(5.0, 2.0, 40.0)
    one = ellipse_geometry(covariance, n_std=1.0)
    three = ellipse_geometry(covariance, n_std=3.0)
    assert three.width == pytest.approx(3 * one.width)
    assert three.height == pytest.approx(3 * one.height)
    assert three.angle == pytest.approx(one.angle)


def test_handout_scaling_is_a_sqrt2_sigma_ellipse():
    # The handout drew plot_gaussians(ax, 2*s, mu): doubling Sigma is the
    # same as a sqrt(2)-sigma ellipse of Sigma, not a 2-sigma one.
    covariance = rotated_covariance(9.0, 1.0, 25.0)
    handout = ellipse_geometry(2 * covariance, n_std=1.0)
    sqrt2 = ellipse_geometry(covariance, n_std=np.sqrt(2.0))
    assert handout.width == pytest.approx(sqrt2.width)
    assert handout.height == pytest.approx(sqrt2.height)
    assert ellipse_geometry(covariance, n_std=2.0).width > handout.width


# ---------------------------------------------------------------------------
# boundary points


def test_boundary_points_are_at_mahalanobis_distance_two():
    mean = np.array([500.0, 1500.0])
    covariance = rotated_covariance(90_000.0, 4_000.0, 70.0)
    points = ellipse_boundary(mean, covariance, n_std=2.0, n_points=200)
    assert points.shape == (200, 2)
    np.testing.assert_allclose(mahalanobis(points, mean, covariance), 2.0, rtol=1e-10)


def test_boundary_reaches_the_closed_form_semi_axes():
    mean = np.array([1.0, -2.0])
    covariance = np.array([[5.0, 2.0], [2.0, 3.0]])
    points = ellipse_boundary(mean, covariance, n_std=2.0, n_points=3600)
    distances = np.linalg.norm(points - mean, axis=1)
    major, minor = eigenvalues_2x2(covariance)
    assert distances.max() == pytest.approx(2 * np.sqrt(major), rel=1e-5)
    assert distances.min() == pytest.approx(2 * np.sqrt(minor), rel=1e-5)
    np.testing.assert_allclose(points.mean(axis=0), mean, atol=1e-9)


def test_matplotlib_draws_the_geometry_on_the_two_sigma_contour():
    # Build the patch the way plotting does and map the unit circle through
    # matplotlib's own patch transform: this checks that matplotlib reads
    # width, height and angle (degrees, anticlockwise) as we meant them.
    mean = np.array([400.0, 2200.0])
    covariance = rotated_covariance(60_000.0, 3_000.0, 115.0)
    width, height, angle = ellipse_geometry(covariance, n_std=2.0)
    patch = Ellipse(xy=mean, width=width, height=height, angle=angle)
    theta = np.linspace(0, 2 * np.pi, 50, endpoint=False)
    unit_circle = np.column_stack([np.cos(theta), np.sin(theta)])
    outline = patch.get_patch_transform().transform(unit_circle)
    np.testing.assert_allclose(mahalanobis(outline, mean, covariance), 2.0, rtol=1e-9)


def test_flat_covariance_gives_zero_height_not_nan():
    covariance = np.array([[4.0, 4.0], [4.0, 4.0]])  # all mass on the line y = x
    width, height, angle = ellipse_geometry(covariance)
    assert np.isfinite([width, height, angle]).all()
    assert height == pytest.approx(0.0, abs=1e-6)
    assert width == pytest.approx(2 * 2 * np.sqrt(8.0))
    assert angle == pytest.approx(45.0)


# ---------------------------------------------------------------------------
# probability mass


def test_two_sigma_ellipse_holds_865_percent_in_2d():
    assert mass_within(2.0) == pytest.approx(1 - np.exp(-2.0))
    assert mass_within(2.0) == pytest.approx(0.8647, abs=1e-4)
    assert mass_within(1.0, n_features=1) == pytest.approx(0.6827, abs=1e-4)


def test_mass_within_agrees_with_sampling():
    rng = np.random.default_rng(0)
    covariance = rotated_covariance(9.0, 1.0, 30.0)
    samples = rng.multivariate_normal([0.0, 0.0], covariance, size=200_000)
    inside = mahalanobis(samples, np.zeros(2), covariance) <= 2.0
    assert inside.mean() == pytest.approx(mass_within(2.0), abs=0.005)


# ---------------------------------------------------------------------------
# bad input


def test_wrong_shape_is_explained():
    with pytest.raises(ValueError, match=r"shape \(2, 2\).*got shape \(3, 3\)"):
        ellipse_geometry(np.eye(3))


@pytest.mark.parametrize("n_std", [0.0, -1.0])
def test_n_std_must_be_positive(n_std):
    with pytest.raises(ValueError, match="n_std must be a positive"):
        ellipse_geometry(np.eye(2), n_std=n_std)


# ---------------------------------------------------------------------------
# properties over random covariances


@st.composite
def covariances(draw):
    entries = draw(st.lists(st.floats(-30, 30), min_size=4, max_size=4))
    A = np.array(entries).reshape(2, 2)
    return A @ A.T + 0.5 * np.eye(2)


@settings(max_examples=60, deadline=None)
@given(covariance=covariances(), n_std=st.floats(0.5, 3.0),
       mean=st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)))
def test_boundary_and_area_for_any_covariance(covariance, n_std, mean):
    mean = np.array(mean)
    points = ellipse_boundary(mean, covariance, n_std=n_std, n_points=64)
    np.testing.assert_allclose(mahalanobis(points, mean, covariance), n_std, rtol=1e-6)
    width, height, _ = ellipse_geometry(covariance, n_std=n_std)
    assert width >= height
    # Area pi * (w/2) * (h/2) equals pi * n_std^2 * sqrt(det Sigma).
    assert width * height / 4 == pytest.approx(n_std**2 * np.sqrt(np.linalg.det(covariance)),
                                               rel=1e-6)
