"""theta_0: the starting point of EM, as scikit-learn's GaussianMixture makes it.

'kmeans' runs k-means once and 'random' draws uniform responsibilities;
'k-means++' and 'random_from_data' pick one seed point per component. The
M-step of those responsibilities gives theta_0 (parameters passed
explicitly replace the corresponding part).
"""

from __future__ import annotations

import numpy as np

from ._engine import single_threaded
from ._statistics import covariances_from_precisions, two_pass_m_step

__all__ = ["initial_parameters", "initial_state"]


def _initial_responsibilities(X, n_components, init_params, random_state) -> np.ndarray:
    """A first assignment of points to components, as scikit-learn makes it.

    'kmeans' runs k-means once; 'k-means++' and 'random_from_data' each pick
    n_components points as seeds (one point per component); 'random' draws
    uniform responsibilities.
    """
    from sklearn.cluster import KMeans, kmeans_plusplus

    n_samples = X.shape[0]
    resp = np.zeros((n_samples, n_components), dtype=X.dtype)
    if init_params == "kmeans":
        with single_threaded():  # see gmm_lab._engine.single_threaded
            labels = (
                KMeans(n_clusters=n_components, n_init=1, random_state=random_state)
                .fit(X)
                .labels_
            )
        resp[np.arange(n_samples), labels] = 1
    elif init_params == "random":
        resp = random_state.uniform(size=(n_samples, n_components)).astype(X.dtype)
        resp /= resp.sum(axis=1)[:, np.newaxis]
    elif init_params == "random_from_data":
        indices = random_state.choice(n_samples, size=n_components, replace=False)
        resp[indices, np.arange(n_components)] = 1
    else:  # k-means++
        with single_threaded():
            _, indices = kmeans_plusplus(X, n_components, random_state=random_state)
        resp[indices, np.arange(n_components)] = 1
    return resp


def initial_parameters(
    X,
    n_components,
    *,
    covariance_type="full",
    init_params="k-means++",
    reg_covar=1e-6,
    random_state=None,
    weights_init=None,
    means_init=None,
    precisions_init=None,
) -> tuple:
    """theta_0 = (weights, means, covariances), as scikit-learn initialises.

    Parameters not given explicitly come from the M-step applied to the
    initial responsibilities of ``init_params`` (default 'k-means++', as
    :func:`gmm_lab.em`; :class:`gmm_lab.GaussianMixture` defaults to
    scikit-learn's 'kmeans'); precisions_init is turned into covariances
    (Sigma = Lambda^{-1}).

    Two deliberate differences from scikit-learn, both only with the
    one-point seeds of 'k-means++' and 'random_from_data' (where a row of
    the responsibilities sums to 0 unless its point is a seed):

    - the weights are normalised to sum to 1 (scikit-learn's sum to K / N);
      no responsibility changes, only L(theta_0);
    - a 'tied' covariance is the exact M-step of the seeds, reg_covar I
      (scikit-learn's formula sums x x^T over every point, seed or not,
      and starts from a covariance as wide as the data's second moment).

    :class:`~gmm_lab.GaussianMixture` follows scikit-learn in both, to give
    its numbers.

    Returns
    -------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)
    """
    parameters, _ = initial_state(
        X, n_components, covariance_type, init_params, reg_covar, random_state,
        weights_init, means_init, precisions_init,
    )
    return parameters


def initial_state(
    X, n_components, covariance_type, init_params, reg_covar, random_state,
    weights_init, means_init, precisions_init, *, like_sklearn=False,
) -> tuple:
    """:func:`initial_parameters`, and log of scikit-learn's initial weight sum.

    With ``like_sklearn`` the tied covariance is scikit-learn's
    (X^T X - sum_k N_k mu_k mu_k^T) / sum_k N_k + reg_covar I: the exact
    one plus sum_n (1 - r_n) x_n x_n^T / sum_k N_k, r_n = sum_k gamma_nk
    (zero when every row sums to 1, as with 'kmeans' and 'random').

    Returns
    -------
    (weights, means, covariances), log_weight_sum
        log_weight_sum is log(sum_k N_k / n_samples): what scikit-learn's
        first lower bound adds to L(theta_0) / N (0 with weights_init).
    """
    n_features = X.shape[1]
    weights = means = covariances = None
    log_weight_sum = 0.0
    if weights_init is None or means_init is None or precisions_init is None:
        from sklearn.utils import check_random_state

        random_state = check_random_state(random_state)
        X64 = np.asarray(X, dtype=np.float64)
        resp = np.asarray(_initial_responsibilities(X, n_components, init_params, random_state),
                          dtype=np.float64)
        counts, means, covariances = two_pass_m_step(X64, resp, covariance_type, reg_covar)
        weights = counts / counts.sum()
        if weights_init is None:
            log_weight_sum = float(np.log(counts.sum() / X.shape[0]))
        if like_sklearn and covariance_type == "tied":
            missing = 1.0 - resp.sum(axis=1)  # 1 - r_n
            missing[np.abs(missing) < 1e-8] = 0.0
            extra = (missing * X64.T) @ X64 / counts.sum()
            covariances = covariances + extra
    if weights_init is not None:
        weights = np.array(weights_init, dtype=np.float64)
    if means_init is not None:
        means = np.array(means_init, dtype=np.float64)
    if precisions_init is not None:
        covariances = covariances_from_precisions(
            np.asarray(precisions_init, dtype=np.float64), covariance_type, n_components, n_features
        )
    return (weights, means, covariances), log_weight_sum
