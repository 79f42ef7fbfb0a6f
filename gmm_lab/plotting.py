"""Pictures of EM on the vowel formants: scatter, n-sigma ellipses, log-likelihood.

Two kinds of function live here.

- **Plot helpers** (``plot_vowels``, ``plot_gaussians``, ``plot_log_likelihood``,
  ``plot_responsibilities``, ``plot_state``) draw once on an Axes you give
  them (or the current one when ``ax`` is None), pass extra keyword
  arguments on to matplotlib, and return the artists they made. They never
  fit a model and never call ``plt.show()``.
- **The view** (:class:`EMView`) owns one figure whose artists are created
  once; ``view.show(t)`` moves them to another EM state in place, so the
  frames of a run (``gmm-lab``'s PNG, :func:`save_animation`'s GIF) share one
  layout and nothing jumps. (The notebook widgets draw in the browser:
  :mod:`gmm_lab.viewer`.)

Colours: each vowel has its own colour-blind-safe colour *and* marker
(:func:`vowel_color`, :func:`vowel_marker`); components have colours no
vowel has (:func:`component_colors`). One colour meaning per axes: when
points are coloured by vowel, :func:`plot_state` draws the ellipses in one
neutral dark grey with a line style per component, and a legend says what
they are; when points are coloured by responsibility, a colour bar (K = 2)
or a legend (K > 2) is the key (:func:`add_responsibility_key`).

Geometry (ellipse width, height, angle) is computed in :mod:`gmm_lab.ellipses`.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.markers import MarkerStyle
from matplotlib.patches import Ellipse
from matplotlib.transforms import BboxBase

from gmm_lab.data import VowelData, vowel_info
from gmm_lab.ellipses import ellipse_geometry, mass_within
from gmm_lab.states import EMState

__all__ = [
    "FEATURE_LABELS",
    "VOWEL_COLORS",
    "VOWEL_MARKERS",
    "OVER_VOWELS_COLOR",
    "vowel_color",
    "vowel_marker",
    "component_colors",
    "component_linestyles",
    "component_legend_handles",
    "responsibility_colors",
    "responsibility_colormap",
    "add_responsibility_key",
    "format_axes",
    "plot_vowels",
    "plot_vowel_space",
    "plot_vowel_panels",
    "extend_legend",
    "plot_gaussians",
    "plot_log_likelihood",
    "plot_responsibilities",
    "plot_state",
    "plot_iterations",
    "default_iterations",
    "EMView",
    "save_animation",
]

FEATURE_LABELS = {"f0": "F0 (Hz)", "f1": "F1 (Hz)", "f2": "F2 (Hz)", "f3": "F3 (Hz)"}

# Vowel colours and markers are fixed by vowel id, so IY looks the same in
# every figure whichever vowels are selected. Why these colours: see
# vowel_color.
VOWEL_COLORS = {
    "IY": "#44AA99",  # teal        (Tol muted)
    "IH": "#332288",  # indigo      (Tol muted)
    "EH": "#882255",  # wine        (Tol muted)
    "AE": "#88CCEE",  # cyan        (Tol muted)
    "AH": "#DDCC77",  # sand        (Tol muted)
    "AA": "#CC6677",  # rose        (Tol muted)
    "AO": "#7744DD",  # violet      (added: Tol muted has nine colours)
    "UH": "#AA4499",  # purple      (Tol muted)
    "UW": "#117733",  # green       (Tol muted)
    "ER": "#999933",  # olive       (Tol muted)
}
# Filled markers, none of them the 'X' that marks a component's mean.
VOWEL_MARKERS = {
    "IY": "o", "IH": "s", "EH": "^", "AE": "D", "AH": "v",
    "AA": "p", "AO": "<", "UH": "h", "UW": ">", "ER": "*",
}
# Components never take a vowel colour (tests check the sets are disjoint).
# Two components: Okabe-Ito blue and its mirror image about mid grey, an
# orange, so that a token EM is unsure about (gamma = 0.5) blends to a
# neutral grey and the blend is one straight colour scale (see
# responsibility_colormap). Up to eight: the Okabe-Ito palette. Beyond: tab20.
_OKABE_ITO_BLUE = (0.0, 0x72 / 255, 0xB2 / 255)
_COMPONENT_PAIR = (_OKABE_ITO_BLUE, tuple(1.0 - c for c in _OKABE_ITO_BLUE))
_OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7",
              "#F0E442", "#000000")
# When points are coloured by vowel, ellipses are drawn in this neutral dark
# grey instead of component colours (one colour meaning per axes), told
# apart by line style.
OVER_VOWELS_COLOR = (0.12, 0.12, 0.12)
_LINESTYLES = ("-", "--", "-.", ":")
_UNLABELLED_COLOR = (0.35, 0.35, 0.35)

# Margin around the data, as a fraction of its range, when axis limits are fixed.
_MARGIN = 0.06


# ---------------------------------------------------------------------------
# colours


def vowel_color(vowel) -> tuple:
    """The RGB colour of a vowel (id 1..10 or label 'IY').

    The palette is Paul Tol's "muted" qualitative scheme (nine colours chosen
    to stay distinct for the common colour-vision deficiencies) plus one
    violet, assigned to the vowels so that the vowels whose clouds overlap
    in the F1/F2 chart (IY-IH, IH-EH, EH-AE, AH-AA-AO, UH-UW, UH-ER, EH-ER,
    ...) get the most different colours under normal vision and simulated
    deuteranopia, protanopia and tritanopia (Machado et al. 2009). Each vowel
    also has its own marker (:func:`vowel_marker`), so no reader depends on
    colour alone. (matplotlib's tab10 put AE red next to EH green, the pair
    red-green colour-blind readers cannot tell apart.)

    Parameters
    ----------
    vowel : int or str
        Vowel id 1..10 or label, e.g. 'IY'.

    Returns
    -------
    tuple of 3 floats
        RGB in [0, 1].
    """
    return matplotlib.colors.to_rgb(VOWEL_COLORS[vowel_info(vowel).label])


def vowel_marker(vowel) -> str:
    """The matplotlib marker of a vowel (id 1..10 or label 'IY'): 'o' for IY, 's' for IH, ...

    Every vowel has its own filled marker as well as its own colour
    (:func:`vowel_color`), so the legend and the vowel means can be read
    without telling colours apart. None is the 'X' of a component's mean.
    """
    return VOWEL_MARKERS[vowel_info(vowel).label]


def component_colors(n_components: int) -> np.ndarray:
    """One colour per mixture component, never a vowel's colour.

    Parameters
    ----------
    n_components : int
        K.

    Returns
    -------
    ndarray of shape (n_components, 3)
        RGB in [0, 1]. For K = 2, a blue and its mirror image about mid grey
        (an orange), so that the blend of a token EM is unsure about is grey
        (see :func:`responsibility_colormap`); up to 8, the Okabe-Ito
        colour-blind-safe palette; beyond, tab20 (repeating after 20).
    """
    if n_components <= 2:
        palette = _COMPONENT_PAIR
    elif n_components <= len(_OKABE_ITO):
        palette = _OKABE_ITO
    else:
        palette = matplotlib.colormaps["tab20"].colors
    return np.array([matplotlib.colors.to_rgb(palette[k % len(palette)])
                     for k in range(n_components)], dtype=float)


def component_linestyles(n_components: int) -> list:
    """Line style of each component's ellipse when they are drawn in one neutral colour.

    Solid, dashed, dash-dot, dotted for up to four components; with more,
    all solid (five or more line styles are not told apart at a glance;
    one legend entry then covers them all).
    """
    if n_components <= len(_LINESTYLES):
        return list(_LINESTYLES[:n_components])
    return ["-"] * n_components


def component_legend_handles(n_components: int, *, n_std: float = 2.0, over_vowels: bool,
                             colors=None) -> list:
    """Legend entries saying what the ellipses are.

    Parameters
    ----------
    n_components : int
        K.
    n_std : float, default=2.0
        Mahalanobis radius of the ellipses, for the label ('2-sigma ellipse ...').
    over_vowels : bool
        True when the points are coloured by vowel and the ellipses drawn in
        :data:`OVER_VOWELS_COLOR` with :func:`component_linestyles`; False
        when the ellipses have the component colours.
    colors : array-like of shape (n_components, 3), optional
        Component colours (default :func:`component_colors`); ignored when
        ``over_vowels``.

    Returns
    -------
    list of Line2D
        One entry per component ('2-sigma ellipse of component k'), or for
        more than four neutral (or ten coloured) components a single entry.
    """
    sigma = f"{n_std:g}-sigma"
    if over_vowels:
        if n_components > len(_LINESTYLES):
            return [Line2D([], [], color=OVER_VOWELS_COLOR, linewidth=1.5,
                           label=f"{sigma} ellipses of the {n_components} components")]
        return [Line2D([], [], color=OVER_VOWELS_COLOR, linewidth=1.5, linestyle=style,
                       label=f"{sigma} ellipse of component {k}")
                for k, style in enumerate(component_linestyles(n_components))]
    colors = component_colors(n_components) if colors is None else np.asarray(colors)
    if n_components > 10:
        return [Line2D([], [], color="0.3", linewidth=1.5,
                       label=f"{sigma} ellipses of the {n_components} components")]
    return [Line2D([], [], color=colors[k], linewidth=2.0,
                   label=f"{sigma} ellipse of component {k}") for k in range(n_components)]


def responsibility_colors(responsibilities, colors) -> np.ndarray:
    """Blend the component colours of each point by its responsibilities.

    Parameters
    ----------
    responsibilities : array-like of shape (n_samples, n_components)
        gamma_nk, each row summing to 1.
    colors : array-like of shape (n_components, 3)
        RGB colour of each component.

    Returns
    -------
    ndarray of shape (n_samples, 3)
        Row n is sum_k gamma_nk * colors[k]: a point EM is sure about has its
        component's colour, a point it hesitates about a mixture.
    """
    blended = np.asarray(responsibilities, dtype=float) @ np.asarray(colors, dtype=float)
    # Rows sum to 1 only up to rounding; keep RGB inside [0, 1] for matplotlib.
    return np.clip(blended, 0.0, 1.0)


def responsibility_colormap(colors=None) -> matplotlib.colors.Colormap:
    """The colour scale of gamma_n1 for two components: colors[0] at 0, colors[1] at 1.

    A straight line in RGB from component 0's colour to component 1's, so a
    point coloured by ``cmap(gamma_n1)`` has exactly the colour
    :func:`responsibility_colors` blends for it. With the default
    :func:`component_colors` (2) the line runs blue - mid grey - orange: a
    diverging scale whose middle, a token EM cannot decide about, is a
    neutral grey (not the muddy olive of blending two unrelated colours).

    Parameters
    ----------
    colors : array-like of shape (2, 3), optional
        Default :func:`component_colors` (2).

    Returns
    -------
    matplotlib.colors.LinearSegmentedColormap
    """
    colors = component_colors(2) if colors is None else np.asarray(colors, dtype=float)
    return matplotlib.colors.LinearSegmentedColormap.from_list(
        "gmm_lab_responsibility", [tuple(colors[0][:3]), tuple(colors[1][:3])])


# ---------------------------------------------------------------------------
# axes


def _feature_label(feature) -> str:
    return FEATURE_LABELS.get(str(feature).lower(), str(feature))


def _resolve_dims(features, dims, vowel_chart: bool) -> tuple:
    """Column indices (x, y) to plot, and check the vowel chart is possible."""
    if dims is not None:
        x_dim, y_dim = (int(d) for d in dims)
        return x_dim, y_dim
    if vowel_chart:
        if features is None or "f1" not in features or "f2" not in features:
            raise ValueError(
                "vowel_chart=True draws F2 across and F1 down, so the data must "
                f"have 'f1' and 'f2' features; got features {features}. Load "
                "them with load_vowels(features=('f1', 'f2')) or pass dims=(x, y)."
            )
        return features.index("f2"), features.index("f1")
    if features is not None and "f1" in features and "f2" in features:
        return features.index("f1"), features.index("f2")
    return 0, 1


def format_axes(ax=None, features=("f1", "f2"), *, dims=None, vowel_chart: bool = False):
    """Label (and for the vowel chart, invert) the axes of a formant plot.

    Parameters
    ----------
    ax : matplotlib Axes or None
        None formats the current axes.
    features : sequence of str, default=('f1', 'f2')
        Names of the data columns; 'f1' becomes 'F1 (Hz)'.
    dims : (int, int), optional
        Columns shown on x and y. Default: F1 across and F2 up, or for the
        vowel chart F2 across and F1 down.
    vowel_chart : bool, default=False
        The phoneticians' chart: F2 on x decreasing to the right, F1 on y
        increasing downward, so front vowels are on the left and high vowels
        on top, as in the IPA vowel trapezoid.

    Returns
    -------
    (int, int)
        The columns (x, y) the axes show.
    """
    ax = plt.gca() if ax is None else ax
    x_dim, y_dim = _resolve_dims(features, dims, vowel_chart)
    if features is None:
        features = [f"feature {i}" for i in range(max(x_dim, y_dim) + 1)]
    names = features
    ax.set_xlabel(_feature_label(names[x_dim]))
    ax.set_ylabel(_feature_label(names[y_dim]))
    if vowel_chart and not ax.xaxis_inverted():
        ax.invert_xaxis()
    if vowel_chart and not ax.yaxis_inverted():
        ax.invert_yaxis()
    return x_dim, y_dim


def _fixed_limits(points: np.ndarray, margin: float = _MARGIN):
    """(low, high) for x and y covering the points plus a margin."""
    low = points.min(axis=0)
    high = points.max(axis=0)
    pad = margin * np.where(high > low, high - low, 1.0)
    return (low[0] - pad[0], high[0] + pad[0]), (low[1] - pad[1], high[1] + pad[1])


def _set_fixed_limits(ax, points: np.ndarray, *, vowel_chart: bool) -> None:
    xlim, ylim = _fixed_limits(points)
    # Inverted axes keep their direction: limits are given high-to-low.
    ax.set_xlim(xlim[::-1] if vowel_chart else xlim)
    ax.set_ylim(ylim[::-1] if vowel_chart else ylim)
    # Artists added later (an ellipse that starts far away) must not rescale.
    ax.set_autoscale_on(False)


def _vowel_legend_handles(vowel_ids, marker="o") -> list:
    """Legend entries 'IY /i/ heed', ...; ``marker=None`` gives each vowel its own marker."""
    handles = []
    for vowel_id in np.unique(vowel_ids):
        vowel = vowel_info(int(vowel_id))
        handles.append(
            Line2D([], [], linestyle="none",
                   marker=vowel_marker(vowel) if marker is None else marker, markersize=7,
                   color=vowel_color(vowel), label=vowel.legend)
        )
    return handles


def _marker_path(marker):
    """The path matplotlib's scatter draws for ``marker`` (at size s = 1 point squared)."""
    style = MarkerStyle(marker)
    return style.get_path().transformed(style.get_transform())


