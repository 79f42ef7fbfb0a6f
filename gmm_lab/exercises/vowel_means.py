"""Exercise (lesson 1): the mean formants of each vowel.

The student writes ``my_vowel_means(X, labels, vowels)`` returning, for each
label in ``vowels`` (in that order), the mean of the rows of X whose label it
is: an array of shape (len(vowels), n_features). To add a typical mistake,
add a :class:`Mistake` to :func:`mistakes`.
"""

from __future__ import annotations

import numpy as np

from ..data import VOWELS, load_vowels
from ._driver import (
    Case,
    Mistake,
    Tolerance,
    check_arrays,
    generic_difference,
    student_facing,
)

FORMULA = "the mean of vowel v is (1/N_v) sum over the tokens n of vowel v of x_n"


def _case(description, data, vowels):
    return Case(description, {"X": data.X, "labels": data.vowel, "vowels": list(vowels)})


def cases(graded: bool = False) -> list:
    labels_order = [vowel.label for vowel in VOWELS]
    found = [
        Case(
            "a hand-made case: five points in 2-D with labels a, b, a, c, b, asked in the "
            "order b, a, c",
            {"X": np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0], [6.0, 60.0]]),
             "labels": np.array(["a", "b", "a", "c", "b"]), "vowels": ["b", "a", "c"]},
        ),
        _case("all ten vowels, F1 and F2 in Hz, in the order of gmm_lab.VOWELS",
              load_vowels(), labels_order),
        _case("the men's UW, IY and AA, with F1, F2 and F3 in Hz",
              load_vowels(["IY", "UW", "AA"], speakers="M", features=("f1", "f2", "f3")),
              ["UW", "IY", "AA"]),
    ]
    if graded:
        found.append(_case("the women's vowels, F0 to F3 in Hz, in reverse order",
                           load_vowels(speakers="W", features=("f0", "f1", "f2", "f3")),
                           labels_order[::-1]))
    return found


def reference(case) -> np.ndarray:
    X, labels, vowels = case.arguments.values()
    return np.array([X[labels == vowel].mean(axis=0) for vowel in vowels])


def mistakes() -> list:
    def means_in(order):
        def compute(case):
            X, labels, vowels = case.arguments.values()
            return np.array([X[labels == vowel].mean(axis=0) for vowel in order(vowels)])
        return compute

    def statistic(function):
        def compute(case):
            X, labels, vowels = case.arguments.values()
            return np.array([function(X[labels == vowel], axis=0) for vowel in vowels])
        return compute

    return [
        Mistake(
            "Your rows are the right means in the wrong order: they are sorted "
            "alphabetically (np.unique sorts), but row i must be the mean of vowels[i], "
            "in the order given.",
            means_in(sorted),
        ),
        Mistake(
            "You computed medians (np.median); the exercise asks for means: " + FORMULA + ".",
            statistic(np.median),
        ),
        Mistake(
            "Every row of yours is the mean of all the tokens: select the rows of one vowel "
            "first, e.g. `X[labels == vowel].mean(axis=0)`.",
            lambda case: np.broadcast_to(case.arguments["X"].mean(axis=0),
                                         reference(case).shape),
        ),
        Mistake(
            "Your columns are in reverse order (F2 before F1?): keep the features in the "
            "order of X's columns, so column 0 is F1.",
            lambda case: reference(case)[:, ::-1],
        ),
    ]


@student_facing
def check_vowel_means(student_fn, *, graded: bool = False, time_limit: float | None = None) -> None:
    """Check a student's per-vowel mean formants.

    Parameters
    ----------
    student_fn : callable
        ``student_fn(X, labels, vowels)`` with X of shape (n_samples,
        n_features), labels of shape (n_samples,) and a list of labels,
        returning an ndarray of shape (len(vowels), n_features).
    graded : bool, default=False
        Add the hidden test cases (the nbgrader hidden tests pass True).
    time_limit : float, optional
        Seconds the student's code may run in all.
    """
    all_cases = cases(graded)
    check_arrays(student_fn, all_cases, [reference(case) for case in all_cases],
                 check_name="check_vowel_means", success="your vowel means match the reference",
                 returns="an array of shape (len(vowels), n_features): one mean per vowel",
                 axis_names=["n_vowels", "n_features"], label="Your means",
                 tolerance=Tolerance(rtol=1e-9, atol=1e-9), mistakes=mistakes(),
                 explain=_generic_message, time_limit=time_limit)


def _generic_message(values, expected, case, tolerance) -> str:
    return generic_difference("Your means differ", "means", values, expected, case, tolerance)
