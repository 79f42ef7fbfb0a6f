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

__all__ = [
    "GMMClassifier",
    "speaker_split",
    "plot_decision_map",
    "full_covariances",
    "plot_classifier_map",
    "plot_confusion",
]

# The classes' ellipses are drawn over vowel-coloured tokens, so they get no
# vowel colour of their own: one dark grey, a line style per class.
ELLIPSE_COLOR = (0.12, 0.12, 0.12)
_CLASS_LINESTYLES = ("-", "--", "-.", ":")


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


def full_covariances(mixture) -> np.ndarray:
    """The covariances of a fitted mixture as full matrices, whatever its type.

    Parameters
    ----------
    mixture : fitted GaussianMixture (gmm_lab's or scikit-learn's)

    Returns
    -------
    ndarray of shape (n_components, n_features, n_features)
        'full' as stored; 'diag' rows (n_components, n_features) put on the
        diagonal; 'spherical' (n_components,) times the identity; 'tied'
        (n_features, n_features) repeated for every component.
    """
    covariances = np.asarray(mixture.covariances_, dtype=float)
    n_components, n_features = mixture.means_.shape
    kind = mixture.covariance_type
    if kind == "full":
        return covariances.copy()
    if kind == "diag":
        return covariances[:, :, np.newaxis] * np.eye(n_features)
    if kind == "spherical":
        return covariances[:, np.newaxis, np.newaxis] * np.eye(n_features)
    if kind == "tied":
        return np.broadcast_to(covariances, (n_components, n_features, n_features)).copy()
    raise ValueError(f"covariance_type must be 'full', 'diag', 'spherical' or 'tied'; got {kind!r}.")


def _rows(data: VowelData, mask) -> VowelData:
    """The tokens of ``data`` selected by the boolean ``mask``."""
    return VowelData(
        X=data.X[mask],
        features=data.features,
        vowel_id=data.vowel_id[mask],
        vowel=data.vowel[mask],
        speaker_type=data.speaker_type[mask],
        speaker=data.speaker[mask],
        agreed=data.agreed[mask],
    )


def _padded_limits(values, margin=0.06):
    low, high = float(np.min(values)), float(np.max(values))
    pad = margin * (high - low)
    return low - pad, high + pad


