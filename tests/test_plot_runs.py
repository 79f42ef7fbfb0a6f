"""Smoke tests of gmm_lab.plot_runs on the Agg backend, and that its key tells the truth."""

import matplotlib
import numpy as np
import pytest

from gmm_lab import run_em
from gmm_lab.plot_runs import plot_bound_gains, plot_groups, plot_optima, plot_radii, responsibility_key
from gmm_lab.plotting import component_colors, responsibility_colors
from gmm_lab.theory import lower_bound_trace


@pytest.fixture(scope="module")
def history(iy_ih_X):
    return run_em(iy_ih_X, 2, init_params="kmeans", random_state=0)


def test_plot_optima_draws_both_rows_and_one_key(data, history):
    figure = plot_optima(data, [history[-1], history[-1]], ["speaker group", "vowel"], ["a", "b"])
    panels = [ax for ax in figure.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 4 and len(figure.axes) == 5
    assert [ax.get_title() for ax in panels[1::2]] == ["a", "b"]
    with pytest.raises(ValueError, match="labelled_by"):
        plot_optima(data, [history[-1]], ["speaker"], ["a"])


def test_plot_groups_counts_the_men(data):
    figure = matplotlib.figure.Figure()
    ax = figure.subplots()
    legend = plot_groups(ax, data)
    sizes = {c.get_label(): len(c.get_offsets()) for c in ax.collections}
    assert sizes["men"] == np.sum(data.speaker_type == "M") and sum(sizes.values()) == len(data)
    assert [t.get_text() for t in legend.get_texts()] == ["women and children", "men"]


def test_responsibility_key_matches_the_point_colours():
    figure = matplotlib.figure.Figure()
    ax = figure.subplots()
    bar = responsibility_key(figure, ax)
    colors = component_colors(2)
    for gamma in (0.0, 0.3, 1.0):
        blended = responsibility_colors([[1 - gamma, gamma]], colors)[0]
        assert np.allclose(bar.cmap(gamma)[:3], blended, atol=1e-2)


def test_plot_bound_gains_bars_are_the_trace(history):
    trace = lower_bound_trace(history)
    figure = matplotlib.figure.Figure()
    m_bars, e_bars, change = plot_bound_gains(figure.subplots(), trace, title="t")
    assert np.allclose([b.get_height() for b in m_bars], trace.m_step_gain)
    assert np.allclose([b.get_height() for b in e_bars], trace.kl)
    assert np.allclose(change.get_ydata(), np.diff(trace.log_likelihood))
    m_bars, _, change = plot_bound_gains(figure.subplots(), trace, first=3)
    assert len(m_bars) == len(trace.kl) - 2 and list(change.get_xdata())[0] == 3


def test_plot_radii_draws_each_radius_with_both_keys(data, history):
    figure = matplotlib.figure.Figure()
    ax = figure.subplots()
    drawn = plot_radii(ax, data, history[-1], [2.0, np.sqrt(2)], ["2-sigma", "sqrt(2)-sigma"])
    assert [len(artists.ellipses) for artists in drawn] == [2, 2]
    widths = [artists.ellipses[0].width for artists in drawn]
    assert widths[0] / widths[1] == pytest.approx(np.sqrt(2))
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["2-sigma: 86.5 % of the mass", "sqrt(2)-sigma: 63.2 % of the mass"]
    assert sum(isinstance(a, matplotlib.legend.Legend) for a in ax.artists) == 1   # the vowel key
