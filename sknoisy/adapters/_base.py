"""The interface every model adapter implements, and the shared link math."""

from abc import ABC, abstractmethod
from contextlib import contextmanager

import numpy as np
from scipy import sparse
from scipy.special import expit

from ..utils._numeric import softmax_cross_entropy
from ..utils._sparse import take_rows
from ..utils._threads import blas_threads_for_fit


class ModelAdapter(ABC):
    """A uniform view of a classifier for the noisy-label methods.

    The four methods of sknoisy need the same handful of operations from the
    model they wrap: fit it with per-sample weights, take one weighted
    training step or one epoch, read its probabilities and per-sample losses,
    the per-sample gradients of its last layer and the embeddings that layer
    reads. An adapter answers these for one family of models, so that a
    method is written once, as its paper's algorithm, for linear
    scikit-learn models and skorch networks alike.

    An adapter owns a *clone* of the user's estimator (``estimator``), which
    it initialises, trains and mutates; the user's object is never touched.
    Labels are passed encoded as integers ``0..n_classes - 1``; inputs are
    already validated by the calling meta-estimator.

    **Last layer.** Every model ends in a linear map ``z = W h + b``. ``h`` is
    the embedding of a sample (:meth:`embed`): the (transformed) features of
    a linear model or the input of a network's last ``torch.nn.Linear``.
    ``z`` are the model's logits, with ``n_outputs`` columns: one per class,
    except for scikit-learn's binary models, which have one logit.

    **Per-sample gradients.** The gradient of sample ``i``'s training loss
    with respect to ``W`` is the outer product ``r_i h_iᵀ`` with
    ``r_i = ∂loss_i/∂z_i``. :meth:`gradient_factors` returns the factors
    ``R`` and ``H``; :meth:`per_sample_gradients` multiplies them out.

    Parameters
    ----------
    estimator : estimator object
        The model to drive; the adapter takes ownership of this object, so
        pass a clone.

    n_classes : int
        Number of classes of the encoded labels.
    """

    #: Whether :meth:`train_step` is supported.
    supports_steps = True

    def __init__(self, estimator, n_classes):
        self.estimator = estimator
        self.n_classes = int(n_classes)

    # ------------------------------------------------------------ threads
    def blas_threads(self, X, n_rows=None):
        """Context for a loop of the model's products on rows of ``X``.

        Fits, epochs and loops of steps multiply ``n_rows`` rows of ``X``
        (all of them when None) by the model's weights over and over, and
        the methods' own numpy work on the results (AGRA's gradient
        similarities) is of the same size: for small products, BLAS is held
        to one thread (:func:`~sknoisy.utils._threads.blas_threads_for_fit`).
        A network's own products run in torch, whose threads this leaves
        alone.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Training data.

        n_rows : int, default=None
            Rows of one product (a batch); all rows of ``X`` when None.

        Returns
        -------
        context : context manager
        """
        return blas_threads_for_fit(X, self.n_classes, n_rows)

    # ------------------------------------------------------------ training
    @abstractmethod
    def initialize(self, X, y, random_state=None):
        """Give the model fresh parameters, ready for steps and epochs.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Training data (used for shapes and to fit preprocessing).

        y : ndarray of shape (n_samples,)
            Encoded labels.

        random_state : int, RandomState instance or None, default=None
            Seed of the initialisation and of the adapter's shuffling.

        Returns
        -------
        self : ModelAdapter
            The initialised adapter.
        """

    @abstractmethod
    def fit(self, X, y, sample_weight=None, random_state=None):
        """Fit the model from scratch with optional per-sample weights.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : ndarray of shape (n_samples,)
            Encoded labels.

        sample_weight : ndarray of shape (n_samples,), default=None
            Per-sample weights.

        random_state : int, RandomState instance or None, default=None
            Seed passed to the model.

        Returns
        -------
        self : ModelAdapter
            The fitted adapter.
        """

    @abstractmethod
    def fit_epoch(self, X, y, sample_weight=None):
        """Continue training for one epoch with per-sample weights.

        Initialises the model first when it has no parameters yet.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : ndarray of shape (n_samples,)
            Encoded labels.

        sample_weight : ndarray of shape (n_samples,), default=None
            Per-sample weights.

        Returns
        -------
        self : ModelAdapter
            The updated adapter.
        """

    @contextmanager
    def epoch(self):
        """Mark the train steps taken inside the block as one epoch.

        Methods that drive :meth:`train_step` themselves wrap each pass over
        the data in ``with adapter.epoch():`` so that backends with epoch
        callbacks (skorch) run them. The default does nothing.

        Yields
        ------
        None
            Nothing; the block's train steps form the epoch.
        """
        yield

    @abstractmethod
    def train_step(self, X, y, sample_weight=None):
        """Take one optimisation step on a batch.

        The step minimises ``mean_i(sample_weight[i] * loss_i)`` over the
        batch. A weight of zero leaves a sample out of the step; to skip a
        step entirely, do not call this method.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (batch_size, n_features)
            Batch of training data.

        y : ndarray of shape (batch_size,)
            Encoded labels of the batch.

        sample_weight : ndarray of shape (batch_size,), default=None
            Per-sample weights.

        Returns
        -------
        loss : float
            The batch's mean weighted loss before the step.
        """

    def train_step_on_rows(self, X, rows, y, logits=None):
        """Take one optimisation step on some rows of ``X``.

        The same step as ``train_step(X[rows], y)``. Methods that score a
        batch with :meth:`forward` and then train on part of it call this
        with the scored ``X`` and its logits, which lets an adapter skip
        copying the rows out and, where its forward pass does not depend on
        the training mode, skip the forward pass of the step. The default
        copies the rows and calls :meth:`train_step`.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Data holding the batch.

        rows : ndarray of int of shape (batch_size,)
            Positions of the batch's rows in ``X``.

        y : ndarray of shape (batch_size,)
            Encoded labels of the batch, aligned with ``rows``.

        logits : ndarray of shape (n_samples, n_outputs), default=None
            ``forward(X)[0]`` under the current parameters, when the caller
            has it; adapters that cannot reuse it ignore it.

        Returns
        -------
        loss : float
            The batch's mean loss before the step.
        """
        return self.train_step(take_rows(X, rows), y)

    # ----------------------------------------------------------- inference
    @abstractmethod
    def predict_proba(self, X):
        """Return class probabilities, one column per encoded class.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities.
        """

    @abstractmethod
    def forward(self, X, training=False):
        """Return the last layer's logits and its input embeddings.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Input data.

        training : bool, default=False
            Run the model in training mode (dropout active, batch statistics);
            by default in evaluation mode. Linear models have no modes.

        Returns
        -------
        logits : ndarray of shape (n_samples, n_outputs)
            Output of the last linear layer.

        embeddings : {ndarray, sparse matrix} of shape (n_samples, n_hidden)
            Input of the last linear layer; sparse when a linear model gets
            sparse input.
        """

    @abstractmethod
    def loss_and_residuals(self, X, y):
        """Return per-sample losses and their gradients with respect to logits.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Input data.

        y : ndarray of shape (n_samples,)
            Encoded labels.

        Returns
        -------
        losses : ndarray of shape (n_samples,)
            The model's training loss of each sample (no regularisation).

        residuals : ndarray of shape (n_samples, n_outputs)
            ``∂loss_i/∂z_i`` for every sample.

        embeddings : {ndarray, sparse matrix} of shape (n_samples, n_hidden)
            Input of the last linear layer.
        """

    def training_schedule(self):
        """Return the model's own ``(batch_size, max_epochs)``.

        Methods that own the training loop (AGRA) train with the batch size
        and number of epochs the user set on the base model.

        Returns
        -------
        batch_size : int or None
            Mini-batch size, ``n_samples`` being meant by ``-1``; None when
            the model has no such parameter.

        max_epochs : int or None
            Number of epochs; None when the model has no such parameter.
        """
        return None, None

    def parameter_gradients(self, X, residuals, training=False):
        """Per-sample gradients of all trainable parameters, flattened.

        Row ``i`` is ``J_iᵀ r_i``, with ``J_i`` the Jacobian of sample ``i``'s
        logits (the last linear layer's output) with respect to every
        trainable parameter and ``r_i = residuals[i]`` a cotangent on those
        logits: for a per-sample loss, ``r_i = ∂loss_i/∂z_i`` gives the
        per-sample gradient; for a batch-level loss, its rows give each
        sample's share of the batch gradient. Needs
        ``n_samples * n_parameters`` floats.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Input data.

        residuals : ndarray of shape (n_samples, n_outputs)
            Cotangents on the logits.

        training : bool, default=False
            Differentiate the model in training mode.

        Returns
        -------
        gradients : ndarray of shape (n_samples, n_parameters)
            Per-sample gradients, parameters in the model's own order.
        """
        raise NotImplementedError(
            f"{type(self).__name__} cannot differentiate all parameters."
        )

    # ---------------------------------------- derived from the abstract API
    def embed(self, X):
        """Return the embeddings the last linear layer reads.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        embeddings : {ndarray, sparse matrix} of shape (n_samples, n_hidden)
            Transformed features for linear models, the input of the last
            ``torch.nn.Linear`` for skorch networks.
        """
        return self.forward(X)[1]

    def per_sample_loss(self, X, y):
        """Return each sample's training loss against the labels ``y``.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Input data.

        y : ndarray of shape (n_samples,)
            Encoded labels.

        Returns
        -------
        losses : ndarray of shape (n_samples,)
            Cross-entropy for softmax models; the summed binary log-losses
            for one-vs-rest models.
        """
        return self.loss_and_residuals(X, y)[0]

    def gradient_factors(self, X, y):
        """Return ``(R, H)`` with ``∂loss_i/∂W = R[i] ⊗ H[i]``.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Input data.

        y : ndarray of shape (n_samples,)
            Encoded labels.

        Returns
        -------
        residuals : ndarray of shape (n_samples, n_outputs)
            ``∂loss_i/∂z_i``; also the gradient with respect to the bias.

        embeddings : {ndarray, sparse matrix} of shape (n_samples, n_hidden)
            Input of the last linear layer.
        """
        _, residuals, embeddings = self.loss_and_residuals(X, y)
        return residuals, embeddings

    def per_sample_gradients(self, X, y, include_bias=False):
        """Materialise the per-sample gradients of the last layer's weight.

        Needs ``n_samples * n_outputs * n_hidden`` floats: use
        :meth:`gradient_factors` for anything but small batches.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Input data.

        y : ndarray of shape (n_samples,)
            Encoded labels.

        include_bias : bool, default=False
            Append the bias gradient as a last column.

        Returns
        -------
        gradients : ndarray of shape (n_samples, n_outputs, n_hidden)
            ``gradients[i] = ∂loss_i/∂W``; one more column with
            ``include_bias``.
        """
        residuals, embeddings = self.gradient_factors(X, y)
        embeddings = _to_dense(embeddings)
        if include_bias:
            ones = np.ones((embeddings.shape[0], 1), dtype=embeddings.dtype)
            embeddings = np.hstack([embeddings, ones])
        return residuals[:, :, None] * embeddings[:, None, :]


