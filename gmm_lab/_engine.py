"""The fast EM engine: the E-step and the M-step's sums in one chunked pass.

Private: :func:`gmm_lab.em` and :class:`gmm_lab.GaussianMixture` drive it;
:mod:`gmm_lab.reference` is the same algorithm written to be read, and the
tests hold this engine to its numbers at every iteration.

One pass over the data computes the E-step of iteration t and the
sufficient statistics for theta_{t+1} together, chunk by chunk, with matrix
products (``gmm_lab._statistics`` explains the sums): memory stays small
and the loop stays fast on a million points. The sums are taken about c,
the median of the data; each M-step checks every component for the
cancellation that a far component suffers, and one that lost digits is
summed again about its own mean (a second pass, from the kept
responsibilities or a rerun of the E-step). The result equals the two-pass
M-step to 1e-9 relative or better, for points up to 1e12 away, and fits
data scaled by 1e-150 to 1e150 (``tests/test_numerics.py`` holds both).
"""

from __future__ import annotations

import sys
from functools import lru_cache

import numpy as np

from ._kernels import weighted_log_density_kernel
from ._statistics import (
    CANCELLATION_LIMIT,
    feature_rows,
    moments_from_statistics,
    restrict,
    smallest_eigenvalues,
    upper_indices,
)
from ._warnings import warn
from .exceptions import CollapsedComponentWarning, RegularizationWarning
from .states import EMState

__all__ = ["CHUNK_ELEMENTS", "Engine", "single_threaded", "warn_if_reg_covar_swamps"]

# A component is collapsed when its own variance in some direction is at
# most reg_covar and at most this fraction of the data's smallest feature
# variance (Engine._warn_collapsed).
COLLAPSE_FRACTION = 0.01

# Rows per chunk are chosen so that one (rows, n_components) block is about
# 1 MiB: it stays in cache while a dozen whole-array operations run over it.
CHUNK_ELEMENTS = 1 << 17


# ---------------------------------------------------------------------------
# the thread policy, in one place


