"""Figures that compare EM runs: two optima against the labels, and the bound's gains.

Built on :mod:`gmm_lab.plotting` (points, ellipses, axes); these functions
only arrange panels and keys. They never fit a model.

- :func:`plot_optima` puts fits side by side, each beside the labelling it
  follows (Bishop PRML Fig. 9.5: the complete data coloured by label, and
  the same tokens coloured by responsibility).
- :func:`plot_bound_gains` splits each iteration's change of L(theta) into
  what the M-step added to the lower bound and what the E-step added by
  closing the gap (the KL divergence), from :func:`gmm_lab.theory.lower_bound_trace`.
"""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from gmm_lab.ellipses import mass_within
from gmm_lab.plotting import component_colors, format_axes, plot_gaussians, plot_state, plot_vowels

__all__ = ["GROUP_STYLES", "plot_groups", "responsibility_key", "plot_optima", "plot_bound_gains",
           "plot_radii"]

#: Speaker groups in neutral greys and their own markers, so that a speaker
#: colouring is never read as a vowel or a component colour.
GROUP_STYLES = {
    "men": dict(color="0.1", marker="^"),
    "women and children": dict(color="0.62", marker="o"),
}


def plot_groups(ax, data, *, s=12, alpha=0.7):
    """Scatter the tokens by speaker group: men against women and children.

    Parameters
    ----------
    ax : matplotlib Axes
    data : VowelData
        Tokens with ``speaker_type`` 'M', 'W' or 'C'.
    s, alpha : float
        Marker area and opacity.

    Returns
    -------
    matplotlib.legend.Legend
        The legend of the two groups (inside the axes, upper right).
    """
    x_dim, y_dim = format_axes(ax, data.features)
    is_man = np.asarray(data.speaker_type) == "M"
    for name, selection in (("women and children", ~is_man), ("men", is_man)):
        style = GROUP_STYLES[name]
        ax.scatter(data.X[selection, x_dim], data.X[selection, y_dim], s=s, alpha=alpha,
                   linewidths=0, color=style["color"], marker=style["marker"], label=name)
    return ax.legend(loc="upper right", fontsize=8, frameon=True, markerscale=1.4)


def responsibility_key(figure, axes, colors=None):
    """A colour bar saying what the two-component responsibility colours mean.

    Point n is drawn in the blend (1 - gamma_n1) colors[0] + gamma_n1 colors[1]
    (:func:`gmm_lab.plotting.responsibility_colors`); the bar shows that
    straight line of colours from gamma_n1 = 0 to 1.

    Parameters
    ----------
    figure : matplotlib Figure
    axes : Axes or list of Axes
        The panels the bar takes its room from.
    colors : array-like of shape (2, 3), optional
        Default :func:`gmm_lab.plotting.component_colors` (2).

    Returns
    -------
    matplotlib.colorbar.Colorbar
    """
    colors = component_colors(2) if colors is None else np.asarray(colors, dtype=float)
    cmap = matplotlib.colors.LinearSegmentedColormap.from_list(
        "gamma", [tuple(colors[0][:3]), tuple(colors[1][:3])])
    mappable = matplotlib.cm.ScalarMappable(norm=matplotlib.colors.Normalize(0, 1), cmap=cmap)
    bar = figure.colorbar(mappable, ax=axes, ticks=[0, 0.5, 1], fraction=0.04, pad=0.02, shrink=0.8)
    bar.ax.set_yticklabels(["0: component 0", "0.5: either", "1: component 1"], fontsize=8)
    bar.set_label(r"responsibility of component 1, $\gamma_{n1}$", fontsize=9)
    return bar


def plot_optima(data, states, labelled_by, titles, *, panel_size=(4.2, 3.4)) -> Figure:
    """Fits side by side, each row: tokens by a labelling | the fit's responsibilities.

    Parameters
    ----------
    data : VowelData
        The tokens the fits were made on.
    states : sequence of EMState
        One fitted state per row (two components, responsibilities kept).
    labelled_by : sequence of {'vowel', 'speaker group'}
        The labelling drawn in the left panel of each row.
    titles : sequence of str
        Title of each row's right panel (say which start and which L).
    panel_size : (float, float)
        Inches per panel.

    Returns
    -------
    matplotlib.figure.Figure
        Not registered with pyplot; the right column shares one colour key.
    """
    n_rows = len(states)
    figure = Figure(figsize=(2 * panel_size[0] + 1.4, panel_size[1] * n_rows), layout="constrained")
    axes = figure.subplots(n_rows, 2, squeeze=False, sharex=True, sharey=True)
    for (left, right), state, labelling, title in zip(axes, states, labelled_by, titles):
        if labelling == "vowel":
            # plot_vowels' own legend entries (colour and marker), moved inside.
            handles = plot_vowels(left, data, s=12, alpha=0.7).legend.legend_handles
            left.legend(handles=handles, loc="upper right", fontsize=8)
            left.set_title("tokens by vowel (the labels EM never sees)", fontsize=10)
        elif labelling == "speaker group":
            plot_groups(left, data)
            left.set_title("tokens by speaker group (EM never sees it)", fontsize=10)
        else:
            raise ValueError(f"labelled_by must be 'vowel' or 'speaker group'; got {labelling!r}.")
        plot_state(right, data, state, color_by="responsibility", legend=False, title=False)
        right.set_title(title, fontsize=10)
    responsibility_key(figure, list(axes[:, 1]))
    figure.suptitle("left: tokens by a labelling; right: the fit's 2-sigma ellipses and means (X), "
                    "tokens coloured by responsibility", fontsize=10)
    return figure