def _use_vowel_markers(collection, vowel_ids) -> None:
    """Give each point of a scatter its vowel's marker (one collection, one path per point)."""
    collection.set_paths([_marker_path(vowel_marker(int(i))) for i in vowel_ids])


# ---------------------------------------------------------------------------
# plot helpers


class VowelArtists(NamedTuple):
    """What :func:`plot_vowels` drew."""

    points: matplotlib.collections.PathCollection
    means: matplotlib.collections.PathCollection | None
    mean_labels: list
    legend: matplotlib.legend.Legend | None


def plot_vowels(ax, data: VowelData, *, dims=None, vowel_chart: bool = False,
                show_means: bool = False, legend: bool = True, mean_label_offsets=None,
                **kwargs) -> VowelArtists:
    """Scatter the vowel tokens, each vowel in its own colour and marker, with a legend.

    Parameters
    ----------
    ax : matplotlib Axes or None
        Where to draw; None draws on the current axes.
    data : VowelData
        Tokens from :func:`gmm_lab.data.load_vowels`.
    dims : (int, int), optional
        Columns of ``data.X`` on x and y (default F1, F2; see :func:`format_axes`).
    vowel_chart : bool, default=False
        Draw the phoneticians' vowel chart (F2 across decreasing, F1 down).
    show_means : bool, default=False
        Also mark each vowel's mean with a large marker (black edge) and its
        label, in bold with a white halo so it stays readable over the points.
    legend : bool, default=True
        Add a legend 'IY /i/ heed', ... outside the axes, to the right.
    mean_label_offsets : dict, optional
        Where to put a mean's label, in points from the mean, by vowel label,
        e.g. ``{'ER': (-18, 6)}`` to move ER's label off a neighbouring mean;
        default (6, 6) for every vowel.
    **kwargs
        Passed to ``ax.scatter`` (e.g. ``s``, ``alpha``). A ``marker`` here
        draws every token with that marker instead of its vowel's marker
        (:func:`vowel_marker`).

    Returns
    -------
    VowelArtists
        ``points`` (one PathCollection for all tokens, one path per token),
        ``means`` and ``mean_labels`` (None and [] unless ``show_means``),
        ``legend``.
    """
    ax = plt.gca() if ax is None else ax
    x_dim, y_dim = format_axes(ax, data.features, dims=dims, vowel_chart=vowel_chart)
    points_xy = data.X[:, [x_dim, y_dim]]
    kwargs.setdefault("s", 14)
    kwargs.setdefault("alpha", 0.6)
    kwargs.setdefault("linewidths", 0)
    user_marker = kwargs.pop("marker", None)
    colors = np.array([vowel_color(int(i)) for i in data.vowel_id])
    points = ax.scatter(points_xy[:, 0], points_xy[:, 1], c=colors,
                        marker="o" if user_marker is None else user_marker, **kwargs)
    if user_marker is None:
        _use_vowel_markers(points, data.vowel_id)

    means, mean_labels = None, []
    if show_means:
        vowel_ids = np.unique(data.vowel_id)
        offsets = dict(mean_label_offsets or {})
        centres = np.array([points_xy[data.vowel_id == i].mean(axis=0) for i in vowel_ids])
        means = ax.scatter(centres[:, 0], centres[:, 1], s=90, marker="o",
                           c=[vowel_color(int(i)) for i in vowel_ids],
                           edgecolors="black", linewidths=1.2, zorder=3)
        _use_vowel_markers(means, vowel_ids)
        halo = [patheffects.withStroke(linewidth=3, foreground="white")]
        for vowel_id, (x, y) in zip(vowel_ids, centres):
            label = vowel_info(int(vowel_id)).label
            mean_labels.append(ax.annotate(
                label, (x, y), xytext=offsets.get(label, (6, 6)), textcoords="offset points",
                fontsize=9, fontweight="bold", path_effects=halo, zorder=4))

    artist_legend = None
    if legend:
        artist_legend = ax.legend(handles=_vowel_legend_handles(data.vowel_id, marker=user_marker),
                                  loc="upper left", bbox_to_anchor=(1.01, 1.0),
                                  borderaxespad=0.0, frameon=False, fontsize=9)
    return VowelArtists(points, means, mean_labels, artist_legend)


