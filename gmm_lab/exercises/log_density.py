"""Exercise (lesson 2): the log density of one Gaussian, by its Cholesky factor.

The student writes ``my_log_density(X, mean, covariance)`` returning
log N(x_n | mean, covariance) for every row of X, with ``np.linalg.cholesky``
and ``scipy.linalg.solve_triangular``: no ``inv``, ``pinv``, ``det`` and no
``scipy.stats``. To add a typical mistake, add a :class:`Mistake` to
:func:`mistakes`; a test in tests/test_exercises.py should then show a
student function that makes it and the message it gets.
"""

from __future__ import annotations

import numpy as np

from ..data import load_vowels
from ..gaussian import log_gaussian_density
from ._data import (
    FAR_AWAY_TEXT,
    LOG_2PI,
    far_point,
    log_density_variant,
    random_covariance,
    vowel_gaussians,
)
from ._driver import (
    Case,
    Mistake,
    Tolerance,
    check_arrays,
    generic_difference,
    gmm_lab_function,
    inverse_tools,
    scipy_stats,
    sklearn_mixture,
    student_facing,
)

FORMULA = "log N(x | mu, Sigma) = -1/2 (D log 2 pi + log|Sigma| + (x - mu)^T Sigma^-1 (x - mu))"
CHOLESKY = (
    "With the Cholesky factor Sigma = L L^T (L = np.linalg.cholesky(Sigma), lower "
    "triangular), solve L z = x - mu with scipy.linalg.solve_triangular(L, (X - mean).T, "
    "lower=True); then (x - mu)^T Sigma^-1 (x - mu) = ||z||^2 and log|Sigma| = 2 sum_d log L_dd."
)

# What this exercise forbids, and the library's own answers to it.
FORBIDDEN = (
    inverse_tools(CHOLESKY)
    + [scipy_stats("The exercise is to compute the log density yourself. " + CHOLESKY)]
    + [gmm_lab_function("gmm_lab's log_gaussian_density", "gaussian",
                        ("log_gaussian_density", "weighted_log_densities", "_evaluate"),
                        "Compute it from the formula. " + CHOLESKY),
       sklearn_mixture("Compute it from the formula. " + CHOLESKY)]
)


def cases(graded: bool = False) -> list:
    rng = np.random.default_rng(20240601)
    _, means, covariances = vowel_gaussians()
    iy = load_vowels("IY").X
    five_tokens = iy[:5]
    covariance_3d = random_covariance(rng, 3)
    mean_3d = rng.normal(size=3)
    X_3d = rng.multivariate_normal(mean_3d, covariance_3d, size=20)
    found = [
        Case(
            "a hand-made case: three points and the standard normal in 2-D",
            {"X": np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]]),
             "mean": np.zeros(2), "covariance": np.eye(2)},
        ),
        Case(
            "a hand-made case: four points and a correlated Gaussian in 2-D",
            {"X": np.array([[1.0, -1.0], [2.0, 0.0], [0.0, -3.0], [4.0, 1.0]]),
             "mean": np.array([1.0, -1.0]),
             "covariance": np.array([[2.0, 0.6], [0.6, 1.0]])},
        ),
        Case(
            "random points around a random Gaussian in 3-D (3 features)",
            {"X": X_3d, "mean": mean_3d, "covariance": covariance_3d},
        ),
        Case(
            "the vowel IY in Hz, with its own mean and covariance",
            {"X": iy, "mean": means[0].copy(), "covariance": covariances[0].copy()},
        ),
        Case(
            f"five IY tokens in Hz and a point {FAR_AWAY_TEXT} standard deviations away",
            {"X": np.vstack([five_tokens, far_point(means[0], covariances[0])]),
             "mean": means[0].copy(), "covariance": covariances[0].copy()},
            far_rows=(len(five_tokens),),
        ),
    ]
    if graded:
        hidden = np.random.default_rng(8128)
        covariance_4d = random_covariance(hidden, 4)
        mean_4d = hidden.normal(size=4)
        found.append(Case(
            "random points around a random Gaussian in 4-D (4 features)",
            {"X": hidden.multivariate_normal(mean_4d, covariance_4d, size=12),
             "mean": mean_4d, "covariance": covariance_4d},
        ))
    return found


def reference(case) -> np.ndarray:
    X, mean, covariance = case.arguments.values()
    return log_gaussian_density(X, mean[np.newaxis], covariance[np.newaxis])[:, 0]


