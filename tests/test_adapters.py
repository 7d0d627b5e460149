import numpy as np
import pytest
from scipy import sparse
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler
from sklearn.svm import LinearSVC

from sknoisy.adapters import fit_as_configured, make_adapter
from sknoisy.linear_model import SoftmaxRegression

torch = pytest.importorskip("torch")
skorch = pytest.importorskip("skorch")

RTOL = 1e-5


def _data(n_classes, n_samples=40, n_features=6, seed=0, as_sparse=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features))
    X[rng.random(X.shape) < 0.4] = 0.0
    y = np.arange(n_samples) % n_classes
    rng.shuffle(y)
    return (sparse.csr_array(X) if as_sparse else X), y


def _dense(X):
    return X.toarray() if sparse.issparse(X) else X


def _assert_rel_close(actual, expected, rtol=RTOL):
    scale = np.abs(expected).max()
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * scale)


# ---------------------------------------------------------------- linear
def _torch_linear_losses(X, y, coef, intercept, link):
    """Per-sample losses of a linear model written independently in torch."""
    W = torch.tensor(coef, requires_grad=True)
    b = torch.tensor(intercept, requires_grad=True)
    Xt = torch.tensor(_dense(X))
    yt = torch.tensor(y)
    z = Xt @ W.T + b
    if link == "softmax":
        losses = torch.nn.functional.cross_entropy(z, yt, reduction="none")
    else:
        if link == "binary":
            targets = (yt == 1).to(z.dtype)[:, None]
        else:
            targets = torch.nn.functional.one_hot(yt, z.shape[1]).to(z.dtype)
        losses = torch.nn.functional.binary_cross_entropy_with_logits(
            z, targets, reduction="none"
        ).sum(dim=1)
    return losses, W, b


def _autograd_linear_gradients(X, y, coef, intercept, link):
    grads = []
    for i in range(X.shape[0]):
        losses, W, b = _torch_linear_losses(X, y, coef, intercept, link)
        gW, gb = torch.autograd.grad(losses[i], (W, b))
        grads.append(torch.cat([gW, gb[:, None]], dim=1).numpy())
    return np.stack(grads), losses.detach().numpy()


LINEAR_MODELS = {
    "softmax": SoftmaxRegression(max_epochs=3),
    "logreg": LogisticRegression(),
    "sgd": SGDClassifier(loss="log_loss", max_iter=20, tol=None),
    "pipeline": make_pipeline(MaxAbsScaler(), LogisticRegression()),
}


