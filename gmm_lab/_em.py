"""Expectation-Maximization for Gaussian mixtures, one state per iteration.

The contract (lesson 3, ``notebooks/03_em_step_by_step.ipynb``, walks
through it): state t holds theta_t = (pi, mu, Sigma), the responsibilities
gamma_t computed from theta_t (E-step) and the log-likelihood L(theta_t);
theta_{t+1} is the M-step applied to gamma_t:

    N_k     = sum_n gamma_nk
    mu_k    = (1/N_k) sum_n gamma_nk x_n
    Sigma_k = (1/N_k) sum_n gamma_nk (x_n - mu_k)(x_n - mu_k)^T + reg_covar I
    pi_k    = N_k / N

The code to read is :mod:`gmm_lab.reference` (the E-step, the M-step and
the loop, with the equation beside each line). :func:`em` runs the same
algorithm on the fast engine (``gmm_lab._engine``: the E-step and the
M-step's sums in one chunked pass), and the tests hold the two to the same
numbers at every iteration.

Where em() / run_em() deliberately differ from scikit-learn's
GaussianMixture (the estimator :class:`gmm_lab.GaussianMixture` follows
scikit-learn in the first two, to give its numbers):

- the initial weights sum to 1 (scikit-learn's sum to K / N with the
  one-point seeds of 'k-means++' and 'random_from_data'); only L(theta_0)
  changes, no responsibility;
- with those seeds, a 'tied' start is the exact M-step of the seeds,
  reg_covar I (scikit-learn sums x x^T over all points, seed or not);
- the default init is 'k-means++' (scikit-learn's is 'kmeans');
- the run stops at the first converged state (scikit-learn takes one
  more M-step);
- N_k is floored at 10 machine epsilons rather than increased by them (the
  same for an empty component; scikit-learn's shift moves a lone point's
  mean by 10 eps of its distance from the origin, and its variance by the
  square: (10 eps * 1e12)^2 = 4.9e-6, five times reg_covar);
- every covariance type is summed about the component's mean:
  scikit-learn's 'diag', 'spherical' and 'tied' M-steps sum x^2 about the
  origin in one pass and lose digits the same way on far points; there
  gmm_lab is exact and differs from scikit-learn.
"""

from __future__ import annotations

from ._engine import CHUNK_ELEMENTS, Engine  # noqa: F401 (CHUNK_ELEMENTS: kept importable here)
from ._init import initial_parameters
from ._statistics import compact_covariances, expand_covariances  # noqa: F401 (kept importable here)
from ._validation import (  # noqa: F401 (the tuples of names: kept importable here)
    COVARIANCE_TYPES,
    ENGINES,
    INIT_METHODS,
    check_covariance_type,
    check_data,
    check_engine,
    check_init_params,
    check_initial_parameters,
    check_n_components,
    check_number,
)
from ._warnings import warn
from .exceptions import CollapsedComponentWarning, RegularizationWarning
from .states import EMState, History  # noqa: F401 (EMState: what em() yields)

__all__ = [
    "COVARIANCE_TYPES",
    "INIT_METHODS",
    "CollapsedComponentWarning",
    "RegularizationWarning",
    "em",
    "run_em",
    "e_step",
    "m_step",
    "initial_parameters",
]



def e_step(X, weights, means, covariances) -> tuple:
    """The E-step: (responsibilities, log-likelihood); :func:`gmm_lab.reference.e_step`.

    The reference module is imported on first use (it loads scipy.linalg,
    which ``import gmm_lab`` should not).
    """
    from . import reference

    return reference.e_step(X, weights, means, covariances)


def m_step(X, responsibilities, covariance_type="full", reg_covar=1e-6) -> tuple:
    """The M-step: (weights, means, covariances); :func:`gmm_lab.reference.m_step`."""
    from . import reference

    return reference.m_step(X, responsibilities, covariance_type, reg_covar)


