"""Checks behind the classroom exercises, with feedback a student can act on.

Each ``check_*`` function runs the student's function on several test cases
(small hand-made ones, random well-conditioned ones, the vowel data in Hz,
and edge cases such as a point a million standard deviations away), compares
the results with gmm_lab's own implementation, and then either prints one
line or raises :class:`ExerciseFailed`.

A failure message says what is wrong in the terms of the lesson, not only
that something is. To name a mistake, the checker computes what each typical
mistake would return (forgetting the weights pi_k, normalising over the wrong
axis, dividing by N instead of N_k, ...) and looks for the one that the
student's output reproduces. When none does, it reports a broken property
("row 3 of your responsibilities sums to 1.7") or, last, the entry that
differs most from the reference.

Examples
--------
In a notebook, after the student has written ``my_responsibilities``::

    >>> from gmm_lab.exercises import check_responsibilities
    >>> check_responsibilities(my_responsibilities)  # doctest: +SKIP
    ✓ check_responsibilities: your responsibilities match the reference on 6 test cases.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .data import load_vowels
from .em import m_step
from .gaussian import log_gaussian_density, responsibilities

__all__ = [
    "ExerciseFailed",
    "check_log_density",
    "check_responsibilities",
    "check_m_step",
]

LOG_2PI = np.log(2.0 * np.pi)

# How far the "faraway point" lies from its Gaussian, in standard deviations.
# There log N(x | mu, Sigma) is about -5e11: exp() of it is exactly 0.
FAR_AWAY_STD = 1e6
FAR_AWAY_TEXT = "a million"

NOT_FILLED_IN = "{name} is not filled in yet: replace `raise NotImplementedError()` with your code."


class ExerciseFailed(AssertionError):
    """The student's function does not do what the exercise asks; the message says why."""


# ---------------------------------------------------------------------------
# test cases


@dataclass(frozen=True, eq=False)
class _Case:
    """One input to the student's function, described in words.

    Attributes
    ----------
    description : str
        What the input is, e.g. "the vowels IY and IH in Hz".
    arguments : dict of str to ndarray
        The positional arguments, by name, in call order.
    far_rows : tuple of int
        Rows of X that lie FAR_AWAY_STD standard deviations from every
        Gaussian, where raw densities underflow to 0.
    """

    description: str
    arguments: dict
    far_rows: tuple = field(default=())

    def shapes(self) -> str:
        """'X of shape (304, 2), weights of shape (2,), ...'."""
        return ", ".join(
            f"{name} of shape {np.shape(value)}" for name, value in self.arguments.items()
        )

    def where(self) -> str:
        """The line that ends a failure message: which input showed it."""
        return f"(Test case: {self.description}; {self.shapes()}.)"

    def row_note(self, row: int) -> str:
        """Say so when a row is the faraway point: that is where underflow bites."""
        if row in self.far_rows:
            return f" (row {row} is the point {FAR_AWAY_TEXT} standard deviations away)"
        return ""


def _vowel_gaussians():
    """Means and covariances (in Hz) of the vowels IY and IH, and their data.

    Returns
    -------
    X : ndarray of shape (304, 2)
        F1/F2 of the IY and IH tokens.
    means : ndarray of shape (2, 2)
    covariances : ndarray of shape (2, 2, 2)
        Maximum-likelihood covariances (divided by the count, not count - 1).
    """
    iy = load_vowels("IY").X
    ih = load_vowels("IH").X
    X = np.vstack([iy, ih])
    means = np.array([iy.mean(axis=0), ih.mean(axis=0)])
    covariances = np.array([np.cov(iy.T, bias=True), np.cov(ih.T, bias=True)])
    return X, means, covariances


def _random_gaussian(rng, n_features):
    """A random well-conditioned covariance: A A^T / D + I, eigenvalues >= 1."""
    factor = rng.normal(size=(n_features, n_features))
    return factor @ factor.T / n_features + np.eye(n_features)


def _far_point(mean, covariance):
    """A point FAR_AWAY_STD standard deviations from ``mean`` along the first feature."""
    point = np.array(mean, dtype=float)
    point[0] += FAR_AWAY_STD * np.sqrt(covariance[0, 0])
    return point


# ---------------------------------------------------------------------------
# running the student's function


def _function_name(function) -> str:
    return getattr(function, "__name__", None) or repr(function)


def _innermost_function(traceback) -> str | None:
    """Name of the function in which an exception was raised."""
    if traceback is None:
        return None
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    return traceback.tb_frame.f_code.co_name


def _call_student(student_fn, case: _Case):
    """Call the student's function on a copy of the inputs and return its result.

    Raises
    ------
    ExerciseFailed
        When the function is still the stub, raises any other exception, or
        changes its inputs in place.
    """
    name = _function_name(student_fn)
    arguments = {key: np.array(value, copy=True) for key, value in case.arguments.items()}
    try:
        # The checker explains overflow and 0/0 itself, in words; numpy's
        # RuntimeWarnings would only bury that explanation.
        with np.errstate(all="ignore"):
            result = student_fn(*arguments.values())
    except NotImplementedError as error:
        raised_in = _innermost_function(error.__traceback__)
        if raised_in in (None, name):
            raise ExerciseFailed(NOT_FILLED_IN.format(name=name)) from None
        # The student's function calls an earlier exercise that is still a stub.
        raise ExerciseFailed(
            f"{NOT_FILLED_IN.format(name=raised_in)} ({name} calls {raised_in}.)"
        ) from None
    except Exception as error:
        # `from error` keeps the student's own traceback on screen, above
        # this message, so the failing line in their code is visible.
        raise ExerciseFailed(
            f"{name} raised {type(error).__name__}: {error}\n"
            f"It happened on {case.description}, called with {case.shapes()}. "
            "The traceback above shows the line in your code."
        ) from error
    for key, value in arguments.items():
        if not np.array_equal(value, case.arguments[key]):
            raise ExerciseFailed(
                f"{name} changed its input `{key}` in place (for example with "
                f"`{key} -= ...` or `{key}[...] = ...`), so the caller's data changed too. "
                f"Compute a new array instead, e.g. `centred = {key} - mean`.\n{case.where()}"
            )
    return result


