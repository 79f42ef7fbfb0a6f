"""Smoke tests of lesson 4's figures (Agg): they draw what they are given, in the promised colours."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from gmm_lab import GaussianMixture, load_vowels, run_em, speaker_split
from gmm_lab.collapse import component_trace, run_until_error
from gmm_lab.plot_pitfalls import (
    TOKEN_COLOR,
    component_key,
    plot_collapse,
    plot_components_over_tokens,
    plot_criteria,
    plot_density,
    plot_real_and_synthetic,
)
from gmm_lab.plotting import VOWEL_COLORS, component_colors
from gmm_lab.selection import criteria_grid

pytestmark = pytest.mark.filterwarnings("ignore::gmm_lab.CollapsedComponentWarning")


@pytest.fixture(scope="module")
def fitted(data):
    return GaussianMixture(3, init_params="k-means++", random_state=0).fit(data.X)


def test_components_over_tokens_grey_tokens_and_component_colours(data):
    state = run_em(data.X, 4, init_params="k-means++", random_state=0)[-1]
    fig, ax = plt.subplots()
    artists = plot_components_over_tokens(ax, data, state, title="a run")
    assert len(artists["ellipses"]) == 4
    np.testing.assert_allclose(artists["points"].get_facecolors()[0][:3], TOKEN_COLOR)
    edges = np.array([ellipse.get_edgecolor()[:3] for ellipse in artists["ellipses"]])
    np.testing.assert_allclose(edges, component_colors(4))
    vowel_rgb = {matplotlib.colors.to_rgb(color) for color in VOWEL_COLORS.values()}
    assert not {tuple(np.round(edge, 6)) for edge in edges} & {tuple(np.round(c, 6)) for c in vowel_rgb}
    assert sorted(text.get_text() for text in artists["labels"]) == ["IH", "IY"]
    assert ax.xaxis_inverted() and ax.yaxis_inverted()  # the vowel chart
    assert len(component_key()) == 4


def test_plot_collapse_has_three_panels_and_marks_the_error():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(200, 2)) * 50 + [500, 1500], [[900.0, 900.0], [900.0, 900.0]]])
    data = load_vowels("AA")
    data = type(data)(X=X, features=("f1", "f2"), vowel_id=np.full(202, 6), vowel=np.full(202, "AA"),
                      speaker_type=np.full(202, "M"), speaker=np.arange(202), agreed=np.ones(202, bool))
    start = dict(weights_init=[0.97, 0.03], means_init=[[500.0, 1500.0], [850.0, 950.0]],
                 precisions_init=[np.eye(2) / 2500, np.eye(2) / 5000])
    states, error = run_until_error(X, 2, reg_covar=0.0, tol=0.0, **start)
    assert error is not None
    trace = component_trace(states, 1)
    fig = plot_collapse(data, states, trace, 1, iterations=range(len(states)),
                        error_iteration=len(states))
    ax_map, ax_var, ax_ll = fig.axes
    assert len(ax_map.patches) == len(states)
    assert ax_var.get_yscale() == "log"
    assert any("EM stops" in text.get_text() for text in ax_ll.get_legend().get_texts())


def test_plot_criteria_rings_each_criterion_s_best(data):
    train, test = speaker_split(data, test_size=0.25, random_state=0)
    grid = criteria_grid(data.X[train], [1, 2, 3], ["diag", "full"], X_held_out=data.X[test],
                         n_init=1, init_params="k-means++", random_state=0)
    fig = plot_criteria(grid)
    assert len(fig.axes) == 3
    for ax, name in zip(fig.axes, ["bic", "aic", "held_out"]):
        best_type, best_k = grid.best(name)
        assert f"best: {best_type}, K = {best_k}" in ax.get_title()
        assert len(ax.get_lines()) == 2


def test_plot_density_contours_and_labels(data, fitted):
    fig, ax = plt.subplots()
    artists = plot_density(ax, fitted, data, resolution=40)
    levels = artists["contours"].levels
    np.testing.assert_allclose(np.diff(levels), 0.5)
    assert artists["colorbar"] is not None and len(artists["labels"]) == 2


def test_plot_real_and_synthetic_shares_axes(data, fitted):
    synthetic, _ = fitted.sample(50)
    fig = plot_real_and_synthetic(data, synthetic)
    real_ax, fake_ax = fig.axes
    assert real_ax.get_xlim() == fake_ax.get_xlim() and real_ax.get_ylim() == fake_ax.get_ylim()
    assert "50 synthetic" in fake_ax.get_title()