@pytest.mark.parametrize("as_sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("name", sorted(LINEAR_MODELS))
def test_linear_gradients_match_autograd(name, n_classes, as_sparse):
    X, y = _data(n_classes, as_sparse=as_sparse)
    adapter = make_adapter(LINEAR_MODELS[name], n_classes).fit(X, y, random_state=0)
    gradients = adapter.per_sample_gradients(X, y, include_bias=True)

    embeddings = adapter.embed(X)
    assert sparse.issparse(embeddings) == as_sparse
    model = adapter.model
    expected, expected_losses = _autograd_linear_gradients(
        embeddings, y, model.coef_, model.intercept_, adapter.link
    )
    assert gradients.shape == expected.shape
    _assert_rel_close(gradients, expected)
    _assert_rel_close(adapter.per_sample_loss(X, y), expected_losses)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_linear_links(n_classes):
    links = {
        name: make_adapter(est, n_classes).link for name, est in LINEAR_MODELS.items()
    }
    assert links["softmax"] == "softmax"
    expected = "binary" if n_classes == 2 else "softmax"
    assert links["logreg"] == links["pipeline"] == expected
    assert links["sgd"] == ("binary" if n_classes == 2 else "ovr")


def test_softmax_regression_loss_is_cross_entropy_of_proba():
    X, y = _data(3)
    adapter = make_adapter(SoftmaxRegression(max_epochs=2), 3).fit(X, y)
    proba = adapter.predict_proba(X)
    np.testing.assert_allclose(
        adapter.per_sample_loss(X, y), -np.log(proba[np.arange(len(y)), y])
    )


def test_sparse_and_dense_give_the_same_linear_results():
    X, y = _data(3)
    dense = make_adapter(SoftmaxRegression(max_epochs=3), 3).fit(X, y, random_state=1)
    sparse_ = make_adapter(SoftmaxRegression(max_epochs=3), 3).fit(
        sparse.csr_array(X), y, random_state=1
    )
    np.testing.assert_allclose(dense.model.coef_, sparse_.model.coef_)
    r_dense, _ = dense.gradient_factors(X, y)
    r_sparse, h_sparse = sparse_.gradient_factors(sparse.csr_array(X), y)
    np.testing.assert_allclose(r_dense, r_sparse)
    assert sparse.issparse(h_sparse)


def test_linear_fit_forwards_sample_weight():
    # LogisticRegression is deterministic: weight 2 must equal a duplicate.
    X, y = _data(2)
    weight = np.ones(len(y))
    weight[:5] = 2.0
    weighted = make_adapter(LogisticRegression(), 2).fit(X, y, sample_weight=weight)
    X_dup = np.vstack([X, X[:5]])
    y_dup = np.concatenate([y, y[:5]])
    duplicated = make_adapter(LogisticRegression(), 2).fit(X_dup, y_dup)
    np.testing.assert_allclose(
        weighted.model.coef_, duplicated.model.coef_, rtol=1e-4, atol=1e-6
    )
    pipe = make_adapter(LINEAR_MODELS["pipeline"], 2).fit(X, y, sample_weight=weight)
    unweighted = make_adapter(LINEAR_MODELS["pipeline"], 2).fit(X, y)
    assert not np.allclose(pipe.model.coef_, unweighted.model.coef_)


def test_softmax_step_weights_select_samples():
    # mean(w * loss) with w = (2, 2, 0, 0) is the plain mean over the first two.
    X, y = _data(3, n_samples=4)
    weighted = make_adapter(SoftmaxRegression(), 3).initialize(X, y, random_state=0)
    subset = make_adapter(SoftmaxRegression(), 3).initialize(X, y, random_state=0)
    loss_w = weighted.train_step(X, y, np.array([2.0, 2.0, 0.0, 0.0]))
    loss_s = subset.train_step(X[:2], y[:2])
    assert loss_w == pytest.approx(loss_s)
    np.testing.assert_allclose(weighted.model.coef_, subset.model.coef_)


@pytest.mark.parametrize("reuse_logits", [False, True], ids=["forward", "reuse"])
@pytest.mark.parametrize("as_sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("name", ["softmax", "sgd"])
def test_linear_step_on_rows_equals_a_step_on_the_copied_rows(
    name, as_sparse, reuse_logits
):
    X, y = _data(3, n_samples=30, as_sparse=as_sparse)
    rows = np.array([17, 3, 4, 25, 11])
    in_place, copied = (
        make_adapter(LINEAR_MODELS[name], 3).initialize(X, y, random_state=0)
        for _ in range(2)
    )
    # Take a step first so that Adam's moments and the parameters are not trivial.
    for adapter in (in_place, copied):
        adapter.train_step(X[:10], y[:10])
    start = in_place.model.coef_.copy()
    logits = in_place.forward(X)[0] if reuse_logits else None
    before = None if logits is None else logits.copy()
    loss = in_place.train_step_on_rows(X, rows, y[rows], logits=logits)
    expected = copied.train_step(X[rows], y[rows])
    assert loss == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(
        in_place.model.coef_, copied.model.coef_, rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(
        in_place.model.intercept_, copied.model.intercept_, rtol=1e-12, atol=1e-14
    )
    assert not np.allclose(in_place.model.coef_, start)
    if before is not None:
        np.testing.assert_array_equal(logits, before)


def test_sgd_steps_and_epochs():
    X, y = _data(3)
    adapter = make_adapter(LINEAR_MODELS["sgd"], 3).initialize(X, y, random_state=0)
    np.testing.assert_array_equal(adapter.model.coef_, 0.0)
    adapter.train_step(X[:8], y[:8])
    assert np.any(adapter.model.coef_ != 0.0)
    before = adapter.model.coef_.copy()
    adapter.fit_epoch(X, y, sample_weight=np.ones(len(y)))
    assert not np.allclose(before, adapter.model.coef_)


def test_logistic_regression_epoch_is_a_warm_refit_and_has_no_steps():
    X, y = _data(2)
    adapter = make_adapter(LogisticRegression(), 2)
    assert not adapter.supports_steps
    adapter.initialize(X, y, random_state=0)
    with pytest.raises(TypeError, match="cannot take a single training step"):
        adapter.train_step(X, y)
    adapter.fit_epoch(X, y)
    assert adapter.model.warm_start is False
    adapter.fit_epoch(X, y)
    assert adapter.model.warm_start is True
    reference = LogisticRegression().fit(X, y)
    np.testing.assert_allclose(adapter.model.coef_, reference.coef_, rtol=1e-3)


def test_proba_gets_zero_columns_for_classes_missing_in_training():
    X, y = _data(3)
    keep = y != 1
    adapter = make_adapter(LogisticRegression(), 3).fit(X[keep], y[keep])
    proba = adapter.predict_proba(X)
    assert proba.shape == (len(y), 3)
    np.testing.assert_array_equal(proba[:, 1], 0.0)
    with pytest.raises(RuntimeError, match="every class"):
        adapter.gradient_factors(X, y)


def test_make_adapter_never_mutates_the_estimator():
    X, y = _data(3)
    for estimator in LINEAR_MODELS.values():
        params = clone(estimator).get_params()
        adapter = make_adapter(estimator, 3).fit(X, y)
        adapter.fit_epoch(X, y)
        assert adapter.estimator is not estimator
        assert not hasattr(estimator, "classes_")
        assert {k: repr(v) for k, v in estimator.get_params().items()} == {
            k: repr(v) for k, v in params.items()
        }


def test_unsupported_estimators_get_clear_errors():
    with pytest.raises(TypeError, match="cannot drive a LinearSVC"):
        make_adapter(LinearSVC(), 2)
    with pytest.raises(ValueError, match="loss='log_loss'"):
        make_adapter(SGDClassifier(loss="hinge"), 2)


# ----------------------------------------------------------------- skorch
class MLP(torch.nn.Module):
    """Two hidden layers; the head applies softmax after the last Linear."""

    def __init__(self, n_features=6, n_classes=3, hidden=7, dropout=0.0):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Linear(n_features, hidden),
            torch.nn.Tanh(),
            torch.nn.Dropout(dropout),
            torch.nn.Linear(hidden, hidden),
            torch.nn.ReLU(),
        )
        # Registered before `body` runs last: hooks must find `head`, not order.
        self.head = torch.nn.Linear(hidden, n_classes)

    def forward(self, X):
        return torch.softmax(self.head(self.body(X)), dim=-1)


class LogitMLP(MLP):
    def forward(self, X):
        return self.head(self.body(X))


def _net(n_classes, module=MLP, **kwargs):
    params = {
        "module__n_classes": n_classes,
        "max_epochs": 3,
        "lr": 0.05,
        "batch_size": 16,
        "verbose": 0,
        **kwargs,
    }
    if module is LogitMLP:
        params["criterion"] = torch.nn.CrossEntropyLoss
    return skorch.NeuralNetClassifier(module, **params)


def _autograd_last_layer_gradients(net, X, y):
    """Per-sample gradients of the head, one backward pass per sample."""
    module = net.module_
    module.eval()
    grads, losses = [], []
    Xt = torch.as_tensor(_dense(X), dtype=torch.float32)
    for i in range(X.shape[0]):
        module.zero_grad()
        output = module(Xt[i : i + 1])
        if isinstance(net.criterion_, torch.nn.CrossEntropyLoss):
            loss = torch.nn.functional.cross_entropy(output, torch.tensor([y[i]]))
        else:
            eps = torch.finfo(output.dtype).eps
            loss = -torch.log(output[0, y[i]] + eps)
        loss.backward()
        head = module.head
        grads.append(torch.cat([head.weight.grad, head.bias.grad[:, None]], 1).numpy())
        losses.append(loss.item())
    return np.stack(grads), np.array(losses)


@pytest.mark.parametrize("as_sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("module", [MLP, LogitMLP], ids=["softmax-nll", "logits-ce"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_skorch_gradients_match_autograd(n_classes, module, as_sparse):
    X, y = _data(n_classes, as_sparse=as_sparse)
    adapter = make_adapter(_net(n_classes, module), n_classes).fit(X, y, random_state=0)
    gradients = adapter.per_sample_gradients(X, y, include_bias=True)
    assert adapter.last_layer == "head"
    expected, expected_losses = _autograd_last_layer_gradients(adapter.net, X, y)
    _assert_rel_close(gradients, expected)
    _assert_rel_close(adapter.per_sample_loss(X, y), expected_losses)


def test_skorch_embeddings_are_the_input_of_the_last_linear():
    X, y = _data(3)
    adapter = make_adapter(_net(3), 3).fit(X, y, random_state=0)
    with torch.no_grad():
        expected = adapter.net.module_.body(torch.as_tensor(X, dtype=torch.float32))
    np.testing.assert_allclose(adapter.embed(X), expected.numpy(), rtol=1e-6)
    logits, _ = adapter.forward(X)
    proba = adapter.predict_proba(X)
    np.testing.assert_allclose(
        proba, torch.softmax(torch.as_tensor(logits), -1).numpy(), atol=1e-6
    )


def test_skorch_step_weights_select_samples():
    X, y = _data(3, n_samples=4)
    net = _net(3, optimizer=torch.optim.SGD)
    weighted = make_adapter(net, 3).initialize(X, y, random_state=0)
    subset = make_adapter(net, 3).initialize(X, y, random_state=0)
    loss_w = weighted.train_step(X, y, np.array([2.0, 2.0, 0.0, 0.0]))
    loss_s = subset.train_step(X[:2], y[:2])
    assert loss_w == pytest.approx(loss_s, rel=1e-6)
    for p_w, p_s in zip(
        weighted.net.module_.parameters(), subset.net.module_.parameters(), strict=True
    ):
        np.testing.assert_allclose(p_w.detach(), p_s.detach(), rtol=1e-6, atol=1e-7)


def test_skorch_step_on_rows_equals_a_step_on_the_copied_rows():
    X, y = _data(3, n_samples=12)
    net = _net(3, optimizer=torch.optim.SGD)
    in_place = make_adapter(net, 3).initialize(X, y, random_state=0)
    copied = make_adapter(net, 3).initialize(X, y, random_state=0)
    rows = np.array([7, 0, 5, 2])
    logits = in_place.forward(X)[0]
    loss = in_place.train_step_on_rows(X, rows, y[rows], logits=logits)
    assert loss == pytest.approx(copied.train_step(X[rows], y[rows]), rel=1e-6)
    for p_i, p_c in zip(
        in_place.net.module_.parameters(), copied.net.module_.parameters(), strict=True
    ):
        np.testing.assert_allclose(p_i.detach(), p_c.detach(), rtol=1e-6, atol=1e-7)


def test_skorch_weighted_fit_differs_from_unweighted_and_fills_history():
    X, y = _data(3)
    weight = np.where(y == 0, 3.0, 0.5)
    weighted = make_adapter(_net(3), 3).fit(X, y, sample_weight=weight, random_state=0)
    plain = make_adapter(_net(3), 3).fit(X, y, random_state=0)
    assert not np.allclose(weighted.predict_proba(X), plain.predict_proba(X))
    history = weighted.net.history
    assert len(history) == 3
    assert len(history[-1, "batches"]) == 3  # 40 rows in batches of 16
    assert "train_loss" in history[-1]


def test_skorch_is_deterministic_and_leaves_global_rng_alone():
    X, y = _data(3)
    net = _net(3, module__dropout=0.3)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = make_adapter(net, 3).fit(X, y, random_state=7).predict_proba(X)
    second = make_adapter(net, 3).fit(X, y, random_state=7).predict_proba(X)
    other = make_adapter(net, 3).fit(X, y, random_state=8).predict_proba(X)
    assert torch.equal(state, torch.get_rng_state())
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, other)


def test_skorch_adapter_never_mutates_the_net_and_drops_no_rows():
    X, y = _data(3)
    net = _net(3)
    adapter = make_adapter(net, 3).fit(X, y, random_state=0)
    assert not net.initialized_
    assert net.train_split is not None  # the user's default ValidSplit
    assert adapter.net.train_split is None
    # Every row was used: 3 epochs of 40 rows.
    sizes = [b["train_batch_size"] for e in adapter.net.history for b in e["batches"]]
    assert sum(sizes) == 3 * len(y)


def test_skorch_without_linear_layer_is_rejected():
    class NoLinear(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(3))

        def forward(self, X):
            return torch.softmax(X[:, :3] * self.scale, dim=-1)

    X, y = _data(3)
    net = skorch.NeuralNetClassifier(NoLinear, max_epochs=1, verbose=0)
    adapter = make_adapter(net, 3).initialize(X, y, random_state=0)
    with pytest.raises(TypeError, match=r"no torch\.nn\.Linear"):
        adapter.embed(X)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_skorch_trains_on_cuda():
    X, y = _data(3)
    adapter = make_adapter(_net(3, device="cuda"), 3).fit(X, y, random_state=0)
    assert all(p.is_cuda for p in adapter.net.module_.parameters())
    gradients = adapter.per_sample_gradients(X, y, include_bias=True)
    cpu = make_adapter(_net(3, device="cpu"), 3).fit(X, y, random_state=0)
    assert gradients.shape == cpu.per_sample_gradients(X, y, include_bias=True).shape
    np.testing.assert_allclose(adapter.predict_proba(X).sum(axis=1), 1.0, rtol=1e-5)


def test_pipeline_embeddings_are_the_transformed_features():
    X, y = _data(3, as_sparse=True)
    adapter = make_adapter(LINEAR_MODELS["pipeline"], 3).fit(X, y)
    expected = adapter.estimator[:-1].transform(X)
    embeddings = adapter.embed(X)
    assert sparse.issparse(embeddings)
    np.testing.assert_allclose(embeddings.toarray(), expected.toarray())
    assert not np.allclose(embeddings.toarray(), X.toarray())


def test_skorch_epoch_context_groups_a_methods_own_steps():
    X, y = _data(3)
    adapter = make_adapter(_net(3), 3).initialize(X, y, random_state=0)
    for _ in range(2):
        with adapter.epoch():
            adapter.train_step(X[:16], y[:16])
            adapter.train_step(X[16:], y[16:], np.ones(len(y) - 16))
    history = adapter.net.history
    assert len(history) == 2
    assert [len(epoch["batches"]) for epoch in history] == [2, 2]
    assert history[-1, "train_batch_count"] == 2


# -------------------------------------------------------- fit_as_configured
class _TwoLayer(torch.nn.Module):
    def __init__(self, n_features=6, n_classes=3):
        super().__init__()
        self.hidden = torch.nn.Linear(n_features, 8)
        self.out = torch.nn.Linear(8, n_classes)

    def forward(self, X):
        return self.out(torch.relu(self.hidden(X)))


def test_fit_as_configured_is_the_users_own_skorch_fit():
    X, y = _data(3, n_samples=60)  # float64, as the meta-estimators pass it
    net = skorch.NeuralNetClassifier(
        _TwoLayer,
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=4,
        batch_size=16,
        verbose=0,  # skorch's own ValidSplit(5) stays, as the user set it
    )
    torch.manual_seed(3)
    X32 = X.astype(np.float32)
    expected = clone(net).fit(X32, y).predict_proba(X32)
    torch.manual_seed(3)
    state = torch.get_rng_state()
    adapter = fit_as_configured(net, 3, X, y, random_state=None)
    # The caller's stream continues: same weights, same batches, and the
    # global stream is not advanced.
    np.testing.assert_allclose(adapter.predict_proba(X), expected, rtol=1e-6)
    assert torch.equal(torch.get_rng_state(), state)
    assert not hasattr(net, "module_")  # the caller's network is untouched
    assert adapter.estimator.train_split is not None
    seeded = fit_as_configured(net, 3, X, y, random_state=3)
    np.testing.assert_allclose(seeded.predict_proba(X), expected, rtol=1e-6)


def test_fit_as_configured_fills_only_unset_random_states():
    X, y = _data(3, n_samples=60)
    sgd = SGDClassifier(loss="log_loss", max_iter=5, tol=None)
    adapter = fit_as_configured(sgd, 3, X, y, random_state=7)
    assert adapter.estimator.random_state == 7 and sgd.random_state is None
    expected = clone(sgd).set_params(random_state=7).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(adapter.predict_proba(X), expected)
    fixed = fit_as_configured(sgd.set_params(random_state=1), 3, X, y, 7)
    assert fixed.estimator.random_state == 1


def test_seeded_fork_leaves_every_cuda_generator_alone(monkeypatch):
    from sknoisy.adapters._skorch import fork_torch_rng

    reseeded = []
    monkeypatch.setattr(torch.cuda, "manual_seed_all", reseeded.append)
    monkeypatch.setattr(torch.cuda, "manual_seed", reseeded.append)
    state = torch.get_rng_state()
    with fork_torch_rng("cpu", 123):
        first = torch.rand(3)
    with fork_torch_rng("cpu", 123):
        second = torch.rand(3)
    assert torch.equal(first, second) and torch.equal(torch.get_rng_state(), state)
    assert reseeded == []  # a CPU network's seed never reaches a GPU's stream
