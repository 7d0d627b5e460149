"""Tests of DivideMixLiteClassifier, the default re-labeling model."""

import numpy as np
from sklearn.datasets import load_digits, load_iris

from sknoisy import DivideMixLiteClassifier
from sknoisy.noise import make_label_noise


def test_divide_mix_lite_relabels_towards_the_truth():
    X, y = load_iris(return_X_y=True)
    y_noisy = make_label_noise(y, 0.3, random_state=0)
    labels = np.array(["setosa", "versicolor", "virginica"])
    clf = DivideMixLiteClassifier(random_state=0).fit(X, labels[y_noisy])
    assert (clf.y_relabeled_ == labels[y]).mean() > (y_noisy == y).mean() + 0.1
    assert clf.noisy_mask_.any()
    assert clf.predict_proba(X).shape == (150, 3)


def test_trusted_rows_are_never_relabeled():
    X, y = load_digits(return_X_y=True)
    X, y = X[:600] / 16.0, y[:600]
    y_noisy = make_label_noise(y, 0.45, random_state=0)
    trusted = np.zeros(600, dtype=bool)
    trusted[::6] = True
    y_noisy[trusted] = y[trusted]
    clf = DivideMixLiteClassifier(random_state=0).fit(X, y_noisy, trusted=trusted)
    assert not clf.noisy_mask_[trusted].any()
    np.testing.assert_array_equal(clf.y_relabeled_[trusted], y[trusted])
    plain = DivideMixLiteClassifier(random_state=0).fit(X, y_noisy)
    assert plain.noisy_mask_[trusted].any()  # the mask made the difference


def test_a_skorch_network_is_seeded_private_and_takes_any_labels():
    import pytest

    torch = pytest.importorskip("torch")
    skorch = pytest.importorskip("skorch")
    X, y = load_iris(return_X_y=True)  # float64, as users pass it
    X = (X - X.mean(0)) / X.std(0)
    labels = np.array(["setosa", "versicolor", "virginica"])
    y_noisy = labels[make_label_noise(y, 0.2, random_state=0)]
    net = skorch.NeuralNetClassifier(
        torch.nn.Linear,
        module__in_features=4,
        module__out_features=3,
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=5,
        lr=0.1,
        train_split=None,
        verbose=0,
    )
    state = torch.get_rng_state()
    first = DivideMixLiteClassifier(net, random_state=0).fit(X, y_noisy)
    proba = first.predict_proba(X)
    assert torch.equal(torch.get_rng_state(), state)  # the caller's stream
    assert not hasattr(net, "module_")  # the caller's network is untouched
    second = DivideMixLiteClassifier(net, random_state=0).fit(X, y_noisy)
    np.testing.assert_allclose(second.predict_proba(X), proba)
    assert set(first.predict(X)) <= set(labels) and proba.shape == (150, 3)
