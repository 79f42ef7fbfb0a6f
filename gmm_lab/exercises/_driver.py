"""The shared driver behind every exercise check.

One check = a list of test cases, a reference answer for each, and a
catalogue of typical mistakes (each one a function that computes what a
student who made it would return). The driver

- calls the student's function on a copy of each case's inputs, in a daemon
  thread, and stops waiting after the check's time limit (portable: no
  signals; a pure-Python endless loop is then interrupted too);
- watches, while the student's code runs, which library functions it calls
  (``sys.setprofile`` in that thread): a forbidden tool (``inv``, ``det``,
  ``pinv``, ``scipy.stats``) or the library's own implementation of what the
  exercise asks is reported, with the student's line;
- turns ``None``, a wrong type, a wrong shape or an exception inside the
  student's code into one message that points at the student's line;
- names the mistake in the catalogue that reproduces the student's outputs.

The exercise modules (``log_density``, ``e_step``, ``m_step``, ...) hold the
cases, the reference and the catalogue of one exercise each.
"""

from __future__ import annotations

import ctypes
import functools
import linecache
import os
import sys
import sysconfig
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

# How long one check may spend in the student's code, in seconds: all its
# calls together. nbgrader stops a cell after its Execute.timeout (30 s by
# default; the course in course/ sets 120 s), so the check always speaks
# first, with a message that says what happened.
TIME_LIMIT = 20.0

NOT_FILLED_IN = "{name} is not filled in yet: replace `raise NotImplementedError()` with your code."


class ExerciseFailed(AssertionError):
    """The student's function does not do what the exercise asks; the message says why."""


class _StopStudentCode(BaseException):
    """Raised inside the student's thread when the time limit is reached."""


# ---------------------------------------------------------------------------
# test cases


@dataclass(frozen=True, eq=False)
class Case:
    """One input to the student's function, described in words.

    Attributes
    ----------
    description : str
        What the input is, e.g. "the vowels IY and IH in Hz".
    arguments : dict of str to object
        The positional arguments, by name, in call order.
    far_rows : tuple of int
        Rows of X far from every Gaussian, where raw densities underflow.
    extra : dict
        Whatever the exercise's references and mistakes need besides the
        arguments (e.g. the settings of a reference run).
    """

    description: str
    arguments: dict
    far_rows: tuple = field(default=())
    extra: dict = field(default_factory=dict)

    def shapes(self) -> str:
        """'X of shape (304, 2), weights of shape (2,), tol = 0.001'."""
        parts = []
        for name, value in self.arguments.items():
            if isinstance(value, np.ndarray):
                parts.append(f"{name} of shape {value.shape}")
            elif callable(value):
                parts.append(f"{name} = {getattr(value, '__name__', 'a function')}")
            elif isinstance(value, (list, tuple)) and value and not np.isscalar(value[0]):
                parts.append(f"{name}: {len(value)} items")
            else:
                parts.append(f"{name} = {value!r}")
        return ", ".join(parts)

    def where(self) -> str:
        """The line that ends a failure message: which input showed it."""
        return f"(Test case: {self.description}; {self.shapes()}.)"

    def row_note(self, row: int) -> str:
        if row in self.far_rows:
            return f" (row {row} is the point far from every Gaussian)"
        return ""


def with_article(word: str) -> str:
    """'a dict', 'an int'."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def function_name(function) -> str:
    return getattr(function, "__name__", None) or repr(function)


# ---------------------------------------------------------------------------
# whose code is it: the student's, or a library's


def _library_roots() -> tuple:
    roots = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(os.path.realpath(path))
    roots.add(os.path.realpath(os.path.dirname(os.__file__)))
    # gmm_lab itself, wherever it is installed (an editable install lives
    # outside site-packages).
    roots.add(os.path.realpath(str(Path(__file__).resolve().parent.parent)))
    return tuple(sorted(roots))


_LIBRARY_ROOTS = _library_roots()


@functools.lru_cache(maxsize=4096)
def is_student_file(filename: str) -> bool:
    """True for code a student wrote: a notebook cell, a script, a test file."""
    if filename.startswith("<frozen") or filename.startswith("<string"):
        return False
    if filename.startswith("<"):  # "<ipython-input-...>", "<stdin>"
        return True
    path = os.path.realpath(filename)
    return not any(path == root or path.startswith(root + os.sep) for root in _LIBRARY_ROOTS)


def _source_line(filename: str, lineno: int) -> str:
    return linecache.getline(filename, lineno).strip()


@dataclass(frozen=True)
class Location:
    """A line of the student's code."""

    function: str
    lineno: int
    source: str

    def __str__(self) -> str:
        text = f"in {self.function}, line {self.lineno}"
        return f"{text}: `{self.source}`" if self.source else text


