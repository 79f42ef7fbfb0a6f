"""gmm_lab.selection against scikit-learn's own fits, criteria and parameter counts."""

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from gmm_lab import GaussianMixture, load_vowels, speaker_split
from gmm_lab.selection import CriteriaGrid, criteria_grid, log_density_grid, n_parameters

# Two EM iterations are enough to count parameters; they do not converge.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("n_features", [2, 3])
def test_n_parameters_equals_sklearn(covariance_type, n_features):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, n_features))
    for k in (1, 3, 7):
        fitted = SklearnGaussianMixture(k, covariance_type=covariance_type, max_iter=2,
                                        random_state=0).fit(X)
        assert n_parameters(k, n_features, covariance_type) == fitted._n_parameters()
    np.testing.assert_array_equal(
        n_parameters(np.array([1, 3, 7]), n_features, covariance_type),
        [n_parameters(k, n_features, covariance_type) for k in (1, 3, 7)],
    )


def test_n_parameters_rejects_unknown_type():
    with pytest.raises(ValueError, match="covariance_type must be one of"):
        n_parameters(3, 2, "fulll")


def test_grid_equals_sklearns_criteria():
    """Same data, K, type, init and seed: scikit-learn's bic, aic and score."""
    data = load_vowels(["IY", "IH", "AA"])
    train, test = speaker_split(data, test_size=0.25, random_state=0)
    X, X_test = data.X[train], data.X[test]
    grid = criteria_grid(X, [1, 2, 3], ["full", "diag"], X_held_out=X_test, n_init=2,
                         init_params="kmeans", random_state=0)
    for row, covariance_type in enumerate(["full", "diag"]):
        for column, k in enumerate([1, 2, 3]):
            theirs = SklearnGaussianMixture(k, covariance_type=covariance_type, n_init=2,
                                            init_params="kmeans", random_state=0).fit(X)
            np.testing.assert_allclose(grid.bic[row, column], theirs.bic(X), rtol=1e-7)
            np.testing.assert_allclose(grid.aic[row, column], theirs.aic(X), rtol=1e-7)
            np.testing.assert_allclose(grid.held_out[row, column], theirs.score(X_test), rtol=1e-7)
    assert grid.n_samples == X.shape[0]


def _grid(log_likelihood, ks=(1, 2, 3, 4), held_out=None):
    log_likelihood = np.atleast_2d(np.asarray(log_likelihood, dtype=float))
    ks = np.asarray(ks)
    return CriteriaGrid(
        n_components=ks, covariance_types=("full",) * log_likelihood.shape[0] if log_likelihood.shape[0] == 1
        else ("full", "diag"), log_likelihood=log_likelihood,
        n_parameters=np.array([n_parameters(ks, 2, "full")] * log_likelihood.shape[0]),
        n_samples=100, held_out=held_out, n_init=1, init_params="kmeans", random_state=0,
    )


def test_bic_and_aic_are_the_formulas():
    grid = _grid([-500.0, -450.0, -440.0, -439.0])
    p = n_parameters(np.array([1, 2, 3, 4]), 2, "full")
    np.testing.assert_allclose(grid.bic, [2 * np.array([500, 450, 440, 439]) + p * np.log(100)])
    np.testing.assert_allclose(grid.aic, [2 * np.array([500, 450, 440, 439]) + 2 * p])


def test_likelihood_falls_lists_each_k_below_its_predecessor():
    assert _grid([-500.0, -450.0, -460.0, -455.0]).likelihood_falls("full").tolist() == [3]
    assert _grid([-500.0, -450.0, -440.0, -430.0]).likelihood_falls("full").tolist() == []
    # Only consecutive K are compared: K = 5 after K = 3 is not a fall.
    gapped = _grid([-500.0, -450.0, -440.0, -445.0], ks=(1, 2, 3, 5))
    assert gapped.likelihood_falls("full").tolist() == []


def test_best_takes_the_minimum_of_bic_and_the_maximum_of_held_out():
    held_out = np.array([[-9.0, -8.0, -8.5, -8.7], [-9.0, -8.9, -7.5, -8.0]])
    grid = _grid([[-500.0, -450.0, -449.0, -448.0], [-520.0, -470.0, -300.0, -299.0]], held_out=held_out)
    assert grid.best("bic") == ("diag", 3)
    assert grid.best("held_out") == ("diag", 3)
    assert grid.best_k("held_out", "full") == 2
    assert grid.best_k("aic", "full") == 2


def test_held_out_criterion_needs_held_out_points():
    grid = _grid([-500.0, -450.0, -440.0, -439.0])
    with pytest.raises(ValueError, match="No held-out points"):
        grid.best("held_out")
    with pytest.raises(ValueError, match="criterion must be"):
        grid.criterion("likelihood")


def test_log_density_grid_equals_scipy_mixture_density(iy_ih_X):
    model = GaussianMixture(3, init_params="k-means++", random_state=0).fit(iy_ih_X)
    xx, yy, log_density = log_density_grid(model, (1500, 3500), (200, 700), dims=(1, 0),
                                           resolution=7)
    assert xx.shape == yy.shape == log_density.shape == (7, 7)
    # dims=(1, 0): x across is feature 1 (F2), y is feature 0 (F1).
    points = np.column_stack([yy.ravel(), xx.ravel()])
    components = [np.log(w) + multivariate_normal(m, c).logpdf(points)
                  for w, m, c in zip(model.weights_, model.means_, model.covariances_)]
    np.testing.assert_allclose(log_density.ravel(), logsumexp(components, axis=0), rtol=1e-10)


def test_tied_from_one_token_starts_stays_at_one_gaussian_as_in_sklearn():
    """Lesson 4 says it: tied + 'k-means++' on the training speakers ends at K = 1's likelihood, in both."""
    vowels = load_vowels()
    train, _ = speaker_split(vowels, test_size=0.25, random_state=0)
    X = vowels.X[train]
    ours = GaussianMixture(6, covariance_type="tied", init_params="k-means++", random_state=0).fit(X)
    theirs = SklearnGaussianMixture(6, covariance_type="tied", init_params="k-means++",
                                    random_state=0).fit(X)
    one = SklearnGaussianMixture(1, covariance_type="tied", random_state=0).fit(X)
    np.testing.assert_allclose(ours.score(X), theirs.score(X), rtol=1e-9)
    np.testing.assert_allclose(theirs.score(X), one.score(X), rtol=1e-7)
    assert np.ptp(theirs.means_, axis=0).max() < 10
