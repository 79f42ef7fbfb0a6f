"""The exercise checkers: right answers pass, typical mistakes are named.

Each "student" below is a small function written the way a student would
write it, right or with one typical mistake. The right ones are written
independently of gmm_lab (scipy, Cholesky by hand, np.cov), so a pass shows
that the checker agrees with an independent implementation, not with itself.
"""

import functools
import re
import time
import warnings

import numpy as np
import pytest
import scipy.linalg
import sklearn.mixture

import gmm_lab
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.preprocessing import normalize

from gmm_lab.exercises import (
    QUESTIONS,
    ExerciseFailed,
    check_choose_by_bic,
    check_class_posteriors,
    check_em_loop,
    check_fix_features,
    check_heldout_accuracy,
    check_log_density,
    check_m_step,
    check_n_parameters,
    check_prediction,
    check_responsibilities,
    check_vowel_means,
    check_zero_variance_direction,
)


def not_filled_in_message(name):
    return re.escape(f"{name} is not filled in yet: replace `raise NotImplementedError()` with your code.")


# ---------------------------------------------------------------------------
# exercise 1: the log density of one Gaussian


def log_density_with_cholesky(X, mean, covariance):
    n_features = X.shape[1]
    L = np.linalg.cholesky(covariance)
    z = scipy.linalg.solve_triangular(L, (X - mean).T, lower=True)
    return -0.5 * (n_features * np.log(2 * np.pi) + np.sum(z**2, axis=0)) - np.sum(np.log(np.diag(L)))


def log_density_with_solve_and_slogdet(X, mean, covariance):
    # Not the lesson's Cholesky route, but no inverse and correct: accepted.
    centred = X - mean
    distance = np.sum(np.linalg.solve(covariance, centred.T).T * centred, axis=1)
    return -0.5 * (X.shape[1] * np.log(2 * np.pi) + np.linalg.slogdet(covariance)[1] + distance)


def my_log_density(X, mean, covariance):
    # YOUR CODE HERE
    raise NotImplementedError()


def _parts(X, mean, covariance):
    """The pieces a student combines: D, L, the centred points, log|Sigma|, the distance."""
    L = np.linalg.cholesky(covariance)
    centred = X - mean
    z = scipy.linalg.solve_triangular(L, centred.T, lower=True)
    return X.shape[1], L, centred, 2 * np.sum(np.log(np.diag(L))), np.sum(z**2, axis=0)


def density_not_log(X, mean, covariance):
    return np.exp(log_density_with_cholesky(X, mean, covariance))


def log_of_the_density(X, mean, covariance):
    D, L, centred, log_det, distance = _parts(X, mean, covariance)
    density = np.exp(-0.5 * distance) / np.sqrt((2 * np.pi) ** D * np.exp(log_det))
    return np.log(density)


def determinant_without_square_root(X, mean, covariance):
    D, L, centred, log_det, distance = _parts(X, mean, covariance)
    return -0.5 * D * np.log(2 * np.pi) - log_det - 0.5 * distance


def exponent_without_one_half(X, mean, covariance):
    D, L, centred, log_det, distance = _parts(X, mean, covariance)
    return -0.5 * (D * np.log(2 * np.pi) + log_det) - distance


def two_pi_for_two_features_only(X, mean, covariance):
    D, L, centred, log_det, distance = _parts(X, mean, covariance)
    return -np.log(2 * np.pi) - 0.5 * log_det - 0.5 * distance


def covariance_instead_of_inverse(X, mean, covariance):
    D, L, centred, log_det, _ = _parts(X, mean, covariance)
    distance = np.sum(centred @ covariance * centred, axis=1)
    return -0.5 * (D * np.log(2 * np.pi) + log_det + distance)


def forgot_lower_true(X, mean, covariance):
    L = np.linalg.cholesky(covariance)
    z = scipy.linalg.solve_triangular(L, (X - mean).T)  # lower=False by default
    return -0.5 * (X.shape[1] * np.log(2 * np.pi) + np.sum(z**2, axis=0)) - np.sum(np.log(np.diag(L)))


def multiplied_by_L(X, mean, covariance):
    L = np.linalg.cholesky(covariance)
    z = L @ (X - mean).T
    return -0.5 * (X.shape[1] * np.log(2 * np.pi) + np.sum(z**2, axis=0)) - np.sum(np.log(np.diag(L)))


def solved_with_L_transposed(X, mean, covariance):
    L = np.linalg.cholesky(covariance)
    z = scipy.linalg.solve_triangular(L.T, (X - mean).T, lower=False)
    return -0.5 * (X.shape[1] * np.log(2 * np.pi) + np.sum(z**2, axis=0)) - np.sum(np.log(np.diag(L)))


def half_the_log_diagonal(X, mean, covariance):
    L = np.linalg.cholesky(covariance)
    z = scipy.linalg.solve_triangular(L, (X - mean).T, lower=True)
    return -0.5 * (X.shape[1] * np.log(2 * np.pi) + np.sum(z**2, axis=0)) - 0.5 * np.sum(np.log(np.diag(L)))


def distance_for_every_pair(X, mean, covariance):
    D, L, centred, log_det, _ = _parts(X, mean, covariance)
    solved = np.linalg.solve(covariance, centred.T)
    return -0.5 * (D * np.log(2 * np.pi) + log_det + centred @ solved)


def column_instead_of_flat(X, mean, covariance):
    return log_density_with_cholesky(X, mean, covariance)[:, np.newaxis]


def forgot_return(X, mean, covariance):
    log_density_with_cholesky(X, mean, covariance)


def returned_a_string(X, mean, covariance):
    return "log density"


def centres_in_place(X, mean, covariance):
    X -= mean
    return log_density_with_cholesky(X, np.zeros_like(mean), covariance)


def formants_numbered_from_one(X, mean, covariance):
    # F1 in column 1, F2 in column 2: an IndexError in the student's code.
    dx = X[:, 1] - mean[1]
    dy = X[:, 2] - mean[2]
    a, b, c = covariance[0, 0], covariance[0, 1], covariance[1, 1]
    det = a * c - b * b
    distance = (c * dx * dx - 2 * b * dx * dy + a * dy * dy) / det
    return -np.log(2 * np.pi) - 0.5 * np.log(det) - 0.5 * distance


@pytest.mark.parametrize("student", [log_density_with_cholesky, log_density_with_solve_and_slogdet])
def test_a_correct_log_density_passes(student, capsys):
    assert check_log_density(student) is None
    printed = capsys.readouterr().out
    assert printed == "✓ check_log_density: your log density matches the reference on 5 test cases.\n"


def test_the_hidden_cases_run_when_graded(capsys):
    check_log_density(log_density_with_cholesky, graded=True)
    assert "on 6 test cases" in capsys.readouterr().out