def _location_of(frame) -> Location:
    code = frame.f_code
    return Location(code.co_name, frame.f_lineno, _source_line(code.co_filename, frame.f_lineno))


def student_frame_in_traceback(traceback):
    """The innermost frame of a traceback that is the student's code, or None."""
    found = None
    while traceback is not None:
        if is_student_file(traceback.tb_frame.f_code.co_filename):
            found = (traceback.tb_frame, traceback.tb_lineno)
        traceback = traceback.tb_next
    return found


def _innermost_student_frame(frame):
    """Walk a live stack from its innermost frame outwards to the student's code."""
    while frame is not None:
        if is_student_file(frame.f_code.co_filename):
            return frame
        frame = frame.f_back
    return None


# ---------------------------------------------------------------------------
# forbidden tools and the library's own answers


@dataclass(frozen=True)
class Forbidden:
    """Functions the student's code may not call, and what to say if it does.

    Attributes
    ----------
    label : str
        How the message names the function, e.g. "np.linalg.inv".
    path : str
        A fragment of the library file's path, with forward slashes,
        e.g. "numpy/linalg/".
    names : tuple of str
        Function (code object) names in that file; empty means any.
    advice : str
        What the message tells the student to do instead.
    kind : str
        'tool' (a tool the exercise forbids) or 'answer' (the library's own
        implementation of what the exercise asks).
    """

    label: str
    path: str
    names: tuple = ()
    advice: str = ""
    kind: str = "tool"

    def matches(self, code) -> bool:
        filename = code.co_filename.replace("\\", "/")
        return self.path in filename and (not self.names or code.co_name in self.names)


def inverse_tools(advice: str) -> list:
    """inv, pinv and det, from numpy and scipy."""
    tools = []
    for name in ("inv", "pinv", "det"):
        tools.append(Forbidden(f"np.linalg.{name}", "numpy/linalg/", (name,), advice))
        tools.append(Forbidden(f"scipy.linalg.{name}", "scipy/linalg/", (name,), advice))
    return tools


def scipy_stats(advice: str) -> Forbidden:
    return Forbidden("scipy.stats", "scipy/stats/", (), advice)


def sklearn_mixture(advice: str, what: str = "scikit-learn's GaussianMixture") -> Forbidden:
    return Forbidden(what, "sklearn/mixture/", (), advice, kind="answer")


def gmm_lab_function(label: str, module: str, names, advice: str) -> Forbidden:
    return Forbidden(label, f"gmm_lab/{module}.py", tuple(names), advice, kind="answer")


class _Watcher:
    """A profile function that records the first forbidden call made by student code."""

    def __init__(self, forbidden):
        self.forbidden = tuple(forbidden)
        self.found = None  # (Forbidden, Location)
        self._verdicts = {}

    def _rule(self, code):
        try:
            return self._verdicts[code]
        except KeyError:
            rule = next((rule for rule in self.forbidden if rule.matches(code)), None)
            self._verdicts[code] = rule
            return rule

    def __call__(self, frame, event, arg):
        if event != "call" or self.found is not None:
            return
        rule = self._rule(frame.f_code)
        if rule is None:
            return
        # Who called it? Step over the library's own wrappers (a decorator in
        # scipy, a method calling a method): the first frame outside the
        # rule's package and the standard library is the caller.
        package = rule.path.split("/")[0] + "/"
        caller = frame.f_back
        while caller is not None:
            filename = caller.f_code.co_filename
            if package in filename.replace("\\", "/") or _in_standard_library(filename):
                caller = caller.f_back
                continue
            break
        if caller is not None and is_student_file(caller.f_code.co_filename):
            self.found = (rule, _location_of(caller))


_STANDARD_LIBRARY = os.path.realpath(os.path.dirname(os.__file__))


@functools.lru_cache(maxsize=4096)
def _in_standard_library(filename: str) -> bool:
    path = os.path.realpath(filename)
    return path.startswith(_STANDARD_LIBRARY + os.sep) and "site-packages" not in path


