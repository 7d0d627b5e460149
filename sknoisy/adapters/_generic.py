"""Adapter for any scikit-learn classifier with ``predict_proba``.

Methods that only need probabilities and embeddings from a model (data
pruning's warm-up, a re-labeling model fitted once) accept classifiers beyond
the linear models and skorch networks. :class:`ProbaAdapter` gives them the
:class:`ModelAdapter` interface: a
:class:`~sklearn.neural_network.MLPClassifier` exposes its last hidden layer
as embeddings and its output layer as the last linear layer; any other
classifier exposes its input features as embeddings and its log-probabilities
as logits.
"""

import numpy as np
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils.validation import has_fit_parameter

from ._base import ModelAdapter, link_loss_and_residuals

_INT32_MAX = np.iinfo(np.int32).max


def _mlp_activation(name):
    # scikit-learn's own in-place activations, so the hidden layer matches
    # MLPClassifier's forward pass exactly.
    from sklearn.neural_network._base import ACTIVATIONS

    return ACTIVATIONS[name]


class ProbaAdapter(ModelAdapter):
    """Drive any classifier with ``fit`` and ``predict_proba``.

    - :class:`~sklearn.neural_network.MLPClassifier` (alone or last in a
      :class:`~sklearn.pipeline.Pipeline`): the embedding is the output of
      the last hidden layer, the logits are the output layer's
      pre-activation (one logit for two classes); :meth:`fit_epoch` and
      :meth:`train_step` call ``partial_fit``.
    - any other classifier: the embedding is the input as received, the
      logits are ``log(predict_proba)`` (a softmax link reproduces the
      probabilities), :meth:`fit_epoch` calls ``partial_fit`` when the model
      has it and otherwise refits it (so per-epoch statistics of a model
      without ``partial_fit`` see identical epochs), and :meth:`train_step`
      needs ``partial_fit``.

    Every ``random_state`` parameter of the estimator (and of its Pipeline
    steps) is set from the ``random_state`` given to :meth:`fit` and
    :meth:`initialize`.

    Parameters
    ----------
    estimator : estimator object
        A clone of the user's classifier, owned by the adapter.

    n_classes : int
        Number of classes of the encoded labels.
    """

    def __init__(self, estimator, n_classes):
        super().__init__(estimator, n_classes)
        if not hasattr(estimator, "predict_proba"):
            raise TypeError(
                f"{type(estimator).__name__} has no predict_proba; sknoisy needs "
                "class probabilities from the model."
            )
        self._shuffle_rng = None

    @property
    def model(self):
        """The final classifier."""
        if isinstance(self.estimator, Pipeline):
            return self.estimator.steps[-1][1]
        return self.estimator

    @property
    def supports_steps(self):
        """Whether the model can take a single optimisation step."""
        return hasattr(self.model, "partial_fit")

    @property
    def _is_mlp(self):
        return isinstance(self.model, MLPClassifier)

    @property
    def link(self):
        """``"binary"`` for a two-class MLP (one logit), else ``"softmax"``."""
        if self._is_mlp and self.model.out_activation_ == "logistic":
            return "binary"
        return "softmax"

    def _transform(self, X):
        if isinstance(self.estimator, Pipeline) and len(self.estimator.steps) > 1:
            return self.estimator[:-1].transform(X)
        return X

    def _seed(self, random_state):
        rng = check_random_state(random_state)
        seed, shuffle_seed = rng.randint(_INT32_MAX, size=2)
        keys = [
            key
            for key in self.estimator.get_params(deep=True)
            if key == "random_state" or key.endswith("__random_state")
        ]
        if keys:
            self.estimator.set_params(**dict.fromkeys(keys, int(seed)))
        self._shuffle_rng = np.random.default_rng(shuffle_seed)

    # ----------------------------------------------------------- training
    def initialize(self, X, y, random_state=None):
        """Seed the model and fit any preprocessing; training starts afresh.

        See :meth:`ModelAdapter.initialize` for the parameters and return value.
        """
        self._seed(random_state)
        if isinstance(self.estimator, Pipeline) and len(self.estimator.steps) > 1:
            self.estimator[:-1].fit(X, y)
        if "warm_start" in self.model.get_params():
            self.model.set_params(warm_start=False)
        return self

    def fit(self, X, y, sample_weight=None, random_state=None):
        """Fit from scratch, forwarding ``sample_weight`` to the model.

        See :meth:`ModelAdapter.fit` for the parameters and return value.
        """
        self._seed(random_state)
        with self.blas_threads(X):
            self.estimator.fit(X, y, **self._weight_params(sample_weight))
        return self

    def _weight_params(self, sample_weight):
        if sample_weight is None:
            return {}
        if not has_fit_parameter(self.model, "sample_weight"):
            raise TypeError(
                f"{type(self.model).__name__}.fit does not accept sample_weight."
            )
        if isinstance(self.estimator, Pipeline):
            return {f"{self.estimator.steps[-1][0]}__sample_weight": sample_weight}
        return {"sample_weight": sample_weight}

    def fit_epoch(self, X, y, sample_weight=None):
        """Train one more epoch: ``partial_fit`` on shuffled rows, or a refit.

        See :meth:`ModelAdapter.fit_epoch` for the parameters and return value.
        """
        if self._shuffle_rng is None:
            self.initialize(X, y)
        with self.blas_threads(X):
            if not self.supports_steps:
                # Same seed every time: a model without partial_fit repeats its fit.
                self.estimator.fit(X, y, **self._weight_params(sample_weight))
                return self
            order = self._shuffle_rng.permutation(X.shape[0])
            weight = None if sample_weight is None else sample_weight[order]
            self._partial_fit(X[order], y[order], weight)
        return self

    def train_step(self, X, y, sample_weight=None):
        """Take one ``partial_fit`` step on a batch.

        See :meth:`ModelAdapter.train_step` for the parameters and return value.
        """
        if not self.supports_steps:
            raise TypeError(
                f"{type(self.model).__name__} has no partial_fit and cannot take a "
                "single training step."
            )
        losses = None
        if getattr(self.model, "classes_", None) is not None:
            losses = self.per_sample_loss(X, y)
            if sample_weight is not None:
                losses = losses * sample_weight
        self._partial_fit(X, y, sample_weight)
        return float("nan") if losses is None else float(losses.mean())

    def _partial_fit(self, X, y, sample_weight):
        Xt = self._transform(X)
        params = {"classes": np.arange(self.n_classes)}
        if sample_weight is not None:
            params["sample_weight"] = sample_weight
        self.model.partial_fit(Xt, y, **params)

    # ---------------------------------------------------------- inference
    def predict_proba(self, X):
        """Return probabilities with one column per encoded class.

        See :meth:`ModelAdapter.predict_proba` for the parameters and return
        value; classes missing from the training labels get zero columns.
        """
        proba = np.asarray(self.estimator.predict_proba(X), dtype=np.float64)
        seen = np.asarray(self.model.classes_, dtype=np.intp)
        if len(seen) == self.n_classes:
            return proba
        full = np.zeros((proba.shape[0], self.n_classes))
        full[:, seen] = proba
        return full

    def forward(self, X, training=False):
        """Return the logits and the embeddings (see the class docstring).

        See :meth:`ModelAdapter.forward` for the parameters and return value;
        ``training`` makes no difference (scikit-learn models have no modes).
        """
        if not self._is_mlp:
            proba = self.predict_proba(X)
            return np.log(np.maximum(proba, np.finfo(np.float64).tiny)), X
        mlp = self.model
        hidden = self._transform(X)
        activation = _mlp_activation(mlp.activation)
        for weight, bias in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1], strict=True):
            hidden = np.asarray(hidden @ weight) + bias
            activation(hidden)
        logits = hidden @ mlp.coefs_[-1] + mlp.intercepts_[-1]
        return logits, hidden

    def loss_and_residuals(self, X, y):
        """Return per-sample losses, ``∂loss/∂logits`` and the embeddings.

        See :meth:`ModelAdapter.loss_and_residuals` for the parameters and
        return value.
        """
        logits, embeddings = self.forward(X)
        losses, residuals = link_loss_and_residuals(logits, y, self.link)
        return losses, residuals, embeddings
