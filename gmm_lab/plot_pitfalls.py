"""Figures of lesson 4 (what can go wrong): optima, a collapse, model selection, the density.

Plot helpers in the style of :mod:`gmm_lab.plotting`: they draw what they
are given (fitted states, a :class:`~gmm_lab.selection.CriteriaGrid`, a
fitted model's density), never fit anything, take keyword arguments and
return the artists or the figure they made. Tokens are drawn in grey
wherever mixture components are drawn in colour, so a colour always means
a component and never a vowel.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patheffects import withStroke

from .data import VowelData, vowel_info
from .ellipses import ellipse_boundary
from .plotting import component_colors, format_axes, plot_gaussians
from .selection import CriteriaGrid, log_density_grid

__all__ = [
    "TOKEN_COLOR",
    "plot_grey_tokens",
    "label_vowel_means",
    "plot_components_over_tokens",
    "component_key",
    "plot_collapse",
    "plot_criteria",
    "plot_density",
    "plot_real_and_synthetic",
]

TOKEN_COLOR = (0.62, 0.62, 0.62)
# Covariance types in the criteria figure: colour, marker and line style, so
# each line is told apart without colour too.
_TYPE_STYLES = {
    "spherical": dict(color="#0072B2", marker="o", linestyle=":"),
    "tied": dict(color="#E69F00", marker="s", linestyle="-."),
    "diag": dict(color="#009E73", marker="^", linestyle="--"),
    "full": dict(color="#000000", marker="D", linestyle="-"),
}
_HALO = [withStroke(linewidth=3, foreground="white")]


def _limits(points, margin=0.06):
    low, high = points.min(axis=0), points.max(axis=0)
    pad = margin * (high - low)
    return np.column_stack([low - pad, high + pad])  # rows x, y; columns low, high


def _set_limits(ax, points, vowel_chart):
    (x_low, x_high), (y_low, y_high) = _limits(points)
    ax.set_xlim((x_high, x_low) if vowel_chart else (x_low, x_high))
    ax.set_ylim((y_high, y_low) if vowel_chart else (y_low, y_high))


def plot_grey_tokens(ax, data, *, features=("f1", "f2"), vowel_chart=True, **kwargs):
    """Scatter tokens in one neutral grey on formatted formant axes.

    Parameters
    ----------
    ax : matplotlib Axes or None
    data : VowelData or array-like of shape (n_samples, 2)
    features : (str, str), default=('f1', 'f2')
        Column names when ``data`` is an array.
    vowel_chart : bool, default=True
        F2 across decreasing, F1 down.
    **kwargs
        Passed to ``ax.scatter``.

    Returns
    -------
    points : PathCollection
    dims : (int, int)
        The columns of X on x and y.
    """
    ax = plt.gca() if ax is None else ax
    X = data.X if isinstance(data, VowelData) else np.asarray(data, dtype=float)
    features = data.features if isinstance(data, VowelData) else features
    dims = format_axes(ax, features, vowel_chart=vowel_chart)
    kwargs.setdefault("s", 8)
    kwargs.setdefault("alpha", 0.6)
    kwargs.setdefault("linewidths", 0)
    kwargs.setdefault("color", TOKEN_COLOR)
    points = ax.scatter(X[:, dims[0]], X[:, dims[1]], **kwargs)
    _set_limits(ax, X[:, list(dims)], vowel_chart)
    return points, dims


def label_vowel_means(ax, data: VowelData, dims, **kwargs) -> list:
    """Write each vowel's label ('IY', ...) at its mean, in black with a white halo.

    Returns
    -------
    list of Text
    """
    kwargs.setdefault("fontsize", 10)
    kwargs.setdefault("fontweight", "bold")
    kwargs.setdefault("ha", "center")
    kwargs.setdefault("va", "center")
    kwargs.setdefault("zorder", 5)
    texts = []
    for vowel_id in np.unique(data.vowel_id):
        centre = data.X[data.vowel_id == vowel_id][:, list(dims)].mean(axis=0)
        texts.append(ax.text(*centre, vowel_info(int(vowel_id)).label, path_effects=_HALO, **kwargs))
    return texts


def plot_components_over_tokens(ax, data: VowelData, state, *, n_std=2.0, vowel_chart=True,
                                title=None) -> dict:
    """Grey tokens, vowel labels at the vowel means, and each component's ellipse in colour.

    Parameters
    ----------
    ax : matplotlib Axes or None
    data : VowelData
    state : EMState or anything with ``means`` and ``covariances``
    n_std : float, default=2.0
    vowel_chart : bool, default=True
    title : str, optional

    Returns
    -------
    dict
        'points', 'labels' (list of Text), 'ellipses', 'means'.
    """
    ax = plt.gca() if ax is None else ax
    points, dims = plot_grey_tokens(ax, data, vowel_chart=vowel_chart)
    labels = label_vowel_means(ax, data, dims)
    colors = component_colors(len(state.means))
    gaussians = plot_gaussians(ax, state.means, state.covariances, n_std, colors=colors, dims=dims,
                               linewidth=1.8, mean_kwargs=dict(s=60))
    if title is not None:
        ax.set_title(title, fontsize=10)
    return {"points": points, "labels": labels, "ellipses": gaussians.ellipses,
            "means": gaussians.means}


def component_key(n_std=2.0) -> list:
    """Legend entries for :func:`plot_components_over_tokens`."""
    return [
        Line2D([], [], linestyle="none", marker="o", markersize=5, color=TOKEN_COLOR,
               label="a token (any vowel)"),
        Line2D([], [], color=component_colors(3)[0], linewidth=1.8,
               label=f"{n_std:g}-sigma ellipse of one component (colours only tell components apart)"),
        Line2D([], [], linestyle="none", marker="X", markersize=8, color="0.5",
               markeredgecolor="black", label="a component's mean"),
        Line2D([], [], linestyle="none", marker="$\\mathbf{IY}$", markersize=14, color="black",
               label="a vowel's label, at its mean"),
    ]


def plot_collapse(data: VowelData, states, trace, component: int, *, iterations, error_iteration=None,
                  n_std=2.0, vowel_chart=True, figsize=(14, 4.2)):
    """A component collapsing, in three panels (after Bishop, PRML Fig. 9.7).

    Left: the tokens and the component's n-sigma ellipse at the chosen
    iterations, thinning to a line. Middle: its two variances (eigenvalues
    of Sigma_k) against the iteration, on a log scale. Right: the
    log-likelihood L(theta_t).

    Parameters
    ----------
    data : VowelData
    states : sequence of EMState
    trace : ComponentTrace
        :func:`gmm_lab.collapse.component_trace` of ``states`` for ``component``.
    component : int
    iterations : sequence of int
        Iterations whose ellipse is drawn.
    error_iteration : int, optional
        The iteration at which EM stopped with an error, marked on the right.
    n_std : float, default=2.0
    vowel_chart : bool, default=True
    figsize : (float, float)

    Returns
    -------
    Figure
    """
    fig, (ax_map, ax_var, ax_ll) = plt.subplots(
        1, 3, figsize=figsize, gridspec_kw=dict(width_ratios=[1.2, 1, 1]), layout="constrained")
    _, dims = plot_grey_tokens(ax_map, data, vowel_chart=vowel_chart, s=12)
    colors = matplotlib.colormaps["viridis"](np.linspace(0.0, 0.9, len(iterations)))
    outline = [data.X[:, list(dims)]]
    for color, t in zip(colors, iterations):
        state = states[t]
        plot_gaussians(ax_map, state.means[[component]], state.covariances[[component]], n_std,
                       colors=[color], dims=dims, show_means=False, linewidth=1.8,
                       label=f"iteration {t}")
        block = np.ix_(list(dims), list(dims))
        outline.append(ellipse_boundary(state.means[component][list(dims)],
                                        state.covariances[component][block], n_std))
    # Limits that hold the tokens and every drawn ellipse.
    _set_limits(ax_map, np.vstack(outline), vowel_chart)
    final = states[-1]
    holders = np.flatnonzero(final.responsibilities[:, component] > 0.5)
    ax_map.scatter(data.X[holders, dims[0]], data.X[holders, dims[1]], s=90, facecolors="none",
                   edgecolors="black", linewidths=1.5, zorder=5,
                   label=f"its {holders.size} tokens at iteration {final.iteration}")
    ax_map.legend(fontsize=8, loc="lower right", framealpha=0.9)
    ax_map.set_title(f"component {component}'s {n_std:g}-sigma ellipse, iteration by iteration",
                     fontsize=10)

    ax_var.semilogy(trace.iteration, trace.variances[:, -1], "s-", color="0.35",
                    label="largest variance")
    ax_var.semilogy(trace.iteration, trace.variances[:, 0], "o-", color="#D55E00",
                    label="smallest variance")
    ax_var.set(xlabel="iteration t", ylabel=r"eigenvalue of $\Sigma_k$ (Hz$^2$)")
    ax_var.set_title(f"component {component}'s variances", fontsize=10)
    ax_var.legend(fontsize=8)
    ax_var.grid(True, which="major", alpha=0.3)

    ax_ll.plot(trace.iteration, trace.log_likelihood, "o-", color="black")
    ax_ll.set(xlabel="iteration t", ylabel=r"log-likelihood $L(\theta_t)$")
    ax_ll.set_title("log-likelihood of the whole mixture", fontsize=10)
    ax_ll.grid(True, alpha=0.3)
    if error_iteration is not None:
        for ax in (ax_var, ax_ll):
            ax.axvline(error_iteration, color="#D55E00", linestyle="--", linewidth=1.2,
                       label=f"iteration {error_iteration}: no Cholesky factor, EM stops")
        ax_ll.legend(fontsize=8, loc="upper left")
    for ax in (ax_var, ax_ll):
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    return fig


def plot_criteria(grid: CriteriaGrid, *, figsize=(14, 4.2)):
    """BIC, AIC and held-out log-likelihood against K, one line per covariance type.

    The best model of each criterion (lowest BIC or AIC, highest held-out
    log-likelihood) is ringed and named.

    Parameters
    ----------
    grid : CriteriaGrid
        With ``held_out`` (otherwise two panels).
    figsize : (float, float)

    Returns
    -------
    Figure
    """
    names = ["bic", "aic"] + (["held_out"] if grid.held_out is not None else [])
    titles = {
        "bic": ("BIC (lower is better)", r"BIC $= -2L + p \log N$"),
        "aic": ("AIC (lower is better)", r"AIC $= -2L + 2p$"),
        "held_out": ("held-out speakers (higher is better)",
                     "mean log-likelihood per held-out token"),
    }
    fig, axes = plt.subplots(1, len(names), figsize=figsize, layout="constrained", sharex=True)
    for ax, name in zip(axes, names):
        values = grid.criterion(name)
        for row, covariance_type in enumerate(grid.covariance_types):
            ax.plot(grid.n_components, values[row], markersize=4, linewidth=1.3,
                    label=covariance_type, **_TYPE_STYLES.get(covariance_type, {}))
        best_type, best_k = grid.best(name)
        best_value = values[grid.covariance_types.index(best_type),
                            list(grid.n_components).index(best_k)]
        ax.scatter([best_k], [best_value], s=260, facecolors="none", edgecolors="#D55E00",
                   linewidths=2, zorder=5, label="best of each panel")
        title, ylabel = titles[name]
        ax.set_title(f"{title}\nbest: {best_type}, K = {best_k}", fontsize=10)
        ax.set(xlabel="number of components K", ylabel=ylabel)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        _zoom_to_interesting(ax, values, lower_is_better=name != "held_out")
    axes[0].legend(fontsize=8, title="covariance type", title_fontsize=8)
    return fig


def _zoom_to_interesting(ax, values, *, lower_is_better):
    """y-limits from the best value to a little past the median, so K = 1 does not flatten the rest."""
    finite = values[np.isfinite(values)]
    best = finite.min() if lower_is_better else finite.max()
    spread = abs(np.median(finite) - best)
    if lower_is_better:
        ax.set_ylim(best - 0.25 * spread, best + 2.5 * spread)
    else:
        ax.set_ylim(best - 2.5 * spread, best + 0.25 * spread)


def plot_density(ax, model, data: VowelData, *, vowel_chart=True, resolution=200,
                 colorbar=True, label_vowels=True):
    """Filled contours of -log p(x) of a fitted mixture, with the tokens on top.

    Contour levels are half a nat apart, from the densest point to the level
    below which 99.5 % of the tokens lie.

    Parameters
    ----------
    ax : matplotlib Axes or None
    model : fitted two-feature mixture with ``score_samples``
    data : VowelData
        The tokens (F1, F2) drawn over the density; they also set the extent.
    vowel_chart : bool, default=True
    resolution : int, default=200
        Grid points along each axis.
    colorbar : bool, default=True
    label_vowels : bool, default=True
        Write each vowel's label at the mean of its tokens.

    Returns
    -------
    dict
        'contours' (QuadContourSet), 'points', 'colorbar' (or None),
        'labels' (list of Text).
    """
    ax = plt.gca() if ax is None else ax
    points, dims = plot_grey_tokens(ax, data, vowel_chart=vowel_chart, s=3, alpha=0.7,
                                    color="black", zorder=3)
    extent = _limits(data.X[:, list(dims)], margin=0.08)
    xx, yy, log_density = log_density_grid(model, extent[0], extent[1], dims=dims,
                                           resolution=resolution)
    # -log p from the densest point up to where the last tokens are, in
    # steps of half a nat.
    low = np.floor(2 * -log_density.max()) / 2
    high = np.ceil(2 * np.quantile(-model.score_samples(data.X), 0.995)) / 2
    contours = ax.contourf(xx, yy, -log_density, levels=np.arange(low, high + 0.25, 0.5),
                           cmap="Blues_r", extend="max", zorder=1)
    bar = None
    if colorbar:
        bar = ax.get_figure().colorbar(contours, ax=ax, shrink=0.9)
        bar.set_label(r"$-\log p(\mathrm{F1}, \mathrm{F2})$  (lower = denser)")
    labels = label_vowel_means(ax, data, dims) if label_vowels else []
    return {"contours": contours, "points": points, "colorbar": bar, "labels": labels}


def plot_real_and_synthetic(data: VowelData, synthetic, *, vowel_chart=True, figsize=(11, 4.2)):
    """Real tokens beside tokens drawn from a fitted mixture, on the same axes.

    Parameters
    ----------
    data : VowelData
    synthetic : ndarray of shape (n_synthetic, 2)
        Drawn with ``model.sample(n)[0]``, columns as ``data.X``.
    vowel_chart : bool, default=True
    figsize : (float, float)

    Returns
    -------
    Figure
    """
    fig, (ax_real, ax_fake) = plt.subplots(1, 2, figsize=figsize, layout="constrained",
                                           sharex=True, sharey=True)
    _, dims = plot_grey_tokens(ax_real, data, vowel_chart=vowel_chart, color="black", s=6, alpha=0.5)
    plot_grey_tokens(ax_fake, synthetic, features=data.features, vowel_chart=vowel_chart,
                     color="black", s=6, alpha=0.5)
    both = np.vstack([data.X, synthetic])[:, list(dims)]
    for ax in (ax_real, ax_fake):
        _set_limits(ax, both, vowel_chart)
    ax_fake.yaxis.label.set_visible(False)
    ax_real.set_title(f"{len(data)} real tokens (Peterson & Barney)", fontsize=10)
    ax_fake.set_title(f"{len(synthetic)} synthetic tokens drawn from the mixture", fontsize=10)
    return fig
