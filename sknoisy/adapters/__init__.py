"""The model-adapter layer: one interface over linear models and skorch nets.

Each noisy-label method talks to its base model only through a
:class:`ModelAdapter`, obtained from :func:`make_adapter`. The adapter clones
the user's estimator and answers, for linear scikit-learn models and skorch
networks alike: fit with per-sample weights, one weighted training step or
epoch, probabilities, per-sample losses, last-layer per-sample gradients and
embeddings. torch is imported only when a skorch network is adapted.
"""

from contextlib import nullcontext
from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state

from ..utils._threads import blas_threads_for_fit
from ..utils._validation import as_float32
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


def private_random_stream(estimator, seed=None):
    """Context in which ``estimator`` draws on a private random stream.

    A skorch network draws on the global torch stream: inside the context it
    draws on a fork of it, seeded by ``seed`` (None continues from the
    caller's state), and the caller's stream is not advanced
    (:func:`~sknoisy.adapters._skorch.fork_torch_rng`). Other estimators keep
    their own ``random_state``: the context does nothing for them.

    Parameters
    ----------
    estimator : estimator object
        The model about to be fitted or to predict.

    seed : int, default=None
        Seed of the forked torch stream.

    Returns
    -------
    context : context manager
    """
    if not is_skorch_net(estimator):
        return nullcontext()
    from ._skorch import fork_torch_rng

    return fork_torch_rng(estimator.device, seed)


def fit_as_configured(estimator, n_classes, X, y, random_state=None):
    """Fit a clone of ``estimator`` with its own ``fit``, as its user would.

    The do-no-harm fallback of every method returns this model, so that
    falling back gives the model the user would have had without sknoisy:
    the estimator's own training loop (a skorch network's data loader,
    validation split and callbacks; a linear model's solver), not the
    adapter's.

    Parameters
    ----------
    estimator : estimator object
        A model :func:`make_adapter` accepts; cloned, never modified.

    n_classes : int
        Number of classes of the encoded labels ``y``.

    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Training data.

    y : ndarray of shape (n_samples,)
        Labels encoded as ``0 .. n_classes - 1``.

    random_state : int, RandomState instance or None, default=None
        Randomness the estimator leaves open. A ``random_state`` parameter
        the user left None takes an int drawn from it (an int is passed on
        as is). A skorch network draws on the torch stream: it is seeded
        with ``random_state`` itself when that is an int, and otherwise
        continues from the caller's torch state; either way on a fork, so
        the caller's stream is not advanced.

    Returns
    -------
    adapter : ModelAdapter
        The fitted model, adapted for :meth:`ModelAdapter.predict_proba`.
    """
    seed = random_state
    if random_state is not None and not isinstance(random_state, Integral):
        seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    estimator = clone(estimator)
    if is_skorch_net(estimator):
        from ._skorch import SkorchAdapter, fork_torch_rng

        if estimator.get_params().get("classes") is None:
            # What the net would infer from y when every class occurs in it;
            # set so a fold missing a class still gets one column per class.
            estimator.set_params(classes=np.arange(n_classes))
        # The adapter feeds networks float32 batches; so does this fit.
        X = as_float32(X, "X")
        with fork_torch_rng(estimator.device, seed):
            estimator.fit(X, y)
        return SkorchAdapter(estimator, n_classes, configure=False)
    unset = {
        key: seed
        for key, value in estimator.get_params(deep=True).items()
        if key.split("__")[-1] == "random_state" and value is None
    }
    estimator.set_params(**unset)
    # A solver's products on all rows: small ones run on one BLAS thread.
    with blas_threads_for_fit(X, n_classes):
        estimator.fit(X, y)
    if is_linear_classifier(estimator):
        return LinearAdapter(estimator, n_classes)
    return ProbaAdapter(estimator, n_classes)


__all__ = [
    "LinearAdapter",
    "ModelAdapter",
    "ProbaAdapter",
    "fit_as_configured",
    "is_linear_classifier",
    "is_skorch_net",
    "link_loss_and_residuals",
    "make_adapter",
    "private_random_stream",
]
