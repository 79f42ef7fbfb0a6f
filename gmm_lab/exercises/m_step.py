"""Exercise (lesson 3): the M-step with full covariances and no regulariser.

The student writes ``my_m_step(X, responsibilities)`` returning
``(weights, means, covariances)``: N_k = sum_n gamma_nk, pi_k = N_k / N,
mu_k = (1/N_k) sum_n gamma_nk x_n,
Sigma_k = (1/N_k) sum_n gamma_nk (x_n - mu_k)(x_n - mu_k)^T. To add a typical
mistake, add a :class:`Mistake` to :func:`mistakes` (under the output it
shows in) or, for one that changes all three outputs, to :func:`whole_step_mistakes`.
"""

from __future__ import annotations

import numpy as np

from .._em import m_step
from ..gaussian import responsibilities
from ._data import vowel_gaussians
from ._driver import (
    Budget,
    Case,
    ExerciseFailed,
    Mistake,
    Tolerance,
    call_student,
    check_shape,
    first_wrong,
    function_name,
    generic_difference,
    gmm_lab_function,
    name_mistake,
    passed,
    sklearn_mixture,
    student_facing,
    with_article,
)

COVARIANCE_FORMULA = "Sigma_k = (1/N_k) sum_n gamma_nk (x_n - mu_k)(x_n - mu_k)^T"
_ADVICE = (
    "Write it from the equations: N_k = sum_n gamma_nk, pi_k = N_k / N, "
    f"mu_k = (1/N_k) sum_n gamma_nk x_n, {COVARIANCE_FORMULA}."
)
FORBIDDEN = [
    gmm_lab_function("gmm_lab's m_step", "_em", ("m_step", "run_em", "em"), _ADVICE),
    gmm_lab_function("gmm_lab's reference m_step", "reference", ("m_step",),
                     _ADVICE),
    gmm_lab_function("gmm_lab's GaussianMixture", "mixture", (), _ADVICE),
    sklearn_mixture(_ADVICE),
]


def cases(graded: bool = False) -> list:
    rng = np.random.default_rng(20240603)
    X_vowels, means, covariances = vowel_gaussians()
    all_mean = X_vowels.mean(axis=0)
    all_covariance = np.cov(X_vowels.T, bias=True)
    three_means = np.vstack([means, all_mean])
    three_covariances = np.concatenate([covariances, all_covariance[np.newaxis]])
    tiny = 1e-6

    mixing = np.array([[2.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 0.5]])
    random_X = rng.normal(size=(60, 3)) @ mixing
    random_responsibilities = rng.dirichlet(np.ones(3), size=60)
    found = [
        Case(
            "a hand-made case: five points in 2-D, each given wholly to one of two components",
            {"X": np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [10.0, 10.0], [12.0, 10.0]]),
             "responsibilities": np.array(
                 [[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])},
        ),
        Case(
            "random points in 3-D with random soft responsibilities for three components",
            {"X": random_X, "responsibilities": random_responsibilities},
        ),
        Case(
            "the vowels IY and IH in Hz, with responsibilities from three Gaussians",
            {"X": X_vowels,
             "responsibilities": responsibilities(
                 X_vowels, [0.4, 0.3, 0.3], three_means, three_covariances)},
        ),
        Case(
            "the vowels IY and IH in Hz, with a third component that gets almost no responsibility",
            {"X": X_vowels,
             "responsibilities": responsibilities(
                 X_vowels, [0.6, 0.4 - tiny, tiny], three_means, three_covariances)},
        ),
        Case(
            "the vowels IY and IH in Hz and a single component (K = 1)",
            {"X": X_vowels, "responsibilities": np.ones((X_vowels.shape[0], 1))},
        ),
    ]
    if graded:
        hidden = np.random.default_rng(65537)
        found.append(Case(
            "random points in 2-D with random soft responsibilities for four components",
            {"X": hidden.normal(scale=[300.0, 900.0], size=(40, 2)) + [500.0, 1500.0],
             "responsibilities": hidden.dirichlet(np.ones(4), size=40)},
        ))
    return found


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