# ---------------------------------------------------------------------------
# calling the student's function


def _stop_thread(thread) -> None:
    """Raise _StopStudentCode inside ``thread`` at its next bytecode (CPython)."""
    try:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread.ident), ctypes.py_object(_StopStudentCode)
        )
    except (AttributeError, TypeError):  # not CPython: the daemon thread is left behind
        pass


class Budget:
    """The time a check may still spend in the student's code."""

    def __init__(self, seconds=None):
        self.seconds = TIME_LIMIT if seconds is None else float(seconds)
        self.deadline = time.monotonic() + self.seconds

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())


def run_student(student_fn, arguments, case: Case, *, budget: Budget, forbidden=()):
    """Call ``student_fn(*arguments)`` under the time limit, watching what it calls.

    Returns
    -------
    object
        What the student's function returned.

    Raises
    ------
    ExerciseFailed
        When the function is still the stub, raises, runs out of time, or
        calls a forbidden function.
    """
    name = function_name(student_fn)
    box = {}
    watcher = _Watcher(forbidden)

    def target():
        if watcher.forbidden:  # watching costs a little on every Python call
            sys.setprofile(watcher)
        try:
            # The checker explains overflow and 0/0 itself, in words.
            with np.errstate(all="ignore"):
                box["result"] = student_fn(*arguments)
        except _StopStudentCode:
            box["stopped"] = True
        except BaseException as error:  # noqa: BLE001 - reported to the student
            box["error"] = error
        finally:
            sys.setprofile(None)

    thread = threading.Thread(target=target, name=f"gmm-lab-check-{name}", daemon=True)
    thread.start()
    try:
        thread.join(budget.remaining())
    except KeyboardInterrupt:  # the student pressed Stop: stop their code too
        _stop_thread(thread)
        raise
    if thread.is_alive():
        frame = sys._current_frames().get(thread.ident)
        student = _innermost_student_frame(frame)
        _stop_thread(thread)
        thread.join(1.0)
        where = f" When it was stopped it was running {_location_of(student)}." if student else ""
        raise ExerciseFailed(
            f"{name} did not finish within {budget.seconds:g} s, so the check stopped it. "
            f"Is there a loop that never ends (a `while` whose condition never becomes "
            f"False, a counter that is never increased)?{where}\n{case.where()}"
        )
    if "error" in box:
        _raise_for_error(box["error"], name, case)
    if watcher.found is not None:
        rule, location = watcher.found
        if rule.kind == "answer":
            text = (
                f"{name} calls {rule.label} ({location}): that is what this exercise asks "
                f"you to write yourself, so it earns no points. {rule.advice}"
            )
        else:
            text = (
                f"{name} uses {rule.label} ({location}), which this exercise asks you to do "
                f"without. {rule.advice}"
            )
        raise ExerciseFailed(text.rstrip() + f"\n{case.where()}")
    return box.get("result")


def _raise_for_error(error, name, case):
    if isinstance(error, NotImplementedError):
        raised_in = _innermost_function(error.__traceback__)
        if raised_in in (None, name):
            raise ExerciseFailed(NOT_FILLED_IN.format(name=name)) from None
        # The student's function calls an earlier exercise that is still a stub.
        raise ExerciseFailed(
            f"{NOT_FILLED_IN.format(name=raised_in)} ({name} calls {raised_in}.)"
        ) from None
    found = student_frame_in_traceback(error.__traceback__)
    where = ""
    if found is not None:
        frame, lineno = found
        location = Location(frame.f_code.co_name, lineno,
                            _source_line(frame.f_code.co_filename, lineno))
        where = f"It happened {location}. "
    # `from error` keeps the student's own traceback on screen too.
    raise ExerciseFailed(
        f"{name} raised {type(error).__name__}: {error}\n"
        f"{where}The input was {case.description}, called with {case.shapes()}."
    ) from error


def _innermost_function(traceback) -> str | None:
    """Name of the function in which an exception was raised."""
    if traceback is None:
        return None
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    return traceback.tb_frame.f_code.co_name


def copy_arguments(case: Case) -> dict:
    """Fresh copies of the arrays, so in-place changes can be seen and do no harm."""
    return {
        key: np.array(value, copy=True) if isinstance(value, np.ndarray) else value
        for key, value in case.arguments.items()
    }


