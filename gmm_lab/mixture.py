"""A scikit-learn compatible ``GaussianMixture`` built on gmm_lab's EM.

Same constructor, methods and fitted attributes as
``sklearn.mixture.GaussianMixture``, and the same numbers from the same
starting point (the tests hold it to that for every covariance type with
every init), plus ``history_``: the states of the best run, ready for the
scrubber. Where scikit-learn's own arithmetic loses digits, exactness wins
over parity; see the class's Notes.
"""

from __future__ import annotations

import math
from dataclasses import replace
from time import perf_counter

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ._engine import CHUNK_ELEMENTS, Engine, single_threaded
from ._init import initial_state
from ._kernels import cholesky_factors, precision_factors, weighted_log_density_kernel
from ._statistics import compact_covariances, expand_covariances
from ._validation import (
    check_covariance_type,
    check_engine,
    check_enough_points,
    check_init_params,
    check_initial_parameters,
    check_n_components,
    check_number,
)
from ._warnings import warn
from .gaussian import logsumexp_rows
from .states import History

__all__ = ["GaussianMixture"]


class GaussianMixture(DensityMixin, BaseEstimator):
    """Gaussian mixture fitted by EM, with scikit-learn's interface.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
    tol : float, default=1e-3
        Convergence threshold on the change of the mean log-likelihood.
    reg_covar : float, default=1e-6
        Added to the diagonal of the covariances.
    max_iter : int, default=100
    n_init : int, default=1
        Number of initialisations; the best (highest lower bound) is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        scikit-learn's default; :func:`gmm_lab.em` and :func:`gmm_lab.run_em`
        default to 'k-means++'.
    weights_init : array-like of shape (n_components,), default=None
    means_init : array-like of shape (n_components, n_features), default=None
    precisions_init : array-like, default=None
        Shape (n_components, n_features, n_features) for 'full',
        (n_features, n_features) for 'tied', (n_components, n_features) for
        'diag', (n_components,) for 'spherical'.
    random_state : int, RandomState instance or None, default=None
    warm_start : bool, default=False
    verbose : int, default=0
    verbose_interval : int, default=10
    keep_responsibilities : bool, default=False
        Keep gamma_t in every state of ``history_`` (needed to colour points
        by responsibility when scrubbing; costs n_samples x n_components
        floats per iteration).
    engine : {'auto', '2d', 'general'}, default='auto'
        Which exact E-step kernel to use; 'auto' takes the closed-form
        2 x 2 path for two features.

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_
        As in scikit-learn, with covariances in its per-type shapes.
    converged_ : bool
    n_iter_ : int
        Number of M-steps of the best run.
    lower_bound_ : float
        Mean log-likelihood per point before the last M-step (scikit-learn's
        convention).
    lower_bounds_ : list of float
    history_ : History
        EMState 0..n_iter_ of the best run (covariances always full).
    n_features_in_ : int

    Notes
    -----
    To give scikit-learn's numbers, the estimator starts as scikit-learn
    does, where :func:`gmm_lab.em` does not: with the one-point seeds of
    'k-means++' and 'random_from_data', a 'tied' covariance starts from
    scikit-learn's formula (X^T X - sum_k N_k mu_k mu_k^T) / sum_k N_k,
    which sums x x^T over every point, seed or not, and the first lower
    bound includes log(K / N), as scikit-learn's initial weights sum to
    K / N. ``history_[0].weights`` are normalised all the same.

    Where scikit-learn is not exact, the estimator is, and differs:

    - scikit-learn's 'diag', 'spherical' and 'tied' M-steps sum x^2 about the
      origin in one pass; on data far from the origin relative to a
      component's spread (a component on an outlier, data scaled by 1e150)
      they lose digits or overflow. gmm_lab sums about each component's mean.
    - scikit-learn adds 10 eps to every N_k; gmm_lab floors N_k at 10 eps.
      The shift moves a lone point's mean by 10 eps times its distance from
      the origin and adds the square to its variance (4.9e-6 at 1e12 away).
    - With one-point seeds scikit-learn's 'diag' and 'spherical' start at
      reg_covar + about 10 eps x^2 rather than reg_covar: its first lower
      bound differs (by 1 % on formants in Hz); the later ones agree.
    """

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        keep_responsibilities=False,
        engine="auto",
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.keep_responsibilities = keep_responsibilities
        self.engine = engine

    # -- checks ------------------------------------------------------------

    def _check_parameters(self, X):
        n_components = check_n_components(self.n_components)
        check_enough_points(X.shape[0], n_components)
        check_covariance_type(self.covariance_type)
        init = check_init_params(self.init_params)
        check_number(self.tol, "tol", low=0)
        check_number(self.reg_covar, "reg_covar", low=0)
        check_number(self.max_iter, "max_iter", low=0, integer=True)
        check_number(self.n_init, "n_init", low=1, integer=True)
        check_number(self.verbose, "verbose", low=0, integer=True)
        check_number(self.verbose_interval, "verbose_interval", low=1, integer=True)
        check_engine(self.engine, X.shape[1])
        inits = check_initial_parameters(
            self.weights_init, self.means_init, self.precisions_init,
            self.covariance_type, n_components, X.shape[1],
        )
        return n_components, init, inits

    # -- fitting -----------------------------------------------------------

    def fit(self, X, y=None):
        """Fit the mixture with EM (``n_init`` starts, the best kept).

        Returns
        -------
        self
        """
        self.fit_predict(X, y)
        return self

    def fit_predict(self, X, y=None):
        """Fit, then return the most likely component of each point.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        n_components, init, inits = self._check_parameters(X)
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        if not do_init and self.history_[-1].covariance_type != self.covariance_type:
            raise ValueError(
                f"warm_start=True continues the previous fit, whose covariance_type "
                f"was {self.history_[-1].covariance_type!r}; got covariance_type="
                f"{self.covariance_type!r}. Set warm_start=False to start afresh "
                "with the new type."
            )
        n_init = self.n_init if do_init else 1
        random_state = check_random_state(self.random_state)
        engine = Engine(X, self.covariance_type, self.reg_covar, self.engine)
        with single_threaded("blas"):  # gmm_lab's thread policy: see single_threaded
            best = self._run_inits(X, engine, n_components, init, inits, do_init, n_init, random_state)

        lower_bound, states, lower_bounds, converged = best
        if not converged and self.max_iter > 0:
            warn(
                "Best performing initialization did not converge. Try different "
                "init parameters, or increase max_iter, tol, or check for "
                "degenerate data.",
                ConvergenceWarning,
            )
        self._set_state(states[-1])
        self.converged_ = converged
        self.n_iter_ = len(states) - 1
        self.lower_bound_ = lower_bound
        self.lower_bounds_ = lower_bounds
        self.history_ = History(states=states, X=X)
        # X is validated already: a second validate_data on the array would
        # warn that a DataFrame's feature names are missing.
        return self._weighted_chunks(X, lambda weighted: weighted.argmax(axis=1))

    def _run_inits(self, X, engine, n_components, init, inits, do_init, n_init, random_state):
        """Run EM from ``n_init`` starts; return the best (lower_bound, states, lower_bounds, converged)."""
        best = None
        for init_index in range(n_init):
            if self.verbose:
                print(f"Initialization {init_index}")
                started = perf_counter()
            if do_init:
                # scikit-learn's start: its tied covariance, and its first
                # lower bound with weights summing to K / N for one-point seeds
                parameters, first_offset = initial_state(
                    X, n_components, self.covariance_type, init, self.reg_covar,
                    random_state, *inits, like_sklearn=True,
                )
                previous = None
            else:
                parameters = (self.weights_, self.means_, self.history_[-1].covariances)
                previous = self.lower_bound_
                first_offset = 0.0
            states = []
            for state in self._sklearn_states(engine, parameters, previous, first_offset):
                states.append(state)
                if self.verbose >= 1 and state.iteration and state.iteration % self.verbose_interval == 0:
                    before = states[-2].mean_log_likelihood + (first_offset if state.iteration == 1 else 0.0)
                    change = state.mean_log_likelihood - before
                    line = f"  Iteration {state.iteration}"
                    if self.verbose >= 2:
                        line += f"\t time lapse {perf_counter() - started:.5f}s"
                    print(f"{line}\t ll change {change:.5f}")
            if self.max_iter == 0:
                lower_bound = -np.inf
                lower_bounds = []
            else:
                lower_bounds = [s.mean_log_likelihood for s in states[:-1]]
                lower_bounds[0] += first_offset
                lower_bound = lower_bounds[-1]
            converged = self.max_iter > 0 and states[-1].converged
            if self.verbose:
                status = "converged" if converged else "did not converge"
                print(f"Initialization {status}. lower bound {lower_bound:.5f}")
            if best is None or lower_bound > best[0] or best[0] == -np.inf:
                best = (lower_bound, states, lower_bounds, converged)

        return best

    def _sklearn_states(self, engine, parameters, previous, first_offset):
        """The engine's states under scikit-learn's stopping rule and iteration count.

        scikit-learn checks convergence after the M-step that follows the
        converged E-step, so it takes one more step than :func:`gmm_lab.em`;
        that state is marked converged too. ``previous`` is the mean
        log-likelihood a warm start continues from (None: -inf), and
        ``first_offset`` is added to state 0's in the test only
        (scikit-learn's initial weights sum to K / N with one-point seeds).
        """
        previous_mean = -np.inf if previous is None else previous
        converged_at = None
        for state in engine.states(parameters, max_iter=self.max_iter, tol=None,
                                   keep=self.keep_responsibilities):
            mean = state.mean_log_likelihood
            if converged_at is None and abs(mean - previous_mean) < self.tol:
                converged_at = state.iteration
            if converged_at is not None:
                state = replace(state, converged=True)
            yield state
            if converged_at is not None and state.iteration > converged_at:
                return
            previous_mean = mean + (first_offset if state.iteration == 0 else 0.0)

    def _set_state(self, state):
        covariances = np.array(state.covariances)
        self.weights_ = np.array(state.weights)
        self.means_ = np.array(state.means)
        self.covariances_ = compact_covariances(covariances, self.covariance_type)
        # scikit-learn's precisions_cholesky_: U_k = L_k^{-T}, Lambda_k = U_k U_k^T
        factors = precision_factors(cholesky_factors(covariances))
        precisions = factors @ factors.transpose(0, 2, 1)
        if self.covariance_type in ("full", "tied"):
            self.precisions_cholesky_ = compact_covariances(factors, self.covariance_type)
            self.precisions_ = compact_covariances(precisions, self.covariance_type)
        else:
            self.precisions_ = 1.0 / self.covariances_
            self.precisions_cholesky_ = np.sqrt(self.precisions_)

    # -- prediction --------------------------------------------------------

    def _full_covariances(self):
        n_components, n_features = self.means_.shape
        return expand_covariances(
            self.covariances_, self.covariance_type, n_components, n_features
        )

    def _per_chunk(self, X, function):
        """function(log(pi_k N(x_n | mu_k, Sigma_k))) on chunks of rows, concatenated.

        Chunks keep the temporaries at about a MiB however many points are
        scored (fit_predict on a million points ends here).
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self._weighted_chunks(X, function)

    def _weighted_chunks(self, X, function):
        """:meth:`_per_chunk` on an X already validated, with ``self.engine``'s kernel.

        The kernel is prepared once (Cholesky factors, constants) and then
        evaluated chunk by chunk into reused buffers, as the engine does.
        """
        n_components, n_features = self.means_.shape
        method = self.engine if self.engine in ("2d", "general") else "2d" if n_features == 2 else "general"
        with np.errstate(divide="ignore"):  # a weight of 0 gives -inf, which the normaliser handles
            log_weights = np.log(self.weights_)
        kernel, work_rows = weighted_log_density_kernel(
            log_weights, self.means_, self._full_covariances(), method
        )
        step = max(1, min(X.shape[0], CHUNK_ELEMENTS // n_components))
        out = np.empty((n_components, step))
        work = np.empty((n_components * work_rows, step))
        chunks = []
        for start in range(0, X.shape[0], step):
            points = np.ascontiguousarray(X[start : start + step].T, dtype=np.float64)  # (D, chunk)
            weighted = kernel(points, out, work).T  # log(pi_k N(x_n | mu_k, Sigma_k)), (chunk, K)
            chunks.append(function(weighted))
        return np.concatenate(chunks)

    def score_samples(self, X):
        """log p(x_n) = log sum_k pi_k N(x_n | mu_k, Sigma_k) for each point.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self._per_chunk(X, logsumexp_rows)

    def score(self, X, y=None):
        """Mean log-likelihood per point, (1/N) sum_n log p(x_n)."""
        return float(self.score_samples(X).mean())

    def predict_proba(self, X):
        """Responsibilities gamma_nk, shape (n_samples, n_components)."""
        return self._per_chunk(
            X, lambda weighted: np.exp(weighted - logsumexp_rows(weighted)[:, np.newaxis])
        )

    def predict(self, X):
        """Most likely component argmax_k gamma_nk of each point."""
        return self._per_chunk(X, lambda weighted: weighted.argmax(axis=1))

    def sample(self, n_samples=1):
        """Draw points from the fitted mixture (as scikit-learn does).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            The component each point came from.
        """
        check_is_fitted(self)
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
            raise ValueError(
                f"n_samples must be an integer >= 1; got {n_samples!r}. The "
                "sampling requires at least one sample."
            )
        _, n_features = self.means_.shape
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_)
        covariances = self._full_covariances()
        if self.covariance_type in ("full", "tied"):
            X = np.vstack(
                [
                    rng.multivariate_normal(mean, covariance, int(count))
                    for mean, covariance, count in zip(self.means_, covariances, counts)
                ]
            )
        else:
            X = np.vstack(
                [
                    mean + rng.standard_normal(size=(count, n_features)) * np.sqrt(np.diag(cov))
                    for mean, cov, count in zip(self.means_, covariances, counts)
                ]
            )
        y = np.concatenate([np.full(count, k, dtype=int) for k, count in enumerate(counts)])
        return X, y

    # -- model selection ---------------------------------------------------

    def _n_parameters(self):
        """Free parameters: weights (K - 1), means (K D) and covariances."""
        n_components, n_features = self.means_.shape
        covariance_parameters = {
            "full": n_components * n_features * (n_features + 1) / 2.0,
            "diag": n_components * n_features,
            "tied": n_features * (n_features + 1) / 2.0,
            "spherical": n_components,
        }[self.covariance_type]
        return int(covariance_parameters + n_features * n_components + n_components - 1)

    def bic(self, X):
        """Bayesian information criterion: -2 L + p log N (lower is better)."""
        X = np.asarray(X)
        return -2 * self.score(X) * X.shape[0] + self._n_parameters() * math.log(X.shape[0])

    def aic(self, X):
        """Akaike information criterion: -2 L + 2 p (lower is better)."""
        X = np.asarray(X)
        return -2 * self.score(X) * X.shape[0] + 2 * self._n_parameters()