class GaussianArtists(NamedTuple):
    """What :func:`plot_gaussians` drew: one ellipse per component and the means."""

    ellipses: list
    means: matplotlib.collections.PathCollection | None


def _select_block(means, covariances, dims):
    """The means and covariance blocks of the two plotted features."""
    means = np.asarray(means, dtype=float)
    covariances = np.asarray(covariances, dtype=float)
    dims = list(dims)
    # The marginal of a Gaussian on some features keeps those rows and
    # columns of Sigma, so the 2-D picture of a D-dim component is exact.
    return means[:, dims], covariances[:, dims][:, :, dims]


def plot_gaussians(ax, means, covariances, n_std: float = 2.0, *, colors=None,
                   dims=(0, 1), show_means: bool = True, mean_kwargs=None,
                   linestyles=None, **kwargs) -> GaussianArtists:
    """Draw the n-sigma ellipse and the mean of each Gaussian component.

    Note the argument order: ``means`` before ``covariances``, unlike the
    handout's ``plot_gaussians(ax, 2*s, mu)``. And the handout's ``2*s``
    doubles the *covariance*, which stretches each axis by sqrt(2): that is a
    sqrt(2)-sigma ellipse, not a 2-sigma one. Here ``n_std=2`` draws the
    contour at Mahalanobis distance 2 (semi-axes 2 * sqrt(eigenvalue)),
    which in 2-D holds 1 - exp(-2), about 86.5 %, of the component's mass
    (not 95 %: that rule is for one dimension).

    Parameters
    ----------
    ax : matplotlib Axes or None
        Where to draw; None draws on the current axes.
    means : array-like of shape (n_components, n_features)
        mu_k.
    covariances : array-like of shape (n_components, n_features, n_features)
        Sigma_k, full matrices.
    n_std : float, default=2.0
        Mahalanobis radius of each ellipse.
    colors : array-like of shape (n_components, 3), optional
        Colour of each component; default :func:`component_colors`.
    dims : (int, int), default=(0, 1)
        Features on x and y, e.g. (1, 0) for F2 across when columns are (F1, F2).
    show_means : bool, default=True
        Mark each mean with an 'X'.
    mean_kwargs : dict, optional
        Passed to ``ax.scatter`` for the mean markers.
    linestyles : sequence of str, optional
        One line style per component (e.g. :func:`component_linestyles`), to
        tell ellipses of one colour apart; overrides a ``linestyle`` in kwargs.
    **kwargs
        Passed to each ``matplotlib.patches.Ellipse`` (e.g. ``linewidth``,
        ``linestyle``, ``fill``).

    Returns
    -------
    GaussianArtists
        ``ellipses``, a list of n_components Ellipse patches, and ``means``,
        the marker collection (None unless ``show_means``).
    """
    ax = plt.gca() if ax is None else ax
    means_xy, covariances_xy = _select_block(means, covariances, dims)
    n_components = means_xy.shape[0]
    colors = component_colors(n_components) if colors is None else np.asarray(colors)
    width, height, angle = ellipse_geometry(covariances_xy, n_std)
    kwargs.setdefault("fill", False)
    kwargs.setdefault("linewidth", 2.0)
    ellipses = []
    for k in range(n_components):
        if linestyles is not None:
            kwargs["linestyle"] = linestyles[k]
        ellipse = Ellipse(xy=means_xy[k], width=width[k], height=height[k],
                          angle=angle[k], edgecolor=colors[k], **kwargs)
        ax.add_patch(ellipse)
        ellipses.append(ellipse)

    mean_markers = None
    if show_means:
        mean_kwargs = dict(mean_kwargs or {})
        mean_kwargs.setdefault("marker", "X")
        mean_kwargs.setdefault("s", 110)
        mean_kwargs.setdefault("edgecolors", "black")
        mean_kwargs.setdefault("linewidths", 1.0)
        mean_kwargs.setdefault("zorder", 4)
        mean_markers = ax.scatter(means_xy[:, 0], means_xy[:, 1], c=colors, **mean_kwargs)
    return GaussianArtists(ellipses, mean_markers)


# The vowels on the edge of the F1/F2 chart, in order around it.
_PERIPHERAL_VOWELS = ("IY", "IH", "EH", "AE", "AA", "AO", "UW")


