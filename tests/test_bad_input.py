"""Bad input gets a clear error that names the problem and what to do."""

import numpy as np
import pytest

from gmm_lab import CollapsedComponentWarning, GaussianMixture, em, run_em

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
    with pytest.warns(CollapsedComponentWarning, match="a feature may be a combination of others"):
        history = run_em(three, 2, init_params="kmeans", random_state=0)  # the default reg_covar fixes it
    assert np.isfinite(history.log_likelihoods).all()


# ---------------------------------------------------------------------------
# the lower-level functions check what they are given too (review D6, D7)

import copy  # noqa: E402
import pickle  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from gmm_lab import CollapsedComponentWarning, RegularizationWarning, get_predictions, m_step  # noqa: E402

MEANS = np.array([[0.0, 0.0], [1.0, 1.0]])
COVARIANCES = np.array([np.eye(2), np.eye(2)])


@pytest.mark.parametrize(
    "weights, message",
    [
        ([1.5, -0.5], r"p must be finite and >= 0 .*got -0.5 for component 1"),
        ([np.nan, 1.0], r"p must be finite and >= 0 .*got nan for component 0"),
        ([0.2, 0.3, 0.5], r"p must have shape \(n_components,\) = \(2,\).*got shape \(3,\)"),
    ],
)
def test_get_predictions_checks_the_weights(weights, message):
    with pytest.raises(ValueError, match=message):
        get_predictions(MEANS, COVARIANCES, weights, X)


def test_get_predictions_checks_nan_means():
    with pytest.raises(ValueError, match=r"mu contains NaN or infinity.*Check the step"):
        get_predictions(np.array([[np.nan, 0.0], [1.0, 1.0]]), COVARIANCES, [0.5, 0.5], X)


def test_get_predictions_accepts_the_handouts_column_of_weights():
    column = get_predictions(MEANS, COVARIANCES, np.array([[0.3], [0.7]]), X)
    np.testing.assert_allclose(column, get_predictions(MEANS, COVARIANCES, [0.3, 0.7], X))


@pytest.mark.parametrize(
    "responsibilities, kwargs, error, message",
    [
        (np.column_stack([np.full(30, 1.5), np.full(30, -0.5)]), {}, ValueError,
         r"responsibilities must be >= 0 \(probabilities\); got -0.5 at row 0, component 1"),
        (np.where(np.arange(60).reshape(30, 2) == 9, np.nan, 0.5), {}, ValueError,
         r"responsibilities contain NaN or infinity in 1 row\(s\), the first at row 4.*log space"),
        (np.full((29, 2), 0.5), {}, ValueError, r"responsibilities must have shape .*\(30, K\); got \(29, 2\)"),
        (np.full((30, 2), 0.5), {"reg_covar": -1e9}, ValueError, r"reg_covar must be >= 0 and finite; got -1000000000.0"),
        (np.full((30, 2), 0.5), {"reg_covar": "1e-6"}, TypeError, r"reg_covar must be a number; got '1e-6'"),
        (np.full((30, 2), 0.5), {"covariance_type": "round"}, ValueError, r"Unknown covariance_type 'round'"),
    ],
)
def test_m_step_checks_its_inputs(responsibilities, kwargs, error, message):
    with pytest.raises(error, match=message):
        m_step(X, responsibilities, **kwargs)


@pytest.mark.parametrize(
    "data, error, message",
    [
        (X + 1j * X, TypeError, r"X is complex \(complex128\); complex data is not supported.*X\.real"),
        (np.array([[1.0, None], [2.0, 3.0]], dtype=object), ValueError, r"X contains NaN or infinity in 1 row\(s\), the first at row 0"),
        (np.array([[1.0, "a"], [2.0, 3.0]], dtype=object), TypeError, r"X must be a numeric array"),
        (np.array([[1.0, 2j], [2.0, 3.0]], dtype=object), TypeError, r"X is complex"),
    ],
)
def test_complex_and_object_X_are_refused(data, error, message):
    for call in (lambda: run_em(data, 1), lambda: m_step(data, np.ones((data.shape[0], 1)))):
        with pytest.raises(error, match=message):
            call()


def test_numeric_object_X_is_accepted():
    history = run_em(X.astype(object), 2, random_state=0)
    np.testing.assert_array_equal(history.X, X)


