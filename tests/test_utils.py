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
