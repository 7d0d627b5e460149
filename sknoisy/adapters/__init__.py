"""The model-adapter layer: one interface over linear models and skorch nets.

Each noisy-label method talks to its base model only through a
:class:`ModelAdapter`, obtained from :func:`make_adapter`. The adapter clones
the user's estimator and answers, for linear scikit-learn models and skorch
networks alike: fit with per-sample weights, one weighted training step or
epoch, probabilities, per-sample losses, last-layer per-sample gradients and
embeddings. torch is imported only when a skorch network is adapted.
"""

from sklearn.base import clone

from ._base import ModelAdapter, link_loss_and_residuals
from ._generic import ProbaAdapter
from ._linear import LinearAdapter, is_linear_classifier


def is_skorch_net(estimator):
    """Return whether ``estimator`` is a skorch network, without importing torch.

    Parameters
    ----------
    estimator : object
        Any object.

    Returns
    -------
    is_net : bool
        True when a class in ``type(estimator).__mro__`` is skorch's
        ``NeuralNet``.
    """
    return any(
        cls.__name__ == "NeuralNet" and cls.__module__.startswith("skorch")
        for cls in type(estimator).__mro__
    )


def make_adapter(estimator, n_classes, *, any_classifier=False, **kwargs):
    """Clone ``estimator`` and wrap the clone in the matching adapter.

    Parameters
    ----------
    estimator : estimator object
        A skorch ``NeuralNetClassifier``, or a linear scikit-learn classifier
        (:class:`~sknoisy.linear_model.SoftmaxRegression`,
        :class:`~sklearn.linear_model.LogisticRegression`,
        :class:`~sklearn.linear_model.SGDClassifier` with ``loss="log_loss"``),
        alone or at the end of a :class:`~sklearn.pipeline.Pipeline`. It is
        cloned, never modified.

    n_classes : int
        Number of classes of the encoded labels.

    any_classifier : bool, default=False
        Also accept any other classifier with ``predict_proba``, through a
        :class:`ProbaAdapter` (an ``MLPClassifier``'s last hidden layer as
        embeddings, the input features for other models), for methods that
        need only probabilities and embeddings.

    **kwargs : dict
        Passed to the adapter (``last_layer`` for skorch networks).

    Returns
    -------
    adapter : ModelAdapter
        A :class:`LinearAdapter` or a ``SkorchAdapter``.

    Raises
    ------
    TypeError
        When no adapter supports ``estimator``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sknoisy.adapters import make_adapter
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
    >>> y = np.array([0, 1, 0, 1])
    >>> adapter = make_adapter(LogisticRegression(), n_classes=2).fit(X, y)
    >>> adapter.per_sample_loss(X, y).shape
    (4,)
    """
    if is_skorch_net(estimator):
        from ._skorch import SkorchAdapter

        return SkorchAdapter(clone(estimator), n_classes, **kwargs)
    if is_linear_classifier(estimator):
        return LinearAdapter(clone(estimator), n_classes, **kwargs)
    if any_classifier and hasattr(estimator, "predict_proba"):
        return ProbaAdapter(clone(estimator), n_classes, **kwargs)
    raise TypeError(
        f"sknoisy cannot drive a {type(estimator).__name__}: the base estimator "
        "must be a skorch NeuralNetClassifier or a linear classifier "
        "(SoftmaxRegression, LogisticRegression, SGDClassifier(loss='log_loss')), "
        "alone or as the last step of a Pipeline."
    )


__all__ = [
    "LinearAdapter",
    "ModelAdapter",
    "ProbaAdapter",
    "is_linear_classifier",
    "is_skorch_net",
    "link_loss_and_residuals",
    "make_adapter",
]
