"""The EM generator against scikit-learn, and the properties EM must have."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnMixture

from gmm_lab import CollapsedComponentWarning, SingularCovarianceError, e_step, em, m_step, run_em
import gmm_lab._engine as engine_module
from gmm_lab._statistics import compact_covariances

COVARIANCE_TYPES = ["full", "diag", "spherical", "tied"]
RTOL = 1e-8


def starting_point(X, n_components, covariance_type, seed=0):
    """An explicit theta_0 in scikit-learn's per-type shapes."""
    rng = np.random.default_rng(seed)
    n_features = X.shape[1]
    means = X[rng.choice(X.shape[0], n_components, replace=False)]
    weights = rng.dirichlet(5 * np.ones(n_components))
    variances = X.var(axis=0) / n_components
    precisions = {
        "full": np.array([np.diag(1 / variances)] * n_components),
        "tied": np.diag(1 / variances),
        "diag": np.array([1 / variances] * n_components),
        "spherical": np.full(n_components, 1 / variances.mean()),
    }[covariance_type]
    return dict(weights_init=weights, means_init=means, precisions_init=precisions)


def sklearn_after(X, n_iter, n_components, covariance_type, init):
    """scikit-learn's parameters after exactly n_iter M-steps from init."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SklearnMixture(
            n_components, covariance_type=covariance_type, max_iter=n_iter, tol=0, **init
        ).fit(X)


def assert_state_matches(state, reference, covariance_type):
    np.testing.assert_allclose(state.weights, reference.weights_, rtol=RTOL)
    np.testing.assert_allclose(state.means, reference.means_, rtol=RTOL)
    # atol: with one-point seeds an off-diagonal 0 comes out of scikit-learn
    # as 1e-24 (its empty-component guard; see gmm_lab._em), exactly 0 here
    np.testing.assert_allclose(
        compact_covariances(state.covariances, covariance_type), reference.covariances_,
        rtol=RTOL, atol=1e-15 * np.abs(reference.covariances_).max(),
    )


@pytest.mark.parametrize("engine", ["2d", "general"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_states_match_sklearn_on_vowels(vowel_X, covariance_type, engine):
    """State t holds scikit-learn's parameters after t M-steps; its lower_bound_
    after t M-steps is L(theta_{t-1}) / N."""
    init = starting_point(vowel_X, 4, covariance_type)
    states = list(
        em(vowel_X, 4, covariance_type=covariance_type, max_iter=12, tol=0, engine=engine, **init)
    )
    assert [s.iteration for s in states] == list(range(13))
    for t in (1, 2, 5, 12):
        reference = sklearn_after(vowel_X, t, 4, covariance_type, init)
        assert_state_matches(states[t], reference, covariance_type)
        np.testing.assert_allclose(states[t - 1].mean_log_likelihood, reference.lower_bound_, rtol=RTOL)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_states_match_sklearn_on_synthetic_3d(synthetic_3d, covariance_type):
    init = starting_point(synthetic_3d, 3, covariance_type, seed=3)
    states = list(em(synthetic_3d, 3, covariance_type=covariance_type, max_iter=8, tol=0, **init))
    reference = sklearn_after(synthetic_3d, 8, 3, covariance_type, init)
    assert_state_matches(states[8], reference, covariance_type)
    np.testing.assert_allclose(states[7].mean_log_likelihood, reference.lower_bound_, rtol=RTOL)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_initial_state_is_sklearns_initialisation(vowel_X, init_params):
    """Same random_state, same theta_0: scikit-learn with max_iter=0 keeps its init."""
    state0 = next(em(vowel_X, 3, init_params=init_params, random_state=5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = SklearnMixture(3, init_params=init_params, random_state=5, max_iter=0).fit(vowel_X)
    # scikit-learn's initial weights are N_k / n_samples, which sum to K / N
    # when each component starts from one seed point; gmm_lab normalises them.
    reference.weights_ = reference.weights_ / reference.weights_.sum()
    assert_state_matches(state0, reference, "full")


def test_engines_agree_with_each_other(vowel_X):
    a = run_em(vowel_X, 5, random_state=2, engine="2d")
    b = run_em(vowel_X, 5, random_state=2, engine="general")
    assert len(a) == len(b)
    for sa, sb in zip(a, b):
        np.testing.assert_allclose(sa.means, sb.means, rtol=1e-10)
        np.testing.assert_allclose(sa.responsibilities, sb.responsibilities, atol=1e-10)
        np.testing.assert_allclose(sa.log_likelihood, sb.log_likelihood, rtol=1e-12)


def test_chunked_and_unchunked_accumulation_are_identical(vowel_X, monkeypatch):
    whole = run_em(vowel_X, 4, random_state=0, max_iter=15)
    monkeypatch.setattr(engine_module, "CHUNK_ELEMENTS", 64 * 4)  # many chunks of 64 rows
    chunked = run_em(vowel_X, 4, random_state=0, max_iter=15)
    assert len(whole) == len(chunked)
    for a, b in zip(whole, chunked):
        np.testing.assert_allclose(a.means, b.means, rtol=1e-12)
        np.testing.assert_allclose(a.covariances, b.covariances, rtol=1e-12)
        np.testing.assert_allclose(a.log_likelihood, b.log_likelihood, rtol=1e-13)
        # Sums taken in another order: equal to rounding, not bit for bit.
        np.testing.assert_allclose(a.responsibilities, b.responsibilities, rtol=1e-10, atol=1e-15)


def test_state_parameters_are_the_m_step_of_the_previous_responsibilities(iy_ih_X):
    history = run_em(iy_ih_X, 3, random_state=1, covariance_type="diag")
    for previous, state in zip(history, history[1:]):
        weights, means, covariances = m_step(iy_ih_X, previous.responsibilities, "diag")
        np.testing.assert_allclose(state.means, means, rtol=1e-10)
        np.testing.assert_allclose(state.covariances, covariances, rtol=1e-10)
        resp, log_likelihood = e_step(iy_ih_X, state.weights, state.means, state.covariances)
        np.testing.assert_allclose(state.responsibilities, resp, atol=1e-12)
        np.testing.assert_allclose(state.log_likelihood, log_likelihood, rtol=1e-12)


def test_m_step_matches_the_two_pass_formula(iy_ih_X):
    """The sufficient-statistics form equals the textbook centred form."""
    rng = np.random.default_rng(0)
    resp = rng.dirichlet(np.ones(3), size=iy_ih_X.shape[0])
    weights, means, covariances = m_step(iy_ih_X, resp, reg_covar=0.0)
    counts = resp.sum(axis=0)
    np.testing.assert_allclose(weights, counts / iy_ih_X.shape[0], rtol=1e-12)
    for k in range(3):
        mu = resp[:, k] @ iy_ih_X / counts[k]
        diff = iy_ih_X - mu
        sigma = (resp[:, k, None] * diff).T @ diff / counts[k]
        np.testing.assert_allclose(means[k], mu, rtol=1e-12)
        np.testing.assert_allclose(covariances[k], sigma, rtol=1e-10)


def test_stops_when_the_mean_log_likelihood_settles(vowel_X):
    history = run_em(vowel_X, 3, random_state=0, tol=1e-3)
    per_point = history.log_likelihoods / vowel_X.shape[0]
    assert history.converged and history[-1].converged
    assert abs(per_point[-1] - per_point[-2]) < 1e-3
    assert np.all(np.abs(np.diff(per_point[:-1])) >= 1e-3)
    assert not any(state.converged for state in history[:-1])


def test_max_iter_bounds_the_run_and_warns(vowel_X):
    with pytest.warns(ConvergenceWarning, match="did not converge in 3 iterations"):
        history = run_em(vowel_X, 6, random_state=0, max_iter=3, tol=0)
    assert len(history) == 4 and not history.converged


def test_history_curve_and_indexing(iy_ih_X):
    history = run_em(iy_ih_X, 2, random_state=0)
    assert history[0].iteration == 0 and history[-1] is history.final
    np.testing.assert_array_equal(history.log_likelihoods, [s.log_likelihood for s in history])


def test_states_are_frozen_snapshots(iy_ih_X):
    copies, states = [], []
    for state in em(iy_ih_X, 3, random_state=0, max_iter=10, tol=0):
        states.append(state)
        copies.append({name: np.array(getattr(state, name)) for name in ("weights", "means", "covariances", "responsibilities")})
    for state, saved in zip(states, copies):
        for name, value in saved.items():
            np.testing.assert_array_equal(getattr(state, name), value)
            with pytest.raises(ValueError, match="read-only"):
                getattr(state, name)[0] = 0
    with pytest.raises(AttributeError):
        states[0].iteration = 5


def test_keep_responsibilities_off_still_gives_the_same_parameters(iy_ih_X):
    kept = run_em(iy_ih_X, 3, random_state=0)
    dropped = run_em(iy_ih_X, 3, random_state=0, keep_responsibilities=False)
    assert dropped[-1].responsibilities is None
    np.testing.assert_array_equal(kept[-1].means, dropped[-1].means)
    np.testing.assert_allclose(dropped[-1].component_counts, kept[-1].component_counts, rtol=1e-10)


def test_float32_input_agrees_with_float64(vowel_X):
    """float32 data runs in float32; results agree to about 1e-4 relative."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # tol=0: ten iterations, on purpose
        a = run_em(vowel_X, 3, random_state=0, max_iter=10, tol=0)
        b = run_em(vowel_X.astype(np.float32), 3, random_state=0, max_iter=10, tol=0)
    np.testing.assert_allclose(b[-1].means, a[-1].means, rtol=1e-4)
    np.testing.assert_allclose(b[-1].log_likelihood, a[-1].log_likelihood, rtol=1e-5)


