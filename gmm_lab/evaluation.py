"""Honest accuracy figures for the vowel classifiers: folds and normalisation.

Three small pieces, each a pure function of arrays:

- :func:`speaker_folds` assigns whole speakers to cross-validation folds, so
  every speaker is tested exactly once and never heard in training;
  :func:`token_folds` is the careless alternative (rows dealt at random),
  kept to show what it does to the figures;
- :func:`cross_validate` fits a fresh copy of a classifier on each fold's
  training rows and reports training and test accuracy per fold, and the
  prediction of every token from the fold in which it was tested;
- :func:`lobanov` z-scores each formant within each speaker (Lobanov 1971),
  the classic speaker normalisation.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from sklearn.base import clone

from .data import SPEAKER_GROUPS, VowelData
from ._em import CollapsedComponentWarning

__all__ = ["CVResult", "CVPercent", "speaker_folds", "token_folds", "cross_validate", "lobanov"]


def speaker_folds(data: VowelData, n_splits: int = 5, random_state=0) -> np.ndarray:
    """Deal whole speakers into ``n_splits`` folds, each group spread evenly.

    Within each speaker group (men, women, children) the speakers are
    shuffled and dealt round-robin, so every fold holds about 1/n_splits of
    each group (group sizes differ by at most one speaker between folds) and
    all tokens of a speaker share one fold.

    Parameters
    ----------
    data : VowelData
    n_splits : int, default=5
        Number of folds, at least 2.
    random_state : int, default=0
        Seed of the shuffle (numpy's ``default_rng``).

    Returns
    -------
    ndarray of int, shape (n_samples,)
        Fold index 0..n_splits-1 of every token (row of ``data``).
    """
    n_speakers = np.unique(data.speaker).size
    if not 2 <= n_splits <= n_speakers:
        raise ValueError(
            f"n_splits must be between 2 and the number of speakers ({n_speakers}); got {n_splits}."
        )
    rng = np.random.default_rng(random_state)
    folds = np.full(len(data), -1)
    next_fold = 0
    for group in SPEAKER_GROUPS:
        speakers = rng.permutation(np.unique(data.speaker[data.speaker_type == group]))
        for speaker in speakers:
            folds[data.speaker == speaker] = next_fold
            # continue the deal where the previous group stopped, so small
            # groups do not all land in fold 0
            next_fold = (next_fold + 1) % n_splits
    return folds


def token_folds(n_samples: int, n_splits: int = 5, random_state=0) -> np.ndarray:
    """Deal rows into ``n_splits`` folds at random, ignoring who spoke them.

    Parameters
    ----------
    n_samples : int
    n_splits : int, default=5
    random_state : int, default=0

    Returns
    -------
    ndarray of int, shape (n_samples,)
        Fold index of every row; fold sizes differ by at most one.
    """
    if not 2 <= n_splits <= n_samples:
        raise ValueError(f"n_splits must be between 2 and n_samples ({n_samples}); got {n_splits}.")
    rng = np.random.default_rng(random_state)
    return rng.permutation(np.arange(n_samples) % n_splits)


class CVPercent(NamedTuple):
    """A cross-validation's figures in percent, rounded to 0.1 as printed."""

    test: float
    sd: float
    train: float


@dataclass(frozen=True)
class CVResult:
    """Accuracies of one classifier over the folds of a cross-validation.

    Attributes
    ----------
    train_accuracy, test_accuracy : ndarray of shape (n_folds,)
        Fraction correct on each fold's training rows and on its test rows.
    predicted : ndarray of shape (n_samples,)
        Every token's label as predicted by the model that did not train on it.
    n_collapse_warnings : int
        How many :class:`~gmm_lab.CollapsedComponentWarning` the fits raised
        (caught here, so a cross-validation does not flood the notebook).
    """

    train_accuracy: np.ndarray
    test_accuracy: np.ndarray
    predicted: np.ndarray
    n_collapse_warnings: int

    @property
    def test_mean(self) -> float:
        return float(self.test_accuracy.mean())

    @property
    def test_sd(self) -> float:
        """Standard deviation of the fold accuracies (ddof=1)."""
        return float(self.test_accuracy.std(ddof=1))

    @property
    def train_mean(self) -> float:
        return float(self.train_accuracy.mean())

    @property
    def percent(self) -> CVPercent:
        """Mean test accuracy, its fold standard deviation and the mean
        training accuracy, in percent rounded to 0.1 (the printed figures)."""
        return CVPercent(*(round(100 * value, 1) for value in (self.test_mean, self.test_sd, self.train_mean)))

    def __str__(self) -> str:
        test, sd, train = self.percent
        return f"test {test:4.1f} ± {sd:3.1f} %   train {train:4.1f} %"


def cross_validate(classifier, X, y, folds) -> CVResult:
    """Fit a clone of ``classifier`` once per fold and score it.

    For fold f the model is fitted on the rows with ``folds != f`` and
    tested on the rows with ``folds == f``; each row is tested once.

    Parameters
    ----------
    classifier : scikit-learn classifier
        Not modified: each fold fits ``sklearn.base.clone(classifier)``.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    folds : array-like of int, shape (n_samples,)
        Fold index of every row, e.g. from :func:`speaker_folds`.

    Returns
    -------
    CVResult
    """
    X, y, folds = np.asarray(X), np.asarray(y), np.asarray(folds)
    if not X.shape[0] == y.shape[0] == folds.shape[0]:
        raise ValueError(
            f"X, y and folds must have one row per token; got {X.shape[0]}, {y.shape[0]}, {folds.shape[0]}."
        )
    fold_ids = np.unique(folds)
    train_accuracy, test_accuracy = np.empty(fold_ids.size), np.empty(fold_ids.size)
    predicted = np.empty_like(y)
    n_collapse_warnings = 0
    for i, fold in enumerate(fold_ids):
        test = folds == fold
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CollapsedComponentWarning)
            model = clone(classifier).fit(X[~test], y[~test])
        for warning in caught:
            if issubclass(warning.category, CollapsedComponentWarning):
                n_collapse_warnings += 1
            else:  # pass every other warning on to the caller
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        train_accuracy[i] = np.mean(model.predict(X[~test]) == y[~test])
        predicted[test] = model.predict(X[test])
        test_accuracy[i] = np.mean(predicted[test] == y[test])
    return CVResult(train_accuracy, test_accuracy, predicted, n_collapse_warnings)


