import inspect

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.datasets import load_digits

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


# ------------------------------------------------------------ progress output
def _printed_lines(capsys):
    return capsys.readouterr().out.strip().splitlines()


def test_progress_logger_prints_numbers_in_fixed_widths(capsys):
    logger = ProgressLogger(1, "Est")
    logger.log(epoch=(3, 20), loss=0.5, lr=0.1, n=7)
    logger.log(epoch=(12, 20), loss=12.25, lr=1e-5, n=100)
    logger.log(epoch=(13, 20), loss=0.5, lr=0.1, n=9)
    cells = [line.split(" | ")[:-1] for line in _printed_lines(capsys)]
    # The counter is padded to the width of its total; floats keep 4
    # decimals (scientific notation where those would hide the digits).
    assert cells == [
        ["[Est] epoch  3/20", "loss=0.5000", "lr=0.1000", "n=7"],
        ["[Est] epoch 12/20", "loss=12.2500", "lr=1.000e-05", "n=100"],
        ["[Est] epoch 13/20", "loss=0.5000", "lr=0.1000", "n=9"],
    ]


def test_progress_logger_announces_a_stage_before_it_runs(capsys):
    ProgressLogger(0, "Est").start("refit")
    assert capsys.readouterr().out == ""
    logger = ProgressLogger(1, "Est")
    logger.start("refit")
    logger.log(step="refit", n_fit=10, fallback=False)
    lines = _printed_lines(capsys)
    assert lines[0].startswith("[Est] refit ... | ") and lines[0].endswith("s")
    assert lines[1].startswith("[Est] step refit | n_fit=10 | fallback=False | ")


def test_agra_logs_epochs_out_of_the_total_and_the_restored_epoch(capsys):
    from sknoisy import AGRAClassifier
    from sknoisy.linear_model import SoftmaxRegression

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 120)
    X = rng.normal(size=(120, 5)) + 2.0 * y[:, None]
    y_noisy = np.where(rng.random(120) < 0.3, 1 - y, y)
    agra = AGRAClassifier(
        SoftmaxRegression(max_epochs=12),
        threshold=0.0,
        lr=None,
        fallback=False,
        verbose=1,
        random_state=0,
    ).fit(X[30:], y_noisy[30:], X_val=X[:30], y_val=y[:30])
    lines = _printed_lines(capsys)
    assert len(lines) == 13
    assert lines[0].startswith("[AGRAClassifier] epoch  1/12 | n_removed=")
    assert lines[11].startswith("[AGRAClassifier] epoch 12/12 | n_removed=")
    # It keeps the best epoch's model, and says which one.
    assert agra.best_epoch_ < 12
    restored = f"[AGRAClassifier] restored_epoch {agra.best_epoch_:>2}/12 | "
    assert lines[12].startswith(restored)
    assert f"val_score={agra.best_score_:.4f}" in lines[12]


def test_rdia_announces_each_stage_before_it_runs(capsys):
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from sknoisy import RDIARelabeler
    from sknoisy.noise import make_label_noise

    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    y_noisy = make_label_noise(y[:400], 0.2, random_state=0)
    RDIARelabeler(LogisticRegression(), alpha=0.0002, fallback=False, verbose=1).fit(
        X[:400], y_noisy, X_val=X[400:], y_val=y[400:]
    )
    lines = [line.split(" | ")[0] for line in _printed_lines(capsys)]
    assert lines == [
        "[RDIARelabeler] initial fit ...",
        "[RDIARelabeler] step initial fit",
        "[RDIARelabeler] influence ...",
        "[RDIARelabeler] step influence",
        "[RDIARelabeler] refit ...",
        "[RDIARelabeler] step refit",
    ]


# ---------------------------------------------------------- warning location
def _few_noisy_digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:15] / 16.0, y[:15]


@pytest.mark.parametrize("method", ["fit", "fit_resample"])
def test_prune4rel_warnings_point_at_the_callers_line(method):
    from sklearn.linear_model import LogisticRegression

    from sknoisy import Prune4ReLSelector
    from sknoisy.exceptions import UncheckedCorrectionWarning

    X, y = _few_noisy_digits()
    selector = Prune4ReLSelector(LogisticRegression(), fraction=0.8, fallback=True)
    with pytest.warns(UncheckedCorrectionWarning, match="too few rows") as record:
        getattr(selector, method)(X, y)
    assert [w.filename for w in record] == [__file__]


