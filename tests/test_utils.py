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


def test_as_series_like_keeps_the_callers_container():
    import numpy as np
    import pytest

    from sknoisy.utils._output import as_series_like

    values = np.array([3, 4, 5])
    assert as_series_like([0, 1, 2], values) is values
    assert as_series_like(np.zeros(3), values) is values
    pd = pytest.importorskip("pandas")
    y = pd.Series([0, 1, 2, 3], index=[10, 11, 12, 13], name="label")
    full = as_series_like(y, np.arange(4))
    assert isinstance(full, pd.Series) and full.name == "label"
    assert list(full.index) == [10, 11, 12, 13]
    kept = as_series_like(y, values, rows=np.array([0, 2, 3]))
    assert list(kept.index) == [10, 12, 13] and list(kept) == [3, 4, 5]
    # A one-column DataFrame is not a Series: its values come back as given.
    assert as_series_like(y.to_frame(), values) is values