@pytest.mark.parametrize(
    "params, error, message",
    [
        ({"verbose": 1, "verbose_interval": 0}, ValueError, r"verbose_interval must be >= 1; got 0"),
        ({"engine": "bogus"}, ValueError, r"engine must be one of 'auto', '2d', 'general'; got 'bogus'.*'auto'"),
        ({"engine": "2d"}, ValueError, r"engine='2d' needs 2 features; X has 3.*'general'"),
        ({"init_params": ["kmeans"]}, TypeError, r"init_params must be a string.*got \['kmeans'\] of type list"),
        ({"tol": np.inf}, ValueError, r"tol must be >= 0 and finite; got inf"),
    ],
)
def test_estimator_checks_every_setting(params, error, message):
    with pytest.raises(error, match=message):
        GaussianMixture(2, **params).fit(np.column_stack([X, X[:, 0] ** 2]))


def test_em_rejects_an_unknown_engine():
    with pytest.raises(ValueError, match=r"engine must be one of 'auto', '2d', 'general'; got 'bogus'"):
        em(X, 2, engine="bogus")


@pytest.mark.parametrize("duplicate", [copy.deepcopy, lambda h: pickle.loads(pickle.dumps(h)), copy.copy])
def test_a_copied_history_stays_read_only(duplicate):
    history = duplicate(run_em(X, 2, random_state=0))
    arrays = [history.X] + [getattr(state, name) for state in (history[0], history[-1])
                            for name in ("weights", "means", "covariances", "responsibilities",
                                         "component_counts")]
    for array in arrays:
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0
        with pytest.raises(ValueError, match="cannot set WRITEABLE flag"):
            array.flags.writeable = True


def test_a_state_cannot_be_made_writeable_again():
    state = next(em(X, 2, random_state=0))
    for name in ("weights", "means", "covariances", "responsibilities", "component_counts"):
        with pytest.raises(ValueError, match="cannot set WRITEABLE flag"):
            getattr(state, name).flags.writeable = True


def test_dataframe_gives_no_feature_name_warning():
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame(X, columns=["f1", "f2"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = GaussianMixture(2, random_state=0).fit(frame)
        model.fit_predict(frame)
        model.predict(frame)
    assert list(model.feature_names_in_) == ["f1", "f2"]


# ---------------------------------------------------------------------------
# warnings point at the line that called gmm_lab


def _warning_lines(category, call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    found = [w for w in caught if issubclass(w.category, category)]
    assert found, f"no {category.__name__}"
    return {(Path(w.filename).name, w.lineno) for w in found}


THIS_FILE = Path(__file__).name
COLLAPSING = np.vstack([np.random.default_rng(1).normal(size=(60, 2)), [[40.0, 40.0]]])
COLLAPSE = dict(means_init=np.array([[0.0, 0.0], [40.0, 40.0]]), max_iter=5)


def _iterate_em():
    for _ in em(COLLAPSING, 2, **COLLAPSE):  # the line a warning must name
        pass


@pytest.mark.parametrize(
    "category, call, line_text",
    [
        (CollapsedComponentWarning, lambda: run_em(COLLAPSING, 2, **COLLAPSE), "run_em(COLLAPSING"),
        (CollapsedComponentWarning, _iterate_em, "for _ in em(COLLAPSING"),
        (CollapsedComponentWarning, lambda: GaussianMixture(2, **COLLAPSE).fit(COLLAPSING), "GaussianMixture(2, **COLLAPSE)"),
        (ConvergenceWarning, lambda: run_em(X, 3, max_iter=1, random_state=0), "run_em(X, 3, max_iter=1"),
        (ConvergenceWarning, lambda: GaussianMixture(3, max_iter=1, random_state=0).fit(X), "GaussianMixture(3, max_iter=1"),
        (RegularizationWarning, lambda: run_em(X * 1e-5, 2, random_state=0), "run_em(X * 1e-5"),
        (RegularizationWarning, lambda: GaussianMixture(2, random_state=0).fit(X * 1e-5), "fit(X * 1e-5)"),
    ],
)
def test_warnings_name_the_callers_line(category, call, line_text):
    lines = _warning_lines(category, call)
    source = Path(__file__).read_text().splitlines()
    for filename, lineno in lines:
        assert filename == THIS_FILE, f"{category.__name__} points at {filename}:{lineno}"
        assert line_text in source[lineno - 1], source[lineno - 1]


def test_warm_start_refuses_a_changed_covariance_type():
    model = GaussianMixture(2, warm_start=True, random_state=0).fit(X)
    model.set_params(covariance_type="diag")
    with pytest.raises(ValueError, match=r"warm_start=True continues the previous fit, whose covariance_type was 'full'.*warm_start=False"):
        model.fit(X)


def test_mean_log_likelihood_needs_the_point_count():
    from gmm_lab import EMState

    state = EMState(0, np.ones(1), np.zeros((1, 2)), np.eye(2)[None], None, -3.0)
    with pytest.raises(ValueError, match=r"needs the number of points; this state has n_samples=0"):
        state.mean_log_likelihood
