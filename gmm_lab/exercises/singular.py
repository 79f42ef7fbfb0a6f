"""Exercises (lesson 4): the singular model with the derived feature F1 + F2.

``my_zero_variance_direction(X)`` returns the unit vector along which the
data have no variance: the eigenvector of the covariance of X with the
smallest eigenvalue (for F1, F2, F1 + F2 it is (1, 1, -1) / sqrt(3), up to
sign). ``my_fix_features(X)`` returns features without that direction: one
fewer column, a covariance of full rank, and no information lost (X is still
a linear function of them), so EM runs with reg_covar = 0.
"""

from __future__ import annotations

import numpy as np

from ..data import load_vowels
from .._em import run_em
from ._driver import (
    Budget,
    Case,
    ExerciseFailed,
    Mistake,
    Tolerance,
    as_array,
    call_student,
    check_shape,
    function_name,
    passed,
    student_facing,
)


def _with_sum(vowels=None, speakers=None):
    X = load_vowels(vowels, speakers=speakers).X
    return np.column_stack([X, X.sum(axis=1)])


def cases(graded: bool = False) -> list:
    men = load_vowels(speakers="M", features=("f1", "f2", "f3")).X
    found = [
        Case("a hand-made case: five points on the line x2 = 2 x1 in 2-D",
             {"X": np.array([[0.0, 0.0], [1.0, 2.0], [2.0, 4.0], [-1.0, -2.0], [3.0, 6.0]])}),
        Case("all 1520 tokens with the features F1, F2 and F1 + F2 in Hz",
             {"X": _with_sum()}),
        Case("the men's tokens with the features F1, F2, F3 and F2 - F1 in Hz",
             {"X": np.column_stack([men, men[:, 1] - men[:, 0]])}),
    ]
    if graded:
        women = load_vowels(["IY", "AA"], speakers="W", features=("f1", "f2", "f3")).X
        found.append(Case("the women's IY and AA with the features F1 + F2, F1, F2 and F3",
                          {"X": np.column_stack([women[:, 0] + women[:, 1], women])}))
    return found


def _covariance(X):
    return np.atleast_2d(np.cov(X.T, bias=True))


def _same_direction(tolerance, vector, wanted) -> bool:
    """Equal up to sign: an eigenvector has no preferred sign."""
    return tolerance.close(vector, wanted) or tolerance.close(-vector, wanted)


def reference(case) -> np.ndarray:
    return np.linalg.eigh(_covariance(case.arguments["X"]))[1][:, 0]


def direction_mistakes() -> list:
    return [
        Mistake(
            "You returned the direction of the *largest* variance: np.linalg.eigh returns the "
            "eigenvalues in ascending order, so the smallest is the first, eigenvalues[0], and "
            "its eigenvector is the first *column*, eigenvectors[:, 0].",
            lambda case: np.linalg.eigh(_covariance(case.arguments["X"]))[1][:, -1],
        ),
        Mistake(
            "You took a row of the eigenvector matrix; np.linalg.eigh returns the eigenvectors "
            "as its *columns*: the one for the smallest eigenvalue is eigenvectors[:, 0].",
            lambda case: np.linalg.eigh(_covariance(case.arguments["X"]))[1][0],
        ),
    ]


@student_facing
def check_zero_variance_direction(student_fn, *, graded: bool = False,
                                  time_limit: float | None = None) -> None:
    """Check a student's direction of zero variance.

    Parameters
    ----------
    student_fn : callable
        ``student_fn(X)`` with X of shape (n_samples, n_features), returning a
        unit vector of shape (n_features,).
    """
    name = function_name(student_fn)
    budget = Budget(time_limit)
    tolerance = Tolerance(rtol=1e-6, atol=1e-6)
    for case in cases(graded):
        result = as_array(call_student(student_fn, case, budget=budget), name,
                          "a unit vector of shape (n_features,)")
        wanted = reference(case)
        check_shape(result, wanted.shape, ["n_features"], "Your direction", case)
        length = float(np.linalg.norm(result))
        if not np.isfinite(length) or length == 0:
            raise ExerciseFailed(f"Your direction is {result}: it must be a nonzero vector of "
                                 f"finite numbers.\n{case.where()}")
        if _same_direction(tolerance, result, wanted):
            continue
        if _same_direction(tolerance, result / length, wanted):
            raise ExerciseFailed(
                f"Your vector points the right way but has length {length:.4g}: return a unit "
                f"vector (divide by np.linalg.norm), as the eigenvectors of eigh are.\n"
                f"{case.where()}")
        for mistake in direction_mistakes():
            if _same_direction(tolerance, result, mistake.compute(case)):
                raise ExerciseFailed(f"{mistake.explanation}\n{case.where()}")
        X = case.arguments["X"]
        variance = float(result @ _covariance(X) @ result) / length**2
        smallest = float(np.linalg.eigvalsh(_covariance(X))[0])
        raise ExerciseFailed(
            f"Along your direction the data have variance {variance:.4g}; along "
            f"{np.array2string(wanted, precision=3)} they have {max(smallest, 0.0):.2g}. "
            "Take the eigenvector of the covariance, np.cov(X.T, bias=True), with the smallest "
            f"eigenvalue.\n{case.where()}")
    passed("check_zero_variance_direction", "your directions match the reference",
           len(cases(graded)))


