"""Colours that stay: a new run's components take the colours of the previous run's nearest ones.

When a run is restarted (new initial means, another seed), component k of
the new run has no reason to be component k of the old one. Matching the
components by their means (a minimum-cost assignment on the squared
distances between final means) and handing the colours over keeps "the
blue one" the same cluster from run to run, so a student sees what moved.

Colours are handed over as positions in the component palette
(:func:`gmm_lab.plotting.component_colors`), so a run with more or fewer
components than the last never shows two shades of one colour.
"""

from __future__ import annotations

import matplotlib.colors
import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["matched_indices", "colors_from_indices", "start_summaries"]


def matched_indices(previous_means, previous_indices, means) -> list:
    """Palette positions for a new run's components, matched to the previous run's by their means.

    Parameters
    ----------
    previous_means : array-like of shape (n_previous, n_features)
        Final means of the previous run.
    previous_indices : sequence of n_previous int
        The palette position of each previous component's colour.
    means : array-like of shape (n_components, n_features)
        Final means of the new run.

    Returns
    -------
    list of int
        n_components distinct positions: component j of the new run gets the
        position of the previous component assigned to it, the assignment
        minimising sum_j ||mu_j - mu'_{a(j)}||^2 (scipy's
        ``linear_sum_assignment``); components without a partner (more than
        before) get the smallest positions not in use.
    """
    previous_means = np.asarray(previous_means, dtype=float)
    means = np.asarray(means, dtype=float)
    previous_indices = [int(i) for i in previous_indices]
    if len(previous_indices) != previous_means.shape[0]:
        raise ValueError(f"previous_indices has {len(previous_indices)} entries for "
                         f"{previous_means.shape[0]} previous means.")
    cost = ((means[:, np.newaxis, :] - previous_means[np.newaxis, :, :]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    indices = [None] * means.shape[0]
    for j, i in zip(rows, cols):
        indices[j] = previous_indices[i]
    free = (i for i in range(len(indices) + len(previous_indices)) if i not in indices)
    return [next(free) if index is None else index for index in indices]


def colors_from_indices(indices) -> list:
    """Hex colours of palette positions, from :func:`gmm_lab.plotting.component_colors`.

    Positions {0, 1} of two components use the two-component pair (blue and
    its mirror orange, whose blend is grey); any other set uses the palette
    of max(K, largest position + 1, 3) colours (Okabe-Ito up to eight,
    then tab20), so every position names one colour whatever K is.
    """
    from ..plotting import component_colors

    indices = [int(i) for i in indices]
    size = max(len(indices), max(indices) + 1)
    if sorted(indices) != [0, 1]:
        size = max(size, 3)
    palette = component_colors(size)
    return [matplotlib.colors.to_hex(palette[i]) for i in indices]


def start_summaries(histories, titles, reference: int = 0) -> list:
    """Summaries of several runs for the side-by-side comparison, colours matched to one run.

    Parameters
    ----------
    histories : sequence of History
        The runs (e.g. the starts of ``gmm-lab --n-init``).
    titles : sequence of str
        How to name each run, e.g. 'seed 3'.
    reference : int, default=0
        The run whose components keep the default colours (the run shown in
        the viewer); every other run's components take the colour of the
        reference component matched to them (:func:`matched_indices`).

    Returns
    -------
    list of dict
        :func:`gmm_lab.viewer.payload.run_summary` of each run, in order,
        for ``history_payload(..., starts=...)``.
    """
    from .payload import run_summary

    histories = list(histories)
    kept = histories[reference].final
    summaries = []
    for history, title in zip(histories, titles, strict=True):
        indices = matched_indices(kept.means, range(kept.n_components), history.final.means)
        summaries.append(run_summary(history, colors_from_indices(indices), title))
    return summaries
