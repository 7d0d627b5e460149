"""Adapter for skorch ``NeuralNetClassifier`` networks.

This module imports torch at load time; :func:`sknoisy.adapters.make_adapter`
imports it only when it is handed a skorch network, so that ``import
sknoisy`` and every linear code path work without torch.
"""

from contextlib import contextmanager

import numpy as np
import torch
from scipy import sparse
from sklearn.utils import check_random_state
from skorch.utils import TeeGenerator

from ._base import ModelAdapter

_INT32_MAX = np.iinfo(np.int32).max
# Rows converted to one dense float32 block at a time for inference.
_INFERENCE_CHUNK = 4096


@contextmanager
def fork_torch_rng(device="cpu", seed=None):
    """Run torch code on a forked random stream, seeded by ``seed`` if given.

    The global torch random state (CPU, and ``device`` when it is a CUDA
    device) is restored on exit, so that fitting or predicting never
    advances the caller's stream.

    Parameters
    ----------
    device : str or torch.device, default="cpu"
        The device the code runs on; None means the CPU.

    seed : int, default=None
        Seed of the forked stream; None continues from the global state.
    """
    device = torch.device(device or "cpu")
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        if seed is not None:
            # Seed only the generators forked above: torch.manual_seed would
            # also reseed every CUDA device, which fork_rng does not restore
            # for a CPU network (nor other GPUs for a cuda:0 one).
            torch.default_generator.manual_seed(seed)
            if devices:
                with torch.cuda.device(device):
                    torch.cuda.manual_seed(seed)
        yield


