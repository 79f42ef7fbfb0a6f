"""gmm_lab: watch a Gaussian Mixture Model being fitted by EM, on real vowels.

The pieces, in the order data flows through them::

    load_vowels()            Peterson & Barney's F1/F2 (data)
    get_predictions(), responsibilities(), log_gaussian_density()   (gaussian)
    em(), run_em(), e_step(), m_step()   the EM generator and history  (em)
    GaussianMixture          scikit-learn's estimator, on the same EM  (mixture)
    plot_state(), EMView     pictures; artists made once, moved in place (plotting)
    Scrubber, LiveRunner     the notebook viewers (widgets, imported on demand)
    GMMClassifier            one mixture per vowel (classify)
"""

from .data import VOWELS, VowelData, load_vowels, vowel_info
from .em import (
    CollapsedComponentWarning,
    RegularizationWarning,
    e_step,
    em,
    initial_parameters,
    m_step,
    run_em,
)
from .gaussian import (
    SingularCovarianceError,
    get_predictions,
    log_gaussian_density,
    log_likelihood,
    log_responsibilities,
    logsumexp_rows,
    responsibilities,
)
from .classify import GMMClassifier, speaker_split
from .ellipses import ellipse_boundary, ellipse_geometry, mass_within
from .mixture import GaussianMixture
from .states import EMState, History

__version__ = "0.1.0"

# The plotting names are imported on first use: matplotlib costs a second and
# tens of MiB, which a script that only fits (or the estimator checks) does
# not need.
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


def __getattr__(name):
    if name in _PLOTTING:
        from . import plotting

        return getattr(plotting, name)
    raise AttributeError(f"module 'gmm_lab' has no attribute {name!r}")


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
