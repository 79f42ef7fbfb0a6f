"""Notebook widgets for watching EM, drawn in the browser.

Both are anywidgets running one ES module (``gmm_lab/viewer/em_view.js``):
the kernel sends the parameters theta_t of each state, the browser draws
every frame itself (the scatter, the n-sigma ellipses, the log-likelihood
curve, the readout, the E- and M-step panels).

- :func:`show_history` shows a finished run (:class:`Scrubber`, which is
  :class:`gmm_lab.viewer.EMViewerWidget`): the whole run is sent once, and
  scrubbing never waits for the kernel.
- :class:`LiveRunner` (:class:`gmm_lab.viewer.live.LiveRunnerWidget`) runs
  EM in the kernel and sends each iteration as it is computed.

No ``%matplotlib widget`` is needed. Where no widget can be drawn, the
output falls back to the same viewer as a self-contained page (``text/html``,
what ``jupyter nbconvert --to html`` uses when no widget state is saved)
and to a PNG picture of the run (renderers that run no scripts).
"""

from __future__ import annotations

from gmm_lab.viewer.live import LiveRunnerWidget
from gmm_lab.viewer.widget import EMViewerWidget

__all__ = ["show_history", "Scrubber", "LiveRunner"]

#: The scrubber of a finished run is the browser viewer.
Scrubber = EMViewerWidget
#: The live runner is the browser viewer with the runner's controls.
LiveRunner = LiveRunnerWidget


def show_history(history, data=None, **options) -> EMViewerWidget:
    """Show a finished run in the browser viewer: slider, Play, half-steps, E- and M-step panels.

    Parameters
    ----------
    history : History
        From :func:`gmm_lab.run_em`, on two features.
    data : VowelData or array-like of shape (n_samples, 2), optional
        The tokens the run was fitted on (vowel colours, speaker groups, axis names).
    **options
        Passed to :func:`gmm_lab.viewer.history_payload`: ``n_std``,
        ``fps``, ``half_steps``, ``color_by`` ('responsibility' or 'vowel'),
        ``vowel_chart``, ``reg_covar``, ``title``.

    Returns
    -------
    EMViewerWidget
        Shown when it is a cell's last value. In a notebook opened without a
        kernel, its saved output is a self-contained page of the run
        (``text/html``) and a picture of it (``image/png``).
    """
    return EMViewerWidget(history, data, **options)
