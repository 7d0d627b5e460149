import itertools
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import sklearn
from scipy import sparse
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import make_scorer, roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknoisy import AGRAClassifier
from sknoisy._agra import (
    _decide,
    _draw_by_class,
    _draw_by_keys,
    _factor_cosines,
    _soft_f1_residuals,
)
from sknoisy.adapters import LinearAdapter, ModelAdapter, make_adapter
from sknoisy.exceptions import CorrectionFallbackWarning, UncheckedCorrectionWarning
from sknoisy.linear_model import SoftmaxRegression
from sknoisy.model_selection import trusted_scorer
from sknoisy.utils._numeric import softmax

torch = pytest.importorskip("torch")
skorch = pytest.importorskip("skorch")

# The paper's AGRA, unchecked: tests of the algorithm itself use it.
PAPER = {"threshold": 0.0, "lr": None, "fallback": False}


def _data(n_classes, n_samples=60, n_features=8, seed=0, as_sparse=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features))
    X[rng.random(X.shape) < 0.4] = 0.0
    y = np.arange(n_samples) % n_classes
    rng.shuffle(y)
    return (sparse.csr_array(X) if as_sparse else X), y


def _noisy_blobs(n_samples=300, noise=0.3, seed=0):
    """Two separable classes with a share of flipped labels."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n_samples)
    X = rng.normal(size=(n_samples, 5)) + 2.0 * y[:, None]
    flip = rng.random(n_samples) < noise
    return X, np.where(flip, 1 - y, y), y


# ----------------------------------------------------------- references
def _torch_comparison_loss(logits, labels, comp_loss, reduction):
    """The comparison loss written out directly (per-class loop for F1)."""
    if comp_loss == "ce":
        return torch.nn.functional.cross_entropy(logits, labels, reduction=reduction)
    proba = torch.softmax(logits, dim=1)
    n_classes = logits.shape[1]
    scores = []
    for k in [1] if n_classes == 2 else range(n_classes):
        pk, yk = proba[:, k], (labels == k).to(proba.dtype)
        tp, fp, fn = (pk * yk).sum(), (pk * (1 - yk)).sum(), ((1 - pk) * yk).sum()
        scores.append(2 * tp / (2 * tp + fp + fn + 1e-5))
    return 1 - torch.stack(scores).mean()


def _reference_similarities(W, b, H_batch, labels, H_comp, y_comp, comp_loss, bias):
    """Cosines from per-sample gradients materialised by autograd.

    Every batch sample gets its own copy of the last layer, so that the
    gradient of the batch loss with respect to copy ``i`` is sample ``i``'s
    gradient (its CE loss for "ce", its row of the batch soft-F1 for "f1").
    """
    H_batch, H_comp = (
        torch.as_tensor(np.asarray(H), dtype=torch.float64) for H in (H_batch, H_comp)
    )
    W = torch.as_tensor(W, dtype=torch.float64)
    b = torch.as_tensor(b, dtype=torch.float64)
    n = H_batch.shape[0]
    W_copies = W.expand(n, *W.shape).clone().requires_grad_(True)
    b_copies = b.expand(n, *b.shape).clone().requires_grad_(True)
    logits = torch.einsum("nkd,nd->nk", W_copies, H_batch) + b_copies
    loss = _torch_comparison_loss(logits, torch.as_tensor(labels), comp_loss, "sum")
    gW, gb = torch.autograd.grad(loss, (W_copies, b_copies))
    W_c, b_c = W.clone().requires_grad_(True), b.clone().requires_grad_(True)
    comp = _torch_comparison_loss(
        H_comp @ W_c.T + b_c, torch.as_tensor(y_comp), comp_loss, "mean"
    )
    GW, Gb = torch.autograd.grad(comp, (W_c, b_c))
    per_sample = gW.reshape(n, -1)
    G = GW.reshape(-1)
    if bias:
        per_sample = torch.cat([per_sample, gb], dim=1)
        G = torch.cat([G, Gb])
    sims = [
        torch.dot(g, G) / (torch.linalg.norm(g) * torch.linalg.norm(G) + 1e-6)
        for g in per_sample
    ]
    return torch.stack(sims).numpy()


def _fitted_linear_adapter(n_classes, as_sparse=False):
    X, y = _data(n_classes, as_sparse=as_sparse)
    model = SoftmaxRegression(lr=0.05, max_epochs=3, random_state=0)
    return make_adapter(model, n_classes).fit(X, y, random_state=0), X, y


# ----------------------------------------------------- gradient algebra
@pytest.mark.parametrize("n_classes", [2, 3, 6])
def test_soft_f1_residuals_match_autograd(n_classes):
    rng = np.random.default_rng(n_classes)
    logits = rng.normal(size=(20, n_classes))
    labels = rng.integers(0, n_classes - (n_classes > 2), 20)  # one class absent
    z = torch.tensor(logits, requires_grad=True)
    loss = _torch_comparison_loss(z, torch.tensor(labels), "f1", None)
    (expected,) = torch.autograd.grad(loss, z)
    np.testing.assert_allclose(
        _soft_f1_residuals(softmax(logits), labels),
        expected.numpy(),
        rtol=0,
        atol=1e-12,
    )


@pytest.mark.parametrize("labels", [0, 1], ids=["no_positive", "all_positive"])
def test_binary_soft_f1_residuals_match_autograd_with_one_class(labels):
    logits = np.random.default_rng(labels).normal(size=(9, 2))
    labels = np.full(9, labels)
    z = torch.tensor(logits, requires_grad=True)
    loss = _torch_comparison_loss(z, torch.tensor(labels), "f1", None)
    (expected,) = torch.autograd.grad(loss, z)
    np.testing.assert_allclose(
        _soft_f1_residuals(softmax(logits), labels),
        expected.numpy(),
        rtol=0,
        atol=1e-12,
    )


def _similarities(agra, adapter, X_both, y_batch, y_comp, alternative):
    """``agra``'s cosines for one batch, scored as its epoch loop scores it."""
    logits, H = adapter.forward(X_both, training=agra.gradient_mode == "train")
    return agra._similarities(adapter, X_both, logits, H, y_batch, y_comp, alternative)


