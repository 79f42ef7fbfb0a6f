"""Exercise (lesson 3): the EM loop, given an E-step and an M-step.

The student writes ``my_em(X, weights, means, covariances, e_step, m_step,
tol, max_iter)``: from theta_0 it alternates ``e_step(X, weights, means,
covariances) -> (responsibilities, log_likelihood)`` and ``m_step(X,
responsibilities) -> (weights, means, covariances)``, records L(theta_t) for
t = 0, 1, ..., T and stops at the first t >= 1 with
|L(theta_t) - L(theta_{t-1})| / N < tol, or at t = max_iter. It returns
``(weights, means, covariances, log_likelihoods)``: theta_T and the list
[L(theta_0), ..., L(theta_T)].

The check passes gmm_lab's own E-step and M-step, so a mistake in an earlier
exercise does not cost the student twice, and compares with ``run_em`` from
the same theta_0: the same L(theta_t), the same number of iterations, the
same final parameters. To add a typical mistake, add a loop variant to
:func:`_simulate` and a :class:`Mistake` to :func:`mistakes`.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..data import load_vowels
from .._em import e_step as library_e_step
from .._em import m_step as library_m_step
from .._em import run_em
from ._driver import (
    Budget,
    Case,
    ExerciseFailed,
    Mistake,
    Tolerance,
    as_array,
    as_tuple,
    call_student,
    function_name,
    gmm_lab_function,
    passed,
    sklearn_mixture,
    student_facing,
)

STOP_RULE = "stop at the first t >= 1 with |L(theta_t) - L(theta_{t-1})| / N < tol, or at t = max_iter"
_ADVICE = (
    "Write the loop yourself: for t = 0, 1, ...: (responsibilities, L) = e_step(X, weights, "
    "means, covariances); record L; " + STOP_RULE + "; otherwise (weights, means, covariances) "
    "= m_step(X, responsibilities)."
)
FORBIDDEN = [
    gmm_lab_function("gmm_lab's run_em", "_em", ("em", "run_em"), _ADVICE),
    gmm_lab_function("gmm_lab's EM engine", "_engine", ("states",), _ADVICE),
    gmm_lab_function("gmm_lab's reference EM", "reference", ("reference_em",), _ADVICE),
    gmm_lab_function("gmm_lab's GaussianMixture", "mixture", (), _ADVICE),
    sklearn_mixture(_ADVICE),
]


def _steps(reg_covar):
    def e_step(X, weights, means, covariances):
        """gmm_lab's E-step: (responsibilities, L(theta))."""
        return library_e_step(X, weights, means, covariances)

    def m_step(X, responsibilities):
        """gmm_lab's M-step, full covariances."""
        return library_m_step(X, responsibilities, covariance_type="full", reg_covar=reg_covar)

    return e_step, m_step


def _case(description, X, n_components, *, init_params, random_state, tol, max_iter,
          reg_covar=1e-6):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter cases do not converge, on purpose
        history = run_em(X, n_components, covariance_type="full", init_params=init_params,
                         random_state=random_state, tol=tol, max_iter=max_iter,
                         reg_covar=reg_covar)
    start = history[0]
    e_step, m_step = _steps(reg_covar)
    return Case(
        description,
        {"X": X, "weights": np.array(start.weights), "means": np.array(start.means),
         "covariances": np.array(start.covariances), "e_step": e_step, "m_step": m_step,
         "tol": tol, "max_iter": max_iter},
        extra={"history": history},
    )


def cases(graded: bool = False) -> list:
    pair = load_vowels(["IY", "IH"]).X
    found = [
        _case("the vowels IY and IH in Hz, K = 2, from run_em's k-means start (random_state=0)",
              pair, 2, init_params="kmeans", random_state=0, tol=1e-3, max_iter=100),
        _case("the men's IY in Hz, K = 3, from run_em's k-means++ start (random_state=1)",
              load_vowels("IY", speakers="M").X, 3, init_params="k-means++", random_state=1,
              tol=1e-4, max_iter=100),
        _case("the vowels IY and IH in Hz, K = 3, stopped by max_iter = 5 before it converges",
              pair, 3, init_params="kmeans", random_state=0, tol=1e-9, max_iter=5),
    ]
    if graded:
        found.append(_case(
            "all the men's vowels in Hz, K = 4, from run_em's k-means++ start (random_state=2)",
            load_vowels(speakers="M").X, 4, init_params="k-means++", random_state=2,
            tol=1e-3, max_iter=100))
    return found