def em(
    X,
    n_components,
    *,
    covariance_type="full",
    init_params="k-means++",
    max_iter=100,
    tol=1e-3,
    reg_covar=1e-6,
    random_state=None,
    means_init=None,
    weights_init=None,
    precisions_init=None,
    keep_responsibilities=True,
    engine="auto",
):
    """Run EM and yield an :class:`EMState` per iteration, state 0 first.

    Parameter names and meanings are scikit-learn's GaussianMixture's.
    Inputs are checked here, when ``em`` is called, not at the first
    ``next()``. Where em() deliberately differs from scikit-learn (the
    default init, normalised initial weights, the exact 'tied' start with
    one-point seeds, stopping at the converged state, exact M-steps on far
    points), the module docstring lists it; :class:`gmm_lab.GaussianMixture`
    gives scikit-learn's numbers.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        float64, or float32 to run the E-step in single precision: about
        twice as fast on large data, with parameters and log-likelihoods
        agreeing with float64 to about 1e-4 relative (the sufficient
        statistics are always summed in float64).
    n_components : int
        K, the number of Gaussians.
    covariance_type : {'full', 'diag', 'spherical', 'tied'}, default='full'
    init_params : {'k-means++', 'kmeans', 'random', 'random_from_data'}, default='k-means++'
        How theta_0 is chosen when means_init etc. are not given. The
        default differs from :class:`gmm_lab.GaussianMixture`'s, which is
        scikit-learn's 'kmeans'; the lessons always pass init_params.
    max_iter : int, default=100
        The most M-steps to take; the last state is at most ``max_iter``.
    tol : float, default=1e-3
        Stop when the mean log-likelihood per point changes by less.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance, so none is singular.
    random_state : int, RandomState or None
        Seeds the initialisation.
    means_init, weights_init, precisions_init : array-like, optional
        Explicit theta_0 (precisions in scikit-learn's per-type shape).
    keep_responsibilities : bool, default=True
        Store gamma_t in every state (the scrubber colours points with it);
        turn off for large data.
    engine : {'auto', '2d', 'general'}, default='auto'
        The closed-form 2 x 2 path or the general one; 'auto' picks '2d'
        for two features. Both give the same numbers up to rounding.

    Yields
    ------
    EMState
        Immutable snapshots, t = 0, 1, ..., until converged or max_iter.

    Examples
    --------
    >>> from gmm_lab import em, load_vowels
    >>> X = load_vowels(["IY", "IH"]).X
    >>> for state in em(X, 2, random_state=0):
    ...     pass
    >>> state.converged
    True
    """
    n_components = check_n_components(n_components)
    X = check_data(X, n_components)
    covariance_type = check_covariance_type(covariance_type)
    init_params = check_init_params(init_params)
    check_number(max_iter, "max_iter", low=0, integer=True)
    check_number(tol, "tol", low=0)
    check_number(reg_covar, "reg_covar", low=0)
    check_engine(engine, X.shape[1])
    weights_init, means_init, precisions_init = check_initial_parameters(
        weights_init, means_init, precisions_init, covariance_type, n_components, X.shape[1]
    )
    parameters = initial_parameters(
        X,
        n_components,
        covariance_type=covariance_type,
        init_params=init_params,
        reg_covar=reg_covar,
        random_state=random_state,
        weights_init=weights_init,
        means_init=means_init,
        precisions_init=precisions_init,
    )
    engine = Engine(X, covariance_type, reg_covar, engine)
    return engine.states(parameters, max_iter=max_iter, tol=tol, keep=keep_responsibilities)


def run_em(
    X,
    n_components,
    *,
    covariance_type="full",
    init_params="k-means++",
    max_iter=100,
    tol=1e-3,
    reg_covar=1e-6,
    random_state=None,
    means_init=None,
    weights_init=None,
    precisions_init=None,
    keep_responsibilities=True,
    engine="auto",
) -> History:
    """Run :func:`em` to the end and return the :class:`History` of states.

    Takes the same arguments as :func:`em`, with the same defaults (among
    them ``init_params='k-means++'``; :class:`gmm_lab.GaussianMixture`
    defaults to scikit-learn's 'kmeans'), and differs from scikit-learn
    where :func:`em` does. Warns with scikit-learn's ``ConvergenceWarning``
    when max_iter is reached before convergence.

    Returns
    -------
    History
        States 0, 1, ... and X (read-only).
    """
    X = check_data(X)
    states = list(em(
        X, n_components, covariance_type=covariance_type, init_params=init_params,
        max_iter=max_iter, tol=tol, reg_covar=reg_covar, random_state=random_state,
        means_init=means_init, weights_init=weights_init, precisions_init=precisions_init,
        keep_responsibilities=keep_responsibilities, engine=engine,
    ))
    if not states[-1].converged and max_iter > 0:
        from sklearn.exceptions import ConvergenceWarning

        warn(
            f"EM did not converge in {len(states) - 1} iterations (tol={tol}). "
            "Increase max_iter or tol, or try another initialisation.",
            ConvergenceWarning,
        )
    return History(states=states, X=X)