def plot_vowel_space(ax, data: VowelData, *, dims=None, vowel_chart: bool = False,
                     **kwargs) -> Line2D:
    """Outline the vowel space: a closed line through the means of the vowels on its edge.

    The edge vowels, in order around the chart, are IY, IH, EH, AE, AA, AO
    and UW (those of them in ``data``); AH, UH and ER lie inside. Drawing
    the outline of several speaker groups on one chart shows how the whole
    space moves and stretches from group to group.

    Parameters
    ----------
    ax : matplotlib Axes or None
        Where to draw; None draws on the current axes.
    data : VowelData
        Tokens from :func:`gmm_lab.data.load_vowels`.
    dims, vowel_chart
        As in :func:`plot_vowels` (pass the same values).
    **kwargs
        Passed to ``ax.plot`` (default a dark grey line, width 1.2).

    Returns
    -------
    Line2D
        The outline; its vertices are the vowel means, the first repeated at the end.
    """
    ax = plt.gca() if ax is None else ax
    x_dim, y_dim = _resolve_dims(data.features, dims, vowel_chart)
    centres = [data.X[data.vowel == label][:, [x_dim, y_dim]].mean(axis=0)
               for label in _PERIPHERAL_VOWELS if np.any(data.vowel == label)]
    if len(centres) < 2:
        raise ValueError(
            "plot_vowel_space needs at least two of the edge vowels "
            f"{', '.join(_PERIPHERAL_VOWELS)} in data; got "
            f"{', '.join(np.unique(data.vowel)) or 'none'}."
        )
    outline = np.array(centres + centres[:1])
    kwargs.setdefault("color", "0.25")
    kwargs.setdefault("linewidth", 1.2)
    (line,) = ax.plot(outline[:, 0], outline[:, 1], **kwargs)
    return line


def plot_vowel_panels(panels, *, vowel_chart: bool = True, outlines: bool = True,
                      mean_label_offsets=None, title=None, panel_size=(4.3, 4.1),
                      **kwargs) -> Figure:
    """One vowel chart per group of tokens (e.g. men, women, children), on shared axes.

    Each panel shows its tokens and vowel means (:func:`plot_vowels`). With
    ``outlines``, every panel also shows the vowel-space outline
    (:func:`plot_vowel_space`) of *every* group, one line style per group
    and the panel's own drawn thicker, so each panel can be compared with
    the others and no part of the shared axes is left unexplained. One
    legend, on the right, names the vowels and the outlines; only the
    first panel has a y label.

    Parameters
    ----------
    panels : dict of str to VowelData
        Panel title (e.g. 'men') and its tokens, in order.
    vowel_chart : bool, default=True
        Phoneticians' axes (F2 across decreasing, F1 down).
    outlines : bool, default=True
        Draw every group's vowel-space outline in every panel.
    mean_label_offsets : dict, optional
        As in :func:`plot_vowels`, for every panel.
    title : str, optional
        The figure's title.
    panel_size : (float, float), default=(4.3, 4.1)
        Inches per panel.
    **kwargs
        Passed to :func:`plot_vowels` (e.g. ``s``, ``alpha``).

    Returns
    -------
    matplotlib.figure.Figure
        Not registered with pyplot: a notebook shows it once, as the cell's value.
    """
    names = list(panels)
    figure = Figure(figsize=(panel_size[0] * len(names) + 1.8, panel_size[1]),
                    layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(names), sharex=True, sharey=True))
    styles = ["-", "--", ":", "-."]
    for i, (ax, name) in enumerate(zip(axes, names)):
        data = panels[name]
        plot_vowels(ax, data, vowel_chart=vowel_chart, show_means=True, legend=False,
                    mean_label_offsets=mean_label_offsets, **kwargs)
        if outlines:
            for j, other in enumerate(names):
                plot_vowel_space(ax, panels[other], vowel_chart=vowel_chart,
                                 linestyle=styles[j % len(styles)],
                                 linewidth=2.0 if j == i else 1.0, zorder=2.5)
        ax.set_title(f"{name}: {len(data)} tokens", fontsize=10)
        if i > 0:
            ax.set_ylabel("")
    all_ids = np.concatenate([panels[name].vowel_id for name in names])
    handles = _vowel_legend_handles(all_ids, marker=None)
    if outlines:
        handles += [Line2D([], [], color="0.25", linestyle=styles[j % len(styles)],
                           label=f"vowel space of {name}") for j, name in enumerate(names)]
    figure.legend(handles=handles, loc="outside right upper", frameon=False, fontsize=9)
    if title:
        figure.suptitle(title, fontsize=11)
    return figure


def extend_legend(ax, handles, **kwargs):
    """Add entries to an Axes' legend, keeping the entries it has.

    For example a line saying what an ellipse is, under the vowel legend of
    :func:`plot_vowels`.

    Parameters
    ----------
    ax : matplotlib Axes
    handles : list of Artist
        New entries; each one's label is its text.
    **kwargs
        Passed to ``ax.legend``; the default places it as :func:`plot_vowels`
        does, outside the axes on the right.

    Returns
    -------
    matplotlib.legend.Legend
    """
    old = ax.get_legend()
    existing = list(old.legend_handles) if old is not None else []
    labels = [text.get_text() for text in old.get_texts()] if old is not None else []
    handles = list(handles)
    for key, value in dict(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                           frameon=False, fontsize=9).items():
        kwargs.setdefault(key, value)
    return ax.legend(handles=existing + handles,
                     labels=labels + [handle.get_label() for handle in handles], **kwargs)


class LogLikelihoodArtists(NamedTuple):
    """What :func:`plot_log_likelihood` drew."""

    line: Line2D
    marker: Line2D


def plot_log_likelihood(ax, log_likelihoods, *, current: int | None = None,
                        **kwargs) -> LogLikelihoodArtists:
    """Plot L(theta_t) against the iteration t, with a marker at one iteration.

    Parameters
    ----------
    ax : matplotlib Axes or None
        Where to draw; None draws on the current axes.
    log_likelihoods : History or array-like of shape (n_states,)
        L(theta_t) for t = 0..T (a History gives its ``log_likelihoods``).
    current : int, optional
        Iteration to mark with a red dot; None marks nothing yet (the
        marker exists, empty, for a view to move later).
    **kwargs
        Passed to ``ax.plot`` for the curve.

    Returns
    -------
    LogLikelihoodArtists
        ``line`` (the curve) and ``marker`` (the current iteration).
    """
    ax = plt.gca() if ax is None else ax
    values = np.asarray(getattr(log_likelihoods, "log_likelihoods", log_likelihoods), dtype=float)
    iterations = np.arange(values.shape[0])
    kwargs.setdefault("color", "0.25")
    kwargs.setdefault("marker", ".")
    kwargs.setdefault("linewidth", 1.5)
    (line,) = ax.plot(iterations, values, **kwargs)
    if current is None:
        (marker,) = ax.plot([], [], "o", color="tab:red", markersize=8, zorder=3)
    else:
        (marker,) = ax.plot([current], [values[current]], "o", color="tab:red",
                            markersize=8, zorder=3)
    ax.set_xlabel("iteration t")
    ax.set_ylabel(r"log-likelihood $L(\theta_t)$")
    # Iterations are whole numbers.
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    # Plain numbers: an offset label ("-4.06e3 + ...") is hard to read aloud.
    ax.yaxis.get_major_formatter().set_useOffset(False)
    return LogLikelihoodArtists(line, marker)