# ---------------------------------------------------------------------------
# degenerate data: no NaN, and a collapse is named


def test_duplicated_points_and_a_line_give_no_nan():
    rng = np.random.default_rng(0)
    t = rng.uniform(size=40)
    line = np.column_stack([t, 2 * t + 1])  # every point on one line
    duplicated = np.repeat(rng.normal(size=(5, 2)), 8, axis=0)
    for X in (line, duplicated):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CollapsedComponentWarning)
            history = run_em(X, 3, random_state=0, max_iter=20)
        for state in history:
            assert np.all(np.isfinite(state.covariances)) and np.isfinite(state.log_likelihood)
            assert np.all(np.linalg.eigvalsh(state.covariances) > 0)


def test_a_component_collapsing_onto_one_point_is_named():
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(size=(60, 2)), [[40.0, 40.0]]])  # one far outlier
    means_init = np.array([[0.0, 0.0], [40.0, 40.0]])
    with pytest.warns(CollapsedComponentWarning, match=r"Component 1 collapsed at iteration 1"):
        history = run_em(X, 2, means_init=means_init, max_iter=5)
    assert np.all(np.isfinite(history.log_likelihoods))


# ---------------------------------------------------------------------------
# properties that hold for any data and any start


@st.composite
def problems(draw, scales=(1e-2, 1.0, 1e3)):
    seed = draw(st.integers(0, 2**32 - 1))
    n_features = draw(st.integers(1, 3))
    n_components = draw(st.integers(1, 4))
    n_samples = draw(st.integers(n_components * 3, 80))
    scale = draw(st.sampled_from(scales))
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4 * scale, size=(n_components, n_features))
    X = centres[rng.integers(n_components, size=n_samples)] + rng.normal(scale=scale, size=(n_samples, n_features))
    return X, n_components, seed % 1000


