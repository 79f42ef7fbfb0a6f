"""GaussianMixture: scikit-learn's numbers, API and estimator checks."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnMixture
from sklearn.utils.estimator_checks import check_estimator

from gmm_lab import GaussianMixture

COVARIANCE_TYPES = ["full", "diag", "spherical", "tied"]
RTOL = 1e-8


def fit_both(X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(**params).fit(X), SklearnMixture(**params).fit(X)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("engine", ["2d", "general"])
def test_default_fit_equals_sklearn(vowel_X, covariance_type, engine):
    """Same random_state, same k-means start, same answer, to 1e-8."""
    ours, theirs = fit_both(vowel_X, n_components=5, covariance_type=covariance_type, random_state=3)
    if engine == "general":
        ours = GaussianMixture(5, covariance_type=covariance_type, random_state=3, engine="general").fit(vowel_X)
    assert ours.n_iter_ == theirs.n_iter_ and ours.converged_ == theirs.converged_
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=RTOL, atol=1e-300, err_msg=name)
    np.testing.assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=RTOL)
    np.testing.assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, rtol=RTOL)
    np.testing.assert_allclose(ours.score_samples(vowel_X), theirs.score_samples(vowel_X), rtol=RTOL)
    np.testing.assert_allclose(ours.predict_proba(vowel_X), theirs.predict_proba(vowel_X), atol=1e-10)
    np.testing.assert_array_equal(ours.predict(vowel_X), theirs.predict(vowel_X))
    np.testing.assert_allclose(ours.bic(vowel_X), theirs.bic(vowel_X), rtol=RTOL)
    np.testing.assert_allclose(ours.aic(vowel_X), theirs.aic(vowel_X), rtol=RTOL)


def test_n_init_and_fixed_iterations_equal_sklearn(synthetic_3d):
    ours, theirs = fit_both(synthetic_3d, n_components=3, n_init=3, max_iter=7, tol=0, init_params="random", random_state=0)
    assert ours.n_iter_ == theirs.n_iter_ == 7 and not ours.converged_
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=RTOL)
    np.testing.assert_allclose(ours.covariances_, theirs.covariances_, rtol=RTOL)
    np.testing.assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=RTOL)


def test_warm_start_continues_like_sklearn(vowel_X):
    params = dict(n_components=3, max_iter=2, tol=0, warm_start=True, random_state=1)
    ours, theirs = GaussianMixture(**params), SklearnMixture(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(3):
            ours.fit(vowel_X)
            theirs.fit(vowel_X)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=RTOL)
    np.testing.assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=RTOL)


def test_sample_draws_like_sklearn(vowel_X):
    ours, theirs = fit_both(vowel_X, n_components=3, random_state=0)
    X_ours, y_ours = ours.sample(50)
    X_theirs, y_theirs = theirs.sample(50)
    np.testing.assert_allclose(X_ours, X_theirs, rtol=1e-8)
    np.testing.assert_array_equal(y_ours, y_theirs)


def test_history_holds_the_best_run(vowel_X):
    model = GaussianMixture(4, random_state=0, keep_responsibilities=True).fit(vowel_X)
    history = model.history_
    assert len(history) == model.n_iter_ + 1
    np.testing.assert_array_equal(history[-1].means, model.means_)
    assert history[-1].responsibilities.shape == (1520, 4)
    np.testing.assert_allclose(history[-2].mean_log_likelihood, model.lower_bound_)
    np.testing.assert_array_equal(history[-1].labels(), model.predict(vowel_X))


def test_fit_predict_equals_fit_then_predict(vowel_X):
    labels = GaussianMixture(3, random_state=0).fit_predict(vowel_X)
    np.testing.assert_array_equal(labels, GaussianMixture(3, random_state=0).fit(vowel_X).predict(vowel_X))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")  # the array API check needs SCIPY_ARRAY_API
def test_passes_sklearns_estimator_checks():
    results = check_estimator(GaussianMixture(), on_fail=None)
    failed = [f"{r['check_name']}: {r['exception']}" for r in results if r["status"] == "failed"]
    assert not failed, "\n".join(failed)
    assert sum(r["status"] == "passed" for r in results) > 30