def mistakes() -> list:
    def variant(**changes):
        return lambda case: log_density_variant(*case.arguments.values(), **changes)

    return [
        Mistake(
            "Your function returns the density N(x | mu, Sigma) itself; the exercise asks "
            f"for its logarithm: {FORMULA}.",
            lambda case: np.exp(reference(case)),
        ),
        Mistake(
            "Your log density is -inf for a point far from the mean: you computed the "
            "density and then took its log, but there exp(-5e11) underflows to 0 and "
            "log(0) = -inf. Compute the logarithm directly, term by term: "
            f"{FORMULA}.",
            lambda case: np.log(np.exp(reference(case))),
        ),
        Mistake(
            "Your triangular solve used only the diagonal of L: scipy.linalg.solve_triangular "
            "reads the *upper* triangle unless you pass lower=True, and the upper triangle of "
            "the Cholesky factor L is all zeros apart from its diagonal. "
            "np.linalg.cholesky returns the lower factor: "
            "solve_triangular(L, (X - mean).T, lower=True).",
            variant(quadratic="diagonal"),
        ),
        Mistake(
            "You solved with L^T instead of L: with Sigma = L L^T, the Mahalanobis distance is "
            "||z||^2 with L z = x - mu (z = L^-1 (x - mu)), so solve with L itself: "
            "scipy.linalg.solve_triangular(L, (X - mean).T, lower=True).",
            variant(quadratic="L^T"),
        ),
        Mistake(
            "You multiplied by the Cholesky factor L where you must solve with it: "
            "z = L (x - mu) gives (x - mu)^T L^T L (x - mu), not the Mahalanobis distance. "
            "Solve L z = x - mu instead: scipy.linalg.solve_triangular(L, (X - mean).T, "
            "lower=True).",
            variant(quadratic="times L"),
        ),
        Mistake(
            "You used Sigma where its inverse belongs (multiplying by Sigma, or by L^T as in "
            "(X - mean) @ L, gives (x - mu)^T Sigma (x - mu)): the exponent is "
            "-1/2 (x - mu)^T Sigma^-1 (x - mu). " + CHOLESKY,
            variant(quadratic="covariance"),
        ),
        Mistake(
            "Your log-determinant term is -1/2 sum_d log L_dd; it is -sum_d log L_dd. "
            "With Sigma = L L^T, |Sigma| = (prod_d L_dd)^2, so log|Sigma| = 2 sum_d log L_dd "
            "and -1/2 log|Sigma| = -sum_d log L_dd.",
            variant(det_factor=-0.25),
        ),
        Mistake(
            "You used the determinant |Sigma| where its square root belongs: the density "
            "divides by (2 pi)^(D/2) |Sigma|^(1/2), so the log density has -1/2 log|Sigma| "
            "= -sum_d log L_dd, not -log|Sigma| = -2 sum_d log L_dd.",
            variant(det_factor=-1.0),
        ),
        Mistake(
            "The determinant is missing: the log density has the term -1/2 log|Sigma| "
            "= -sum_d log L_dd, from the factor 1 / |Sigma|^(1/2).",
            variant(det_factor=0.0),
        ),
        Mistake(
            "You multiplied by |Sigma|^(1/2) instead of dividing by it: the term is "
            "-1/2 log|Sigma| = -sum_d log L_dd, with a minus sign.",
            variant(det_factor=+0.5),
        ),
        Mistake(
            "The exponent is missing its 1/2: it is -1/2 (x - mu)^T Sigma^-1 (x - mu) "
            "= -1/2 ||z||^2, not -||z||^2.",
            variant(exponent_factor=-1.0),
        ),
        Mistake(
            "The exponent has the wrong sign: it is -1/2 (x - mu)^T Sigma^-1 (x - mu), "
            "so the log density falls as x moves away from mu.",
            variant(exponent_factor=+0.5),
        ),
        Mistake(
            "The constant (2 pi)^(D/2) is missing: the log density has the term "
            "-D/2 log(2 pi).",
            variant(constant=0.0),
        ),
        Mistake(
            "You used (2 pi)^(1/2) where (2 pi)^(D/2) belongs: the term is -D/2 log(2 pi), "
            "with D = X.shape[1] features.",
            variant(constant=-0.5 * LOG_2PI),
        ),
        Mistake(
            "Your function is right for 2 features but not for 3: the constant must be "
            "(2 pi)^(D/2) with D = X.shape[1], not a fixed 2 pi. Write it for any D.",
            variant(constant=-LOG_2PI),
        ),
        Mistake(
            "The covariance is missing from the exponent: you computed "
            "-1/2 (x - mu)^T (x - mu), the Euclidean distance; it is "
            "-1/2 (x - mu)^T Sigma^-1 (x - mu), the Mahalanobis distance.",
            variant(quadratic="euclidean"),
        ),
        Mistake(
            "Only the exponent is there: -1/2 (x - mu)^T Sigma^-1 (x - mu). The log of the "
            "normalising constant, -1/2 (D log 2 pi + log|Sigma|), is missing.",
            variant(constant=0.0, det_factor=0.0),
        ),
    ]


@student_facing
def check_log_density(student_fn, *, graded: bool = False, time_limit: float | None = None) -> None:
    """Check a student's log density of one multivariate Gaussian.

    Parameters
    ----------
    student_fn : callable
        ``student_fn(X, mean, covariance)`` with X of shape (n_samples,
        n_features), mean of shape (n_features,) and covariance of shape
        (n_features, n_features), returning log N(x_n | mean, covariance)
        as an ndarray of shape (n_samples,).
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
    check_arrays(student_fn, all_cases, [reference(case) for case in all_cases],
                 check_name="check_log_density", success="your log density matches the reference",
                 returns="an array of shape (n_samples,): one log density per point",
                 axis_names=["n_samples"], label="Your log density",
                 tolerance=Tolerance(rtol=1e-6, atol=1e-6), mistakes=mistakes(),
                 explain=_log_density_message, time_limit=time_limit, forbidden=FORBIDDEN)


def _log_density_message(values, expected, case, tolerance) -> str:
    """A non-finite value in log space, or else the worst entry."""
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        row = int(bad[0])
        return (
            f"Your log density is {values[row]} at point {row}{case.row_note(row)}; "
            f"it should be {expected[row]:.6g}. Stay in log space: {FORMULA}.\n"
            f"{case.where()}"
        )
    return generic_difference("Your log density differs", "log_density", values, expected, case,
                              tolerance)
