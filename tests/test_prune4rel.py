"""Tests of Prune4ReLSelector and its baselines."""

import pickle
import tracemalloc
import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import load_digits, load_iris, make_blobs
from sklearn.decomposition import TruncatedSVD
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.utils._param_validation import InvalidParameterError

from sknoisy import DivideMixLiteClassifier, Prune4ReLSelector
from sknoisy._prune4rel import (
    _auto_cos_threshold,
    _radius_graph,
    _sample_rows,
    _schedule_params,
)
from sknoisy.adapters import ProbaAdapter, make_adapter
from sknoisy.exceptions import CorrectionFallbackWarning
from sknoisy.linear_model import SoftmaxRegression
from sknoisy.neighbors import l2_normalize
from sknoisy.noise import make_label_noise

STRATEGIES = [
    "prune4rel",
    "uniform",
    "small_loss",
    "margin",
    "least_confidence",
    "entropy",
    "forgetting",
    "grand",
    "moderate",
    "kcenter_greedy",
]


# ------------------------------------------------------ brute-force reference
def _dense_weights(Z, tau):
    """``w_ij = s_ij 1[s_ij > tau]``, ``w_ii = 1``, as a dense n × n matrix."""
    norms = np.linalg.norm(Z, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    cos = (Z / safe[:, None]) @ (Z / safe[:, None]).T
    s = 0.5 + 0.5 * cos
    W = np.where(s > tau, s, 0.0)
    np.fill_diagonal(W, 1.0)
    return W


def _objective(W, c, selected, eta):
    R = W[:, selected] @ c[selected] if len(selected) else np.zeros(len(c))
    return np.tanh(R / eta).sum()


def _reference_gains(W, c, selected, eta, gain):
    """Every candidate's gain, straight from the definition of F."""
    n = len(c)
    R = W[:, selected] @ c[selected] if selected else np.zeros(n)
    if gain == "self":
        return np.tanh((R + c) / eta) - np.tanh(R / eta)
    base = _objective(W, c, selected, eta)
    return np.array([_objective(W, c, [*selected, p], eta) - base for p in range(n)])


def _reference_selection(W, c, y, k, eta, gain, balance):
    """The spec's greedy with the official round-robin balance, written plainly."""
    n_classes = y.max() + 1
    sizes = np.bincount(y, minlength=n_classes)
    picks = np.zeros(n_classes, dtype=int)
    available = [g for g in range(n_classes) if sizes[g]]
    first_size, released = None, not balance
    selected = []
    for step in range(k):
        allowed = np.ones(len(c), dtype=bool)
        if not released:
            target = available[step % len(available)]
            while picks[target] == sizes[target]:
                available.remove(target)
                first_size = first_size or sizes[target]
                target = available[step % len(available)]
                if picks[target] > 1.5 * first_size:
                    released = True
            allowed = y == target
        allowed[selected] = False
        gains = _reference_gains(W, c, selected, eta, gain)
        p = int(np.flatnonzero(allowed)[np.argmax(gains[allowed])])
        selected.append(p)
        picks[y[p]] += 1
    return np.array(selected)


def _proba_with_confidence(c, y, n_classes):
    """Probabilities whose maximum is ``c`` (the rest spread evenly)."""
    proba = np.tile(((1 - c) / (n_classes - 1))[:, None], (1, n_classes))
    proba[np.arange(len(c)), y] = c
    return proba


def _random_problem(seed, n=60, d=4, n_classes=3):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, d))
    y = rng.integers(n_classes, size=n)
    y[:n_classes] = np.arange(n_classes)
    c = rng.uniform(0.4, 1.0, size=n)
    return Z, y, c, _proba_with_confidence(c, y, n_classes)


@pytest.mark.parametrize("gain", ["self", "full"])
@pytest.mark.parametrize("balance", [False, True])
@pytest.mark.parametrize("neighbors", ["radius", "dense"])
def test_selection_matches_brute_force_reference(gain, balance, neighbors):
    for seed in range(3):
        Z, y, c, proba = _random_problem(seed)
        tau, eta, k = 0.8, 0.7, 24
        selector = Prune4ReLSelector(
            LogisticRegression(),
            n_samples=k,
            tau=tau,
            eta=eta,
            gain=gain,
            balance=balance,
            neighbors=neighbors,
            random_state=0,
        )
        selector.fit_resample(Z, y, embeddings=Z, proba=proba)
        W = _dense_weights(Z, tau)
        expected = _reference_selection(W, c, y, k, eta, gain, balance)
        np.testing.assert_array_equal(selector.selection_order_, expected)
        assert selector.objective_ == pytest.approx(_objective(W, c, expected, eta))
        assert 0 < selector.mean_degree_


def test_worked_example_from_the_spec():
    # A, B, C pairwise s = 0.99; D has s = 0.5 with each (cos = 2s - 1).
    gram = np.array(
        [[1, 0.98, 0.98, 0], [0.98, 1, 0.98, 0], [0.98, 0.98, 1, 0], [0, 0, 0, 1.0]]
    )
    Z = np.linalg.cholesky(gram)
    # Confidences (0.9, 0.5, 0.45, 0.3) as maximum probabilities of 4 classes;
    # k = 4 (one row per class), the first two picks are the example's.
    y = np.array([0, 1, 2, 3])
    proba = np.array(
        [
            [0.9, 0.05, 0.03, 0.02],
            [0.2, 0.5, 0.2, 0.1],
            [0.2, 0.2, 0.45, 0.15],
            [0.25, 0.25, 0.2, 0.3],
        ]
    )
    expected = {"self": ([0, 3], 2.4314), "full": ([0, 1], 2.6499)}
    for gain, (order, objective) in expected.items():
        for neighbors in ("radius", "dense"):
            selector = Prune4ReLSelector(
                LogisticRegression(),
                n_samples=4,
                tau=0.975,
                eta=1.0,
                gain=gain,
                balance=False,
                neighbors=neighbors,
            )
            selector.fit_resample(Z, y, embeddings=Z, proba=proba)
            assert selector.selection_order_[:2].tolist() == order
            W = _dense_weights(Z, 0.975)
            c = proba.max(axis=1)
            assert _objective(W, c, order, 1.0) == pytest.approx(objective, abs=1e-4)