def plot_classifier_map(ax, classifier, data: VowelData, train, *, n_std: float = 2.0,
                        xlim=None, ylim=None, resolution: int = 300):
    """The decision map, each class's mixture ellipses, and train and test tokens.

    Shading is the predicted vowel (:func:`plot_decision_map`). Each class's
    mixture p(x | c) is drawn as the ``n_std``-sigma ellipses of its
    components in one dark grey, a line style per class (solid for the
    first class, dashed for the second, ...), with an 'X' at each mean.
    Tokens keep their vowel's colour: training tokens small and faint, test
    tokens (``~train``) large with a black edge, and a test token the
    classifier gets wrong is ringed.

    Parameters
    ----------
    ax : matplotlib Axes
    classifier : fitted GMMClassifier
        Trained on the two columns of ``data.X`` (x = column 0, y = column 1).
    data : VowelData
        Tokens with two features, e.g. F1 and F2.
    train : array-like of bool, shape (n_samples,)
        True for the rows the classifier was trained on; the others are test tokens.
    n_std : float, default=2.0
        Mahalanobis radius of the ellipses.
    xlim, ylim : (float, float), optional
        Region to shade; default the data's range plus 6 %.
    resolution : int, default=300

    Returns
    -------
    dict
        ``map`` (QuadMesh), ``ellipses`` (list of GaussianArtists, one per
        class), ``train``, ``test`` (VowelArtists), ``errors`` (the rings
        around misclassified test tokens) and ``legend``.
    """
    from matplotlib.lines import Line2D

    from .plotting import plot_gaussians, plot_vowels, vowel_color

    if data.X.shape[1] != 2:
        raise ValueError(f"plot_classifier_map draws two features; data has {data.X.shape[1]} ({data.features}).")
    train = np.asarray(train, dtype=bool)
    xlim = _padded_limits(data.X[:, 0]) if xlim is None else xlim
    ylim = _padded_limits(data.X[:, 1]) if ylim is None else ylim
    colors = [vowel_color(label) for label in classifier.classes_]
    shading = plot_decision_map(ax, classifier, xlim=xlim, ylim=ylim, colors=colors,
                                resolution=resolution, alpha=0.2)
    ellipses, ellipse_handles = [], []
    for index, (label, mixture) in enumerate(zip(classifier.classes_, classifier.mixtures_)):
        style = _CLASS_LINESTYLES[index % len(_CLASS_LINESTYLES)]
        n_components = mixture.means_.shape[0]
        ellipses.append(plot_gaussians(
            ax, mixture.means_, full_covariances(mixture), n_std,
            colors=np.tile(ELLIPSE_COLOR, (n_components, 1)), linestyle=style, linewidth=1.5,
            mean_kwargs={"s": 70, "edgecolors": "white", "linewidths": 0.8}))
        ellipse_handles.append(Line2D([], [], color=ELLIPSE_COLOR, linestyle=style, linewidth=1.5,
                                      label=f"{label}: {n_std:g}σ ellipses of its {n_components} components"))
    train_artists = plot_vowels(ax, _rows(data, train), s=9, alpha=0.45, legend=False)
    test_artists = plot_vowels(ax, _rows(data, ~train), s=34, alpha=0.95, edgecolors="black",
                               linewidths=0.7, legend=True)
    vowel_handles = list(test_artists.legend.legend_handles)
    test_artists.legend.remove()
    test_X, test_y = data.X[~train], data.vowel[~train]
    wrong = classifier.predict(test_X) != test_y
    errors = ax.scatter(test_X[wrong, 0], test_X[wrong, 1], s=200, facecolors="none",
                        edgecolors="black", linewidths=1.5, zorder=5)
    gray = (0.5, 0.5, 0.5)
    token_handles = [
        Line2D([], [], linestyle="none", marker="o", markersize=3.5, color=gray, alpha=0.6,
               label=f"training token ({int(train.sum())})"),
        Line2D([], [], linestyle="none", marker="o", markersize=7, color=gray, markeredgecolor="black",
               label=f"test token ({int((~train).sum())})"),
        Line2D([], [], linestyle="none", marker="o", markersize=13, color="none", markeredgecolor="black",
               markeredgewidth=1.5, label=f"misclassified test token ({int(wrong.sum())})"),
        Line2D([], [], linestyle="none", marker="X", markersize=9, color=ELLIPSE_COLOR,
               markeredgecolor="white", label="component mean"),
    ]
    legend = ax.legend(handles=vowel_handles + token_handles + ellipse_handles, loc="upper left",
                       bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False, fontsize=9)
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    return {"map": shading, "ellipses": ellipses, "train": train_artists, "test": test_artists,
            "errors": errors, "legend": legend}


def plot_confusion(ax, y_true, y_pred, labels, *, tick_labels=None, min_percent: float = 1.0):
    """The confusion matrix in row percentages: each row is a spoken vowel.

    Cell (i, j) is 100 * (tokens of vowel i predicted as j) / (tokens of
    vowel i), so every row sums to 100 and the diagonal is each vowel's
    recall; cells of at least ``min_percent`` are written out.

    Parameters
    ----------
    ax : matplotlib Axes
    y_true, y_pred : array-like of shape (n_samples,)
        Spoken and predicted labels.
    labels : sequence of str
        Row and column order.
    tick_labels : sequence of str, optional
        Row names (default ``labels``); columns always show ``labels``.
    min_percent : float, default=1.0

    Returns
    -------
    percentages : ndarray of shape (n_labels, n_labels)
    image : AxesImage
    """
    from sklearn.metrics import confusion_matrix

    percentages = 100 * confusion_matrix(y_true, y_pred, labels=labels, normalize="true")
    image = ax.imshow(percentages, cmap="Blues", vmin=0, vmax=100)
    n_labels = len(labels)
    ax.set(xticks=range(n_labels), yticks=range(n_labels), xlabel="predicted vowel", ylabel="spoken vowel")
    ax.set_xticklabels(labels)
    ax.set_yticklabels(labels if tick_labels is None else tick_labels)
    for (row, col), value in np.ndenumerate(percentages):
        if value >= min_percent:
            ax.text(col, row, f"{value:.0f}", ha="center", va="center", fontsize=8,
                    color="white" if value > 50 else "black")
    return percentages, image