def _simulate(case, variant=None):
    """The loop as written with one mistake (None: the right loop)."""
    X, weights, means, covariances, e_step, m_step, tol, max_iter = case.arguments.values()
    n_samples = X.shape[0]
    initial = (weights, means, covariances)
    log_likelihoods = []
    iterations = range(max_iter) if variant == "max_iter - 1" else range(max_iter + 1)
    for t in iterations:
        responsibilities, log_likelihood = e_step(X, weights, means, covariances)
        log_likelihoods.append(log_likelihood)
        if t > 0:
            change = abs(log_likelihoods[-1] - log_likelihoods[-2])
            if variant == "total":
                stop = change < tol
            elif variant == "relative":
                stop = change / abs(log_likelihoods[-1]) < tol
            elif variant == "no stop":
                stop = False
            else:
                stop = change / n_samples < tol
            if stop:
                if variant == "one more":
                    weights, means, covariances = m_step(X, responsibilities)
                    log_likelihoods.append(e_step(X, weights, means, covariances)[1])
                elif variant == "m-step before stopping":
                    weights, means, covariances = m_step(X, responsibilities)
                break
        if t == max_iter and variant != "max_iter - 1":
            if variant == "m-step before stopping":
                weights, means, covariances = m_step(X, responsibilities)
            break
        weights, means, covariances = m_step(X, responsibilities)
    if variant == "initial parameters":
        weights, means, covariances = initial
    if variant == "no L(theta_0)":
        log_likelihoods = log_likelihoods[1:]
    return (np.asarray(weights), np.asarray(means), np.asarray(covariances),
            np.asarray(log_likelihoods))


def mistakes() -> list:
    def variant(name):
        return lambda case: _simulate(case, name)

    return [
        Mistake(
            "You compared the change of the total L with tol; the rule compares the change "
            "per point, |L(theta_t) - L(theta_{t-1})| / N < tol (as gmm_lab and scikit-learn "
            "do), so your loop ran more iterations than it should.",
            variant("total"),
        ),
        Mistake(
            "You compared the relative change |L(theta_t) - L(theta_{t-1})| / |L(theta_t)| "
            "with tol; the rule divides by the number of points N: "
            "|L(theta_t) - L(theta_{t-1})| / N < tol.",
            variant("relative"),
        ),
        Mistake(
            "Your loop never stops on the tolerance: it always runs max_iter iterations. "
            + STOP_RULE[0].upper() + STOP_RULE[1:] + ".",
            variant("no stop"),
        ),
        Mistake(
            "Your loop runs one iteration too many: after the change fell below tol it took "
            "another M-step and E-step. Test the change right after recording L(theta_t), "
            "and stop there, before the M-step.",
            variant("one more"),
        ),
        Mistake(
            "Your L values are right, but you returned the parameters of one M-step too far: "
            "when the loop stops, theta_T (the parameters whose L(theta_T) you recorded last) "
            "is the answer. Stop before the M-step.",
            variant("m-step before stopping"),
        ),
        Mistake(
            "Your list starts with L(theta_1): record L(theta_0) too, the log-likelihood of "
            "the starting parameters, computed by the first E-step. log_likelihoods[t] is "
            "L(theta_t), t = 0..T.",
            variant("no L(theta_0)"),
        ),
        Mistake(
            "You returned the starting parameters theta_0, not the final ones theta_T: "
            "assign the M-step's result back to weights, means, covariances inside the loop "
            "and return those.",
            variant("initial parameters"),
        ),
        Mistake(
            "With max_iter = M your loop records L(theta_0) .. L(theta_(M-1)); max_iter counts "
            "M-steps, so the last state is theta_M and its E-step gives L(theta_M): loop over "
            "t = 0, 1, ..., max_iter (range(max_iter + 1)), with no M-step after the last.",
            variant("max_iter - 1"),
        ),
    ]


