"""Choosing a mixture: BIC, AIC and held-out log-likelihood over K x covariance type.

For each covariance type and each number of components K one
:class:`~gmm_lab.GaussianMixture` is fitted (the best of ``n_init`` EM
starts) on the training points. Three criteria then judge the same fitted
models:

    BIC = -2 L + p log N          (lower is better)
    AIC = -2 L + 2 p              (lower is better)
    held-out = (1/M) sum_m log p(x_m)   over M points not used in fitting
                                  (higher is better)

with L = sum_n log p(x_n) the training log-likelihood, N the number of
training points and p the number of free parameters. As in scikit-learn's
example ``plot_gmm_selection``.

Also here: the log-density of a fitted mixture on a grid, for contour plots.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from .mixture import GaussianMixture

__all__ = [
    "SELECTION_COVARIANCE_TYPES",
    "CriteriaGrid",
    "criteria_grid",
    "n_parameters",
    "log_density_grid",
]

# The order of scikit-learn's plot_gmm_selection example.
SELECTION_COVARIANCE_TYPES = ("spherical", "tied", "diag", "full")


def n_parameters(n_components, n_features: int, covariance_type: str):
    """Free parameters of a Gaussian mixture.

    (K - 1) weights + K D mean coordinates + the covariance parameters:
    K D (D + 1) / 2 for 'full', D (D + 1) / 2 for 'tied', K D for 'diag',
    K for 'spherical'.

    Parameters
    ----------
    n_components : int or ndarray of int
        K.
    n_features : int
        D.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}

    Returns
    -------
    int or ndarray of int
    """
    K = np.asarray(n_components)
    D = n_features
    covariance = {
        "full": K * D * (D + 1) // 2,
        "tied": np.full_like(K, D * (D + 1) // 2),
        "diag": K * D,
        "spherical": K,
    }
    if covariance_type not in covariance:
        raise ValueError(
            f"covariance_type must be one of {tuple(covariance)}; got {covariance_type!r}."
        )
    return (K - 1) + K * D + covariance[covariance_type]


@dataclass(frozen=True)
class CriteriaGrid:
    """Fits over K x covariance type and the criteria that judge them.

    Attributes
    ----------
    n_components : ndarray of shape (n_k,)
        The values of K tried.
    covariance_types : tuple of str, length n_types
    log_likelihood : ndarray of shape (n_types, n_k)
        L = sum_n log p(x_n) of the best of ``n_init`` starts, on the
        training points.
    n_parameters : ndarray of shape (n_types, n_k)
        p of each model.
    n_samples : int
        N, the number of training points.
    held_out : ndarray of shape (n_types, n_k) or None
        Mean log-likelihood per held-out point, or None when none were given.
    n_init : int
    init_params : str
    random_state : int or None
    """

    n_components: np.ndarray
    covariance_types: tuple
    log_likelihood: np.ndarray
    n_parameters: np.ndarray
    n_samples: int
    held_out: np.ndarray | None
    n_init: int
    init_params: str
    random_state: int | None

    @property
    def bic(self) -> np.ndarray:
        """-2 L + p log N, shape (n_types, n_k)."""
        return -2.0 * self.log_likelihood + self.n_parameters * np.log(self.n_samples)

    @property
    def aic(self) -> np.ndarray:
        """-2 L + 2 p, shape (n_types, n_k)."""
        return -2.0 * self.log_likelihood + 2.0 * self.n_parameters

    def criterion(self, name: str) -> np.ndarray:
        """'bic', 'aic' or 'held_out', shape (n_types, n_k)."""
        if name == "held_out":
            if self.held_out is None:
                raise ValueError("No held-out points were given to criteria_grid.")
            return self.held_out
        if name in ("bic", "aic"):
            return getattr(self, name)
        raise ValueError(f"criterion must be 'bic', 'aic' or 'held_out'; got {name!r}.")

    def best(self, name: str) -> tuple:
        """(covariance_type, K) that the criterion prefers.

        The lowest BIC or AIC, the highest held-out log-likelihood.
        """
        values = self.criterion(name)
        flat = np.argmax(values) if name == "held_out" else np.argmin(values)
        row, column = np.unravel_index(flat, values.shape)
        return self.covariance_types[row], int(self.n_components[column])

    def best_k(self, name: str, covariance_type: str) -> int:
        """The K the criterion prefers for one covariance type."""
        values = self.criterion(name)[self.covariance_types.index(covariance_type)]
        column = np.argmax(values) if name == "held_out" else np.argmin(values)
        return int(self.n_components[column])

    def likelihood_falls(self, covariance_type: str) -> np.ndarray:
        """The K at which the training L is lower than at the K before it.

        A mixture with K + 1 components can represent every mixture with K
        (give the extra component a copy of another's parameters and split
        the weight), so the *best* L never falls as K grows. Every K listed
        here is one where EM, from all its starts, stopped at a worse
        optimum than the best one: an EM failure, not a property of the data.
        Only consecutive values of K are compared.
        """
        row = self.log_likelihood[self.covariance_types.index(covariance_type)]
        consecutive = np.diff(self.n_components) == 1
        falls = (np.diff(row) < 0) & consecutive
        return self.n_components[1:][falls]


def criteria_grid(X, n_components, covariance_types=SELECTION_COVARIANCE_TYPES, *,
                  X_held_out=None, n_init: int = 10, init_params: str = "kmeans",
                  random_state=0, **options) -> CriteriaGrid:
    """Fit a mixture for every K and covariance type; collect L, p and held-out scores.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Training points.
    n_components : sequence of int
        The values of K to try.
    covariance_types : sequence of str, default=('spherical', 'tied', 'diag', 'full')
    X_held_out : array-like of shape (n_held_out, n_features), optional
        Points not used in fitting, scored by each model.
    n_init : int, default=10
        EM starts per model; the one with the highest log-likelihood is kept.
    init_params : str, default='kmeans'
        How each start is chosen (see :class:`~gmm_lab.GaussianMixture`).
    random_state : int or None, default=0
        Seeds every model's starts (the same seed for each K and type).
    **options
        Passed to :class:`~gmm_lab.GaussianMixture` (``tol``, ``reg_covar``, ...).

    Returns
    -------
    CriteriaGrid
    """
    X = np.asarray(X, dtype=float)
    ks = np.array(list(n_components), dtype=int)
    types = tuple(covariance_types)
    log_likelihood = np.empty((len(types), ks.size))
    held_out = None if X_held_out is None else np.empty((len(types), ks.size))
    # The 'kmeans' start runs scikit-learn's KMeans, whose OpenMP threads
    # were measured stalling each other on a busy 2-core machine (0.8 s per
    # call against 0.02 s with one thread): one thread is plenty for a few
    # thousand points.
    with threadpool_limits(limits=1, user_api="openmp"):
        for row, covariance_type in enumerate(types):
            for column, k in enumerate(ks):
                model = GaussianMixture(
                    int(k), covariance_type=covariance_type, n_init=n_init,
                    init_params=init_params, random_state=random_state, **options,
                ).fit(X)
                log_likelihood[row, column] = model.score(X) * X.shape[0]
                if held_out is not None:
                    held_out[row, column] = model.score(X_held_out)
    parameters = np.array([n_parameters(ks, X.shape[1], t) for t in types])
    return CriteriaGrid(
        n_components=ks, covariance_types=types, log_likelihood=log_likelihood,
        n_parameters=parameters, n_samples=X.shape[0], held_out=held_out,
        n_init=n_init, init_params=init_params, random_state=random_state,
    )


def log_density_grid(model, x_range, y_range, *, dims=(0, 1), resolution: int = 200) -> tuple:
    """log p(x) of a fitted two-feature mixture on a regular grid.

    Parameters
    ----------
    model : fitted estimator with ``score_samples``
        Fitted on two features.
    x_range, y_range : (float, float)
        Extent of the grid along the axes' x and y.
    dims : (int, int), default=(0, 1)
        The model's features on x and y: (1, 0) puts feature 1 (F2) across.
    resolution : int, default=200
        Grid points along each axis.

    Returns
    -------
    xx, yy : ndarray of shape (resolution, resolution)
        Grid coordinates (``np.meshgrid``).
    log_density : ndarray of shape (resolution, resolution)
        log p at each grid point, in log(1 / unit^2).
    """
    xs = np.linspace(*x_range, resolution)
    ys = np.linspace(*y_range, resolution)
    xx, yy = np.meshgrid(xs, ys)
    points = np.empty((xx.size, 2))
    points[:, dims[0]] = xx.ravel()
    points[:, dims[1]] = yy.ravel()
    return xx, yy, model.score_samples(points).reshape(xx.shape)