def plot_responsibilities(ax, X, responsibilities, *, colors=None, dims=(0, 1),
                          key: bool = False, **kwargs) -> matplotlib.collections.PathCollection:
    """Scatter points coloured by their responsibilities, optionally with a key.

    The colour convention:

    - K = 2: the colour of point n is ``responsibility_colormap(colors)(gamma_n1)``,
      component 0's colour when gamma_n1 = 0, component 1's when it is 1,
      and (with the default colours) a neutral grey when EM cannot decide.
      This is exactly the blend :func:`responsibility_colors` makes (and the
      live view shows), drawn through a colour map so a colour bar can say
      what each colour means.
    - K > 2: blends of three or more colours are ambiguous (blue + yellow
      looks like a green component), so each point takes the colour of its
      most responsible component, and its area is ``s * max_k(gamma_nk)**2``
      (VanderPlas, Python Data Science Handbook 05.12): a token EM is sure
      about is a full-size dot, an uncertain one a small dot.

    Parameters
    ----------
    ax : matplotlib Axes or None
        Where to draw; None draws on the current axes.
    X : array-like of shape (n_samples, n_features)
    responsibilities : array-like of shape (n_samples, n_components)
        gamma_nk, each row summing to 1.
    colors : array-like of shape (n_components, 3), optional
        Default :func:`component_colors`.
    dims : (int, int), default=(0, 1)
        Features on x and y.
    key : bool, default=False
        Also draw the key (:func:`add_responsibility_key`): a colour bar of
        gamma_n1 for K = 2, a legend of component colours and dot sizes for K > 2.
    **kwargs
        Passed to ``ax.scatter``.

    Returns
    -------
    PathCollection
        The points; for K = 2 a mappable (colour map, limits 0 and 1) that
        ``figure.colorbar`` accepts.
    """
    ax = plt.gca() if ax is None else ax
    X = np.asarray(X, dtype=float)
    responsibilities = np.asarray(responsibilities, dtype=float)
    n_components = responsibilities.shape[1]
    colors = component_colors(n_components) if colors is None else np.asarray(colors, dtype=float)
    kwargs.setdefault("s", 14)
    kwargs.setdefault("alpha", 0.6)
    kwargs.setdefault("linewidths", 0)
    x, y = X[:, dims[0]], X[:, dims[1]]
    if n_components == 2:
        points = ax.scatter(x, y, c=responsibilities[:, 1], cmap=responsibility_colormap(colors),
                            vmin=0.0, vmax=1.0, **kwargs)
        points.update_scalarmappable()  # colours readable now, not only after a draw
    else:
        surest = responsibilities.max(axis=1)
        kwargs["s"] = np.asarray(kwargs["s"], dtype=float) * surest ** 2
        points = ax.scatter(x, y, c=colors[responsibilities.argmax(axis=1)], **kwargs)
    if key:
        add_responsibility_key(ax, n_components, colors=colors)
    return points


def _responsibility_legend_handles(n_components, colors, n_std=None) -> list:
    """For K > 2: each component's colour (dot, and line if n_std), and two dot sizes."""
    line = "-" if n_std is not None else "none"
    what = f": its tokens, {n_std:g}-sigma ellipse" if n_std is not None else ""
    handles = [Line2D([], [], linestyle=line, marker="o", markersize=6, color=colors[k],
                      label=f"component {k}{what}") for k in range(min(n_components, 10))]
    handles += [
        Line2D([], [], linestyle="none", marker="o", markersize=7, color="0.45",
               label=r"sure: $\max_k \gamma_{nk}$ = 1"),
        Line2D([], [], linestyle="none", marker="o", markersize=7 / 2, color="0.45",
               label=r"unsure: $\max_k \gamma_{nk}$ = 0.5"),
    ]
    return handles


def add_responsibility_key(ax, n_components: int, *, colors=None, axes=None):
    """The key to :func:`plot_responsibilities`' colours.

    Parameters
    ----------
    ax : matplotlib Axes
        The Axes the key belongs to (its figure gets the colour bar).
    n_components : int
        K.
    colors : array-like of shape (n_components, 3), optional
        Default :func:`component_colors`.
    axes : list of Axes, optional
        For K = 2: the Axes the colour bar takes its room from (default
        ``ax``); pass all panels of a figure for one shared bar.

    Returns
    -------
    matplotlib.colorbar.Colorbar or matplotlib.legend.Legend
        For K = 2 a colour bar of gamma_n1 from 0 (component 0 sure) through
        0.5 (undecided) to 1 (component 1 sure); for K > 2 a legend, outside
        the axes on the right, of the component colours and of two dot sizes.
    """
    colors = component_colors(n_components) if colors is None else np.asarray(colors, dtype=float)
    if n_components == 2:
        mappable = matplotlib.cm.ScalarMappable(norm=matplotlib.colors.Normalize(0.0, 1.0),
                                                cmap=responsibility_colormap(colors))
        colorbar = ax.get_figure().colorbar(mappable, ax=ax if axes is None else axes,
                                            ticks=[0.0, 0.5, 1.0], fraction=0.05, pad=0.02,
                                            shrink=0.8 if axes is None else 0.5, aspect=20,
                                            anchor=(0.0, 1.0))
        colorbar.ax.set_yticklabels(["0: component 0", "0.5: undecided", "1: component 1"],
                                    fontsize=8)
        colorbar.set_label(r"responsibility of component 1, $\gamma_{n1}$", fontsize=9)
        return colorbar
    handles = _responsibility_legend_handles(n_components, colors)
    return ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                     borderaxespad=0.0, frameon=False, fontsize=8)


# ---------------------------------------------------------------------------
# one state, several states


def _unpack_data(data, features=None):
    """(X, vowel_id or None, features or None) from VowelData or an array."""
    if isinstance(data, VowelData):
        return data.X, data.vowel_id, tuple(data.features)
    X = np.asarray(data, dtype=float)
    if X.ndim != 2 or X.shape[1] < 2:
        raise ValueError(
            f"data must be a VowelData or an array of shape (n_samples, n_features) "
            f"with at least 2 features; got shape {X.shape}."
        )
    return X, None, (tuple(features) if features is not None else None)


def _resolve_color_by(color_by, vowel_id):
    if color_by is None:
        return "vowel" if vowel_id is not None else "responsibility"
    if color_by not in ("vowel", "responsibility", "none"):
        raise ValueError(
            f"color_by must be 'vowel', 'responsibility' or 'none'; got {color_by!r}."
        )
    if color_by == "vowel" and vowel_id is None:
        raise ValueError(
            "color_by='vowel' needs to know each point's vowel: pass the VowelData "
            "from load_vowels as data, or use color_by='responsibility'."
        )
    return color_by


def _format_log_likelihood(value: float) -> str:
    # A degenerate initial guess can have L around -1e13; thousands
    # separators would make that a 20-character number.
    return f"{value:,.1f}" if abs(value) < 1e7 else f"{value:.3g}"


def _check_states_fit_data(state: EMState, X: np.ndarray) -> None:
    """Refuse to draw a run over data it was not fitted on."""
    n_samples, n_features = X.shape
    if state.means.shape[1] != n_features:
        raise ValueError(
            f"The states have {state.means.shape[1]} features but the data has "
            f"{n_features}. Pass the data the run was fitted on."
        )
    if state.responsibilities is not None and state.responsibilities.shape[0] != n_samples:
        raise ValueError(
            f"The states were fitted on {state.responsibilities.shape[0]} points but the "
            f"data has {n_samples}. Pass the data the run was fitted on (e.g. the same "
            "load_vowels(...) selection)."
        )


def _state_title(state: EMState) -> str:
    return f"iteration {state.iteration}   L = {_format_log_likelihood(state.log_likelihood)}"


