"""Checks behind the classroom exercises, with feedback a student can act on.

Each ``check_*`` function runs the student's function on several test cases
(small hand-made ones, random ones, the vowel data in Hz, and edge cases such
as a point a million standard deviations away), compares the results with
gmm_lab's own implementation, and then either prints one line or raises
:class:`ExerciseFailed` (an ``AssertionError``, so nbgrader counts it as a
failed test).

A failure message says what is wrong in the terms of the lesson, not only
that something is: each exercise module holds a catalogue of typical
mistakes, each computing what a student who made it would return, and the
message names the one the student's output reproduces. The shared driver
(``_driver``) runs the student's code under a time limit, notices forbidden
tools and calls of the library's own answer, and points at the student's line.

In a lesson, the check cell shows the student the practice check, and the
nbgrader hidden test that decides the points runs the same check with
``graded=True`` (more test cases, not shown in the student edition)::

    check_m_step(my_m_step)
    ### BEGIN HIDDEN TESTS
    check_m_step(my_m_step, graded=True)
    ### END HIDDEN TESTS

Examples
--------
>>> from gmm_lab.exercises import check_responsibilities
>>> check_responsibilities(my_responsibilities)  # doctest: +SKIP
✓ check_responsibilities: your responsibilities match the reference on 7 test cases.
"""

from ._driver import TIME_LIMIT, ExerciseFailed
from .classifier import check_class_posteriors, check_heldout_accuracy
from .e_step import check_responsibilities
from .em_loop import check_em_loop
from .log_density import check_log_density
from .m_step import check_m_step
from .model_choice import check_choose_by_bic, check_n_parameters
from .questions import QUESTIONS, check_prediction
from .singular import check_fix_features, check_zero_variance_direction
from .vowel_means import check_vowel_means

__all__ = [
    "TIME_LIMIT",
    "ExerciseFailed",
    "QUESTIONS",
    # lesson 1
    "check_vowel_means",
    # lesson 2
    "check_log_density",
    "check_responsibilities",
    # lesson 3
    "check_m_step",
    "check_em_loop",
    # lesson 4
    "check_n_parameters",
    "check_choose_by_bic",
    "check_zero_variance_direction",
    "check_fix_features",
    # lesson 5
    "check_class_posteriors",
    "check_heldout_accuracy",
    # every lesson: predict-then-run questions
    "check_prediction",
]