@pytest.mark.parametrize("bias", [False, True], ids=["weight", "with_bias"])
@pytest.mark.parametrize("alternative", [None, 1])
@pytest.mark.parametrize("comp_loss", ["ce", "f1"])
@pytest.mark.parametrize("n_classes", [2, 6])
def test_linear_similarities_match_per_sample_autograd(
    n_classes, comp_loss, alternative, bias
):
    adapter, X, y = _fitted_linear_adapter(n_classes, as_sparse=True)
    agra = AGRAClassifier(comp_loss=comp_loss, include_bias=bias)
    batch, comp = np.arange(0, 24), np.arange(30, 54)
    X_both = X[np.r_[batch, comp]]
    sims = _similarities(agra, adapter, X_both, y[batch], y[comp], alternative)
    model = adapter.model
    hypotheses = [y[batch]]
    if alternative is not None:
        hypotheses.append(np.full(len(batch), alternative))
    assert len(sims) == len(hypotheses)
    dense = X.toarray()
    for sim, labels in zip(sims, hypotheses, strict=True):
        expected = _reference_similarities(
            model.coef_,
            model.intercept_,
            dense[batch],
            labels,
            dense[comp],
            y[comp],
            comp_loss,
            bias,
        )
        np.testing.assert_allclose(sim, expected, rtol=0, atol=1e-9)


def test_two_class_cosine_equals_one_logit_logistic_cosine():
    adapter, X, y = _fitted_linear_adapter(2)
    batch, comp = np.arange(0, 20), np.arange(20, 52)
    (sims,) = _similarities(
        AGRAClassifier(), adapter, X[np.r_[batch, comp]], y[batch], y[comp], None
    )
    # One logit z_1 - z_0 with sigmoid: g_i = (σ_i - y_i) x_i.
    coef = adapter.model.coef_[1] - adapter.model.coef_[0]
    intercept = adapter.model.intercept_[1] - adapter.model.intercept_[0]
    residual = 1 / (1 + np.exp(-(X @ coef + intercept))) - y
    g = residual[batch, None] * X[batch]
    G = (residual[comp, None] * X[comp]).mean(axis=0)
    expected = g @ G / (np.linalg.norm(g, axis=1) * np.linalg.norm(G))
    np.testing.assert_allclose(sims, expected, rtol=0, atol=1e-5)


class MLP(torch.nn.Module):
    def __init__(self, n_features=8, n_classes=3, hidden=7, dropout=0.0):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Linear(n_features, hidden),
            torch.nn.Tanh(),
            torch.nn.Dropout(dropout),
        )
        self.head = torch.nn.Linear(hidden, n_classes)

    def forward(self, X):
        return torch.softmax(self.head(self.body(X)), dim=-1)


def _net(n_classes, **kwargs):
    params = {
        "module__n_classes": n_classes,
        "max_epochs": 2,
        "lr": 0.05,
        "batch_size": 16,
        "verbose": 0,
        **kwargs,
    }
    return skorch.NeuralNetClassifier(MLP, **params)