def fix_cases(graded: bool = False) -> list:
    return [case for case in cases(graded) if case.arguments["X"].shape[0] > 5]


@student_facing
def check_fix_features(student_fn, *, graded: bool = False,
                       time_limit: float | None = None) -> None:
    """Check a student's fix of the singular model: the redundant direction removed.

    Parameters
    ----------
    student_fn : callable
        ``student_fn(X)`` with X of shape (n_samples, n_features) whose
        covariance has one zero eigenvalue, returning new features of shape
        (n_samples, n_features - 1).
    """
    name = function_name(student_fn)
    budget = Budget(time_limit)
    all_cases = fix_cases(graded)
    for case in all_cases:
        X = case.arguments["X"]
        n_samples, n_features = X.shape
        fixed = as_array(call_student(student_fn, case, budget=budget), name,
                         f"the new features, an array of shape ({n_samples}, {n_features - 1})")
        if fixed.ndim != 2 or fixed.shape[0] != n_samples:
            raise ExerciseFailed(
                f"Your features should have shape ({n_samples}, {n_features - 1}), one row per "
                f"token; yours has {fixed.shape}.\n{case.where()}")
        eigenvalues = np.linalg.eigvalsh(_covariance(fixed))
        singular = eigenvalues[0] <= 1e-9 * eigenvalues[-1]
        # Is X still a linear function of the new features? Least squares on [1, fixed].
        design = np.column_stack([np.ones(n_samples), fixed])
        coefficients, *_ = np.linalg.lstsq(design, X, rcond=None)
        lost = np.abs(design @ coefficients - X).max() / np.abs(X).max()
        if fixed.shape[1] == n_features and not singular:
            raise ExerciseFailed(
                f"You kept all {n_features} features and made their covariance regular "
                "(by adding noise or a regulariser?): that hides the redundancy instead of "
                "removing it, and the model still has a direction that carries only noise. "
                f"Drop the feature that is a combination of the others, or project X onto "
                f"the {n_features - 1} directions that have variance.\n{case.where()}")
        if singular:
            raise ExerciseFailed(
                f"Your {fixed.shape[1]} features still have a direction of zero variance "
                f"(smallest eigenvalue of their covariance {max(eigenvalues[0], 0.0):.2g}, "
                f"largest {eigenvalues[-1]:.3g}): rescaling or standardising does not remove "
                "it, and dropping a feature that is not part of the redundancy does not "
                "either. Remove one of the features that the combination is made of, or "
                f"project onto the directions with variance.\n{case.where()}")
        if lost > 1e-6:
            raise ExerciseFailed(
                f"Your {fixed.shape[1]} features lost information: the original features "
                f"cannot be recovered from them (relative error {lost:.2g}). Remove only the "
                f"one redundant direction: {n_features - 1} features.\n{case.where()}")
        if fixed.shape[1] != n_features - 1:
            raise ExerciseFailed(
                f"Your features should have {n_features - 1} columns; yours have "
                f"{fixed.shape[1]}.\n{case.where()}")
    # The fix works: EM runs on the vowel data without a regulariser.
    fixed = call_student(student_fn, all_cases[0], budget=budget)
    run_em(np.asarray(fixed, dtype=float), 3, init_params="kmeans", random_state=0,
           reg_covar=0.0)
    passed("check_fix_features",
           "your features keep the information, lose the zero-variance direction, and EM runs "
           "with reg_covar=0; that holds", len(all_cases))