def _as_array(result, name: str, what: str) -> np.ndarray:
    """The student's result as a float array, or a message saying why it is not one."""
    if result is None:
        raise ExerciseFailed(
            f"{name} returned None: did you forget the `return` statement? "
            f"It should return {what}."
        )
    if isinstance(result, tuple):
        raise ExerciseFailed(
            f"{name} returned a tuple of {len(result)} things; it should return only {what}."
        )
    try:
        return np.asarray(result, dtype=float)
    except (TypeError, ValueError):
        raise ExerciseFailed(
            f"{name} should return {what}; it returned a {type(result).__name__}, "
            "which is not an array of numbers."
        ) from None


# How a message names one entry along each axis.
_ENTRY_NAMES = {"n_samples": "point", "n_components": "component", "n_features": "feature"}


def _shape_hint(shape, expected, axis_names) -> str:
    """A guess at how a wrong shape came about, or ''."""
    entry = _ENTRY_NAMES.get(axis_names[0], "entry")
    if len(expected) == 2 and shape == expected[::-1] and expected[0] != expected[1]:
        return "did you transpose?"
    if len(shape) == 0:
        return f"it is a single number; one is needed per {entry}. Did you sum over everything?"
    if len(expected) == 1 and shape in ((expected[0], 1), (1, expected[0])):
        return f"return a flat array with one value per {entry}, e.g. `result.ravel()`."
    if axis_names == ["n_samples"] and shape == (expected[0], expected[0]):
        return (
            "you have one value per *pair* of points: `centred @ A @ centred.T` "
            "compares every point with every other one. Keep one value per point, "
            "e.g. `np.sum((centred @ A) * centred, axis=1)`."
        )
    if len(expected) == 2 and expected[1] == 1 and shape == (expected[0],):
        return (
            "with a single component the component axis has length 1, but it must "
            "still be there: keep it, e.g. with `keepdims=True` or `[:, np.newaxis]`."
        )
    if len(expected) == 1 and len(shape) == 1:
        return "did you sum or average over the wrong axis?"
    if len(expected) == 3 and shape == expected[1:]:
        return "that is one matrix; stack one per component, shape (K, D, D)."
    if len(expected) == 3 and shape == expected[:2]:
        return "those look like variances only; this exercise wants full covariance matrices."
    return ""


def _check_shape(array, expected, axis_names, label: str, case: _Case) -> None:
    expected = tuple(expected)
    if array.shape == expected:
        return
    hint = _shape_hint(array.shape, expected, list(axis_names))
    # Written like a Python tuple, so (n_samples,) reads like (304,).
    names = f"({axis_names[0]},)" if len(axis_names) == 1 else f"({', '.join(axis_names)})"
    raise ExerciseFailed(
        f"{label} should have shape {expected} = {names}; "
        f"yours has {array.shape}{': ' + hint if hint else '.'}\n{case.where()}"
    )


# ---------------------------------------------------------------------------
# comparing and diagnosing


@dataclass(frozen=True)
class _Mistake:
    """A typical mistake: what it would return, and how to explain it.

    Attributes
    ----------
    explanation : str
        Says what the student did and what the exercise wants, in the
        notation of the lesson.
    compute : callable
        Takes a :class:`_Case` and returns what a function with this
        mistake would return on it.
    """

    explanation: str
    compute: Callable


@dataclass(frozen=True)
class _Tolerance:
    """How close counts as the same: |yours - expected| <= atol + rtol |expected|.

    ``atol_relative`` scales with the largest |expected| of the array, for
    quantities in Hz whose size depends on the data.
    """

    rtol: float = 1e-6
    atol: float = 1e-8
    atol_relative: float = 0.0

    def limits(self, expected) -> np.ndarray:
        finite = np.abs(expected[np.isfinite(expected)])
        scale = finite.max() if finite.size else 0.0
        return self.atol + self.atol_relative * scale + self.rtol * np.abs(expected)

    def close(self, actual, expected) -> bool:
        if actual.shape != expected.shape:
            return False
        # equal_nan: a mistake that gives nan (0/0) is reproduced by nan.
        with np.errstate(invalid="ignore"):
            difference = np.abs(actual - expected)
            same = (difference <= self.limits(expected)) | (actual == expected)
        same |= np.isnan(actual) & np.isnan(expected)
        return bool(np.all(same))


def _worst_entry(actual, expected, tolerance: _Tolerance):
    """Index of the entry that is furthest outside the tolerance."""
    with np.errstate(invalid="ignore", divide="ignore"):
        excess = np.abs(actual - expected) / tolerance.limits(expected)
    excess = np.where(np.isnan(excess), np.inf, excess)
    excess = np.where(actual == expected, 0.0, excess)
    return np.unravel_index(int(np.argmax(excess)), actual.shape), int(np.sum(excess > 1))


def _name_mistake(yours, expected, cases, mistakes, tolerance):
    """The explanation of the mistake the student's outputs reproduce, or None.

    A mistake that reproduces the outputs on every case is the best
    explanation; one that reproduces only the first wrong case comes next
    (the student may have made a second mistake that shows elsewhere).
    """
    first_wrong = _first_wrong(yours, expected, tolerance)
    with np.errstate(all="ignore"):
        predictions = [[mistake.compute(case) for case in cases] for mistake in mistakes]
    for mistake, predicted in zip(mistakes, predictions):
        if all(tolerance.close(y, p) for y, p in zip(yours, predicted)):
            return f"{mistake.explanation}\n{cases[first_wrong].where()}"
    for mistake, predicted in zip(mistakes, predictions):
        if tolerance.close(yours[first_wrong], predicted[first_wrong]):
            return f"{mistake.explanation}\n{cases[first_wrong].where()}"
    return None


