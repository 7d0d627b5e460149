"""Multinomial logistic regression trained by mini-batch Adam."""

from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from ..utils._numeric import softmax, softmax_cross_entropy
from ..utils._sparse import take_rows
from ..utils._threads import blas_threads_for
from ..utils._validation import encode_labels
from ..utils._verbose import ProgressLogger

_ADAM_BETA1 = 0.9
_ADAM_BETA2 = 0.999
_ADAM_EPS = 1e-8


class SoftmaxRegression(ClassifierMixin, BaseEstimator):
    """Multinomial logistic regression trained by mini-batch Adam.

    The model has one logit per class, ``z = X @ coef_.T + intercept_`` with
    ``coef_`` of shape ``(n_classes, n_features)``, even for two classes, and
    predicts ``softmax(z)``. It is trained for ``max_epochs`` passes over
    shuffled mini-batches with Adam and *coupled* L2 regularisation: the
    gradient of each parameter gets ``weight_decay * parameter`` added before
    the Adam moments are updated, exactly as ``torch.optim.Adam`` does with
    ``weight_decay``, on the weights and on the intercept. This is the
    end model of the AGRA paper (a ``torch.nn.Linear`` layer with its default
    initialisation), written in numpy so that it needs no torch and keeps
    sparse input sparse.

    Because training is step-wise, the model is the natural base model of
    methods that own the training loop (:class:`~sknoisy.AGRAClassifier`,
    :class:`~sknoisy.RobustActiveLabelCorrector`): they drive it one batch or
    one epoch at a time through :mod:`sknoisy.adapters`.

    Parameters
    ----------
    lr : float, default=1e-2
        Adam learning rate.

    batch_size : int, default=32
        Mini-batch size; the last batch of an epoch may be smaller.

    max_epochs : int, default=50
        Number of passes over the training data in :meth:`fit`.

    weight_decay : float, default=0.0
        Coupled L2 penalty added to the gradient of weights and intercept.

    fit_intercept : bool, default=True
        Whether to learn one intercept per class.

    shuffle : bool, default=True
        Whether to reshuffle the samples before every epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation and the shuffling, from independent
        child streams. Pass an int for reproducible results.

    verbose : int, default=0
        Print the mean training loss after every epoch when positive.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen in :meth:`fit`.

    coef_ : ndarray of shape (n_classes, n_features)
        Weights.

    intercept_ : ndarray of shape (n_classes,)
        Intercepts (zeros when ``fit_intercept=False``).

    n_features_in_ : int
        Number of features seen during :meth:`fit`.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :meth:`fit`, when ``X`` has string
        column names.

    n_iter_ : int
        Number of epochs run.

    t_ : int
        Number of Adam steps taken.

    loss_curve_ : list of float
        Mean weighted training loss of each epoch (over the mini-batches, at
        the parameters each batch saw).

    See Also
    --------
    sklearn.linear_model.LogisticRegression : The same model fitted to
        convergence by a deterministic solver.
    sklearn.linear_model.SGDClassifier : Linear models trained by plain SGD,
        one-vs-rest for more than two classes.

    References
    ----------
    .. [1] D. P. Kingma and J. Ba, "Adam: A Method for Stochastic
       Optimization", ICLR 2015.
    .. [2] A. Sedova, L. Zellinger and B. Roth, "Learning with Noisy Labels by
       Adaptive Gradient-Based Outlier Removal", ECML PKDD 2023.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sknoisy.linear_model import SoftmaxRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SoftmaxRegression(lr=0.05, max_epochs=100, random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.95
    True
    """

    _parameter_constraints: dict = {
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        lr=1e-2,
        batch_size=32,
        max_epochs=50,
        weight_decay=0.0,
        fit_intercept=True,
        shuffle=True,
        random_state=None,
        verbose=0,
    ):
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.weight_decay = weight_decay
        self.fit_intercept = fit_intercept
        self.shuffle = shuffle
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model from a fresh initialisation.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Sparse input is used as CSR without densifying.

        y : array-like of shape (n_samples,)
            Target labels, of any type.

        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights. Each batch minimises the mean over its
            samples of ``sample_weight[i] * loss[i]``.

        Returns
        -------
        self : SoftmaxRegression
            Fitted estimator.
        """
        X, y_encoded, sample_weight = self._validate_training_data(
            X, y, sample_weight, reset=True
        )
        init_rng, shuffle_rng = self._child_rngs()
        self._initialize(X.shape[1], len(self.classes_), init_rng)
        # partial_fit continues a fitted model on the same shuffling stream.
        self._partial_shuffle_rng = shuffle_rng
        logger = ProgressLogger(self.verbose, name=type(self).__name__)
        for _ in range(self.max_epochs):
            self._run_epoch(X, y_encoded, sample_weight, shuffle_rng)
            logger.log(epoch=(self.n_iter_, self.max_epochs), loss=self.loss_curve_[-1])
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one epoch of mini-batch Adam on ``(X, y)``.

        The first call initialises the parameters; it needs ``classes`` unless
        the model was fitted before. Later calls continue training from the
        current parameters and Adam state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,)
            Target labels; every label must be in ``classes_``.

        classes : array-like of shape (n_classes,), default=None
            All classes; required on the first call.

        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.

        Returns
        -------
        self : SoftmaxRegression
            Updated estimator.
        """
        first_call = not hasattr(self, "coef_")
        if first_call:
            self._validate_params()
            if classes is None:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit."
                )
            self.classes_ = np.unique(np.asarray(classes))
            if len(self.classes_) < 2:
                raise ValueError(
                    "classes must hold at least two classes; got "
                    f"{self.classes_.tolist()}."
                )
        X, y_encoded, sample_weight = self._validate_training_data(
            X, y, sample_weight, reset=first_call, set_classes=False
        )
        if first_call:
            init_rng, self._partial_shuffle_rng = self._child_rngs()
            self._initialize(X.shape[1], len(self.classes_), init_rng)
        self._run_epoch(X, y_encoded, sample_weight, self._partial_shuffle_rng)
        return self

    # ------------------------------------------------------------- predict
    def decision_function(self, X):
        """Return the logits ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            One logit per class. For two classes, as scikit-learn's binary
            classifiers do, the difference ``z_1 - z_0`` of the two logits,
            positive where ``classes_[1]`` is predicted.
        """
        logits = self._validated_logits(X)
        if logits.shape[1] == 2:
            return logits[:, 1] - logits[:, 0]
        return logits

    def _validated_logits(self, X):
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse="csr", reset=False, dtype=[np.float64, np.float32]
        )
        return self._logits(X)

    def predict_proba(self, X):
        """Return class probabilities, the softmax of the logits.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``.
        """
        return softmax(self._validated_logits(X))

    def predict_log_proba(self, X):
        """Return the log of the class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        logits = self._validated_logits(X)
        shifted = logits - logits.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    def predict(self, X):
        """Predict the most probable class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels.
        """
        logits = self._validated_logits(X)
        return self.classes_[np.argmax(logits, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # ------------------------------------------------- training internals
    # The model adapters drive training through the three methods below, on
    # already validated data with labels encoded as 0..n_classes-1.
    def _initialize(self, n_features, n_classes, rng):
        """Draw fresh parameters as ``torch.nn.Linear`` does and reset Adam."""
        bound = 1.0 / np.sqrt(n_features)
        self.coef_ = rng.uniform(-bound, bound, size=(n_classes, n_features))
        if self.fit_intercept:
            self.intercept_ = rng.uniform(-bound, bound, size=n_classes)
        else:
            self.intercept_ = np.zeros(n_classes)
        self._adam_m = [np.zeros_like(self.coef_), np.zeros_like(self.intercept_)]
        self._adam_v = [np.zeros_like(self.coef_), np.zeros_like(self.intercept_)]
        self.t_ = 0
        self.n_iter_ = 0
        self.loss_curve_ = []

    def _run_epoch(self, X, y_encoded, sample_weight, rng):
        """One pass over shuffled mini-batches; appends to ``loss_curve_``."""
        n_samples = X.shape[0]
        order = rng.permutation(n_samples) if self.shuffle else np.arange(n_samples)
        total = 0.0
        batch_size = min(self.batch_size, n_samples)
        small = blas_threads_for(
            batch_size, X.shape[1], len(self.classes_), sparse.issparse(X)
        )
        with small:
            for start in range(0, n_samples, self.batch_size):
                batch = order[start : start + self.batch_size]
                weight = None if sample_weight is None else sample_weight[batch]
                X_batch = take_rows(X, batch)
                total += self._step(X_batch, y_encoded[batch], weight) * len(batch)
        self.n_iter_ += 1
        self.loss_curve_.append(total / n_samples)

    def _step(self, X, y_encoded, sample_weight=None, *, rows=None, logits=None):
        """Take one Adam step on a batch; return its mean weighted loss.

        The loss is ``mean_i(sample_weight[i] * CE_i)``: a zero weight drops
        a sample from the step, and weights that average one give the plain
        mean. An all-zero batch still counts as a step (Adam's moments decay),
        which callers that want "no step" must avoid by not calling this.

        ``rows`` restricts the batch to those rows of ``X`` (``y_encoded``
        and ``sample_weight`` then align with ``rows``) without copying them
        out; ``logits`` are ``X``'s logits under the current parameters when
        the caller has them already.
        """
        if logits is None:
            logits = self._logits(X)
        if rows is not None:
            logits = logits[rows]
        n_samples = logits.shape[0]
        losses, residual = softmax_cross_entropy(logits, y_encoded)
        if sample_weight is not None:
            residual *= sample_weight[:, None]
            losses *= sample_weight
        residual /= n_samples
        if rows is not None:
            # Rows outside the batch contribute zero rows of residuals.
            residual_all = np.zeros((X.shape[0], residual.shape[1]))
            residual_all[rows] = residual
            residual = residual_all
        grad_coef = np.asarray(
            (X.T @ residual).T if sparse.issparse(X) else residual.T @ X
        )
        grad_intercept = residual.sum(axis=0)
        self._adam_update(grad_coef, grad_intercept)
        return float(losses.mean())

    def _adam_update(self, grad_coef, grad_intercept):
        """Adam with coupled L2, matching ``torch.optim.Adam(weight_decay=)``."""
        self.t_ += 1
        params = [self.coef_, self.intercept_]
        grads = [grad_coef, grad_intercept if self.fit_intercept else None]
        bias1 = 1.0 - _ADAM_BETA1**self.t_
        bias2_sqrt = np.sqrt(1.0 - _ADAM_BETA2**self.t_)
        for param, grad, m, v in zip(
            params, grads, self._adam_m, self._adam_v, strict=True
        ):
            if grad is None:
                continue
            if self.weight_decay:
                grad = grad + self.weight_decay * param
            m *= _ADAM_BETA1
            m += (1.0 - _ADAM_BETA1) * grad
            v *= _ADAM_BETA2
            v += (1.0 - _ADAM_BETA2) * grad**2
            param -= (self.lr / bias1) * m / (np.sqrt(v) / bias2_sqrt + _ADAM_EPS)

    def _logits(self, X):
        logits = X @ self.coef_.T
        return np.asarray(logits) + self.intercept_

    def _child_rngs(self):
        """Independent generators for initialisation and shuffling."""
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        init_seq, shuffle_seq = np.random.SeedSequence(seed).spawn(2)
        return np.random.default_rng(init_seq), np.random.default_rng(shuffle_seq)

    def _validate_training_data(self, X, y, sample_weight, *, reset, set_classes=True):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            reset=reset,
        )
        check_classification_targets(y)
        if set_classes:
            self.classes_, y_encoded = np.unique(y, return_inverse=True)
            if len(self.classes_) < 2:
                raise ValueError(
                    "SoftmaxRegression needs samples of at least two classes in "
                    f"y; got 1 class ({self.classes_[0]!r})."
                )
        else:
            y_encoded = encode_labels(y, self.classes_, "y", "classes_")
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        return X, y_encoded, sample_weight
