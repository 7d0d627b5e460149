"""RDIA-LS: RDIA's loss-ranking relabelling loss for skorch networks.

This module imports torch and skorch; :mod:`sknoisy` loads it only when a
skorch network is used or one of its names is requested.
"""

from numbers import Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import clone
from sklearn.utils.multiclass import check_classification_targets
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback, EpochScoring
from skorch.dataset import Dataset, ValidSplit
from skorch.helper import predefined_split
from skorch.utils import is_dataset, to_numpy

from .adapters._skorch import fork_torch_rng

# skorch's default validation split of NeuralNetClassifier.
_DEFAULT_TRAIN_SPLIT = ValidSplit(5, stratified=True)

# The paper's code clamps 1 - p_y from below before the log.
_COMPLEMENT_FLOOR = 1e-7

# Default weight of the clean part of the RDIA-LS loss. The paper's code
# weights the relabelling part by (1 - gamma) / batch_size (its unsure mean is
# divided once more by the batch size), so in the results it reports that
# part is almost off: with its gamma = 0.2 and batches of 128 it weighs 1/32
# of the clean part. The corrected loss with the formula's weights (gamma =
# 0.5: as much as the clean part) loses 1-4 points to it; gamma = 0.9 (1/9)
# keeps the relabelling, which helps under pair noise, without that cost
# (table in docs/user_guide/rdia.rst, "Choosing the loss").
DEFAULT_GAMMA = 0.9


def rdia_ls_split_sizes(batch_size, forget_rate, negative_rate):
    """Sizes of the clean, unsure and discarded parts of a sorted batch.

    The batch is sorted by per-sample cross-entropy. The first
    ``int((1 - forget_rate) * batch_size)`` samples are clean (all of them
    when that is zero, as in the paper's code), the last
    ``int(negative_rate * batch_size)`` are discarded and those in between
    are unsure. When the two ends overlap no sample is unsure.

    Parameters
    ----------
    batch_size : int
        Number of samples in the batch.

    forget_rate : float in [0, 1]
        Share of the batch that is not trained as clean.

    negative_rate : float in [0, 1]
        Share of the batch, at the high-loss end, that is discarded.

    Returns
    -------
    n_clean, n_unsure, n_discarded : int
        The three sizes; they sum to ``batch_size``.

    Examples
    --------
    >>> from sknoisy._rdia_ls import rdia_ls_split_sizes
    >>> rdia_ls_split_sizes(128, 0.8, 0.4)
    (25, 52, 51)
    """
    n_clean = int((1 - forget_rate) * batch_size) or batch_size
    n_discarded = min(int(negative_rate * batch_size), batch_size - n_clean)
    return n_clean, batch_size - n_clean - n_discarded, n_discarded


def _rank_batch(cross_entropy, forget_rate, negative_rate):
    """Return the clean and unsure indices of a batch and the discarded count."""
    order = torch.argsort(cross_entropy.detach())
    n_clean, n_unsure, n_discarded = rdia_ls_split_sizes(
        len(order), forget_rate, negative_rate
    )
    return order[:n_clean], order[n_clean : n_clean + n_unsure], n_discarded


def _negative_learning_loss(log_proba_true):
    """``-log(1 - p_y)``, the cross-entropy of RDIA's relabelling function R."""
    complement = torch.clamp(-torch.expm1(log_proba_true), min=_COMPLEMENT_FLOOR)
    return -torch.log(complement)


