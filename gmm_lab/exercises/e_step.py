"""Exercise (lesson 2): the E-step, responsibilities gamma_nk in log space.

The student writes ``my_responsibilities(X, weights, means, covariances)``
returning gamma_nk = pi_k N(x_n | mu_k, Sigma_k) / sum_j pi_j N(x_n | mu_j, Sigma_j),
of shape (n_samples, n_components), with the log-sum-exp trick. To add a
typical mistake, add a :class:`Mistake` to :func:`mistakes`.
"""

from __future__ import annotations

import numpy as np

from ..data import load_vowels
from ..gaussian import responsibilities
from ._data import FAR_AWAY_TEXT, far_point, log_density_variant, random_covariance, vowel_gaussians
from ._driver import (
    Case,
    Mistake,
    Tolerance,
    check_arrays,
    generic_difference,
    gmm_lab_function,
    sklearn_mixture,
    student_facing,
)

FORMULA = "gamma_nk = pi_k N(x_n | mu_k, Sigma_k) / sum_j pi_j N(x_n | mu_j, Sigma_j)"
_ADVICE = (
    "Compute a_nk = log pi_k + log N(x_n | mu_k, Sigma_k) with your my_log_density, "
    "then the log-sum-exp of each row, and exponentiate a_nk minus it."
)
MINIMUM_SHIFT = (
    "Your responsibilities break down where one component is far more likely than another "
    "(they come out nan or 0 there): you subtracted each row's smallest term, "
    "m_n = min_k a_nk, so exp(a_nk - m_n) overflows to inf. Subtract the largest term, "
    "m_n = max_k a_nk: then the largest exponential is e^0 = 1 and nothing overflows "
    "or underflows to a zero sum."
)
FORBIDDEN = [
    gmm_lab_function("gmm_lab's responsibilities", "gaussian",
                     ("responsibilities", "log_responsibilities", "get_predictions"), _ADVICE),
    gmm_lab_function("gmm_lab's e_step", "_em", ("e_step",), _ADVICE),
    gmm_lab_function("gmm_lab's reference e_step", "reference", ("e_step",), _ADVICE),
    gmm_lab_function("gmm_lab's GaussianMixture", "mixture", (), _ADVICE),
    sklearn_mixture(_ADVICE),
]


