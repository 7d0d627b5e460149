import numpy as np
import pytest
from scipy import sparse
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from sknoisy.linear_model import SoftmaxRegression


def _blobs(n_samples=60, n_features=5, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n_samples) % n_classes
    X = rng.normal(size=(n_samples, n_features)) + y[:, None]
    return X, y


def test_reaches_logistic_regression_accuracy_on_digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    reference = LogisticRegression(max_iter=5000).fit(X_train, y_train)
    scores = [
        SoftmaxRegression(random_state=seed).fit(X_train, y_train).score(X_test, y_test)
        for seed in range(3)
    ]
    assert np.mean(scores) >= reference.score(X_test, y_test) - 0.01


def test_training_matches_torch_adam_with_coupled_weight_decay():
    torch = pytest.importorskip("torch")
    X, y = _blobs()
    model = SoftmaxRegression(
        lr=0.05,
        batch_size=8,
        max_epochs=3,
        weight_decay=0.01,
        shuffle=False,
        random_state=0,
    )
    init = clone(model)
    init._initialize(X.shape[1], 3, init._child_rngs()[0])
    model.fit(X, y)

    linear = torch.nn.Linear(X.shape[1], 3, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor(init.coef_))
        linear.bias.copy_(torch.tensor(init.intercept_))
    optimizer = torch.optim.Adam(linear.parameters(), lr=0.05, weight_decay=0.01)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    for _ in range(3):
        for start in range(0, len(y), 8):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(
                linear(Xt[start : start + 8]), yt[start : start + 8]
            )
            loss.backward()
            optimizer.step()
    np.testing.assert_allclose(model.coef_, linear.weight.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(
        model.intercept_, linear.bias.detach().numpy(), rtol=1e-10
    )
    assert model.t_ == 3 * 8
    assert len(model.loss_curve_) == model.n_iter_ == 3


def test_sparse_input_gives_the_dense_result_and_stays_sparse(monkeypatch):
    X, y = _blobs()
    X[X < 0.5] = 0.0
    dense = SoftmaxRegression(max_epochs=5, random_state=0).fit(X, y)

    def refuse(*args, **kwargs):
        raise AssertionError("sparse input was densified")

    monkeypatch.setattr(sparse.csr_matrix, "toarray", refuse)
    monkeypatch.setattr(sparse.csr_array, "toarray", refuse)
    for container in (sparse.csr_matrix, sparse.csr_array, sparse.csc_matrix):
        fitted = SoftmaxRegression(max_epochs=5, random_state=0).fit(container(X), y)
        np.testing.assert_allclose(fitted.coef_, dense.coef_, rtol=1e-12)
        np.testing.assert_allclose(
            fitted.predict_proba(container(X)), dense.predict_proba(X), rtol=1e-12
        )


def test_deterministic_under_random_state():
    X, y = _blobs()
    first = SoftmaxRegression(max_epochs=4, random_state=3).fit(X, y).coef_
    second = SoftmaxRegression(max_epochs=4, random_state=3).fit(X, y).coef_
    other = SoftmaxRegression(max_epochs=4, random_state=4).fit(X, y).coef_
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, other)


def test_zero_weights_drop_samples_from_every_step():
    X, y = _blobs(n_samples=8)
    weight = np.array([2.0, 2.0, 0.0, 0.0] * 2)
    kept = weight > 0
    weighted = SoftmaxRegression(
        batch_size=4, max_epochs=3, shuffle=False, random_state=0
    )
    weighted.fit(X, y, sample_weight=weight)
    # Each batch of four holds two kept samples: a batch of two of them only.
    subset = SoftmaxRegression(
        batch_size=2, max_epochs=3, shuffle=False, random_state=0
    )
    subset.fit(X[kept], y[kept])
    np.testing.assert_allclose(weighted.coef_, subset.coef_, rtol=1e-12)


def test_string_labels_and_binary_decision_function():
    X, y = _blobs(n_classes=2)
    labels = np.array(["cat", "dog"])[y]
    model = SoftmaxRegression(max_epochs=20, random_state=0).fit(X, labels)
    assert model.coef_.shape == (2, X.shape[1])
    scores = model.decision_function(X)
    assert scores.shape == (len(y),)
    np.testing.assert_array_equal(model.predict(X), model.classes_[(scores > 0) * 1])
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0)
    np.testing.assert_allclose(
        np.exp(model.predict_log_proba(X)), model.predict_proba(X), rtol=1e-12
    )


def test_partial_fit_runs_one_epoch_and_continues():
    X, y = _blobs()
    model = SoftmaxRegression(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        model.partial_fit(X, y)
    model.partial_fit(X, y, classes=[0, 1, 2])
    assert model.n_iter_ == 1
    first = model.coef_.copy()
    model.partial_fit(X[:10], y[:10])
    assert model.n_iter_ == 2 and not np.allclose(first, model.coef_)
    with pytest.raises(ValueError, match=r"not in classes_"):
        model.partial_fit(X[:3], np.array([0, 1, 7]))


def test_single_class_gets_a_clear_error():
    X, y = _blobs()
    with pytest.raises(ValueError, match="1 class"):
        SoftmaxRegression().fit(X, np.zeros(len(y)))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"lr": 0.0}, "lr"),
        ({"batch_size": 0}, "batch_size"),
        ({"max_epochs": 0}, "max_epochs"),
        ({"weight_decay": -1.0}, "weight_decay"),
    ],
)
def test_invalid_parameters_name_the_parameter(params, match):
    X, y = _blobs()
    with pytest.raises(ValueError, match=match):
        SoftmaxRegression(**params).fit(X, y)


def test_inputs_are_not_modified():
    X, y = _blobs()
    weight = np.linspace(0.5, 2.0, len(y))
    copies = X.copy(), y.copy(), weight.copy()
    SoftmaxRegression(max_epochs=2).fit(X, y, sample_weight=weight)
    for original, copy in zip((X, y, weight), copies, strict=True):
        np.testing.assert_array_equal(original, copy)


def test_verbose_prints_one_line_per_epoch(capsys):
    X, y = _blobs()
    SoftmaxRegression(max_epochs=3, verbose=1).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("[SoftmaxRegression] epoch 1/3 | loss=")