@pytest.mark.parametrize("method", ["fit", "fit_resample"])
def test_prune4rel_warnings_point_at_the_callers_line_through_a_pipeline(method):
    # The pipeline adds frames (imblearn, then sklearn's _fit_context): a
    # fixed stacklevel would point into one of them.
    pipeline = pytest.importorskip("imblearn.pipeline")
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import FunctionTransformer

    from sknoisy import Prune4ReLSelector
    from sknoisy.exceptions import UncheckedCorrectionWarning

    X, y = _few_noisy_digits()
    selector = Prune4ReLSelector(LogisticRegression(), fraction=0.8, fallback=True)
    if method == "fit":  # the last step is fitted
        steps = [FunctionTransformer(), selector]
    else:  # a sampler before the last step is fit_resample'd
        steps = [selector, LogisticRegression()]
    with pytest.warns(UncheckedCorrectionWarning, match="too few rows") as record:
        pipeline.make_pipeline(*steps).fit(X, y)
    assert [w.filename for w in record] == [__file__]


# ------------------------------------------------------------ BLAS threads
def _blas_threads():
    from threadpoolctl import threadpool_info

    return {
        pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"
    }


def test_small_products_hold_blas_to_one_thread_and_large_ones_do_not():
    from threadpoolctl import threadpool_limits

    from sknoisy.utils._threads import SMALL_PRODUCT, blas_threads_for

    with threadpool_limits(limits=2, user_api="blas"):
        if _blas_threads() != {2}:
            pytest.skip("this BLAS cannot run two threads")
        with blas_threads_for(32, 64, 10):
            assert _blas_threads() == {1}
        with blas_threads_for(4096, 100_000, 3, sparse_input=True):
            assert _blas_threads() == {1}  # sparse products are scipy's own
        with blas_threads_for(SMALL_PRODUCT, 1, 1):
            assert _blas_threads() == {2}
        assert _blas_threads() == {2}


def test_training_epochs_run_on_one_blas_thread(monkeypatch):
    from threadpoolctl import threadpool_limits

    from sknoisy import AGRAClassifier
    from sknoisy.linear_model import SoftmaxRegression

    seen = []
    step = SoftmaxRegression._step

    def spy(self, *args, **kwargs):
        seen.append(_blas_threads())
        return step(self, *args, **kwargs)

    monkeypatch.setattr(SoftmaxRegression, "_step", spy)
    X, y = load_digits(return_X_y=True)
    with threadpool_limits(limits=2, user_api="blas"):
        if _blas_threads() != {2}:
            pytest.skip("this BLAS cannot run two threads")
        SoftmaxRegression(max_epochs=1).fit(X[:200], y[:200])
        AGRAClassifier(
            SoftmaxRegression(max_epochs=1), fallback=False, random_state=0
        ).fit(X[:200], y[:200])
        assert _blas_threads() == {2}
    assert seen and all(threads == {1} for threads in seen)


def _threads_of(user_api):
    from threadpoolctl import threadpool_info

    pools = threadpool_info()
    return {pool["num_threads"] for pool in pools if pool["user_api"] == user_api}


