"""Bad input gets a clear error that names the problem and what to do."""

import numpy as np
import pytest

from gmm_lab import GaussianMixture, em, run_em

X = np.random.default_rng(0).normal(size=(30, 2))


@pytest.mark.parametrize(
    "data, kwargs, error, message",
    [
        (X[:, 0], {}, ValueError, r"2-D array of shape \(n_samples, n_features\).*reshape\(-1, 1\)"),
        (np.where(np.arange(60).reshape(30, 2) == 7, np.nan, X), {}, ValueError, r"NaN or infinity in 1 row\(s\), the first at row 3"),
        (np.where(np.arange(60).reshape(30, 2) == 8, np.inf, X), {}, ValueError, r"NaN or infinity"),
        ([["a", "b"]], {}, TypeError, r"numeric array"),
        (X[:3], {"n_components": 4}, ValueError, r"n_components=4 is larger than the number of points \(3\)"),
        (X, {"n_components": 0}, ValueError, r"n_components must be >= 1; got 0"),
        (X, {"n_components": 2.5}, TypeError, r"n_components must be an integer"),
        (X, {"covariance_type": "ful"}, ValueError, r"Unknown covariance_type 'ful'.*'full', 'diag', 'spherical', 'tied'"),
        (X, {"init_params": "kmeans+++"}, ValueError, r"Unknown init_params 'kmeans\+\+\+'.*means_init"),
        (X, {"means_init": np.zeros((3, 2))}, ValueError, r"means_init must have shape .* \(2, 2\); got shape \(3, 2\)"),
        (X, {"weights_init": np.ones(3) / 3}, ValueError, r"weights_init must have shape \(2,\)"),
        (X, {"weights_init": [0.5, 0.6]}, ValueError, r"weights_init must sum to 1; they sum to 1.1"),
        (X, {"precisions_init": np.array([np.eye(2), [[1.0, 2.0], [2.0, 1.0]]])}, ValueError, r"precisions_init of component 1 is not positive definite"),
        (X, {"precisions_init": np.array([np.eye(2), [[1.0, 0.5], [0.0, 1.0]]])}, ValueError, r"precisions_init of component 1 is not symmetric"),
        (X, {"precisions_init": np.eye(2)}, ValueError, r"precisions_init for covariance_type='full' must have shape \(2, 2, 2\)"),
        (X, {"max_iter": -1}, ValueError, r"max_iter must be >= 0"),
        (X, {"tol": -1.0}, ValueError, r"tol must be >= 0"),
    ],
)
def test_em_rejects_bad_input_at_call_time(data, kwargs, error, message):
    kwargs = {"n_components": 2, **kwargs}
    n_components = kwargs.pop("n_components")
    with pytest.raises(error, match=message):
        em(data, n_components, **kwargs)  # raised before the first next()


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_components": 40}, r"n_components=40 is larger than the number of points \(30\)"),
        ({"covariance_type": "round"}, r"Unknown covariance_type 'round'"),
        ({"init_params": "nope"}, r"Unknown init_params 'nope'"),
        ({"n_components": 2, "weights_init": [0.2, 0.2]}, r"weights_init must sum to 1"),
        ({"n_components": 2, "covariance_type": "diag", "precisions_init": [[1.0, -1.0], [1.0, 1.0]]}, r"must be positive"),
    ],
)
def test_estimator_rejects_bad_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixture(**params).fit(X)


def test_estimator_rejects_nan():
    with pytest.raises(ValueError, match="NaN"):
        GaussianMixture(2).fit(np.where(np.arange(60).reshape(30, 2) == 5, np.nan, X))


def test_singular_covariance_without_reg_covar_names_component_and_fix():
    # f1, f2 and f1 + f2: every covariance is singular
    three = np.column_stack([X, X.sum(axis=1)])
    with pytest.raises(ValueError, match=r"component \d at iteration 0 is not positive definite.*reg_covar"):
        run_em(three, 2, reg_covar=0.0, init_params="kmeans", random_state=0)
    history = run_em(three, 2, init_params="kmeans", random_state=0)  # the default reg_covar fixes it
    assert np.isfinite(history.log_likelihoods).all()