def link_loss_and_residuals(logits, y, link):
    """Per-sample losses and ``∂loss/∂logits`` for a linear model's link.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_outputs)
        Output of the last linear layer.

    y : ndarray of shape (n_samples,)
        Encoded labels.

    link : {"softmax", "binary", "ovr"}
        ``"softmax"``: cross-entropy of ``softmax(z)``. ``"binary"``: one
        logit, log-loss of ``sigmoid(z)`` for class 1. ``"ovr"``: one
        binary log-loss per class, summed.

    Returns
    -------
    losses : ndarray of shape (n_samples,)
        Per-sample losses.

    residuals : ndarray of shape (n_samples, n_outputs)
        Gradients of each loss with respect to its own logits.
    """
    if link == "softmax":
        return softmax_cross_entropy(logits, y)
    if link == "binary":
        targets = (y == 1).astype(logits.dtype)[:, None]
    elif link == "ovr":
        targets = np.zeros_like(logits)
        targets[np.arange(logits.shape[0]), y] = 1.0
    else:  # pragma: no cover - guarded by the adapters
        raise ValueError(f"Unknown link {link!r}.")
    losses = (np.logaddexp(0.0, logits) - targets * logits).sum(axis=1)
    return losses, expit(logits) - targets


def _to_dense(array):
    return array.toarray() if sparse.issparse(array) else np.asarray(array)