def _generic_difference(subject, array_name, yours, expected, case, tolerance) -> str:
    """'Your means differ from the reference: means[0, 1] is 3 where 2 is expected ...'."""
    index, n_wrong = _worst_entry(yours, expected, tolerance)
    position = ", ".join(str(i) for i in index)
    return (
        f"{subject} from the reference: {array_name}[{position}] is {yours[index]:.6g} "
        f"where {expected[index]:.6g} is expected ({n_wrong} of {yours.size} values differ).\n"
        f"{case.where()}"
    )


def _first_wrong(yours, expected, tolerance) -> int | None:
    """Index of the first case on which the student's output is not close enough."""
    for i, (y, e) in enumerate(zip(yours, expected)):
        if not tolerance.close(y, e):
            return i
    return None


def _student_facing(check):
    """Show a failure as coming from the check call, not from its internals.

    The student's notebook then shows two frames (their cell, the check) and
    the message; an exception in the student's own code stays visible as the
    cause, above the message.
    """

    @functools.wraps(check)
    def wrapper(student_fn):
        try:
            return check(student_fn)
        except ExerciseFailed as failure:
            raise failure.with_traceback(None)

    return wrapper


def _passed(check_name: str, what: str, n_cases: int) -> None:
    print(f"✓ {check_name}: {what} the reference on {n_cases} test cases.")


# ---------------------------------------------------------------------------
# the pieces of log N(x | mu, Sigma), computed plainly, for the mistakes


def _squared_distances(X, mean, matrix, *, invert=True) -> np.ndarray:
    """(x_n - mu)^T M^{-1} (x_n - mu) for each point (or with M itself if invert=False)."""
    centred = X - mean
    if invert:
        solved = np.linalg.solve(matrix, centred.T).T
    else:
        solved = centred @ matrix
    return np.sum(solved * centred, axis=1)


def _log_det(matrix) -> float:
    return float(np.linalg.slogdet(matrix)[1])


def _log_density_variant(X, mean, covariance, *, constant=None, det_factor=-0.5,
                         exponent_factor=-0.5, quadratic="inverse"):
    """log N(x | mu, Sigma) with one of its terms changed the way a mistake changes it.

    The correct density is constant = -D/2 log 2 pi, det_factor = -1/2,
    exponent_factor = -1/2, quadratic = 'inverse'.
    """
    n_features = X.shape[1]
    if constant is None:
        constant = -0.5 * n_features * LOG_2PI
    if quadratic == "inverse":
        distance = _squared_distances(X, mean, covariance)
    elif quadratic == "covariance":
        distance = _squared_distances(X, mean, covariance, invert=False)
    else:  # "euclidean": the covariance left out of the quadratic form
        distance = _squared_distances(X, mean, np.eye(n_features), invert=False)
    return constant + det_factor * _log_det(covariance) + exponent_factor * distance


# ---------------------------------------------------------------------------
# exercise: the log density of one Gaussian


def _log_density_cases() -> list:
    rng = np.random.default_rng(20240601)
    X_vowels, means, covariances = _vowel_gaussians()
    iy = load_vowels("IY").X
    five_tokens = iy[:5]
    random_covariance = _random_gaussian(rng, 3)
    random_mean = rng.normal(size=3)
    random_X = rng.multivariate_normal(random_mean, random_covariance, size=20)
    return [
        _Case(
            "a hand-made case: three points and the standard normal in 2-D",
            {"X": np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]]),
             "mean": np.zeros(2), "covariance": np.eye(2)},
        ),
        _Case(
            "a hand-made case: four points and a correlated Gaussian in 2-D",
            {"X": np.array([[1.0, -1.0], [2.0, 0.0], [0.0, -3.0], [4.0, 1.0]]),
             "mean": np.array([1.0, -1.0]),
             "covariance": np.array([[2.0, 0.6], [0.6, 1.0]])},
        ),
        _Case(
            "random points around a random Gaussian in 3-D (3 features)",
            {"X": random_X, "mean": random_mean, "covariance": random_covariance},
        ),
        _Case(
            "the vowel IY in Hz, with its own mean and covariance",
            {"X": iy, "mean": means[0], "covariance": covariances[0]},
        ),
        _Case(
            f"five IY tokens in Hz and a point {FAR_AWAY_TEXT} standard deviations away",
            {"X": np.vstack([five_tokens, _far_point(means[0], covariances[0])]),
             "mean": means[0], "covariance": covariances[0]},
            far_rows=(len(five_tokens),),
        ),
    ]


def _log_density_reference(case) -> np.ndarray:
    X, mean, covariance = case.arguments.values()
    return log_gaussian_density(X, mean[np.newaxis], covariance[np.newaxis])[:, 0]


_FORMULA = "log N(x | mu, Sigma) = -1/2 (D log 2 pi + log|Sigma| + (x - mu)^T Sigma^-1 (x - mu))"


