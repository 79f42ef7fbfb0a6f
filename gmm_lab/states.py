"""Immutable records of an EM run: one :class:`EMState` per iteration, and
the :class:`History` of a whole run.

A state is a snapshot. Its arrays are made read-only when the state is
built, so nothing computed later (the next iteration, a plot, a student's
experiment) can change what a slider shows for iteration ``t``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np

__all__ = ["EMState", "History"]


def _locked(array) -> bool:
    """True when ``array.flags.writeable = True`` would be refused.

    numpy lets the owner of a buffer be made writeable again; a view of a
    read-only array cannot be.
    """
    base = array.base
    return (
        not array.flags.writeable
        and isinstance(base, np.ndarray)
        and not base.flags.writeable
    )


def _frozen(array):
    """Return a read-only array that cannot be made writeable again.

    No copy when it already is one (the EM engine hands over its
    responsibilities that way); otherwise a copy, made read-only, seen
    through a view.
    """
    if array is None:
        return None
    array = np.asarray(array)
    if _locked(array):
        return array
    owner = array.copy()
    owner.flags.writeable = False
    return owner.view()


def _restore(instance, state, names) -> None:
    """Set a frozen dataclass's fields from a pickled ``state``, re-freezing its arrays.

    copy.deepcopy and pickle rebuild arrays as new, writeable ones.
    """
    for name, value in state.items():
        object.__setattr__(instance, name, _frozen(value) if name in names else value)


_STATE_ARRAYS = ("weights", "means", "covariances", "responsibilities", "component_counts")


@dataclass(frozen=True, eq=False)
class EMState:
    """Parameters theta_t, responsibilities gamma_t and L(theta_t) at one iteration.

    Attributes
    ----------
    iteration : int
        t, the number of M-steps taken to reach these parameters (0 is the
        initial guess).
    weights : ndarray of shape (n_components,)
        Mixing weights pi_k, summing to 1.
    means : ndarray of shape (n_components, n_features)
        Component means mu_k.
    covariances : ndarray of shape (n_components, n_features, n_features)
        Component covariances Sigma_k, expanded to full matrices whatever the
        covariance type, so that plots need no case analysis.
    responsibilities : ndarray of shape (n_samples, n_components) or None
        gamma_nk = p(component k | x_n, theta_t), the E-step at theta_t.
        None when the run was asked not to keep them (large fits).
    log_likelihood : float
        L(theta_t) = sum_n log sum_k pi_k N(x_n | mu_k, Sigma_k), the total
        over the n_samples points.
    converged : bool
        True when the change of the mean log-likelihood per point from the
        previous state is below ``tol``; the run stops there.
    n_samples : int
        N, the number of points, so that ``mean_log_likelihood`` is L / N.
    covariance_type : str
        'full', 'diag', 'spherical' or 'tied': which restriction the M-step
        put on Sigma_k.
    component_counts : ndarray of shape (n_components,)
        N_k = sum_n gamma_nk, the soft number of points each component holds
        under gamma_t (kept even when the responsibilities are not).
    """

    iteration: int
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    responsibilities: np.ndarray | None
    log_likelihood: float
    converged: bool = False
    n_samples: int = 0
    covariance_type: str = "full"
    component_counts: np.ndarray | None = None

    def __post_init__(self):
        if self.component_counts is None and self.responsibilities is not None:
            object.__setattr__(self, "component_counts", self.responsibilities.sum(axis=0))
        for name in _STATE_ARRAYS:
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        object.__setattr__(self, "log_likelihood", float(self.log_likelihood))

    def __setstate__(self, state):
        _restore(self, state, _STATE_ARRAYS)

    @property
    def n_components(self) -> int:
        """K, the number of mixture components."""
        return self.weights.shape[0]

    @property
    def mean_log_likelihood(self) -> float:
        """L(theta_t) / N, the per-point value scikit-learn calls the lower bound."""
        if self.n_samples <= 0:
            raise ValueError(
                f"mean_log_likelihood = L / N needs the number of points; this state "
                f"has n_samples={self.n_samples}. Build it with n_samples=N."
            )
        return self.log_likelihood / self.n_samples

    def labels(self) -> np.ndarray:
        """Hard assignment argmax_k gamma_nk of each point, shape (n_samples,)."""
        if self.responsibilities is None:
            raise ValueError(
                "This state has no responsibilities: the run was made with "
                "keep_responsibilities=False. Run it again with "
                "keep_responsibilities=True to get labels."
            )
        return self.responsibilities.argmax(axis=1)

    def __repr__(self) -> str:
        return (
            f"EMState(iteration={self.iteration}, n_components={self.n_components}, "
            f"log_likelihood={self.log_likelihood:.6g}, converged={self.converged})"
        )


@dataclass(frozen=True, eq=False)
class History(Sequence):
    """A whole EM run: the states 0..T in order, as a read-only sequence.

    Indexing gives states (``history[0]`` is the initial guess,
    ``history[-1]`` the last), ``len(history)`` is T + 1, and
    ``history.log_likelihoods`` is the curve L(theta_t), t = 0..T.

    Attributes
    ----------
    states : tuple of EMState
    X : ndarray of shape (n_samples, n_features)
        The data the run was fitted on (read-only), so a plot of the history
        needs nothing else.
    """

    states: tuple
    X: np.ndarray = field(repr=False)

    def __post_init__(self):
        object.__setattr__(self, "states", tuple(self.states))
        object.__setattr__(self, "X", _frozen(self.X))
        if not self.states:
            raise ValueError("A History needs at least one state (the initial guess).")

    def __setstate__(self, state):
        _restore(self, state, ("X",))

    def __len__(self) -> int:
        return len(self.states)

    def __getitem__(self, index):
        return self.states[index]

    def __iter__(self) -> Iterator[EMState]:
        return iter(self.states)

    @property
    def log_likelihoods(self) -> np.ndarray:
        """L(theta_t) for t = 0..T, ndarray of shape (len(history),)."""
        return np.array([state.log_likelihood for state in self.states])

    @property
    def converged(self) -> bool:
        """Whether the run stopped because it converged (not at max_iter)."""
        return self.states[-1].converged

    @property
    def final(self) -> EMState:
        """The last state, ``history[-1]``."""
        return self.states[-1]

    def __repr__(self) -> str:
        last = self.states[-1]
        return (
            f"History({len(self)} states, n_components={last.n_components}, "
            f"final log_likelihood={last.log_likelihood:.6g}, converged={last.converged})"
        )