def _same(yours, predicted, tolerance) -> bool:
    return all(tolerance.close(y, p) for y, p in zip(yours, predicted))


@student_facing
def check_em_loop(student_fn, *, graded: bool = False, time_limit: float | None = None) -> None:
    """Check a student's EM loop, run with gmm_lab's E-step and M-step.

    Parameters
    ----------
    student_fn : callable
        ``student_fn(X, weights, means, covariances, e_step, m_step, tol,
        max_iter)`` returning ``(weights, means, covariances,
        log_likelihoods)``: theta_T and [L(theta_0), ..., L(theta_T)].
    graded : bool, default=False
        Add the hidden test cases (the nbgrader hidden tests pass True).
    time_limit : float, optional
        Seconds the student's code may run in all.
    """
    name = function_name(student_fn)
    budget = Budget(time_limit)
    all_cases = cases(graded)
    what = "four things: (weights, means, covariances, log_likelihoods)"
    tolerance = Tolerance(rtol=1e-7, atol=1e-9, atol_relative=1e-10)
    for case in all_cases:
        result = as_tuple(call_student(student_fn, case, budget=budget, forbidden=FORBIDDEN),
                          name, ("weights", "means", "covariances", "log_likelihoods"), what)
        yours = [as_array(value, name, f"{label} as an array")
                 for value, label in zip(result, ("weights", "means", "covariances",
                                                  "the log-likelihoods"))]
        if yours[3].ndim != 1:
            raise ExerciseFailed(
                f"Your log_likelihoods should be a flat list, one number L(theta_t) per "
                f"state; it has shape {yours[3].shape}.\n{case.where()}"
            )
        history = case.extra["history"]
        final = history[-1]
        expected = [np.asarray(final.weights), np.asarray(final.means),
                    np.asarray(final.covariances), history.log_likelihoods]
        if _same(yours, expected, tolerance):
            continue
        with np.errstate(all="ignore"):
            for mistake in mistakes():
                if _same(yours, mistake.compute(case), tolerance):
                    raise ExerciseFailed(f"{mistake.explanation}\n{case.where()}")
        raise ExerciseFailed(_property_message(yours, expected, history, case, tolerance))
    passed("check_em_loop", "your EM loop matches run_em from the same start", len(all_cases))


def _property_message(yours, expected, history, case, tolerance) -> str:
    log_likelihoods = yours[3]
    steps = np.diff(log_likelihoods)
    falls = np.flatnonzero(steps < -1e-9 * np.abs(log_likelihoods[1:]))
    if falls.size:
        t = int(falls[0]) + 1
        return (
            f"Your L fell from {log_likelihoods[t - 1]:.6g} to {log_likelihoods[t]:.6g} at "
            f"t = {t}: with the exact E-step and M-step, L(theta_t) never decreases. Record "
            "the L that the E-step returns for the current parameters, and pass the M-step's "
            f"parameters to the next E-step.\n{case.where()}"
        )
    n_expected, n_yours = len(expected[3]) - 1, len(log_likelihoods) - 1
    if n_yours != n_expected:
        return (
            f"Your loop stopped after {n_yours} iterations (it recorded {n_yours + 1} values "
            f"of L); run_em, from the same start, stops after {n_expected}. "
            f"{STOP_RULE[0].upper() + STOP_RULE[1:]}.\n{case.where()}"
        )
    if not tolerance.close(log_likelihoods, expected[3]):
        t = int(np.argmax(np.abs(log_likelihoods - expected[3])))
        return (
            f"Your L(theta_{t}) is {log_likelihoods[t]:.8g}; run_em from the same start has "
            f"{expected[3][t]:.8g}. Record the log-likelihood that e_step returns for the "
            f"current parameters.\n{case.where()}"
        )
    for label, value, wanted in zip(("weights", "means", "covariances"), yours, expected):
        if not tolerance.close(value, wanted):
            return (
                f"Your L values and the number of iterations are right, but your final {label} "
                f"differ from run_em's: return theta_T, the parameters of the last state, "
                f"whose L you recorded last.\n{case.where()}"
            )
    return f"Your loop differs from run_em's.\n{case.where()}"
