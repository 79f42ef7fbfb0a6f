"""The exercise checkers: right answers pass, typical mistakes are named.

Each "student" below is a small function written the way a student would
write it, right or with one typical mistake. The right ones are written
independently of gmm_lab (scipy, Cholesky by hand, np.cov), so a pass shows
that the checker agrees with an independent implementation, not with itself.
"""

import re

import numpy as np
import pytest
import scipy.linalg
import sklearn.mixture

import gmm_lab
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.preprocessing import normalize

from gmm_lab.exercises import (
    ExerciseFailed,
    check_log_density,
    check_m_step,
    check_responsibilities,
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
        (shifted_by_the_row_minimum, r"^Your responsibilities are nan where one component is far more likely than another: you subtracted each row's smallest term, m_n = min_k a_nk"),
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
