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