@pytest.mark.parametrize("alternative", [None, 0])
@pytest.mark.parametrize("comp_loss", ["ce", "f1"])
@pytest.mark.parametrize("n_classes", [2, 6])
def test_skorch_last_layer_similarities_match_autograd(
    n_classes, comp_loss, alternative
):
    X, y = _data(n_classes)
    adapter = make_adapter(_net(n_classes), n_classes).fit(X, y, random_state=0)
    module = adapter.net.module_.eval()
    batch, comp = np.arange(0, 16), np.arange(20, 36)
    sims = _similarities(
        AGRAClassifier(comp_loss=comp_loss),
        adapter,
        X[np.r_[batch, comp]],
        y[batch],
        y[comp],
        alternative,
    )
    with torch.no_grad():
        H = module.body(torch.as_tensor(X, dtype=torch.float32)).double().numpy()
    hypotheses = [y[batch]] + (
        [] if alternative is None else [np.full(16, alternative)]
    )
    for sim, labels in zip(sims, hypotheses, strict=True):
        expected = _reference_similarities(
            module.head.weight.detach().double().numpy(),
            module.head.bias.detach().double().numpy(),
            H[batch],
            labels,
            H[comp],
            y[comp],
            comp_loss,
            False,
        )
        np.testing.assert_allclose(sim, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("comp_loss", ["ce", "f1"])
def test_all_parameter_similarities_match_a_per_sample_loop(comp_loss):
    n_classes = 3
    X, y = _data(n_classes)
    adapter = make_adapter(_net(n_classes), n_classes).fit(X, y, random_state=0)
    module = adapter.net.module_.eval()
    batch, comp = np.arange(0, 12), np.arange(20, 36)
    agra = AGRAClassifier(comp_loss=comp_loss, scored_parameters="all")
    (sims,) = _similarities(
        agra, adapter, X[np.r_[batch, comp]], y[batch], y[comp], None
    )
    params = [p for p in module.parameters() if p.requires_grad]

    def logits_of(rows):
        return module.head(module.body(torch.as_tensor(X[rows], dtype=torch.float32)))

    def flat(grads):
        return torch.cat([g.reshape(-1) for g in grads]).double()

    z = logits_of(batch)
    loss = _torch_comparison_loss(z, torch.as_tensor(y[batch]), comp_loss, "sum")
    (rows,) = torch.autograd.grad(loss, z, retain_graph=True)
    per_sample = [
        flat(torch.autograd.grad((z[i] * rows[i]).sum(), params, retain_graph=True))
        for i in range(len(batch))
    ]
    comp_loss_value = _torch_comparison_loss(
        logits_of(comp), torch.as_tensor(y[comp]), comp_loss, "mean"
    )
    G = flat(torch.autograd.grad(comp_loss_value, params))
    expected = [torch.dot(g, G) / (g.norm() * G.norm() + 1e-6) for g in per_sample]
    np.testing.assert_allclose(sims, torch.stack(expected).numpy(), atol=1e-5)


def _unit_comparison_similarities(W, b, H_batch, labels, H_comp, y_comp, comp_loss):
    """Cosines with ``G`` the sum of unit per-sample comparison gradients.

    Per-sample gradients (of the weight and, here, the bias) are materialised
    by autograd through one copy of the last layer per sample; for CE the sum
    is divided by the comparison batch size, as the mean-CE ``G`` is.
    """

    def rows(H, y):
        H = torch.as_tensor(np.asarray(H), dtype=torch.float64)
        n = H.shape[0]
        W_ = torch.as_tensor(W, dtype=torch.float64).expand(n, *W.shape).clone()
        b_ = torch.as_tensor(b, dtype=torch.float64).expand(n, *b.shape).clone()
        W_.requires_grad_(True), b_.requires_grad_(True)
        logits = torch.einsum("nkd,nd->nk", W_, H) + b_
        loss = _torch_comparison_loss(logits, torch.as_tensor(y), comp_loss, "sum")
        gW, gb = torch.autograd.grad(loss, (W_, b_))
        return torch.cat([gW.reshape(n, -1), gb], dim=1)

    per_sample, comp = rows(H_batch, labels), rows(H_comp, y_comp)
    G = (comp / comp.norm(dim=1, keepdim=True)).sum(dim=0)
    if comp_loss == "ce":
        G = G / len(y_comp)
    norms = per_sample.norm(dim=1) * G.norm() + 1e-6
    return (per_sample @ G / norms).numpy()


@pytest.mark.parametrize("comp_loss", ["ce", "f1"])
@pytest.mark.parametrize("n_classes", [2, 6])
def test_unit_comparison_gradients_match_per_sample_autograd(n_classes, comp_loss):
    adapter, X, y = _fitted_linear_adapter(n_classes, as_sparse=True)
    agra = AGRAClassifier(comp_loss=comp_loss, include_bias=True, comp_normalize=True)
    batch, comp = np.arange(0, 24), np.arange(30, 54)
    (sims,) = _similarities(
        agra, adapter, X[np.r_[batch, comp]], y[batch], y[comp], None
    )
    dense = X.toarray()
    expected = _unit_comparison_similarities(
        adapter.model.coef_,
        adapter.model.intercept_,
        dense[batch],
        y[batch],
        dense[comp],
        y[comp],
        comp_loss,
    )
    np.testing.assert_allclose(sims, expected, rtol=0, atol=1e-9)
    # "all" materialises weight and intercept gradients: the same cosines.
    agra.set_params(scored_parameters="all", include_bias=False)
    (full,) = _similarities(
        agra, adapter, X[np.r_[batch, comp]], y[batch], y[comp], None
    )
    np.testing.assert_allclose(full, expected, rtol=0, atol=1e-9)


def test_unit_comparison_gives_a_zero_gradient_no_weight():
    rng = np.random.default_rng(0)
    R_batch, R_comp = rng.normal(size=(1, 5, 3)), rng.normal(size=(6, 3))
    H = rng.normal(size=(11, 4))  # 5 batch rows, then 6 comparison rows
    with_zero = R_comp.copy()
    with_zero[2] = 0.0
    kept = np.r_[0:2, 3:6]
    sims = _factor_cosines(R_batch, with_zero, H, False, 1.0, normalize=True)
    H_without = H[np.r_[0:5, 5 + kept]]
    expected = _factor_cosines(R_batch, R_comp[kept], H_without, False, 1.0, True)
    assert np.all(np.isfinite(sims))
    np.testing.assert_allclose(sims, expected, rtol=0, atol=1e-12)


def test_unit_comparison_gradients_detect_pair_noise_on_a_network():
    """The mean comparison gradient follows the large-loss (mislabelled) samples
    once a network fits the rest; one unit vote per comparison sample does not.

    Digits, an MLP and 40 % pair noise: ``noise_score_`` ranks the flipped
    labels at AUC ~0.6 with the paper's mean and ~0.75 with unit gradients
    (0.73-0.82 over seeds 3-10, each at least 0.09 above the mean's).
    """
    from sklearn.datasets import load_digits

    from sknoisy.noise import make_label_noise

    digits = load_digits()
    X = StandardScaler().fit_transform(digits.data[:1000]).astype(np.float32)
    y = digits.target[:1000]
    y_noisy = make_label_noise(y, 0.4, kind="pair", random_state=0)
    net = skorch.NeuralNetClassifier(
        MLP,
        module__n_features=64,
        module__n_classes=10,
        module__hidden=64,
        optimizer=torch.optim.SGD,
        lr=0.05,
        max_epochs=15,
        batch_size=128,
        verbose=0,
    )
    aucs = [
        roc_auc_score(
            y_noisy != y,
            AGRAClassifier(net, comp_normalize=unit, random_state=0, **PAPER)
            .fit(X, y_noisy)
            .noise_score_,
        )
        for unit in (False, True)
    ]
    assert aucs[1] > 0.7
    assert aucs[1] > aucs[0] + 0.05


def test_linear_all_parameters_equal_the_bias_including_closed_form():
    adapter, X, y = _fitted_linear_adapter(3)
    args = (adapter, X[:44], y[:20], y[20:44], 2)
    closed = _similarities(AGRAClassifier(include_bias=True), *args)
    full = _similarities(AGRAClassifier(scored_parameters="all"), *args)
    np.testing.assert_allclose(full, closed, rtol=0, atol=1e-10)


# -------------------------------------------------------- decision rule
def test_decision_rule_boundaries():
    tau = 0.1
    y = np.array([0, 0, 0, 0, 2, 2])
    sim_y = np.array([tau, 0.5, 0.3, 0.05, 0.2, -0.3])
    sim_alt = np.array([tau, 0.5, 0.6, 0.05, 0.9, 0.9])
    kept, relabeled = _decide(sim_y, None, y, None, tau)
    np.testing.assert_array_equal(kept, [False, True, True, False, True, False])
    assert not relabeled.any()
    kept, relabeled = _decide(sim_y, sim_alt, y, 2, tau)
    # sim = τ excluded; sim(y) = sim(y') > τ kept; y' better relabels; a sample
    # already labelled y' is kept with its own label, never "relabelled".
    np.testing.assert_array_equal(kept, [False, True, False, False, True, True])
    np.testing.assert_array_equal(relabeled, [False, False, True, False, False, False])


def test_decision_rule_matches_the_paper_rule_elementwise():
    rng = np.random.default_rng(0)
    sim_y = rng.choice([-0.5, 0.0, 0.2, 0.5], 500)
    sim_alt = rng.choice([-0.5, 0.0, 0.2, 0.5], 500)
    y = rng.integers(0, 3, 500)
    kept, relabeled = _decide(sim_y, sim_alt, y, 1, 0.0)
    for i in range(500):
        relabel = sim_alt[i] > 0 and sim_alt[i] > sim_y[i]
        keep = sim_y[i] > 0 and sim_y[i] >= sim_alt[i]
        assert relabeled[i] == (relabel and y[i] != 1)
        assert kept[i] == (keep or (relabel and y[i] == 1))


# ----------------------------------------------------------- estimator
def test_nothing_kept_makes_no_step():
    X, y, _ = _noisy_blobs(100)
    # A cosine never exceeds 1: every sample of every batch is excluded.
    agra = AGRAClassifier(
        SoftmaxRegression(lr=0.1, batch_size=32, max_epochs=2),
        threshold=1.0,
        lr=None,
        fallback=False,
        random_state=0,
    ).fit(X, y)
    assert agra.estimator_.t_ == 0
    assert [h["n_steps"] for h in agra.history_] == [0, 0]
    assert [h["n_skipped_steps"] for h in agra.history_] == [4, 4]
    assert agra.n_removed_ == 200
    np.testing.assert_array_equal(agra.removal_counts_, 2)


def test_steps_train_on_the_kept_samples_only(monkeypatch):
    X, y, _ = _noisy_blobs(64)
    calls = []
    original = SoftmaxRegression._step

    def spy(model, X_step, y_step, sample_weight=None, **kwargs):
        calls.append(len(y_step))
        return original(model, X_step, y_step, sample_weight, **kwargs)

    monkeypatch.setattr(SoftmaxRegression, "_step", spy)
    agra = AGRAClassifier(
        SoftmaxRegression(lr=0.1, batch_size=16, max_epochs=3), random_state=0, **PAPER
    ).fit(X, y)
    removed = [h["n_removed"] for h in agra.history_]
    assert sum(calls) == 3 * 64 - sum(removed)
    assert sum(removed) > 0
    assert agra.estimator_.t_ == len(calls)


def test_in_place_steps_equal_steps_on_copied_rows(monkeypatch):
    # The linear adapter steps on the kept rows of the scored batch, reusing
    # its logits; the generic path copies the rows out and runs a forward.
    X, y, _ = _noisy_blobs(120)
    X = sparse.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))
    agra = AGRAClassifier(
        SoftmaxRegression(lr=0.05, batch_size=16, max_epochs=4),
        comp_loss="f1",
        alternative_label=1,
        random_state=0,
        **PAPER,
    )
    fast = clone(agra).fit(X, y)
    monkeypatch.setattr(
        LinearAdapter, "train_step_on_rows", ModelAdapter.train_step_on_rows
    )
    copied = clone(agra).fit(X, y)
    assert fast.history_ == copied.history_
    np.testing.assert_allclose(
        fast.estimator_.coef_, copied.estimator_.coef_, rtol=1e-12, atol=1e-12
    )