def rdia_ls_loss(log_proba, y_true, *, forget_rate, negative_rate, gamma, legacy=False):
    """RDIA-LS loss of one mini-batch.

    The batch is sorted by per-sample cross-entropy and split by
    :func:`rdia_ls_split_sizes`. Clean samples are trained with
    cross-entropy, unsure samples with RDIA's relabelling loss
    ``-log(1 - p_y)`` (for two classes, the cross-entropy of the flipped
    label), and discarded samples not at all::

        loss = gamma * mean_clean(CE) + (1 - gamma) * mean_unsure(-log(1 - p_y))

    An empty unsure part contributes zero.

    Parameters
    ----------
    log_proba : torch.Tensor of shape (batch_size, n_classes)
        Log-probabilities of the network.

    y_true : torch.Tensor of shape (batch_size,)
        Noisy labels, encoded as ``0 .. n_classes - 1``.

    forget_rate : float in [0, 1]
        Share of the batch not trained as clean.

    negative_rate : float in [0, 1]
        Share of the batch discarded at the high-loss end.

    gamma : float in [0, 1]
        Weight of the clean part.

    legacy : bool, default=False
        Reproduce the paper's code: cross-entropy applied once more to the
        probabilities (a double softmax), the unsure mean divided by the
        batch size once more, and the constant ``-n_discarded`` added. An
        empty unsure part then gives NaN, as in that code.

    Returns
    -------
    loss : torch.Tensor
        Scalar loss.
    """
    log_proba_true = log_proba.gather(1, y_true[:, None]).squeeze(1)
    cross_entropy = -log_proba_true
    clean, unsure, n_discarded = _rank_batch(cross_entropy, forget_rate, negative_rate)
    negative = _negative_learning_loss(log_proba_true[unsure])
    if legacy:
        clean_loss = F.cross_entropy(log_proba[clean].exp(), y_true[clean])
        unsure_loss = negative.mean() / len(y_true)
        return gamma * clean_loss + (1 - gamma) * unsure_loss - n_discarded
    clean_loss = cross_entropy[clean].mean()
    unsure_loss = negative.mean() if len(unsure) else cross_entropy.new_zeros(())
    return gamma * clean_loss + (1 - gamma) * unsure_loss


def small_loss_warm_up_loss(log_proba, y_true, *, forget_rate, legacy=False):
    """Warm-up loss: mean cross-entropy of the small-loss share of the batch.

    Parameters
    ----------
    log_proba : torch.Tensor of shape (batch_size, n_classes)
        Log-probabilities of the network.

    y_true : torch.Tensor of shape (batch_size,)
        Noisy labels, encoded as ``0 .. n_classes - 1``.

    forget_rate : float in [0, 1]
        Share of the batch, at the high-loss end, left out.

    legacy : bool, default=False
        Divide the mean once more by the number of kept samples, as the
        paper's code does.

    Returns
    -------
    loss : torch.Tensor
        Scalar loss.
    """
    cross_entropy = -log_proba.gather(1, y_true[:, None]).squeeze(1)
    kept, _, _ = _rank_batch(cross_entropy, forget_rate, 0.0)
    loss = cross_entropy[kept].mean()
    return loss / len(kept) if legacy else loss


class RDIALSSchedule(Callback):
    """The training schedule of RDIA-LS, as in the paper's code.

    At the start of every epoch ``t`` (counted from 1, as skorch's history
    and the paper's code count them) it sets on the network:

    - ``forget_rate_``: ramps linearly as ``linspace(0, noise_rate,
      num_gradual)[t]`` over the first ``num_gradual`` epochs, then stays at
      ``noise_rate``;
    - ``warming_up_``: True while ``t < init_epoch``; the network then trains
      with the small-loss warm-up loss instead of the RDIA-LS loss;
    - from epoch ``decay_start`` on, the learning rate of every parameter
      group decays linearly, ``lr * (T - t) / (T - decay_start)`` with
      ``T = max_epochs + 1``, and Adam's ``beta1`` becomes ``decay_beta1``.

    Parameters
    ----------
    num_gradual : int, default=10
        Epochs over which the forget rate ramps up.

    init_epoch : int, default=10
        First epoch trained with the RDIA-LS loss; earlier ones warm up.

    decay_start : int or None, default=80
        First epoch of the learning-rate decay; None disables it.

    decay_beta1 : float, default=0.1
        Adam's ``beta1`` during the decay (for optimizers with ``betas``).
    """

    def __init__(self, num_gradual=10, init_epoch=10, decay_start=80, decay_beta1=0.1):
        self.num_gradual = num_gradual
        self.init_epoch = init_epoch
        self.decay_start = decay_start
        self.decay_beta1 = decay_beta1

    def on_epoch_begin(self, net, **kwargs):
        """Set the forget rate, the warm-up flag and the optimizer schedule."""
        epoch = len(net.history)
        forget_rate = net.noise_rate
        if epoch < self.num_gradual:
            forget_rate = float(np.linspace(0, forget_rate, self.num_gradual)[epoch])
        net.forget_rate_ = forget_rate
        net.warming_up_ = epoch < self.init_epoch
        if self.decay_start is None or epoch < self.decay_start:
            return
        horizon = net.max_epochs + 1
        factor = max(horizon - epoch, 1) / max(horizon - self.decay_start, 1)
        for group in net.optimizer_.param_groups:
            group["lr"] = net.lr * factor
            if "betas" in group:
                group["betas"] = (self.decay_beta1, group["betas"][1])


