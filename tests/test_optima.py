"""gmm_lab.optima: agreement with labels and the standardised fit, against independent references."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from gmm_lab import run_em
from gmm_lab.optima import final_states, label_agreement, standardise, to_original_units, which_split


def test_agreement_ignores_component_numbering():
    reference = np.array(["IY", "IY", "IH", "IH", "IH"])
    assert label_agreement([0, 0, 1, 1, 1], reference) == 1.0
    assert label_agreement([1, 1, 0, 0, 0], reference) == 1.0
    assert label_agreement([1, 0, 0, 0, 0], reference) == pytest.approx(0.8)


def test_agreement_against_a_confusion_count():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=200)
    reference = rng.integers(0, 3, size=200)
    # Brute force over the 6 relabellings of the components.
    best = max(np.mean(np.array(perm)[labels] == reference)
               for perm in [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)])
    assert label_agreement(labels, reference) == pytest.approx(best)


def test_agreement_with_more_components_than_classes():
    assert label_agreement([0, 1, 2, 2], [True, True, False, False]) == pytest.approx(0.75)


def test_agreement_checks_shapes():
    with pytest.raises(ValueError, match="same length"):
        label_agreement([0, 1], [0, 1, 1])


def test_standardise_has_zero_mean_unit_std(iy_ih_X):
    result = standardise(iy_ih_X)
    assert np.allclose(result.X.mean(axis=0), 0, atol=1e-12)
    assert np.allclose(result.X.std(axis=0), 1)
    assert np.allclose(result.mean + result.scale * result.X, iy_ih_X)


def test_fit_in_standard_units_read_back_in_hz(iy_ih_X):
    result = standardise(iy_ih_X)
    state = run_em(result.X, 2, init_params="kmeans", random_state=0)[-1]
    means, covariances, log_likelihood = to_original_units(
        state.means, state.covariances, state.log_likelihood, result)
    density = sum(w * multivariate_normal(m, c).pdf(iy_ih_X)
                  for w, m, c in zip(state.weights, means, covariances))
    assert log_likelihood == pytest.approx(np.log(density).sum(), rel=1e-12)


def test_which_split_names_the_first_labelling_followed():
    vowel = np.array(["IY"] * 4 + ["IH"] * 4)
    men = np.array([True, False] * 4)
    references = {"vowel": vowel, "speaker": men}
    assert which_split([0, 0, 0, 0, 1, 1, 1, 1], references) == "vowel"
    assert which_split([1, 0, 1, 0, 1, 0, 1, 0], references) == "speaker"
    assert which_split([0, 0, 1, 1, 0, 0, 1, 1], references) == "other"


def test_final_states_are_the_last_states_of_run_em(iy_ih_X):
    options = dict(covariance_type="full", init_params="kmeans", tol=1e-4)
    states = final_states(iy_ih_X, 2, [0, 3], **options)
    for seed, state in zip([0, 3], states):
        expected = run_em(iy_ih_X, 2, random_state=seed, **options)[-1]
        assert state.log_likelihood == expected.log_likelihood
        assert np.array_equal(state.means, expected.means)