def test_agra_beats_plain_training_on_noisy_blobs():
    X, y_noisy, y = _noisy_blobs(600, noise=0.35)
    X = X - X.mean(axis=0)
    model = SoftmaxRegression(lr=0.05, batch_size=32, max_epochs=10, random_state=0)
    agra = AGRAClassifier(model, comp_loss="f1", random_state=0, **PAPER).fit(
        X, y_noisy
    )
    plain = clone(model).fit(X, y_noisy)
    assert agra.score(X, y) > plain.score(X, y) + 0.01
    # The excluded samples are mostly the flipped ones.
    flipped = y_noisy != y
    counts = agra.removal_counts_
    assert counts[flipped].mean() > 3 * counts[~flipped].mean()
    # So are the samples whose gradients disagree most on average.
    score = agra.noise_score_
    assert score[flipped].mean() > score[~flipped].mean() + 0.05
    assert roc_auc_score(flipped, score) > 0.8


def test_determinism_under_random_state():
    X, y, _ = _noisy_blobs(200)
    model = SoftmaxRegression(lr=0.05, batch_size=16, max_epochs=3)
    kwargs = {
        "comp_loss": "f1",
        "class_weighted_sampling": True,
        "alternative_label": 1,
        **PAPER,
    }
    first = AGRAClassifier(model, random_state=3, **kwargs).fit(X, y)
    second = AGRAClassifier(model, random_state=3, **kwargs).fit(X, y)
    third = AGRAClassifier(model, random_state=4, **kwargs).fit(X, y)
    np.testing.assert_array_equal(first.estimator_.coef_, second.estimator_.coef_)
    assert first.history_ == second.history_
    np.testing.assert_array_equal(first.removal_counts_, second.removal_counts_)
    assert not np.array_equal(first.estimator_.coef_, third.estimator_.coef_)


def test_sparse_equals_dense():
    X, y = _data(3, n_samples=120)
    X_sparse = sparse.csr_matrix(X)
    model = SoftmaxRegression(lr=0.05, batch_size=16, max_epochs=3)
    kwargs = {"comp_loss": "f1", "random_state": 0, "alternative_label": 2, **PAPER}
    dense = AGRAClassifier(model, **kwargs).fit(X, y)
    sparse_fit = AGRAClassifier(model, **kwargs).fit(X_sparse, y)
    assert dense.history_ == sparse_fit.history_
    np.testing.assert_allclose(
        sparse_fit.estimator_.coef_, dense.estimator_.coef_, rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(
        sparse_fit.predict_proba(X_sparse), dense.predict_proba(X)
    )


def test_class_weighted_sampling_balances_the_comparison_batches(monkeypatch):
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.1).astype(int)
    X = rng.normal(size=(400, 3)) + y[:, None]
    shares = {}
    original = AGRAClassifier._select

    for weighted in (False, True):
        drawn = []

        def spy(self, adapter, X_both, logits, H, y_b, y_c, *args, drawn=drawn):
            drawn.append(y_c.copy())
            return original(self, adapter, X_both, logits, H, y_b, y_c, *args)

        monkeypatch.setattr(AGRAClassifier, "_select", spy)
        AGRAClassifier(
            SoftmaxRegression(batch_size=20, max_epochs=2),
            class_weighted_sampling=weighted,
            random_state=0,
            **PAPER,
        ).fit(X, y)
        monkeypatch.undo()
        comp = np.stack(drawn)
        shares[weighted] = comp.mean()
    assert shares[False] < 0.2
    assert 0.4 < shares[True] < 0.6