def _label_array(y):
    return np.asarray(to_numpy(y) if isinstance(y, torch.Tensor) else y)


def _encode_labels(classes, y):
    """Index of every label of ``y`` in ``classes`` (int64).

    skorch's own convention, ``y`` already encoded as ``0 .. n_classes - 1``
    with ``classes`` naming the classes, is kept when ``y`` holds integers
    that are not labels of ``classes``.
    """
    y = _label_array(y)
    classes = np.asarray(classes)
    order = np.argsort(classes, kind="stable")
    sorted_classes = classes[order]
    pos = np.clip(np.searchsorted(sorted_classes, y), 0, len(classes) - 1)
    found = sorted_classes[pos] == y
    if np.all(found):
        return order[pos].astype(np.int64)
    if np.issubdtype(y.dtype, np.integer) and np.all((y >= 0) & (y < len(classes))):
        return y.astype(np.int64)
    raise ValueError(
        f"y holds labels that are not in classes_ ({classes.tolist()}): "
        f"{np.unique(y[~found])[:5].tolist()}."
    )


def _encoded_accuracy(net, X, y):
    """Accuracy of the network's argmax against encoded labels."""
    return float(np.mean(net.predict_proba(X).argmax(axis=1) == np.asarray(y)))


def _encoded_accuracy_scoring():
    return EpochScoring(_encoded_accuracy, name="valid_acc", lower_is_better=False)


def _check_rate(name, value, *, allow_none=False):
    if value is None and allow_none:
        return
    if not isinstance(value, Real) or isinstance(value, bool) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a float in [0, 1); got {value!r}.")