def cases(graded: bool = False) -> list:
    rng = np.random.default_rng(20240602)
    X_vowels, means, covariances = vowel_gaussians()
    vowel_weights = np.array([0.6, 0.4])
    some_tokens = X_vowels[::50]  # 7 tokens, IY and IH

    # Three overlapping Gaussians in 3-D, 40 points drawn from their mixture.
    random_means = rng.normal(scale=2.0, size=(3, 3))
    random_covariances = np.array([random_covariance(rng, 3) for _ in range(3)])
    random_weights = np.array([0.5, 0.3, 0.2])
    labels = rng.choice(3, size=40, p=random_weights)
    random_X = np.array(
        [rng.multivariate_normal(random_means[k], random_covariances[k]) for k in labels]
    )

    # A third component with a tiny weight, covering both vowels.
    all_mean = X_vowels.mean(axis=0)
    all_covariance = np.cov(X_vowels.T, bias=True)
    tiny = 1e-10
    found = [
        Case(
            "a hand-made case: two Gaussians in 2-D with weights 0.7 and 0.3",
            {"X": np.array([[0.0, 0.0], [1.5, 0.0], [3.0, 0.0], [0.0, 1.0]]),
             "weights": np.array([0.7, 0.3]),
             "means": np.array([[0.0, 0.0], [3.0, 0.0]]),
             "covariances": np.array([np.eye(2), 2.0 * np.eye(2)])},
        ),
        # Row 0: a_n0 - a_n1 = 3200, so exp(a - min) overflows; row 1 lies
        # 40 standard deviations from both, so exp(a) underflows to 0.
        Case(
            "a hand-made case: two standard normals 80 apart in 2-D, a point on each mean "
            "and one halfway, 40 standard deviations from both",
            {"X": np.array([[0.0, 0.0], [40.0, 0.0], [80.0, 0.0]]),
             "weights": np.array([0.5, 0.5]),
             "means": np.array([[0.0, 0.0], [80.0, 0.0]]),
             "covariances": np.array([np.eye(2), np.eye(2)])},
            far_rows=(1,),
        ),
        Case(
            "random points from three overlapping Gaussians in 3-D",
            {"X": random_X, "weights": random_weights, "means": random_means,
             "covariances": random_covariances},
        ),
        Case(
            "the vowels IY and IH in Hz, one Gaussian per vowel, weights 0.6 and 0.4",
            {"X": X_vowels, "weights": vowel_weights, "means": means, "covariances": covariances},
        ),
        Case(
            f"six vowel tokens in Hz and a point {FAR_AWAY_TEXT} standard deviations away",
            {"X": np.vstack([some_tokens, far_point(means[0], covariances[0])]),
             "weights": vowel_weights, "means": means, "covariances": covariances},
            far_rows=(len(some_tokens),),
        ),
        Case(
            f"the vowels IY and IH in Hz, with a third component of weight {tiny:g}",
            {"X": X_vowels,
             "weights": np.array([0.6, 0.4 - tiny, tiny]),
             "means": np.vstack([means, all_mean]),
             "covariances": np.concatenate([covariances, all_covariance[np.newaxis]])},
        ),
        Case(
            "the vowel IY in Hz and a single component (K = 1)",
            {"X": load_vowels("IY").X, "weights": np.array([1.0]), "means": means[:1],
             "covariances": covariances[:1]},
        ),
    ]
    if graded:
        hidden = np.random.default_rng(4096)
        hidden_means = hidden.normal(scale=3.0, size=(4, 2))
        found.append(Case(
            "random points and four random Gaussians in 2-D",
            {"X": hidden.normal(scale=3.0, size=(25, 2)),
             "weights": np.array([0.1, 0.2, 0.3, 0.4]), "means": hidden_means,
             "covariances": np.array([random_covariance(hidden, 2) for _ in range(4)])},
        ))
    return found