def check_properties(states):
    curve = np.array([s.log_likelihood for s in states])
    # L(theta_t) never decreases, up to rounding
    drops = curve[:-1] - curve[1:]
    assert np.all(drops <= 1e-9 * np.abs(curve[1:]) + 1e-9), f"log-likelihood fell by {drops.max()}"
    for state in states:
        resp = state.responsibilities
        assert np.all((resp >= 0) & (resp <= 1))
        np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-12)
        np.testing.assert_allclose(state.weights.sum(), 1.0, rtol=1e-12)
        np.testing.assert_allclose(state.covariances, state.covariances.transpose(0, 2, 1), rtol=1e-12)
        assert np.all(np.linalg.eigvalsh(state.covariances) > 0)


PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(problems(), st.sampled_from(COVARIANCE_TYPES), st.sampled_from(["kmeans", "random"]))
def test_exact_em_never_decreases_the_log_likelihood(problem, covariance_type, init_params):
    """reg_covar=0: the M-step is the exact maximiser, so L(theta_t) is monotone."""
    X, n_components, seed = problem
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CollapsedComponentWarning)  # then the assume below
            states = list(
                em(X, n_components, covariance_type=covariance_type, init_params=init_params,
                   random_state=seed, reg_covar=0.0, max_iter=30, tol=0)
            )
    except SingularCovarianceError:
        assume(False)  # a component shrank onto a point: exact EM has no next step
    # A component holding one point has a zero covariance up to rounding and
    # an unbounded likelihood; monotonicity is a statement about the others.
    smallest = min(np.linalg.eigvalsh(s.covariances).min() for s in states)
    assume(smallest > 1e-8 * X.var())
    check_properties(states)