class RDIALSMixin:
    """Give a skorch classifier the RDIA-LS training loss.

    Mix it in before a skorch :class:`~skorch.NeuralNetClassifier` (or a
    subclass of it) to train a network with RDIA-LS; see
    :class:`RDIALSClassifier` for the parameters. Training batches use
    :func:`rdia_ls_loss` (or :func:`small_loss_warm_up_loss` during warm-up)
    with the forget rate set by the :class:`RDIALSSchedule` callback;
    validation batches use the criterion as usual.
    """

    def __init__(
        self,
        *args,
        noise_rate=None,
        gamma=DEFAULT_GAMMA,
        negative_rate=None,
        legacy_loss=False,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.noise_rate = noise_rate
        self.gamma = gamma
        self.negative_rate = negative_rate
        self.legacy_loss = legacy_loss

    @property
    def _default_callbacks(self):
        callbacks = [
            # The datasets hold the encoded labels, the predictions the
            # labels of classes_: score accuracy on the encoded ones.
            (name, _encoded_accuracy_scoring() if name == "valid_acc" else callback)
            for name, callback in super()._default_callbacks
        ]
        return [*callbacks, ("rdia_ls_schedule", RDIALSSchedule())]

    def check_data(self, X, y):
        """Check the training data; ``y`` must hold class labels.

        Parameters
        ----------
        X : input data, compatible with skorch.dataset.Dataset
            Input data.

        y : array-like of shape (n_samples,) or None
            Labels; continuous values are rejected, as scikit-learn's
            classifiers reject them.
        """
        super().check_data(X, y)
        if y is not None:
            check_classification_targets(_label_array(y))

    def get_split_datasets(self, X, y=None, **fit_params):
        """Return the training and validation datasets, with encoded labels.

        Labels may be of any type (strings, floats); the network trains on
        their index in ``classes_``, ``0 .. n_classes - 1``, and the
        validation split stratifies on that index. A
        :class:`~skorch.dataset.Dataset` passed as ``X`` is used as it is, so
        its labels must already be encoded.

        Parameters
        ----------
        X : input data, compatible with skorch.dataset.Dataset
            Input data.

        y : array-like of shape (n_samples,), default=None
            Labels, each one in ``classes_``.

        **fit_params : dict
            Passed to the ``train_split``.

        Returns
        -------
        dataset_train, dataset_valid : torch.utils.data.Dataset
            ``dataset_valid`` is None without a ``train_split``.
        """
        if y is not None and not is_dataset(X):
            y = _encode_labels(self.classes_, y)
        return super().get_split_datasets(X, y, **fit_params)

    def predict(self, X):
        """Predict the labels of ``classes_``, in their own type.

        Parameters
        ----------
        X : input data, compatible with skorch.dataset.Dataset
            Input data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The label of the largest probability.
        """
        proba = self.predict_proba(X)
        classes = self.classes_
        if proba.shape[1] != len(classes):
            raise ValueError(
                f"The module returns {proba.shape[1]} columns but classes_ holds "
                f"{len(classes)} labels; pass classes= with every label, or size "
                "the module's output to the number of classes."
            )
        return classes[proba.argmax(axis=1)]

    def _validate_params(self):
        super()._validate_params()
        if self.noise_rate is None:
            raise ValueError(
                "RDIA-LS needs noise_rate, the (estimated) share of wrong training "
                "labels: it sets the forget rate and, by default, negative_rate."
            )
        _check_rate("noise_rate", self.noise_rate)
        _check_rate("negative_rate", self.negative_rate, allow_none=True)
        if not isinstance(self.gamma, Real) or not 0 <= self.gamma <= 1:
            raise ValueError(f"gamma must be a float in [0, 1]; got {self.gamma!r}.")
        if self.legacy_loss and int(self.negative_rate_value * self.batch_size) == 0:
            raise ValueError(
                "legacy_loss=True needs at least one discarded sample per batch "
                f"(negative_rate * batch_size >= 1; got {self.negative_rate_value} * "
                f"{self.batch_size}): the original loss is NaN otherwise. Use "
                "legacy_loss=False, which handles a noise rate of zero."
            )

    @property
    def negative_rate_value(self):
        """The discarded share: ``negative_rate``, or ``noise_rate / 2``."""
        if self.negative_rate is not None:
            return self.negative_rate
        return self.noise_rate / 2

    def log_proba(self, y_pred):
        """Log-probabilities from the module's output.

        With :class:`~torch.nn.CrossEntropyLoss` the module returns logits;
        with :class:`~torch.nn.NLLLoss` (skorch's default) probabilities,
        whose log is taken as skorch does.

        Parameters
        ----------
        y_pred : torch.Tensor of shape (batch_size, n_classes)
            Output of the module.

        Returns
        -------
        log_proba : torch.Tensor of shape (batch_size, n_classes)
        """
        if y_pred.ndim != 2:
            raise ValueError(
                "RDIA-LS needs module outputs of shape (batch_size, n_classes); got "
                f"shape {tuple(y_pred.shape)} (a 1-d X, or a module without a "
                "class dimension)."
            )
        if isinstance(self.criterion_, torch.nn.CrossEntropyLoss):
            return F.log_softmax(y_pred, dim=1)
        if isinstance(self.criterion_, torch.nn.NLLLoss):
            return torch.log(y_pred + torch.finfo(y_pred.dtype).eps)
        raise TypeError(
            "RDIA-LS needs criterion=torch.nn.CrossEntropyLoss (module returns "
            "logits) or torch.nn.NLLLoss (module returns probabilities); got "
            f"{type(self.criterion_).__name__}."
        )

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """RDIA-LS loss for training batches, the criterion otherwise.

        Parameters
        ----------
        y_pred : torch.Tensor of shape (batch_size, n_classes)
            Output of the module.

        y_true : torch.Tensor of shape (batch_size,)
            Noisy labels, encoded as ``0 .. n_classes - 1``.

        X : input data, default=None
            The batch's input, unused.

        training : bool, default=False
            Whether the batch is a training batch.

        Returns
        -------
        loss : torch.Tensor
            Scalar loss.
        """
        if not training:
            return super().get_loss(y_pred, y_true, X=X, training=training)
        log_proba = self.log_proba(y_pred)
        y_true = y_true.to(log_proba.device).long()
        forget_rate = getattr(self, "forget_rate_", self.noise_rate)
        if getattr(self, "warming_up_", False):
            return small_loss_warm_up_loss(
                log_proba, y_true, forget_rate=forget_rate, legacy=self.legacy_loss
            )
        return rdia_ls_loss(
            log_proba,
            y_true,
            forget_rate=forget_rate,
            negative_rate=self.negative_rate_value,
            gamma=self.gamma,
            legacy=self.legacy_loss,
        )


class RDIALSClassifier(RDIALSMixin, NeuralNetClassifier):
    """A skorch classifier trained with the RDIA-LS loss (Kong et al., 2022).

    RDIA-LS, the deep variant of RDIA, ranks every training mini-batch by
    cross-entropy: the small-loss share is trained with cross-entropy, the
    middle with RDIA's relabelling loss ``-log(1 - p_y)`` and the largest
    losses are discarded (:func:`rdia_ls_loss`). The first epochs warm up on
    the small-loss share, and the forget rate ramps up to ``noise_rate``
    (:class:`RDIALSSchedule`, registered as the default callback
    ``"rdia_ls_schedule"``; tune it as ``callbacks__rdia_ls_schedule__...``).
    The network trains on its ``device``, so ``device="cuda"`` runs on GPU.

    It is usually built for you by :class:`sknoisy.RDIARelabeler` from a
    plain :class:`~skorch.NeuralNetClassifier`. For a subclass of that, put
    :class:`RDIALSMixin` first in the bases of your own class.

    Labels may be of any type: the network trains on their index in
    ``classes_`` (``classes``, or the sorted labels of ``y``), and
    :meth:`predict` returns labels of ``classes_``. A
    :class:`~skorch.dataset.Dataset` passed as ``X`` or as validation split
    must hold the encoded labels ``0 .. n_classes - 1``.

    Parameters
    ----------
    module : torch module (class or instance)
        The network; it returns logits with ``criterion=CrossEntropyLoss``,
        probabilities with skorch's default ``NLLLoss``.

    *args
        Further positional arguments of :class:`~skorch.NeuralNetClassifier`.

    criterion : torch criterion (class), default=torch.nn.NLLLoss
        ``torch.nn.CrossEntropyLoss`` or ``torch.nn.NLLLoss``; it scores the
        validation batches.

    train_split : callable or None, default=ValidSplit(5, stratified=True)
        skorch's validation split.

    classes : array-like of shape (n_classes,), default=None
        The class labels; None means the sorted labels of ``y``.

    noise_rate : float in [0, 1)
        Estimated share of wrong labels: the forget rate. Required.

    gamma : float in [0, 1], default=0.9
        Weight of the clean part of the loss; the relabelling part weighs
        ``1 - gamma``. The paper's settings, 0.2 on MNIST and 0.05 on
        CIFAR-10, go with ``legacy_loss=True``, whose relabelling part is
        divided by the batch size once more; with the corrected loss they
        give that part far more weight than the paper's code did, which
        costs accuracy (see the user guide, "Choosing the loss").

    negative_rate : float in [0, 1) or None, default=None
        Share of each batch discarded; None means ``noise_rate / 2`` as in
        the paper's code (whose comments suggest hand-tuned values).

    legacy_loss : bool, default=False
        Reproduce the quirks of the paper's code (double softmax, an extra
        division by the batch size, a constant offset, NaN without unsure
        samples); see :func:`rdia_ls_loss`.

    **kwargs
        Further keyword arguments of :class:`~skorch.NeuralNetClassifier`.

    Examples
    --------
    >>> import numpy as np
    >>> from torch import nn
    >>> from sknoisy import RDIALSClassifier
    >>> X = np.random.default_rng(0).normal(size=(200, 5)).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> net = RDIALSClassifier(
    ...     nn.Linear(5, 2), criterion=nn.CrossEntropyLoss, noise_rate=0.2,
    ...     max_epochs=3, train_split=None, verbose=0,
    ... ).fit(X, y)
    >>> net.predict(X).shape
    (200,)
    """

    def __init__(
        self,
        module,
        *args,
        criterion=torch.nn.NLLLoss,
        train_split=_DEFAULT_TRAIN_SPLIT,
        classes=None,
        noise_rate=None,
        gamma=DEFAULT_GAMMA,
        negative_rate=None,
        legacy_loss=False,
        **kwargs,
    ):
        # The signature of skorch's NeuralNetClassifier plus RDIA-LS's own
        # parameters: scikit-learn reads the parameters from it.
        super().__init__(
            module,
            *args,
            criterion=criterion,
            train_split=train_split,
            classes=classes,
            noise_rate=noise_rate,
            gamma=gamma,
            negative_rate=negative_rate,
            legacy_loss=legacy_loss,
            **kwargs,
        )


def make_rdia_ls_network(estimator, n_classes, **params):
    """Build an unfitted RDIA-LS network from a skorch classifier.

    Parameters
    ----------
    estimator : skorch.NeuralNetClassifier
        A plain :class:`~skorch.NeuralNetClassifier`, whose cloned
        parameters are carried over, or a network that mixes in
        :class:`RDIALSMixin`, which is cloned. Never modified, nor its module.

    n_classes : int
        Number of classes; labels are encoded as ``0 .. n_classes - 1``.

    **params
        RDIA-LS parameters set on the network (``noise_rate``, ``gamma``,
        ``negative_rate``, ``legacy_loss``).

    Returns
    -------
    net : RDIALSMixin
        A fresh, unfitted network.
    """
    if isinstance(estimator, RDIALSMixin):
        net = clone(estimator)
    elif type(estimator) is NeuralNetClassifier:
        # Cloned first: a module (or callback) instance is deep-copied, so
        # training never touches the caller's objects.
        net = RDIALSClassifier(**clone(estimator).get_params(deep=False))
    else:
        raise TypeError(
            "RDIA-LS trains a skorch NeuralNetClassifier; got "
            f"{type(estimator).__name__}. For a subclass of NeuralNetClassifier, "
            "put sknoisy.RDIALSMixin first in the bases of your class."
        )
    return net.set_params(classes=np.arange(n_classes), **params)


def fit_network(net, X, y, seed, X_val=None, y_val=None):
    """Fit ``net`` on its own random stream seeded by ``seed``.

    Parameters
    ----------
    net : skorch.NeuralNet
        The network, fitted in place.

    X, y : array-like
        Training data and encoded labels.

    seed : int
        Seed of the torch random stream used for initialisation and batches;
        the global torch random state is left untouched.

    X_val, y_val : array-like, default=None
        Validation data scored every epoch in ``net.history``.

    Returns
    -------
    net : skorch.NeuralNet
        The fitted network.
    """
    if X_val is not None:
        net.set_params(train_split=predefined_split(Dataset(X_val, y_val)))
    with fork_torch_rng(net.device, seed):
        return net.fit(X, y)
