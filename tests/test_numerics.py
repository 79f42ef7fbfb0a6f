"""Numbers that stay exact on awkward data: far points, any scale, every init.

Each test checks a class of data (one far point, a far cluster, a typo in
one coordinate, data scaled by any power of ten), not one case, against an
independent reference: a corrected two-pass M-step written out below,
scipy's density, or scikit-learn where scikit-learn is exact.
"""

import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnMixture

from gmm_lab import (
    CollapsedComponentWarning,
    GaussianMixture,
    RegularizationWarning,
    em,
    log_gaussian_density,
    m_step,
)

COVARIANCE_TYPES = ["full", "diag", "spherical", "tied"]
INIT_METHODS = ["kmeans", "k-means++", "random", "random_from_data"]


# ---------------------------------------------------------------------------
# an independent M-step: each covariance summed about its own mean


def oracle_m_step(X, resp, covariance_type, reg_covar):
    """The M-step, two passes per component, with the centring corrected.

    mu_k = m_k + d_k with m_k = sum gamma x / N_k and d_k = sum gamma (x - m_k) / N_k;
    Sigma_k = sum gamma (x - m_k)(x - m_k)^T / N_k - d_k d_k^T (exact for any offset).
    """
    n_features = X.shape[1]
    counts = resp.sum(axis=0)
    means, covariances = [], []
    for k in range(resp.shape[1]):
        w = resp[:, k]
        first = (w @ X) / counts[k]
        diff = X - first
        correction = (w @ diff) / counts[k]
        means.append(first + correction)
        covariances.append((w * diff.T) @ diff / counts[k] - np.outer(correction, correction))
    means, covariances = np.array(means), np.array(covariances)
    if covariance_type == "tied":
        covariances = np.broadcast_to(
            np.tensordot(counts, covariances, axes=1) / counts.sum(), covariances.shape
        ).copy()
    elif covariance_type in ("diag", "spherical"):
        variances = np.diagonal(covariances, axis1=1, axis2=2)
        if covariance_type == "spherical":
            variances = variances.mean(axis=1, keepdims=True).repeat(n_features, axis=1)
        covariances = variances[:, :, None] * np.eye(n_features)
    covariances = covariances + reg_covar * np.eye(n_features)
    return counts / counts.sum(), means, covariances


def assert_same_parameters(ours, reference, rtol):
    """Weights and means elementwise; covariances relative to sqrt(Sigma_dd Sigma_ee)."""
    weights, means, covariances = ours
    ref_weights, ref_means, ref_covariances = reference
    np.testing.assert_allclose(weights, ref_weights, rtol=rtol)
    np.testing.assert_allclose(means, ref_means, rtol=rtol, atol=0)
    scale = np.sqrt(np.einsum("kd,ke->kde", *(2 * [np.diagonal(ref_covariances, axis1=1, axis2=2)])))
    error = np.abs(covariances - ref_covariances) / scale
    assert error.max() <= rtol, f"covariances differ by {error.max():.3g} relative"


def far_point_data(kind, distance):
    """The vowels IY + IH with something far away, ``distance`` from the data."""
    from gmm_lab import load_vowels

    X = load_vowels(["IY", "IH"]).X
    if kind == "point":  # one outlier on the diagonal
        return np.vstack([X, [[distance, distance]]])
    if kind == "typo":  # one F2 value with extra digits (2280 -> 2280 * distance)
        X = X.copy()
        X[5, 1] *= distance
        return X
    # a tight cluster of 6 points (spread 3 Hz) far away
    rng = np.random.default_rng(1)
    cluster = [distance, -0.5 * distance] + rng.normal(scale=3.0, size=(6, 2))
    return np.vstack([X, cluster])


DISTANCES = [1e3, 1e5, 1e8, 1e10, 1e12]


