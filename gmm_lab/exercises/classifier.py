"""Exercises (lesson 5): the per-vowel mixture classifier by Bayes' rule.

``my_class_posteriors(mixtures, log_priors, X)`` returns
P(c | x_n) = p(x_n | c) P(c) / sum_c' p(x_n | c') P(c'), of shape
(n_samples, n_classes), from each class's fitted mixture
(``mixture.score_samples(X)`` is log p(x_n | c)), in log space.

``my_heldout_accuracy(X, y, train, test, n_components)`` fits one
``GaussianMixture(n_components, covariance_type="full", init_params="k-means++",
random_state=0)`` per vowel on the training rows, classifies the test rows
(held-out speakers) with equal priors, and returns the fraction correct.
To add a typical mistake, add a :class:`Mistake` to the catalogues below.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from ..classify import GMMClassifier
from ..evaluation import speaker_folds
from ..data import load_vowels
from ..mixture import GaussianMixture
from ._driver import (
    Budget,
    Case,
    ExerciseFailed,
    Mistake,
    Tolerance,
    as_array,
    as_number,
    call_student,
    check_shape,
    first_wrong,
    function_name,
    generic_difference,
    gmm_lab_function,
    name_mistake,
    passed,
    student_facing,
)

BAYES = "P(c | x) = p(x | c) P(c) / sum_c' p(x | c') P(c')"
_ADVICE = (
    "Combine the class mixtures yourself: a_nc = mixture_c.score_samples(X) + log P(c), "
    "then P(c | x_n) = exp(a_nc - logsumexp_c' a_nc')."
)
FORBIDDEN = [gmm_lab_function("gmm_lab's GMMClassifier", "classify", (), _ADVICE)]
FIT = dict(covariance_type="full", init_params="k-means++", random_state=0)


@functools.lru_cache(maxsize=None)
def _fitted(vowels, n_components, speakers=None):
    data = load_vowels(list(vowels), speakers=speakers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mixtures = [GaussianMixture(n_components, **FIT).fit(data.X[data.vowel == vowel])
                    for vowel in vowels]
    return data, mixtures


def posterior_cases(graded: bool = False) -> list:
    pair, pair_mixtures = _fitted(("IY", "IH"), 3)
    three, three_mixtures = _fitted(("IY", "EH", "AA"), 2)
    far = np.array([[300.0, 2300.0], [3e4, 2300.0], [700.0, 1e5]])
    found = [
        Case("IY and IH in Hz, one mixture of K = 3 per vowel, equal priors",
             {"mixtures": pair_mixtures, "log_priors": np.log([0.5, 0.5]), "X": pair.X}),
        Case("IY, EH and AA in Hz, K = 2 per vowel, priors 0.6, 0.3 and 0.1",
             {"mixtures": three_mixtures, "log_priors": np.log([0.6, 0.3, 0.1]), "X": three.X}),
        Case("three points, two of them tens of thousands of Hz from every vowel, "
             "IY, EH and AA with K = 2, equal priors",
             {"mixtures": three_mixtures, "log_priors": np.log(np.full(3, 1 / 3)), "X": far},
             far_rows=(1, 2)),
    ]
    if graded:
        four, four_mixtures = _fitted(("UW", "UH", "AO", "AH"), 2, "W")
        found.append(Case("the women's UW, UH, AO and AH, K = 2, priors 0.1, 0.2, 0.3, 0.4",
                          {"mixtures": four_mixtures, "log_priors": np.log([0.1, 0.2, 0.3, 0.4]),
                           "X": four.X}))
    return found


def _log_likelihoods(case):
    mixtures, _, X = case.arguments.values()
    return np.column_stack([mixture.score_samples(X) for mixture in mixtures])


def _softmax(a, axis=1):
    shifted = a - a.max(axis=axis, keepdims=True)
    return np.exp(shifted) / np.exp(shifted).sum(axis=axis, keepdims=True)


def posterior_reference(case) -> np.ndarray:
    return _softmax(_log_likelihoods(case) + case.arguments["log_priors"])


def posterior_mistakes() -> list:
    def raw(case):
        joint = np.exp(_log_likelihoods(case)) * np.exp(case.arguments["log_priors"])
        return joint / joint.sum(axis=1, keepdims=True)

    return [
        Mistake("Your posteriors ignore the priors P(c): " + BAYES + ". Add log P(c) to each "
                "class's log-likelihood before normalising.",
                lambda case: _softmax(_log_likelihoods(case))),
        Mistake("Your posteriors are nan for a token far from every vowel: there every "
                "p(x | c) underflows to 0 and 0/0 = nan. Stay in log space: "
                "a_nc = log p(x_n | c) + log P(c), subtract each row's largest a_nc, then "
                "exponentiate and normalise.",
                raw),
        Mistake("Each column of your posteriors sums to 1 instead of each row: normalise over "
                "the classes (axis=1), not over the tokens. " + BAYES + ".",
                lambda case: _softmax(_log_likelihoods(case) + case.arguments["log_priors"],
                                      axis=0)),
        Mistake("You returned log P(c | x); exponentiate at the end so that each row sums to 1.",
                lambda case: np.log(posterior_reference(case))),
        Mistake("You added the prior P(c) itself to the log-likelihood; add its logarithm, "
                "log P(c) (log_priors is already in log space). " + BAYES + ".",
                lambda case: _softmax(_log_likelihoods(case)
                                      + np.exp(case.arguments["log_priors"]))),
    ]


@student_facing
def check_class_posteriors(student_fn, *, graded: bool = False,
                           time_limit: float | None = None) -> None:
    """Check a student's class posteriors P(c | x_n) from per-class mixtures.

    Parameters
    ----------
    student_fn : callable
        ``student_fn(mixtures, log_priors, X)`` returning an ndarray of shape
        (n_samples, n_classes).
    """
    name = function_name(student_fn)
    budget = Budget(time_limit)
    all_cases = posterior_cases(graded)
    expected = [posterior_reference(case) for case in all_cases]
    yours = []
    for case, wanted in zip(all_cases, expected):
        result = as_array(call_student(student_fn, case, budget=budget, forbidden=FORBIDDEN),
                          name, "the posteriors, an array of shape (n_samples, n_classes)")
        n_components = case.arguments["mixtures"][0].n_components
        if result.shape == (wanted.shape[0], n_components) and n_components != wanted.shape[1]:
            raise ExerciseFailed(
                f"Your result has shape {result.shape}: one column per *component* of a "
                f"mixture. mixture.predict_proba gives the responsibilities of one vowel's "
                f"components; the classifier needs one column per vowel: {BAYES}, with "
                f"log p(x | c) = mixtures[c].score_samples(X).\n{case.where()}")
        check_shape(result, wanted.shape, ["n_samples", "n_classes"], "Your posteriors", case)
        yours.append(result)
    tolerance = Tolerance(rtol=1e-6, atol=1e-9)
    wrong = first_wrong(yours, expected, tolerance)
    if wrong is None:
        passed("check_class_posteriors", "your posteriors match the reference", len(all_cases))
        return
    message = name_mistake(yours, expected, all_cases, posterior_mistakes(), tolerance)
    if message is None:
        message = generic_difference("Your posteriors differ", "posteriors", yours[wrong],
                                     expected[wrong], all_cases[wrong], tolerance)
    raise ExerciseFailed(message)


# ---------------------------------------------------------------------------
# accuracy on held-out speakers


@functools.lru_cache(maxsize=None)
def _split(vowels, fold):
    """Lesson 5's speaker folds (seed 0); the speakers of one fold are held out."""
    data = load_vowels(list(vowels))
    test = speaker_folds(data, n_splits=5, random_state=0) == fold
    return data, ~test, test


