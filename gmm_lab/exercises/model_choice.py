"""Exercises (lesson 4): counting free parameters, and choosing K and a covariance type by BIC.

``my_n_parameters(n_components, n_features, covariance_type)`` returns the
number of free parameters p of a Gaussian mixture: K - 1 weights, K D mean
entries and the covariances' entries (full: K D (D + 1) / 2, diag: K D,
tied: D (D + 1) / 2, spherical: K).

``my_choose_by_bic(X, ks, covariance_types)`` fits
``GaussianMixture(k, covariance_type=t, init_params="kmeans", random_state=0)``
for every pair and returns the (k, t) with the lowest
BIC = -2 L + p log N. To add a typical mistake, add a :class:`Mistake` to
:func:`parameter_mistakes` or :func:`choice_mistakes`.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from ..data import load_vowels
from ..mixture import GaussianMixture
from ._driver import (
    TIME_LIMIT,
    Budget,
    Case,
    ExerciseFailed,
    Forbidden,
    Mistake,
    as_number,
    as_tuple,
    call_student,
    function_name,
    passed,
    student_facing,
)

COUNT = (
    "p = (K - 1) weights + K D mean entries + the covariances' entries: full K D (D + 1) / 2, "
    "diag K D, tied D (D + 1) / 2, spherical K"
)
_ADVICE = f"Count them yourself: {COUNT}."
PARAMETER_FORBIDDEN = [
    Forbidden("the estimator's _n_parameters", "gmm_lab/mixture.py",
              ("_n_parameters", "bic", "aic"), _ADVICE, kind="answer"),
    Forbidden("scikit-learn's _n_parameters", "sklearn/mixture/",
              ("_n_parameters", "bic", "aic"), _ADVICE, kind="answer"),
]

COVARIANCE_TYPES = ("full", "diag", "tied", "spherical")


def n_parameters(n_components, n_features, covariance_type, *, weights="K - 1", full=None,
                 tied_per_component=False, means=True, spherical_per_feature=False):
    """The number of free parameters, or what a mistake makes of it."""
    K, D = n_components, n_features
    covariance = {
        "full": K * D * (D + 1) // 2 if full is None else K * full(D),
        "diag": K * D,
        "tied": (K if tied_per_component else 1) * D * (D + 1) // 2,
        "spherical": K * D if spherical_per_feature else K,
    }[covariance_type]
    free_weights = {"K - 1": K - 1, "K": K, "none": 0}[weights]
    return free_weights + (K * D if means else 0) + covariance


def parameter_cases(graded: bool = False) -> list:
    settings = [(1, 2, "full"), (3, 2, "full"), (10, 2, "full"), (4, 3, "full"),
                (3, 2, "diag"), (5, 4, "diag"), (3, 2, "tied"), (6, 3, "tied"),
                (3, 2, "spherical"), (7, 4, "spherical")]
    if graded:
        settings += [(9, 5, "full"), (8, 6, "tied"), (2, 7, "diag"), (11, 3, "spherical")]
    return [
        Case(f"K = {K} components, D = {D} features, covariance_type='{kind}'",
             {"n_components": K, "n_features": D, "covariance_type": kind})
        for K, D, kind in settings
    ]


def parameter_mistakes() -> list:
    def variant(**changes):
        return lambda case: n_parameters(*case.arguments.values(), **changes)

    return [
        Mistake(
            "You counted K weights; they sum to 1, so only K - 1 are free. " + COUNT + ".",
            variant(weights="K"),
        ),
        Mistake("The weights are missing from your count: K - 1 of them are free. " + COUNT
                + ".", variant(weights="none")),
        Mistake(
            "You counted D * D entries per full covariance; a covariance is symmetric, so "
            "only D (D + 1) / 2 of them are free (the diagonal and one triangle). " + COUNT + ".",
            variant(full=lambda D: D * D),
        ),
        Mistake(
            "You counted one covariance per component for 'tied'; tied means one covariance "
            "shared by all K components: D (D + 1) / 2 entries in all. " + COUNT + ".",
            variant(tied_per_component=True),
        ),
        Mistake(
            "You counted D variances per component for 'spherical'; a spherical covariance "
            "is sigma_k^2 I, one number per component. " + COUNT + ".",
            variant(spherical_per_feature=True),
        ),
        Mistake("The means are missing from your count: K D entries. " + COUNT + ".",
                variant(means=False)),
    ]


@student_facing
def check_n_parameters(student_fn, *, graded: bool = False,
                       time_limit: float | None = None) -> None:
    """Check a student's count of a Gaussian mixture's free parameters.

    Parameters
    ----------
    student_fn : callable
        ``student_fn(n_components, n_features, covariance_type)`` returning an int.
    """
    name = function_name(student_fn)
    budget = Budget(time_limit)
    all_cases = parameter_cases(graded)
    yours = [as_number(call_student(student_fn, case, budget=budget,
                                    forbidden=PARAMETER_FORBIDDEN),
                       name, "the number of free parameters, an integer")
             for case in all_cases]
    expected = [n_parameters(*case.arguments.values()) for case in all_cases]
    if yours == expected:
        passed("check_n_parameters", "your parameter counts match the reference",
               len(all_cases))
        return
    for mistake in parameter_mistakes():
        predicted = [mistake.compute(case) for case in all_cases]
        # A mistake that shows in only one covariance type is judged on the
        # cases where it changes the count.
        relevant = [i for i, (p, e) in enumerate(zip(predicted, expected)) if p != e]
        if relevant and all(yours[i] == predicted[i] for i in relevant):
            wrong = relevant[0]
            raise ExerciseFailed(f"{mistake.explanation}\n{all_cases[wrong].where()}")
    wrong = next(i for i, (y, e) in enumerate(zip(yours, expected)) if y != e)
    raise ExerciseFailed(
        f"Your count is {yours[wrong]:g} where {expected[wrong]} is expected. {COUNT}.\n"
        f"{all_cases[wrong].where()}"
    )


# ---------------------------------------------------------------------------
# choosing K and the covariance type


FIT = dict(init_params="kmeans", random_state=0)


@functools.lru_cache(maxsize=8)
def _table(key):
    """(log-likelihood, p) of every fitted model of a case, by (k, type)."""
    vowels, speakers, ks, types = key
    X = load_vowels(list(vowels) if vowels else None, speakers=speakers).X
    table = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in ks:
            for kind in types:
                model = GaussianMixture(k, covariance_type=kind, **FIT).fit(X)
                table[k, kind] = (float(model.score(X) * X.shape[0]), model._n_parameters())
    return table


def choice_cases(graded: bool = False) -> list:
    ks = (1, 2, 3, 4, 6)
    specs = [
        ("the children's UW, UH and AO in Hz", ("UW", "UH", "AO"), "C", ks, COVARIANCE_TYPES),
        ("the women's IY, IH and EH in Hz", ("IY", "IH", "EH"), "W", ks, COVARIANCE_TYPES),
    ]
    if graded:
        specs.append(("the men's IY, UW and AA in Hz", ("IY", "UW", "AA"), "M", ks,
                      COVARIANCE_TYPES))
    found = []
    for description, vowels, speakers, ks, types in specs:
        X = load_vowels(list(vowels) if vowels else None, speakers=speakers).X
        found.append(Case(description, {"X": X, "ks": list(ks), "covariance_types": list(types)},
                          extra={"key": (vowels, speakers, ks, types)}))
    return found


def _best(case, score):
    table = _table(case.extra["key"])
    n_samples = case.arguments["X"].shape[0]
    return min(table, key=lambda pair: score(*table[pair], n_samples))


def _bic(log_likelihood, p, n_samples):
    return -2.0 * log_likelihood + p * np.log(n_samples)


def choice_mistakes() -> list:
    return [
        Mistake("You took the model with the *largest* BIC; lower is better: "
                "BIC = -2 L + p log N.",
                lambda case: _best(case, lambda L, p, n: -_bic(L, p, n))),
        Mistake("You chose by the log-likelihood L alone; more components and freer "
                "covariances always fit the training tokens at least as well, so L picks the "
                "biggest model. BIC = -2 L + p log N charges p log N for the parameters.",
                lambda case: _best(case, lambda L, p, n: -L)),
        Mistake("You chose by AIC = -2 L + 2 p; the exercise asks for BIC = -2 L + p log N, "
                "whose penalty is heavier once log N > 2.",
                lambda case: _best(case, lambda L, p, n: -2.0 * L + 2.0 * p)),
        Mistake("Your BIC adds p log N to L instead of to -2 L: BIC = -2 L + p log N, "
                "lower is better.",
                lambda case: _best(case, lambda L, p, n: L + p * np.log(n))),
    ]


@student_facing
def check_choose_by_bic(student_fn, *, graded: bool = False,
                        time_limit: float | None = None) -> None:
    """Check a student's choice of K and covariance type by BIC.

    Parameters
    ----------
    student_fn : callable
        ``student_fn(X, ks, covariance_types)`` returning ``(k, covariance_type)``.
    """
    name = function_name(student_fn)
    # Fitting 20 models per case takes seconds: this check allows more time.
    budget = Budget(time_limit if time_limit is not None else 3 * TIME_LIMIT)
    all_cases = choice_cases(graded)
    yours = []
    for case in all_cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = as_tuple(call_student(student_fn, case, budget=budget), name,
                              ("k", "covariance_type"), "two things: (k, covariance_type)")
        try:
            yours.append((int(result[0]), str(result[1])))
        except (TypeError, ValueError):
            raise ExerciseFailed(
                f"{name} should return (k, covariance_type), e.g. (3, 'full'); it returned "
                f"{result!r}.\n{case.where()}"
            ) from None
    expected = [_best(case, _bic) for case in all_cases]
    if yours == expected:
        passed("check_choose_by_bic", "your choices match the reference", len(all_cases))
        return
    wrong = next(i for i, (y, e) in enumerate(zip(yours, expected)) if y != e)
    case = all_cases[wrong]
    for mistake in choice_mistakes():
        if [mistake.compute(each) for each in all_cases] == yours:
            raise ExerciseFailed(f"{mistake.explanation}\n{case.where()}")
    table = _table(case.extra["key"])
    n = case.arguments["X"].shape[0]
    mine, best = yours[wrong], expected[wrong]
    if mine in table:
        detail = (f"your ({mine[0]}, '{mine[1]}') has BIC {_bic(*table[mine], n):.1f}, "
                  f"({best[0]}, '{best[1]}') has {_bic(*table[best], n):.1f}. ")
    else:
        detail = f"({mine[0]}, '{mine[1]}') is not one of the candidates. "
    raise ExerciseFailed(
        f"The lowest BIC is at K = {best[0]}, covariance_type='{best[1]}': {detail}Fit "
        "GaussianMixture(k, covariance_type=t, init_params='kmeans', random_state=0) for every "
        f"pair and keep the lowest -2 L + p log N.\n{case.where()}"
    )
