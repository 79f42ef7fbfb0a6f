"""Colours that stay: a new run's components take the colours of the previous run's nearest ones.

When a run is restarted (new initial means, another seed), component k of
the new run has no reason to be component k of the old one. Matching the
components by their means (a minimum-cost assignment on the squared
distances between final means) and handing the colours over keeps "the
blue one" the same cluster from run to run, so a student sees what moved.
"""

from __future__ import annotations

import matplotlib.colors
import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["matched_colors"]


def matched_colors(previous_means, previous_colors, means, palette) -> list:
    """Colours for a new run's components, matched to the previous run's by their means.

    Parameters
    ----------
    previous_means : array-like of shape (n_previous, n_features)
        Final means of the previous run.
    previous_colors : sequence of n_previous colours
        The colours the previous run's components had.
    means : array-like of shape (n_components, n_features)
        Final means of the new run.
    palette : sequence of colours
        Where new components that have no partner (more components than
        before) take their colours from: the first not already in use.

    Returns
    -------
    list of str
        n_components hex colours: component j of the new run gets the colour
        of the previous component assigned to it, where the assignment
        minimises sum_j ||mu_j - mu'_{a(j)}||^2 (scipy's
        ``linear_sum_assignment``); the others get unused palette colours.
    """
    previous_means = np.asarray(previous_means, dtype=float)
    means = np.asarray(means, dtype=float)
    previous_colors = [matplotlib.colors.to_hex(c) for c in previous_colors]
    palette = [matplotlib.colors.to_hex(c) for c in palette]
    if len(previous_colors) != previous_means.shape[0]:
        raise ValueError(f"previous_colors has {len(previous_colors)} colours for "
                         f"{previous_means.shape[0]} previous means.")
    cost = ((means[:, np.newaxis, :] - previous_means[np.newaxis, :, :]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    colors = [None] * means.shape[0]
    for j, i in zip(rows, cols):
        colors[j] = previous_colors[i]
    spare = [c for c in palette if c not in colors]
    for j in range(means.shape[0]):
        if colors[j] is None:
            if not spare:
                raise ValueError(f"the palette has no colour left for component {j}; "
                                 f"pass a palette of at least {means.shape[0]} colours.")
            colors[j] = spare.pop(0)
    return colors
