"""Comparing the optima EM finds: agreement with labels, and fits on standardised features.

EM climbs to *a* local maximum of L(theta); which one depends on the start.
Two small tools tell the answers apart:

- :func:`label_agreement` says how well a fit's components match a labelling
  (the vowels, or men against women and children), whatever the components'
  numbering;
- :func:`standardise` and :func:`to_original_units` let a fit be made on
  standardised features (each column with mean 0 and standard deviation 1,
  so k-means' Euclidean distance weighs F1 and F2 alike) and be read back in
  Hz. A full-covariance Gaussian mixture is equivariant under this change of
  units: theta in Hz from theta in standard units is the same fit, with
  L_Hz = L_standard - N sum_d log s_d.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np
from threadpoolctl import threadpool_limits

from ._em import run_em

__all__ = ["final_states", "label_agreement", "which_split", "Standardisation", "standardise", "to_original_units"]


def final_states(X, n_components, seeds, **options) -> list:
    """The final state of :func:`gmm_lab.run_em` from each seed, for counting optima.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : int
    seeds : iterable of int
        One run per seed (``random_state=seed``).
    **options
        Passed to :func:`gmm_lab.run_em` (``init_params``, ``tol``, ...).

    Returns
    -------
    list of EMState
        ``run_em(X, n_components, random_state=seed, **options)[-1]`` per seed.

    Notes
    -----
    The runs use one OpenMP thread: scikit-learn's k-means (the 'kmeans'
    start) starts a thread pool on every call, which on a few hundred points
    costs more than the clustering, and on a busy machine tens of times more.
    """
    with threadpool_limits(limits=1, user_api="openmp"):
        return [run_em(X, n_components, random_state=seed, **options)[-1] for seed in seeds]


def label_agreement(labels, reference) -> float:
    """Fraction of points whose component matches their reference label, best matching.

    Components have no names (EM's "component 0" is whichever came first),
    so every one-to-one matching of components to reference classes is
    tried and the best is kept.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Hard assignment of each point to a component (e.g. ``state.labels()``).
    reference : array-like of shape (n_samples,)
        The classes to compare with (vowel labels, speaker groups, booleans).

    Returns
    -------
    float
        In [0, 1]; with two components and two balanced classes, 0.5 is
        chance and 1 a perfect match.
    """
    labels = np.asarray(labels)
    reference = np.asarray(reference)
    if labels.shape != reference.shape or labels.ndim != 1:
        raise ValueError(
            f"labels and reference must be 1-D of the same length; got shapes "
            f"{labels.shape} and {reference.shape}."
        )
    components = np.unique(labels)
    classes = np.unique(reference)
    if max(len(components), len(classes)) > 8:
        raise ValueError("label_agreement tries every matching; use at most 8 components and classes.")
    # counts[i, j] = number of points of component i in class j
    counts = np.array([[np.sum((labels == c) & (reference == r)) for r in classes] for c in components])
    if len(components) <= len(classes):
        best = max(sum(counts[i, j] for i, j in enumerate(perm))
                   for perm in itertools.permutations(range(len(classes)), len(components)))
    else:
        best = max(sum(counts[i, j] for j, i in enumerate(perm))
                   for perm in itertools.permutations(range(len(components)), len(classes)))
    return float(best / labels.shape[0])


def which_split(labels, references, *, threshold=0.85) -> str:
    """Name the labelling a fit follows: the first reference it agrees with above ``threshold``.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Hard assignment of each point to a component.
    references : dict of str -> array-like of shape (n_samples,)
        Candidate labellings, e.g. ``{"vowel": data.vowel,
        "speaker": data.speaker_type == "M"}``, tried in order.
    threshold : float, default=0.85
        The least :func:`label_agreement` that counts as following a labelling.

    Returns
    -------
    str
        The name of that labelling, or 'other' when none reaches the threshold.
    """
    for name, reference in references.items():
        if label_agreement(labels, reference) > threshold:
            return name
    return "other"


class Standardisation(NamedTuple):
    """Standardised data and the change of units that made it.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
        (x - mean) / scale, each column with mean 0 and standard deviation 1.
    mean : ndarray of shape (n_features,)
    scale : ndarray of shape (n_features,)
        The standard deviation of each column of the original data.
    """

    X: np.ndarray
    mean: np.ndarray
    scale: np.ndarray


def standardise(X) -> Standardisation:
    """z = (x - mean) / scale per column, scale = the column's standard deviation.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)

    Returns
    -------
    Standardisation
    """
    X = np.asarray(X, dtype=float)
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    if np.any(scale == 0):
        raise ValueError("A column of X is constant; it cannot be standardised.")
    return Standardisation((X - mean) / scale, mean, scale)


def to_original_units(means, covariances, log_likelihood, standardisation: Standardisation) -> tuple:
    """A fit made on standardised data, in the original units.

    x = mean + scale * z, so mu_x = mean + scale * mu_z,
    Sigma_x = S Sigma_z S with S = diag(scale), and
    L_x = L_z - N sum_d log scale_d (the density of x is that of z divided
    by the Jacobian prod_d scale_d). The weights do not change.

    Parameters
    ----------
    means : array-like of shape (n_components, n_features)
    covariances : array-like of shape (n_components, n_features, n_features)
    log_likelihood : float
        L of the fit on the standardised data (a total over the N points).
    standardisation : Standardisation
        What :func:`standardise` returned for that data.

    Returns
    -------
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)
    log_likelihood : float
    """
    scale = standardisation.scale
    n_samples = standardisation.X.shape[0]
    means = standardisation.mean + np.asarray(means, dtype=float) * scale
    covariances = np.asarray(covariances, dtype=float) * scale[:, np.newaxis] * scale[np.newaxis, :]
    return means, covariances, float(log_likelihood - n_samples * np.log(scale).sum())
