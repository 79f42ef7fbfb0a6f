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


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical", "tied"])
def test_full_covariances_match_scikit_learns_per_type_shapes(vowels, covariance_type):
    """Reference: scikit-learn's own score_samples, recomputed by scipy from the full matrices."""
    from gmm_lab.classify import full_covariances

    X = vowels.X[vowels.vowel == "AA"]
    theirs = SklearnMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
    full = SklearnMixture(2, covariance_type="full", random_state=0).fit(X)
    covariances = full_covariances(theirs)
    assert covariances.shape == (2, 2, 2)
    # the full matrices reproduce the model's own log-density in scipy's formula
    log_density = np.log(sum(
        w * multivariate_normal(m, c).pdf(X) for w, m, c in zip(theirs.weights_, theirs.means_, covariances)
    ))
    np.testing.assert_allclose(log_density, theirs.score_samples(X), rtol=1e-9)
    assert full_covariances(full).shape == (2, 2, 2)


def test_classifier_map_marks_train_and_test_tokens_and_draws_every_ellipse(vowels):
    import matplotlib.pyplot as plt

    from gmm_lab.classify import plot_classifier_map

    pair = load_vowels(["IY", "IH"])
    train = pair.speaker % 4 != 0
    classifier = GMMClassifier(2, covariance_type="diag", random_state=0).fit(pair.X[train], pair.vowel[train])
    fig, ax = plt.subplots()
    artists = plot_classifier_map(ax, classifier, pair, train, resolution=40)
    assert len(artists["train"].points.get_offsets()) == train.sum()
    assert len(artists["test"].points.get_offsets()) == (~train).sum()
    assert [len(e.ellipses) for e in artists["ellipses"]] == [2, 2]
    wrong = classifier.predict(pair.X[~train]) != pair.vowel[~train]
    np.testing.assert_array_equal(artists["errors"].get_offsets(), pair.X[~train][wrong])
    labels = [text.get_text() for text in artists["legend"].get_texts()]
    assert f"training token ({train.sum()})" in labels and f"test token ({(~train).sum()})" in labels
    with pytest.raises(ValueError, match="draws two features"):
        plot_classifier_map(ax, classifier, load_vowels(["IY", "IH"], features=("f1", "f2", "f3")), train)


def test_confusion_rows_are_percentages_of_the_spoken_vowel():
    import matplotlib.pyplot as plt

    from gmm_lab.classify import plot_confusion

    y_true = np.array(["A", "A", "A", "A", "B", "B"])
    y_pred = np.array(["A", "A", "A", "B", "B", "B"])
    fig, ax = plt.subplots()
    percentages, image = plot_confusion(ax, y_true, y_pred, ["A", "B"])
    np.testing.assert_allclose(percentages, [[75, 25], [0, 100]])
    assert [text.get_text() for text in ax.texts] == ["75", "25", "100"]