@pytest.mark.parametrize("distance", DISTANCES)
@pytest.mark.parametrize("kind", ["point", "typo", "cluster"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fast_m_step_is_exact_near_far_points(kind, distance, covariance_type):
    """State t+1 is the exact M-step of gamma_t, however far a component sits
    from the data mean (the one-pass sums lose every digit there)."""
    X = far_point_data(kind, distance)
    n_components = 3 if kind == "cluster" else 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollapsedComponentWarning)
        states = list(
            em(X, n_components, covariance_type=covariance_type, init_params="k-means++",
               random_state=0, max_iter=6, tol=0)
        )
    assert len(states) == 7
    for previous, state in zip(states, states[1:]):
        reference = oracle_m_step(X, previous.responsibilities, covariance_type, 1e-6)
        assert_same_parameters((state.weights, state.means, state.covariances), reference, 1e-9)


@pytest.mark.parametrize("distance", DISTANCES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("spill", [0.0, 0.1])
def test_public_m_step_is_exact_near_far_points(distance, covariance_type, spill):
    """m_step (the two-pass form) against the oracle, on responsibilities that
    put one component on the far point alone, or spill a little onto the rest."""
    X = far_point_data("point", distance)
    resp = np.zeros((X.shape[0], 2))
    resp[:-1, 0] = 1.0
    resp[-1, 1] = 1.0
    resp[:10] = [1.0 - spill, spill]
    ours = m_step(X, resp, covariance_type)
    assert_same_parameters(ours, oracle_m_step(X, resp, covariance_type, 1e-6), 1e-9)


@pytest.mark.parametrize(
    "kind, distance",
    [("point", d) for d in (1e3, 1e4, 1e5, 1e6, 1e7)] + [("typo", f) for f in (10.0, 1e3, 1e4)],
)
def test_far_points_fit_like_sklearn(kind, distance):
    """Where scikit-learn's full M-step (two-pass) is exact, the same fit:
    iterations, lower bound, parameters. (Further out, its empty-component
    guard moves a lone point's mean by 10 eps of its distance to the origin,
    and its variance by the square of that: 2.5e-11 at 2.3e9, 2.5e-5 of reg_covar.)"""
    X = far_point_data(kind, distance)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollapsedComponentWarning)
        ours = GaussianMixture(2, random_state=0).fit(X)
    theirs = SklearnMixture(2, random_state=0).fit(X)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=1e-9)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-9)
    np.testing.assert_allclose(ours.covariances_, theirs.covariances_, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("distance", [1e8, 1e10, 1e12])
def test_very_far_point_gets_its_own_component_without_error(distance):
    """scikit-learn fits these; gmm_lab once raised SingularCovarianceError.
    However far the point, the fit is the one at 1e5 away (where scikit-learn
    is exact): the point's component is reg_covar I, the rest unchanged."""
    near = SklearnMixture(2, random_state=0).fit(far_point_data("point", 1e5))
    X = far_point_data("point", distance)
    with pytest.warns(CollapsedComponentWarning, match="holds 1 points' worth"):
        ours = GaussianMixture(2, random_state=0).fit(X)
    theirs = SklearnMixture(2, random_state=0).fit(X)
    assert ours.n_iter_ == theirs.n_iter_ == near.n_iter_
    np.testing.assert_allclose(ours.lower_bound_, near.lower_bound_, rtol=1e-12)
    far = np.argmax(ours.means_[:, 0])
    np.testing.assert_allclose(ours.means_[far], [distance, distance], rtol=1e-15)
    np.testing.assert_allclose(ours.means_[1 - far], near.means_[1 - far], rtol=1e-12)
    # exactly reg_covar: the component holds one point (scikit-learn's
    # empty-component guard adds (10 eps distance)^2 to it; see m_step)
    np.testing.assert_allclose(ours.covariances_[far], 1e-6 * np.eye(2), rtol=1e-9, atol=1e-15)


# ---------------------------------------------------------------------------
# any scale


SCALES = [1e-150, 1e-100, 1e-30, 1e-3, 1e30, 1e80, 1e120, 1e150]


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_any_scale_fits_like_sklearn(iy_ih_X, scale, covariance_type):
    """Data in any unit: scikit-learn's fit, with the same numbers."""
    X = iy_ih_X * scale
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
        labels = ours.predict(X)
    swamped = X.var(axis=0).min() < 10 * 1e-6  # reg_covar > a tenth of a variance
    assert any(issubclass(w.category, RegularizationWarning) for w in caught) == swamped
    if scale < 1 or covariance_type == "full":
        theirs = SklearnMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
        lower_bound, means, covariances = theirs.lower_bound_, theirs.means_, theirs.covariances_
    else:
        # scikit-learn's one-pass diag/spherical/tied sums x^2 about the
        # origin, which overflows at 1e150: compare with its fit in Hz,
        # rescaled (reg_covar changes those covariances by 1e-9 relative)
        theirs = SklearnMixture(2, covariance_type=covariance_type, random_state=0).fit(iy_ih_X)
        lower_bound = theirs.lower_bound_ - 2 * np.log(scale)
        means, covariances = theirs.means_ * scale, theirs.covariances_ * scale**2
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.lower_bound_, lower_bound, rtol=1e-8)
    np.testing.assert_allclose(ours.means_, means, rtol=1e-8)
    np.testing.assert_allclose(ours.covariances_, covariances, rtol=1e-8)
    if scale < 1 or covariance_type == "full":
        np.testing.assert_array_equal(labels, theirs.predict(X))
        np.testing.assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=1e-8)