@lru_cache(maxsize=2)
def _thread_pools(sklearn_loaded):
    """threadpoolctl's view of the loaded libraries, inspected once (it costs
    milliseconds); again once scikit-learn has loaded its OpenMP runtime."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def single_threaded(user_api=None):
    """A context in which the ``user_api`` pools ('blas', 'openmp'; None: all) use one thread.

    gmm_lab's thread policy, used in three places:

    - the engine's general path (:meth:`Engine.expectation`): its
      (K D, D) @ (D, chunk) products are too small for two BLAS threads,
      which stall each other on a small machine;
    - :class:`gmm_lab.GaussianMixture` fits with one BLAS thread, as
      scikit-learn's own KMeans does for the same reason;
    - the k-means and k-means++ initialisation (``gmm_lab._init``): on a
      busy 2-core machine scikit-learn's KMeans took 0.3-0.8 s per call
      with every OpenMP thread against 0.02 s with one.
    """
    return _thread_pools("sklearn.cluster" in sys.modules).limit(limits=1, user_api=user_api)


# ---------------------------------------------------------------------------
# warnings about reg_covar and collapsed components


# reg_covar above this fraction of a feature's variance "swamps" the data.
_SWAMPED_FRACTION = 0.1


def warn_if_reg_covar_swamps(variances, reg_covar) -> bool:
    """Warn (and return True) when reg_covar > 0.1 x the smallest feature variance.

    ``variances`` : ndarray of shape (n_features,), the variance of each feature of X.
    """
    if reg_covar <= 0:
        return False
    feature = int(np.argmin(variances))
    if not reg_covar > _SWAMPED_FRACTION * variances[feature]:
        return False
    warn(
        f"reg_covar={reg_covar:g} is more than a tenth of the variance of feature "
        f"{feature} of X ({variances[feature]:.3g}): every covariance will be "
        "mostly reg_covar on its diagonal, whatever the data, and components "
        "will look collapsed. Rescale X (standardise it, or use larger units) "
        "or lower reg_covar.",
        RegularizationWarning,
    )
    return True


# ---------------------------------------------------------------------------
# the engine


class Engine:
    """Runs iterations on one data set; holds what does not change between them."""

    def __init__(self, X, covariance_type, reg_covar, engine="auto"):
        self.n_samples, self.n_features = X.shape
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        if engine == "auto":
            engine = "2d" if self.n_features == 2 else "general"
        if engine == "2d" and self.n_features != 2:
            raise ValueError(f"engine='2d' needs 2 features; X has {self.n_features}.")
        self.engine = engine
        self.X = X
        # Sums of (x - c)(x - c)^T about a centre c inside the data keep the
        # one-pass Sigma_k = sum gamma (x - c)(x - c)^T / N_k - (mu_k - c)(mu_k - c)^T
        # free of cancellation for components near c. The median (of at most
        # about 4096 rows) stays inside the bulk of the data when a few points
        # are far away, where the mean would follow them; components far
        # from c are detected and recomputed about their own mean (maximisation).
        self.shift = np.median(X[:: max(1, self.n_samples // 4096)], axis=0).astype(np.float64)
        self.features = feature_rows(X, self.shift.astype(X.dtype))
        self.cancellation_limit = CANCELLATION_LIMIT[X.dtype.itemsize < 8]
        self.collapsed = set()
        variances = self._feature_variances()
        self.swamped = warn_if_reg_covar_swamps(variances, reg_covar)
        # Sigma_k = S_k + reg_covar I; S_k is collapsed when its smallest
        # eigenvalue is at most this (see _warn_collapsed)
        self.collapse_floor = min(reg_covar, COLLAPSE_FRACTION * max(float(variances.min()), 0.0))
        self._buffers = {}
        self._kernel = None

    def _feature_variances(self) -> np.ndarray:
        """Variance of each feature, from the centred rows (no N x D temporary).

        var_d = mean((x_d - c_d)^2) - mean(x_d - c_d)^2, c the median: no
        cancellation to speak of, and only compared with reg_covar.
        """
        rows, cols = upper_indices(self.n_features)
        squares = 1 + self.n_features + np.flatnonzero(rows == cols)
        offsets = self.features[1 : 1 + self.n_features].mean(axis=1, dtype=np.float64)
        second = np.array([self.features[row].mean(dtype=np.float64) for row in squares])
        return second - offsets * offsets

    def _chunk_columns(self, n_components):
        """Points per chunk: one (K, chunk) block (or (K D, chunk) in the
        general path) of about 1 MiB stays in cache while a dozen whole-array
        operations run over it."""
        height = n_components * (1 if self.engine == "2d" else max(self.n_features // 2, 1))
        return min(self.n_samples, max(64, CHUNK_ELEMENTS // height))

    def _buffer(self, name, shape):
        """Scratch arrays reused from one iteration to the next."""
        buffer = self._buffers.get(name)
        if buffer is None or buffer.shape != shape:
            buffer = self._buffers[name] = np.empty(shape, self.features.dtype)
        return buffer

    def expectation(self, weights, means, covariances, *, keep, iteration):
        """E-step at theta_t and the sufficient statistics of gamma_t, in one pass.

        The general path runs with one BLAS thread (see :func:`single_threaded`).
        """
        if self.engine == "general":
            with single_threaded("blas"):
                return self._expectation(weights, means, covariances, keep=keep, iteration=iteration)
        return self._expectation(weights, means, covariances, keep=keep, iteration=iteration)

    def _expectation(self, weights, means, covariances, *, keep, iteration):
        """E-step at theta_t and the sufficient statistics of gamma_t, in one pass.

        Returns
        -------
        log_likelihood : float
        responsibilities : ndarray of shape (n_samples, n_components) or None
            Read-only (states keep it without a copy).
        statistics : ndarray of shape (n_components, 1 + D + D (D + 1) / 2)
        """
        n_components = weights.shape[0]
        dtype = self.features.dtype
        with np.errstate(divide="ignore"):
            log_weights = np.log(weights)
        kernel, work_rows = weighted_log_density_kernel(
            log_weights, means - self.shift, covariances, self.engine, dtype,
            where=f" at iteration {iteration}",
        )
        self._kernel = (kernel, work_rows, n_components)  # for a second pass (_recentred)
        resp_t = np.empty((n_components, self.n_samples), dtype) if keep else None
        statistics = np.zeros((n_components, self.features.shape[0]))
        log_likelihood = 0.0
        for start, stop, resp, chunk_log_likelihood in self._responsibility_chunks():
            log_likelihood += chunk_log_likelihood
            # N_k, sum_n gamma_nk x_n, sum_n gamma_nk x_n x_n^T in one product
            statistics += resp @ self.features[:, start:stop].T
            if keep:
                resp_t[:, start:stop] = resp
        responsibilities = None
        if keep:
            resp_t.flags.writeable = False  # the state's view cannot be made writeable
            responsibilities = resp_t.T
        return log_likelihood, responsibilities, statistics

    def _responsibility_chunks(self):
        """Yield (start, stop, gamma^T, L of the chunk) chunk by chunk at the last theta_t.

        gamma^T has shape (K, stop - start) and lives in a reused buffer;
        L of the chunk is sum_n log sum_k pi_k N(x_n | mu_k, Sigma_k) over it.
        """
        kernel, work_rows, n_components = self._kernel
        step = self._chunk_columns(n_components)
        out = self._buffer("out", (n_components, step))
        work = self._buffer("work", (n_components * work_rows, step))
        points = self.features[1 : 1 + self.n_features]
        for start in range(0, self.n_samples, step):
            stop = min(start + step, self.n_samples)
            # log(pi_k N(x_n | mu_k, Sigma_k)), shape (K, chunk)
            resp = kernel(points[:, start:stop], out, work)
            # log-sum-exp with each point's largest term shifted out, then
            # gamma_nk = exp(a_nk - max) / sum_j exp(a_nj - max)
            column_max = resp.max(axis=0)
            resp -= column_max
            np.exp(resp, out=resp)
            column_sum = resp.sum(axis=0)
            chunk_log_likelihood = float(column_max.sum(dtype=np.float64))
            chunk_log_likelihood += float(np.log(column_sum).sum(dtype=np.float64))
            resp *= np.reciprocal(column_sum, out=column_sum)
            yield start, stop, resp, chunk_log_likelihood

    def maximisation(self, statistics, iteration, responsibilities=None):
        """theta_{t+1} from the sums of the last :meth:`expectation`.

        Components whose one-pass covariance lost digits to cancellation
        (:func:`moments_from_statistics`: they sit far from the centre of
        the sums) are
        summed again about their own mean, from ``responsibilities`` when
        the state kept them, else from a second pass of the E-step.
        """
        counts, means, covariances, cancelled = moments_from_statistics(
            statistics, self.shift, self.reg_covar, self.cancellation_limit
        )
        if cancelled is not None:
            flagged = np.flatnonzero(cancelled)
            counts[flagged], means[flagged], covariances[flagged], _ = moments_from_statistics(
                self._recentred(flagged, means[flagged], responsibilities), means[flagged]
            )
        covariances = restrict(covariances, counts, self.covariance_type, self.reg_covar)
        self._warn_collapsed(counts, covariances, iteration)
        return counts / counts.sum(), means, covariances

    def _recentred(self, components, centres, responsibilities=None):
        """Sums of the E-step's gamma_nk for ``components``, about ``centres``.

        Returns
        -------
        ndarray of shape (len(components), 1 + D + D (D + 1) / 2)
            sum_n gamma_nk [1, x_n - c_k, upper((x_n - c_k)(x_n - c_k)^T)],
            in float64 from the data as given (not from the shifted copy).
        """
        statistics = np.zeros((len(components), self.features.shape[0]))
        if responsibilities is not None:
            chunks = [(0, self.n_samples, responsibilities.T, None)]
        else:
            chunks = self._responsibility_chunks()
        for start, stop, resp, _ in chunks:
            for j, (k, centre) in enumerate(zip(components, centres)):
                # only the points the component holds: one, for a lone far point
                rows = np.flatnonzero(resp[k])
                X = np.asarray(self.X[start + rows], dtype=np.float64)
                statistics[j] += feature_rows(X, centre) @ np.asarray(resp[k][rows], dtype=np.float64)
        return statistics

    def _warn_collapsed(self, counts, covariances, iteration):
        """Warn once per component that has collapsed: held up by reg_covar alone.

        With Sigma_k = S_k + reg_covar I, component k has collapsed when the
        smallest eigenvalue of its own scatter S_k (its variance in the
        narrowest direction) is at most reg_covar, so that the floor holds it
        up, and at most 1 % of the data's smallest feature variance, so that
        it is negligible next to the data's spread: a component on one or
        two tokens, or on tokens in a line. (A component of 41 tokens whose
        narrowest variance is 1500 Hz^2 is not collapsed, even under
        reg_covar = 2000 Hz^2.)
        """
        if self.swamped:  # already said: reg_covar dominates every covariance
            return
        smallest = smallest_eigenvalues(covariances)
        threshold = self.reg_covar + self.collapse_floor  # lambda_min(S_k) <= collapse_floor
        for k in np.flatnonzero(smallest <= threshold):
            if k in self.collapsed:
                continue
            self.collapsed.add(k)
            remedy = (
                f"reg_covar={self.reg_covar:g} keeps it positive definite. Try "
                "another random_state, fewer components, or a larger reg_covar."
                if self.reg_covar > 0
                else "With reg_covar=0 EM cannot go on: set reg_covar > 0."
            )
            warn(
                f"Component {k} collapsed at iteration {iteration}: it holds "
                f"{counts[k]:.3g} points' worth of responsibility and its covariance "
                "is singular (its points coincide, or lie on a line or plane: a "
                f"feature may be a combination of others). {remedy}",
                CollapsedComponentWarning,
            )

    def states(self, parameters, *, max_iter, tol, keep):
        """Yield states 0, 1, ... from theta_0 = ``parameters``.

        Stops after the first state whose mean log-likelihood changed by less
        than ``tol`` since the previous state (``tol=None``: never), or after
        state ``max_iter``: :func:`gmm_lab.reference.reference_em`'s loop.
        """
        weights, means, covariances = parameters
        previous_mean = -np.inf
        for iteration in range(max_iter + 1):
            log_likelihood, resp, statistics = self.expectation(
                weights, means, covariances, keep=keep, iteration=iteration
            )
            mean = log_likelihood / self.n_samples
            converged = tol is not None and abs(mean - previous_mean) < tol
            yield EMState(
                iteration=iteration,
                weights=weights,
                means=means,
                covariances=covariances,
                responsibilities=resp,
                log_likelihood=log_likelihood,
                converged=converged,
                n_samples=self.n_samples,
                covariance_type=self.covariance_type,
                component_counts=statistics[:, 0],
            )
            if converged:
                return
            previous_mean = mean
            if iteration < max_iter:
                weights, means, covariances = self.maximisation(statistics, iteration + 1, resp)