def accuracy_cases(graded: bool = False) -> list:
    found = []
    # Fold 3: there a classifier fitted on every token, the test speakers'
    # included, scores higher, so that mistake shows.
    settings = [(("IY", "IH"), 3, 3), (("IY", "IH"), 6, 3)]
    if graded:
        settings.append((("EH", "AE", "AH"), 2, 1))
    for vowels, k, fold in settings:
        data, train, test = _split(vowels, fold)
        found.append(Case(
            f"{' and '.join(vowels)} of all speakers, K = {k}, the speakers of fold {fold} of "
            "speaker_folds(data, 5, random_state=0) held out",
            {"X": data.X, "y": data.vowel, "train": train, "test": test, "n_components": k}))
    return found


def _accuracy(case, *, fit_on="train", score_on="test", priors="equal"):
    X, y, train, test, k = case.arguments.values()
    rows = {"train": train, "test": test, "all": np.ones_like(train)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        classifier = GMMClassifier(k, priors=priors, **FIT).fit(X[rows[fit_on]], y[rows[fit_on]])
    return float(np.mean(classifier.predict(X[rows[score_on]]) == y[rows[score_on]]))


def accuracy_mistakes() -> list:
    return [
        Mistake("You measured the accuracy on the training tokens; measure it on the held-out "
                "speakers, X[test], whom the classifier never heard.",
                lambda case: _accuracy(case, score_on="train")),
        Mistake("You fitted the mixtures on all the tokens, the test speakers' included: fit "
                "on X[train] only, or the accuracy on X[test] is not a fair estimate.",
                lambda case: _accuracy(case, fit_on="all")),
        Mistake("You swapped the roles: fitted on the test speakers and scored on the "
                "training ones. Fit on X[train], y[train]; score on X[test], y[test].",
                lambda case: _accuracy(case, fit_on="test", score_on="train")),
        Mistake("You returned the error rate, the fraction *wrong*; return the accuracy, the "
                "fraction right.",
                lambda case: 1.0 - _accuracy(case)),
        Mistake("You returned a percentage; return the fraction correct, between 0 and 1.",
                lambda case: 100.0 * _accuracy(case)),
    ]


@student_facing
def check_heldout_accuracy(student_fn, *, graded: bool = False,
                           time_limit: float | None = None) -> None:
    """Check a student's accuracy of the per-vowel classifier on held-out speakers.

    Parameters
    ----------
    student_fn : callable
        ``student_fn(X, y, train, test, n_components)`` returning the fraction
        of the test tokens classified correctly.
    """
    name = function_name(student_fn)
    budget = Budget(time_limit)
    all_cases = accuracy_cases(graded)
    for case in all_cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = as_number(call_student(student_fn, case, budget=budget, forbidden=FORBIDDEN),
                               name, "the accuracy, one number between 0 and 1")
        expected = _accuracy(case)
        if abs(result - expected) <= 1e-9:
            continue
        for mistake in accuracy_mistakes():
            if abs(result - mistake.compute(case)) <= 1e-9:
                raise ExerciseFailed(f"{mistake.explanation}\n{case.where()}")
        raise ExerciseFailed(
            f"Your accuracy is {result:.4g}; the reference, one GaussianMixture(n_components, "
            "covariance_type='full', init_params='k-means++', random_state=0) per vowel fitted on "
            f"X[train] and equal priors, gets {expected:.4g} on X[test].\n{case.where()}")
    passed("check_heldout_accuracy", "your accuracies match the reference", len(all_cases))
