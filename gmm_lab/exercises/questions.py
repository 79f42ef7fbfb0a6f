"""Predict-then-run questions: the student writes a prediction, then runs it.

Each question is answered in a variable (``f2_prediction = "rises"``) before
the cell that shows the answer; its check compares the prediction with what
the computation gives *now* (the checker runs it), so a question cannot
drift away from the data or the library, and explains the result with the
numbers it found. To add a question, add a :class:`Question` to ``QUESTIONS``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..data import load_vowels
from .._em import run_em
from ._driver import ExerciseFailed, NOT_FILLED_IN, student_facing


@dataclass(frozen=True)
class Question:
    """One prediction to make.

    Attributes
    ----------
    variable : str
        The name the lesson asks the answer to be stored in.
    prompt : str
        The question, as the lesson asks it.
    choices : tuple of str
        The allowed answers.
    compute : callable
        Returns (answer, explanation): the true answer, one of the choices,
        and a sentence with the numbers behind it.
    """

    variable: str
    prompt: str
    choices: tuple
    compute: Callable


def _iy_f2_by_group():
    means = [load_vowels("IY", speakers=group).X[:, 1].mean() for group in ("M", "W", "C")]
    answer = "rises" if means[0] < means[1] < means[2] else (
        "falls" if means[0] > means[1] > means[2] else "neither")
    return answer, (
        f"The mean F2 of IY is {means[0]:.0f} Hz for the men, {means[1]:.0f} Hz for the women "
        f"and {means[2]:.0f} Hz for the children: a shorter vocal tract resonates at higher "
        "frequencies."
    )


SPLIT_SETTINGS = dict(n_components=2, covariance_type="full", init_params="kmeans", random_state=0,
                      tol=1e-6, max_iter=500)


def _two_vowel_split():
    data = load_vowels(["IY", "IH"])
    history = run_em(data.X, **SPLIT_SETTINGS)
    labels = history[-1].labels()

    def agreement(truth):
        same = np.mean(labels == truth)
        return max(same, 1.0 - same)

    by_vowel = agreement(data.vowel == "IH")
    by_speaker = agreement(data.speaker_type == "M")
    answer = "speakers" if by_speaker > by_vowel else "vowels"
    return answer, (
        f"The two components agree with the vowels for {100 * by_vowel:.0f} % of the tokens "
        f"and with the split men / women and children for {100 * by_speaker:.0f} %: in Hz the "
        "largest structure in these 304 tokens is the speakers' vocal-tract length, not the vowel."
    )


REG_COVAR_SETTINGS = dict(n_components=5, init_params="kmeans", random_state=5)
LARGE_REG_COVAR = 4000.0


def _reg_covar_trend():
    X = load_vowels("AA").X
    with warnings.catch_warnings():
        # A large reg_covar is the point here: no warning about it.
        warnings.simplefilter("ignore", UserWarning)
        history = run_em(X, reg_covar=LARGE_REG_COVAR, **REG_COVAR_SETTINGS)
    steps = np.diff(history.log_likelihoods)
    falls = int(np.sum(steps < 0))
    rises = int(np.sum(steps > 0))
    answer = "rises" if falls == 0 else "falls"
    return answer, (
        f"With reg_covar = {LARGE_REG_COVAR:g} Hz^2, L fell at {falls} and rose at {rises} of "
        f"the {steps.size} iterations. A regulariser makes the M-step inexact: it no longer "
        "maximises the lower bound, so nothing stops L from falling."
    )


QUESTIONS = {
    "iy_f2_by_group": Question(
        "f2_prediction",
        "From men to women to children, does the mean F2 of IY ('heed') rise or fall?",
        ("rises", "falls"),
        _iy_f2_by_group,
    ),
    "two_vowel_split": Question(
        "split_prediction",
        "EM with two full Gaussians, started from k-means in Hz (init_params='kmeans', "
        "random_state=0, tol=1e-6), on the IY and IH tokens of all speakers: will its components "
        "separate the 'vowels' or the 'speakers' (men against women and children)?",
        ("vowels", "speakers"),
        _two_vowel_split,
    ),
    "reg_covar_trend": Question(
        "trend_prediction",
        "EM on the AA ('hod') tokens, K = 5, init_params='kmeans', random_state=5, with "
        "reg_covar = 4000 Hz^2: will L(theta_t) rise at every iteration ('rises'), or fall "
        "('falls')?",
        ("rises", "falls"),
        _reg_covar_trend,
    ),
}


def _normalise(value):
    return value.strip().lower().strip("'\".") if isinstance(value, str) else value


@student_facing
def check_prediction(prediction, question: str, *, graded: bool = False) -> None:
    """Check a prediction against what the computation gives.

    Parameters
    ----------
    prediction : str
        The student's answer: one of the question's choices.
    question : str
        The question's id, a key of ``QUESTIONS``.
    graded : bool, default=False
        The nbgrader hidden test's call: the same check, a one-line output
        (a question has no hidden cases).

    Raises
    ------
    ExerciseFailed
        With a message that gives the right answer and the numbers behind it.
    """
    spec = QUESTIONS[question]
    if prediction is None:
        raise ExerciseFailed(NOT_FILLED_IN.format(name=spec.variable))
    choices = " or ".join(repr(choice) for choice in spec.choices)
    answer = _normalise(prediction)
    if answer not in spec.choices:
        raise ExerciseFailed(
            f"{spec.variable} should be {choices}; it is {prediction!r}.\n{spec.prompt}"
        )
    truth, explanation = spec.compute()
    if answer != truth:
        raise ExerciseFailed(f"Your prediction was {answer!r}; it is {truth!r}. {explanation}")
    if graded:
        print("✓ check_prediction: right (graded).")
    else:
        print(f"✓ check_prediction: right. {explanation}")