def test_the_unfilled_log_density_says_so():
    with pytest.raises(ExerciseFailed, match=not_filled_in_message("my_log_density")) as failure:
        check_log_density(my_log_density)
    # No chained NotImplementedError traceback to distract from the message.
    assert failure.value.__cause__ is None and failure.value.__suppress_context__


@pytest.mark.parametrize(
    "student, message",
    [
        (density_not_log, r"returns the density N\(x \| mu, Sigma\) itself"),
        (log_of_the_density, r"-inf for a point far from the mean: you computed the density and then took its log"),
        (determinant_without_square_root, r"used the determinant \|Sigma\| where its square root belongs"),
        (exponent_without_one_half, r"exponent is missing its 1/2"),
        (two_pi_for_two_features_only, r"right for 2 features but not for 3"),
        (covariance_instead_of_inverse, r"used Sigma where its inverse belongs"),
        (forgot_lower_true, r"Your triangular solve used only the diagonal of L: scipy.linalg.solve_triangular reads the \*upper\* triangle unless you pass lower=True"),
        (multiplied_by_L, r"You multiplied by the Cholesky factor L where you must solve with it"),
        (solved_with_L_transposed, r"You solved with L\^T instead of L"),
        (half_the_log_diagonal, r"Your log-determinant term is -1/2 sum_d log L_dd; it is -sum_d log L_dd"),
        (distance_for_every_pair, r"yours has \(3, 3\): you have one value per \*pair\* of points"),
        (column_instead_of_flat, r"should have shape \(3,\) = \(n_samples,\); yours has \(3, 1\): return a flat array with one value per point"),
        (forgot_return, r"returned None: did you forget the `return` statement\?"),
        (returned_a_string, r"should return an array of shape \(n_samples,\): one log density per point; it returned a str"),
        (centres_in_place, r"changed its input `X` in place"),
    ],
)
def test_log_density_mistakes_are_named(student, message):
    with pytest.raises(ExerciseFailed, match=message):
        check_log_density(student)


def test_an_error_in_the_students_code_points_at_their_line():
    with pytest.raises(ExerciseFailed) as failure:
        check_log_density(formants_numbered_from_one)
    message = str(failure.value)
    assert message.startswith("formants_numbered_from_one raised IndexError: index 2 is out of bounds")
    assert "It happened in formants_numbered_from_one, line" in message
    assert "`dy = X[:, 2] - mean[2]`" in message
    assert "X of shape (3, 2), mean of shape (2,), covariance of shape (2, 2)" in message
    # The student's own traceback stays attached, so the notebook shows their line.
    assert isinstance(failure.value.__cause__, IndexError)


def test_the_failure_is_an_assertion_error():
    # Graders (nbgrader, otter) count an AssertionError as a failed test.
    assert issubclass(ExerciseFailed, AssertionError)


# ---------------------------------------------------------------------------
# exercise 2: the E-step


def responsibilities_with_logsumexp(X, weights, means, covariances):
    log_terms = np.column_stack(
        [np.log(w) + log_density_with_cholesky(X, m, c) for w, m, c in zip(weights, means, covariances)]
    )
    return np.exp(log_terms - logsumexp(log_terms, axis=1, keepdims=True))


def responsibilities_with_a_loop(X, weights, means, covariances):
    # The max-shift written out by hand, one point at a time.
    result = np.zeros((X.shape[0], len(weights)))
    for n, x in enumerate(X):
        terms = np.array([
            np.log(w) + multivariate_normal(m, c).logpdf(x) for w, m, c in zip(weights, means, covariances)
        ])
        shifted = np.exp(terms - terms.max())
        result[n] = shifted / shifted.sum()
    return result


def my_responsibilities(X, weights, means, covariances):
    # YOUR CODE HERE
    raise NotImplementedError()


def weighted_log_terms(X, weights, means, covariances):
    return np.column_stack(
        [np.log(w) + multivariate_normal(m, c).logpdf(X) for w, m, c in zip(weights, means, covariances)]
    )


def forgot_the_weights(X, weights, means, covariances):
    return responsibilities_with_logsumexp(X, np.ones_like(weights), means, covariances)


def normalised_over_the_points(X, weights, means, covariances):
    log_terms = weighted_log_terms(X, weights, means, covariances)
    return np.exp(log_terms - logsumexp(log_terms, axis=0, keepdims=True))


def transposed_responsibilities(X, weights, means, covariances):
    return responsibilities_with_logsumexp(X, weights, means, covariances).T


def raw_densities_divided(X, weights, means, covariances):
    densities = np.column_stack(
        [w * multivariate_normal(m, c).pdf(X) for w, m, c in zip(weights, means, covariances)]
    )
    return densities / densities.sum(axis=1, keepdims=True)


def the_handouts_e_step(X, weights, means, covariances):
    # The lecture handout's get_predictions, verbatim apart from names,
    # followed by its normalize(Z, axis=1, norm='l1').
    k = covariances.shape[0]
    N = X.shape[0]
    D = X.shape[1]
    Z = np.zeros((N, k))
    for i in range(k):
        mu_i = np.expand_dims(means[i, :], axis=1)
        X_minus_mu = X - np.repeat(mu_i, N, axis=1).transpose()
        inverse_s = np.squeeze(scipy.linalg.pinv(covariances[i]))
        s_i_det = scipy.linalg.det(covariances[i])
        x_s_x = np.matmul(X_minus_mu, inverse_s) * X_minus_mu
        Z[:, i] = weights[i] * (1 / np.power((2 * np.pi) ** D * np.abs(s_i_det), 0.5)) * np.exp(-0.5 * np.sum(x_s_x, axis=1))
    return normalize(Z, axis=1, norm="l1")


def returned_log_responsibilities(X, weights, means, covariances):
    log_terms = weighted_log_terms(X, weights, means, covariances)
    return log_terms - logsumexp(log_terms, axis=1, keepdims=True)


def squeezed_for_one_component(X, weights, means, covariances):
    return np.squeeze(responsibilities_with_logsumexp(X, weights, means, covariances))


def divided_by_the_largest(X, weights, means, covariances):
    log_terms = weighted_log_terms(X, weights, means, covariances)
    return np.exp(log_terms - log_terms.max(axis=1, keepdims=True))


