"""The fast E-step kernels: log(pi_k N(x_n | mu_k, Sigma_k)) for many points at once.

These are the engine's (``gmm_lab._engine``) and the public densities'
(:mod:`gmm_lab.gaussian`) arithmetic, not the code to learn EM from: that
is :mod:`gmm_lab.reference`, which computes the same numbers one component
at a time with scipy's Cholesky factor and triangular solve.

Both kernels work in (n_components, n_samples) layout: every whole-array
operation then runs along the long axis (the samples), which is several
times faster than (n_samples, n_components) with its inner loops of K.
Each is prepared once per parameter set and then called on chunks of
points, writing into buffers the caller reuses.
"""

from __future__ import annotations

import numpy as np

from .exceptions import SingularCovarianceError

__all__ = [
    "LOG_2PI",
    "cholesky_factors",
    "factors_2d",
    "precision_factors",
    "WeightedLogDensity2D",
    "WeightedLogDensityGeneral",
    "weighted_log_density_kernel",
]

LOG_2PI = np.log(2.0 * np.pi)
HALF_SQRT = np.sqrt(0.5)


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
            raise SingularCovarianceError.for_component(k, where)
    return factors


def factors_2d(covariances, where: str = ""):
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
        raise SingularCovarianceError.for_component(int(np.argmin(a > 0)), where)
    l11 = np.sqrt(a)
    l21 = b / l11
    l22_squared = c - l21 * l21
    # positive in exact arithmetic when Sigma is; rounding can take it to 0
    if not np.all(l22_squared > 0):  # also False for NaN
        raise SingularCovarianceError.for_component(int(np.argmin(l22_squared > 0)), where)
    return l11, l21, np.sqrt(l22_squared)


# ---------------------------------------------------------------------------
# the two kernels: two exact ways to compute the same numbers


def precision_factors(factors) -> np.ndarray:
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


class WeightedLogDensity2D:
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
        l11, l21, l22 = factors_2d(covariances, where)
        # One (6, K, 1) array, converted once: this runs every iteration.
        coefficients = np.stack([
            means[:, 0],
            means[:, 1],
            HALF_SQRT / l11,  # sqrt(1/2) z1 = scale_x dx
            HALF_SQRT / l22,  # sqrt(1/2) z2 = scale_y dy - cross dx
            HALF_SQRT * (l21 / l11) / l22,
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


class WeightedLogDensityGeneral:
    """log(pi_k N(x_n | mu_k, Sigma_k)) for any D, shape (n_components, n_samples).

    z_nk = U_k^T (x_n - mu_k) for all k at once: one (K D, D) @ (D, n)
    product, minus U_k^T mu_k; then ||z||^2 / 2 (the 1/2 folded into U)
    and log(pi N) = log pi - (D/2) log 2 pi - sum_d log L_dd - ||z||^2 / 2.
    """

    def __init__(self, log_weights, means, covariances, dtype=np.float64, where=""):
        factors = cholesky_factors(covariances, where=where)
        n_components, n_features, _ = factors.shape
        scaled = precision_factors(factors) * HALF_SQRT  # (K, D, D)
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


def weighted_log_density_kernel(log_weights, means, covariances, method, dtype=np.float64, where=""):
    """The kernel for ``method`` ('2d' or 'general') and its scratch-buffer height."""
    if method == "2d":
        return WeightedLogDensity2D(log_weights, means, covariances, dtype, where), 2
    return WeightedLogDensityGeneral(log_weights, means, covariances, dtype, where), means.shape[1]
