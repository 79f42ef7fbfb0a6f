"""Plot helpers and the EMView, on the Agg backend.

Positions and shapes are read back from the artists and compared with the
state's means and covariances through closed forms (an ellipse's width,
height and angle give back its covariance), never with the plotting code's
own numbers.
"""


import matplotlib

matplotlib.use("Agg")


import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse

from gmm_lab.data import load_vowels
from gmm_lab import run_em
from gmm_lab.plotting import (
    OVER_VOWELS_COLOR,
    VOWEL_COLORS,
    EMView,
    add_responsibility_key,
    component_colors,
    component_legend_handles,
    component_linestyles,
    default_iterations,
    extend_legend,
    plot_gaussians,
    plot_iterations,
    plot_log_likelihood,
    plot_responsibilities,
    plot_state,
    plot_vowel_panels,
    plot_vowel_space,
    plot_vowels,
    responsibility_colormap,
    responsibility_colors,
    vowel_color,
    vowel_marker,
)
from gmm_lab.states import EMState, History

# Paul Tol's "muted" teal and indigo, written out here, not read from the module.
IY_RGB = (0x44 / 255, 0xAA / 255, 0x99 / 255)
IH_RGB = (0x33 / 255, 0x22 / 255, 0x88 / 255)


def make_state(iteration, means, covariances, n_samples, *, log_likelihood=-1000.0,
               responsibilities=None, converged=False):
    """A hand-made EMState with known parameters."""
    means = np.asarray(means, dtype=float)
    n_components = means.shape[0]
    if responsibilities is None:
        responsibilities = np.full((n_samples, n_components), 1.0 / n_components)
    return EMState(
        iteration=iteration,
        weights=np.full(n_components, 1.0 / n_components),
        means=means,
        covariances=np.asarray(covariances, dtype=float),
        responsibilities=responsibilities,
        log_likelihood=log_likelihood,
        converged=converged,
        n_samples=n_samples,
        covariance_type="full",
    )


def rotated_covariance(major_variance, minor_variance, degrees):
    theta = np.radians(degrees)
    R = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return R @ np.diag([major_variance, minor_variance]) @ R.T


def covariance_from_ellipse(ellipse: Ellipse, n_std: float) -> np.ndarray:
    """Invert the drawing: semi-axes n_std * sigma along the angle give Sigma back."""
    theta = np.radians(ellipse.get_angle())
    R = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    sigma_major = ellipse.get_width() / (2 * n_std)
    sigma_minor = ellipse.get_height() / (2 * n_std)
    return R @ np.diag([sigma_major**2, sigma_minor**2]) @ R.T


@pytest.fixture()
def two_states(data):
    n = len(data)
    first = make_state(0, [[300.0, 2800.0], [420.0, 2000.0]],
                       [rotated_covariance(4e4, 2e3, 80.0), rotated_covariance(3e4, 5e3, 100.0)],
                       n, log_likelihood=-4200.0)
    second = make_state(1, [[280.0, 2600.0], [450.0, 2100.0]],
                        [rotated_covariance(9e4, 1e3, 60.0), np.diag([2e3, 6e4])],
                        n, log_likelihood=-4100.0)
    return [first, second]


# ---------------------------------------------------------------------------
# the view: update moves the artists in place