def call_student(student_fn, case: Case, *, budget: Budget, forbidden=()):
    """Run the student's function on a copy of the case and return its result.

    Also fails when the function changed one of its input arrays in place.
    """
    name = function_name(student_fn)
    arguments = copy_arguments(case)
    result = run_student(student_fn, list(arguments.values()), case,
                         budget=budget, forbidden=forbidden)
    for key, value in arguments.items():
        if isinstance(value, np.ndarray) and not np.array_equal(
                value, case.arguments[key], equal_nan=value.dtype.kind in "fc"):
            raise ExerciseFailed(
                f"{name} changed its input `{key}` in place (for example with "
                f"`{key} -= ...` or `{key}[...] = ...`), so the caller's data changed too. "
                f"Compute a new array instead, e.g. `centred = {key} - mean`.\n{case.where()}"
            )
    return result


def as_array(result, name: str, what: str) -> np.ndarray:
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
            f"{name} should return {what}; it returned {with_article(type(result).__name__)}, "
            "which is not an array of numbers."
        ) from None


def as_number(result, name: str, what: str) -> float:
    """The student's result as one float, or a message saying why it is not one."""
    if result is None:
        raise ExerciseFailed(
            f"{name} returned None: did you forget the `return` statement? It should return {what}."
        )
    array = np.asarray(result) if not isinstance(result, (str, bytes)) else None
    if array is None or array.dtype.kind not in "biuf" or array.size != 1:
        raise ExerciseFailed(
            f"{name} should return {what}; it returned {type(result).__name__} "
            f"{result!r:.60}."
        )
    return float(array.reshape(()))


def as_tuple(result, name: str, names: tuple, what: str) -> tuple:
    """Split a result that must be a tuple of ``len(names)`` things."""
    if result is None:
        raise ExerciseFailed(
            f"{name} returned None: did you forget the `return` statement? It should return {what}."
        )
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        count = (f"{len(result)} things" if isinstance(result, (tuple, list))
                 else with_article(type(result).__name__))
        raise ExerciseFailed(f"{name} should return {what}; it returned {count}.")
    return tuple(result)


# How a message names one entry along each axis.
_ENTRY_NAMES = {"n_samples": "point", "n_components": "component", "n_features": "feature",
                "n_classes": "class"}


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
            "e.g. `np.sum(z**2, axis=0)`."
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


def check_shape(array, expected, axis_names, label: str, case: Case) -> None:
    expected = tuple(expected)
    if array.shape == expected:
        return
    hint = _shape_hint(array.shape, expected, list(axis_names))
    names = f"({axis_names[0]},)" if len(axis_names) == 1 else f"({', '.join(axis_names)})"
    raise ExerciseFailed(
        f"{label} should have shape {expected} = {names}; "
        f"yours has {array.shape}{': ' + hint if hint else '.'}\n{case.where()}"
    )


# ---------------------------------------------------------------------------
# comparing and naming mistakes


@dataclass(frozen=True)
class Mistake:
    """A typical mistake: what it would return, and how to explain it.

    Attributes
    ----------
    explanation : str
        What the student did and what the exercise wants, in the lesson's notation.
    compute : callable
        Takes a :class:`Case` and returns what a function with this mistake
        would return on it.
    """

    explanation: str
    compute: Callable


@dataclass(frozen=True)
class Tolerance:
    """|yours - expected| <= atol + atol_relative max|expected| + rtol |expected|."""

    rtol: float = 1e-6
    atol: float = 1e-8
    atol_relative: float = 0.0

    def limits(self, expected) -> np.ndarray:
        finite = np.abs(expected[np.isfinite(expected)])
        scale = finite.max() if finite.size else 0.0
        return self.atol + self.atol_relative * scale + self.rtol * np.abs(expected)

    def close(self, actual, expected) -> bool:
        actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
        if actual.shape != expected.shape:
            return False
        with np.errstate(invalid="ignore"):
            difference = np.abs(actual - expected)
            same = (difference <= self.limits(expected)) | (actual == expected)
        same |= np.isnan(actual) & np.isnan(expected)
        return bool(np.all(same))


def first_wrong(yours, expected, tolerance) -> int | None:
    """Index of the first case on which the student's output is not close enough."""
    for i, (y, e) in enumerate(zip(yours, expected)):
        if not tolerance.close(y, e):
            return i
    return None