def _successive_sampling_class_counts(y, weights, size):
    """Expected draws per class of successive sampling, by enumeration."""
    expected = np.zeros(y.max() + 1)
    for sequence in itertools.permutations(range(len(y)), size):
        probability, left = 1.0, weights.sum()
        for index in sequence:
            probability *= weights[index] / left
            left -= weights[index]
        drawn = np.bincount(y[list(sequence)], minlength=len(expected))
        expected += probability * drawn
    return expected


def test_both_class_weighted_samplers_match_successive_sampling():
    y = np.array([0, 0, 1, 1, 1, 1, 2])
    counts = np.bincount(y)
    weights = 1.0 / counts[y]
    size = 3
    expected = _successive_sampling_class_counts(y, weights, size)
    rng = np.random.default_rng(0)
    members = [np.flatnonzero(y == label) for label in range(3)]
    n_draws = 10000
    by_keys = [_draw_by_keys(rng, weights, size) for _ in range(n_draws)]
    by_class = [
        _draw_by_class(rng, members, 1.0 / counts, size) for _ in range(n_draws)
    ]
    for draws in (by_keys, by_class):
        assert all(len(np.unique(draw)) == size for draw in draws)
        observed = np.mean([np.bincount(y[d], minlength=3) for d in draws], axis=0)
        # A class count per draw has a standard deviation below 0.8 here, so
        # the mean's standard error is below 0.008: atol is about 4 of them.
        np.testing.assert_allclose(observed, expected, atol=0.03)
    # Within a class, every member is equally likely.
    inclusion = np.bincount(np.concatenate(by_class), minlength=len(y)) / n_draws
    np.testing.assert_allclose(inclusion[2:6], inclusion[2:6].mean(), atol=0.03)


def test_large_data_draw_per_class_and_still_balance(monkeypatch):
    monkeypatch.setattr("sknoisy._agra._SAMPLES_PER_CLASS_FOR_CLASSWISE_DRAWS", 1)
    test_class_weighted_sampling_balances_the_comparison_batches(monkeypatch)


def test_comparison_batches_are_drawn_without_replacement(monkeypatch):
    X, y, _ = _noisy_blobs(40)
    drawn = []
    original = AGRAClassifier._select

    def spy(self, adapter, X_both, logits, H, y_b, y_c, *args):
        drawn.append(X_both[len(y_b) :])
        return original(self, adapter, X_both, logits, H, y_b, y_c, *args)

    monkeypatch.setattr(AGRAClassifier, "_select", spy)
    AGRAClassifier(
        SoftmaxRegression(batch_size=8, max_epochs=1),
        comp_batch_size=40,
        random_state=0,
        **PAPER,
    ).fit(X, y)
    for comp in drawn:
        # Every comparison batch of size n is a permutation of all rows.
        assert len(np.unique(comp, axis=0)) == 40


def test_best_epoch_selection_and_ties():
    X, y_noisy, y = _noisy_blobs(300)
    model = SoftmaxRegression(lr=0.05, batch_size=32, max_epochs=6)
    X_val, y_val = X[:100] + 0.01, y[:100]
    agra = AGRAClassifier(model, random_state=0, **PAPER).fit(
        X, y_noisy, X_val=X_val, y_val=y_val
    )
    scores = [h["val_score"] for h in agra.history_]
    best = max(scores)
    assert agra.best_epoch_ == len(scores) - scores[::-1].index(best)
    assert agra.best_score_ == best
    assert agra.score(X_val, y_val) == pytest.approx(best)

    constant = make_scorer(lambda yt, yp: 0.5)
    later = AGRAClassifier(model, scoring=constant, random_state=0, **PAPER)
    earlier = clone(later).set_params(best_epoch_ties="earlier")
    assert later.fit(X, y_noisy, X_val=X_val, y_val=y_val).best_epoch_ == 6
    assert earlier.fit(X, y_noisy, X_val=X_val, y_val=y_val).best_epoch_ == 1
    no_val = AGRAClassifier(model, random_state=0, **PAPER).fit(X, y_noisy)
    assert no_val.best_epoch_ == 6 and np.isnan(no_val.best_score_)
    assert "val_score" not in no_val.history_[0]


def test_string_labels_alternative_label_and_scorer_names():
    X, y_noisy, y = _noisy_blobs(200)
    names = np.array(["ham", "spam"])
    agra = AGRAClassifier(
        SoftmaxRegression(lr=0.05, max_epochs=3),
        alternative_label="spam",
        scoring="f1_macro",
        random_state=0,
        **PAPER,
    ).fit(X, names[y_noisy], X_val=X[:50], y_val=names[y[:50]])
    assert set(agra.predict(X)) <= {"ham", "spam"}
    assert agra.n_relabeled_ == int(agra.relabel_counts_.sum()) > 0
    assert agra.relabel_counts_[y_noisy == 1].sum() == 0
    np.testing.assert_allclose(agra.predict_proba(X).sum(axis=1), 1.0)


def test_verbose_prints_one_line_per_epoch(capsys):
    X, y, _ = _noisy_blobs(100)
    AGRAClassifier(
        SoftmaxRegression(max_epochs=2), verbose=1, random_state=0, **PAPER
    ).fit(X, y, X_val=X[:30], y_val=y[:30])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[1].startswith("[AGRAClassifier] epoch 2/2 | n_removed=")
    assert "val_score=" in lines[1]
    # Then the epoch whose model AGRA keeps.
    assert lines[2].startswith("[AGRAClassifier] restored_epoch ")


def test_verbose_prints_one_line_per_candidate_setting(capsys):
    X, y_noisy, _, trusted = _with_trusted(120, n_trusted=30)
    model = SoftmaxRegression(max_epochs=2)
    AGRAClassifier(model, verbose=1, fallback=False, random_state=0).fit(
        X[~trusted], y_noisy[~trusted], X_val=X[trusted], y_val=y_noisy[trusted]
    )
    lines = capsys.readouterr().out.strip().splitlines()
    # One line per setting, then the setting and epoch kept.
    assert len(lines) == 7 and all("val_score=" in line for line in lines)
    assert lines[-1].startswith("[AGRAClassifier] restored_epoch ")
    AGRAClassifier(model, verbose=1, fallback=False, random_state=0).fit(
        X, y_noisy, trusted=trusted
    )
    lines = capsys.readouterr().out.strip().splitlines()
    # One line per setting, then the epochs of the final fit.
    assert sum("cross_fitted_score=" in line for line in lines) == 6
    assert lines[-1].startswith("[AGRAClassifier] epoch ")