def _log_likelihood_limits(values: np.ndarray):
    """y-limits for the log-likelihood curve, and whether L(theta_0) is left off.

    The initial guess can be far worse than everything after it (k-means++
    starts from single points with tiny covariances, L near -1e13); scaling
    the axis to include it would flatten the rest of the curve into a line.
    Then the limits cover iterations 1..T and the first point is off scale.
    """
    low, high = values.min(), values.max()
    initial_off_scale = False
    if values.shape[0] >= 3:
        rest_low, rest_high = values[1:].min(), values[1:].max()
        spread = max(rest_high - rest_low, 1e-9 * abs(rest_high), 1.0)
        if values[0] < rest_low - 5.0 * spread:
            low, high, initial_off_scale = rest_low, rest_high, True
    pad = 0.08 * (high - low) if high > low else max(1.0, 1e-3 * abs(high))
    return (low - pad, high + pad), initial_off_scale


def plot_state(ax, data, state: EMState, *, n_std: float = 2.0, color_by=None,
               vowel_chart: bool = False, dims=None, legend: bool = True,
               title: bool = True, features=None) -> dict:
    """Draw one EM state over the data: points, n-sigma ellipses, means.

    One colour meaning per axes, automatically:

    - ``color_by='vowel'``: points in vowel colours and markers; the
      ellipses and means in one neutral dark grey (:data:`OVER_VOWELS_COLOR`),
      told apart by line style (:func:`component_linestyles`), so a component
      is never mistaken for a vowel.
    - ``color_by='responsibility'`` or ``'none'``: the ellipses and means in
      the component colours, the points coloured by responsibility (see
      :func:`plot_responsibilities`) or grey.

    Parameters
    ----------
    ax : matplotlib Axes or None
        Where to draw; None draws on the current axes.
    data : VowelData or array-like of shape (n_samples, n_features)
        The points EM was fitted on.
    state : EMState
        The parameters to draw.
    n_std : float, default=2.0
        Mahalanobis radius of the ellipses.
    color_by : {'vowel', 'responsibility', 'none'}, optional
        Point colours; default 'vowel' when data is VowelData, otherwise
        'responsibility'.
    vowel_chart : bool, default=False
        Phoneticians' axes (F2 across decreasing, F1 down).
    dims : (int, int), optional
        Columns on x and y.
    legend : bool, default=True
        Keys, outside the axes on the right: the vowels (with vowel colours)
        and the ellipses ('2-sigma ellipse of component k'), and for
        responsibility colours the colour bar or legend of
        :func:`add_responsibility_key`.
    title : bool, default=True
        Title 'iteration t   L = ...'.
    features : sequence of str, optional
        Column names when data is a plain array.

    Returns
    -------
    dict
        'points' (PathCollection), 'ellipses' (list of Ellipse), 'means'
        (PathCollection), 'legend' (Legend or None), 'key' (the
        responsibility key or None), 'title' (Text or None).
    """
    ax = plt.gca() if ax is None else ax
    X, vowel_id, features = _unpack_data(data, features)
    color_by = _resolve_color_by(color_by, vowel_id)
    x_dim, y_dim = format_axes(ax, features, dims=dims, vowel_chart=vowel_chart)
    n_components = state.n_components
    colors = component_colors(n_components)
    scatter_kwargs = dict(s=10, alpha=0.55, linewidths=0)
    has_responsibilities = state.responsibilities is not None
    handles, key = [], None
    if color_by == "vowel":
        points = plot_vowels(ax, data, dims=(x_dim, y_dim), legend=False,
                             **scatter_kwargs).points
        handles = _vowel_legend_handles(vowel_id, marker=None)
    elif color_by == "responsibility" and has_responsibilities:
        points = plot_responsibilities(ax, X, state.responsibilities, colors=colors,
                                       dims=(x_dim, y_dim), **scatter_kwargs)
    else:
        points = ax.scatter(X[:, x_dim], X[:, y_dim], color=_UNLABELLED_COLOR, **scatter_kwargs)
    over_vowels = color_by == "vowel"
    if over_vowels:
        gaussians = plot_gaussians(
            ax, state.means, state.covariances, n_std,
            colors=np.tile(OVER_VOWELS_COLOR, (n_components, 1)), dims=(x_dim, y_dim),
            linestyles=component_linestyles(n_components), linewidth=1.5,
            mean_kwargs={"edgecolors": "white", "s": 90})
    else:
        gaussians = plot_gaussians(ax, state.means, state.covariances, n_std, colors=colors,
                                   dims=(x_dim, y_dim))
    _set_fixed_limits(ax, X[:, [x_dim, y_dim]], vowel_chart=vowel_chart)
    artist_legend = None
    if legend:
        if color_by == "responsibility" and has_responsibilities and n_components > 2:
            # Component colours mean both the dots and the ellipses.
            handles = _responsibility_legend_handles(n_components, colors, n_std)
        else:
            handles += component_legend_handles(n_components, n_std=n_std,
                                                over_vowels=over_vowels, colors=colors)
            if color_by == "responsibility" and has_responsibilities:
                key = add_responsibility_key(ax, 2, colors=colors)
        artist_legend = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                                  borderaxespad=0.0, frameon=False, fontsize=9)
        if color_by == "responsibility" and has_responsibilities and n_components > 2:
            key = artist_legend  # the legend is the key
    title_text = ax.set_title(_state_title(state), fontsize=10) if title else None
    return {"points": points, "ellipses": gaussians.ellipses, "means": gaussians.means,
            "legend": artist_legend, "key": key, "title": title_text}


def _off_scale_note(initial_log_likelihood: float) -> str:
    return (f"iteration 0: L = {_format_log_likelihood(initial_log_likelihood)},\n"
            "far below this axis")


def default_iterations(n_states: int) -> list:
    """Iterations worth a panel: 0, 1, 2, 5 and the last, those that exist."""
    last = n_states - 1
    return sorted({t for t in (0, 1, 2, 5) if t < last} | {last})


