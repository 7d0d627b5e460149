"""Pieces every sknoisy meta-estimator shares: delegation checks and tags."""

from numbers import Integral

import numpy as np
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)


def base_estimator(meta):
    """Return ``meta.estimator``, or ``meta``'s default model when it is None."""
    if meta.estimator is None:
        return meta._make_default_estimator()
    return meta.estimator


def seed_estimator(estimator, seed):
    """Set every ``random_state`` of ``estimator`` (and its steps) to ``seed``.

    The meta-estimators seed the clones they fit from their own
    ``random_state``, so that a seeded meta-estimator gives the same fit
    twice whatever the wrapped model's own setting.

    Parameters
    ----------
    estimator : estimator instance
        Modified in place; pass a clone.

    seed : int
        The seed.

    Returns
    -------
    estimator : estimator instance
        The same object.
    """
    keys = [
        key
        for key in estimator.get_params(deep=True)
        if key == "random_state" or key.endswith("__random_state")
    ]
    if keys:
        estimator.set_params(**dict.fromkeys(keys, int(seed)))
    return estimator


def user_random_state(random_state, draw_seed):
    """Return the ``random_state`` a fallback fits the user's own model with.

    Falling back returns the model the user would have fitted
    (:func:`sknoisy.adapters.fit_as_configured`): it takes the
    meta-estimator's ``random_state`` itself when that is None or an int, so
    that the fallback equals the user's fit seeded the same way; a
    ``RandomState`` instance cannot be passed on unchanged, so an int is
    drawn instead.

    Parameters
    ----------
    random_state : int, RandomState instance or None
        The meta-estimator's ``random_state``.

    draw_seed : callable
        ``draw_seed() -> int``, called only for a ``RandomState`` instance.

    Returns
    -------
    random_state : int or None
    """
    if random_state is None or isinstance(random_state, Integral):
        return random_state
    return int(draw_seed())


def estimator_has(attr):
    """Return an :func:`available_if` check for ``attr`` on the wrapped model.

    The fitted ``estimator_`` decides once there is one, the base estimator
    (see :func:`base_estimator`) before.
    """

    def check(self):
        if hasattr(self, "estimator_"):
            return hasattr(self.estimator_, attr)
        return hasattr(base_estimator(self), attr)

    return check


def accepts_sparse(estimator):
    """Whether ``estimator``'s tags say it takes sparse input."""
    try:
        return get_tags(estimator).input_tags.sparse
    except (AttributeError, TypeError):  # pragma: no cover - foreign objects
        return False


class AdapterPredictionMixin:
    """Prediction through the model adapter of a meta-estimator that trains it.

    For estimators that train their model themselves through
    ``self._adapter`` (a :class:`~sknoisy.adapters.ModelAdapter` over
    ``estimator_``, with labels encoded as ``0 .. n_classes - 1``), set
    together with ``estimator_``.
    """

    def _validated(self, X):
        check_is_fitted(self, "estimator_")
        return validate_data(
            self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=False
        )

    @available_if(estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Return the trained model's class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``.
        """
        X = self._validated(X)  # raises NotFittedError before _adapter exists
        return self._adapter.predict_proba(X)

    @available_if(estimator_has("predict_proba"))
    def predict_log_proba(self, X):
        """Return the log of the trained model's class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    @available_if(estimator_has("predict_proba"))
    def predict(self, X):
        """Predict the most probable class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels, in the label space of ``y``.
        """
        proba = self.predict_proba(X)  # raises NotFittedError before classes_
        return self.classes_[np.argmax(proba, axis=1)]


class SamplerFeatureNamesMixin:
    """``get_feature_names_out`` of an estimator whose ``fit_resample`` keeps columns.

    A label corrector returns rows of ``X`` with every column unchanged, so
    its output features are its input features, as for imbalanced-learn's
    samplers in a pipeline.
    """

    def get_feature_names_out(self, input_features=None):
        """Names of the features ``fit_resample`` returns: the input's.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Input feature names; None means ``feature_names_in_`` when the
            estimator was fitted on a DataFrame, else ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str
            The same names, in the same order.
        """
        check_is_fitted(self, "n_features_in_")
        return _check_feature_names_in(self, input_features)