def _log_terms(case, *, det_factor=-0.5, exponent_factor=-0.5):
    """a_nk = log pi_k + log N(x_n | mu_k, Sigma_k), with the density's terms adjustable."""
    X, weights, means, covariances = case.arguments.values()
    columns = [
        log_density_variant(
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


def mistakes() -> list:
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

    def shifted_by_the_minimum(case):
        a = weighted(case)
        shifted = np.exp(a - a.min(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    def log_normaliser_shifted_by_the_minimum(case):
        a = weighted(case)
        m = a.min(axis=1, keepdims=True)
        return np.exp(a - (m + np.log(np.exp(a - m).sum(axis=1, keepdims=True))))

    def normalised_like_the_handout(case):
        # sklearn.preprocessing.normalize(Z, axis=1, norm='l1') treats a row
        # sum below 10 machine epsilons as zero and leaves that row as it is.
        densities = np.exp(weighted(case))
        row_sums = densities.sum(axis=1, keepdims=True)
        row_sums[row_sums < 10 * np.finfo(float).eps] = 1.0
        return densities / row_sums

    formula = FORMULA
    return [
        Mistake(
            "Your responsibilities ignore the weights pi_k: "
            f"{formula}. Multiply each density by its weight (in log space: add log pi_k).",
            lambda case: _normalise_rows_in_log_space(_log_terms(case)[0]),
        ),
        Mistake(
            "Each column of your responsibilities sums to 1 instead of each row: you "
            "normalised over the points (axis=0) instead of over the components (axis=1). "
            f"{formula}: for each point n, divide by the sum over the components j.",
            columns_normalised,
        ),
        Mistake(
            "Your responsibilities are the weighted densities pi_k N(x_n | mu_k, Sigma_k), "
            "not yet divided by their sum over the components, so the rows do not sum to 1: "
            f"{formula}.",
            lambda case: np.exp(weighted(case)),
        ),
        Mistake(
            "You returned the logarithms of the responsibilities, log gamma_nk; "
            "exponentiate them at the end (np.exp) so that each row sums to 1.",
            lambda case: np.log(responsibilities(*case.arguments.values())),
        ),
        Mistake(
            "The weights pi_k are in the numerator but not in the sum in the denominator, "
            f"so the rows do not sum to 1: {formula}.",
            weights_in_numerator_only,
        ),
        Mistake(
            "Your responsibilities are nan for a point far from every Gaussian: there "
            "every pi_k N(x_n | mu_k, Sigma_k) underflows to 0, and 0/0 = nan. Work in log "
            "space and subtract each row's largest term before exponentiating "
            "(log-sum-exp): with a_nk = log pi_k + log N(x_n | mu_k, Sigma_k) and "
            "m_n = max_k a_nk, gamma_nk = exp(a_nk - m_n) / sum_j exp(a_nj - m_n).",
            without_log_sum_exp,
        ),
        Mistake(
            "Some rows of your responsibilities are not normalised: their densities "
            "pi_k N(x_n | mu_k, Sigma_k) are so small (on formants in Hz, often below "
            "1e-15) that the normaliser treated their sum as zero and left them as they "
            "were. sklearn's normalize(Z, axis=1, norm='l1'), the handout's step, does "
            "that. Work in log space and subtract each row's largest term before "
            "exponentiating (log-sum-exp): with a_nk = log pi_k + log N(x_n | mu_k, Sigma_k) "
            "and m_n = max_k a_nk, gamma_nk = exp(a_nk - m_n) / sum_j exp(a_nj - m_n).",
            normalised_like_the_handout,
        ),
        Mistake(
            MINIMUM_SHIFT,
            shifted_by_the_minimum,
        ),
        Mistake(
            MINIMUM_SHIFT,
            log_normaliser_shifted_by_the_minimum,
        ),
        Mistake(
            "Your Gaussian densities use |Sigma_k| where its square root belongs "
            "(the density divides by |Sigma_k|^(1/2)). This does not cancel in the "
            "responsibilities, because each component has its own |Sigma_k|.",
            changed_density(det_factor=-1.0),
        ),
        Mistake(
            "Your Gaussian densities leave out the factor 1 / |Sigma_k|^(1/2). It does "
            "not cancel in the responsibilities, because each component has its own "
            "|Sigma_k| (only (2 pi)^(D/2) is shared and cancels).",
            changed_density(det_factor=0.0),
        ),
        Mistake(
            "The exponent of your Gaussian densities is missing its 1/2: it is "
            "-1/2 (x_n - mu_k)^T Sigma_k^-1 (x_n - mu_k).",
            changed_density(exponent_factor=-1.0),
        ),
    ]


@student_facing
def check_responsibilities(student_fn, *, graded: bool = False,
                           time_limit: float | None = None) -> None:
    """Check a student's E-step: the responsibilities gamma_nk.

    Parameters
    ----------
    student_fn : callable
        ``student_fn(X, weights, means, covariances)`` with X of shape
        (n_samples, n_features), weights of shape (n_components,), means of
        shape (n_components, n_features) and covariances of shape
        (n_components, n_features, n_features), returning the
        responsibilities as an ndarray of shape (n_samples, n_components).
    graded : bool, default=False
        Add the hidden test cases (the nbgrader hidden tests pass True).
    time_limit : float, optional
        Seconds the student's code may run in all; default ``TIME_LIMIT``.

    Raises
    ------
    ExerciseFailed
        With a message that says what is wrong.
    """
    all_cases = cases(graded)
    check_arrays(student_fn, all_cases,
                 [responsibilities(*case.arguments.values()) for case in all_cases],
                 check_name="check_responsibilities",
                 success="your responsibilities match the reference",
                 returns="the responsibilities, an array of shape (n_samples, n_components)",
                 axis_names=["n_samples", "n_components"], label="Your responsibilities",
                 tolerance=Tolerance(rtol=1e-6, atol=1e-8), mistakes=mistakes(),
                 explain=_responsibility_property_message, time_limit=time_limit,
                 forbidden=FORBIDDEN)


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
    return generic_difference(
        "Your responsibilities differ", "responsibilities", values, expected, case, tolerance
    )