def _log_density_mistakes() -> list:
    def variant(**changes):
        return lambda case: _log_density_variant(*case.arguments.values(), **changes)

    return [
        _Mistake(
            "Your function returns the density N(x | mu, Sigma) itself; the exercise asks "
            f"for its logarithm: {_FORMULA}.",
            lambda case: np.exp(_log_density_reference(case)),
        ),
        _Mistake(
            "Your log density is -inf for a point far from the mean: you computed the "
            "density and then took its log, but there exp(-5e11) underflows to 0 and "
            "log(0) = -inf. Compute the logarithm directly, term by term: "
            f"{_FORMULA}.",
            lambda case: np.log(np.exp(_log_density_reference(case))),
        ),
        _Mistake(
            "You used the determinant |Sigma| where its square root belongs: the density "
            "divides by (2 pi)^(D/2) |Sigma|^(1/2), so the log density has -1/2 log|Sigma|, "
            "not -log|Sigma|.",
            variant(det_factor=-1.0),
        ),
        _Mistake(
            "The determinant is missing: the log density has the term -1/2 log|Sigma|, "
            "from the factor 1 / |Sigma|^(1/2).",
            variant(det_factor=0.0),
        ),
        _Mistake(
            "You multiplied by |Sigma|^(1/2) instead of dividing by it: the term is "
            "-1/2 log|Sigma|, with a minus sign.",
            variant(det_factor=+0.5),
        ),
        _Mistake(
            "The exponent is missing its 1/2: it is -1/2 (x - mu)^T Sigma^-1 (x - mu), "
            "not -(x - mu)^T Sigma^-1 (x - mu).",
            variant(exponent_factor=-1.0),
        ),
        _Mistake(
            "The exponent has the wrong sign: it is -1/2 (x - mu)^T Sigma^-1 (x - mu), "
            "so the log density falls as x moves away from mu.",
            variant(exponent_factor=+0.5),
        ),
        _Mistake(
            "The constant (2 pi)^(D/2) is missing: the log density has the term "
            "-D/2 log(2 pi).",
            variant(constant=0.0),
        ),
        _Mistake(
            "You used (2 pi)^(1/2) where (2 pi)^(D/2) belongs: the term is -D/2 log(2 pi), "
            "with D = X.shape[1] features.",
            variant(constant=-0.5 * LOG_2PI),
        ),
        _Mistake(
            "Your function is right for 2 features but not for 3: the constant must be "
            "(2 pi)^(D/2) with D = X.shape[1], not a fixed 2 pi. Write it for any D.",
            variant(constant=-LOG_2PI),
        ),
        _Mistake(
            "You used Sigma where its inverse belongs: the exponent is "
            "-1/2 (x - mu)^T Sigma^-1 (x - mu). Solve Sigma z = (x - mu) "
            "(np.linalg.solve) instead of multiplying by Sigma.",
            variant(quadratic="covariance"),
        ),
        _Mistake(
            "The covariance is missing from the exponent: you computed "
            "-1/2 (x - mu)^T (x - mu), the Euclidean distance; it is "
            "-1/2 (x - mu)^T Sigma^-1 (x - mu), the Mahalanobis distance.",
            variant(quadratic="euclidean"),
        ),
        _Mistake(
            "Only the exponent is there: -1/2 (x - mu)^T Sigma^-1 (x - mu). The log of the "
            "normalising constant, -1/2 (D log 2 pi + log|Sigma|), is missing.",
            variant(constant=0.0, det_factor=0.0),
        ),
    ]


@_student_facing
def check_log_density(student_fn) -> None:
    """Check a student's log density of one multivariate Gaussian.

    Parameters
    ----------
    student_fn : callable
        ``student_fn(X, mean, covariance)`` with X of shape (n_samples,
        n_features), mean of shape (n_features,) and covariance of shape
        (n_features, n_features), returning log N(x_n | mean, covariance)
        as an ndarray of shape (n_samples,).

    Raises
    ------
    ExerciseFailed
        With a message that says what is wrong.
    """
    name = _function_name(student_fn)
    cases = _log_density_cases()
    expected = [_log_density_reference(case) for case in cases]
    yours = []
    for case, reference in zip(cases, expected):
        result = _as_array(_call_student(student_fn, case), name,
                           "an array of shape (n_samples,): one log density per point")
        _check_shape(result, reference.shape, ["n_samples"], "Your log density", case)
        yours.append(result)

    tolerance = _Tolerance(rtol=1e-6, atol=1e-6)
    wrong = _first_wrong(yours, expected, tolerance)
    if wrong is None:
        _passed("check_log_density", "your log density matches", len(cases))
        return
    message = _name_mistake(yours, expected, cases, _log_density_mistakes(), tolerance)
    if message is None:
        case, values = cases[wrong], yours[wrong]
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            row = int(bad[0])
            message = (
                f"Your log density is {values[row]} at point {row}{case.row_note(row)}; "
                f"it should be {expected[wrong][row]:.6g}. Stay in log space: {_FORMULA}.\n"
                f"{case.where()}"
            )
        else:
            message = _generic_difference(
                "Your log density differs", "log_density", values, expected[wrong], case, tolerance
            )
    raise ExerciseFailed(message)


# ---------------------------------------------------------------------------
# exercise: the E-step (responsibilities)


def _responsibility_cases() -> list:
    rng = np.random.default_rng(20240602)
    X_vowels, means, covariances = _vowel_gaussians()
    vowel_weights = np.array([0.6, 0.4])
    some_tokens = X_vowels[::50]  # 7 tokens, IY and IH

    # Three overlapping Gaussians in 3-D, 40 points drawn from their mixture.
    random_means = rng.normal(scale=2.0, size=(3, 3))
    random_covariances = np.array([_random_gaussian(rng, 3) for _ in range(3)])
    random_weights = np.array([0.5, 0.3, 0.2])
    labels = rng.choice(3, size=40, p=random_weights)
    random_X = np.array(
        [rng.multivariate_normal(random_means[k], random_covariances[k]) for k in labels]
    )

    # A third component with a tiny weight, covering both vowels.
    all_mean = X_vowels.mean(axis=0)
    all_covariance = np.cov(X_vowels.T, bias=True)
    tiny = 1e-10
    return [
        _Case(
            "a hand-made case: two Gaussians in 2-D with weights 0.7 and 0.3",
            {"X": np.array([[0.0, 0.0], [1.5, 0.0], [3.0, 0.0], [0.0, 1.0]]),
             "weights": np.array([0.7, 0.3]),
             "means": np.array([[0.0, 0.0], [3.0, 0.0]]),
             "covariances": np.array([np.eye(2), 2.0 * np.eye(2)])},
        ),
        _Case(
            "random points from three overlapping Gaussians in 3-D",
            {"X": random_X, "weights": random_weights, "means": random_means,
             "covariances": random_covariances},
        ),
        _Case(
            "the vowels IY and IH in Hz, one Gaussian per vowel, weights 0.6 and 0.4",
            {"X": X_vowels, "weights": vowel_weights, "means": means, "covariances": covariances},
        ),
        _Case(
            f"six vowel tokens in Hz and a point {FAR_AWAY_TEXT} standard deviations away",
            {"X": np.vstack([some_tokens, _far_point(means[0], covariances[0])]),
             "weights": vowel_weights, "means": means, "covariances": covariances},
            far_rows=(len(some_tokens),),
        ),
        _Case(
            f"the vowels IY and IH in Hz, with a third component of weight {tiny:g}",
            {"X": X_vowels,
             "weights": np.array([0.6, 0.4 - tiny, tiny]),
             "means": np.vstack([means, all_mean]),
             "covariances": np.concatenate([covariances, all_covariance[np.newaxis]])},
        ),
        _Case(
            "the vowel IY in Hz and a single component (K = 1)",
            {"X": load_vowels("IY").X, "weights": np.array([1.0]), "means": means[:1],
             "covariances": covariances[:1]},
        ),
    ]


