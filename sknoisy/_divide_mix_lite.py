"""DivideMix-lite: a small re-labeling classifier for noisy labels.

It splits the rows by their out-of-fold loss as DivideMix does (a two-component
Gaussian mixture), re-labels the high-loss rows by label spreading from the
low-loss ones and refits the model on the corrected labels. Prune4ReL selects
data for such a re-labeling model and uses this one by default.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    _fit_context,
    clone,
)
from sklearn.linear_model import LogisticRegression
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.semi_supervised import LabelSpreading
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .adapters import is_skorch_net, private_random_stream
from .utils._meta import seed_estimator
from .utils._threads import blas_threads_for_fit
from .utils._validation import as_float32, check_trusted

_INT32_MAX = np.iinfo(np.int32).max


def _default_final_estimator():
    return LogisticRegression(max_iter=1000)


class DivideMixLiteClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """A small re-labeling model: detect noisy labels by loss, re-label, refit.

    A scikit-learn stand-in for the deep re-labeling models (DivideMix,
    SOP+) that Prune4ReL selects data for:

    1. out-of-fold cross-entropy of ``estimator`` against the given labels,
       min-max normalised;
    2. a two-component :class:`~sklearn.mixture.GaussianMixture` on those
       losses (DivideMix's split); a row is noisy when its posterior for the
       low-loss component is below ``clean_threshold``, unless it is marked
       ``trusted`` in :meth:`fit` (its label is verified);
    3. the noisy rows are re-labelled by
       :class:`~sklearn.semi_supervised.LabelSpreading` (k-NN kernel) from
       the clean ones;
    4. ``estimator`` is refitted on all rows with the corrected labels.

    Parameters
    ----------
    estimator : classifier, default=None
        The model used for the out-of-fold losses and the final fit; needs
        ``predict_proba``. ``None`` means
        ``LogisticRegression(max_iter=1000)``.

    cv : int, default=5
        Number of stratified folds for the out-of-fold losses (lowered to the
        size of the smallest class, at least 2).

    n_neighbors : int, default=7
        Neighbours of the label-spreading k-NN kernel.

    clean_threshold : float in (0, 1), default=0.5
        A row whose low-loss posterior is below this is treated as noisy.

    random_state : int, RandomState instance or None, default=None
        Seeds the folds' shuffling, the mixture and ``estimator``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen in :meth:`fit`.

    n_features_in_ : int
        Number of features seen during :meth:`fit`.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :meth:`fit`, when ``X`` has string
        column names.

    estimator_ : estimator object
        Clone of ``estimator`` fitted on the corrected labels.

    noisy_mask_ : ndarray of shape (n_samples,), dtype=bool
        Rows detected as noisy.

    y_relabeled_ : ndarray of shape (n_samples,)
        The corrected labels.

    See Also
    --------
    Prune4ReLSelector : Uses this classifier as its default re-labeling model.

    References
    ----------
    .. [1] J. Li, R. Socher and S. C. H. Hoi, "DivideMix: Learning with Noisy
       Labels as Semi-supervised Learning", ICLR 2020.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sknoisy import DivideMixLiteClassifier
    >>> from sknoisy.noise import make_label_noise
    >>> X, y = load_iris(return_X_y=True)
    >>> y_noisy = make_label_noise(y, 0.3, random_state=0)
    >>> clf = DivideMixLiteClassifier(random_state=0).fit(X, y_noisy)
    >>> bool((clf.y_relabeled_ == y).mean() > (y_noisy == y).mean())
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "clean_threshold": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        cv=5,
        n_neighbors=7,
        clean_threshold=0.5,
        random_state=None,
    ):
        self.estimator = estimator
        self.cv = cv
        self.n_neighbors = n_neighbors
        self.clean_threshold = clean_threshold
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, trusted=None):
        """Detect and re-label noisy rows, then fit the final estimator.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,)
            Noisy labels, of any type.

        trusted : array-like of shape (n_samples,) of bool, default=None
            Rows whose labels in ``y`` are verified: they are never treated
            as noisy, so they keep their labels and anchor the label
            spreading. None means no row is trusted.

        Returns
        -------
        self : DivideMixLiteClassifier
            Fitted estimator.
        """
        X, y = validate_data(self, X, y, accept_sparse="csr")
        check_classification_targets(y)
        trusted = check_trusted(trusted, X.shape[0])
        base = (
            self.estimator if self.estimator is not None else _default_final_estimator()
        )
        if is_skorch_net(base):
            X = as_float32(X, "X")
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        rng = check_random_state(self.random_state)
        fold_seed, mixture_seed, model_seed = rng.randint(_INT32_MAX, size=3)
        # The folds' and the final solvers multiply all rows by a few
        # columns, over and over (BLAS); the mixture's k-means and the
        # spreading's k-NN search run in OpenMP loops: for small data, one
        # thread is faster than a pool (several times so on a busy machine).
        with blas_threads_for_fit(X, len(self.classes_), openmp=True):
            self._fit(X, y_enc, trusted, base, fold_seed, mixture_seed, model_seed)
        return self

    def _fit(self, X, y_enc, trusted, base, fold_seed, mixture_seed, model_seed):
        """Detect, re-label and refit: the body of :meth:`fit`."""
        # A skorch network has no random_state: it draws on a private torch
        # stream seeded like the other models.
        with private_random_stream(base, int(model_seed)):
            noisy = self._detect_noisy(
                X, y_enc, base, fold_seed, mixture_seed, model_seed
            )
        noisy &= ~trusted
        y_new = y_enc.copy()
        if noisy.any():
            partial = np.where(noisy, -1, y_enc)
            n_neighbors = min(self.n_neighbors, X.shape[0] - 1)
            spreading = LabelSpreading(kernel="knn", n_neighbors=n_neighbors)
            spread = spreading.fit(X, partial).transduction_.astype(np.intp)
            # Soft clamping may move clean labels too; only noisy rows change.
            y_new[noisy] = spread[noisy]
            if len(np.unique(y_new)) < 2:
                # Spreading swallowed all but one class: keep the given labels.
                noisy = np.zeros_like(noisy)
                y_new = y_enc.copy()
        self.noisy_mask_ = noisy
        self.y_relabeled_ = self.classes_[y_new]
        self.estimator_ = seed_estimator(clone(base), model_seed)
        labels = self.y_relabeled_
        if is_skorch_net(base):
            # A network trains on the encoded classes (any label type) and
            # keeps a column for a class that re-labeling removed.
            self.estimator_.set_params(classes=np.arange(len(self.classes_)))
            labels = y_new
        with private_random_stream(base, int(model_seed)):
            self.estimator_.fit(X, labels)

    def _detect_noisy(self, X, y_enc, base, fold_seed, mixture_seed, model_seed):
        counts = np.bincount(y_enc)
        n_splits = min(self.cv, int(counts.min()))
        noisy = np.zeros(len(y_enc), dtype=bool)
        if len(counts) < 2 or n_splits < 2 or len(y_enc) < 4:
            return noisy  # too few rows per class to judge any label
        folds = StratifiedKFold(n_splits, shuffle=True, random_state=fold_seed)
        model = seed_estimator(clone(base), model_seed)
        proba = cross_val_predict(model, X, y_enc, cv=folds, method="predict_proba")
        loss = -np.log(np.clip(proba[np.arange(len(y_enc)), y_enc], 1e-12, None))
        span = loss.max() - loss.min()
        if span <= 0:
            return noisy
        loss = ((loss - loss.min()) / span)[:, None]
        mixture = GaussianMixture(
            2, max_iter=10, tol=1e-2, reg_covar=5e-4, random_state=mixture_seed
        )
        with warnings.catch_warnings():
            # Ten EM steps are the recipe; the mixture need not converge.
            warnings.simplefilter("ignore")
            posterior = mixture.fit(loss).predict_proba(loss)
        clean = posterior[:, np.argmin(mixture.means_.ravel())]
        noisy = clean < self.clean_threshold
        return noisy if not noisy.all() else np.zeros_like(noisy)

    def _validated(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False)
        return as_float32(X, "X") if is_skorch_net(self.estimator_) else X

    def _output(self, method, X):
        """``estimator_.<method>(X)``; a network's on a forked torch stream."""
        with private_random_stream(self.estimator_):
            return getattr(self.estimator_, method)(X)

    def predict(self, X):
        """Predict with the refitted ``estimator_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels.
        """
        X = self._validated(X)
        y_pred = self._output("predict", X)
        return self.classes_[y_pred] if is_skorch_net(self.estimator_) else y_pred

    def predict_proba(self, X):
        """Return the class probabilities of the refitted ``estimator_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_`` (zero for a class that
            re-labeling removed).
        """
        X = self._validated(X)
        proba = self._output("predict_proba", X)
        seen = self.estimator_.classes_
        if is_skorch_net(self.estimator_) or len(seen) == len(self.classes_):
            return proba
        full = np.zeros((proba.shape[0], len(self.classes_)))
        full[:, np.searchsorted(self.classes_, seen)] = proba
        return full

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