@pytest.mark.parametrize("scale", [1e-170, 1e-120, 1e-20, 1e20, 1e120, 1e200, 1e300])
@pytest.mark.parametrize("correlation", [0.0, 0.5, -0.99])
def test_2d_density_at_any_scale_matches_scipy(scale, correlation):
    """The closed-form 2 x 2 factor neither overflows nor underflows."""
    rng = np.random.default_rng(0)
    covariance = scale * np.array([[1.0, correlation * 3.0], [correlation * 3.0, 9.0]])
    mean = np.sqrt(scale) * np.array([1.0, -2.0])
    X = mean + np.sqrt(scale) * rng.normal(size=(20, 2))
    ours = log_gaussian_density(X, mean[None], covariance[None], method="2d")
    general = log_gaussian_density(X, mean[None], covariance[None], method="general")
    expected = multivariate_normal(mean, covariance).logpdf(X)
    np.testing.assert_allclose(ours[:, 0], expected, rtol=1e-12)
    np.testing.assert_allclose(general[:, 0], expected, rtol=1e-12)


@pytest.mark.parametrize("engine", ["2d", "general"])
def test_engine_is_used_by_predict_and_score(iy_ih_X, engine, monkeypatch):
    import gmm_lab.mixture as mixture_module

    used = []
    original = mixture_module.weighted_log_density_kernel

    def spy(log_weights, means, covariances, method, *args, **kwargs):
        used.append(method)
        return original(log_weights, means, covariances, method, *args, **kwargs)

    monkeypatch.setattr(mixture_module, "weighted_log_density_kernel", spy)
    model = GaussianMixture(2, random_state=0, engine=engine).fit(iy_ih_X)
    model.score(iy_ih_X)
    model.predict_proba(iy_ih_X)
    assert used and set(used) == {engine}


def test_huge_initial_precisions_are_accepted(iy_ih_X):
    """precisions_init of 1e300 I (variances 1e-300): scikit-learn fits, so do we."""
    params = dict(n_components=2, precisions_init=np.array([1e300 * np.eye(2)] * 2),
                  means_init=iy_ih_X[[0, 200]], random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollapsedComponentWarning)
        ours = GaussianMixture(**params).fit(iy_ih_X)
    theirs = SklearnMixture(**params).fit(iy_ih_X)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-8)


# ---------------------------------------------------------------------------
# parity: every covariance type with every init


@pytest.mark.parametrize("init_params", INIT_METHODS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_every_type_and_init_fits_like_sklearn(iy_ih_X, covariance_type, init_params):
    params = dict(n_components=3, covariance_type=covariance_type, init_params=init_params,
                  n_init=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = GaussianMixture(**params).fit(iy_ih_X)
        theirs = SklearnMixture(**params).fit(iy_ih_X)
    assert (ours.n_iter_, ours.converged_) == (theirs.n_iter_, theirs.converged_)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-8, err_msg=name)
    np.testing.assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=1e-10)
    np.testing.assert_allclose(ours.lower_bounds_[1:], theirs.lower_bounds_[1:], rtol=1e-10)
    # The first lower bound is L(theta_0) / N (plus log(K / N) for one-point
    # seeds, as scikit-learn's weights then sum to K / N). With one-point
    # seeds scikit-learn's one-pass diag/spherical variance is not exactly
    # reg_covar but reg_covar + about 10 eps x^2 (its empty-component guard
    # in x^2 / (1 + 10 eps) - (x / (1 + 10 eps))^2): 1e-8 here, 1 % of
    # reg_covar, so L(theta_0) differs by that much; exactness wins.
    one_pass_seed = covariance_type in ("diag", "spherical") and init_params in ("k-means++", "random_from_data")
    np.testing.assert_allclose(ours.lower_bounds_[0], theirs.lower_bounds_[0], rtol=0.05 if one_pass_seed else 1e-10)


def test_em_uses_the_exact_tied_start_where_sklearn_does_not(iy_ih_X):
    """With one seed point per component, em()'s tied Sigma_0 is the M-step of
    those seeds (reg_covar I); scikit-learn sums x x^T over every point."""
    state0 = next(em(iy_ih_X, 3, covariance_type="tied", init_params="k-means++", random_state=0))
    np.testing.assert_allclose(state0.covariances, np.broadcast_to(1e-6 * np.eye(2), (3, 2, 2)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = SklearnMixture(3, covariance_type="tied", init_params="k-means++",
                                random_state=0, max_iter=0).fit(iy_ih_X)
        ours = GaussianMixture(3, covariance_type="tied", init_params="k-means++",
                               random_state=0, max_iter=0).fit(iy_ih_X)
    np.testing.assert_allclose(ours.covariances_, theirs.covariances_, rtol=1e-10)
    assert theirs.covariances_[0, 0] > 1e6