def plot_iterations(history, data=None, iterations=None, *, n_std: float = 2.0,
                    color_by=None, vowel_chart: bool = False, dims=None, ncols: int = 3,
                    panel_size=(3.6, 3.2), features=None) -> Figure:
    """Small multiples of chosen iterations and the log-likelihood curve.

    The static picture of a run, for places without interactive widgets
    (the inline backend, nbconvert, a notebook rendered on a website).

    Parameters
    ----------
    history : History
        A finished run (:func:`gmm_lab.run_em`).
    data : VowelData, optional
        The tokens the run was fitted on, for vowel colours and axis names;
        default ``history.X`` with responsibility colours.
    iterations : sequence of int, optional
        Which states to draw; default :func:`default_iterations` (0, 1, 2, 5, last).
        Negative numbers count from the end.
    n_std, color_by, vowel_chart, dims, features
        As in :func:`plot_state`.
    ncols : int, default=3
        Panels per row (the log-likelihood curve takes the last panel).
    panel_size : (float, float), default=(3.6, 3.2)
        Inches per panel.

    Returns
    -------
    matplotlib.figure.Figure
        A figure not registered with pyplot, so returning it from a notebook
        cell shows it exactly once.
    """
    data = history.X if data is None else data
    n_states = len(history)
    if iterations is None:
        iterations = default_iterations(n_states)
    # -1 is the last state, as in list indexing.
    iterations = [int(t) + n_states if int(t) < 0 else int(t) for t in iterations]
    bad = [t for t in iterations if not 0 <= t < n_states]
    if bad:
        raise ValueError(
            f"iterations {bad} are not in this run, which has states 0..{n_states - 1}."
        )
    n_panels = len(iterations) + 1
    ncols = max(1, min(ncols, n_panels))
    nrows = -(-n_panels // ncols)
    figure = Figure(figsize=(panel_size[0] * ncols + 1.6, panel_size[1] * nrows),
                    layout="constrained")
    axes = figure.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, t in zip(axes, iterations):
        # One legend for the whole figure (below), not one per panel.
        plot_state(ax, data, history[t], n_std=n_std, color_by=color_by,
                   vowel_chart=vowel_chart, dims=dims, legend=False, features=features)
    curve_ax = axes[len(iterations)]
    plot_log_likelihood(curve_ax, history)
    (low, high), initial_off_scale = _log_likelihood_limits(history.log_likelihoods)
    curve_ax.set_ylim(low, high)
    if initial_off_scale:
        curve_ax.text(0.97, 0.03, _off_scale_note(history.log_likelihoods[0]),
                      transform=curve_ax.transAxes, fontsize=8, color="0.35",
                      ha="right", va="bottom")
    curve_ax.plot(iterations, history.log_likelihoods[iterations], "o", color="tab:red",
                  markersize=6, label="shown")
    curve_ax.set_title("log-likelihood", fontsize=10)
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    # One key for the whole figure, on the right: the vowels and the
    # ellipses, or the responsibility colours and the ellipses.
    _, vowel_id, _ = _unpack_data(data, features)
    resolved = _resolve_color_by(color_by, vowel_id)
    n_components = history[0].n_components
    colors = component_colors(n_components)
    by_responsibility = resolved == "responsibility" and history[0].responsibilities is not None
    if by_responsibility and n_components > 2:
        handles = _responsibility_legend_handles(n_components, colors, n_std)
    else:
        handles = _vowel_legend_handles(vowel_id, marker=None) if resolved == "vowel" else []
        handles += component_legend_handles(n_components, n_std=n_std,
                                            over_vowels=resolved == "vowel", colors=colors)
    if by_responsibility and n_components == 2:
        add_responsibility_key(axes[0], 2, colors=colors, axes=list(axes[:n_panels]))
    figure.legend(handles=handles, loc="outside right upper", frameon=False, fontsize=9)
    figure.suptitle(
        f"EM, K = {history[0].n_components}, {history[0].covariance_type} covariances: "
        f"{n_std:g}-sigma ellipses ({100 * mass_within(n_std):.1f} % of each Gaussian)",
        fontsize=11,
    )
    return figure


# ---------------------------------------------------------------------------
# the live view


class _InsideFrame(BboxBase):
    """The box of an Axes less a margin, as wide as the spines plus 2 pixels.

    A clip box for artists that must never touch the axes' frame (spines
    and tick marks); it follows the Axes through resizes and dpi changes.
    """

    def __init__(self, ax):
        super().__init__()
        self._ax = ax

    def get_points(self):
        figure = self._ax.get_figure(root=True)
        spine_width = max(spine.get_linewidth() for spine in self._ax.spines.values())
        pad = 2.0 + spine_width * figure.dpi / 72.0
        (x0, y0), (x1, y1) = self._ax.bbox.get_points()
        return np.array([[x0 + pad, y0 + pad], [max(x0 + pad, x1 - pad), max(y0 + pad, y1 - pad)]])


class EMView:
    """A figure that shows any EM state by moving its artists in place.

    The scatter, one ellipse per component, the mean markers, the
    log-likelihood curve and the current-iteration marker are created once,
    here. :meth:`update` changes their positions, shapes and colours
    (``set_offsets``, ``set_center`` / ``set_width`` / ``set_height`` /
    ``set_angle``, ``set_facecolors``, ``set_data``) and asks for one render
    (``draw_idle``); nothing is cleared or plotted again, and the axis
    limits, fixed from the data when the view is made, never move.

    Parameters
    ----------
    data : VowelData or array-like of shape (n_samples, n_features)
        The points EM is fitted on. VowelData also gives vowel colours and
        axis names. With more than two features, ``dims`` picks the two shown.
    states : sequence of EMState, optional
        The states to show, e.g. a History, or a list that grows while EM
        runs (call :meth:`set_states` after it grows). The view starts on
        the first one. The room for the log-likelihood panel's tick labels
        is measured from these states, so pass at least state 0.
    n_components : int, optional
        K, needed only when ``states`` is empty (the artists are made now).
    n_std : float, default=2.0
        Mahalanobis radius of the ellipses (2 holds 86.5 % of the mass in 2-D).
    color_by : {'vowel', 'responsibility', 'none'}, optional
        Point colours; default 'vowel' for VowelData, else 'responsibility'
        (each point a blend of its components' colours, gamma_n @ colors).
    vowel_chart : bool, default=False
        Phoneticians' axes: F2 across decreasing, F1 down.
    dims : (int, int), optional
        Columns of X on x and y.
    show_log_likelihood : bool, default=True
        Draw the log-likelihood curve in a second panel.
    figure : matplotlib Figure, optional
        Draw into this (cleared) figure instead of making a new one.
    figsize : (float, float), default=(9.5, 4.2)
        Size of a new figure, in inches.
    features : sequence of str, optional
        Column names when data is a plain array.

    Attributes
    ----------
    figure : Figure
    ax, ax_curve : Axes
        The data panel and the log-likelihood panel (None if not shown).
    points : PathCollection
    ellipses : list of Ellipse
    means : PathCollection
    curve, marker : Line2D
    title : Text
    index : int or None
        Index in ``states`` of the state shown by :meth:`show`.
    """

    def __init__(self, data, states: Sequence[EMState] = (), *, n_components: int | None = None,
                 n_std: float = 2.0, color_by=None, vowel_chart: bool = False, dims=None,
                 show_log_likelihood: bool = True, figure=None, figsize=(9.5, 4.2),
                 features=None):
        self.data = data
        self.X, self.vowel_id, self.features = _unpack_data(data, features)
        if len(states):
            _check_states_fit_data(states[0], self.X)
        self.states = states
        if n_components is None:
            if len(states) == 0:
                raise ValueError("EMView needs n_components when it is given no states.")
            n_components = states[0].n_components
        self.n_components = int(n_components)
        self.n_std = float(n_std)
        self.color_by = _resolve_color_by(color_by, self.vowel_id)
        self.vowel_chart = bool(vowel_chart)
        self.component_colors = component_colors(self.n_components)
        self.index = None

        if figure is None:
            figure = plt.figure(figsize=figsize)
        self.figure = figure
        figure.clear()
        if show_log_likelihood:
            self.ax, self.ax_curve = figure.subplots(
                1, 2, gridspec_kw={"width_ratios": (1.35, 1.0)})
        else:
            self.ax, self.ax_curve = figure.subplots(), None

        self.dims = format_axes(self.ax, self.features, dims=dims,
                                vowel_chart=self.vowel_chart)
        self._make_artists()
        self._thin_ticks()
        self._freeze_layout()
        if len(states):
            # Placed, not rendered: whoever shows the figure renders it
            # (a notebook at the end of the cell, savefig).
            self.show(0, draw=False)

    # -- creation, once ----------------------------------------------------

    def _make_artists(self):
        ax = self.ax
        points_xy = self.X[:, list(self.dims)]
        scatter_kwargs = dict(s=12, alpha=0.6, linewidths=0)
        self.legend = None
        if self.color_by == "vowel":
            colors = [vowel_color(int(i)) for i in self.vowel_id]
            self.legend = ax.legend(handles=_vowel_legend_handles(self.vowel_id),
                                    loc="upper left", bbox_to_anchor=(1.01, 1.0),
                                    borderaxespad=0.0, frameon=False, fontsize=9,
                                    handletextpad=0.2)
        else:
            colors = [_UNLABELLED_COLOR] * points_xy.shape[0]
        self.points = ax.scatter(points_xy[:, 0], points_xy[:, 1], c=colors, **scatter_kwargs)
        _set_fixed_limits(ax, points_xy, vowel_chart=self.vowel_chart)

        # Placeholder shapes: the first update() puts every ellipse in place.
        n_features = self.X.shape[1]
        placeholder_means = np.tile(self.X.mean(axis=0), (self.n_components, 1))
        placeholder_covariances = np.tile(np.eye(n_features), (self.n_components, 1, 1))
        gaussians = plot_gaussians(ax, placeholder_means, placeholder_covariances, self.n_std,
                                   colors=self.component_colors, dims=self.dims)
        self.ellipses, self.means = gaussians.ellipses, gaussians.means
        # Clipped just inside the frame, so nothing that moves ever covers
        # the spines or tick marks.
        inside = _InsideFrame(ax)
        for artist in (self.points, *self.ellipses, self.means):
            artist.set_clip_box(inside)
        # An explicit y keeps titles where they are instead of matplotlib
        # checking, at every draw, whether tick labels are in their way.
        self.title = ax.set_title("", fontsize=10, loc="left", y=1.0)
        mass = 100 * mass_within(self.n_std)
        self.sigma_note = ax.set_title(f"{self.n_std:g}-sigma ellipses ({mass:.1f} % of each)",
                                       fontsize=8, color="0.4", loc="right", y=1.0)

        self.curve = self.marker = self.curve_title = self.off_scale_note = None
        if self.ax_curve is not None:
            self.curve, self.marker = plot_log_likelihood(self.ax_curve, [])
            self.curve_title = self.ax_curve.set_title("log-likelihood", fontsize=10, y=1.0)
            # Filled in by _rescale_curve when L(theta_0) is off the axis.
            # Bottom right: below a rising curve that flattens out.
            self.off_scale_note = self.ax_curve.text(
                0.97, 0.03, "", transform=self.ax_curve.transAxes, fontsize=8, color="0.35",
                ha="right", va="bottom")
            self._rescale_curve()

    def _thin_ticks(self):
        # Text is the slowest thing Agg draws (about a millisecond per label
        # on a slow machine) and every tick label is redrawn at every frame;
        # five or so per axis are plenty to read the values off.
        from matplotlib.ticker import MaxNLocator

        round_steps = [1, 2, 2.5, 5, 10]  # ticks at 250 or 500 Hz, never 150
        self.ax.xaxis.set_major_locator(MaxNLocator(nbins=5, steps=round_steps))
        self.ax.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=round_steps))
        if self.ax_curve is not None:
            self.ax_curve.xaxis.set_major_locator(
                MaxNLocator(nbins=5, steps=[1, 2, 5, 10], integer=True))
            self.ax_curve.yaxis.set_major_locator(MaxNLocator(nbins=4, steps=round_steps))

    def _freeze_layout(self):
        # Constrained layout finds room for the outside legend and the tick
        # labels, but costs tens of milliseconds per draw; the layout does not
        # change while scrubbing, so compute it once and keep it.
        self.figure.set_layout_engine("constrained")
        self.figure.draw_without_rendering()
        self.figure.set_layout_engine("none")
        # Likewise matplotlib places each axis label at every draw by
        # measuring all the tick labels; pin the labels where that first
        # draw put them (in axes coordinates, so a dpi change keeps them).
        for ax in self.figure.axes:
            for axis in (ax.xaxis, ax.yaxis):
                label = axis.label
                anchor = label.get_transform().transform(label.get_position())
                axis.set_label_coords(*ax.transAxes.inverted().transform(anchor))

    # -- log-likelihood curve, when states arrive ---------------------------

    def set_states(self, states: Sequence[EMState]) -> None:
        """Use a new (or grown) sequence of states, e.g. while EM is running.

        Redraws the log-likelihood curve and rescales only its panel (the
        data panel keeps its limits). It does not render the figure: the
        next :meth:`show` or :meth:`update` does, once.
        """
        self.states = states
        self._rescale_curve()

    def _rescale_curve(self):
        if self.curve is None:
            return
        values = np.array([state.log_likelihood for state in self.states], dtype=float)
        self.curve.set_data(np.arange(values.shape[0]), values)
        last = max(values.shape[0] - 1, 1)
        self.ax_curve.set_xlim(-0.05 * last, last * 1.05)
        if values.size:
            (low, high), initial_off_scale = _log_likelihood_limits(values)
            self.ax_curve.set_ylim(low, high)
            self.off_scale_note.set_text(
                _off_scale_note(values[0]) if initial_off_scale else "")

    # -- per frame ----------------------------------------------------------

    def show(self, index: int, *, draw: bool = True) -> None:
        """Show ``states[index]`` (see :meth:`update`)."""
        state = self.states[index]
        self.index = int(index) % len(self.states)
        self.update(state, draw=draw)

    def update(self, state: EMState, *, draw: bool = True) -> None:
        """Move every artist to ``state`` and ask for one render.

        Parameters
        ----------
        state : EMState
            Must have the view's number of components.
        draw : bool, default=True
            Ask the canvas for a render (``draw_idle``). Pass False when the
            caller renders the figure anyway (saving animation frames,
            ``savefig``).
        """
        if state.n_components != self.n_components:
            raise ValueError(
                f"This view was made for {self.n_components} components; the state "
                f"has {state.n_components}. Make a new EMView for a different K."
            )
        self._move_artists(state)
        if draw:
            self.figure.canvas.draw_idle()

    def _move_artists(self, state: EMState) -> None:
        means, covariances = _select_block(state.means, state.covariances, self.dims)
        width, height, angle = ellipse_geometry(covariances, self.n_std)
        for k, ellipse in enumerate(self.ellipses):
            ellipse.set_center(means[k])
            ellipse.set_width(width[k])
            ellipse.set_height(height[k])
            ellipse.set_angle(angle[k])
        self.means.set_offsets(means)
        if self.color_by == "responsibility" and state.responsibilities is not None:
            self.points.set_facecolors(
                responsibility_colors(state.responsibilities, self.component_colors))
        if self.marker is not None:
            bottom = min(self.ax_curve.get_ylim())
            if state.log_likelihood < bottom:
                # Off the axis (a degenerate initial guess): pin the marker to
                # the bottom edge, pointing down to where the value really is.
                self.marker.set_data([state.iteration], [bottom])
                self.marker.set_marker("v")
            else:
                self.marker.set_data([state.iteration], [state.log_likelihood])
                self.marker.set_marker("o")
        if self.ax_curve is None:
            self.title.set_text(_state_title(state))
        else:
            # L is on the curve's panel; the data panel's title stays short
            # so it never runs into the n-sigma note beside it.
            self.title.set_text(f"iteration {state.iteration}")
            self.curve_title.set_text(
                f"log-likelihood L = {_format_log_likelihood(state.log_likelihood)}")