@PROPERTY_SETTINGS
@given(
    problems(scales=(1.0, 1e3)),
    st.sampled_from(COVARIANCE_TYPES),
    st.sampled_from(["kmeans", "k-means++", "random", "random_from_data"]),
)
def test_regularised_em_properties(problem, covariance_type, init_params):
    """reg_covar=1e-6 on data whose spread dwarfs it: still monotone to rounding."""
    X, n_components, seed = problem
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollapsedComponentWarning)
        states = list(
            em(X, n_components, covariance_type=covariance_type, init_params=init_params,
               random_state=seed, max_iter=30, tol=0)
        )
    # The guarantee needs reg_covar to be negligible: a component holding a
    # single point has variance reg_covar itself, and the regularised M-step
    # is then no longer the maximiser (hypothesis found such runs). The seed
    # inits start every component at reg_covar on purpose; that start is fine.
    smallest = [np.linalg.eigvalsh(s.covariances).min() for s in states]
    seeded = init_params in ("k-means++", "random_from_data")
    assume(min(smallest[1:], default=1.0) > 1e-3 and (seeded or smallest[0] > 1e-3))
    check_properties(states)


@pytest.mark.parametrize(
    "reg_covar, expected",
    [(0.0, [(4, 12, 2.0)]), (1e-6, [(4, 11, 2.0)]), (25.0, [(4, 10, 2.0)]), (2000.0, [])],
)
def test_collapsed_means_a_component_on_a_few_tokens_not_one_under_a_large_floor(reg_covar, expected):
    """Lesson 4's start (hod, K = 5, 'kmeans', seed 5): the component that ends on
    two tokens is named at the same iteration as before, whatever the floor; with
    reg_covar = 2000 Hz^2 (under a tenth of F1's variance, 21361 Hz^2) no
    component collapses, though one of 41 tokens has a narrowest variance of
    1464 Hz^2 below the floor: it is not negligible next to the data's spread."""
    from gmm_lab import load_vowels
    from gmm_lab.collapse import run_until_error

    hod = load_vowels("AA")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_until_error(hod.X, 5, init_params="kmeans", random_state=5, reg_covar=reg_covar)
    assert not [w for w in caught if not issubclass(w.category, (CollapsedComponentWarning, ConvergenceWarning))]
    named = [str(w.message) for w in caught if issubclass(w.category, CollapsedComponentWarning)]
    assert [
        message.startswith(f"Component {k} collapsed at iteration {t}: it holds {n:.3g} points' worth")
        for message, (k, t, n) in zip(named, expected)
    ] == [True] * len(expected) and len(named) == len(expected), named


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++"])
def test_the_kmeans_initialisation_runs_on_one_thread(iy_ih_X, init_params, monkeypatch):
    """scikit-learn's KMeans took 0.3-0.8 s per call with every OpenMP thread on a
    busy 2-core machine, 0.02 s with one: the initialisation limits every pool."""
    import sklearn.cluster
    from threadpoolctl import threadpool_info

    seen = []

    def record(function):
        def recorded(*args, **kwargs):
            seen.append({pool["user_api"]: pool["num_threads"] for pool in threadpool_info()})
            return function(*args, **kwargs)
        return recorded

    monkeypatch.setattr(sklearn.cluster.KMeans, "fit", record(sklearn.cluster.KMeans.fit))
    monkeypatch.setattr(sklearn.cluster, "kmeans_plusplus", record(sklearn.cluster.kmeans_plusplus))
    run_em(iy_ih_X, 3, init_params=init_params, random_state=0)
    assert len(seen) == 1 and set(seen[0].values()) == {1}, seen