def plot_bound_gains(ax, trace, *, first: int = 1, title=None):
    """Bars: each iteration's change of L, split into the M-step's and the E-step's part.

    L(theta_t) - L(theta_{t-1}) = [ELBO(gamma_{t-1}, theta_t) - L(theta_{t-1})]  (M-step)
                                 + KL(gamma_{t-1} || p(z | X, theta_t))          (E-step)

    A dark bar below zero is an M-step that lowered the bound (not exact EM);
    a black dot below zero an iteration in which L fell.

    Parameters
    ----------
    ax : matplotlib Axes
    trace : gmm_lab.theory.BoundTrace
    first : int, default=1
        First iteration shown (the first steps from a poor start can be
        thousands of nats and flatten the rest).
    title : str, optional

    Returns
    -------
    (BarContainer, BarContainer, Line2D)
        The M-step bars, the E-step (KL) bars stacked on them, and the dots
        of the change of L.
    """
    iterations = np.arange(1, trace.log_likelihood.shape[0])[first - 1:]
    m_gain = trace.m_step_gain[first - 1:]
    kl = trace.kl[first - 1:]
    m_bars = ax.bar(iterations, m_gain, color="0.3", width=0.8,
                    label=r"M-step: ELBO$(\gamma_{t-1},\theta_t) - L(\theta_{t-1})$")
    # The KL bar sits on top of a positive M-step gain, or starts at 0.
    e_bars = ax.bar(iterations, kl, bottom=np.maximum(m_gain, 0), color="0.75", width=0.8,
                    label=r"E-step: KL$(\gamma_{t-1}\,\|\,p(z\mid x,\theta_t))$")
    (change,) = ax.plot(iterations, m_gain + kl, "o", color="black", markersize=3,
                        label=r"change of $L$: $L(\theta_t) - L(\theta_{t-1})$")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xlabel("iteration t")
    ax.set_ylabel("gain (nats)")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.legend(fontsize=8, loc="upper right")
    if title is not None:
        ax.set_title(title, fontsize=10)
    return m_bars, e_bars, change


def plot_radii(ax, data, state, radii, labels, *, color=(0.15, 0.15, 0.15)):
    """Tokens in vowel colours and each component's ellipses at several Mahalanobis radii.

    The ellipses are in one neutral colour (no colour means both a vowel and
    a component), the first radius solid, the others dashed and dotted; the
    vowel key and the ellipse key sit outside the axes on the right.

    Parameters
    ----------
    ax : matplotlib Axes
    data : VowelData
    state : EMState
        The fit whose components are drawn.
    radii : sequence of float
        Mahalanobis radii (n_std), e.g. (2, sqrt(2)).
    labels : sequence of str
        Legend text of each radius; the mass inside (:func:`gmm_lab.ellipses.mass_within`)
        is appended.
    color : colour, default dark grey

    Returns
    -------
    list of GaussianArtists
        One per radius.
    """
    vowel_key = plot_vowels(ax, data, s=8, alpha=0.5).legend
    colors = np.tile(matplotlib.colors.to_rgb(color), (state.n_components, 1))
    drawn = []
    for index, n_std in enumerate(radii):
        drawn.append(plot_gaussians(ax, state.means, state.covariances, n_std=n_std, colors=colors,
                                    linestyle=("-", "--", ":")[index % 3], show_means=index == 0))
    ax.add_artist(vowel_key)
    ax.legend([artists.ellipses[0] for artists in drawn],
              [f"{label}: {100 * mass_within(n_std):.1f} % of the mass" for label, n_std in zip(labels, radii)],
              loc="lower left", bbox_to_anchor=(1.01, 0.0), borderaxespad=0.0, frameon=False, fontsize=9)
    return drawn