def lobanov(X, speaker) -> np.ndarray:
    """Z-score every feature within every speaker (Lobanov normalisation).

    z_nd = (x_nd - m_sd) / s_sd, where m_sd and s_sd are the mean and the
    standard deviation (ddof=0) of feature d over all tokens of speaker s
    of row n. A speaker's vowel space is shifted to 0 and scaled to unit
    spread in each formant, removing most of the differences in vocal tract
    length between men, women and children.

    It uses the tokens of every speaker, including test speakers: a
    classifier tested on Lobanov features has seen each test speaker's
    whole vowel set (its mean and spread), so its accuracy is an upper-end
    figure, not that of a recogniser hearing one word of a new speaker.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    speaker : array-like of shape (n_samples,)
        Speaker of each row.

    Returns
    -------
    ndarray of shape (n_samples, n_features)
        Dimensionless z-scores.
    """
    X = np.asarray(X, dtype=float)
    speaker = np.asarray(speaker)
    if X.ndim != 2 or speaker.shape != (X.shape[0],):
        raise ValueError(
            f"X must be 2-D and speaker must have one entry per row; got X {X.shape}, speaker {speaker.shape}."
        )
    normalised = np.empty_like(X)
    for who in np.unique(speaker):
        rows = speaker == who
        spread = X[rows].std(axis=0)
        if np.any(spread == 0):
            raise ValueError(f"speaker {who!r} has a feature with zero spread; Lobanov needs at least two different values.")
        normalised[rows] = (X[rows] - X[rows].mean(axis=0)) / spread
    return normalised