def _log_terms(case, *, det_factor=-0.5, exponent_factor=-0.5):
    """a_nk = log pi_k + log N(x_n | mu_k, Sigma_k), with the density's terms adjustable."""
    X, weights, means, covariances = case.arguments.values()
    columns = [
        _log_density_variant(
            X, mean, covariance, det_factor=det_factor, exponent_factor=exponent_factor
        )
        for mean, covariance in zip(means, covariances)
    ]
    with np.errstate(divide="ignore"):
        return np.column_stack(columns), np.log(weights)


def _normalise_rows_in_log_space(a) -> np.ndarray:
    """exp(a_nk - log sum_j exp(a_nj)), the max-shifted softmax of each row."""
    shifted = a - a.max(axis=1, keepdims=True)
    return np.exp(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))


def _responsibility_mistakes() -> list:
    def weighted(case):
        log_density, log_weights = _log_terms(case)
        return log_density + log_weights

    def changed_density(**changes):
        def compute(case):
            log_density, log_weights = _log_terms(case, **changes)
            return _normalise_rows_in_log_space(log_density + log_weights)
        return compute

    def columns_normalised(case):
        a = weighted(case)
        shifted = a - a.max(axis=0, keepdims=True)
        return np.exp(shifted) / np.exp(shifted).sum(axis=0, keepdims=True)

    def weights_in_numerator_only(case):
        log_density, log_weights = _log_terms(case)
        return np.exp(log_density + log_weights) / np.exp(log_density).sum(axis=1, keepdims=True)

    def without_log_sum_exp(case):
        # The handout's way: raw densities, divided by their row sums.
        densities = np.exp(weighted(case))
        return densities / densities.sum(axis=1, keepdims=True)

    def normalised_like_the_handout(case):
        # sklearn.preprocessing.normalize(Z, axis=1, norm='l1') treats a row
        # sum below 10 machine epsilons as zero and leaves that row as it is.
        densities = np.exp(weighted(case))
        row_sums = densities.sum(axis=1, keepdims=True)
        row_sums[row_sums < 10 * np.finfo(float).eps] = 1.0
        return densities / row_sums

    formula = "gamma_nk = pi_k N(x_n | mu_k, Sigma_k) / sum_j pi_j N(x_n | mu_j, Sigma_j)"
    return [
        _Mistake(
            "Your responsibilities ignore the weights pi_k: "
            f"{formula}. Multiply each density by its weight (in log space: add log pi_k).",
            lambda case: _normalise_rows_in_log_space(_log_terms(case)[0]),
        ),
        _Mistake(
            "Each column of your responsibilities sums to 1 instead of each row: you "
            "normalised over the points (axis=0) instead of over the components (axis=1). "
            f"{formula}: for each point n, divide by the sum over the components j.",
            columns_normalised,
        ),
        _Mistake(
            "Your responsibilities are the weighted densities pi_k N(x_n | mu_k, Sigma_k), "
            "not yet divided by their sum over the components, so the rows do not sum to 1: "
            f"{formula}.",
            lambda case: np.exp(weighted(case)),
        ),
        _Mistake(
            "You returned the logarithms of the responsibilities, log gamma_nk; "
            "exponentiate them at the end (np.exp) so that each row sums to 1.",
            lambda case: np.log(responsibilities(*case.arguments.values())),
        ),
        _Mistake(
            "The weights pi_k are in the numerator but not in the sum in the denominator, "
            f"so the rows do not sum to 1: {formula}.",
            weights_in_numerator_only,
        ),
        _Mistake(
            "Your responsibilities are nan for a point far from every Gaussian: there "
            "every pi_k N(x_n | mu_k, Sigma_k) underflows to 0, and 0/0 = nan. Work in log "
            "space and subtract each row's largest term before exponentiating "
            "(log-sum-exp): with a_nk = log pi_k + log N(x_n | mu_k, Sigma_k) and "
            "m_n = max_k a_nk, gamma_nk = exp(a_nk - m_n) / sum_j exp(a_nj - m_n).",
            without_log_sum_exp,
        ),
        _Mistake(
            "Some rows of your responsibilities are not normalised: their densities "
            "pi_k N(x_n | mu_k, Sigma_k) are so small (on formants in Hz, often below "
            "1e-15) that the normaliser treated their sum as zero and left them as they "
            "were. sklearn's normalize(Z, axis=1, norm='l1'), the handout's step, does "
            "that. Work in log space and subtract each row's largest term before "
            "exponentiating (log-sum-exp): with a_nk = log pi_k + log N(x_n | mu_k, Sigma_k) "
            "and m_n = max_k a_nk, gamma_nk = exp(a_nk - m_n) / sum_j exp(a_nj - m_n).",
            normalised_like_the_handout,
        ),
        _Mistake(
            "Your Gaussian densities use |Sigma_k| where its square root belongs "
            "(the density divides by |Sigma_k|^(1/2)). This does not cancel in the "
            "responsibilities, because each component has its own |Sigma_k|.",
            changed_density(det_factor=-1.0),
        ),
        _Mistake(
            "Your Gaussian densities leave out the factor 1 / |Sigma_k|^(1/2). It does "
            "not cancel in the responsibilities, because each component has its own "
            "|Sigma_k| (only (2 pi)^(D/2) is shared and cancels).",
            changed_density(det_factor=0.0),
        ),
        _Mistake(
            "The exponent of your Gaussian densities is missing its 1/2: it is "
            "-1/2 (x_n - mu_k)^T Sigma_k^-1 (x_n - mu_k).",
            changed_density(exponent_factor=-1.0),
        ),
    ]