def test_default_estimator_is_the_papers_model():
    X, y, _ = _noisy_blobs(100)
    agra = AGRAClassifier(random_state=0, fallback=False).fit(X, y)
    model = agra.estimator_
    assert isinstance(model, SoftmaxRegression)
    assert (model.lr, model.batch_size, model.max_epochs) == (1e-2, 32, 10)
    assert len(agra.history_) == 10


def test_estimator_is_never_modified():
    X, y, _ = _noisy_blobs(100)
    model = SoftmaxRegression(max_epochs=2)
    agra = AGRAClassifier(model, random_state=0, fallback=False).fit(X, y)
    assert not hasattr(model, "coef_")
    assert agra.estimator_ is not model


def test_bad_input_gets_clear_errors():
    X, y, _ = _noisy_blobs(50)
    model = SoftmaxRegression(max_epochs=1)
    with pytest.raises(ValueError, match="alternative_label=7 is not one of"):
        AGRAClassifier(model, alternative_label=7).fit(X, y)
    with pytest.raises(ValueError, match="comp_batch_size=51 exceeds the 50"):
        AGRAClassifier(model, comp_batch_size=51).fit(X, y)
    with pytest.raises(ValueError, match="Pass both X_val and y_val"):
        AGRAClassifier(model).fit(X, y, X_val=X)
    with pytest.raises(ValueError, match="y_val holds labels"):
        AGRAClassifier(model).fit(X, y, X_val=X[:5], y_val=[0, 1, 2, 0, 1])
    with pytest.raises(ValueError, match="X_val has 2 features"):
        AGRAClassifier(model).fit(X, y, X_val=X[:5, :2], y_val=y[:5])
    with pytest.raises(TypeError, match="step by step"):
        AGRAClassifier(LogisticRegression()).fit(X, y)
    with pytest.raises(ValueError, match="comp_loss"):
        AGRAClassifier(model, comp_loss="mse").fit(X, y)
    with pytest.warns(UserWarning, match="as many rows as X"):
        AGRAClassifier(model).fit(X, y, X_val=X, y_val=y)


def test_comparison_batch_defaults_to_the_batch_size_within_the_data():
    X, y, _ = _noisy_blobs(20)
    agra = AGRAClassifier(
        SoftmaxRegression(batch_size=32, max_epochs=1), fallback=False
    )
    assert (
        agra.fit(X, y).history_[0]["n_steps"] + agra.history_[0]["n_skipped_steps"] == 1
    )


# --------------------------------------------------------------- skorch
def test_skorch_net_trains_with_agra():
    X, y = _data(3, n_samples=90)
    net = _net(3, max_epochs=3)
    agra = AGRAClassifier(net, comp_loss="f1", random_state=0, **PAPER).fit(
        X, y, X_val=X[:30], y_val=y[:30]
    )
    assert len(agra.history_) == 3
    assert agra.predict(X).shape == (90,)
    assert not hasattr(net, "module_")
    again = AGRAClassifier(net, comp_loss="f1", random_state=0, **PAPER).fit(
        X, y, X_val=X[:30], y_val=y[:30]
    )
    np.testing.assert_array_equal(agra.predict_proba(X), again.predict_proba(X))
    assert agra.history_ == again.history_


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("scored", ["last_layer", "all"])
def test_skorch_options_run_deterministically(scored, mode):
    X, y = _data(2, n_samples=48)
    net = _net(2, module__dropout=0.3, max_epochs=2)
    kwargs = {
        "scored_parameters": scored,
        "gradient_mode": mode,
        "random_state": 1,
        **PAPER,
    }
    first = AGRAClassifier(net, **kwargs).fit(X, y)
    second = AGRAClassifier(net, **kwargs).fit(X, y)
    assert first.history_ == second.history_
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))


def test_train_mode_gradients_see_dropout():
    X, y = _data(2, n_samples=48)
    net = _net(2, module__dropout=0.5, max_epochs=2)
    eval_fit = AGRAClassifier(net, random_state=1, **PAPER).fit(X, y)
    train_fit = AGRAClassifier(net, gradient_mode="train", random_state=1, **PAPER).fit(
        X, y
    )
    assert eval_fit.history_ != train_fit.history_


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_skorch_agra_runs_on_cuda():
    X, y = _data(3, n_samples=90)
    kwargs = {"comp_loss": "f1", "random_state": 0, **PAPER}
    gpu = AGRAClassifier(_net(3, device="cuda"), **kwargs).fit(X, y)
    assert all(p.is_cuda for p in gpu.estimator_.module_.parameters())
    cpu = AGRAClassifier(_net(3, device="cpu"), **kwargs).fit(X, y)
    np.testing.assert_allclose(gpu.predict_proba(X), cpu.predict_proba(X), atol=1e-4)
    all_params = AGRAClassifier(
        _net(3, device="cuda"), scored_parameters="all", **kwargs
    ).fit(X, y)
    assert all_params.predict(X).shape == (90,)


# ----------------------------------------------------------------- data
@pytest.fixture
def wrench_youtube():
    from sknoisy.datasets import load_wrench

    env = os.environ.get("SKNOISY_DATA")
    if not env:
        pytest.skip("SKNOISY_DATA is not set; benchmark data tests need it")
    if not (Path(env) / "wrench" / "youtube" / "train.json").is_file():
        pytest.skip(f"SKNOISY_DATA={env} lacks wrench/youtube")
    return load_wrench("youtube", data_home=env, download_if_missing=False)


@pytest.mark.data
def test_youtube_paper_configuration_reaches_the_papers_accuracy(wrench_youtube):
    from sklearn.feature_extraction.text import TfidfVectorizer

    data = wrench_youtube
    vectorizer = TfidfVectorizer().fit(data.train.data)
    X_train, X_val, X_test = (
        vectorizer.transform(split.data)
        for split in (data.train, data.valid, data.test)
    )
    model = SoftmaxRegression(lr=1e-2, batch_size=32, max_epochs=10, weight_decay=1e-3)
    agra = AGRAClassifier(model, comp_loss="f1", random_state=0, **PAPER).fit(
        X_train, data.train.target_noisy, X_val=X_val, y_val=data.valid.target
    )
    assert sparse.issparse(X_train)
    assert agra.score(X_test, data.test.target) > 0.9


