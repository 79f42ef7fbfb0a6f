"""Classifying vowels with one Gaussian mixture per vowel.

Each class c (a vowel) gets its own mixture p(x | c), fitted by EM on that
class's training tokens. A token is given the class with the largest
posterior: argmax_c log p(x | c) + log P(c). With equal priors this is the
maximum-likelihood rule of the handout's course task.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .data import SPEAKER_GROUPS, VowelData
from .gaussian import logsumexp_rows
from .mixture import GaussianMixture

__all__ = ["GMMClassifier", "speaker_split", "plot_decision_map"]


class GMMClassifier(ClassifierMixin, BaseEstimator):
    """One :class:`~gmm_lab.GaussianMixture` per class, combined by Bayes' rule.

    Parameters
    ----------
    n_components : int, default=1
        K, components per class.
    covariance_type : {'full', 'diag', 'spherical', 'tied'}, default='full'
    priors : {'equal', 'empirical'}, default='equal'
        P(c): equal for every class (maximum likelihood), or the class
        frequencies of the training data.
    reg_covar, max_iter, tol, n_init, init_params, random_state
        Passed to each class's GaussianMixture.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    mixtures_ : list of GaussianMixture
        The fitted mixture of each class, in the order of ``classes_``.
    log_priors_ : ndarray of shape (n_classes,)
    """

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        priors="equal",
        reg_covar=1e-6,
        max_iter=100,
        tol=1e-3,
        n_init=1,
        init_params="kmeans",
        random_state=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.priors = priors
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state

    def fit(self, X, y):
        """Fit one mixture per class on that class's rows of X."""
        X, y = validate_data(self, X, y)
        if self.priors not in ("equal", "empirical"):
            raise ValueError(f"priors must be 'equal' or 'empirical'; got {self.priors!r}.")
        self.classes_, counts = np.unique(y, return_counts=True)
        if self.classes_.size < 2:
            raise ValueError(f"GMMClassifier needs at least 2 classes; y has {self.classes_.size}.")
        self.mixtures_ = [
            GaussianMixture(
                self.n_components,
                covariance_type=self.covariance_type,
                reg_covar=self.reg_covar,
                max_iter=self.max_iter,
                tol=self.tol,
                n_init=self.n_init,
                init_params=self.init_params,
                random_state=self.random_state,
            ).fit(X[y == label])
            for label in self.classes_
        ]
        if self.priors == "equal":
            self.log_priors_ = np.full(self.classes_.size, -np.log(self.classes_.size))
        else:
            self.log_priors_ = np.log(counts / counts.sum())
        return self

    def class_log_likelihoods(self, X):
        """log p(x_n | c) for every token and class, shape (n_samples, n_classes)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return np.column_stack([mixture.score_samples(X) for mixture in self.mixtures_])

    def predict_log_proba(self, X):
        """log P(c | x_n), shape (n_samples, n_classes)."""
        joint = self.class_log_likelihoods(X) + self.log_priors_
        return joint - logsumexp_rows(joint)[:, np.newaxis]

    def predict_proba(self, X):
        """P(c | x_n), shape (n_samples, n_classes)."""
        return np.exp(self.predict_log_proba(X))

    def predict(self, X):
        """argmax_c log p(x_n | c) + log P(c), shape (n_samples,)."""
        joint = self.class_log_likelihoods(X) + self.log_priors_
        return self.classes_[joint.argmax(axis=1)]


def speaker_split(data: VowelData, test_size=0.25, random_state=0) -> tuple:
    """Split tokens by speaker, so no test speaker is heard in training.

    A random row split would put one repetition of a speaker's vowel in
    training and the other in testing; a classifier then partly recognises
    the speaker. Here whole speakers are held out, the same fraction from
    each group (men, women, children).

    Parameters
    ----------
    data : VowelData
    test_size : float, default=0.25
        Fraction of each group's speakers held out.
    random_state : int, default=0

    Returns
    -------
    train, test : ndarray of bool, shape (n_samples,)
        Row masks into ``data``.
    """
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be between 0 and 1; got {test_size}.")
    rng = np.random.default_rng(random_state)
    test_speakers = []
    for group in SPEAKER_GROUPS:
        speakers = np.unique(data.speaker[data.speaker_type == group])
        if speakers.size:
            n_test = max(1, round(test_size * speakers.size))
            test_speakers.extend(rng.choice(speakers, n_test, replace=False))
    test = np.isin(data.speaker, test_speakers)
    return ~test, test


def plot_decision_map(ax, classifier, *, xlim, ylim, colors=None, resolution=300, alpha=0.25, **kwargs):
    """Shade the F1/F2 plane by the class the classifier predicts there.

    Parameters
    ----------
    ax : matplotlib Axes
    classifier : fitted classifier with ``predict`` and ``classes_``
        Trained on two features, in the axes' x, y order.
    xlim, ylim : (float, float)
        The region of the plane to shade.
    colors : sequence of colours, optional
        One per class, in the order of ``classifier.classes_``.
    resolution : int, default=300
        Grid points along each axis.
    alpha : float, default=0.25
    **kwargs
        Passed to ``ax.pcolormesh``.

    Returns
    -------
    QuadMesh
    """
    from matplotlib.colors import ListedColormap

    xs = np.linspace(*xlim, resolution)
    ys = np.linspace(*ylim, resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    predicted = classifier.predict(np.column_stack([grid_x.ravel(), grid_y.ravel()]))
    index = np.searchsorted(classifier.classes_, predicted).reshape(grid_x.shape)
    n_classes = len(classifier.classes_)
    if colors is None:
        colors = [f"C{i}" for i in range(n_classes)]
    return ax.pcolormesh(
        grid_x,
        grid_y,
        index,
        cmap=ListedColormap(list(colors)),
        vmin=-0.5,
        vmax=n_classes - 0.5,
        alpha=alpha,
        shading="auto",
        **kwargs,
    )