@_student_facing
def check_responsibilities(student_fn) -> None:
    """Check a student's E-step: the responsibilities gamma_nk.

    Parameters
    ----------
    student_fn : callable
        ``student_fn(X, weights, means, covariances)`` with X of shape
        (n_samples, n_features), weights of shape (n_components,), means of
        shape (n_components, n_features) and covariances of shape
        (n_components, n_features, n_features), returning the
        responsibilities as an ndarray of shape (n_samples, n_components).

    Raises
    ------
    ExerciseFailed
        With a message that says what is wrong.
    """
    name = _function_name(student_fn)
    cases = _responsibility_cases()
    expected = [responsibilities(*case.arguments.values()) for case in cases]
    yours = []
    for case, reference in zip(cases, expected):
        result = _as_array(_call_student(student_fn, case), name,
                           "the responsibilities, an array of shape (n_samples, n_components)")
        _check_shape(result, reference.shape, ["n_samples", "n_components"],
                     "Your responsibilities", case)
        yours.append(result)

    tolerance = _Tolerance(rtol=1e-6, atol=1e-8)
    wrong = _first_wrong(yours, expected, tolerance)
    if wrong is None:
        _passed("check_responsibilities", "your responsibilities match", len(cases))
        return
    message = _name_mistake(yours, expected, cases, _responsibility_mistakes(), tolerance)
    if message is None:
        message = _responsibility_property_message(
            yours[wrong], expected[wrong], cases[wrong], tolerance
        )
    raise ExerciseFailed(message)


def _responsibility_property_message(values, expected, case, tolerance) -> str:
    """Name the first broken property of responsibilities, or the worst entry."""
    bad_rows = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if bad_rows.size:
        row = int(bad_rows[0])
        hint = (
            " Far from every Gaussian the densities underflow to 0: work in log space "
            "and subtract the row's largest log term before exponentiating (log-sum-exp)."
            if row in case.far_rows else ""
        )
        return (
            f"Row {row} of your responsibilities is {np.array2string(values[row], precision=4)}"
            f"{case.row_note(row)}: every entry must be a finite number.{hint}\n{case.where()}"
        )
    row_sums = values.sum(axis=1)
    bad_rows = np.flatnonzero(np.abs(row_sums - 1.0) > 1e-6)
    if bad_rows.size:
        column_sums = values.sum(axis=0)
        if np.allclose(column_sums, 1.0, atol=1e-6) and values.shape[0] > 1:
            return (
                "Each column of your responsibilities sums to 1 instead of each row: you "
                "normalised over the points (axis=0) instead of over the components (axis=1)."
                f"\n{case.where()}"
            )
        row = int(bad_rows[0])
        return (
            f"Row {row} of your responsibilities sums to {row_sums[row]:.4g}{case.row_note(row)}; "
            "each row must sum to 1, because every point belongs to the components with "
            f"total probability 1.\n{case.where()}"
        )
    if np.any(values < 0) or np.any(values > 1 + 1e-9):
        row, column = np.argwhere((values < 0) | (values > 1 + 1e-9))[0]
        return (
            f"Your responsibilities[{row}, {column}] is {values[row, column]:.4g}; "
            f"responsibilities are probabilities, between 0 and 1.\n{case.where()}"
        )
    return _generic_difference(
        "Your responsibilities differ", "responsibilities", values, expected, case, tolerance
    )


# ---------------------------------------------------------------------------
# exercise: the M-step


def _m_step_cases() -> list:
    rng = np.random.default_rng(20240603)
    X_vowels, means, covariances = _vowel_gaussians()
    all_mean = X_vowels.mean(axis=0)
    all_covariance = np.cov(X_vowels.T, bias=True)
    three_means = np.vstack([means, all_mean])
    three_covariances = np.concatenate([covariances, all_covariance[np.newaxis]])
    tiny = 1e-6

    mixing = np.array([[2.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 0.5]])
    random_X = rng.normal(size=(60, 3)) @ mixing
    random_responsibilities = rng.dirichlet(np.ones(3), size=60)
    return [
        _Case(
            "a hand-made case: five points in 2-D, each given wholly to one of two components",
            {"X": np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [10.0, 10.0], [12.0, 10.0]]),
             "responsibilities": np.array(
                 [[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])},
        ),
        _Case(
            "random points in 3-D with random soft responsibilities for three components",
            {"X": random_X, "responsibilities": random_responsibilities},
        ),
        _Case(
            "the vowels IY and IH in Hz, with responsibilities from three Gaussians",
            {"X": X_vowels,
             "responsibilities": responsibilities(
                 X_vowels, [0.4, 0.3, 0.3], three_means, three_covariances)},
        ),
        _Case(
            "the vowels IY and IH in Hz, with a third component that gets almost no responsibility",
            {"X": X_vowels,
             "responsibilities": responsibilities(
                 X_vowels, [0.6, 0.4 - tiny, tiny], three_means, three_covariances)},
        ),
        _Case(
            "the vowels IY and IH in Hz and a single component (K = 1)",
            {"X": X_vowels, "responsibilities": np.ones((X_vowels.shape[0], 1))},
        ),
    ]


def _statistics(case):
    """N_k, the weighted sums, and the correct new means, plainly."""
    X, gamma = case.arguments.values()
    counts = gamma.sum(axis=0)                       # N_k = sum_n gamma_nk
    weighted_sums = gamma.T @ X                      # sum_n gamma_nk x_n
    return X, gamma, counts, weighted_sums, weighted_sums / counts[:, np.newaxis]