def test_update_moves_ellipses_to_the_state(data, two_states):
    view = EMView(data, two_states, n_std=2.0)
    view.update(two_states[1])
    state = two_states[1]
    for k, ellipse in enumerate(view.ellipses):
        np.testing.assert_allclose(ellipse.get_center(), state.means[k])
        np.testing.assert_allclose(covariance_from_ellipse(ellipse, 2.0),
                                   state.covariances[k], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(view.means.get_offsets(), state.means)


def test_update_with_another_n_std(data, two_states):
    view = EMView(data, two_states, n_std=1.0)
    view.update(two_states[0])
    for k, ellipse in enumerate(view.ellipses):
        np.testing.assert_allclose(covariance_from_ellipse(ellipse, 1.0),
                                   two_states[0].covariances[k], rtol=1e-9, atol=1e-6)
        assert ellipse.get_width() == pytest.approx(
            2 * np.sqrt(np.linalg.eigvalsh(two_states[0].covariances[k]).max()))


def test_vowel_chart_swaps_the_features(data, two_states):
    view = EMView(data, two_states, vowel_chart=True)
    view.update(two_states[1])
    state = two_states[1]
    swap = [1, 0]  # x is F2, y is F1
    for k, ellipse in enumerate(view.ellipses):
        np.testing.assert_allclose(ellipse.get_center(), state.means[k][swap])
        np.testing.assert_allclose(covariance_from_ellipse(ellipse, 2.0),
                                   state.covariances[k][np.ix_(swap, swap)],
                                   rtol=1e-9, atol=1e-6)
    assert view.ax.xaxis_inverted() and view.ax.yaxis_inverted()
    assert view.ax.get_xlabel() == "F2 (Hz)"
    assert view.ax.get_ylabel() == "F1 (Hz)"


def test_plain_axes_are_f1_across_f2_up(data, two_states):
    view = EMView(data, two_states)
    assert not view.ax.xaxis_inverted() and not view.ax.yaxis_inverted()
    assert view.ax.get_xlabel() == "F1 (Hz)"
    assert view.ax.get_ylabel() == "F2 (Hz)"
    np.testing.assert_allclose(view.points.get_offsets(), data.X)


def test_update_keeps_the_same_artists(data, two_states):
    view = EMView(data, two_states)
    before = {
        "points": view.points, "means": view.means, "curve": view.curve,
        "marker": view.marker, "title": view.title, "ellipses": list(view.ellipses),
        "legend": view.ax.get_legend(),
    }
    counts = (len(view.ax.patches), len(view.ax.collections), len(view.ax.lines),
              len(view.ax_curve.lines), len(view.figure.axes))
    for index in (1, 0, 1, 1, 0):
        view.show(index)
    assert view.points is before["points"]
    assert view.means is before["means"]
    assert view.curve is before["curve"]
    assert view.marker is before["marker"]
    assert view.title is before["title"]
    assert view.ax.get_legend() is before["legend"]
    assert all(a is b for a, b in zip(view.ellipses, before["ellipses"]))
    assert all(patch is ellipse for patch, ellipse in zip(view.ax.patches, before["ellipses"]))
    assert (len(view.ax.patches), len(view.ax.collections), len(view.ax.lines),
            len(view.ax_curve.lines), len(view.figure.axes)) == counts


def test_axis_limits_stay_fixed_and_cover_the_data(data, two_states):
    view = EMView(data, two_states)
    xlim, ylim = view.ax.get_xlim(), view.ax.get_ylim()
    assert xlim[0] < data.X[:, 0].min() and xlim[1] > data.X[:, 0].max()
    assert ylim[0] < data.X[:, 1].min() and ylim[1] > data.X[:, 1].max()
    faraway = make_state(2, [[5e4, -3e4], [0.0, 0.0]], [np.eye(2) * 1e8, np.eye(2)],
                         len(data))
    for state in (two_states[1], faraway, two_states[0]):
        view.update(state)
        view.figure.canvas.draw()
        assert view.ax.get_xlim() == xlim
        assert view.ax.get_ylim() == ylim


def test_making_a_view_renders_nothing(data, two_states):
    # The figure is rendered by whatever shows it (a notebook at the end of
    # the cell, savefig), not twice.
    figure = Figure()
    calls = []
    figure.canvas.draw = lambda *a, **k: calls.append("draw")
    figure.canvas.draw_idle = lambda *a, **k: calls.append("draw_idle")
    view = EMView(data, two_states, figure=figure)
    assert calls == []
    assert view.title.get_text() == "iteration 0"


def full_render(data, states, index, **options) -> np.ndarray:
    """The pixels of states[index] rendered from scratch by another view."""
    reference = EMView(data, states, **options)
    reference.show(index, draw=False)
    reference.figure.canvas.draw()
    pixels = np.asarray(reference.figure.canvas.buffer_rgba()).copy()
    plt.close(reference.figure)
    return pixels


def on_screen(view) -> np.ndarray:
    return np.asarray(view.figure.canvas.buffer_rgba()).copy()


@pytest.fixture(scope="module")
def run_with_a_far_start(data):
    """k-means++ starts far below the rest of the curve; one more state has
    ellipses that cross the frame of the data panel."""
    states = list(run_em(data.X, 2, random_state=0, init_params="k-means++"))[:4]
    crossing = make_state(len(states), [[5e4, -3e4], [300.0, 2500.0]],
                          [np.eye(2) * 1e8, np.eye(2) * 3e5], len(data),
                          log_likelihood=states[-1].log_likelihood + 1.0)
    return [*states, crossing]


@pytest.mark.parametrize("color_by", ["vowel", "responsibility"])
@pytest.mark.parametrize("vowel_chart", [False, True])
def test_frames_are_the_pixels_of_a_full_render(data, run_with_a_far_start, color_by,
                                                vowel_chart):
    # A frame reuses a picture of what does not move; it must still be,
    # pixel for pixel, what rendering the whole figure gives.
    states = run_with_a_far_start
    options = dict(color_by=color_by, vowel_chart=vowel_chart)
    view = EMView(data, states, **options)
    for index in (1, 4, 0, 2, 4, 3):
        view.show(index)
        np.testing.assert_array_equal(on_screen(view), full_render(data, states, index, **options))


def test_frames_show_changes_made_outside_the_view(data, two_states):
    view = EMView(data, two_states)
    view.show(1)
    # Changed between two frames...
    view.ax.set_xlabel("first formant F1 (Hz)")
    view.show(0)
    expected = EMView(data, two_states)
    expected.ax.set_xlabel("first formant F1 (Hz)")
    expected.show(0, draw=False)
    expected.figure.canvas.draw()
    np.testing.assert_array_equal(on_screen(view), on_screen(expected))
    # ... or changed and rendered by someone else (savefig).
    for figure in (view.figure, expected.figure):
        figure.axes[1].set_ylabel("L")
        figure.canvas.draw()
    view.show(1)
    expected.show(1, draw=False)
    expected.figure.canvas.draw()
    np.testing.assert_array_equal(on_screen(view), on_screen(expected))
    # A new size or resolution (a HiDPI screen).
    for figure in (view.figure, expected.figure):
        figure.set_size_inches(8.0, 4.0)
        figure.set_dpi(120)
    view.show(0)
    expected.show(0, draw=False)
    expected.figure.canvas.draw()
    np.testing.assert_array_equal(on_screen(view), on_screen(expected))


def test_log_likelihood_curve_and_marker(data, two_states):
    view = EMView(data, two_states)
    np.testing.assert_allclose(view.curve.get_xdata(), [0, 1])
    np.testing.assert_allclose(view.curve.get_ydata(), [-4200.0, -4100.0])
    view.show(1)
    assert list(view.marker.get_xdata()) == [1]
    assert list(view.marker.get_ydata()) == [-4100.0]
    assert "iteration 1" in view.title.get_text()


def test_far_off_initial_log_likelihood_does_not_flatten_the_curve(data):
    n = len(data)
    covariance = [np.eye(2) * 1e4, np.eye(2) * 1e4]
    means = [[300.0, 2500.0], [400.0, 2100.0]]
    states = [make_state(0, means, covariance, n, log_likelihood=-1.9e13)]
    states += [make_state(t, means, covariance, n, log_likelihood=-4100.0 + 10 * t)
               for t in range(1, 5)]
    view = EMView(data, states)
    low, high = view.ax_curve.get_ylim()
    assert low > -4200.0 and high < -4000.0  # scaled to iterations 1..4
    assert "far below" in view.off_scale_note.get_text()
    view.show(0)
    assert view.marker.get_ydata()[0] == pytest.approx(low)  # pinned to the edge


def test_vowel_colours_and_legend(data, two_states):
    view = EMView(data, two_states)
    colors = view.points.get_facecolors()[:, :3]
    is_iy = data.vowel_id == 1
    np.testing.assert_allclose(colors[is_iy], np.tile(IY_RGB, (is_iy.sum(), 1)))
    np.testing.assert_allclose(colors[~is_iy], np.tile(IH_RGB, ((~is_iy).sum(), 1)))
    labels = [text.get_text() for text in view.ax.get_legend().get_texts()]
    assert labels == ["IY /i/ heed", "IH /ɪ/ hid"]


def test_responsibility_colours_blend_component_colours(data, two_states):
    n = len(data)
    responsibilities = np.zeros((n, 2))
    responsibilities[: n // 3, 0] = 1.0            # sure: component 0
    responsibilities[n // 3: 2 * n // 3, 1] = 1.0  # sure: component 1
    responsibilities[2 * n // 3:] = 0.5            # undecided
    state = make_state(1, two_states[1].means, two_states[1].covariances, n,
                       responsibilities=responsibilities)
    view = EMView(data, [two_states[0], state], color_by="responsibility")
    view.show(1)
    colors = view.points.get_facecolors()[:, :3]
    c0, c1 = view.component_colors
    np.testing.assert_allclose(colors[: n // 3], np.tile(c0, (n // 3, 1)), atol=1e-12)
    np.testing.assert_allclose(colors[n // 3: 2 * n // 3],
                               np.tile(c1, (2 * n // 3 - n // 3, 1)), atol=1e-12)
    np.testing.assert_allclose(colors[2 * n // 3:],
                               np.tile((c0 + c1) / 2, (n - 2 * n // 3, 1)), atol=1e-12)
    # Each ellipse is drawn in its component's colour.
    for k, ellipse in enumerate(view.ellipses):
        np.testing.assert_allclose(ellipse.get_edgecolor()[:3], view.component_colors[k])


def test_responsibility_colors_is_the_weighted_sum():
    colors = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    blended = responsibility_colors([[1.0, 0.0], [0.25, 0.75]], colors)
    np.testing.assert_allclose(blended, [[1.0, 0.0, 0.0], [0.25, 0.0, 0.75]])


def test_view_refuses_a_state_with_another_k(data, two_states):
    view = EMView(data, two_states)
    three = make_state(0, [[1, 2], [3, 4], [5, 6]], [np.eye(2)] * 3, len(data))
    with pytest.raises(ValueError, match="made for 2 components; the state has 3"):
        view.update(three)


def test_view_refuses_data_the_run_was_not_fitted_on(two_states):
    other = load_vowels(["AA"])
    with pytest.raises(ValueError, match=r"fitted on 304 points but the data has 152"):
        EMView(other, two_states)


def test_view_of_three_features_shows_the_chosen_pair():
    data = load_vowels(["IY", "AA"], features=("f1", "f2", "f3"))
    n = len(data)
    covariance = np.array([[4e3, 1e3, 5e2], [1e3, 9e4, 2e3], [5e2, 2e3, 6e4]])
    state = make_state(0, [[300.0, 2300.0, 3000.0], [700.0, 1100.0, 2500.0]],
                       [covariance, covariance * 2], n)
    view = EMView(data, [state])  # F1 across, F2 up by default
    assert view.ax.get_xlabel() == "F1 (Hz)" and view.ax.get_ylabel() == "F2 (Hz)"
    np.testing.assert_allclose(view.ellipses[1].get_center(), [700.0, 1100.0])
    picked = EMView(data, [state], dims=(2, 0))  # F3 across, F1 up
    assert picked.ax.get_xlabel() == "F3 (Hz)" and picked.ax.get_ylabel() == "F1 (Hz)"
    np.testing.assert_allclose(picked.ellipses[0].get_center(), [3000.0, 300.0])
    np.testing.assert_allclose(covariance_from_ellipse(picked.ellipses[0], 2.0),
                               covariance[np.ix_([2, 0], [2, 0])], rtol=1e-9)


def test_view_of_a_plain_array_colours_by_responsibility(data, two_states):
    view = EMView(np.asarray(data.X), two_states)
    assert view.color_by == "responsibility"
    with pytest.raises(ValueError, match="color_by='vowel' needs"):
        EMView(np.asarray(data.X), two_states, color_by="vowel")


def test_view_of_a_real_run(data):
    history = run_em(data.X, 2, random_state=0, init_params="kmeans")
    view = EMView(data, history)
    last = history[-1]
    view.show(len(history) - 1)
    for k, ellipse in enumerate(view.ellipses):
        np.testing.assert_allclose(ellipse.get_center(), last.means[k])
        np.testing.assert_allclose(covariance_from_ellipse(ellipse, 2.0), last.covariances[k],
                                   rtol=1e-8)
    np.testing.assert_allclose(view.curve.get_ydata(), history.log_likelihoods)


# ---------------------------------------------------------------------------
# plot helpers


def test_plot_gaussians_returns_its_artists():
    fig, ax = plt.subplots()
    means = np.array([[0.0, 0.0], [5.0, 1.0]])
    covariances = np.array([np.diag([9.0, 1.0]), rotated_covariance(16.0, 4.0, 30.0)])
    artists = plot_gaussians(ax, means, covariances, n_std=2.0, linestyle="--")
    assert len(artists.ellipses) == 2
    assert list(ax.patches) == artists.ellipses
    first, second = artists.ellipses
    assert (first.get_width(), first.get_height()) == pytest.approx((12.0, 4.0))
    assert (second.get_width(), second.get_height(), second.get_angle()) == pytest.approx(
        (16.0, 8.0, 30.0))
    assert first.get_linestyle() == "--"  # **kwargs reach the patches
    np.testing.assert_allclose(artists.means.get_offsets(), means)


def test_plot_gaussians_on_the_current_axes_and_with_dims():
    fig, ax = plt.subplots()
    covariance = np.array([[4.0, 1.0, 0.0], [1.0, 9.0, 0.0], [0.0, 0.0, 1.0]])
    artists = plot_gaussians(None, [[1.0, 2.0, 3.0]], [covariance], dims=(1, 0),
                             show_means=False)
    assert artists.means is None
    assert artists.ellipses[0].axes is ax
    np.testing.assert_allclose(artists.ellipses[0].get_center(), [2.0, 1.0])
    np.testing.assert_allclose(covariance_from_ellipse(artists.ellipses[0], 2.0),
                               [[9.0, 1.0], [1.0, 4.0]])


def test_plot_vowels_chart_means_and_legend(data):
    fig, ax = plt.subplots()
    artists = plot_vowels(ax, data, vowel_chart=True, show_means=True)
    assert ax.xaxis_inverted() and ax.yaxis_inverted()
    np.testing.assert_allclose(artists.points.get_offsets(), data.X[:, [1, 0]])
    iy_mean = data.X[data.vowel_id == 1].mean(axis=0)[[1, 0]]
    np.testing.assert_allclose(artists.means.get_offsets()[0], iy_mean)
    assert [label.get_text() for label in artists.mean_labels] == ["IY", "IH"]
    assert [t.get_text() for t in artists.legend.get_texts()] == ["IY /i/ heed", "IH /ɪ/ hid"]


def test_plot_log_likelihood_and_responsibilities():
    fig, (left, right) = plt.subplots(1, 2)
    line, marker = plot_log_likelihood(left, [-10.0, -5.0, -4.0], current=2)
    np.testing.assert_allclose(line.get_ydata(), [-10.0, -5.0, -4.0])
    assert list(marker.get_xdata()) == [2] and list(marker.get_ydata()) == [-4.0]
    points = plot_responsibilities(right, [[0.0, 0.0], [1.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]],
                                   colors=[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    np.testing.assert_allclose(points.get_facecolors()[:, :3], [[1, 0, 0], [0, 1, 0]])


def test_plot_state_draws_one_state(data, two_states):
    fig, ax = plt.subplots()
    artists = plot_state(ax, data, two_states[1])
    np.testing.assert_allclose(artists["ellipses"][0].get_center(), two_states[1].means[0])
    assert artists["title"].get_text().startswith("iteration 1")


def test_component_colours_are_distinct():
    for k in (1, 2, 8, 10, 20):
        colors = component_colors(k)
        assert colors.shape == (k, 3)
        assert len({tuple(c) for c in colors}) == k


def test_default_iterations():
    assert default_iterations(1) == [0]
    assert default_iterations(3) == [0, 1, 2]
    assert default_iterations(13) == [0, 1, 2, 5, 12]


def test_plot_iterations_small_multiples(data, tmp_path):
    history = run_em(data.X, 2, random_state=0, init_params="kmeans")
    figure = plot_iterations(history, data)
    assert isinstance(figure, Figure)
    last = len(history) - 1
    titles = [ax.get_title() for ax in figure.axes if ax.get_visible()]
    expected = [f"iteration {t}" for t in default_iterations(len(history))]
    assert [title.split("   ")[0] for title in titles[:-1]] == expected
    assert f"iteration {last}" in titles[-2]
    figure.savefig(tmp_path / "multiples.png")
    assert (tmp_path / "multiples.png").stat().st_size > 10_000


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_plot_iterations_rejects_missing_iterations(data):
    history = run_em(data.X, 2, random_state=0, init_params="kmeans", max_iter=3)
    with pytest.raises(ValueError, match=r"iterations \[7\] are not in this run"):
        plot_iterations(history, data, iterations=[0, 7])


def test_every_plot_renders_on_agg(data, tmp_path):
    history = run_em(data.X, 2, random_state=0)
    for vowel_chart in (False, True):
        for color_by in ("vowel", "responsibility", "none"):
            view = EMView(data, history, vowel_chart=vowel_chart, color_by=color_by)
            view.show(len(history) - 1)
            view.figure.savefig(tmp_path / f"view_{vowel_chart}_{color_by}.png")
    assert len(list(tmp_path.glob("*.png"))) == 6
    h = History(states=[history[0]], X=history.X)  # a run of one state
    EMView(data, h).figure.savefig(tmp_path / "one_state.png")


# ---------------------------------------------------------------------------
# colours, markers and keys: one colour meaning per axes, readable without colour


def _simulate(rgb, matrix):
    """sRGB seen through a colour-vision-deficiency matrix (Machado et al. 2009, severity 1)."""
    rgb = np.asarray(rgb, dtype=float)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    seen = np.clip(linear @ np.asarray(matrix).T, 0.0, 1.0)
    return np.where(seen <= 0.0031308, 12.92 * seen, 1.055 * seen ** (1 / 2.4) - 0.055)


def _lab(rgb):
    """CIELAB (D65) of sRGB colours, shape (n, 3) -> (n, 3)."""
    rgb = np.asarray(rgb, dtype=float)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                             [0.0193, 0.1192, 0.9505]]).T / [0.9505, 1.0, 1.089]
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]),
                     200 * (f[:, 1] - f[:, 2])], axis=1)


MACHADO = {
    "normal": np.eye(3),
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
}
LABELS = ["IY", "IH", "EH", "AE", "AH", "AA", "AO", "UH", "UW", "ER"]


@pytest.mark.parametrize("vision", sorted(MACHADO))
def test_vowel_colours_stay_apart_under_colour_blindness(vision):
    colors = np.array([vowel_color(label) for label in LABELS])
    lab = _lab(_simulate(colors, MACHADO[vision]))
    distance = np.linalg.norm(lab[:, None] - lab[None], axis=-1)
    np.fill_diagonal(distance, np.inf)
    # Every pair is distinct (CIELAB 76 distance > 15; about 2.3 is "just noticeable") ...
    assert distance.min() > 15, vision
    # ... and the vowels whose F1/F2 clouds overlap differ much more.
    for a, b in [("IY", "IH"), ("IH", "EH"), ("EH", "AE"), ("AH", "AA"), ("AA", "AO"),
                 ("AH", "AO"), ("UH", "UW"), ("UH", "ER"), ("EH", "ER"), ("AE", "AA")]:
        assert distance[LABELS.index(a), LABELS.index(b)] > 35, (vision, a, b)


def test_each_vowel_has_its_own_colour_and_marker():
    assert len({vowel_color(label) for label in LABELS}) == 10
    markers = [vowel_marker(label) for label in LABELS]
    assert len(set(markers)) == 10
    assert "X" not in markers  # the mark of a component's mean
    assert vowel_color(1) == vowel_color("IY") and vowel_marker(10) == vowel_marker("ER")
    assert set(VOWEL_COLORS) == set(LABELS)


@pytest.mark.parametrize("n_components", [1, 2, 3, 5, 8, 10, 20])
def test_no_component_colour_is_a_vowel_colour(n_components):
    vowels = np.array([vowel_color(label) for label in LABELS])
    components = component_colors(n_components)
    distance = np.linalg.norm(components[:, None] - vowels[None], axis=-1)
    assert distance.min() > 0.05
    assert len({tuple(c) for c in components}) == n_components
    neutral = np.linalg.norm(vowels - np.array(OVER_VOWELS_COLOR), axis=1)
    assert neutral.min() > 0.2  # the ellipses drawn over vowel colours are no vowel's


def test_two_component_blend_is_a_grey_in_the_middle():
    c0, c1 = component_colors(2)
    np.testing.assert_allclose((c0 + c1) / 2, [0.5, 0.5, 0.5], atol=1e-12)
    # The colour map of gamma_n1 is the blend: 0 -> c0, 1 -> c1, 0.5 -> grey.
    cmap = responsibility_colormap()
    np.testing.assert_allclose(cmap(0.0)[:3], c0, atol=1e-12)
    np.testing.assert_allclose(cmap(1.0)[:3], c1, atol=1e-12)
    np.testing.assert_allclose(cmap(0.5)[:3], [0.5, 0.5, 0.5], atol=2 / 255)


def test_plot_vowels_draws_each_vowel_with_its_marker(data):
    fig, ax = plt.subplots()
    artists = plot_vowels(ax, data, show_means=True)
    paths = artists.points.get_paths()
    assert len(paths) == len(data)
    square = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])
    first_ih = int(np.flatnonzero(data.vowel_id == 2)[0])  # IH is a square
    np.testing.assert_allclose(paths[first_ih].vertices[:4], square)
    assert [h.get_marker() for h in artists.legend.legend_handles] == ["o", "s"]
    # The mean labels have a white halo.
    assert artists.mean_labels[0].get_path_effects()
    # A marker passed by the caller is used for every token.
    fig, ax = plt.subplots()
    plain = plot_vowels(ax, data, marker="o")
    assert len(plain.points.get_paths()) == 1


def test_plot_state_over_vowels_draws_neutral_ellipses_with_a_key(data, two_states):
    fig, ax = plt.subplots()
    artists = plot_state(ax, data, two_states[1])
    for k, ellipse in enumerate(artists["ellipses"]):
        np.testing.assert_allclose(ellipse.get_edgecolor()[:3], OVER_VOWELS_COLOR)
    styles = [ellipse.get_linestyle() for ellipse in artists["ellipses"]]
    assert styles == ["-", "--"]
    labels = [text.get_text() for text in artists["legend"].get_texts()]
    assert labels == ["IY /i/ heed", "IH /ɪ/ hid", "2-sigma ellipse of component 0",
                      "2-sigma ellipse of component 1"]


def test_plot_state_by_responsibility_has_a_colour_bar(data, two_states):
    n = len(data)
    responsibilities = np.zeros((n, 2))
    responsibilities[:, 1] = np.linspace(0.0, 1.0, n)
    responsibilities[:, 0] = 1.0 - responsibilities[:, 1]
    state = make_state(1, two_states[1].means, two_states[1].covariances, n,
                       responsibilities=responsibilities)
    fig, ax = plt.subplots()
    artists = plot_state(ax, data, state, color_by="responsibility")
    colorbar = artists["key"]
    assert [t.get_text() for t in colorbar.ax.get_yticklabels()] == [
        "0: component 0", "0.5: undecided", "1: component 1"]
    # The points' colours are the blend responsibility_colors makes.
    np.testing.assert_allclose(artists["points"].get_facecolors()[:, :3],
                               responsibility_colors(responsibilities, component_colors(2)),
                               atol=2 / 255)
    for k, ellipse in enumerate(artists["ellipses"]):
        np.testing.assert_allclose(ellipse.get_edgecolor()[:3], component_colors(2)[k])


def test_more_than_two_components_colour_by_the_surest_and_size_by_certainty():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    responsibilities = np.array([[1.0, 0.0, 0.0], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
    fig, ax = plt.subplots()
    points = plot_responsibilities(ax, X, responsibilities, s=20, key=True)
    colors = component_colors(3)
    np.testing.assert_allclose(points.get_facecolors()[:, :3], colors[[0, 1, 2]])
    np.testing.assert_allclose(points.get_sizes(), 20 * np.array([1.0, 0.5, 0.8]) ** 2)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:3] == ["component 0", "component 1", "component 2"]


def test_component_legend_handles():
    neutral = component_legend_handles(3, over_vowels=True)
    assert [h.get_linestyle() for h in neutral] == component_linestyles(3) == ["-", "--", "-."]
    assert neutral[2].get_label() == "2-sigma ellipse of component 2"
    many = component_legend_handles(10, n_std=1.5, over_vowels=True)
    assert [h.get_label() for h in many] == ["1.5-sigma ellipses of the 10 components"]
    coloured = component_legend_handles(2, over_vowels=False)
    np.testing.assert_allclose(coloured[1].get_color(), component_colors(2)[1])


@pytest.mark.parametrize("color_by, n_components", [("vowel", 2), ("responsibility", 2),
                                                     ("responsibility", 3), ("none", 2)])
def test_plot_iterations_has_one_key(data, color_by, n_components, tmp_path):
    history = run_em(data.X, n_components, random_state=0, init_params="kmeans")
    figure = plot_iterations(history, data, iterations=[0, -1], color_by=color_by)
    (legend,) = figure.legends
    labels = [t.get_text() for t in legend.get_texts()]
    if color_by == "responsibility" and n_components == 3:
        assert labels[0] == "component 0: its tokens, 2-sigma ellipse"
    else:
        assert "2-sigma ellipse of component 1" in labels
    has_bar = any(ax.get_label() == "<colorbar>" for ax in figure.axes)
    assert has_bar == (color_by == "responsibility" and n_components == 2)
    figure.savefig(tmp_path / "key.png")


def test_add_responsibility_key_shares_one_bar_between_panels():
    fig, axes = plt.subplots(1, 2)
    colorbar = add_responsibility_key(axes[0], 2, axes=list(axes))
    assert colorbar.ax.get_ylabel().startswith("responsibility of component 1")


def test_plot_vowel_space_joins_the_edge_vowels_means():
    data = load_vowels(speakers="M")
    fig, ax = plt.subplots()
    line = plot_vowel_space(ax, data, vowel_chart=True)
    order = ["IY", "IH", "EH", "AE", "AA", "AO", "UW", "IY"]
    expected = [data.X[data.vowel == label].mean(axis=0)[[1, 0]] for label in order]
    np.testing.assert_allclose(np.column_stack(line.get_data()), expected)
    with pytest.raises(ValueError, match="at least two of the edge vowels"):
        plot_vowel_space(ax, load_vowels(["AH", "ER"]))


def test_plot_vowel_panels_shares_axes_and_labels_once(tmp_path):
    panels = {"men": load_vowels(speakers="M"), "children": load_vowels(speakers="C")}
    figure = plot_vowel_panels(panels, mean_label_offsets={"ER": (-20, 4)}, title="groups")
    left, right = figure.axes
    assert left.get_ylabel() == "F1 (Hz)" and right.get_ylabel() == ""
    assert left.get_ylim() == right.get_ylim() and left.yaxis_inverted()
    assert [ax.get_title() for ax in figure.axes] == ["men: 660 tokens", "children: 300 tokens"]
    assert len(left.get_lines()) == 2  # both groups' outlines in every panel
    er = [t for t in left.texts if t.get_text() == "ER"][0]
    assert er.xyann == (-20, 4)
    labels = [t.get_text() for t in figure.legends[0].get_texts()]
    assert labels[-2:] == ["vowel space of men", "vowel space of children"]
    figure.savefig(tmp_path / "panels.png")


def test_extend_legend_keeps_the_vowels(data):
    fig, ax = plt.subplots()
    plot_vowels(ax, data)
    legend = extend_legend(ax, [Line2D([], [], color="k", label="2-sigma ellipse")])
    assert [t.get_text() for t in legend.get_texts()] == ["IY /i/ heed", "IH /ɪ/ hid",
                                                           "2-sigma ellipse"]
    assert [h.get_marker() for h in legend.legend_handles[:2]] == ["o", "s"]