def name_mistake(yours, expected, cases, mistakes, tolerance):
    """The explanation of the mistake the student's outputs reproduce, or None.

    A mistake that reproduces the outputs on every case is the best
    explanation. Next comes a mistake that reproduces the first wrong case,
    but only when no other mistake in the catalogue would give the same
    output there (a coincidental match would name a mistake the student did
    not make).
    """
    wrong = first_wrong(yours, expected, tolerance)
    with np.errstate(all="ignore"):
        predictions = [[mistake.compute(case) for case in cases] for mistake in mistakes]
    for mistake, predicted in zip(mistakes, predictions):
        if all(tolerance.close(y, p) for y, p in zip(yours, predicted)):
            return f"{mistake.explanation}\n{cases[wrong].where()}"
    matching = [
        mistake for mistake, predicted in zip(mistakes, predictions)
        if tolerance.close(yours[wrong], predicted[wrong])
    ]
    if len({mistake.explanation for mistake in matching}) == 1:
        return f"{matching[0].explanation}\n{cases[wrong].where()}"
    return None


def worst_entry(actual, expected, tolerance: Tolerance):
    """Index of the entry that is furthest outside the tolerance, and how many are."""
    with np.errstate(invalid="ignore", divide="ignore"):
        excess = np.abs(actual - expected) / tolerance.limits(expected)
    excess = np.where(np.isnan(excess), np.inf, excess)
    excess = np.where(actual == expected, 0.0, excess)
    return np.unravel_index(int(np.argmax(excess)), actual.shape), int(np.sum(excess > 1))


def generic_difference(subject, array_name, yours, expected, case, tolerance) -> str:
    """'Your means differ from the reference: means[0, 1] is 3 where 2 is expected ...'."""
    index, n_wrong = worst_entry(yours, expected, tolerance)
    position = ", ".join(str(i) for i in index)
    shown = expected[index]
    finite = np.abs(expected[np.isfinite(expected)])
    if finite.size and abs(shown) < 1e-12 * finite.max():
        shown = 0.0  # rounding residue of an exact zero
    return (
        f"{subject} from the reference: {array_name}[{position}] is {yours[index]:.6g} "
        f"where {shown:.6g} is expected ({n_wrong} of {yours.size} values differ).\n"
        f"{case.where()}"
    )


def student_facing(check):
    """Show a failure as coming from the check call, not from its internals."""

    @functools.wraps(check)
    def wrapper(*args, **kwargs):
        try:
            return check(*args, **kwargs)
        except ExerciseFailed as failure:
            raise failure.with_traceback(None)

    return wrapper


def passed(check_name: str, what: str, n_cases: int) -> None:
    print(f"✓ {check_name}: {what} on {n_cases} test cases.")


def check_arrays(student_fn, cases, expected, *, check_name, success, returns, axis_names, label,
                 tolerance, mistakes, explain, time_limit=None, forbidden=()) -> None:
    """The whole check of an exercise whose answer is one array per case.

    Calls the student's function on every case (within one time budget,
    watching for forbidden calls), checks each answer's type and shape,
    then either prints the ✓ line or raises :class:`ExerciseFailed` with
    the catalogued mistake the answers reproduce, or else with
    ``explain(yours, expected, case, tolerance)`` for the first wrong case.

    Parameters
    ----------
    cases, expected : sequences of Case and ndarray
        The test cases and the reference answer of each.
    check_name, success : str
        For the ✓ line: "✓ check_name: success on N test cases."
    returns : str
        What the function should return, for a wrong type.
    axis_names, label : list of str, str
        For a wrong shape: the axes' names and "Your ..." naming the answer.
    tolerance : Tolerance
    mistakes : list of Mistake
        This exercise's catalogue.
    explain : callable
        The message when no catalogued mistake matches.
    """
    name = function_name(student_fn)
    budget = Budget(time_limit)
    yours = []
    for case, wanted in zip(cases, expected):
        result = as_array(call_student(student_fn, case, budget=budget, forbidden=forbidden),
                          name, returns)
        check_shape(result, wanted.shape, axis_names, label, case)
        yours.append(result)
    wrong = first_wrong(yours, expected, tolerance)
    if wrong is None:
        passed(check_name, success, len(cases))
        return
    message = name_mistake(yours, expected, cases, mistakes, tolerance)
    if message is None:
        message = explain(yours[wrong], expected[wrong], cases[wrong], tolerance)
    raise ExerciseFailed(message)