def _scatter(X, gamma, centres, *, power=1):
    """S_k = sum_n gamma_nk^power (x_n - c_k)(x_n - c_k)^T, of shape (K, D, D)."""
    centres = np.broadcast_to(centres, (gamma.shape[1], X.shape[1]))
    return np.array([
        ((gamma[:, k] ** power)[:, np.newaxis] * (X - centre)).T @ (X - centre)
        for k, centre in enumerate(centres)
    ])


def _m_step_mistakes() -> dict:
    """Typical mistakes for each of the three outputs, by output name."""

    def covariance_variant(divide_by="N_k", centres="new", power=1):
        def compute(case):
            X, gamma, counts, _, new_means = _statistics(case)
            n_samples = X.shape[0]
            centre = {
                "new": new_means, "global": X.mean(axis=0), "zero": np.zeros(X.shape[1])
            }[centres]
            scatter = _scatter(X, gamma, centre, power=power)
            divisor = {
                "N_k": counts,
                "N_k - 1": counts - 1.0,
                "N": np.full_like(counts, n_samples),
                "1": np.ones_like(counts),
                # np.cov(x, aweights=gamma_k) divides by N_k - sum_n gamma_nk^2 / N_k.
                "np.cov": counts - (gamma ** 2).sum(axis=0) / counts,
            }[divide_by]
            return scatter / divisor[:, np.newaxis, np.newaxis]
        return compute

    def unweighted(divide_by):
        def compute(case):
            X, gamma, counts, _, new_means = _statistics(case)
            scatter = _scatter(X, np.ones_like(gamma), new_means)
            divisor = X.shape[0] if divide_by == "N" else counts[:, np.newaxis, np.newaxis]
            return scatter / divisor
        return compute

    def diagonal_only(case):
        full = covariance_variant()(case)
        return np.array([np.diag(np.diag(matrix)) for matrix in full])

    def covariance_of_all_data(case):
        X, gamma, *_ = _statistics(case)
        return np.broadcast_to(np.cov(X.T, bias=True), (gamma.shape[1],) + (X.shape[1],) * 2)

    covariance_formula = "Sigma_k = (1/N_k) sum_n gamma_nk (x_n - mu_k)(x_n - mu_k)^T"
    mean_formula = "mu_k = (1/N_k) sum_n gamma_nk x_n"
    weights = [
        _Mistake(
            "Your weights are N_k = sum_n gamma_nk, the (soft) number of points in each "
            "component, so they do not sum to 1: divide by the number of points N, "
            "pi_k = N_k / N.",
            lambda case: _statistics(case)[2],
        ),
        _Mistake(
            "Your weights are all 1/K: the M-step must update them too, pi_k = N_k / N "
            "with N_k = sum_n gamma_nk.",
            lambda case: np.full(case.arguments["responsibilities"].shape[1],
                                 1.0 / case.arguments["responsibilities"].shape[1]),
        ),
    ]
    means = [
        _Mistake(
            "Your means are divided by N, the number of all points; divide by N_k = "
            f"sum_n gamma_nk, the (soft) number of points in component k: {mean_formula}.",
            lambda case: _statistics(case)[3] / case.arguments["X"].shape[0],
        ),
        _Mistake(
            "Each of your means is the plain average of all the points: the "
            "responsibilities are missing. Weight each point by how much it belongs to "
            f"component k: {mean_formula}.",
            lambda case: np.broadcast_to(
                case.arguments["X"].mean(axis=0), _statistics(case)[4].shape
            ),
        ),
        _Mistake(
            f"Your means are the sums sum_n gamma_nk x_n, never divided by N_k: {mean_formula}.",
            lambda case: _statistics(case)[3],
        ),
        _Mistake(
            f"You divided by the weight pi_k instead of by N_k = N pi_k: {mean_formula}.",
            lambda case: _statistics(case)[4] * case.arguments["X"].shape[0],
        ),
        _Mistake(
            "Your means look transposed: means[k] must be the mean of component k, "
            "shape (n_components, n_features).",
            lambda case: _statistics(case)[4].T,
        ),
    ]
    covariances = [
        _Mistake(
            "Your covariances are centred on the mean of all the data (or on an old mean), "
            "not on the component's new mean mu_k: compute mu_k first, then "
            f"{covariance_formula}.",
            covariance_variant(centres="global"),
        ),
        _Mistake(
            "Your covariances are not centred: you used x_n x_n^T where "
            "(x_n - mu_k)(x_n - mu_k)^T belongs (or subtracted a mean that was still "
            f"zero; compute mu_k before Sigma_k): {covariance_formula}.",
            covariance_variant(centres="zero"),
        ),
        _Mistake(
            "You divided by N_k - 1 (the unbiased sample covariance, what np.cov does by "
            "default); the M-step divides by N_k: "
            f"{covariance_formula}. With np.cov, pass bias=True.",
            covariance_variant(divide_by="N_k - 1"),
        ),
        _Mistake(
            "You divided by N_k - 1 (the unbiased sample covariance, what np.cov does by "
            "default); the M-step divides by N_k: "
            f"{covariance_formula}. With np.cov, pass bias=True.",
            covariance_variant(divide_by="np.cov"),
        ),
        _Mistake(
            "Your covariances are divided by N, the number of all points; divide by "
            f"N_k = sum_n gamma_nk: {covariance_formula}.",
            covariance_variant(divide_by="N"),
        ),
        _Mistake(
            f"Your covariances are sums that were never divided by N_k: {covariance_formula}.",
            covariance_variant(divide_by="1"),
        ),
        _Mistake(
            "Your covariances give every point the same weight: gamma_nk is missing from "
            f"the sum. {covariance_formula}.",
            unweighted("N"),
        ),
        _Mistake(
            "Your covariances give every point the same weight: gamma_nk is missing from "
            f"the sum. {covariance_formula}.",
            unweighted("N_k"),
        ),
        _Mistake(
            "Each term of your covariance carries gamma_nk twice (gamma_nk squared): you "
            "weighted both factors. Weight once, e.g. "
            "`(gamma_k[:, None] * centred).T @ centred / N_k`.",
            covariance_variant(power=2),
        ),
        _Mistake(
            "Your covariances are diagonal: the handout's M-step fits diagonal "
            "covariances, but this exercise asks for full ones. Keep the off-diagonal "
            f"terms: {covariance_formula}, e.g. "
            "`(gamma_k[:, None] * centred).T @ centred / N_k`.",
            diagonal_only,
        ),
        _Mistake(
            "Every one of your covariances is the covariance of all the data: the "
            "responsibilities and the component's own mean mu_k are missing. "
            f"{covariance_formula}.",
            covariance_of_all_data,
        ),
    ]
    return {"weights": weights, "means": means, "covariances": covariances}


