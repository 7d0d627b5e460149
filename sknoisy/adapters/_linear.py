"""Adapter for linear scikit-learn classifiers, optionally in a Pipeline."""

import numpy as np
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV, SGDClassifier
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils.validation import has_fit_parameter

from ..linear_model import SoftmaxRegression
from ._base import ModelAdapter, link_loss_and_residuals

_INT32_MAX = np.iinfo(np.int32).max


def is_linear_classifier(estimator):
    """Return whether :class:`LinearAdapter` can drive ``estimator``.

    Parameters
    ----------
    estimator : estimator object
        A classifier, or a :class:`~sklearn.pipeline.Pipeline` ending in one.

    Returns
    -------
    supported : bool
        True for :class:`~sknoisy.linear_model.SoftmaxRegression`,
        :class:`~sklearn.linear_model.LogisticRegression` (and its CV
        variant) and :class:`~sklearn.linear_model.SGDClassifier`, alone or
        as the last step of a Pipeline.
    """
    final = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    return isinstance(
        final,
        SoftmaxRegression | LogisticRegression | LogisticRegressionCV | SGDClassifier,
    )


class LinearAdapter(ModelAdapter):
    """Drive a linear scikit-learn classifier for the noisy-label methods.

    The model is the last step of ``estimator`` (or ``estimator`` itself);
    earlier Pipeline steps transform the features, and their output is the
    embedding. Per-sample gradients are taken with respect to the model's own
    ``coef_``: ``n_classes`` rows for :class:`SoftmaxRegression` and for
    multinomial :class:`~sklearn.linear_model.LogisticRegression`, one row for
    scikit-learn's binary models, one row per class for one-vs-rest
    :class:`~sklearn.linear_model.SGDClassifier`.

    How training is driven depends on what the model can do:

    - :class:`~sknoisy.linear_model.SoftmaxRegression`: one Adam step per
      :meth:`train_step`, one pass over shuffled mini-batches per
      :meth:`fit_epoch`;
    - :class:`~sklearn.linear_model.SGDClassifier` (``loss="log_loss"``):
      ``partial_fit`` on the batch, or on the whole shuffled data per epoch;
    - :class:`~sklearn.linear_model.LogisticRegression`: it has no notion of
      a step, so :meth:`train_step` raises ``TypeError`` and
      :meth:`fit_epoch` is a warm-started refit to convergence (a documented
      fallback: methods that update weights once per epoch update them once
      per refit instead).

    Parameters
    ----------
    estimator : estimator object
        A clone of the user's model, owned by the adapter.

    n_classes : int
        Number of classes of the encoded labels.
    """

    def __init__(self, estimator, n_classes):
        super().__init__(estimator, n_classes)
        if not is_linear_classifier(estimator):
            raise TypeError(
                f"LinearAdapter cannot drive {type(estimator).__name__}; it needs "
                "SoftmaxRegression, LogisticRegression or SGDClassifier, alone or "
                "at the end of a Pipeline."
            )
        if isinstance(self.model, SGDClassifier) and self.model.loss != "log_loss":
            raise ValueError(
                "SGDClassifier must use loss='log_loss' to give probabilities "
                f"and log-loss gradients; got loss={self.model.loss!r}."
            )
        self._shuffle_rng = None

    # -------------------------------------------------------------- parts
    @property
    def model(self):
        """The final linear classifier."""
        if isinstance(self.estimator, Pipeline):
            return self.estimator.steps[-1][1]
        return self.estimator

    @property
    def supports_steps(self):
        """Whether the model can take a single optimisation step."""
        return isinstance(self.model, SoftmaxRegression | SGDClassifier)

    @property
    def link(self):
        """``"softmax"``, ``"binary"`` (one logit) or ``"ovr"``."""
        if isinstance(self.model, SoftmaxRegression):
            return "softmax"
        if self.n_classes == 2:
            return "binary"
        return "ovr" if isinstance(self.model, SGDClassifier) else "softmax"

    def _transform(self, X):
        if isinstance(self.estimator, Pipeline) and len(self.estimator.steps) > 1:
            return self.estimator[:-1].transform(X)
        return X

    # ----------------------------------------------------------- training
    def initialize(self, X, y, random_state=None):
        """Fit any preprocessing and give the model fresh parameters.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : ndarray of shape (n_samples,)
            Encoded labels.

        random_state : int, RandomState instance or None, default=None
            Seed of the initialisation and of the epoch shuffling.

        Returns
        -------
        self : LinearAdapter
            The initialised adapter.
        """
        rng = check_random_state(random_state)
        init_seed, shuffle_seed = rng.randint(_INT32_MAX, size=2)
        self._shuffle_rng = np.random.default_rng(shuffle_seed)
        if isinstance(self.estimator, Pipeline) and len(self.estimator.steps) > 1:
            self.estimator[:-1].fit(X, y)
        X = self._transform(X)
        model = self.model
        classes = np.arange(self.n_classes)
        if isinstance(model, SoftmaxRegression):
            model.classes_ = classes
            model.n_features_in_ = X.shape[1]
            model._initialize(
                X.shape[1], self.n_classes, np.random.default_rng(init_seed)
            )
        elif isinstance(model, SGDClassifier):
            model.set_params(random_state=int(init_seed))
            # SGD allocates its zero coefficients on the first partial_fit; a
            # negligible weight (zero is refused) does that without learning.
            tiny = np.full(1, np.finfo(np.float64).tiny)
            model.partial_fit(X[:1], y[:1], classes=classes, sample_weight=tiny)
            model.coef_[...] = 0.0
            model.intercept_[...] = 0.0
        else:
            # Refit-only models start from their solver's own starting point.
            model.set_params(warm_start=False)
        return self

    def fit(self, X, y, sample_weight=None, random_state=None):
        """Fit from scratch, forwarding ``sample_weight`` to the model.

        See :meth:`ModelAdapter.fit` for the parameters and return value.
        """
        model = self.model
        if "random_state" in model.get_params():
            seed = check_random_state(random_state).randint(_INT32_MAX)
            model.set_params(random_state=int(seed))
        if "warm_start" in model.get_params():
            model.set_params(warm_start=False)
        with self.blas_threads(X):
            self.estimator.fit(X, y, **self._weight_params(sample_weight))
        return self

    def fit_epoch(self, X, y, sample_weight=None):
        """Train one more epoch (a warm-started refit for refit-only models).

        See :meth:`ModelAdapter.fit_epoch` for the parameters and return value.
        """
        if self._shuffle_rng is None:
            self.initialize(X, y)
        model = self.model
        Xt = self._transform(X)
        if isinstance(model, SoftmaxRegression):
            # Its epoch holds BLAS for its own batch products.
            model._run_epoch(Xt, y, sample_weight, self._shuffle_rng)
        elif isinstance(model, SGDClassifier):
            order = self._shuffle_rng.permutation(Xt.shape[0])
            weight = None if sample_weight is None else sample_weight[order]
            with self.blas_threads(Xt, n_rows=1):  # one row per step
                model.partial_fit(
                    Xt[order], y[order], np.arange(self.n_classes), sample_weight=weight
                )
        else:
            model.set_params(warm_start=hasattr(model, "coef_"))
            with self.blas_threads(Xt):
                model.fit(Xt, y, **self._weight_params(sample_weight, final_only=True))
        return self

    def train_step(self, X, y, sample_weight=None):
        """Take one optimisation step on a batch.

        See :meth:`ModelAdapter.train_step` for the parameters and return value.
        """
        if not self.supports_steps:
            raise TypeError(
                f"{type(self.model).__name__} cannot take a single training step; "
                "use SoftmaxRegression or SGDClassifier(loss='log_loss') as the "
                "base estimator of a method that trains step by step."
            )
        if self._shuffle_rng is None:
            raise RuntimeError("Call initialize before train_step.")
        Xt = self._transform(X)
        model = self.model
        if isinstance(model, SoftmaxRegression):
            return model._step(Xt, y, sample_weight)
        losses, _ = link_loss_and_residuals(self._logits(Xt), y, self.link)
        if sample_weight is not None:
            losses = losses * sample_weight
        model.partial_fit(Xt, y, np.arange(self.n_classes), sample_weight=sample_weight)
        return float(losses.mean())

    def train_step_on_rows(self, X, rows, y, logits=None):
        """Take one optimisation step on some rows of ``X``.

        See :meth:`ModelAdapter.train_step_on_rows` for the parameters and
        return value. :class:`SoftmaxRegression` steps on the rows in place
        and reuses ``logits``: a linear model's forward pass does not depend
        on the training mode.
        """
        if not isinstance(self.model, SoftmaxRegression):
            return super().train_step_on_rows(X, rows, y, logits)
        if self._shuffle_rng is None:
            raise RuntimeError("Call initialize before train_step_on_rows.")
        return self.model._step(self._transform(X), y, rows=rows, logits=logits)

    def _weight_params(self, sample_weight, final_only=False):
        if sample_weight is None:
            return {}
        if not has_fit_parameter(self.model, "sample_weight"):
            raise TypeError(
                f"{type(self.model).__name__}.fit does not accept sample_weight."
            )
        if isinstance(self.estimator, Pipeline) and not final_only:
            return {f"{self.estimator.steps[-1][0]}__sample_weight": sample_weight}
        return {"sample_weight": sample_weight}

    # ---------------------------------------------------------- inference
    def predict_proba(self, X):
        """Return probabilities with one column per encoded class.

        A model fitted on data that lacked some classes gets zero columns for
        them.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities.
        """
        proba = self.estimator.predict_proba(X)
        seen = np.asarray(self.model.classes_, dtype=np.intp)
        if len(seen) == self.n_classes:
            return proba
        full = np.zeros((proba.shape[0], self.n_classes), dtype=proba.dtype)
        full[:, seen] = proba
        return full

    def forward(self, X, training=False):
        """Return the model's logits and the features it reads.

        See :meth:`ModelAdapter.forward` for the parameters and return value;
        ``training`` makes no difference to a linear model.
        """
        Xt = self._transform(X)
        return self._logits(Xt), Xt

    def training_schedule(self):
        """Return the model's ``batch_size`` and ``max_epochs`` parameters.

        See :meth:`ModelAdapter.training_schedule` for the return value.
        """
        params = self.model.get_params()
        return params.get("batch_size"), params.get("max_epochs")

    def parameter_gradients(self, X, residuals, training=False):
        """Per-sample gradients of ``coef_`` and (when fitted) ``intercept_``.

        See :meth:`ModelAdapter.parameter_gradients` for the parameters and
        return value. Row ``i`` is ``r_i ⊗ h_i`` flattened, followed by
        ``r_i`` when the model fits an intercept; sparse features are
        densified (only the rows passed).
        """
        Xt = self._transform(X)
        embeddings = Xt.toarray() if hasattr(Xt, "toarray") else np.asarray(Xt)
        residuals = np.asarray(residuals)
        weight = residuals[:, :, None] * embeddings[:, None, :]
        parts = [weight.reshape(len(residuals), -1)]
        if getattr(self.model, "fit_intercept", True):
            parts.append(residuals)
        return np.hstack(parts)

    def loss_and_residuals(self, X, y):
        """Return per-sample losses, ``∂loss/∂logits`` and the features.

        See :meth:`ModelAdapter.loss_and_residuals` for the parameters and return value.
        """
        logits, embeddings = self.forward(X)
        losses, residuals = link_loss_and_residuals(logits, y, self.link)
        return losses, residuals, embeddings

    def _logits(self, Xt):
        model = self.model
        n_outputs = 1 if self.link == "binary" else self.n_classes
        if getattr(model, "coef_", None) is None or model.coef_.shape[0] != n_outputs:
            raise RuntimeError(
                f"{type(model).__name__} has no coefficients for all {self.n_classes} "
                "classes; fit or initialize the adapter on data with every class."
            )
        return np.asarray(Xt @ model.coef_.T) + model.intercept_