def mistakes() -> dict:
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
        Mistake(
            "Your weights are N_k = sum_n gamma_nk, the (soft) number of points in each "
            "component, so they do not sum to 1: divide by the number of points N, "
            "pi_k = N_k / N.",
            lambda case: _statistics(case)[2],
        ),
        Mistake(
            "Your weights are all 1/K: the M-step must update them too, pi_k = N_k / N "
            "with N_k = sum_n gamma_nk.",
            lambda case: np.full(case.arguments["responsibilities"].shape[1],
                                 1.0 / case.arguments["responsibilities"].shape[1]),
        ),
    ]
    means = [
        Mistake(
            "Your means are divided by N, the number of all points; divide by N_k = "
            f"sum_n gamma_nk, the (soft) number of points in component k: {mean_formula}.",
            lambda case: _statistics(case)[3] / case.arguments["X"].shape[0],
        ),
        Mistake(
            "Each of your means is the plain average of all the points: the "
            "responsibilities are missing. Weight each point by how much it belongs to "
            f"component k: {mean_formula}.",
            lambda case: np.broadcast_to(
                case.arguments["X"].mean(axis=0), _statistics(case)[4].shape
            ),
        ),
        Mistake(
            f"Your means are the sums sum_n gamma_nk x_n, never divided by N_k: {mean_formula}.",
            lambda case: _statistics(case)[3],
        ),
        Mistake(
            f"You divided by the weight pi_k instead of by N_k = N pi_k: {mean_formula}.",
            lambda case: _statistics(case)[4] * case.arguments["X"].shape[0],
        ),
        Mistake(
            "Your means look transposed: means[k] must be the mean of component k, "
            "shape (n_components, n_features).",
            lambda case: _statistics(case)[4].T,
        ),
    ]
    covariances = [
        Mistake(
            "Your covariances are centred on the mean of all the data (or on an old mean), "
            "not on the component's new mean mu_k: compute mu_k first, then "
            f"{covariance_formula}.",
            covariance_variant(centres="global"),
        ),
        Mistake(
            "Your covariances are not centred: you used x_n x_n^T where "
            "(x_n - mu_k)(x_n - mu_k)^T belongs (or subtracted a mean that was still "
            f"zero; compute mu_k before Sigma_k): {covariance_formula}.",
            covariance_variant(centres="zero"),
        ),
        Mistake(
            "You divided by N_k - 1 (the unbiased sample covariance, what np.cov does by "
            "default); the M-step divides by N_k: "
            f"{covariance_formula}. With np.cov, pass bias=True.",
            covariance_variant(divide_by="N_k - 1"),
        ),
        Mistake(
            "You divided by N_k - 1 (the unbiased sample covariance, what np.cov does by "
            "default); the M-step divides by N_k: "
            f"{covariance_formula}. With np.cov, pass bias=True.",
            covariance_variant(divide_by="np.cov"),
        ),
        Mistake(
            "Your covariances are divided by N, the number of all points; divide by "
            f"N_k = sum_n gamma_nk: {covariance_formula}.",
            covariance_variant(divide_by="N"),
        ),
        Mistake(
            f"Your covariances are sums that were never divided by N_k: {covariance_formula}.",
            covariance_variant(divide_by="1"),
        ),
        Mistake(
            "Your covariances give every point the same weight: gamma_nk is missing from "
            f"the sum. {covariance_formula}.",
            unweighted("N"),
        ),
        Mistake(
            "Your covariances give every point the same weight: gamma_nk is missing from "
            f"the sum. {covariance_formula}.",
            unweighted("N_k"),
        ),
        Mistake(
            "Each term of your covariance carries gamma_nk twice (gamma_nk squared): you "
            "weighted both factors. Weight once, e.g. "
            "`(gamma_k[:, None] * centred).T @ centred / N_k`.",
            covariance_variant(power=2),
        ),
        Mistake(
            "Your covariances are diagonal: the handout's M-step fits diagonal "
            "covariances, but this exercise asks for full ones. Keep the off-diagonal "
            f"terms: {covariance_formula}, e.g. "
            "`(gamma_k[:, None] * centred).T @ centred / N_k`.",
            diagonal_only,
        ),
        Mistake(
            "Every one of your covariances is the covariance of all the data: the "
            "responsibilities and the component's own mean mu_k are missing. "
            f"{covariance_formula}.",
            covariance_of_all_data,
        ),
    ]
    return {"weights": weights, "means": means, "covariances": covariances}


def whole_step_mistakes() -> list:
    """Mistakes that change all three outputs; each computes (weights, means, covariances)."""

    def hard_assignments(case):
        X, gamma = case.arguments.values()
        hard = np.zeros_like(gamma)
        hard[np.arange(gamma.shape[0]), gamma.argmax(axis=1)] = 1.0
        counts = hard.sum(axis=0)
        means = hard.T @ X / counts[:, np.newaxis]
        covariances = _scatter(X, hard, means) / counts[:, np.newaxis, np.newaxis]
        return counts / X.shape[0], means, covariances

    return [
        Mistake(
            "You gave each point wholly to its most likely component (hard assignments, "
            "argmax_k gamma_nk, as k-means does): EM's M-step uses the soft "
            "responsibilities, every point counted in every component with weight "
            "gamma_nk: N_k = sum_n gamma_nk, mu_k = (1/N_k) sum_n gamma_nk x_n, "
            f"{COVARIANCE_FORMULA}.",
            hard_assignments,
        ),
    ]


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
            count = with_article(type(result).__name__)
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
        check_shape(output, shape, axes, f"Your {output_name}", case)
    return outputs


