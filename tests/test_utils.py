import inspect

from sklearn.base import BaseEstimator

from sknoisy.utils import ProgressLogger, all_estimators


def test_all_estimators_lists_public_sklearn_estimators():
    estimators = all_estimators()
    names = [name for name, _ in estimators]
    assert names == sorted(set(names))
    assert "SoftmaxRegression" in names
    for name, cls in estimators:
        assert issubclass(cls, BaseEstimator)
        assert not name.startswith("_") and not inspect.isabstract(cls)


def test_progress_logger_is_silent_unless_verbose(capsys):
    ProgressLogger(0, "X").log(epoch=1, loss=0.5)
    assert capsys.readouterr().out == ""
    ProgressLogger(1, "Est").log(round=2, removed=3, loss=0.123456)
    line = capsys.readouterr().out.strip()
    assert line.startswith("[Est] round 2 | removed=3 | loss=0.1235 | ")
    assert line.endswith("s")


def test_encode_labels_names_the_parameter():
    import numpy as np
    import pytest

    from sknoisy.utils._validation import encode_labels

    classes = np.array(["a", "b", "c"])
    np.testing.assert_array_equal(
        encode_labels(np.array(["c", "a"]), classes, "y"), [2, 0]
    )
    with pytest.raises(ValueError, match=r"y_val holds labels \['z'\] that are not"):
        encode_labels(np.array(["a", "z"]), classes, "y_val")
    # Labels of another type are never silently mapped to a class.
    with pytest.raises(ValueError, match=r"^y holds labels"):
        encode_labels(np.array([1, 2]), classes, "y")


def test_estimator_has_checks_the_fitted_model_then_the_base_or_default():
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    from sknoisy.utils._meta import accepts_sparse, base_estimator, estimator_has

    class Meta:
        def __init__(self, estimator=None):
            self.estimator = estimator

        def _make_default_estimator(self):
            return LogisticRegression()

    has_proba = estimator_has("predict_proba")
    assert isinstance(base_estimator(Meta()), LogisticRegression)
    assert has_proba(Meta())
    assert not has_proba(Meta(SVC()))
    fitted = Meta(SVC())
    fitted.estimator_ = LogisticRegression()
    assert has_proba(fitted)
    assert accepts_sparse(LogisticRegression())
    assert not accepts_sparse(object())
