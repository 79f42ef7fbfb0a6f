"""Speaker folds, cross-validation and Lobanov normalisation, against references."""

import numpy as np
import pytest
from scipy.stats import zscore
from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
from sklearn.model_selection import PredefinedSplit, cross_val_predict
from sklearn.model_selection import cross_validate as sklearn_cross_validate

from gmm_lab import load_vowels
from gmm_lab.classify import GMMClassifier
from gmm_lab.evaluation import cross_validate, lobanov, speaker_folds, token_folds


@pytest.fixture(scope="module")
def vowels():
    return load_vowels()


@pytest.mark.parametrize("n_splits", [2, 4, 5, 7])
def test_speaker_folds_test_every_speaker_once_and_spread_each_group(vowels, n_splits):
    folds = speaker_folds(vowels, n_splits=n_splits, random_state=3)
    assert set(np.unique(folds)) == set(range(n_splits))
    for speaker in np.unique(vowels.speaker):
        assert np.unique(folds[vowels.speaker == speaker]).size == 1  # one fold per speaker
    for group in "MWC":
        speakers_per_fold = [
            np.unique(vowels.speaker[(folds == f) & (vowels.speaker_type == group)]).size for f in range(n_splits)
        ]
        assert max(speakers_per_fold) - min(speakers_per_fold) <= 1
    speakers_per_fold = [np.unique(vowels.speaker[folds == f]).size for f in range(n_splits)]
    assert max(speakers_per_fold) - min(speakers_per_fold) <= 1


def test_speaker_folds_depend_on_the_seed_only(vowels):
    np.testing.assert_array_equal(speaker_folds(vowels, 5, 1), speaker_folds(vowels, 5, 1))
    assert np.any(speaker_folds(vowels, 5, 1) != speaker_folds(vowels, 5, 2))
    with pytest.raises(ValueError, match="n_splits must be between 2 and the number of speakers"):
        speaker_folds(vowels, 1)


def test_token_folds_are_balanced():
    folds = token_folds(103, 5, random_state=0)
    assert np.bincount(folds).sum() == 103
    assert np.bincount(folds).max() - np.bincount(folds).min() <= 1
    with pytest.raises(ValueError, match="n_splits must be between 2 and n_samples"):
        token_folds(3, 5)


@pytest.mark.parametrize("classifier", [GMMClassifier(1), QuadraticDiscriminantAnalysis()])
def test_cross_validate_equals_scikit_learn(vowels, classifier):
    folds = speaker_folds(vowels, 4, random_state=0)
    ours = cross_validate(classifier, vowels.X, vowels.vowel, folds)
    split = PredefinedSplit(folds)
    theirs = sklearn_cross_validate(classifier, vowels.X, vowels.vowel, cv=split, return_train_score=True)
    np.testing.assert_allclose(ours.test_accuracy, theirs["test_score"])
    np.testing.assert_allclose(ours.train_accuracy, theirs["train_score"])
    np.testing.assert_array_equal(ours.predicted, cross_val_predict(classifier, vowels.X, vowels.vowel, cv=split))
    assert ours.test_sd == pytest.approx(np.std(theirs["test_score"], ddof=1))
    assert ours.percent.test == round(100 * np.mean(theirs["test_score"]), 1)
    assert f"{ours.percent.test:4.1f} ± {ours.percent.sd:3.1f} %" in str(ours)


def test_cross_validate_counts_collapse_warnings_instead_of_showing_them(recwarn):
    pair = load_vowels(["IY", "IH"], speakers="C")  # 30 tokens per vowel: K=8 collapses
    folds = speaker_folds(pair, 3)
    result = cross_validate(GMMClassifier(8, init_params="random_from_data", random_state=0), pair.X, pair.vowel, folds)
    assert result.n_collapse_warnings > 0
    assert not [w for w in recwarn if "collapse" in str(w.message).lower()]


def test_lobanov_is_a_z_score_within_each_speaker(vowels):
    normalised = lobanov(vowels.X, vowels.speaker)
    for speaker in np.unique(vowels.speaker):
        rows = vowels.speaker == speaker
        np.testing.assert_allclose(normalised[rows], zscore(vowels.X[rows], axis=0))
    # the same normalisation whatever the order of the rows
    order = np.random.default_rng(0).permutation(len(vowels))
    np.testing.assert_allclose(lobanov(vowels.X[order], vowels.speaker[order]), normalised[order])


def test_lobanov_rejects_a_speaker_without_spread():
    with pytest.raises(ValueError, match="zero spread"):
        lobanov([[1.0, 2.0], [1.0, 3.0]], [7, 7])
    with pytest.raises(ValueError, match="one entry per row"):
        lobanov([[1.0, 2.0]], [1, 2])