class SkorchAdapter(ModelAdapter):
    """Drive a skorch ``NeuralNetClassifier`` for the noisy-label methods.

    sknoisy drives the training loop itself, with skorch's own parts: the
    clone gets ``train_split=None`` (no rows are silently held out) and
    ``criterion__reduction="none"``, so that ``net.get_loss`` returns one
    loss per sample. A training step is skorch's ``train_step_single`` with
    the reduction replaced by the weighted mean ``mean_i(w_i * loss_i)``: the
    weights never reach the module's ``forward``. Epochs and batches notify
    the net's callbacks and fill its ``history`` as ``net.fit`` would, so
    learning-rate schedulers and printing keep working.

    Inputs are converted to float32 one batch at a time (sparse rows are
    densified per batch only) and moved to ``net.device``, so a
    ``device="cuda"`` network trains and infers on the GPU. Labels are the
    int64 encoded classes; the net's ``classes`` is set to
    ``0..n_classes - 1`` so that ``predict_proba`` has one column per class
    even when a batch lacks a class.

    The last layer is the ``torch.nn.Linear`` that runs last in a forward
    pass (found once with forward hooks), or the sub-module named by
    ``last_layer``. Its input is the embedding; its output is the logits.
    ``∂loss_i/∂z_i`` comes from one ``torch.autograd.grad`` of the summed
    loss with respect to the logits, in eval mode, so any head after the last
    layer and any criterion are handled exactly.

    Randomness (initialisation, dropout) runs on a private torch random
    stream seeded by ``random_state``; the global torch seed is left as it
    was.

    Parameters
    ----------
    estimator : skorch.NeuralNetClassifier
        A clone of the user's network, owned by the adapter.

    n_classes : int
        Number of classes of the encoded labels.

    last_layer : str, default=None
        Name (as in ``module_.named_modules()``) of the last linear layer;
        found automatically when None.

    configure : bool, default=True
        Set the parameters above on ``estimator``. False adapts a network
        fitted by its own ``fit`` (see
        :func:`sknoisy.adapters.fit_as_configured`) for inference only, its
        parameters left as the user set them.
    """

    def __init__(self, estimator, n_classes, last_layer=None, configure=True):
        super().__init__(estimator, n_classes)
        self.last_layer = last_layer
        self._shuffle_rng = None
        self._rng_states = None
        self._batches_in_epoch = 0
        if configure:
            estimator.set_params(
                train_split=None,
                criterion__reduction="none",
                classes=np.arange(self.n_classes),
            )

    # ------------------------------------------------------------ helpers
    @property
    def net(self):
        """The owned skorch network."""
        return self.estimator

    @property
    def device(self):
        """The torch device the network lives on."""
        return torch.device(self.net.device or "cpu")

    def _cuda_devices(self):
        return [self.device] if self.device.type == "cuda" else []

    @contextmanager
    def _private_rng(self, seed=None):
        """Run torch code on the adapter's own random stream."""
        with fork_torch_rng(self.device, seed):
            if seed is None and self._rng_states is not None:
                cpu_state, cuda_state = self._rng_states
                torch.set_rng_state(cpu_state)
                if cuda_state is not None:
                    torch.cuda.set_rng_state(cuda_state, self.device)
            yield
            cuda_state = (
                torch.cuda.get_rng_state(self.device) if self._cuda_devices() else None
            )
            self._rng_states = (torch.get_rng_state(), cuda_state)

    def _tensor_X(self, X):
        X = X.toarray() if sparse.issparse(X) else np.asarray(X)
        return torch.as_tensor(X, dtype=torch.float32, device=self.device)

    def _tensor_y(self, y):
        return torch.as_tensor(np.asarray(y), dtype=torch.int64, device=self.device)

    def _chunks(self, n_samples):
        for start in range(0, n_samples, _INFERENCE_CHUNK):
            yield slice(start, min(start + _INFERENCE_CHUNK, n_samples))

    def _find_last_layer(self, X_batch):
        """Name of the ``nn.Linear`` that runs last in a forward pass."""
        if self.last_layer is not None:
            return self.last_layer
        calls = []
        handles = [
            module.register_forward_hook(lambda *_, name=name: calls.append(name))
            for name, module in self.net.module_.named_modules()
            if isinstance(module, torch.nn.Linear)
        ]
        try:
            self.net.module_.eval()
            with torch.no_grad():
                self.net.infer(X_batch)
        finally:
            for handle in handles:
                handle.remove()
        if not calls:
            raise TypeError(
                "The network's module has no torch.nn.Linear layer; pass "
                "last_layer to name the layer whose input is the embedding."
            )
        self.last_layer = calls[-1]
        return self.last_layer

    @contextmanager
    def _capture_last_layer(self, X_batch):
        """Record the input and output of the last linear layer."""
        name = self._find_last_layer(X_batch)
        layer = self.net.module_.get_submodule(name)
        captured = {}

        def hook(module, inputs, output):
            if "logits" in captured:
                raise RuntimeError(
                    f"The last linear layer {name!r} runs more than once per "
                    "forward pass; pass last_layer to choose another one."
                )
            captured["embeddings"] = inputs[0]
            captured["logits"] = output

        handle = layer.register_forward_hook(hook)
        try:
            yield captured
        finally:
            handle.remove()

    # ----------------------------------------------------------- training
    def initialize(self, X, y, random_state=None):
        """Initialise the network's module, criterion and optimizer.

        See :meth:`ModelAdapter.initialize` for the parameters and return value.
        """
        rng = check_random_state(random_state)
        torch_seed, shuffle_seed = rng.randint(_INT32_MAX, size=2)
        self._shuffle_rng = np.random.default_rng(shuffle_seed)
        with self._private_rng(int(torch_seed)):
            self.net.initialize()
        self.net.notify("on_train_begin", X=X, y=y)
        return self

    def fit(self, X, y, sample_weight=None, random_state=None):
        """Train from a fresh initialisation for ``net.max_epochs`` epochs.

        See :meth:`ModelAdapter.fit` for the parameters and return value.
        """
        self.initialize(X, y, random_state)
        for _ in range(self.net.max_epochs):
            self.fit_epoch(X, y, sample_weight)
        self.net.notify("on_train_end", X=X, y=y)
        return self

    def fit_epoch(self, X, y, sample_weight=None):
        """Train one epoch over shuffled batches of ``net.batch_size``.

        See :meth:`ModelAdapter.fit_epoch` for the parameters and return value.
        """
        if self._shuffle_rng is None:
            self.initialize(X, y)
        order = self._shuffle_rng.permutation(X.shape[0])
        batch_size = self.net.batch_size if self.net.batch_size > 0 else X.shape[0]
        with self.epoch():
            for start in range(0, X.shape[0], batch_size):
                batch = order[start : start + batch_size]
                weight = None if sample_weight is None else sample_weight[batch]
                self.train_step(X[batch], y[batch], weight)
        return self

    @contextmanager
    def epoch(self):
        """Notify the net's callbacks of an epoch's begin and end.

        See :meth:`ModelAdapter.epoch` for the parameters and return value.
        """
        epoch_kwargs = {"dataset_train": None, "dataset_valid": None}
        self.net.notify("on_epoch_begin", **epoch_kwargs)
        self._batches_in_epoch = 0
        yield
        self.net.history.record("train_batch_count", self._batches_in_epoch)
        self.net.notify("on_epoch_end", **epoch_kwargs)

    def train_step(self, X, y, sample_weight=None):
        """One optimizer step on ``mean_i(sample_weight[i] * loss_i)``.

        See :meth:`ModelAdapter.train_step` for the parameters and return value.
        """
        if self._shuffle_rng is None:
            raise RuntimeError("Call initialize before train_step.")
        net = self.net
        Xi, yi = self._tensor_X(X), self._tensor_y(y)
        weight = None
        if sample_weight is not None:
            weight = torch.as_tensor(
                np.asarray(sample_weight), dtype=torch.float32, device=self.device
            )
        if not net.history:
            # A step outside any epoch block still needs an epoch row.
            net.notify("on_epoch_begin", dataset_train=None, dataset_valid=None)
        batch = (Xi, yi)
        net.notify("on_batch_begin", batch=batch, training=True)
        step = {}

        def closure():
            net._zero_grad_optimizer()
            net._set_training(True)
            y_pred = net.infer(Xi)
            losses = net.get_loss(y_pred, yi, X=Xi, training=True)
            loss = (losses * weight).mean() if weight is not None else losses.mean()
            loss.backward()
            step.update(loss=loss, y_pred=y_pred)
            net.notify(
                "on_grad_computed",
                named_parameters=TeeGenerator(net.get_all_learnable_params()),
                batch=batch,
                training=True,
            )
            return loss

        with self._private_rng():
            net._step_optimizer(closure)
        loss_value = step["loss"].item()
        net.history.record_batch("train_loss", loss_value)
        net.history.record_batch("train_batch_size", len(y))
        net.notify("on_batch_end", batch=batch, training=True, **step)
        self._batches_in_epoch += 1
        return loss_value

    # ---------------------------------------------------------- inference
    def predict_proba(self, X):
        """Return the network's probabilities, one column per class.

        See :meth:`ModelAdapter.predict_proba` for the parameters and return value.
        """
        parts = []
        for rows in self._chunks(X.shape[0]):
            chunk = X[rows]
            chunk = chunk.toarray() if sparse.issparse(chunk) else np.asarray(chunk)
            # skorch's DataLoader draws a seed from the global torch stream.
            with self._private_rng():
                parts.append(self.net.predict_proba(chunk.astype(np.float32)))
        return np.concatenate(parts).astype(np.float64)

    def forward(self, X, training=False):
        """Return the last linear layer's output and input, in eval mode.

        See :meth:`ModelAdapter.forward` for the parameters and return value;
        ``training=True`` runs the module in training mode, on the adapter's
        private random stream.
        """

        def batch(Xi, captured):
            with torch.no_grad():
                self.net.infer(Xi)
            return captured["logits"], captured["embeddings"]

        return self._map_chunks(batch, X, training=training)

    def training_schedule(self):
        """Return the net's ``batch_size`` and ``max_epochs``.

        See :meth:`ModelAdapter.training_schedule` for the return value.
        """
        return self.net.batch_size, self.net.max_epochs

    def parameter_gradients(self, X, residuals, training=False):
        """Per-sample gradients of every trainable parameter, by ``torch.func``.

        See :meth:`ModelAdapter.parameter_gradients` for the parameters and
        return value. ``vmap(grad(⟨z_i, r_i⟩))`` over the module called with
        ``functional_call``; BatchNorm layers need ``training=False``.
        """
        from torch.func import functional_call, grad, vmap

        module = self.net.module_
        Xi = self._tensor_X(X)
        layer = module.get_submodule(self._find_last_layer(Xi[:1]))
        params = {
            name: param.detach()
            for name, param in module.named_parameters()
            if param.requires_grad
        }
        buffers = dict(module.named_buffers())
        Ri = torch.as_tensor(
            np.asarray(residuals), dtype=torch.float32, device=self.device
        )

        def contracted(params, x, r):
            captured = {}

            def hook(module, inputs, output):
                captured["logits"] = output

            handle = layer.register_forward_hook(hook)
            try:
                functional_call(module, (params, buffers), (x[None],))
            finally:
                handle.remove()
            return (captured["logits"][0] * r).sum()

        per_sample = vmap(
            grad(contracted),
            in_dims=(None, 0, 0),
            randomness="different" if training else "error",
        )
        module.train(training)
        with self._private_rng():
            gradients = per_sample(params, Xi, Ri)
        flat = torch.cat([g.reshape(len(Xi), -1) for g in gradients.values()], 1)
        return flat.detach().cpu().numpy().astype(np.float64)

    def loss_and_residuals(self, X, y):
        """Return per-sample losses, ``∂loss/∂logits`` and the embeddings.

        See :meth:`ModelAdapter.loss_and_residuals` for the parameters and
        return value.
        """

        def batch(Xi, captured, yi):
            with torch.enable_grad():
                y_pred = self.net.infer(Xi)
                loss = self.net.get_loss(y_pred, yi, X=Xi, training=False)
                (residual,) = torch.autograd.grad(loss.sum(), captured["logits"])
            return loss, residual, captured["embeddings"]

        return self._map_chunks(batch, X, y)

    def _map_chunks(self, batch_fn, X, y=None, training=False):
        """Apply ``batch_fn`` to chunks in eval mode; concatenate its outputs.

        ``batch_fn(Xi, captured[, yi])`` runs with the last layer's input and
        output recorded in ``captured`` and returns a tuple of tensors.
        ``training=True`` runs the module in training mode instead, with its
        randomness drawn from the adapter's private stream.
        """
        outputs = []
        for rows in self._chunks(X.shape[0]):
            Xi = self._tensor_X(X[rows])
            extra = () if y is None else (self._tensor_y(y[rows]),)
            with self._capture_last_layer(Xi) as captured:
                # Set after the capture: finding the last layer runs in eval.
                self.net.module_.train(training)
                if training:
                    with self._private_rng():
                        result = batch_fn(Xi, captured, *extra)
                else:
                    result = batch_fn(Xi, captured, *extra)
            outputs.append([t.detach().cpu().numpy() for t in result])
        return tuple(
            np.concatenate(parts).astype(np.float64)
            for parts in zip(*outputs, strict=True)
        )