@student_facing
def check_m_step(student_fn, *, graded: bool = False, time_limit: float | None = None) -> None:
    """Check a student's M-step with full covariances and no regularisation.

    Parameters
    ----------
    student_fn : callable
        ``student_fn(X, responsibilities)`` with X of shape (n_samples,
        n_features) and responsibilities of shape (n_samples, n_components),
        returning ``(weights, means, covariances)`` of shapes
        (n_components,), (n_components, n_features) and
        (n_components, n_features, n_features).
    graded : bool, default=False
        Add the hidden test cases (the nbgrader hidden tests pass True).
    time_limit : float, optional
        Seconds the student's code may run in all; default ``TIME_LIMIT``.

    Raises
    ------
    ExerciseFailed
        With a message that says what is wrong.
    """
    name = function_name(student_fn)
    budget = Budget(time_limit)
    all_cases = cases(graded)
    expected = [
        m_step(*case.arguments.values(), covariance_type="full", reg_covar=0.0)
        for case in all_cases
    ]
    yours = []
    for case, reference in zip(all_cases, expected):
        result = call_student(student_fn, case, budget=budget, forbidden=FORBIDDEN)
        yours.append(_m_step_outputs(result, name, case, [array.shape for array in reference]))

    # Entries in Hz^2 span many orders of magnitude; an absolute floor
    # relative to the largest entry keeps near-zero covariances comparable.
    tolerance = Tolerance(rtol=1e-6, atol=1e-12, atol_relative=1e-9)
    names = ("weights", "means", "covariances")
    if all(first_wrong(y, e, tolerance) is None for y, e in zip(zip(*yours), zip(*expected))):
        passed("check_m_step", "your M-step matches the reference", len(all_cases))
        return
    with np.errstate(all="ignore"):
        for mistake in whole_step_mistakes():
            predicted = [mistake.compute(case) for case in all_cases]
            if all(tolerance.close(y, p) for outputs, triple in zip(yours, predicted)
                   for y, p in zip(outputs, triple)):
                wrong = next(i for i, (outputs, reference) in enumerate(zip(yours, expected))
                             if not all(tolerance.close(y, e) for y, e in zip(outputs, reference)))
                raise ExerciseFailed(f"{mistake.explanation}\n{all_cases[wrong].where()}")
    catalogue = mistakes()
    for position, output_name in enumerate(names):
        your_outputs = [outputs[position] for outputs in yours]
        expected_outputs = [outputs[position] for outputs in expected]
        wrong = first_wrong(your_outputs, expected_outputs, tolerance)
        if wrong is None:
            continue
        message = name_mistake(
            your_outputs, expected_outputs, all_cases, catalogue[output_name], tolerance
        )
        if message is None and output_name == "covariances":
            message = _added_regulariser(your_outputs, expected_outputs, all_cases, wrong)
        if message is None:
            message = _m_step_property_message(
                output_name, your_outputs[wrong], expected_outputs[wrong], all_cases[wrong],
                tolerance)
        raise ExerciseFailed(message)


def _added_regulariser(yours, expected, cases, wrong) -> str | None:
    """Say so when every covariance is the reference plus the same c I, c > 0."""
    added = []
    for values, reference in zip(yours, expected):
        for matrix, wanted in zip(values, reference):
            difference = matrix - wanted
            c = float(np.mean(np.diag(difference)))
            scale = max(np.abs(wanted).max(), 1.0)
            if not np.allclose(difference, c * np.eye(len(matrix)), rtol=0, atol=1e-9 * scale + 1e-3 * abs(c)):
                return None
            added.append(c)
    added = np.array(added)
    if added.min() <= 0 or not np.allclose(added, added[0], rtol=1e-3):
        return None
    return (
        f"Your covariances have {added[0]:.3g} added to every variance (the diagonal): a "
        "regulariser, like reg_covar. This exercise asks for the exact M-step with no "
        f"regulariser: {COVARIANCE_FORMULA}. (EM's library functions add reg_covar "
        "so that no covariance becomes singular; lesson 4 shows why and what it costs.)"
        f"\n{cases[wrong].where()}"
    )


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
    return generic_difference(
        f"Your {output_name} differ", output_name, values, expected, case, tolerance
    )
