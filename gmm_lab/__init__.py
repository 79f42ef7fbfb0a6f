"""gmm_lab: watch a Gaussian Mixture Model being fitted by EM, on real vowels.

The pieces, in the order data flows through them::

    load_vowels()            Peterson & Barney's F1/F2 (data)
    get_predictions(), responsibilities(), log_gaussian_density()   (gaussian)
    e_step(), m_step(), reference_em()   EM written to be read         (reference)
    em(), run_em()           the EM generator and history, on the fast engine (_em)
    GaussianMixture          scikit-learn's estimator, on the same EM  (mixture)
    plot_state(), EMView     pictures; artists made once, moved in place (plotting)
    Scrubber, LiveRunner     the notebook viewers (widgets, imported on demand)
    GMMClassifier            one mixture per vowel (classify)
"""

from .data import VOWELS, VowelData, load_vowels, vowel_info
# The loop lives in the private module gmm_lab._em, so that gmm_lab.em is
# only ever the function.
from ._em import e_step, em, initial_parameters, m_step, run_em
from .exceptions import CollapsedComponentWarning, RegularizationWarning, SingularCovarianceError
from .gaussian import (
    get_predictions,
    log_gaussian_density,
    log_responsibilities,
    logsumexp_rows,
    responsibilities,
)
from .states import EMState, History

__version__ = "0.1.0"

# Names whose modules are imported on first use: scikit-learn (the
# estimator, the classifier) costs about a second, scipy.stats (ellipses)
# and matplotlib (plotting) as much again, scipy.linalg (the reference EM)
# 0.2 s, and a script that only runs EM needs none of them. ``from gmm_lab import GaussianMixture`` and
# ``gmm_lab.GaussianMixture`` work as before.
_LAZY = {
    "log_likelihood": "reference",
    "reference_em": "reference",
    "GaussianMixture": "mixture",
    "GMMClassifier": "classify",
    "speaker_split": "classify",
    "ellipse_boundary": "ellipses",
    "ellipse_geometry": "ellipses",
    "mass_within": "ellipses",
}
_PLOTTING = (
    "EMView",
    "plot_gaussians",
    "plot_iterations",
    "plot_log_likelihood",
    "plot_responsibilities",
    "plot_state",
    "plot_vowels",
    "save_animation",
)
_LAZY.update(dict.fromkeys(_PLOTTING, "plotting"))


def __getattr__(name):
    from importlib import import_module

    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    try:  # a submodule not imported yet, e.g. gmm_lab.mixture
        return import_module(f".{name}", __name__)
    except ModuleNotFoundError as error:
        if error.name != f"{__name__}.{name}":
            raise
    raise AttributeError(f"module 'gmm_lab' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "VOWELS",
    "VowelData",
    "load_vowels",
    "vowel_info",
    "CollapsedComponentWarning",
    "RegularizationWarning",
    "SingularCovarianceError",
    "e_step",
    "em",
    "initial_parameters",
    "m_step",
    "reference_em",
    "run_em",
    "get_predictions",
    "log_gaussian_density",
    "log_likelihood",
    "log_responsibilities",
    "logsumexp_rows",
    "responsibilities",
    "GaussianMixture",
    "GMMClassifier",
    "speaker_split",
    "ellipse_boundary",
    "ellipse_geometry",
    "mass_within",
    "EMState",
    "History",
] + list(_PLOTTING)