def test_balance_release_follows_the_spec():
    # Sizes (2, 4, 20, 20), k = 20, no edges: class 0 runs out at step 8
    # (m = 2), class 1 at step 15 when class 3 holds 5 > 3 picks.
    y = np.repeat([0, 1, 2, 3], [2, 4, 20, 20])
    rng = np.random.default_rng(0)
    c = rng.uniform(0.3, 1.0, size=len(y))
    proba = _proba_with_confidence(c, y, 4)
    Z = np.eye(len(y))  # orthogonal: cos = 0, s = 0.5 < tau
    selector = Prune4ReLSelector(LogisticRegression(), n_samples=20, tau=0.9)
    with pytest.warns(UserWarning, match="100% of the points without neighbours"):
        selector.fit_resample(Z, y, embeddings=Z, proba=proba)
    order = selector.selection_order_
    assert selector.balance_released_at_ == 15
    assert selector.isolated_fraction_ == 1.0
    assert y[order[15]] == 3
    assert np.bincount(y[order[:16]], minlength=4).tolist() == [2, 4, 4, 6]
    # After the release, the globally most confident remaining rows.
    remaining = np.setdiff1d(np.arange(len(y)), order[:16])
    top = remaining[np.argsort(-c[remaining])[:4]]
    assert order[16:].tolist() == top.tolist()


def test_without_edges_selection_is_top_confidence_round_robin():
    Z, y, c, proba = _random_problem(1, n=90)
    selector = Prune4ReLSelector(LogisticRegression(), n_samples=12, tau=1.0)
    with pytest.warns(UserWarning, match="without neighbours"):
        selector.fit_resample(Z, y, embeddings=Z, proba=proba)
    order = selector.selection_order_
    assert y[order].tolist() == [0, 1, 2] * 4
    for g in range(3):
        members = np.flatnonzero(y == g)
        assert (
            order[y[order] == g].tolist()
            == members[np.argsort(-c[members])][:4].tolist()
        )


# ------------------------------------------------------------- the graph
def test_radius_graph_equals_dense_threshold_and_sparse_input():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(300, 6))
    Z[5] = 0.0  # zero-norm row: cos 0 off the diagonal, w_ii = 1
    W = _dense_weights(Z, 0.8)
    graph = _radius_graph(l2_normalize(Z), 2 * 0.8 - 1).toarray()
    np.testing.assert_allclose(graph, W, atol=1e-12)
    assert graph[5, 5] == 1.0 and np.count_nonzero(graph[5]) == 1
    Z_sparse = sparse.csr_matrix(np.where(np.abs(Z) > 0.5, Z, 0.0))
    graph_sparse = _radius_graph(l2_normalize(Z_sparse), 0.2).toarray()
    expected = _dense_weights(Z_sparse.toarray(), 0.6)
    np.testing.assert_allclose(graph_sparse, expected, atol=1e-12)
    assert np.all(np.isfinite(graph_sparse))


def test_max_neighbors_keeps_the_most_similar():
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(80, 3))
    graph_t = _radius_graph(l2_normalize(Z), 0.0, max_neighbors=4)
    W = graph_t.T.toarray()
    full = _dense_weights(Z, 0.5)
    for i in range(len(Z)):
        kept = np.flatnonzero(W[i])
        assert i in kept and len(kept) == min(4, np.count_nonzero(full[i]))
        assert full[i, kept].min() >= np.sort(full[i])[::-1][len(kept) - 1]


def test_peak_memory_is_far_below_n_squared():
    n = 20_000
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(n, 16)).astype(np.float32)
    Zn = l2_normalize(Z)
    tracemalloc.start()
    graph = _radius_graph(Zn, 0.8)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert graph.shape == (n, n)
    assert peak < 0.1 * n * n * 4  # N² float32 would be 1.6 GB