# ---------------------------------------------------------------------------
# a whole run as an animated GIF


def save_animation(history, path, data=None, *, fps: float = 4, dpi: float = 80,
                   progress_callback=None, figsize=(9.5, 4.2), **view_options) -> int:
    """Write one frame per EM state to an animated GIF (Pillow writer).

    Parameters
    ----------
    history : History
        A finished run.
    path : str or path-like
        Where to write the GIF.
    data : VowelData, optional
        The tokens the run was fitted on; default ``history.X``.
    fps : float, default=4
        Frames (iterations) per second.
    dpi : float, default=80
        Resolution of the frames.
    progress_callback : callable, optional
        Called as ``progress_callback(frame_number, total_frames)`` after
        each frame, e.g. to advance a progress bar.
    figsize : (float, float), default=(9.5, 4.2)
        Size of the frames, in inches.
    **view_options
        Passed to :class:`EMView` (``n_std``, ``color_by``, ``vowel_chart``, ...).

    Returns
    -------
    int
        The number of frames written, ``len(history)``.
    """
    from matplotlib.animation import FuncAnimation, PillowWriter

    # A figure outside pyplot: nothing to close afterwards, nothing shown.
    figure = Figure(figsize=figsize)
    view = EMView(history.X if data is None else data, history, figure=figure, **view_options)

    def draw_frame(index):
        # The writer renders each frame itself, so no redraw here.
        view.show(index, draw=False)
        return []

    n_frames = len(history)
    animation = FuncAnimation(figure, draw_frame, frames=n_frames, init_func=lambda: [],
                              interval=1000 / fps, repeat=False)
    animation.save(path, writer=PillowWriter(fps=fps), dpi=dpi,
                   progress_callback=progress_callback)
    return n_frames