def shifted_by_the_row_minimum(X, weights, means, covariances):
    log_terms = weighted_log_terms(X, weights, means, covariances)
    shifted = np.exp(log_terms - log_terms.min(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def log_normaliser_from_the_row_minimum(X, weights, means, covariances):
    # The lesson's solution with min for max: log-sum-exp gives inf, the rows 0.
    log_terms = weighted_log_terms(X, weights, means, covariances)
    shift = log_terms.min(axis=1, keepdims=True)
    log_norm = shift + np.log(np.exp(log_terms - shift).sum(axis=1, keepdims=True))
    return np.exp(log_terms - log_norm)


def returned_the_log_likelihood_too(X, weights, means, covariances):
    log_terms = weighted_log_terms(X, weights, means, covariances)
    return responsibilities_with_logsumexp(X, weights, means, covariances), logsumexp(log_terms, axis=1).sum()


@pytest.mark.parametrize("student", [responsibilities_with_logsumexp, responsibilities_with_a_loop])
def test_a_correct_e_step_passes(student, capsys):
    assert check_responsibilities(student) is None
    printed = capsys.readouterr().out
    assert printed == "✓ check_responsibilities: your responsibilities match the reference on 7 test cases.\n"


def test_the_unfilled_e_step_says_so():
    with pytest.raises(ExerciseFailed, match=not_filled_in_message("my_responsibilities")):
        check_responsibilities(my_responsibilities)


def test_an_unfilled_earlier_exercise_is_named():
    # The notebook's E-step calls the student's log density from exercise 1.
    def my_e_step(X, weights, means, covariances):
        log_terms = np.column_stack(
            [np.log(w) + my_log_density(X, m, c) for w, m, c in zip(weights, means, covariances)]
        )
        return np.exp(log_terms - logsumexp(log_terms, axis=1, keepdims=True))

    with pytest.raises(ExerciseFailed, match=not_filled_in_message("my_log_density") + r" \(my_e_step calls my_log_density\.\)"):
        check_responsibilities(my_e_step)


@pytest.mark.parametrize(
    "student, message",
    [
        (forgot_the_weights, r"ignore the weights pi_k"),
        (normalised_over_the_points, r"Each column of your responsibilities sums to 1 instead of each row: you normalised over the points \(axis=0\)"),
        (transposed_responsibilities, r"should have shape \(4, 2\) = \(n_samples, n_components\); yours has \(2, 4\): did you transpose\?"),
        (raw_densities_divided, r"nan for a point far from every Gaussian: .* 0/0 = nan\. Work in log space .*\(log-sum-exp\)"),
        (the_handouts_e_step, r"treated their sum as zero .* sklearn's normalize\(Z, axis=1, norm='l1'\)"),
        (returned_log_responsibilities, r"returned the logarithms of the responsibilities"),
        (shifted_by_the_row_minimum, r"^Your responsibilities break down where one component is far more likely than another \(they come out nan or 0 there\): you subtracted each row's smallest term, m_n = min_k a_nk"),
        (log_normaliser_from_the_row_minimum, r"^Your responsibilities break down where one component is far more likely than another"),
        (squeezed_for_one_component, r"yours has \(152,\): with a single component the component axis has length 1"),
        (divided_by_the_largest, r"Row 0 of your responsibilities sums to 1\.\d+; each row must sum to 1"),
        (returned_the_log_likelihood_too, r"returned a tuple of 2 things; it should return only the responsibilities"),
    ],
)
def test_e_step_mistakes_are_named(student, message):
    with pytest.raises(ExerciseFailed, match=message):
        check_responsibilities(student)


def test_the_far_point_mistake_names_the_test_case():
    with pytest.raises(ExerciseFailed, match=r"Test case: a hand-made case: two standard normals 80 apart in 2-D, a point on each mean and one halfway, 40 standard deviations from both"):
        check_responsibilities(raw_densities_divided)


def test_the_minimum_shift_is_not_mistaken_for_normalize():
    # The review's misdiagnosis: the row-minimum shift was told it used normalize.
    with pytest.raises(ExerciseFailed) as failure:
        check_responsibilities(shifted_by_the_row_minimum)
    assert "normalize" not in str(failure.value)


def test_the_e_step_may_not_call_the_librarys_e_step():
    def calls_the_library(X, weights, means, covariances):
        return gmm_lab.responsibilities(X, weights, means, covariances)

    with pytest.raises(ExerciseFailed, match=r"^calls_the_library calls gmm_lab's responsibilities \(in calls_the_library, line \d+: `return gmm_lab.responsibilities\(X, weights, means, covariances\)`\): that is what this exercise asks you to write yourself, so it earns no points\."):
        check_responsibilities(calls_the_library)


def test_naive_code_does_not_spray_numpy_warnings(recwarn):
    # 0/0 in the student's code is explained by the message, not by a RuntimeWarning.
    with pytest.raises(ExerciseFailed):
        check_responsibilities(raw_densities_divided)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


# ---------------------------------------------------------------------------
# exercise 3: the M-step


def m_step_vectorised(X, responsibilities):
    counts = responsibilities.sum(axis=0)
    means = responsibilities.T @ X / counts[:, np.newaxis]
    covariances = np.array([
        (responsibilities[:, k, np.newaxis] * (X - means[k])).T @ (X - means[k]) / counts[k]
        for k in range(responsibilities.shape[1])
    ])
    return counts / X.shape[0], means, covariances


def m_step_with_np_cov(X, responsibilities):
    weights, means, covariances = [], [], []
    for gamma in responsibilities.T:
        weights.append(gamma.sum() / len(X))
        means.append(np.average(X, axis=0, weights=gamma))
        covariances.append(np.cov(X.T, aweights=gamma, bias=True))
    return np.array(weights), np.array(means), np.array(covariances)


def my_m_step(X, responsibilities):
    # YOUR CODE HERE
    raise NotImplementedError()


def weights_not_divided_by_n(X, responsibilities):
    _, means, covariances = m_step_vectorised(X, responsibilities)
    return responsibilities.sum(axis=0), means, covariances


def means_divided_by_n(X, responsibilities):
    weights, _, _ = m_step_vectorised(X, responsibilities)
    means = responsibilities.T @ X / X.shape[0]
    covariances = np.array([
        (gamma[:, np.newaxis] * (X - mean)).T @ (X - mean) / gamma.sum()
        for gamma, mean in zip(responsibilities.T, means)
    ])
    return weights, means, covariances


def unweighted_means(X, responsibilities):
    weights, _, covariances = m_step_vectorised(X, responsibilities)
    means = np.array([X.mean(axis=0) for _ in range(responsibilities.shape[1])])
    return weights, means, covariances


def covariance_around_the_global_mean(X, responsibilities):
    weights, means, _ = m_step_vectorised(X, responsibilities)
    centred = X - X.mean(axis=0)
    covariances = np.array([
        (gamma[:, np.newaxis] * centred).T @ centred / gamma.sum() for gamma in responsibilities.T
    ])
    return weights, means, covariances


def covariance_with_np_cov_defaults(X, responsibilities):
    weights, means, _ = m_step_vectorised(X, responsibilities)
    covariances = np.array([np.cov(X.T, aweights=gamma) for gamma in responsibilities.T])
    return weights, means, covariances


def divided_by_n_k_minus_one(X, responsibilities):
    weights, means, covariances = m_step_vectorised(X, responsibilities)
    counts = responsibilities.sum(axis=0)
    return weights, means, covariances * (counts / (counts - 1))[:, np.newaxis, np.newaxis]


def diagonal_like_the_handout(X, responsibilities):
    weights, means, _ = m_step_vectorised(X, responsibilities)
    covariances = np.array([
        np.diag(gamma @ (X - mean) ** 2 / gamma.sum()) for gamma, mean in zip(responsibilities.T, means)
    ])
    return weights, means, covariances


def upper_triangle_only(X, responsibilities):
    weights, means, _ = m_step_vectorised(X, responsibilities)
    n_components, n_features = means.shape
    covariances = np.zeros((n_components, n_features, n_features))
    for k in range(n_components):
        gamma = responsibilities[:, k]
        for i in range(n_features):
            for j in range(i, n_features):
                covariances[k, i, j] = np.sum(gamma * (X[:, i] - means[k, i]) * (X[:, j] - means[k, j])) / gamma.sum()
    return weights, means, covariances


def gamma_in_both_factors(X, responsibilities):
    weights, means, _ = m_step_vectorised(X, responsibilities)
    covariances = np.array([
        (gamma[:, np.newaxis] * (X - mean)).T @ (gamma[:, np.newaxis] * (X - mean)) / gamma.sum()
        for gamma, mean in zip(responsibilities.T, means)
    ])
    return weights, means, covariances


def weights_averaged_over_the_components(X, responsibilities):
    _, means, covariances = m_step_vectorised(X, responsibilities)
    return responsibilities.mean(axis=1), means, covariances


def hard_assignments(X, responsibilities):
    hard = np.eye(responsibilities.shape[1])[responsibilities.argmax(axis=1)]
    return m_step_vectorised(X, hard)


def with_a_regulariser(X, responsibilities):
    weights, means, covariances = m_step_vectorised(X, responsibilities)
    return weights, means, covariances + 1e-6 * np.eye(X.shape[1])


def wrong_order(X, responsibilities):
    weights, means, covariances = m_step_vectorised(X, responsibilities)
    return means, covariances, weights


def only_means_and_covariances(X, responsibilities):
    return m_step_vectorised(X, responsibilities)[1:]


@pytest.mark.parametrize("student", [m_step_vectorised, m_step_with_np_cov])
def test_a_correct_m_step_passes(student, capsys):
    assert check_m_step(student) is None
    printed = capsys.readouterr().out
    assert printed == "✓ check_m_step: your M-step matches the reference on 5 test cases.\n"


def test_the_unfilled_m_step_says_so():
    with pytest.raises(ExerciseFailed, match=not_filled_in_message("my_m_step")):
        check_m_step(my_m_step)


@pytest.mark.parametrize(
    "student, message",
    [
        (weights_not_divided_by_n, r"weights are N_k = sum_n gamma_nk, .* so they do not sum to 1"),
        (means_divided_by_n, r"means are divided by N, the number of all points; divide by N_k"),
        (unweighted_means, r"plain average of all the points: the responsibilities are missing"),
        (covariance_around_the_global_mean, r"centred on the mean of all the data \(or on an old mean\), not on the component's new mean mu_k"),
        (covariance_with_np_cov_defaults, r"divided by N_k - 1 .* With np.cov, pass bias=True"),
        (divided_by_n_k_minus_one, r"divided by N_k - 1"),
        (diagonal_like_the_handout, r"covariances are diagonal: the handout's M-step fits diagonal covariances"),
        (upper_triangle_only, r"covariances\[0\] is not symmetric: entry \[0, 1\] is -?\d.* but entry \[1, 0\] is 0"),
        (gamma_in_both_factors, r"carries gamma_nk twice"),
        (weights_averaged_over_the_components, r"weights should have shape \(2,\) = \(n_components,\); yours has \(5,\): did you sum or average over the wrong axis\?"),
        (hard_assignments, r"^You gave each point wholly to its most likely component \(hard assignments, argmax_k gamma_nk, as k-means does\)"),
        (with_a_regulariser, r"^Your covariances have 1e-06 added to every variance \(the diagonal\): a regulariser, like reg_covar\. This exercise asks for the exact M-step with no regulariser"),
        (wrong_order, r"right arrays in the wrong order: return them as \(weights, means, covariances\)"),
        (only_means_and_covariances, r"should return three arrays: \(weights, means, covariances\); it returned 2 things"),
    ],
)
def test_m_step_mistakes_are_named(student, message):
    with pytest.raises(ExerciseFailed, match=message):
        check_m_step(student)


def test_an_unrecognised_mistake_gets_a_located_difference():
    def means_off_by_one_hertz(X, responsibilities):
        weights, means, covariances = m_step_vectorised(X, responsibilities)
        return weights, means + 1.0, covariances

    with pytest.raises(ExerciseFailed, match=r"Your means differ from the reference: means\[0, 0\] is 1.66667 where 0.666667 is expected"):
        check_m_step(means_off_by_one_hertz)


def test_the_m_step_may_not_call_the_librarys_m_step():
    def calls_the_library(X, responsibilities):
        return gmm_lab.m_step(X, responsibilities, reg_covar=0.0)

    with pytest.raises(ExerciseFailed, match=r"^calls_the_library calls gmm_lab's m_step \(in calls_the_library, line \d+"):
        check_m_step(calls_the_library)


def test_the_m_step_may_not_borrow_scikit_learns_estimator():
    def fits_sklearn(X, responsibilities):
        model = sklearn.mixture.GaussianMixture(responsibilities.shape[1]).fit(X)
        return model.weights_, model.means_, model.covariances_

    with pytest.raises(ExerciseFailed, match=r"^fits_sklearn calls scikit-learn's GaussianMixture"):
        check_m_step(fits_sklearn)


# ---------------------------------------------------------------------------
# the shared driver: time limit, forbidden tools, the library's own answers


def test_an_endless_loop_is_stopped_with_a_message_that_says_where():
    def endless(X, mean, covariance):
        total = 0.0
        while True:
            total += 1.0

    # That the check returns at all shows the loop was stopped; no
    # wall-clock bound is asserted (this machine is shared and noisy).
    with pytest.raises(ExerciseFailed) as failure:
        check_log_density(endless, time_limit=1.0)
    message = str(failure.value)
    assert message.startswith("endless did not finish within 1 s, so the check stopped it. "
                              "Is there a loop that never ends")
    assert re.search(r"When it was stopped it was running in endless, line \d+: `(while True:|total \+= 1\.0)`", message)


def test_the_time_limit_is_shorter_than_nbgraders_cell_timeout():
    from gmm_lab.exercises import TIME_LIMIT

    nbgrader_default_timeout = 30  # nbgrader.preprocessors.Execute.timeout
    assert 3 * TIME_LIMIT < 120 and TIME_LIMIT < nbgrader_default_timeout  # course/ sets 120 s


def test_a_stopped_student_thread_does_not_keep_running():
    import threading

    def endless(X, mean, covariance):
        while True:
            pass

    with pytest.raises(ExerciseFailed):
        check_log_density(endless, time_limit=0.5)
    time.sleep(0.2)
    assert not [t for t in threading.enumerate() if t.name.startswith("gmm-lab-check-endless")]


def inverse_with_np(X, mean, covariance):
    centred = X - mean
    distance = np.sum(centred @ np.linalg.inv(covariance) * centred, axis=1)
    return -0.5 * (X.shape[1] * np.log(2 * np.pi) + np.linalg.slogdet(covariance)[1] + distance)


def inverse_imported_by_name(X, mean, covariance):
    from numpy.linalg import inv as invert  # an alias does not hide it

    centred = X - mean
    distance = np.sum(centred @ invert(covariance) * centred, axis=1)
    return -0.5 * (X.shape[1] * np.log(2 * np.pi) + np.linalg.slogdet(covariance)[1] + distance)


def determinant_with_scipy(X, mean, covariance):
    D, L, centred, _, distance = _parts(X, mean, covariance)
    return -0.5 * (D * np.log(2 * np.pi) + np.log(scipy.linalg.det(covariance)) + distance)


def pseudo_inverse(X, mean, covariance):
    D, L, centred, log_det, _ = _parts(X, mean, covariance)
    distance = np.sum(centred @ scipy.linalg.pinv(covariance) * centred, axis=1)
    return -0.5 * (D * np.log(2 * np.pi) + log_det + distance)


def log_density_with_scipy(X, mean, covariance):
    return multivariate_normal(mean, covariance).logpdf(X).reshape(-1)


def log_density_from_gmm_lab(X, mean, covariance):
    return gmm_lab.log_gaussian_density(X, mean[None], covariance[None])[:, 0]


def helper_calls_the_library(X, mean, covariance):
    return _library_helper(X, mean, covariance)


def _library_helper(X, mean, covariance):
    return gmm_lab.log_gaussian_density(X, mean[None], covariance[None])[:, 0]


@pytest.mark.parametrize(
    "student, message",
    [
        (inverse_with_np, r"^inverse_with_np uses np\.linalg\.inv \(in inverse_with_np, line \d+: `distance = np\.sum\(centred @ np\.linalg\.inv\(covariance\) \* centred, axis=1\)`\), which this exercise asks you to do without\. With the Cholesky factor"),
        (inverse_imported_by_name, r"^inverse_imported_by_name uses np\.linalg\.inv \(in inverse_imported_by_name, line \d+: `distance = np\.sum\(centred @ invert\(covariance\)"),
        (determinant_with_scipy, r"^determinant_with_scipy uses scipy\.linalg\.det \("),
        (pseudo_inverse, r"^pseudo_inverse uses scipy\.linalg\.pinv \("),
        (log_density_with_scipy, r"^log_density_with_scipy uses scipy\.stats \(in log_density_with_scipy, line \d+: `return multivariate_normal\(mean, covariance\)\.logpdf\(X\)\.reshape\(-1\)`\), which this exercise asks you to do without"),
        (log_density_from_gmm_lab, r"^log_density_from_gmm_lab calls gmm_lab's log_gaussian_density \(in log_density_from_gmm_lab, line \d+: .*\): that is what this exercise asks you to write yourself, so it earns no points\. Compute it from the formula\."),
        (helper_calls_the_library, r"^helper_calls_the_library calls gmm_lab's log_gaussian_density \(in _library_helper, line \d+"),
    ],
)
def test_forbidden_tools_and_the_librarys_answer_are_refused(student, message):
    with pytest.raises(ExerciseFailed, match=message):
        check_log_density(student)


def test_a_forbidden_tool_inside_the_library_is_not_blamed_on_the_student():
    # scikit-learn's own code may call what it likes; only the student's calls count.
    def uses_cholesky_via_scipy(X, mean, covariance):
        L = scipy.linalg.cholesky(covariance, lower=True)
        z = scipy.linalg.solve_triangular(L, (X - mean).T, lower=True)
        return -0.5 * (X.shape[1] * np.log(2 * np.pi) + np.sum(z**2, axis=0)) - np.sum(np.log(np.diag(L)))

    check_log_density(uses_cholesky_via_scipy)


# ---------------------------------------------------------------------------
# lesson 1: the mean formants of each vowel


def vowel_means(X, labels, vowels):
    return np.array([X[labels == vowel].mean(axis=0) for vowel in vowels])


def my_vowel_means(X, labels, vowels):
    # YOUR CODE HERE
    raise NotImplementedError()


@pytest.mark.parametrize(
    "student, message",
    [
        (lambda X, labels, vowels: vowel_means(X, labels, sorted(vowels)), r"^Your rows are the right means in the wrong order: they are sorted alphabetically"),
        (lambda X, labels, vowels: np.array([np.median(X[labels == v], axis=0) for v in vowels]), r"^You computed medians \(np\.median\)"),
        (lambda X, labels, vowels: np.tile(X.mean(axis=0), (len(vowels), 1)), r"^Every row of yours is the mean of all the tokens"),
        (lambda X, labels, vowels: vowel_means(X, labels, vowels)[:, ::-1], r"^Your columns are in reverse order"),
        (lambda X, labels, vowels: vowel_means(X, labels, vowels).T, r"Your means should have shape \(3, 2\) = \(n_vowels, n_features\); yours has \(2, 3\): did you transpose\?"),
    ],
)
def test_vowel_mean_mistakes_are_named(student, message):
    with pytest.raises(ExerciseFailed, match=message):
        check_vowel_means(student)


def test_vowel_means_pass_and_the_stub_fails(capsys):
    check_vowel_means(vowel_means, graded=True)
    assert capsys.readouterr().out == "✓ check_vowel_means: your vowel means match the reference on 4 test cases.\n"
    with pytest.raises(ExerciseFailed, match=not_filled_in_message("my_vowel_means")):
        check_vowel_means(my_vowel_means)


# ---------------------------------------------------------------------------
# lesson 3: the EM loop


def em_loop(X, weights, means, covariances, e_step, m_step, tol=1e-3, max_iter=100):
    log_likelihoods = []
    for t in range(max_iter + 1):
        responsibilities, log_likelihood = e_step(X, weights, means, covariances)
        log_likelihoods.append(log_likelihood)
        if t > 0 and abs(log_likelihoods[-1] - log_likelihoods[-2]) / X.shape[0] < tol:
            break
        if t < max_iter:
            weights, means, covariances = m_step(X, responsibilities)
    return weights, means, covariances, log_likelihoods


def em_loop_while(X, weights, means, covariances, e_step, m_step, tol=1e-3, max_iter=100):
    # Written another way: a while loop that keeps the previous L.
    responsibilities, current = e_step(X, weights, means, covariances)
    history, previous, t = [current], -np.inf, 0
    while abs(current - previous) / len(X) >= tol and t < max_iter:
        weights, means, covariances = m_step(X, responsibilities)
        previous = current
        responsibilities, current = e_step(X, weights, means, covariances)
        history.append(current)
        t += 1
    return weights, means, covariances, np.array(history)


def my_em(X, weights, means, covariances, e_step, m_step, tol=1e-3, max_iter=100):
    # YOUR CODE HERE
    raise NotImplementedError()


def _loop(stop, *, extra_step=False, skip_first=False, keep_initial=False, last_m_step=False, n_range=1):
    def student(X, weights, means, covariances, e_step, m_step, tol=1e-3, max_iter=100):
        start = (weights, means, covariances)
        log_likelihoods = []
        for t in range(max_iter + n_range):
            responsibilities, log_likelihood = e_step(X, weights, means, covariances)
            log_likelihoods.append(log_likelihood)
            if t > 0 and stop(log_likelihoods, X, tol):
                if extra_step:
                    weights, means, covariances = m_step(X, responsibilities)
                    log_likelihoods.append(e_step(X, weights, means, covariances)[1])
                if last_m_step:
                    weights, means, covariances = m_step(X, responsibilities)
                break
            if t < max_iter or last_m_step:
                weights, means, covariances = m_step(X, responsibilities)
        if keep_initial:
            weights, means, covariances = start
        return weights, means, covariances, log_likelihoods[1:] if skip_first else log_likelihoods
    return student


per_point = lambda L, X, tol: abs(L[-1] - L[-2]) / len(X) < tol  # noqa: E731


@pytest.mark.parametrize(
    "student, message",
    [
        (_loop(lambda L, X, tol: abs(L[-1] - L[-2]) < tol), r"^You compared the change of the total L with tol; the rule compares the change per point"),
        (_loop(lambda L, X, tol: abs(L[-1] - L[-2]) / abs(L[-1]) < tol), r"^You compared the relative change"),
        (_loop(lambda L, X, tol: False), r"^Your loop never stops on the tolerance: it always runs max_iter iterations"),
        (_loop(per_point, extra_step=True), r"^Your loop runs one iteration too many"),
        (_loop(per_point, last_m_step=True), r"^Your L values are right, but you returned the parameters of one M-step too far"),
        (_loop(per_point, skip_first=True), r"^Your list starts with L\(theta_1\): record L\(theta_0\) too"),
        (_loop(per_point, keep_initial=True), r"^You returned the starting parameters theta_0, not the final ones theta_T"),
        (_loop(per_point, n_range=0), r"^With max_iter = M your loop records L\(theta_0\) \.\. L\(theta_\(M-1\)\)"),
    ],
)
def test_em_loop_mistakes_are_named(student, message):
    with pytest.raises(ExerciseFailed, match=message):
        check_em_loop(student)


@pytest.mark.parametrize("student", [em_loop, em_loop_while])
def test_a_correct_em_loop_passes(student, capsys):
    check_em_loop(student, graded=True)
    assert capsys.readouterr().out == "✓ check_em_loop: your EM loop matches run_em from the same start on 4 test cases.\n"


def test_the_em_loop_stub_and_the_librarys_loop_are_refused():
    with pytest.raises(ExerciseFailed, match=not_filled_in_message("my_em")):
        check_em_loop(my_em)

    def runs_the_library(X, weights, means, covariances, e_step, m_step, tol=1e-3, max_iter=100):
        history = gmm_lab.run_em(X, len(weights), tol=tol, max_iter=max_iter)
        return history[-1].weights, history[-1].means, history[-1].covariances, history.log_likelihoods

    with pytest.raises(ExerciseFailed, match=r"^runs_the_library calls gmm_lab's run_em \(in runs_the_library, line \d+"):
        check_em_loop(runs_the_library)


def test_an_em_loop_that_never_ends_is_stopped():
    def forgot_to_update(X, weights, means, covariances, e_step, m_step, tol=1e-3, max_iter=100):
        change = np.inf
        while change > tol:
            responsibilities, log_likelihood = e_step(X, weights, means, covariances)
        return weights, means, covariances, [log_likelihood]

    with pytest.raises(ExerciseFailed, match=r"^forgot_to_update did not finish within 2 s, so the check stopped it\..*When it was stopped it was running in forgot_to_update, line \d+"):
        check_em_loop(forgot_to_update, time_limit=2.0)


def test_an_em_loop_whose_l_falls_is_told_so():
    def mixed_up_points(X, weights, means, covariances, e_step, m_step, tol=1e-3, max_iter=100):
        # The responsibilities reach the M-step with the points in reverse order.
        log_likelihoods = []
        for t in range(max_iter + 1):
            responsibilities, log_likelihood = e_step(X, weights, means, covariances)
            log_likelihoods.append(log_likelihood)
            if t > 0 and abs(log_likelihoods[-1] - log_likelihoods[-2]) / len(X) < tol:
                break
            if t < max_iter:
                weights, means, covariances = m_step(X, responsibilities[::-1])
        return weights, means, covariances, log_likelihoods

    with pytest.raises(ExerciseFailed, match=r"^Your L fell from .* at t = \d+: with the exact E-step and M-step, L\(theta_t\) never decreases"):
        check_em_loop(mixed_up_points)


# ---------------------------------------------------------------------------
# lesson 4: counting parameters, choosing by BIC, the singular model


def n_parameters(n_components, n_features, covariance_type):
    K, D = n_components, n_features
    covariance = {"full": K * D * (D + 1) // 2, "diag": K * D, "tied": D * (D + 1) // 2, "spherical": K}
    return (K - 1) + K * D + covariance[covariance_type]


def my_n_parameters(n_components, n_features, covariance_type):
    # YOUR CODE HERE
    raise NotImplementedError()


def _count(**change):
    def student(n_components, n_features, covariance_type):
        K, D = n_components, n_features
        covariance = {"full": K * D * D if change.get("square") else K * D * (D + 1) // 2,
                      "diag": K * D,
                      "tied": (K if change.get("tied") else 1) * D * (D + 1) // 2,
                      "spherical": K * D if change.get("spherical") else K}
        weights = {"K": K, "none": 0}.get(change.get("weights"), K - 1)
        means = 0 if change.get("no_means") else K * D
        return weights + means + covariance[covariance_type]
    return student


@pytest.mark.parametrize(
    "student, message",
    [
        (_count(weights="K"), r"^You counted K weights; they sum to 1, so only K - 1 are free"),
        (_count(weights="none"), r"^The weights are missing from your count"),
        (_count(square=True), r"^You counted D \* D entries per full covariance"),
        (_count(tied=True), r"^You counted one covariance per component for 'tied'"),
        (_count(spherical=True), r"^You counted D variances per component for 'spherical'"),
        (_count(no_means=True), r"^The means are missing from your count"),
    ],
)
def test_parameter_count_mistakes_are_named(student, message):
    with pytest.raises(ExerciseFailed, match=message):
        check_n_parameters(student)


def test_parameter_counts_pass_and_the_stub_and_the_library_fail(capsys):
    check_n_parameters(n_parameters, graded=True)
    assert "on 14 test cases" in capsys.readouterr().out
    with pytest.raises(ExerciseFailed, match=not_filled_in_message("my_n_parameters")):
        check_n_parameters(my_n_parameters)

    def asks_the_estimator(n_components, n_features, covariance_type):
        model = gmm_lab.GaussianMixture(n_components, covariance_type=covariance_type)
        model.means_ = np.zeros((n_components, n_features))
        return model._n_parameters()

    with pytest.raises(ExerciseFailed, match=r"^asks_the_estimator calls the estimator's _n_parameters"):
        check_n_parameters(asks_the_estimator)


@functools.lru_cache(maxsize=None)
def _fit_score(X_bytes, n_features, k, covariance_type):
    X = np.frombuffer(X_bytes).reshape(-1, n_features)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = gmm_lab.GaussianMixture(k, covariance_type=covariance_type, init_params="kmeans", random_state=0).fit(X)
    return model.score(X) * len(X), n_parameters(k, n_features, covariance_type)


def _chooser(score):
    def student(X, ks, covariance_types):
        X = np.ascontiguousarray(X, dtype=float)
        table = {(k, t): _fit_score(X.tobytes(), X.shape[1], k, t) for k in ks for t in covariance_types}
        return min(table, key=lambda pair: score(*table[pair], len(X)))
    return student


choose_by_bic = _chooser(lambda L, p, n: -2 * L + p * np.log(n))


def my_choose_by_bic(X, ks, covariance_types):
    # YOUR CODE HERE
    raise NotImplementedError()


@pytest.mark.parametrize(
    "student, message",
    [
        (_chooser(lambda L, p, n: 2 * L - p * np.log(n)), r"^You took the model with the \*largest\* BIC; lower is better"),
        (_chooser(lambda L, p, n: -L), r"^You chose by the log-likelihood L alone"),
        (_chooser(lambda L, p, n: -2 * L + 2 * p), r"^You chose by AIC = -2 L \+ 2 p"),
        (_chooser(lambda L, p, n: L + p * np.log(n)), r"^Your BIC adds p log N to L instead of to -2 L"),
    ],
)
def test_bic_choice_mistakes_are_named(student, message):
    with pytest.raises(ExerciseFailed, match=message):
        check_choose_by_bic(student)


def test_the_bic_choice_passes_and_the_stub_fails(capsys):
    check_choose_by_bic(choose_by_bic)
    assert capsys.readouterr().out == "✓ check_choose_by_bic: your choices match the reference on 2 test cases.\n"
    with pytest.raises(ExerciseFailed, match=not_filled_in_message("my_choose_by_bic")):
        check_choose_by_bic(my_choose_by_bic)


def zero_variance_direction(X):
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(X.T))
    return eigenvectors[:, 0]


def my_zero_variance_direction(X):
    # YOUR CODE HERE
    raise NotImplementedError()


@pytest.mark.parametrize(
    "student, message",
    [
        (lambda X: np.linalg.eigh(np.cov(X.T))[1][:, -1], r"^You returned the direction of the \*largest\* variance"),
        (lambda X: np.linalg.eigh(np.cov(X.T))[1][0], r"^You took a row of the eigenvector matrix"),
        (lambda X: 3.0 * zero_variance_direction(X), r"^Your vector points the right way but has length 3"),
        (lambda X: np.ones(X.shape[1]), r"^Along your direction the data have variance"),
    ],
)
def test_zero_variance_direction_mistakes_are_named(student, message):
    with pytest.raises(ExerciseFailed, match=message):
        check_zero_variance_direction(student)


def test_the_zero_variance_direction_passes_with_either_sign(capsys):
    check_zero_variance_direction(zero_variance_direction, graded=True)
    check_zero_variance_direction(lambda X: -zero_variance_direction(X), graded=True)
    assert capsys.readouterr().out.count("on 4 test cases") == 2
    with pytest.raises(ExerciseFailed, match=not_filled_in_message("my_zero_variance_direction")):
        check_zero_variance_direction(my_zero_variance_direction)


def fix_by_projection(X):
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(X.T))
    return X @ eigenvectors[:, 1:]


def my_fix_features(X):
    # YOUR CODE HERE
    raise NotImplementedError()


@pytest.mark.parametrize(
    "student, message",
    [
        (lambda X: X + np.random.default_rng(0).normal(size=X.shape), r"^You kept all 3 features and made their covariance regular \(by adding noise or a regulariser\?\)"),
        (lambda X: (X - X.mean(axis=0)) / X.std(axis=0), r"^Your 3 features still have a direction of zero variance"),
        (lambda X: X[:, :1], r"^Your 1 features lost information"),
    ],
)
def test_fix_mistakes_are_named(student, message):
    with pytest.raises(ExerciseFailed, match=message):
        check_fix_features(student)


def test_a_hard_coded_column_drop_fails_the_hidden_case():
    drop_last = lambda X: X[:, :-1]  # noqa: E731
    check_fix_features(drop_last)  # the visible cases have the combination last
    with pytest.raises(ExerciseFailed, match=r"^Your 3 features still have a direction of zero variance.*\n\(Test case: the women's IY and AA with the features F1 \+ F2, F1, F2 and F3"):
        check_fix_features(drop_last, graded=True)


def test_the_projection_fix_passes_and_the_stub_fails(capsys):
    check_fix_features(fix_by_projection, graded=True)
    assert "EM runs with reg_covar=0" in capsys.readouterr().out
    with pytest.raises(ExerciseFailed, match=not_filled_in_message("my_fix_features")):
        check_fix_features(my_fix_features)


# ---------------------------------------------------------------------------
# lesson 5: the classifier


def class_posteriors(mixtures, log_priors, X):
    joint = np.column_stack([mixture.score_samples(X) for mixture in mixtures]) + log_priors
    return np.exp(joint - logsumexp(joint, axis=1, keepdims=True))


def my_class_posteriors(mixtures, log_priors, X):
    # YOUR CODE HERE
    raise NotImplementedError()


def _raw_posteriors(mixtures, log_priors, X):
    joint = np.column_stack([np.exp(mixture.score_samples(X)) for mixture in mixtures]) * np.exp(log_priors)
    return joint / joint.sum(axis=1, keepdims=True)


@pytest.mark.parametrize(
    "student, message",
    [
        (lambda mixtures, log_priors, X: class_posteriors(mixtures, 0.0 * log_priors, X), r"^Your posteriors ignore the priors P\(c\)"),
        (_raw_posteriors, r"^Your posteriors are nan for a token far from every vowel"),
        (lambda mixtures, log_priors, X: np.log(class_posteriors(mixtures, log_priors, X)), r"^You returned log P\(c \| x\)"),
        (lambda mixtures, log_priors, X: class_posteriors(mixtures, np.exp(log_priors), X), r"^You added the prior P\(c\) itself to the log-likelihood"),
        (lambda mixtures, log_priors, X: mixtures[0].predict_proba(X), r"^Your result has shape \(304, 3\): one column per \*component\* of a mixture"),
    ],
)
def test_posterior_mistakes_are_named(student, message):
    with pytest.raises(ExerciseFailed, match=message):
        check_class_posteriors(student)


def test_posteriors_pass_and_the_stub_and_the_classifier_fail(capsys):
    check_class_posteriors(class_posteriors, graded=True)
    assert "on 4 test cases" in capsys.readouterr().out
    with pytest.raises(ExerciseFailed, match=not_filled_in_message("my_class_posteriors")):
        check_class_posteriors(my_class_posteriors)


def _heldout(fit_on="train", score_on="test", transform=lambda accuracy: accuracy):
    def student(X, y, train, test, n_components):
        rows = {"train": train, "test": test, "all": np.ones_like(train)}
        classes = np.unique(y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mixtures = [
                gmm_lab.GaussianMixture(n_components, covariance_type="full", init_params="k-means++", random_state=0)
                .fit(X[rows[fit_on] & (y == label)]) for label in classes
            ]
        posteriors = class_posteriors(mixtures, np.log(np.full(len(classes), 1 / len(classes))), X[rows[score_on]])
        return transform(np.mean(classes[posteriors.argmax(axis=1)] == y[rows[score_on]]))
    return student


def my_heldout_accuracy(X, y, train, test, n_components):
    # YOUR CODE HERE
    raise NotImplementedError()


@pytest.mark.parametrize(
    "student, message",
    [
        (_heldout(score_on="train"), r"^You measured the accuracy on the training tokens"),
        (_heldout(fit_on="all"), r"^You fitted the mixtures on all the tokens, the test speakers' included"),
        (_heldout(fit_on="test", score_on="train"), r"^You swapped the roles"),
        (_heldout(transform=lambda accuracy: 1 - accuracy), r"^You returned the error rate"),
        (_heldout(transform=lambda accuracy: 100 * accuracy), r"^You returned a percentage"),
    ],
)
def test_heldout_accuracy_mistakes_are_named(student, message):
    with pytest.raises(ExerciseFailed, match=message):
        check_heldout_accuracy(student)


def test_heldout_accuracy_passes_and_the_stub_and_the_classifier_fail(capsys):
    check_heldout_accuracy(_heldout(), graded=True)
    assert "on 3 test cases" in capsys.readouterr().out
    with pytest.raises(ExerciseFailed, match=not_filled_in_message("my_heldout_accuracy")):
        check_heldout_accuracy(my_heldout_accuracy)

    def uses_the_classifier(X, y, train, test, n_components):
        classifier = gmm_lab.GMMClassifier(n_components, init_params="kmeans", random_state=0)
        return classifier.fit(X[train], y[train]).score(X[test], y[test])

    with pytest.raises(ExerciseFailed, match=r"^uses_the_classifier calls gmm_lab's GMMClassifier"):
        check_heldout_accuracy(uses_the_classifier)


# ---------------------------------------------------------------------------
# predict-then-run questions


@pytest.mark.parametrize(
    "question, right, wrong",
    [
        ("iy_f2_by_group", "rises", "falls"),
        ("two_vowel_split", "speakers", "vowels"),
        ("reg_covar_trend", "falls", "rises"),
    ],
)
def test_predictions_are_checked_against_the_computation(question, right, wrong, capsys):
    check_prediction(right, question)
    assert capsys.readouterr().out.startswith("✓ check_prediction: right. ")
    with pytest.raises(ExerciseFailed, match=r"^Your prediction was .*; it is "):
        check_prediction(wrong, question)
    variable = QUESTIONS[question].variable
    with pytest.raises(ExerciseFailed, match=not_filled_in_message(variable)):
        check_prediction(None, question)


def test_a_prediction_that_is_not_a_choice_says_what_the_choices_are():
    with pytest.raises(ExerciseFailed, match=r"^split_prediction should be 'vowels' or 'speakers'; it is 'formants'"):
        check_prediction("formants", "two_vowel_split")
    with pytest.raises(ExerciseFailed, match=r"^trend_prediction should be 'rises' or 'falls'; it is 'down'"):
        check_prediction("down", "reg_covar_trend")


def test_the_split_explanation_gives_the_numbers():
    with pytest.raises(ExerciseFailed) as failure:
        check_prediction("vowels", "two_vowel_split")
    assert re.search(r"agree with the vowels for \d+ % of the tokens and with the split men / women and children for \d+ %", str(failure.value))


# ---------------------------------------------------------------------------
# None, wrong types and exceptions in the new exercises: one clear message each


@pytest.mark.parametrize(
    "check, student, message",
    [
        (check_em_loop, lambda X, w, m, c, e_step, m_step, tol, max_iter: None,
         r"^<lambda> returned None: did you forget the `return` statement\? It should return four things: \(weights, means, covariances, log_likelihoods\)\.$"),
        (check_em_loop, lambda X, w, m, c, e_step, m_step, tol, max_iter: (w, m, c),
         r"^<lambda> should return four things: \(weights, means, covariances, log_likelihoods\); it returned 3 things\.$"),
        (check_n_parameters, lambda K, D, kind: "K - 1 + K D",
         r"^<lambda> should return the number of free parameters, an integer; it returned str 'K - 1 \+ K D'\.$"),
        (check_choose_by_bic, lambda X, ks, kinds: 3,
         r"^<lambda> should return two things: \(k, covariance_type\); it returned an int\.$"),
        (check_zero_variance_direction, lambda X: np.zeros(X.shape[1]),
         r"^Your direction is \[0\. 0\.\]: it must be a nonzero vector of finite numbers\."),
        (check_vowel_means, lambda X, labels, vowels: {v: X[labels == v].mean(axis=0) for v in vowels},
         r"^<lambda> should return an array of shape \(len\(vowels\), n_features\): one mean per vowel; it returned a dict"),
    ],
)
def test_wrong_returns_get_one_clear_message(check, student, message):
    with pytest.raises(ExerciseFailed, match=message):
        check(student)


def test_an_exception_in_a_new_exercise_points_at_the_students_line():
    def posteriors_with_a_typo(mixtures, log_priors, X):
        scores = [mixture.score_samples(X) for mixture in mixtures]
        return np.exp(scores - log_prior)  # noqa: F821 - the typo

    with pytest.raises(ExerciseFailed) as failure:
        check_class_posteriors(posteriors_with_a_typo)
    message = str(failure.value)
    assert message.startswith("posteriors_with_a_typo raised NameError: name 'log_prior' is not defined\n")
    assert "It happened in posteriors_with_a_typo, line" in message
    assert "`return np.exp(scores - log_prior)  # noqa: F821 - the typo`" in message
