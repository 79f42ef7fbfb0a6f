"""Multivariate normal densities in log space, from Cholesky factors.

The handout computed

    p(x | mu, Sigma) = exp(-1/2 (x - mu)^T Sigma^{-1} (x - mu)) / ((2 pi)^{D/2} |Sigma|^{1/2})

with ``pinv(Sigma)`` and ``det(Sigma)``, then multiplied raw densities. On
formants in Hz those densities are small: at the centre of a vowel, under
that vowel's own Gaussian, from 3.9e-6 per Hz^2 (AE) to 1.6e-5 (AO), and
they underflow to exactly 0 (below e^-745) some 1900 to 12000 Hz away
along F1 or F2 (tests/test_gaussian.py checks these numbers). The
handout's ``normalize(Z, norm='l1')`` never divides 0 by 0: it leaves a
row whose sum is below 10 eps (2.2e-15) as it is, unnormalised, and an
all-zero row stays zero; the division by zero comes in its M-step, where
a component whose column is all zeros has sum_n Z_nk = 0. Here
everything stays in log space:

    log N(x | mu, Sigma) = -1/2 (D log 2 pi + ||z||^2) - sum_d log L_dd,
    with Sigma = L L^T (Cholesky) and L z = x - mu (a triangular solve),

so ||z||^2 is the squared Mahalanobis distance, log|Sigma| = 2 sum_d log L_dd,
and no inverse or pseudo-inverse of Sigma is ever formed.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "SingularCovarianceError",
    "cholesky_factors",
    "log_gaussian_density",
    "weighted_log_densities",
    "logsumexp_rows",
    "log_responsibilities",
    "responsibilities",
    "log_likelihood",
    "get_predictions",
]

LOG_2PI = np.log(2.0 * np.pi)


class SingularCovarianceError(ValueError):
    """A covariance matrix is not positive definite, so it has no Cholesky factor."""


# ---------------------------------------------------------------------------
# Cholesky factors


def _singular_message(component: int, where: str = "") -> str:
    return (
        f"Covariance of component {component}{where} is not positive definite "
        "(singular or nearly so: its points coincide, lie on a line, or a "
        "feature is a combination of others), so it has no Cholesky factor. "
        "Add a small reg_covar to the diagonal (the default is 1e-6), use fewer "
        "components, or drop redundant features."
    )


def cholesky_factors(covariances, *, where: str = "") -> np.ndarray:
    """Lower Cholesky factors L_k with Sigma_k = L_k L_k^T.

    Parameters
    ----------
    covariances : array-like of shape (n_components, n_features, n_features)
    where : str, optional
        Text such as " at iteration 4" added to the error message.

    Returns
    -------
    ndarray of shape (n_components, n_features, n_features)
        Lower-triangular factors with a positive diagonal.

    Raises
    ------
    SingularCovarianceError
        Naming the first component whose covariance is not positive definite.
    """
    covariances = np.asarray(covariances)
    try:
        factors = np.linalg.cholesky(covariances)
    except np.linalg.LinAlgError:
        factors = None
    if factors is None or not np.all(np.isfinite(factors)):
        for k, covariance in enumerate(covariances):
            try:
                if np.all(np.isfinite(np.linalg.cholesky(covariance))):
                    continue
            except np.linalg.LinAlgError:
                pass
            raise SingularCovarianceError(_singular_message(k, where))
    return factors


def _factors_2d(covariances, where: str = ""):
    """Closed-form 2 x 2 Cholesky factor entries, each of shape (n_components,).

    Sigma = [[a, b], [b, c]] = L L^T with L = [[l11, 0], [l21, l22]]:
    l11 = sqrt(a), l21 = b / l11, l22 = sqrt(c - l21^2).

    Sigma is positive definite exactly when a > 0 and c - l21^2 > 0
    (Sylvester's criterion, a c - b^2 > 0, divided by a). Written this way
    nothing is squared before the square root: l21^2 <= c, so no
    intermediate overflows or underflows where Sigma's own entries do not
    (a c - b^2 overflows above about 1e154 and underflows below 1e-162).
    """
    a = covariances[:, 0, 0]
    b = covariances[:, 1, 0]
    c = covariances[:, 1, 1]
    if not np.all(a > 0):
        raise SingularCovarianceError(_singular_message(int(np.argmin(a > 0)), where))
    l11 = np.sqrt(a)
    l21 = b / l11
    l22_squared = c - l21 * l21
    # positive in exact arithmetic when Sigma is; rounding can take it to 0
    if not np.all(l22_squared > 0):  # also False for NaN
        raise SingularCovarianceError(_singular_message(int(np.argmin(l22_squared > 0)), where))
    return l11, l21, np.sqrt(l22_squared)


# ---------------------------------------------------------------------------
# Log densities: two exact ways to compute the same numbers
#
# Both kernels work in (n_components, n_samples) layout: every whole-array
# operation then runs along the long axis (the samples), which is several
# times faster than (n_samples, n_components) with its inner loops of K.
# Each is prepared once per parameter set and then called on chunks of
# points, writing into buffers the caller reuses.

_HALF_SQRT = np.sqrt(0.5)


def _precision_factors(factors) -> np.ndarray:
    """U_k = L_k^{-T}, so that ||z||^2 = ||(x - mu)^T U_k||^2.

    This inverts the triangular factor L (condition number sqrt(cond Sigma)),
    by a triangular solve, as scikit-learn does; Sigma itself is never
    inverted. It turns the K triangular solves on the data into one matrix
    product per chunk.
    """
    identity = np.broadcast_to(np.eye(factors.shape[1]), factors.shape)
    # triu: the inverse of a lower-triangular matrix is lower-triangular;
    # the general solver leaves 1e-19 where exact zeros belong.
    return np.triu(np.linalg.solve(factors, identity).transpose(0, 2, 1))


class _WeightedLogDensity2D:
    """log(pi_k N(x_n | mu_k, Sigma_k)) for D = 2, shape (n_components, n_samples).

    With Sigma = L L^T, L = [[l11, 0], [l21, l22]], forward substitution
    L z = x - mu reads z1 = dx / l11, z2 = (dy - l21 z1) / l22, and

        log(pi N) = log pi - log 2 pi - log l11 - log l22 - (z1^2 + z2^2) / 2.

    The 1/2 is folded into the coefficients (a factor sqrt(1/2) on each z),
    and everything that does not depend on x into one constant per component:
    exact, and a handful of whole-array operations instead of one small
    matrix call per component.
    """

    def __init__(self, log_weights, means, covariances, dtype=np.float64, where=""):
        l11, l21, l22 = _factors_2d(covariances, where)
        # One (6, K, 1) array, converted once: this runs every iteration.
        coefficients = np.stack([
            means[:, 0],
            means[:, 1],
            _HALF_SQRT / l11,  # sqrt(1/2) z1 = scale_x dx
            _HALF_SQRT / l22,  # sqrt(1/2) z2 = scale_y dy - cross dx
            _HALF_SQRT * (l21 / l11) / l22,
            log_weights - np.log(l11) - np.log(l22) - LOG_2PI,
        ]).astype(dtype, copy=False)[:, :, np.newaxis]
        self.mean_x, self.mean_y, self.scale_x, self.scale_y, cross, self.constant = coefficients
        self.cross = cross if l21.any() else None  # diagonal covariances have l21 = 0

    def __call__(self, X_t, out, work):
        """Evaluate on points X_t of shape (2, n) into ``out`` (K, n); ``work`` is (2 K, n)."""
        n = X_t.shape[1]
        n_components = out.shape[0]
        dx = np.subtract(X_t[0], self.mean_x, out=out[:, :n])
        dy = np.subtract(X_t[1], self.mean_y, out=work[:n_components, :n])
        dy *= self.scale_y
        if self.cross is not None:
            dy -= np.multiply(dx, self.cross, out=work[n_components:, :n])
        dx *= self.scale_x
        dx *= dx
        dy *= dy
        dx += dy  # ||z||^2 / 2
        return np.subtract(self.constant, dx, out=dx)


class _WeightedLogDensityGeneral:
    """log(pi_k N(x_n | mu_k, Sigma_k)) for any D, shape (n_components, n_samples).

    z_nk = U_k^T (x_n - mu_k) for all k at once: one (K D, D) @ (D, n)
    product, minus U_k^T mu_k; then ||z||^2 / 2 (the 1/2 folded into U)
    and log(pi N) = log pi - (D/2) log 2 pi - sum_d log L_dd - ||z||^2 / 2.
    """

    def __init__(self, log_weights, means, covariances, dtype=np.float64, where=""):
        factors = cholesky_factors(covariances, where=where)
        n_components, n_features, _ = factors.shape
        scaled = _precision_factors(factors) * _HALF_SQRT  # (K, D, D)
        self.n_features = n_features
        self.stacked = np.ascontiguousarray(
            scaled.transpose(0, 2, 1).reshape(n_components * n_features, n_features), dtype=dtype
        )
        offsets = np.einsum("kd,kde->ke", means, scaled)  # U_k^T mu_k
        self.offsets = np.asarray(offsets.reshape(-1, 1), dtype=dtype)
        log_det = np.log(np.diagonal(factors, axis1=1, axis2=2)).sum(axis=1)
        self.constant = np.asarray(
            log_weights - log_det - 0.5 * n_features * LOG_2PI, dtype=dtype
        )[:, np.newaxis]

    def __call__(self, X_t, out, work):
        """Evaluate on points X_t of shape (D, n) into ``out`` (K, n); ``work`` is (K D, n)."""
        n = X_t.shape[1]
        z = np.matmul(self.stacked, X_t, out=work[:, :n])
        z -= self.offsets
        z *= z
        squared = np.add.reduce(z.reshape(-1, self.n_features, n), axis=1, out=out[:, :n])
        return np.subtract(self.constant, squared, out=squared)


def _weighted_log_density_kernel(log_weights, means, covariances, method, dtype=np.float64, where=""):
    """The kernel for ``method`` ('2d' or 'general') and its scratch-buffer height."""
    if method == "2d":
        return _WeightedLogDensity2D(log_weights, means, covariances, dtype, where), 2
    return _WeightedLogDensityGeneral(log_weights, means, covariances, dtype, where), means.shape[1]


def _check_2d_array(X, name="X"):
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_samples, n_features); got an "
            f"array of shape {X.shape}. Use X.reshape(-1, 1) for a single feature."
        )
    if not np.all(np.isfinite(X)):
        rows = np.flatnonzero(~np.isfinite(X).all(axis=1))
        raise ValueError(
            f"{name} contains NaN or infinity in {rows.size} row(s), the first "
            f"at row {rows[0]}. Drop or fill those rows first."
        )
    return X


def _check_parameters(means, covariances, n_features):
    means = np.asarray(means, dtype=float)
    covariances = np.asarray(covariances, dtype=float)
    if means.ndim != 2 or means.shape[1] != n_features:
        raise ValueError(
            f"means must have shape (n_components, {n_features}); got {means.shape}."
        )
    expected = (means.shape[0], n_features, n_features)
    if covariances.shape != expected:
        raise ValueError(
            f"covariances must have shape {expected} (one full matrix per "
            f"component); got {covariances.shape}."
        )
    return means, covariances


def log_gaussian_density(X, means, covariances, *, method="auto") -> np.ndarray:
    """log N(x_n | mu_k, Sigma_k) for every point and component.

    log N(x | mu, Sigma) = -1/2 (D log 2 pi + ||z||^2) - sum_d log L_dd,
    where Sigma = L L^T and L z = x - mu.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    means : array-like of shape (n_components, n_features)
    covariances : array-like of shape (n_components, n_features, n_features)
    method : {'auto', '2d', 'general'}, default='auto'
        '2d' writes the 2 x 2 Cholesky factor out in closed form (D = 2
        only); 'general' works for any D; 'auto' picks '2d' when D = 2.
        Both give the same numbers up to rounding.

    Returns
    -------
    ndarray of shape (n_samples, n_components)
    """
    return _evaluate(X, None, means, covariances, method)


def weighted_log_densities(X, weights, means, covariances, *, method="auto") -> np.ndarray:
    """log(pi_k N(x_n | mu_k, Sigma_k)), shape (n_samples, n_components).

    A component with weight 0 gets -inf, which the normaliser handles.
    """
    return _evaluate(X, weights, means, covariances, method)


def _evaluate(X, weights, means, covariances, method):
    """Check the inputs, pick the kernel, evaluate on all points at once."""
    X = _check_2d_array(X)
    means, covariances = _check_parameters(means, covariances, X.shape[1])
    if method == "auto":
        method = "2d" if X.shape[1] == 2 else "general"
    if method not in ("2d", "general"):
        raise ValueError(f"method must be 'auto', '2d' or 'general'; got {method!r}.")
    if method == "2d" and X.shape[1] != 2:
        raise ValueError(f"method='2d' needs 2 features; X has {X.shape[1]}.")
    n_components = means.shape[0]
    if weights is None:
        log_weights = np.zeros(n_components)
    else:
        with np.errstate(divide="ignore"):
            log_weights = np.log(np.asarray(weights, dtype=float))
    kernel, work_rows = _weighted_log_density_kernel(log_weights, means, covariances, method)
    out = np.empty((n_components, X.shape[0]))
    work = np.empty((n_components * work_rows, X.shape[0]))
    return kernel(X.T, out, work).T


def logsumexp_rows(a) -> np.ndarray:
    """log sum_k exp(a_nk) for each row, without overflow or underflow.

    log sum_k exp(a_nk) = m_n + log sum_k exp(a_nk - m_n), m_n = max_k a_nk,
    so the largest term is exp(0) = 1 and the sum is at least 1.

    Parameters
    ----------
    a : array-like of shape (n_samples, n_components)

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    a = np.asarray(a, dtype=float)
    row_max = a.max(axis=1, keepdims=True)
    # A row of -inf (every weight zero) would give -inf - -inf = nan.
    row_max[~np.isfinite(row_max)] = 0.0
    with np.errstate(divide="ignore"):
        return row_max[:, 0] + np.log(np.exp(a - row_max).sum(axis=1))


def log_responsibilities(X, weights, means, covariances) -> tuple:
    """The E-step in log space.

    log gamma_nk = log(pi_k N(x_n | mu_k, Sigma_k)) - log sum_j pi_j N(x_n | mu_j, Sigma_j)

    Returns
    -------
    log_resp : ndarray of shape (n_samples, n_components)
    log_norm : ndarray of shape (n_samples,)
        log p(x_n) = log sum_k pi_k N(x_n | mu_k, Sigma_k).
    """
    weighted = weighted_log_densities(X, weights, means, covariances)
    log_norm = logsumexp_rows(weighted)
    return weighted - log_norm[:, np.newaxis], log_norm


def responsibilities(X, weights, means, covariances) -> np.ndarray:
    """gamma_nk = pi_k N(x_n | mu_k, Sigma_k) / sum_j pi_j N(x_n | mu_j, Sigma_j).

    Returns
    -------
    ndarray of shape (n_samples, n_components)
        Rows sum to 1, even for points a million standard deviations away.
    """
    log_resp, _ = log_responsibilities(X, weights, means, covariances)
    return np.exp(log_resp)


def log_likelihood(X, weights, means, covariances) -> float:
    """L = sum_n log sum_k pi_k N(x_n | mu_k, Sigma_k), the total over the points."""
    return float(logsumexp_rows(weighted_log_densities(X, weights, means, covariances)).sum())


def get_predictions(mu, s, p, X) -> np.ndarray:
    """The handout's E-step numerator: Z_nk = p_k N(x_n | mu_k, s_k).

    Same signature and meaning as the lecture handout's function, computed
    from log densities and Cholesky factors (no ``pinv``, no determinant of
    a raw matrix) and exponentiated only at the end.

    Parameters
    ----------
    mu : array-like of shape (n_components, n_features)
        Means of the components.
    s : array-like of shape (n_components, n_features, n_features)
        Covariances of the components.
    p : array-like of shape (n_components,)
        Weights of the components.
    X : array-like of shape (n_samples, n_features)
        The data.

    Returns
    -------
    Z : ndarray of shape (n_samples, n_components)
        Weighted densities. They are still raw densities: on Hz-scale data
        they underflow to 0 far from every component, which is why the EM in
        gmm_lab normalises in log space (:func:`responsibilities`) instead of
        dividing Z by its row sums.

    Raises
    ------
    ValueError
        When p is not one finite, non-negative weight per component, or mu
        or s hold NaN or infinity.
    """
    mu = np.asarray(mu, dtype=float)
    n_components = mu.shape[0] if mu.ndim == 2 else None
    p = _check_weights(p, n_components, name="p")
    for name, value in (("mu", mu), ("s", s)):
        if not np.all(np.isfinite(np.asarray(value, dtype=float))):
            raise ValueError(
                f"{name} contains NaN or infinity; the parameters must be finite. "
                "Check the step that computed them (an M-step dividing by an empty "
                "component's N_k = 0 gives NaN)."
            )
    return np.exp(weighted_log_densities(X, p, mu, s))


def _check_weights(weights, n_components, name="weights") -> np.ndarray:
    """Mixture weights pi_k: shape (n_components,), finite, >= 0."""
    weights = np.asarray(weights, dtype=float)
    if weights.ndim == 2 and weights.shape[1] == 1:  # a column, as some handouts keep it
        weights = weights[:, 0]
    if weights.ndim != 1 or (n_components is not None and weights.shape[0] != n_components):
        raise ValueError(
            f"{name} must have shape (n_components,) = ({n_components},), one weight "
            f"per component; got shape {weights.shape}."
        )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        bad = int(np.flatnonzero(~(np.isfinite(weights) & (weights >= 0)))[0])
        raise ValueError(
            f"{name} must be finite and >= 0 (mixing weights pi_k, summing to 1); "
            f"got {float(weights[bad])!r} for component {bad}. Weights are N_k / N."
        )
    return weights