# ------------------------------------------------------ trusted rows
def _with_trusted(n_samples=300, noise=0.3, n_trusted=60, seed=0):
    """Noisy blobs whose first ``n_trusted`` rows carry their true labels."""
    X, y_noisy, y = _noisy_blobs(n_samples, noise=noise, seed=seed)
    trusted = np.zeros(n_samples, dtype=bool)
    trusted[:n_trusted] = True
    y_noisy = np.where(trusted, y, y_noisy)
    return X, y_noisy, y, trusted


def test_trusted_rows_are_validation_rows_never_left_out():
    X, y_noisy, y, trusted = _with_trusted()
    model = SoftmaxRegression(lr=0.05, batch_size=16, max_epochs=4)
    agra = AGRAClassifier(model, random_state=0, **PAPER).fit(
        X, y_noisy, trusted=trusted
    )
    assert agra.removal_counts_[trusted].sum() == 0
    assert agra.removal_counts_[~trusted].sum() > 0
    # Trained on, so the epoch is chosen on held-out trusted rows: no
    # per-epoch validation score of the final fit, a cross-fitted best score.
    assert 1 <= agra.best_epoch_ <= 4 and len(agra.history_) == agra.best_epoch_
    assert 0.5 < agra.best_score_ <= 1.0
    assert agra.noise_score_.shape == (len(y),)
    assert np.all((agra.noise_score_ >= 0) & (agra.noise_score_ <= 1))


def test_trusted_rows_not_trained_on_equal_x_val():
    X, y_noisy, _, trusted = _with_trusted()
    model = SoftmaxRegression(lr=0.05, batch_size=16, max_epochs=3)
    agra = AGRAClassifier(model, train_on_trusted=False, random_state=0)
    by_mask = clone(agra).fit(X, y_noisy, trusted=trusted)
    by_val = clone(agra).fit(
        X[~trusted], y_noisy[~trusted], X_val=X[trusted], y_val=y_noisy[trusted]
    )
    np.testing.assert_array_equal(by_mask.predict_proba(X), by_val.predict_proba(X))
    assert (by_mask.threshold_, by_mask.lr_) == (by_val.threshold_, by_val.lr_)
    assert by_mask.fallback_ == by_val.fallback_
    np.testing.assert_array_equal(
        by_mask.removal_counts_[~trusted], by_val.removal_counts_
    )
    assert by_mask.removal_counts_[trusted].sum() == 0


def test_auto_settings_are_chosen_among_the_candidates_and_used(monkeypatch):
    X, y_noisy, _, trusted = _with_trusted()
    # A learning rate far too small for 3 epochs: "auto" must raise it.
    model = SoftmaxRegression(lr=1e-4, batch_size=16, max_epochs=3)
    tried = set()
    original = AGRAClassifier._train

    def spy(self, **kwargs):
        tried.add(kwargs["settings"])
        return original(self, **kwargs)

    monkeypatch.setattr(AGRAClassifier, "_train", spy)
    agra = AGRAClassifier(model, fallback=False, random_state=0).fit(
        X, y_noisy, trusted=trusted
    )
    monkeypatch.undo()
    assert tried == {(t, lr) for t in (0.0, -0.3) for lr in (1e-4, 1e-5, 1e-3)}
    assert agra.lr_ == pytest.approx(1e-3)
    assert agra.threshold_ in (0.0, -0.3)
    # The recorded values reproduce the fit.
    fixed = AGRAClassifier(
        model, threshold=agra.threshold_, lr=agra.lr_, fallback=False, random_state=0
    ).fit(X, y_noisy, trusted=trusted)
    np.testing.assert_array_equal(fixed.estimator_.coef_, agra.estimator_.coef_)
    paper = AGRAClassifier(model, random_state=0, **PAPER).fit(
        X, y_noisy, trusted=trusted
    )
    assert paper.lr_ == 1e-4 and paper.threshold_ == 0.0
    assert agra.score(X, y_noisy) > paper.score(X, y_noisy) + 0.05


def test_fallback_when_agra_hurts_returns_the_plain_base():
    X, y_noisy, y, trusted = _with_trusted()
    model = SoftmaxRegression(lr=0.05, batch_size=16, max_epochs=3, random_state=0)
    # threshold=1 leaves every sample out: the model never trains.
    agra = AGRAClassifier(model, threshold=1.0, lr=None, random_state=0)
    with pytest.warns(CorrectionFallbackWarning, match="held-out trusted rows"):
        agra.fit(X, y_noisy, trusted=trusted)
    assert agra.fallback_
    check = agra.harm_check_
    assert check.harmful and check.n_held_out == trusted.sum()
    assert check.corrected_accuracy < check.plain_accuracy
    plain = clone(model).fit(X, y_noisy)
    np.testing.assert_array_equal(agra.predict(X), plain.predict(X))
    np.testing.assert_allclose(agra.predict_proba(X), plain.predict_proba(X))
    assert agra.estimator_.t_ > 0
    # What AGRA did is still recorded.
    assert agra.n_removed_ > 0 and agra.noise_score_.shape == (len(y),)