def test_tau_auto_gives_half_the_rows_target_degree_neighbours():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(1500, 8))
    Zn = l2_normalize(Z)
    sample = _sample_rows(len(Z), np.random.default_rng(0))
    cos_threshold = _auto_cos_threshold(Zn, 15, sample)
    degrees = np.count_nonzero(Zn @ Zn.T > cos_threshold, axis=1) - 1
    # The sample is every row: the upper median of the degrees is exactly 15.
    assert np.sort(degrees)[::-1][(len(degrees) + 1) // 2 - 1] == 15
    assert np.mean(degrees >= 15) >= 0.5 and np.mean(degrees >= 16) < 0.5
    y = rng.integers(3, size=len(Z))
    proba = _proba_with_confidence(rng.uniform(0.4, 1, len(Z)), y, 3)
    selector = Prune4ReLSelector(
        LogisticRegression(), tau="auto", target_degree=15, random_state=0
    )
    selector.fit_resample(Z, y, embeddings=Z, proba=proba)
    assert selector.mean_degree_ == pytest.approx(degrees.mean())
    assert selector.tau_ == pytest.approx((1 + cos_threshold) / 2)


def test_tau_auto_links_rows_around_hubs():
    # 150 near-duplicates (a hub) and 450 spread rows: a mean-degree target is
    # met by the hub alone; the median rule gives the spread rows neighbours.
    rng = np.random.default_rng(0)
    hub = rng.normal(size=(1, 10)) + 0.01 * rng.normal(size=(150, 10))
    spread = rng.normal(size=(450, 10))
    Z = np.vstack([hub, spread])
    y = np.arange(len(Z)) % 2
    proba = _proba_with_confidence(rng.uniform(0.5, 1, len(Z)), y, 2)
    selector = Prune4ReLSelector(LogisticRegression(), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no isolated-points warning
        selector.fit_resample(Z, y, embeddings=Z, proba=proba)
    assert selector.tau == "auto" and 0 < selector.tau_ < 1
    assert selector.isolated_fraction_ < 0.2


# -------------------------------------------------------- invariances
def _order(Z, y, proba, **params):
    selector = Prune4ReLSelector(LogisticRegression(), n_samples=40, **params)
    selector.fit_resample(Z, y, embeddings=Z, proba=proba)
    return selector


@pytest.mark.parametrize("gain", ["self", "full"])
@pytest.mark.parametrize("compat", [False, True])
def test_graph_and_streamed_backends_agree(gain, compat):
    Z, y, _, proba = _random_problem(5, n=120, d=5)
    Z[[3, 40]] = 0.0
    radius = _order(Z, y, proba, gain=gain, compat=compat, tau=0.75, random_state=0)
    dense = _order(
        Z, y, proba, gain=gain, compat=compat, tau=0.75, random_state=0,
        neighbors="dense",
    )  # fmt: skip
    np.testing.assert_array_equal(radius.selection_order_, dense.selection_order_)
    assert np.isfinite(radius.objective_)
    assert radius.objective_ == pytest.approx(dense.objective_, rel=1e-6)


def test_row_permutation_permutes_the_selection():
    Z, y, _, proba = _random_problem(7, n=100)
    perm = np.random.default_rng(0).permutation(len(y))
    base = _order(Z, y, proba, tau=0.8, gain="full")
    permuted = _order(Z[perm], y[perm], proba[perm], tau=0.8, gain="full")
    np.testing.assert_array_equal(
        perm[permuted.selection_order_], base.selection_order_
    )


def test_sparse_embeddings_select_like_dense():
    rng = np.random.default_rng(3)
    Z = np.where(rng.random((150, 20)) < 0.3, rng.random((150, 20)), 0.0)
    y = rng.integers(3, size=150)
    proba = _proba_with_confidence(rng.uniform(0.4, 1, 150), y, 3)
    dense = _order(Z, y, proba, tau=0.7, random_state=0)
    Zs = sparse.csr_matrix(Z)
    selector = Prune4ReLSelector(
        LogisticRegression(), n_samples=40, tau=0.7, random_state=0
    )
    X_kept, _ = selector.fit_resample(Zs, y, embeddings=Zs, proba=proba)
    assert sparse.issparse(X_kept)
    np.testing.assert_array_equal(selector.selection_order_, dense.selection_order_)


# ------------------------------------------------------------ baselines
@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = X[:600] / 16.0
    y_true = y[:600]
    y_noisy = make_label_noise(y_true, 0.4, random_state=0)
    return X, y_noisy, y_true


def _mlp():
    return MLPClassifier((32,), max_iter=15, random_state=0)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_keeps_the_budget_balanced(strategy, digits):
    X, y_noisy, _ = digits
    selector = Prune4ReLSelector(
        strategy=strategy,
        warmup_estimator=_mlp(),
        fraction=0.25,
        tau="auto",
        forgetting_epochs=3,
        random_state=0,
    )
    X_kept, y_kept = selector.fit_resample(X, y_noisy)
    k = round(0.25 * len(y_noisy))
    assert (
        X_kept.shape == (k, X.shape[1])
        and len(np.unique(selector.sample_indices_)) == k
    )
    counts = np.bincount(y_kept, minlength=10)
    assert counts.max() - counts.min() <= 1  # classes hold >= 15 rows each
    np.testing.assert_array_equal(y_kept, y_noisy[selector.sample_indices_])
    again = clone(selector).fit_resample(X, y_noisy)[1]
    np.testing.assert_array_equal(again, y_kept)  # determinism


def test_baseline_scores_rank_as_defined():
    Z, y, _, proba = _random_problem(2, n=90)
    rows = np.arange(len(y))
    kept = {}
    for strategy in ("small_loss", "margin", "grand", "moderate"):
        kept[strategy] = _order(
            Z, y, proba, strategy=strategy, balance=False, random_state=0
        ).selection_order_
    loss = -np.log(proba[rows, y])
    np.testing.assert_array_equal(kept["small_loss"], np.argsort(loss)[:40])
    top2 = np.sort(proba, axis=1)
    np.testing.assert_array_equal(
        kept["margin"], np.argsort(top2[:, -1] - top2[:, -2], kind="stable")[:40]
    )
    residual = proba.copy()
    residual[rows, y] -= 1
    grand = np.linalg.norm(residual, axis=1) * np.sqrt(1 + (Z**2).sum(axis=1))
    np.testing.assert_array_equal(kept["grand"], np.argsort(-grand)[:40])
    # Moderate: the middle 40 ranks of the distance to the class median.
    medians = np.stack([np.median(Z[y == g], axis=0) for g in range(3)])
    ranks = np.argsort(np.argsort(((Z - medians[y]) ** 2).sum(axis=1)))
    assert set(ranks[kept["moderate"]]) == set(range(25, 65))


def test_kcenter_greedy_is_farthest_first():
    Z, y, _, proba = _random_problem(4, n=70)
    order = _order(
        Z, y, proba, strategy="kcenter_greedy", balance=False, random_state=0
    ).selection_order_
    for step in range(1, len(order)):
        distance = ((Z[:, None] - Z[order[:step]][None]) ** 2).sum(-1).min(axis=1)
        assert distance[order[step]] == pytest.approx(distance.max())


class _Scripted(ClassifierMixin, BaseEstimator):
    """Predicts, after its e-th partial_fit, the labels in ``script[e - 1]``."""

    script = None

    def fit(self, X, y):
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        self.epoch_ = getattr(self, "epoch_", 0) + 1
        self.classes_ = classes
        return self

    def predict_proba(self, X):
        proba = np.zeros((len(X), len(self.classes_)))
        proba[np.arange(len(X)), self.script[self.epoch_ - 1]] = 1.0
        return proba


def test_forgetting_counts_flips_between_epochs():
    y = np.array([0, 1, 0, 1, 0, 1])
    flips = np.array([0, 2, 1, 0, 3, 1])  # correct -> incorrect events per row
    script = []
    for epoch in range(8):
        # Row i alternates correct/incorrect for its first 2 * flips[i] epochs.
        wrong = (epoch % 2 == 1) & (epoch < 2 * flips + 1)
        script.append(np.where(wrong, 1 - y, y))
    _Scripted.script = script
    X = np.arange(12.0).reshape(6, 2)
    selector = Prune4ReLSelector(
        LogisticRegression(),
        warmup_estimator=_Scripted(),
        strategy="forgetting",
        forgetting_epochs=8,
        balance=False,
        n_samples=4,
        random_state=0,
    )
    selector.fit_resample(X, y)
    # 3 flips, then 2, then the two rows with 1 flip in the tie order.
    assert selector.selection_order_[:2].tolist() == [4, 1]
    assert set(selector.selection_order_[2:]) == {2, 5}


# ----------------------------------------------------------- both roles
def test_fit_trains_the_relabeler_on_the_kept_rows_only(digits):
    X, y_noisy, _ = digits
    labels = np.array(list("abcdefghij"))[y_noisy]
    selector = Prune4ReLSelector(
        LogisticRegression(max_iter=500),
        warmup_estimator=_mlp(),
        strategy="small_loss",
        fraction=0.3,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        selector.fit(X, labels)
    assert selector.estimator_.coef_.shape == (10, 64)
    reference = LogisticRegression(max_iter=500).fit(
        X[selector.sample_indices_], y_noisy[selector.sample_indices_]
    )
    np.testing.assert_allclose(
        selector.predict_proba(X), reference.predict_proba(X), atol=1e-6
    )
    assert set(selector.predict(X)) <= set(labels)
    assert 0 <= selector.score(X, labels) <= 1
    restored = pickle.loads(pickle.dumps(selector))
    np.testing.assert_array_equal(restored.predict(X), selector.predict(X))


def test_default_relabeler_and_warm_up():
    X, y = make_blobs(300, centers=3, random_state=0)
    y_noisy = make_label_noise(y, 0.3, random_state=0)
    selector = Prune4ReLSelector(tau="auto", fraction=0.5, random_state=0)
    selector.fit(X, y_noisy)
    assert isinstance(selector.estimator_, DivideMixLiteClassifier)
    assert isinstance(selector.warmup_estimator_, DivideMixLiteClassifier)
    clean = LogisticRegression().fit(X, y).score(X, y)
    assert selector.score(X, y) > clean - 0.05


def test_bad_input_raises_clear_errors():
    X, y = make_blobs(40, centers=3, random_state=0)
    for fraction in (0, 1.5, -0.1):
        with pytest.raises(InvalidParameterError, match="fraction"):
            Prune4ReLSelector(fraction=fraction).fit_resample(X, y)
    with pytest.raises(ValueError, match="fewer than the 3 classes"):
        Prune4ReLSelector(LogisticRegression(), fraction=0.05).fit_resample(X, y)
    with pytest.raises(ValueError, match="n_samples=41"):
        Prune4ReLSelector(LogisticRegression(), n_samples=41).fit_resample(X, y)
    with pytest.raises(ValueError, match="1 class"):
        Prune4ReLSelector(LogisticRegression()).fit_resample(X, np.zeros(40))
    with pytest.raises(ValueError, match="proba must have shape"):
        Prune4ReLSelector(LogisticRegression()).fit_resample(
            X, y, proba=np.full((40, 2), 0.5)
        )
    with pytest.raises(ValueError, match="max_neighbors"):
        Prune4ReLSelector(
            LogisticRegression(), neighbors="dense", max_neighbors=3
        ).fit_resample(X, y)


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5, 0.7, 1.0])
def test_kept_count_is_python_round(fraction):
    X, y = make_blobs(50, centers=2, random_state=0)  # 0.25 * 50 = 12.5 -> 12
    selector = Prune4ReLSelector(
        LogisticRegression(), strategy="uniform", fraction=fraction, random_state=0
    )
    assert len(selector.fit_resample(X, y)[1]) == round(fraction * 50)


def test_random_state_controls_ties_only():
    X, y = make_blobs(100, centers=2, random_state=0)
    first = Prune4ReLSelector(LogisticRegression(), strategy="uniform", random_state=1)
    again = Prune4ReLSelector(LogisticRegression(), strategy="uniform", random_state=1)
    other = Prune4ReLSelector(LogisticRegression(), strategy="uniform", random_state=2)
    a, b, c = (
        s.fit_resample(X, y) and s.sample_indices_ for s in (first, again, other)
    )
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_imblearn_pipeline_under_grid_search(digits):
    pytest.importorskip("imblearn")
    from imblearn.pipeline import make_pipeline
    from sklearn.model_selection import GridSearchCV

    X, y_noisy, _ = digits
    pipe = make_pipeline(
        Prune4ReLSelector(
            LogisticRegression(max_iter=200), strategy="small_loss", random_state=0
        ),
        LogisticRegression(max_iter=200),
    )
    search = GridSearchCV(pipe, {"prune4relselector__fraction": [0.3, 0.6]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, y_noisy)
    assert search.best_params_["prune4relselector__fraction"] in (0.3, 0.6)


def test_embedding_options():
    X, y = make_blobs(120, n_features=6, centers=3, random_state=0)
    Xs = sparse.csr_matrix(X)
    base = dict(estimator=LogisticRegression(), tau="auto", random_state=0)
    by_input = Prune4ReLSelector(embedding="input", **base).fit_resample(Xs, y)
    assert sparse.issparse(by_input[0])
    svd = Prune4ReLSelector(embedding=TruncatedSVD(3), **base)
    svd.fit_resample(X, y)
    called = Prune4ReLSelector(embedding=lambda Z: Z[:, :3], **base)
    called.fit_resample(X, y)
    assert called.mean_degree_ > 0 and svd.mean_degree_ > 0


# --------------------------------------------------- adapters and models
def test_proba_adapter_exposes_the_mlp_hidden_layer():
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adapter = make_adapter(
            MLPClassifier((7, 5), max_iter=50), 3, any_classifier=True
        ).fit(X, y, random_state=0)
    assert isinstance(adapter, ProbaAdapter)
    mlp = adapter.estimator
    hidden = np.maximum(X @ mlp.coefs_[0] + mlp.intercepts_[0], 0)
    hidden = np.maximum(hidden @ mlp.coefs_[1] + mlp.intercepts_[1], 0)
    logits, embeddings = adapter.forward(X)
    np.testing.assert_allclose(embeddings, hidden)
    np.testing.assert_allclose(
        np.exp(logits) / np.exp(logits).sum(1, keepdims=True), mlp.predict_proba(X)
    )
    with pytest.raises(TypeError, match="cannot drive"):
        make_adapter(MLPClassifier(), 3)


def test_skorch_warm_up_embeddings_and_relabeler():
    torch = pytest.importorskip("torch")
    skorch = pytest.importorskip("skorch")
    X, y = make_blobs(150, n_features=5, centers=3, random_state=0)
    X = X.astype(np.float32)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU())
            self.head = torch.nn.Linear(8, 3)

        def forward(self, X):
            return self.head(self.body(X))

    net = skorch.NeuralNetClassifier(
        Net, criterion=torch.nn.CrossEntropyLoss, max_epochs=5, lr=0.1, verbose=0
    )
    selector = Prune4ReLSelector(
        net, tau="auto", fraction=0.3, random_state=0, fallback=False
    )
    selector.fit(X, y)
    warm = selector.warmup_estimator_
    with torch.no_grad():
        manual = warm.module_.body(torch.as_tensor(X)).numpy()
    rerun = clone(selector).set_params(strategy="prune4rel")
    rerun.fit_resample(X, y, embeddings=manual)
    np.testing.assert_array_equal(rerun.sample_indices_, selector.sample_indices_)
    assert selector.predict_proba(X.astype(np.float64)).shape == (150, 3)
    assert selector.score(X, y) > 0.6


# ------------------------------------------------- the re-labeling schedule
@pytest.mark.parametrize(
    ("schedule", "batch_size", "expected_epochs"),
    # 100 rows in batches of 32 take 4 steps an epoch, the 30 kept rows 1:
    # "steps" trains 5 * 4 / 1 epochs; in batches of 7, 15 and 5 steps an
    # epoch give 5 * 15 / 5. A full batch is one step an epoch at any size.
    [("epochs", 32, 5), ("steps", 32, 20), ("steps", 7, 15), ("steps", 100, 5)],
)
def test_steps_schedule_keeps_the_optimisation_steps(
    schedule, batch_size, expected_epochs
):
    X, y = make_blobs(100, n_features=4, centers=3, random_state=0)
    model = SoftmaxRegression(max_epochs=5, batch_size=batch_size)
    selector = Prune4ReLSelector(
        model,
        strategy="uniform",
        fraction=0.3,
        schedule=schedule,
        random_state=0,
        fallback=False,
    ).fit(X, y)
    assert selector.estimator_.max_epochs == expected_epochs
    assert model.max_epochs == 5  # the caller's model is untouched


def test_steps_schedule_trains_a_skorch_network_longer():
    torch = pytest.importorskip("torch")
    skorch = pytest.importorskip("skorch")
    X, y = make_blobs(150, n_features=5, centers=3, random_state=0)
    X = X.astype(np.float32)
    net = skorch.NeuralNetClassifier(
        torch.nn.Linear,
        module__in_features=5,
        module__out_features=3,
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=2,
        batch_size=16,
        verbose=0,
    )
    selector = Prune4ReLSelector(
        net,
        strategy="uniform",
        fraction=0.2,
        schedule="steps",
        random_state=0,
        fallback=False,
    ).fit(X, y)
    # All 150 rows: 2 epochs of 10 batches; the 30 kept rows: 2 batches an
    # epoch, so 10 epochs give the same 20 steps.
    history = selector.estimator_.history
    assert len(history) == 10
    assert sum(history[:, "train_batch_count"]) == 20
    # The trusted rows held out of training do not count as rows to cover.
    trusted = np.zeros(150, dtype=bool)
    trusted[:50] = True
    selector.set_params(train_on_trusted=False, fraction=0.3).fit(X, y, trusted=trusted)
    # 100 rows: 2 * 7 steps; 30 kept rows: 2 steps an epoch -> 7 epochs.
    assert len(selector.estimator_.history) == 7


def test_schedule_parameters_are_found_in_wrappers():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    assert _schedule_params(SoftmaxRegression()) == ("batch_size", "max_epochs")
    assert _schedule_params(make_pipeline(StandardScaler(), SoftmaxRegression())) == (
        "softmaxregression__batch_size",
        "softmaxregression__max_epochs",
    )
    assert _schedule_params(DivideMixLiteClassifier(SoftmaxRegression())) == (
        "estimator__batch_size",
        "estimator__max_epochs",
    )
    # Models trained to convergence keep their own stopping rule.
    assert _schedule_params(LogisticRegression()) == (None, None)


# ------------------------------------------------------------ trusted rows
def _digits_with_trusted(n=600, rate=0.4, every=6):
    X, y = load_digits(return_X_y=True)
    X, y = X[:n] / 16.0, y[:n]
    y_noisy = make_label_noise(y, rate, random_state=0)
    trusted = np.zeros(n, dtype=bool)
    trusted[::every] = True
    y_noisy[trusted] = y[trusted]
    return X, y_noisy, y, trusted


def test_trusted_rows_are_kept_on_top_of_the_budget():
    X, y_noisy, _, trusted = _digits_with_trusted()
    selector = Prune4ReLSelector(LogisticRegression(), fraction=0.25, random_state=0)
    _, y_kept = selector.fit_resample(X, y_noisy, trusted=trusted)
    n_noisy = round(0.25 * np.sum(~trusted))
    assert len(selector.selection_order_) == n_noisy
    assert not trusted[selector.selection_order_].any()  # never a candidate
    assert np.isin(np.flatnonzero(trusted), selector.sample_indices_).all()
    assert len(y_kept) == n_noisy + trusted.sum() == len(selector.sample_indices_)
    np.testing.assert_array_equal(y_kept, y_noisy[selector.sample_indices_])
    # Balance runs over the noisy picks alone.
    counts = np.bincount(y_noisy[selector.selection_order_], minlength=10)
    assert counts.max() - counts.min() <= 1
    # A verified label anchors its neighbourhood with full confidence.
    np.testing.assert_array_equal(selector.confidence_[trusted], 1.0)
    with pytest.raises(ValueError, match="untrusted rows"):
        Prune4ReLSelector(LogisticRegression(), n_samples=550).fit_resample(
            X, y_noisy, trusted=trusted
        )


def test_trusted_rows_cover_their_neighbourhoods():
    # Two tight clusters; the trusted rows sit in cluster A, so the greedy
    # spends the budget on cluster B, which nothing covers yet.
    rng = np.random.default_rng(0)
    centre_a, centre_b = np.eye(5)[0], np.eye(5)[1]
    Z = np.vstack([centre_a + 0.01 * rng.normal(size=(20, 5)),
                   centre_b + 0.01 * rng.normal(size=(20, 5))])  # fmt: skip
    y = np.arange(40) % 2
    c = np.r_[np.full(20, 0.9), np.full(20, 0.6)] + rng.uniform(0, 0.01, 40)
    proba = _proba_with_confidence(c, y, 2)
    trusted = np.zeros(40, dtype=bool)
    trusted[:5] = True
    params = dict(n_samples=6, tau=0.9, balance=False, random_state=0)
    plain = Prune4ReLSelector(LogisticRegression(), **params)
    plain.fit_resample(Z, y, embeddings=Z, proba=proba)
    assert (plain.selection_order_ < 20).any()
    seeded = Prune4ReLSelector(LogisticRegression(), **params)
    seeded.fit_resample(Z, y, embeddings=Z, proba=proba, trusted=trusted)
    assert (seeded.selection_order_ >= 20).all()
    assert seeded.objective_ > plain.objective_


def test_train_on_trusted_false_holds_the_trusted_rows_out():
    X, y_noisy, _, trusted = _digits_with_trusted()
    selector = Prune4ReLSelector(
        LogisticRegression(max_iter=500),
        fraction=0.3,
        train_on_trusted=False,
        random_state=0,
    )
    _, y_kept = selector.fit_resample(X, y_noisy, trusted=trusted)
    assert len(y_kept) == round(0.3 * np.sum(~trusted))
    assert not trusted[selector.sample_indices_].any()
    selector.fit(X, y_noisy, trusted=trusted)
    reference = LogisticRegression(max_iter=500).fit(
        X[selector.sample_indices_], y_noisy[selector.sample_indices_]
    )
    np.testing.assert_allclose(
        selector.predict_proba(X), reference.predict_proba(X), atol=1e-6
    )


def test_the_selector_hands_the_trusted_rows_to_the_relabeling_model():
    # The re-labeling model's own handling of trusted rows is tested in
    # test_divide_mix_lite.py.
    X, y_noisy, _, trusted = _digits_with_trusted(rate=0.45)
    selector = Prune4ReLSelector(random_state=0).fit(X, y_noisy, trusted=trusted)
    kept_trusted = trusted[selector.sample_indices_]
    assert kept_trusted.sum() == trusted.sum()
    assert not selector.estimator_.noisy_mask_[kept_trusted].any()


def test_trusted_through_routing_in_an_imblearn_pipeline():
    pytest.importorskip("imblearn")
    import sklearn
    from imblearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y_noisy, y, trusted = _digits_with_trusted()
    with sklearn.config_context(enable_metadata_routing=True):
        selector = Prune4ReLSelector(
            LogisticRegression(max_iter=300), fraction=0.3, random_state=0
        ).set_fit_resample_request(trusted=True)
        pipe = make_pipeline(
            StandardScaler(), selector, LogisticRegression(max_iter=300)
        )
        pipe.fit(X, y_noisy, trusted=trusted)
        fitted = pipe[1]
        direct = clone(selector).fit_resample(
            StandardScaler().fit_transform(X), y_noisy, trusted=trusted
        )
        assert pipe.score(X, y) > 0.5
    assert np.isin(np.flatnonzero(trusted), fitted.sample_indices_).all()
    assert len(fitted.sample_indices_) == round(0.3 * np.sum(~trusted)) + 100
    np.testing.assert_array_equal(direct[1], y_noisy[fitted.sample_indices_])


def test_defaults_give_most_points_neighbours_without_warnings():
    X, y_noisy, _, _ = _digits_with_trusted()
    selector = Prune4ReLSelector(random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        selector.fit_resample(X, y_noisy)  # a sampler: no harm check by default
    assert selector.tau == "auto"
    assert 0.5 < selector.tau_ < 1 and selector.isolated_fraction_ < 0.1
    assert selector.fallback_ is False and selector.harm_check_ is None


def test_as_a_classifier_it_falls_back_to_the_users_model_by_default():
    X, y_noisy, _, _ = _digits_with_trusted()
    model = SoftmaxRegression(max_epochs=5)
    selector = Prune4ReLSelector(model, fraction=0.2, random_state=0)
    with pytest.warns(CorrectionFallbackWarning, match="rows \\(given labels\\)"):
        selector.fit(X, y_noisy)
    assert selector.fallback_ and selector.harm_check_.labels == "noisy"
    assert len(selector.sample_indices_) == len(y_noisy)
    # Exactly the model the user would fit without the selector.
    plain = clone(model).set_params(random_state=0).fit(X, y_noisy)
    np.testing.assert_allclose(selector.predict_proba(X), plain.predict_proba(X))
    # The paper's threshold is one parameter away, and warns on these pixels.
    with pytest.warns(UserWarning, match="without neighbours"):
        Prune4ReLSelector(LogisticRegression(), tau=0.99, random_state=0).fit_resample(
            X, y_noisy
        )


def test_noise_score_ranks_the_flipped_labels_first():
    X, y_noisy, y, trusted = _digits_with_trusted()
    selector = Prune4ReLSelector(random_state=0).fit(X, y_noisy, trusted=trusted)
    score = selector.noise_score_
    assert score.shape == (len(y),) and np.all((score >= 0) & (score <= 1))
    np.testing.assert_array_equal(score[trusted], 0.0)
    flipped = (y_noisy != y)[~trusted]
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(flipped, score[~trusted]) > 0.8
    # Without a warm-up there are no probabilities to score with.
    uniform = Prune4ReLSelector(LogisticRegression(), strategy="uniform")
    assert uniform.fit(X, y_noisy).noise_score_ is None


def test_bad_trusted_raises_clear_errors():
    X, y_noisy, _, trusted = _digits_with_trusted(n=120)
    selector = Prune4ReLSelector(LogisticRegression())
    with pytest.raises(ValueError, match="trusted must be a boolean mask with one"):
        selector.fit_resample(X, y_noisy, trusted=trusted[:-1])
    with pytest.raises(ValueError, match="trusted must be a boolean mask over"):
        selector.fit_resample(X, y_noisy, trusted=trusted.astype(int))
    with pytest.raises(InvalidParameterError, match="fallback"):
        Prune4ReLSelector(fallback="yes").fit(X, y_noisy)
    with pytest.raises(InvalidParameterError, match="train_on_trusted"):
        Prune4ReLSelector(train_on_trusted=None).fit(X, y_noisy)


@pytest.mark.filterwarnings("ignore::sknoisy.exceptions.CorrectionFallbackWarning")
def test_caller_arrays_are_not_modified():
    X, y_noisy, _, trusted = _digits_with_trusted(n=300)
    proba = np.full((300, 10), 0.1)
    arrays = (X, y_noisy, trusted, proba)
    copies = [a.copy() for a in arrays]
    for array in arrays:
        array.setflags(write=False)
    Prune4ReLSelector(LogisticRegression(), fallback=True, random_state=0).fit(
        X, y_noisy, trusted=trusted, proba=proba, embeddings=X
    )
    for array, copy in zip(arrays, copies, strict=True):
        np.testing.assert_array_equal(array, copy)


# ---------------------------------------------------------------- fallback
def test_fallback_keeps_every_row_when_pruning_hurts():
    from sknoisy.exceptions import CorrectionFallbackWarning

    # Clean labels: pruning to 5 % can only lose against all rows.
    X, _, y, trusted = _digits_with_trusted(n=600, rate=0.0)
    selector = Prune4ReLSelector(
        LogisticRegression(max_iter=300), fraction=0.05, fallback=True,
        random_state=0,
    )  # fmt: skip
    with pytest.warns(CorrectionFallbackWarning, match="held-out trusted rows"):
        _, y_kept = selector.fit_resample(X, y, trusted=trusted)
    assert selector.fallback_ and selector.harm_check_.harmful
    assert selector.harm_check_.n_held_out == trusted.sum()
    assert len(y_kept) == len(y) and len(selector.selection_order_) == 25
    with pytest.warns(CorrectionFallbackWarning):
        selector.fit(X, y, trusted=trusted)
    plain = LogisticRegression(max_iter=300).fit(X, y)
    np.testing.assert_allclose(
        selector.predict_proba(X), plain.predict_proba(X), atol=1e-6
    )


def test_fallback_keeps_a_pruning_that_helps():
    # 40 % noise, blobs, and the small-loss baseline: the kept rows are
    # nearly clean, so the pruned model beats the one fitted on all rows.
    X, y = make_blobs(600, centers=3, cluster_std=2.5, random_state=0)
    y_noisy = make_label_noise(y, 0.4, random_state=0)
    trusted = np.zeros(len(y), dtype=bool)
    trusted[::10] = True
    y_noisy[trusted] = y[trusted]
    selector = Prune4ReLSelector(
        LogisticRegression(), strategy="small_loss", fraction=0.4,
        fallback=True, random_state=0,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        selector.fit(X, y_noisy, trusted=trusted)
    assert selector.fallback_ is False and not selector.harm_check_.harmful
    assert len(selector.sample_indices_) == round(0.4 * 540) + 60


def test_fallback_without_enough_trusted_rows_checks_on_given_labels():
    from sknoisy.exceptions import CorrectionFallbackWarning, UncheckedCorrectionWarning

    X, y_noisy, _, _ = _digits_with_trusted(n=200)
    trusted = np.zeros(200, dtype=bool)
    trusted[:5] = True
    selector = Prune4ReLSelector(LogisticRegression(), fallback=True)
    with pytest.warns(CorrectionFallbackWarning, match="rows \\(given labels\\)"):
        _, y_kept = selector.fit_resample(X, y_noisy, trusted=trusted)
    assert selector.fallback_ and selector.harm_check_.labels == "noisy"
    assert selector.harm_check_.n_held_out == 200
    assert len(y_kept) == 200
    with pytest.warns(UncheckedCorrectionWarning, match="too few rows"):
        selector.set_params(fraction=0.8).fit_resample(X[:15], y_noisy[:15])
    assert selector.fallback_ and selector.harm_check_ is None


# ------------------------------------------------- approximate neighbours
def _clustered_embeddings(n, seed=0, d=32, n_classes=8):
    rng = np.random.default_rng(seed)
    y = rng.integers(n_classes, size=n)
    centres = rng.standard_normal((n_classes, d))
    Z = (centres[y] + 0.6 * rng.standard_normal((n, d))).astype(np.float32)
    proba = softmax_rows(rng.standard_normal((n, n_classes)) + 2 * np.eye(n_classes)[y])
    return Z, y, proba


def softmax_rows(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_approximate_graph_is_the_exact_radius_graph_less_far_pairs():
    pytest.importorskip("faiss")
    from sknoisy._prune4rel import _pairs_graph
    from sknoisy.neighbors import cosine_index

    Z, _, _ = _clustered_embeddings(3000, seed=2)
    Zn = l2_normalize(Z)
    exact = _radius_graph(Zn, 0.3)
    index = cosine_index(Z, algorithm="approximate", n_probe=3, random_state=0)
    approximate = _pairs_graph(*index.radius_pairs(0.3), len(Z), None)
    # Symmetric, self weight 1, and a subgraph of the exact graph with the
    # exact weights: no neighbour cap, only pairs in cells far apart missing.
    assert (abs(approximate - approximate.T) > 1e-7).nnz == 0
    np.testing.assert_array_equal(approximate.diagonal(), 1.0)
    found = approximate.multiply(exact > 0)
    assert found.nnz == approximate.nnz
    np.testing.assert_allclose(
        approximate.data, exact.multiply(approximate > 0).tocsr().data, atol=1e-5
    )
    assert approximate.nnz >= 0.9 * exact.nnz


def test_approximate_neighbours_select_nearly_the_exact_subset():
    pytest.importorskip("faiss")
    Z, y, proba = _clustered_embeddings(3000, seed=1)
    selections = {}
    for neighbors in ("exact", "approximate"):
        selector = Prune4ReLSelector(
            LogisticRegression(), neighbors=neighbors, random_state=0
        )
        selector.fit_resample(Z, y, embeddings=Z, proba=proba)
        assert selector.neighbors_ == neighbors
        selections[neighbors] = selector.sample_indices_
    overlap = np.isin(selections["approximate"], selections["exact"]).mean()
    assert overlap >= 0.95
    # "radius", the former name of "exact", selects exactly what it selects.
    radius = Prune4ReLSelector(LogisticRegression(), neighbors="radius", random_state=0)
    radius.fit_resample(Z, y, embeddings=Z, proba=proba)
    np.testing.assert_array_equal(radius.sample_indices_, selections["exact"])
    assert radius.neighbors_ == "exact"


def test_auto_neighbours_are_exact_on_small_data():
    Z, y, proba = _clustered_embeddings(300)
    selector = Prune4ReLSelector(LogisticRegression(), random_state=0)
    selector.fit_resample(Z, y, embeddings=Z, proba=proba)
    assert selector.neighbors == "auto" and selector.neighbors_ == "exact"


def test_parallel_graph_blocks_select_what_the_serial_graph_selects(monkeypatch):
    import sknoisy.neighbors as neighbors

    Z, y, proba = _clustered_embeddings(500, seed=2)
    serial = Prune4ReLSelector(LogisticRegression(), random_state=0)
    serial.fit_resample(Z, y, embeddings=Z, proba=proba)
    monkeypatch.setattr(neighbors, "_BLOCK_BYTES", 500 * 4 * 40)  # 40-row blocks
    parallel = Prune4ReLSelector(LogisticRegression(), n_jobs=2, random_state=0)
    parallel.fit_resample(Z, y, embeddings=Z, proba=proba)
    np.testing.assert_array_equal(parallel.sample_indices_, serial.sample_indices_)
    assert parallel.mean_degree_ == serial.mean_degree_