def _m_step_outputs(result, name, case, expected_shapes):
    """Split the student's result into (weights, means, covariances) arrays, checking shapes."""
    what = "three arrays: (weights, means, covariances)"
    if result is None:
        raise ExerciseFailed(
            f"{name} returned None: did you forget the `return` statement? It should return {what}."
        )
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        if isinstance(result, (tuple, list)):
            count = f"{len(result)} things"
        else:
            count = f"a {type(result).__name__}"
        raise ExerciseFailed(f"{name} should return {what}; it returned {count}.")
    outputs = []
    for output_name, value in zip(("weights", "means", "covariances"), result):
        try:
            outputs.append(np.asarray(value, dtype=float))
        except (TypeError, ValueError):
            raise ExerciseFailed(
                f"The {output_name} returned by {name} should be an array of numbers; "
                f"it is a {type(value).__name__}."
            ) from None
    shapes = [output.shape for output in outputs]
    same_shapes_in_another_order = sorted(map(str, shapes)) == sorted(map(str, expected_shapes))
    if shapes != list(expected_shapes) and same_shapes_in_another_order:
        raise ExerciseFailed(
            f"{name} returns the right arrays in the wrong order: return them as "
            f"(weights, means, covariances); yours have shapes {', '.join(map(str, shapes))}.\n"
            f"{case.where()}"
        )
    axis_names = (["n_components"], ["n_components", "n_features"],
                  ["n_components", "n_features", "n_features"])
    for output_name, output, shape, axes in zip(("weights", "means", "covariances"), outputs,
                                                 expected_shapes, axis_names):
        _check_shape(output, shape, axes, f"Your {output_name}", case)
    return outputs


@_student_facing
def check_m_step(student_fn) -> None:
    """Check a student's M-step with full covariances and no regularisation.

    Parameters
    ----------
    student_fn : callable
        ``student_fn(X, responsibilities)`` with X of shape (n_samples,
        n_features) and responsibilities of shape (n_samples, n_components),
        returning ``(weights, means, covariances)`` of shapes
        (n_components,), (n_components, n_features) and
        (n_components, n_features, n_features).

    Raises
    ------
    ExerciseFailed
        With a message that says what is wrong.
    """
    name = _function_name(student_fn)
    cases = _m_step_cases()
    expected = [
        m_step(*case.arguments.values(), covariance_type="full", reg_covar=0.0) for case in cases
    ]
    yours = []
    for case, reference in zip(cases, expected):
        result = _call_student(student_fn, case)
        yours.append(_m_step_outputs(result, name, case, [array.shape for array in reference]))

    # Entries in Hz^2 span many orders of magnitude; an absolute floor
    # relative to the largest entry keeps near-zero covariances comparable.
    tolerance = _Tolerance(rtol=1e-6, atol=1e-12, atol_relative=1e-9)
    mistakes = _m_step_mistakes()
    for position, output_name in enumerate(("weights", "means", "covariances")):
        your_outputs = [outputs[position] for outputs in yours]
        expected_outputs = [outputs[position] for outputs in expected]
        wrong = _first_wrong(your_outputs, expected_outputs, tolerance)
        if wrong is None:
            continue
        message = _name_mistake(
            your_outputs, expected_outputs, cases, mistakes[output_name], tolerance
        )
        if message is None:
            message = _m_step_property_message(
                output_name, your_outputs[wrong], expected_outputs[wrong], cases[wrong], tolerance)
        raise ExerciseFailed(message)
    _passed("check_m_step", "your M-step matches", len(cases))


def _m_step_property_message(output_name, values, expected, case, tolerance) -> str:
    """Name the first broken property of an M-step output, or the worst entry."""
    if not np.all(np.isfinite(values)):
        index = tuple(np.argwhere(~np.isfinite(values))[0])
        return (
            f"Your {output_name}[{', '.join(map(str, index))}] is {values[index]}: every "
            f"entry must be a finite number (is something divided by 0?).\n{case.where()}"
        )
    if output_name == "weights" and abs(values.sum() - 1.0) > 1e-6:
        return (
            f"Your weights sum to {values.sum():.4g}, not 1: pi_k = N_k / N, where "
            f"N_k = sum_n gamma_nk and N is the number of points.\n{case.where()}"
        )
    if output_name == "covariances":
        for k, matrix in enumerate(values):
            asymmetry = np.abs(matrix - matrix.T)
            if asymmetry.max() > 1e-9 * max(np.abs(matrix).max(), 1e-300):
                i, j = np.unravel_index(int(np.argmax(asymmetry)), matrix.shape)
                return (
                    f"Your covariances[{k}] is not symmetric: entry [{i}, {j}] is "
                    f"{matrix[i, j]:.6g} but entry [{j}, {i}] is {matrix[j, i]:.6g}. "
                    "Sigma_k = (1/N_k) sum_n gamma_nk (x_n - mu_k)(x_n - mu_k)^T is symmetric: "
                    "fill both triangles, and use (x_n - mu_k) for both factors."
                    f"\n{case.where()}"
                )
            if np.any(np.diag(matrix) < 0):
                return (
                    f"Your covariances[{k}] has a negative variance on its diagonal "
                    f"({np.array2string(np.diag(matrix), precision=4)}); variances are "
                    f"weighted sums of squares, never negative.\n{case.where()}"
                )
    return _generic_difference(
        f"Your {output_name} differ", output_name, values, expected, case, tolerance
    )