def test_no_fallback_when_agra_helps():
    X, y_noisy, _, trusted = _with_trusted(600, noise=0.35, n_trusted=100)
    X = X - X.mean(axis=0)
    model = SoftmaxRegression(lr=0.05, batch_size=32, max_epochs=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        agra = AGRAClassifier(model, comp_loss="f1", random_state=0).fit(
            X, y_noisy, trusted=trusted
        )
    assert not agra.fallback_
    assert not agra.harm_check_.harmful
    assert agra.estimator_.t_ == agra.history_[-1]["n_steps"] + sum(
        h["n_steps"] for h in agra.history_[:-1]
    )


def test_without_clean_rows_the_check_runs_on_the_given_labels():
    X, y_noisy, _ = _noisy_blobs(200)
    model = SoftmaxRegression(lr=0.05, max_epochs=3)
    agra = AGRAClassifier(model, random_state=7)
    with pytest.warns(CorrectionFallbackWarning, match="rows \\(given labels\\)"):
        agra.fit(X, y_noisy)
    check = agra.harm_check_
    assert check.labels == "noisy" and check.n_held_out == len(y_noisy)
    assert agra.fallback_
    # The fallback is the user's own model; its unset random_state takes AGRA's.
    plain = clone(model).set_params(random_state=7).fit(X, y_noisy)
    np.testing.assert_allclose(agra.predict_proba(X), plain.predict_proba(X))
    assert (agra.threshold_, agra.lr_) == (0.0, 0.05)
    with pytest.warns(UncheckedCorrectionWarning, match="too few rows \\(15\\)"):
        agra.fit(X[:15], y_noisy[:15])
    assert agra.fallback_ and agra.harm_check_ is None
    unchecked = AGRAClassifier(model, fallback=False, random_state=7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        unchecked.fit(X, y_noisy)
    assert not unchecked.fallback_ and unchecked.harm_check_ is None


def test_bad_trusted_input_gets_clear_errors():
    X, y_noisy, _, trusted = _with_trusted(60, n_trusted=20)
    agra = AGRAClassifier(SoftmaxRegression(max_epochs=1), fallback=False)
    with pytest.raises(ValueError, match="trusted must be a boolean mask"):
        agra.fit(X, y_noisy, trusted=trusted[:-1])
    with pytest.raises(ValueError, match="trusted must be a boolean mask"):
        agra.fit(X, y_noisy, trusted=trusted.astype(int))
    with pytest.raises(ValueError, match=r"either as trusted .* or as X_val"):
        agra.fit(X, y_noisy, trusted=trusted, X_val=X[:5], y_val=y_noisy[:5])
    with pytest.raises(ValueError, match="threshold"):
        AGRAClassifier(threshold="high").fit(X, y_noisy)
    with pytest.raises(ValueError, match=r"lr=0\.1 sets the learning rate"):
        AGRAClassifier(SGDClassifier(loss="log_loss"), lr=0.1).fit(
            X, y_noisy, trusted=trusted
        )


@pytest.mark.filterwarnings("ignore::sknoisy.exceptions.CorrectionFallbackWarning")
def test_caller_arrays_and_estimator_are_not_modified():
    X, y_noisy, _, trusted = _with_trusted(120, n_trusted=30)
    copies = X.copy(), y_noisy.copy(), trusted.copy()
    model = SoftmaxRegression(lr=0.05, max_epochs=2)
    params = model.get_params()
    AGRAClassifier(model, random_state=0).fit(X, y_noisy, trusted=trusted)
    for before, after in zip(copies, (X, y_noisy, trusted), strict=True):
        np.testing.assert_array_equal(before, after)
    assert model.get_params() == params and not hasattr(model, "coef_")


def test_pipeline_grid_search_routes_trusted_rows():
    X, y_noisy, _, trusted = _with_trusted(180, n_trusted=60)
    X = X * 10.0 + 3.0
    cv = KFold(3, shuffle=True, random_state=0)
    grid = {"agraclassifier__threshold": [0.0, -0.3]}
    agra = AGRAClassifier(
        SoftmaxRegression(lr=0.05, batch_size=16, max_epochs=3),
        lr=None,
        fallback=False,
        random_state=0,
    )
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(StandardScaler(), agra.set_fit_request(trusted=True))
        search = GridSearchCV(pipe, grid, scoring=trusted_scorer("accuracy"), cv=cv)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            search.fit(X, y_noisy, trusted=trusted)
    # The same by hand: each training fold's trusted rows, in the scaled
    # space, as AGRA's clean rows; each test fold scored on its trusted rows.
    for i, threshold in enumerate(grid["agraclassifier__threshold"]):
        scores = []
        for train, test in cv.split(X):
            scaler = StandardScaler().fit(X[train])
            model = clone(agra).set_params(threshold=threshold)
            model.fit(
                scaler.transform(X[train]), y_noisy[train], trusted=trusted[train]
            )
            held = test[trusted[test]]
            scores.append(model.score(scaler.transform(X[held]), y_noisy[held]))
        assert search.cv_results_["mean_test_score"][i] == pytest.approx(
            np.mean(scores)
        )
    best = search.best_params_["agraclassifier__threshold"]
    scaler = StandardScaler().fit(X)
    by_hand = clone(agra).set_params(threshold=best)
    by_hand.fit(scaler.transform(X), y_noisy, trusted=trusted)
    np.testing.assert_array_equal(
        search.predict_proba(X), by_hand.predict_proba(scaler.transform(X))
    )


def test_skorch_net_trains_with_trusted_rows():
    X, y = _data(3, n_samples=90)
    trusted = np.zeros(90, dtype=bool)
    trusted[:30] = True
    net = _net(3, max_epochs=2)
    agra = AGRAClassifier(net, random_state=0).fit(X, y, trusted=trusted)
    assert any(agra.lr_ == pytest.approx(lr) for lr in (0.005, 0.05, 0.5))
    assert agra.harm_check_ is not None and agra.harm_check_.n_held_out == 30
    assert agra.removal_counts_[trusted].sum() == 0
    assert agra.predict(X).shape == (90,)
    assert not hasattr(net, "module_")
    if agra.fallback_:
        # The plain net, served through the adapter.
        assert agra.estimator_.history[-1]["epoch"] == 2


# Issue 14 item 5: AGRA trains its base model step by step, never through its
# fit, so the base model's own parameter constraints are checked up front.
@pytest.mark.parametrize(
    "param, value",
    [("lr", -1), ("max_epochs", 0), ("batch_size", 0), ("lr", "0.1")],
)
@pytest.mark.parametrize("in_pipeline", [False, True])
def test_base_model_parameters_are_validated(param, value, in_pipeline):
    rng = np.random.RandomState(0)
    X = rng.randn(40, 3)
    y = (X[:, 0] > 0).astype(int)
    base = SoftmaxRegression(**{param: value})
    where = f"estimator__{param}"
    if in_pipeline:
        base = make_pipeline(StandardScaler(), base)
        where = f"estimator__softmaxregression__{param}"
    agra = AGRAClassifier(base, fallback=False, random_state=0)
    with pytest.raises(ValueError, match=f"{where}: The '{param}' parameter of "):
        agra.fit(X, y)
