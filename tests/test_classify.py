"""The per-vowel mixture classifier, the speaker split and the decision map."""

import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.mixture import GaussianMixture as SklearnMixture

from gmm_lab import CollapsedComponentWarning, load_vowels
from gmm_lab.classify import GMMClassifier, plot_decision_map, speaker_split


@pytest.fixture(scope="module")
def vowels():
    return load_vowels()


def test_one_component_is_the_gaussian_bayes_rule(vowels):
    """K=1: EM's answer is the sample mean and covariance, so predictions
    must equal argmax_c log N(x | mean_c, cov_c) computed with scipy."""
    classifier = GMMClassifier(1, reg_covar=0.0).fit(vowels.X, vowels.vowel)
    classes = np.unique(vowels.vowel)
    log_likelihoods = np.column_stack([
        multivariate_normal(vowels.X[vowels.vowel == c].mean(axis=0),
                            np.cov(vowels.X[vowels.vowel == c].T, bias=True)).logpdf(vowels.X)
        for c in classes
    ])
    np.testing.assert_allclose(classifier.class_log_likelihoods(vowels.X), log_likelihoods, rtol=1e-9)
    np.testing.assert_array_equal(classifier.predict(vowels.X), classes[log_likelihoods.argmax(axis=1)])


def test_predictions_equal_a_classifier_built_from_sklearn(vowels):
    train, test = speaker_split(vowels, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollapsedComponentWarning)
        ours = GMMClassifier(3, random_state=0).fit(vowels.X[train], vowels.vowel[train])
    classes = np.unique(vowels.vowel)
    theirs = np.column_stack([
        SklearnMixture(3, random_state=0).fit(vowels.X[train][vowels.vowel[train] == c]).score_samples(vowels.X[test])
        for c in classes
    ])
    np.testing.assert_array_equal(ours.predict(vowels.X[test]), classes[theirs.argmax(axis=1)])


def test_posteriors_and_priors(vowels):
    X, y = vowels.X[:400], vowels.vowel[:400]
    equal = GMMClassifier(1, priors="equal").fit(X, y)
    empirical = GMMClassifier(1, priors="empirical").fit(X, y)
    np.testing.assert_allclose(equal.predict_proba(X).sum(axis=1), 1.0)
    counts = np.array([np.sum(y == c) for c in empirical.classes_])
    np.testing.assert_allclose(np.exp(empirical.log_priors_), counts / counts.sum())
    with pytest.raises(ValueError, match="priors must be 'equal' or 'empirical'"):
        GMMClassifier(priors="uniform").fit(X, y)


def test_speaker_split_holds_out_whole_speakers_from_every_group(vowels):
    train, test = speaker_split(vowels, test_size=0.25, random_state=3)
    assert not np.any(train & test) and np.all(train | test)
    assert set(vowels.speaker[train]).isdisjoint(vowels.speaker[test])
    for group, n_speakers in [("M", 33), ("W", 28), ("C", 15)]:
        held_out = np.unique(vowels.speaker[test & (vowels.speaker_type == group)])
        assert len(held_out) == round(0.25 * n_speakers)


def test_decision_map_shades_the_predicted_class(vowels):
    import matplotlib.pyplot as plt

    pair = load_vowels(["IY", "AA"])
    classifier = GMMClassifier(1).fit(pair.X, pair.vowel)
    fig, ax = plt.subplots()
    mesh = plot_decision_map(ax, classifier, xlim=(200, 1000), ylim=(800, 3000), resolution=50)
    shade = mesh.get_array().reshape(50, 50)
    # the corner near IY's mean (low F1, high F2) is IY, the one near AA's is AA
    assert classifier.classes_[int(shade[-1, 0])] == "IY"
    assert classifier.classes_[int(shade[0, -1])] == "AA"
    plt.close(fig)