def test_fit_context_sizes_products_by_the_rows_of_x():
    from scipy import sparse
    from threadpoolctl import threadpool_limits

    from sknoisy.utils._threads import SMALL_PRODUCT, blas_threads_for_fit

    with threadpool_limits(limits=2):
        if _blas_threads() != {2}:
            pytest.skip("this BLAS cannot run two threads")
        small, large = np.zeros((100, 64)), np.zeros((SMALL_PRODUCT // 8, 8))
        with blas_threads_for_fit(small, 10):
            assert _blas_threads() == {1}
        with blas_threads_for_fit(large, 1):
            assert _blas_threads() == {2}
        with blas_threads_for_fit(large, 1, n_rows=32):  # one batch per product
            assert _blas_threads() == {1}
        with blas_threads_for_fit(sparse.csr_matrix(large), 1):
            assert _blas_threads() == {1}
        with blas_threads_for_fit(["texts", "for", "a", "pipeline"], 2):
            assert _blas_threads() == {2}  # sizes unknown: left alone
        if _threads_of("openmp") != {2}:
            pytest.skip("no OpenMP pool of two threads to hold")
        with blas_threads_for_fit(small, 10, openmp=True):
            assert _threads_of("openmp") <= {1}
        assert _blas_threads() == {2}


def test_library_fits_of_small_data_run_on_one_blas_thread(monkeypatch):
    from sklearn.linear_model import LogisticRegression
    from sklearn.semi_supervised import LabelSpreading
    from threadpoolctl import threadpool_limits

    from sknoisy import DivideMixLiteClassifier
    from sknoisy.adapters import fit_as_configured

    seen = {"solver": [], "spreading": []}
    solver_fit, spreading_fit = LogisticRegression.fit, LabelSpreading.fit

    def solver_spy(self, *args, **kwargs):
        seen["solver"].append(_blas_threads())
        return solver_fit(self, *args, **kwargs)

    def spreading_spy(self, *args, **kwargs):
        seen["spreading"].append(_blas_threads())
        return spreading_fit(self, *args, **kwargs)

    monkeypatch.setattr(LogisticRegression, "fit", solver_spy)
    monkeypatch.setattr(LabelSpreading, "fit", spreading_spy)
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16.0, y[:300]
    y_noisy = np.where(np.arange(len(y)) % 4 == 0, (y + 1) % 10, y)
    with threadpool_limits(limits=2, user_api="blas"):
        if _blas_threads() != {2}:
            pytest.skip("this BLAS cannot run two threads")
        fit_as_configured(LogisticRegression(max_iter=50), 10, X, y)
        DivideMixLiteClassifier(random_state=0).fit(X, y_noisy)
        assert _blas_threads() == {2}
        LogisticRegression(max_iter=50).fit(X, y)  # the user's own fit
    assert seen["spreading"] and all(t == {1} for t in seen["spreading"])
    assert all(t == {1} for t in seen["solver"][:-1]) and seen["solver"][-1] == {2}


def test_thread_controller_is_found_again_after_new_imports(monkeypatch):
    import sys

    from sknoisy.utils import _threads

    first = _threads._controller()
    assert _threads._controller() is first  # no search per call
    monkeypatch.setitem(sys.modules, "_sknoisy_test_new_module", object())
    assert _threads._controller() is not first


def test_substitution_fills_shared_texts_into_docstrings():
    from sknoisy.neighbors import cosine_index, cosine_kneighbors
    from sknoisy.utils._docstrings import Substitution

    @Substitution(shared="x : int\n        The shared text.")
    def documented():
        """Do nothing.

        Parameters
        ----------
        %(shared)s
        """

    assert "    x : int\n        The shared text." in documented.__doc__
    for function in (cosine_index, cosine_kneighbors):
        assert "%(" not in function.__doc__
        assert "    n_probe : int, default=8\n" in function.__doc__


def test_softmax_matches_scikit_learn_and_survives_large_logits():
    from sklearn.utils.extmath import softmax as sklearn_softmax

    from sknoisy.utils._numeric import softmax

    logits = np.random.default_rng(0).normal(scale=5.0, size=(40, 7))
    before = logits.copy()
    np.testing.assert_allclose(softmax(logits), sklearn_softmax(logits.copy()))
    np.testing.assert_array_equal(logits, before)  # the caller's array is kept
    huge = np.array([[1000.0, 0.0, -1000.0]])
    np.testing.assert_allclose(softmax(huge), [[1.0, 0.0, 0.0]])


def test_softmax_cross_entropy_is_the_loss_and_gradient_of_the_softmax():
    from sknoisy.utils._numeric import softmax, softmax_cross_entropy

    rng = np.random.default_rng(1)
    logits = rng.normal(scale=5.0, size=(30, 4))
    y = rng.integers(0, 4, size=30)
    before = logits.copy()
    losses, residuals = softmax_cross_entropy(logits, y)
    np.testing.assert_array_equal(logits, before)
    proba = softmax(logits)
    np.testing.assert_allclose(losses, -np.log(proba[np.arange(30), y]))
    np.testing.assert_allclose(residuals, proba - np.eye(4)[y])
    # Central differences of the summed loss give the residuals.
    step = 1e-6
    numeric = np.zeros_like(logits)
    for k in range(4):
        shift = np.zeros_like(logits)
        shift[:, k] = step
        up, _ = softmax_cross_entropy(logits + shift, y)
        down, _ = softmax_cross_entropy(logits - shift, y)
        numeric[:, k] = (up - down) / (2 * step)
    np.testing.assert_allclose(residuals, numeric, atol=1e-6)
