"""Tests of RDIARelabeler's linear path (closed-form influence of LR)."""

import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import sklearn
from scipy import sparse
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import GridSearchCV, PredefinedSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.svm import SVC

from sknoisy import RDIARelabeler
from sknoisy.exceptions import CorrectionFallbackWarning, UncheckedCorrectionWarning
from sknoisy.model_selection import trusted_scorer
from sknoisy.noise import make_label_noise

C = 0.1


def _paper_base():
    return LogisticRegression(
        C=0.1, fit_intercept=False, solver="liblinear", tol=1e-7, max_iter=100
    )


def _rdia(estimator=None, **params):
    """RDIARelabeler at the paper's settings: its base, alpha, no harm check."""
    params = {"alpha": 0.0002, "fallback": False, **params}
    return RDIARelabeler(_paper_base() if estimator is None else estimator, **params)


# ----------------------------------------------------------------- data
def _libsvm_cancer():
    home = os.environ.get("SKNOISY_DATA")
    if not home or not (Path(home) / "rdia" / "breast-cancer_scale").exists():
        return None
    from sknoisy.datasets import load_libsvm

    X, y = load_libsvm("breast-cancer", data_home=home, download_if_missing=False)
    return X.toarray(), y  # 683 × 10, small; dense and CSR are both tested


def _cancer():
    """Breast cancer as in the paper: 350 train / 150 clean validation rows.

    The LIBSVM file when ``SKNOISY_DATA`` holds it, else scikit-learn's copy
    of the (larger) WDBC data scaled to [-1, 1] as LIBSVM's ``_scale`` files
    are.
    """
    data = _libsvm_cancer()
    if data is None:
        X, y = load_breast_cancer(return_X_y=True)
        X = MinMaxScaler((-1, 1)).fit_transform(X)
    else:
        X, y = data
    return X[:350], y[:350], X[350:500], y[350:500]


@pytest.fixture(scope="module")
def cancer():
    X_tr, y_tr, X_va, y_va = _cancer()
    y_noisy = make_label_noise(y_tr, 0.2, random_state=0)
    return X_tr, y_noisy, X_va, y_va


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True)
    X = MinMaxScaler((-1, 1)).fit_transform(X)
    order = np.random.default_rng(0).permutation(len(y))
    X, y = X[order], y[order]
    y_noisy = make_label_noise(y[:120], 0.3, random_state=0)
    return X[:120], y_noisy, X[120:], y[120:]


def _tight(**params):
    params = {"C": C, "tol": 1e-14, "max_iter": 100_000, **params}
    return LogisticRegression(**params)


def _val_loss(model, X_va, y_va):
    proba = model.predict_proba(X_va)
    return -np.log(proba[np.arange(len(y_va)), np.searchsorted(model.classes_, y_va)])


def _fit_loss(base, X, y, X_va, y_va, **fit_params):
    return _val_loss(clone(base).fit(X, y, **fit_params), X_va, y_va).sum()


# ------------------------------------------- influence against retraining
@pytest.mark.parametrize(
    "params",
    [
        {"fit_intercept": False, "solver": "liblinear"},
        {"fit_intercept": True, "solver": "liblinear"},
        {"fit_intercept": True, "solver": "newton-cholesky"},
    ],
    ids=["no-intercept", "liblinear-intercept", "newton-cholesky-intercept"],
)
def test_influence_predicts_exact_leave_one_out(cancer, params):
    # Dropping sample i changes the summed validation loss by about -φ_i / C:
    # φ and the actual change are strongly *negatively* correlated.
    X_tr, y_tr, X_va, y_va = cancer
    base = _tight(**params)
    rdia = _rdia(base).fit(X_tr, y_tr, X_val=X_va, y_val=y_va)
    loss0 = _val_loss(rdia.initial_estimator_, X_va, y_va).sum()
    actual = np.empty(len(y_tr))
    for i in range(len(y_tr)):
        keep = np.arange(len(y_tr)) != i
        actual[i] = _fit_loss(base, X_tr[keep], y_tr[keep], X_va, y_va) - loss0
    phi = rdia.influence_
    assert np.corrcoef(phi, actual)[0, 1] <= -0.99
    slope = np.polyfit(-phi / C, actual, 1)[0]
    assert 0.9 < slope < 1.1
    # Harmful (φ > 0) samples are those whose removal lowers the loss.
    big = np.abs(phi) / C > 0.1
    assert np.all(np.sign(actual[big]) == -np.sign(phi[big]))


def test_relabel_influence_predicts_exact_flip(cancer):
    X_tr, y_tr, X_va, y_va = cancer
    base = _tight(fit_intercept=False, solver="liblinear")
    rdia = _rdia(base, criterion="relabel").fit(X_tr, y_tr, X_val=X_va, y_val=y_va)
    loss0 = _val_loss(rdia.initial_estimator_, X_va, y_va).sum()
    rows = np.r_[np.argsort(-rdia.influence_)[:15], np.arange(0, 350, 10)]
    actual = []
    for i in rows:
        y_flip = y_tr.copy()
        y_flip[i] = 1 - y_flip[i]
        actual.append(_fit_loss(base, X_tr, y_flip, X_va, y_va) - loss0)
    gain = rdia.relabel_influence_[rows]
    assert np.corrcoef(gain, actual)[0, 1] <= -0.99
    # Binary: the relabel gain is φ / (1 - p_ỹ).
    p = rdia.initial_estimator_.predict_proba(X_tr)[np.arange(350), y_tr]
    np.testing.assert_allclose(rdia.relabel_influence_ * (1 - p), rdia.influence_)
    np.testing.assert_array_equal(rdia.relabeled_mask_, rdia.relabel_influence_ > 2e-4)


@pytest.mark.parametrize(
    "params",
    [
        {"fit_intercept": True, "solver": "liblinear"},
        {"fit_intercept": True, "solver": "liblinear", "intercept_scaling": 3.0},
        {"fit_intercept": True, "solver": "newton-cholesky"},
    ],
    ids=["liblinear", "liblinear-scaling-3", "newton-cholesky"],
)
def test_intercept_influence_matches_finite_differences(cancer, params):
    # d(validation loss)/d(weight of sample i) = φ_i / C. liblinear
    # regularises the intercept and newton-cholesky does not; modelling either
    # like the other changes φ by ~30 % here, far above the tolerance.
    X_tr, y_tr, X_va, y_va = cancer
    base = _tight(**params)
    rdia = _rdia(base).fit(X_tr, y_tr, X_val=X_va, y_val=y_va)
    eps = 1e-3
    for i in np.argsort(-np.abs(rdia.influence_))[:3]:
        losses = []
        for step in (eps, -eps):
            weight = np.ones(len(y_tr))
            weight[i] += step
            losses.append(_fit_loss(base, X_tr, y_tr, X_va, y_va, sample_weight=weight))
        derivative = (losses[0] - losses[1]) / (2 * eps)
        assert derivative == pytest.approx(rdia.influence_[i] / C, rel=1e-4)


# ------------------------------------------------------------ multi-class
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_multiclass_influence_matches_finite_differences(wine, fit_intercept):
    X_tr, y_tr, X_va, y_va = wine
    base = _tight(C=1.0, fit_intercept=fit_intercept, solver="newton-cholesky")
    rdia = _rdia(base).fit(X_tr, y_tr, X_val=X_va, y_val=y_va)
    eps = 1e-3
    for i in np.argsort(-np.abs(rdia.influence_))[:3]:
        losses = []
        for step in (eps, -eps):
            weight = np.ones(len(y_tr))
            weight[i] += step
            losses.append(_fit_loss(base, X_tr, y_tr, X_va, y_va, sample_weight=weight))
        derivative = (losses[0] - losses[1]) / (2 * eps)
        assert derivative == pytest.approx(rdia.influence_[i] / base.C, rel=1e-5)


def test_multiclass_relabels_to_the_class_that_most_reduces_the_loss(wine):
    X_tr, y_tr, X_va, y_va = wine
    base = _tight(C=1.0, solver="newton-cholesky")
    rdia = _rdia(base).fit(X_tr, y_tr, X_val=X_va, y_val=y_va)
    loss0 = _val_loss(rdia.initial_estimator_, X_va, y_va).sum()
    selected = rdia.relabeled_indices_
    assert 0 < len(selected) < len(y_tr)
    predicted, actual = [], []
    for i in selected[:12]:
        changes = []
        for k in rdia.classes_:
            y_k = y_tr.copy()
            y_k[i] = k
            changes.append(_fit_loss(base, X_tr, y_k, X_va, y_va) - loss0)
        # The first-order rule picks the class exact retraining picks.
        assert rdia.classes_[np.argmin(changes)] == rdia.y_relabeled_[i]
        assert rdia.y_relabeled_[i] != y_tr[i]
        predicted.append(-rdia.relabel_influence_[i] / base.C)
        actual.append(min(changes))
    assert np.corrcoef(predicted, actual)[0, 1] >= 0.99
    # The relabel gain is never below the up-weighting influence's sign.
    train = ~np.isnan(rdia.influence_)
    assert np.all(rdia.relabel_influence_[train] >= -1e-12)


def test_multiclass_drop_influence_predicts_leave_one_out(wine):
    X_tr, y_tr, X_va, y_va = wine
    base = _tight(C=1.0, solver="newton-cholesky")
    rdia = _rdia(base).fit(X_tr, y_tr, X_val=X_va, y_val=y_va)
    loss0 = _val_loss(rdia.initial_estimator_, X_va, y_va).sum()
    actual = [
        _fit_loss(base, np.delete(X_tr, i, 0), np.delete(y_tr, i), X_va, y_va) - loss0
        for i in range(len(y_tr))
    ]
    assert np.corrcoef(rdia.influence_, actual)[0, 1] <= -0.99


def test_default_estimator_handles_more_than_two_classes():
    X, y = load_iris(return_X_y=True)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    X, y = X[order], y[order]
    rdia = RDIARelabeler(alpha=0.01, fallback=False).fit(
        X[:100], y[:100], X_val=X[100:], y_val=y[100:]
    )
    # scikit-learn's default logistic regression (multinomial lbfgs).
    params = rdia.estimator_.get_params()
    assert (params["C"], params["fit_intercept"], params["solver"]) == (
        1.0,
        True,
        "lbfgs",
    )
    assert params["max_iter"] == 1000
    assert rdia.predict_proba(X).shape == (150, 3)
    assert rdia.decision_function(X).shape == (150, 3)


# ------------------------------------------------------------- sparse input
@pytest.mark.parametrize("dataset", ["cancer", "wine"])
def test_sparse_and_dense_give_the_same_influence(dataset, request):
    X_tr, y_tr, X_va, y_va = request.getfixturevalue(dataset)
    base = (
        _tight(fit_intercept=True, solver="liblinear")
        if dataset == "cancer"
        else _tight(C=1.0, solver="lbfgs", tol=1e-10)
    )
    dense = _rdia(base).fit(X_tr, y_tr, X_val=X_va, y_val=y_va)
    csr = _rdia(base).fit(
        sparse.csr_matrix(X_tr), y_tr, X_val=sparse.csr_array(X_va), y_val=y_va
    )
    scale = np.abs(dense.influence_).max()
    np.testing.assert_allclose(csr.influence_, dense.influence_, atol=1e-6 * scale)
    np.testing.assert_array_equal(csr.relabeled_mask_, dense.relabeled_mask_)
    np.testing.assert_array_equal(csr.y_relabeled_, dense.y_relabeled_)


def test_sparse_input_is_never_densified(monkeypatch):
    # 30 000 columns: a d × d Hessian would need 7 GB.
    rng = np.random.default_rng(0)
    nnz = 24_000
    X = sparse.csr_matrix(
        (
            rng.normal(size=nnz),
            (rng.integers(400, size=nnz), rng.integers(30_000, size=nnz)),
        ),
        shape=(400, 30_000),
    )
    w = rng.normal(size=30_000)
    y = (X @ w + 0.3 * rng.normal(size=400) > 0).astype(int)
    X_tr, y_tr, X_va, y_va = X[:300], y[:300], X[300:], y[300:]

    def refuse(self, *args, **kwargs):
        raise AssertionError("sparse input was densified")

    for cls in (sparse.csr_matrix, sparse.csc_matrix, sparse.csr_array):
        monkeypatch.setattr(cls, "toarray", refuse)
        monkeypatch.setattr(cls, "todense", refuse)
    for base in (None, LogisticRegression(C=1.0, solver="lbfgs")):
        rdia = _rdia(base, alpha=0.0).fit(X_tr, y_tr, X_val=X_va, y_val=y_va)
        assert np.all(np.isfinite(rdia.influence_))
        assert sparse.issparse(X_tr)


# ------------------------------------------------------ paper parity (data)
@pytest.mark.data
@pytest.mark.skipif(_libsvm_cancer() is None, reason="needs SKNOISY_DATA")
def test_selection_counts_match_the_paper_code():
    # spec §5: mean unique relabels over the seeds 0..9 of the original code.
    X_tr, y_tr, X_va, y_va = _cancer()
    expected = {0.0: 47.0, 0.2: 101.8, 0.5: 175.1, 0.8: 252.4}
    for noise, count in expected.items():
        counts = []
        for seed in range(10):
            order = np.random.RandomState(seed).permutation(350)
            y_noisy = y_tr.copy()
            flip = order[: int(noise * 350)]
            y_noisy[flip] = 1 - y_noisy[flip]
            rdia = _rdia().fit(X_tr, y_noisy, X_val=X_va, y_val=y_va)
            counts.append(rdia.n_relabeled_)
        assert np.mean(counts) == pytest.approx(count)


# ----------------------------------------------------------------- roles
def test_sampler_contract_with_string_labels(cancer):
    X_tr, y_tr, X_va, y_va = cancer
    names = np.array(["benign", "malignant"])
    y_str, y_va_str = names[y_tr], names[y_va]
    rdia = _rdia()
    X_res, y_res = rdia.fit_resample(X_tr, y_str, X_val=X_va, y_val=y_va_str)
    assert X_res is X_tr
    assert y_res.shape == y_str.shape
    assert set(np.unique(y_res)) <= set(names)
    changed = y_res != y_str
    assert changed.sum() == rdia.n_relabeled_ > 0
    np.testing.assert_array_equal(np.flatnonzero(changed), rdia.relabeled_indices_)
    np.testing.assert_array_equal(changed, rdia.relabeled_mask_)
    np.testing.assert_array_equal(y_res, rdia.y_relabeled_)
    np.testing.assert_array_equal(rdia.relabeled_mask_, rdia.influence_ > 2e-4)
    assert np.all(rdia.influence_[rdia.relabeled_mask_] > 0)
    assert rdia.predict(X_va).dtype == y_str.dtype
    assert set(rdia.predict(X_va)) <= set(names)


def test_fit_resample_keeps_pandas_types(cancer):
    pd = pytest.importorskip("pandas")
    X_tr, y_tr, X_va, y_va = cancer
    X_df = pd.DataFrame(X_tr, columns=[f"f{j}" for j in range(X_tr.shape[1])])
    y_s = pd.Series(y_tr, index=np.arange(1000, 1350), name="label")
    X_res, y_res = _rdia().fit_resample(X_df, y_s, X_val=X_va, y_val=y_va)
    assert X_res is X_df
    assert isinstance(y_res, pd.Series)
    assert y_res.name == "label" and (y_res.index == y_s.index).all()


def test_classifier_contract(cancer):
    X_tr, y_tr, X_va, y_va = cancer
    rdia = _rdia()
    assert rdia.fit(X_tr, y_tr, X_val=X_va, y_val=y_va) is rdia
    est = rdia.estimator_
    np.testing.assert_array_equal(rdia.predict(X_va), est.predict(X_va))
    np.testing.assert_allclose(rdia.predict_proba(X_va), est.predict_proba(X_va))
    np.testing.assert_allclose(
        rdia.predict_log_proba(X_va), est.predict_log_proba(X_va)
    )
    np.testing.assert_allclose(
        rdia.decision_function(X_va), est.decision_function(X_va)
    )
    assert rdia.score(X_va, y_va) == est.score(X_va, y_va)
    np.testing.assert_array_equal(rdia.classes_, [0, 1])
    assert rdia.n_features_in_ == X_tr.shape[1]
    # estimator_ is refitted on the relabelled training rows; the initial
    # model on the noisy ones; the user's estimator is never fitted.
    refit = clone(est).fit(X_tr, rdia.y_relabeled_)
    np.testing.assert_allclose(est.coef_, refit.coef_)
    initial = clone(est).fit(X_tr, y_tr)
    np.testing.assert_allclose(rdia.initial_estimator_.coef_, initial.coef_)
    base = LogisticRegression()
    _rdia(base).fit(X_tr, y_tr, X_val=X_va, y_val=y_va)
    assert not hasattr(base, "coef_")
    # The paper's base model, passed explicitly.
    params = est.get_params()
    assert (params["C"], params["fit_intercept"], params["solver"]) == (
        0.1,
        False,
        "liblinear",
    )
    assert (params["tol"], params["max_iter"]) == (1e-7, 100)


def test_fit_and_fit_resample_agree(cancer):
    X_tr, y_tr, X_va, y_va = cancer
    fitted = _rdia().fit(X_tr, y_tr, X_val=X_va, y_val=y_va)
    _, y_res = _rdia().fit_resample(X_tr, y_tr, X_val=X_va, y_val=y_va)
    np.testing.assert_array_equal(y_res, fitted.y_relabeled_)


def test_predict_before_fit_raises():
    with pytest.raises(NotFittedError):
        _rdia().predict(np.zeros((2, 3)))


def test_callers_arrays_are_not_modified(cancer):
    X_tr, y_tr, X_va, y_va = cancer
    arrays = [a.copy() for a in (X_tr, y_tr, X_va, y_va)]
    readonly = [a.copy() for a in arrays]
    for a in readonly:
        a.setflags(write=False)
    _rdia().fit_resample(*readonly[:2], X_val=readonly[2], y_val=readonly[3])
    _rdia(mode="drop").fit(arrays[0], arrays[1], X_val=arrays[2], y_val=arrays[3])
    for before, after in zip((X_tr, y_tr, X_va, y_va), arrays, strict=True):
        np.testing.assert_array_equal(before, after)
    X_sp = sparse.csr_matrix(X_tr)
    data = X_sp.data.copy()
    _rdia().fit(X_sp, y_tr, X_val=X_va, y_val=y_va)
    np.testing.assert_array_equal(X_sp.data, data)


def test_pickle_round_trip(cancer):
    X_tr, y_tr, X_va, y_va = cancer
    rdia = _rdia().fit(X_tr, y_tr, X_val=X_va, y_val=y_va)
    restored = pickle.loads(pickle.dumps(rdia))
    np.testing.assert_array_equal(
        restored.predict_proba(X_va), rdia.predict_proba(X_va)
    )


# ----------------------------------------------------------------- options
def test_alpha_scale_and_criterion(cancer):
    X_tr, y_tr, X_va, y_va = cancer
    n_val = len(y_va)
    mean = _rdia(alpha=1e-5, alpha_scale="mean").fit(X_tr, y_tr, X_val=X_va, y_val=y_va)
    np.testing.assert_array_equal(mean.relabeled_mask_, mean.influence_ / n_val > 1e-5)
    relabel = _rdia(alpha=0.01, criterion="relabel").fit(
        X_tr, y_tr, X_val=X_va, y_val=y_va
    )
    np.testing.assert_array_equal(
        relabel.relabeled_mask_, relabel.relabel_influence_ > 0.01
    )
    # The relabel gain exceeds φ, so it selects at least as many samples.
    upweight = _rdia(alpha=0.01).fit(X_tr, y_tr, X_val=X_va, y_val=y_va)
    assert relabel.n_relabeled_ >= upweight.n_relabeled_
    # alpha = 0 relabels every sample predicted to be harmful.
    zero = _rdia(alpha=0.0).fit(X_tr, y_tr, X_val=X_va, y_val=y_va)
    np.testing.assert_array_equal(zero.relabeled_mask_, zero.influence_ > 0)
    assert zero.n_relabeled_ >= upweight.n_relabeled_


def test_drop_mode(cancer):
    X_tr, y_tr, X_va, y_va = cancer
    rdia = _rdia(mode="drop")
    X_res, y_res = rdia.fit_resample(X_tr, y_tr, X_val=X_va, y_val=y_va)
    kept = ~rdia.relabeled_mask_
    assert rdia.n_relabeled_ > 0
    np.testing.assert_array_equal(rdia.sample_indices_, np.flatnonzero(kept))
    np.testing.assert_array_equal(X_res, X_tr[kept])
    np.testing.assert_array_equal(y_res, y_tr[kept])
    np.testing.assert_array_equal(rdia.y_relabeled_, y_tr)
    refit = clone(rdia.estimator_).fit(X_tr[kept], y_tr[kept])
    np.testing.assert_allclose(rdia.estimator_.coef_, refit.coef_)


def test_pipeline_base_estimator_takes_influence_after_preprocessing(cancer):
    X_tr, y_tr, X_va, y_va = cancer
    base = LogisticRegression(C=C, fit_intercept=False, solver="liblinear", tol=1e-10)
    piped = _rdia(make_pipeline(StandardScaler(), base)).fit(
        X_tr, y_tr, X_val=X_va, y_val=y_va
    )
    scaler = StandardScaler().fit(X_tr)
    plain = _rdia(base).fit(
        scaler.transform(X_tr), y_tr, X_val=scaler.transform(X_va), y_val=y_va
    )
    np.testing.assert_allclose(piped.influence_, plain.influence_, rtol=1e-6)


def test_single_class_after_relabelling_falls_back_with_warning():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 0, 1, 1])
    X_va, y_va = np.array([[0.0], [1.5], [3.0]]), np.array([0, 0, 1])
    rdia = _rdia(LogisticRegression(), alpha=0.0)
    with pytest.warns(UserWarning, match="single class"):
        rdia.fit(X, y, X_val=X_va, y_val=y_va)
    assert rdia.n_relabeled_ == 0
    np.testing.assert_array_equal(rdia.y_relabeled_, y)


def test_verbose_prints_one_line_per_stage(cancer, capsys):
    X_tr, y_tr, X_va, y_va = cancer
    _rdia(verbose=1).fit(X_tr, y_tr, X_val=X_va, y_val=y_va)
    lines = capsys.readouterr().out.strip().splitlines()
    # Each stage is announced as it starts, then reported as it ends.
    starts, ends = lines[0::2], lines[1::2]
    assert [line.split(" | ")[0] for line in starts] == [
        "[RDIARelabeler] initial fit ...",
        "[RDIARelabeler] influence ...",
        "[RDIARelabeler] refit ...",
    ]
    assert len(ends) == 3
    assert all(line.startswith("[RDIARelabeler] step ") for line in ends)
    assert "cg_iterations=" in ends[1]


# --------------------------------------------------------- validation data
def test_internal_split_warns_and_never_fits_on_validation_rows(cancer):
    X_tr, y_tr, _, _ = cancer
    rdia = _rdia(random_state=0, validation_fraction=0.3)
    with pytest.warns(UserWarning, match="No validation set given"):
        rdia.fit(X_tr, y_tr)
    mask = rdia.validation_mask_
    assert mask.sum() == pytest.approx(0.3 * len(y_tr), abs=2)
    for k in (0, 1):  # stratified
        share = mask[y_tr == k].mean()
        assert share == pytest.approx(0.3, abs=0.02)
    assert np.all(np.isnan(rdia.influence_[mask]))
    assert not rdia.relabeled_mask_[mask].any()
    np.testing.assert_array_equal(rdia.y_relabeled_[mask], y_tr[mask])
    # Identical to passing the held-out rows explicitly.
    explicit = _rdia(random_state=0).fit(
        X_tr[~mask], y_tr[~mask], X_val=X_tr[mask], y_val=y_tr[mask]
    )
    np.testing.assert_allclose(rdia.influence_[~mask], explicit.influence_)
    np.testing.assert_allclose(rdia.estimator_.coef_, explicit.estimator_.coef_)
    # Reproducible with a seed, different with another.
    with pytest.warns(UserWarning):
        again = _rdia(random_state=0, validation_fraction=0.3).fit(X_tr, y_tr)
        other = _rdia(random_state=1, validation_fraction=0.3).fit(X_tr, y_tr)
    np.testing.assert_array_equal(again.validation_mask_, mask)
    assert (other.validation_mask_ != mask).any()


def test_tail_split_holds_out_the_last_rows(cancer):
    X_tr, y_tr, _, _ = cancer
    with pytest.warns(UserWarning, match="No validation set given"):
        rdia = _rdia(split="tail", validation_fraction=0.2).fit(X_tr, y_tr)
    np.testing.assert_array_equal(
        rdia.validation_mask_, np.arange(len(y_tr)) >= len(y_tr) - 70
    )


def test_validation_set_as_long_as_X_warns(cancer):
    X_tr, y_tr, X_va, y_va = cancer
    with pytest.warns(UserWarning, match="as many rows as X"):
        _rdia().fit(X_tr[:150], y_tr[:150], X_val=X_va, y_val=y_va)


# ----------------------------------------------------------------- tuning
def _search_data(cancer):
    X_tr, y_tr, X_va, y_va = cancer
    X_all = np.vstack([X_tr, X_va])
    y_all = np.r_[y_tr, y_va]
    test_fold = np.r_[np.full(len(y_tr), -1), np.zeros(len(y_va))]
    return X_all, y_all, PredefinedSplit(test_fold)


def test_grid_search_over_alpha_as_final_estimator(cancer):
    X_tr, y_tr, X_va, y_va = cancer
    X_all, y_all, cv = _search_data(cancer)
    grid = {"alpha": [0.01, 0.002, 0.0002]}
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no length warning
        search = GridSearchCV(
            _rdia(), grid, cv=cv, scoring="neg_log_loss", refit=False
        ).fit(X_all, y_all, X_val=X_va, y_val=y_va)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    # The search scored exactly RDIA fitted on the training rows.
    for alpha, score in zip(grid["alpha"], scores, strict=True):
        rdia = _rdia(alpha=alpha).fit(X_tr, y_tr, X_val=X_va, y_val=y_va)
        proba = rdia.predict_proba(X_va)[np.arange(len(y_va)), y_va]
        assert score == pytest.approx(np.log(proba).mean())


def test_grid_search_warns_when_X_val_would_be_sliced(cancer):
    X_tr, y_tr, _, _ = cancer
    X_val, y_val = X_tr[::-1], y_tr[::-1]  # as long as X: CV slices it
    with pytest.warns(UserWarning, match="as many rows as X"):
        GridSearchCV(_rdia(), {"alpha": [0.01]}, cv=2).fit(
            X_tr, y_tr, X_val=X_val, y_val=y_val
        )


def test_grid_search_over_alpha_as_imblearn_sampler_step(cancer):
    pipeline = pytest.importorskip("imblearn.pipeline")
    _, _, X_va, y_va = cancer
    X_all, y_all, cv = _search_data(cancer)
    grid = {"rdiarelabeler__alpha": [0.01, 0.0002]}
    # imblearn hands step parameters to fit_resample only through routing.
    with sklearn.config_context(enable_metadata_routing=True):
        step = _rdia().set_fit_request(X_val=True, y_val=True)
        step.set_fit_resample_request(X_val=True, y_val=True)
        pipe = pipeline.make_pipeline(step, LogisticRegression(C=C))
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # X_val reached RDIA
            search = GridSearchCV(pipe, grid, cv=cv, scoring="neg_log_loss").fit(
                X_all, y_all, X_val=X_va, y_val=y_va
            )
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    # The sampler relabelled the labels the final step was trained on.
    best = search.best_params_["rdiarelabeler__alpha"]
    _, y_res = _rdia(alpha=best).fit_resample(X_all, y_all, X_val=X_va, y_val=y_va)
    final = LogisticRegression(C=C).fit(X_all, y_res)
    np.testing.assert_allclose(search.best_estimator_[-1].coef_, final.coef_)


def test_imblearn_pipeline_without_routing_raises_how_to_fix_it(cancer):
    # imblearn's Pipeline without routing drops step parameters for samplers:
    # the trusted mask never reaches fit_resample, and the user learns why.
    pipeline = pytest.importorskip("imblearn.pipeline")
    X_tr, y_tr, X_va, y_va = cancer
    X, y = np.vstack([X_tr, X_va]), np.r_[y_tr, y_va]
    trusted = np.r_[np.zeros(len(y_tr), bool), np.ones(len(y_va), bool)]
    pipe = pipeline.make_pipeline(RDIARelabeler(), LogisticRegression())
    with sklearn.config_context(enable_metadata_routing=False):
        with pytest.raises(ValueError, match="received none") as info:
            pipe.fit(X, y, rdiarelabeler__trusted=trusted)
    message = str(info.value)
    for hint in (
        "trusted=",
        "X_val",
        "enable_metadata_routing=True",
        "set_fit_resample_request(trusted=True)",
        "validation_fraction",
    ):
        assert hint in message
    # Without any clean data at all, the same error.
    with pytest.raises(ValueError, match="received none"):
        RDIARelabeler().fit(X_tr, y_tr)


# -------------------------------------------------------------- bad input
class NeuralNet:  # stands in for skorch's, without importing torch
    __module__ = "skorch.net"

    def fit(self, X, y):
        return self

    def predict_proba(self, X):
        return None

    def get_params(self, deep=True):
        return {}


@pytest.mark.parametrize(
    "estimator, error, match",
    [
        (LogisticRegression(l1_ratio=1.0, solver="saga"), ValueError, "L2"),
        (LogisticRegression(C=np.inf), ValueError, "L2"),
        (LogisticRegression(class_weight="balanced"), ValueError, "class_weight"),
        (LogisticRegressionCV(), TypeError, "LogisticRegression"),
        (SVC(probability=True), TypeError, "LogisticRegression"),
        (NeuralNet(), ValueError, "needs noise_rate with a skorch network"),
    ],
)
def test_unsupported_estimators_are_rejected(cancer, estimator, error, match):
    X_tr, y_tr, X_va, y_va = cancer
    with pytest.raises(error, match=match):
        _rdia(estimator).fit(X_tr, y_tr, X_val=X_va, y_val=y_va)


def test_liblinear_with_more_than_two_classes_is_rejected(wine):
    X_tr, y_tr, X_va, y_va = wine
    with pytest.raises(ValueError, match="liblinear"):
        _rdia(LogisticRegression(solver="liblinear")).fit(
            X_tr, y_tr, X_val=X_va, y_val=y_va
        )


def test_bad_input_raises_errors_naming_the_parameter(cancer):
    X_tr, y_tr, X_va, y_va = cancer
    rdia = _rdia()
    with pytest.raises(ValueError, match="validation set holds a single class"):
        rdia.fit(X_tr, y_tr, X_val=X_va[y_va == 1], y_val=y_va[y_va == 1])
    with pytest.raises(ValueError, match="X_val has 3 features, but X has"):
        rdia.fit(X_tr, y_tr, X_val=X_va[:, :3], y_val=y_va)
    with pytest.raises(ValueError, match="'alpha' parameter"):
        _rdia(alpha=-1e-3).fit(X_tr, y_tr, X_val=X_va, y_val=y_va)
    with pytest.raises(ValueError, match="'validation_fraction' parameter"):
        _rdia(validation_fraction=1.0).fit(X_tr, y_tr)
    X_nan = X_tr.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        rdia.fit(X_nan, y_tr, X_val=X_va, y_val=y_va)
    X_va_nan = X_va.copy()
    X_va_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X_val contains NaN"):
        rdia.fit(X_tr, y_tr, X_val=X_va_nan, y_val=y_va)
    with pytest.raises(ValueError, match="y_val holds labels"):
        rdia.fit(X_tr, y_tr, X_val=X_va, y_val=y_va + 5)
    with pytest.raises(ValueError, match="Pass both X_val and y_val"):
        rdia.fit(X_tr, y_tr, X_val=X_va)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        rdia.fit(X_tr, y_tr, X_val=X_va, y_val=y_va[:-1])
    with pytest.raises(ValueError, match="at least two classes in y"):
        rdia.fit(X_tr, np.zeros_like(y_tr), X_val=X_va, y_val=y_va)


# ------------------------------------------------------------ trusted rows
def _texts(n_per_class=80, n_classes=3, noise=0.3, seed=0):
    """Short texts of random words: each class has its own words, plus shared ones.

    Returns the texts, the clean and the noisy labels (uniform noise on the
    rows that are not trusted) and the trusted mask (every fourth row).
    """
    rng = np.random.default_rng(seed)
    shared = [f"common{j}" for j in range(40)]
    own = [[f"c{k}word{j}" for j in range(25)] for k in range(n_classes)]
    y = np.repeat(np.arange(n_classes), n_per_class)
    texts = [
        " ".join(
            [
                *rng.choice(own[k], 5),
                *rng.choice(own[(k + 1) % n_classes], 2),
                *rng.choice(shared, 6),
            ]
        )
        for k in y
    ]
    trusted = np.arange(len(y)) % 4 == 0
    y_noisy = make_label_noise(y, noise, random_state=seed) if noise else y.copy()
    y_noisy = np.where(trusted, y, y_noisy)
    return np.array(texts, dtype=object), y, y_noisy, trusted


def test_trusted_mask_through_an_imblearn_pipeline_equals_X_val_by_hand():
    pipeline = pytest.importorskip("imblearn.pipeline")
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts, _, y_noisy, trusted = _texts()
    # fallback=False: the equivalence is about the data RDIA receives, and a
    # fallback warning would break the no-warning requirement by design.
    # train_on_trusted=False makes the trusted rows play exactly the part of
    # X_val (never trained on), so the two runs must agree row for row.
    step = RDIARelabeler(random_state=0, fallback=False, train_on_trusted=False)
    grid = {"rdiarelabeler__alpha": ["auto", 0.002]}
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = pipeline.make_pipeline(
            TfidfVectorizer(),
            step.set_fit_resample_request(trusted=True),
            LogisticRegression(),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            search = GridSearchCV(
                pipe, grid, scoring=trusted_scorer("neg_log_loss"), cv=3
            ).fit(texts, y_noisy, trusted=trusted)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    best = search.best_estimator_
    rdia = best.named_steps["rdiarelabeler"]
    assert rdia.validation_mask_.sum() == trusted.sum()
    # By hand: the vectoriser's features, the trusted rows as X_val.
    Xt = best[0].transform(texts)
    alpha = search.best_params_["rdiarelabeler__alpha"]
    noisy = ~trusted
    ref = RDIARelabeler(random_state=0, fallback=False, alpha=alpha)
    X_res, y_res = ref.fit_resample(
        Xt[noisy], y_noisy[noisy], X_val=Xt[trusted], y_val=y_noisy[trusted]
    )
    np.testing.assert_array_equal(rdia.y_relabeled_[noisy], y_res)
    np.testing.assert_array_equal(rdia.sample_indices_, np.flatnonzero(noisy))
    scale = np.abs(ref.influence_).max()
    np.testing.assert_allclose(
        rdia.influence_[noisy], ref.influence_, rtol=1e-6, atol=1e-6 * scale
    )
    assert rdia.alpha_ == pytest.approx(ref.alpha_)
    final = LogisticRegression().fit(X_res, y_res)
    np.testing.assert_array_equal(best.predict(texts), final.predict(Xt))
    if alpha == "auto":
        assert rdia.n_relabeled_ > 0


def test_train_on_trusted_decides_the_rows_of_the_refit_and_the_output():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)[:300]
    y_clean = y[:300]
    trusted = np.arange(300) % 3 == 0
    y_noisy = np.where(trusted, y_clean, make_label_noise(y_clean, 0.3, random_state=0))
    rdia = RDIARelabeler(alpha=0.0, fallback=False).fit(X, y_noisy, trusted=trusted)
    X_res, y_res = RDIARelabeler(alpha=0.0, fallback=False).fit_resample(
        X, y_noisy, trusted=trusted
    )
    assert X_res is X and rdia.n_relabeled_ > 0
    # Trusted rows are never relabelled; they keep their labels in the output.
    assert not rdia.relabeled_mask_[trusted].any()
    np.testing.assert_array_equal(y_res[trusted], y_noisy[trusted])
    np.testing.assert_array_equal(y_res, rdia.y_relabeled_)
    assert np.all(np.isnan(rdia.noise_score_[trusted]))
    assert np.all(np.isfinite(rdia.noise_score_[~trusted]))
    # The initial model learns from the noisy rows only, the final from all.
    initial = LogisticRegression(max_iter=1000).fit(X[~trusted], y_noisy[~trusted])
    np.testing.assert_allclose(
        rdia.initial_estimator_.coef_, initial.coef_, rtol=1e-6, atol=1e-8
    )
    final = LogisticRegression(max_iter=1000).fit(X, y_res)
    np.testing.assert_allclose(rdia.estimator_.coef_, final.coef_, rtol=1e-6)
    # Opting out: the trusted rows leave the refit and the sampler's output.
    out = RDIARelabeler(alpha=0.0, fallback=False, train_on_trusted=False)
    X_out, y_out = out.fit_resample(X, y_noisy, trusted=trusted)
    np.testing.assert_array_equal(out.sample_indices_, np.flatnonzero(~trusted))
    np.testing.assert_array_equal(X_out, X[~trusted])
    np.testing.assert_array_equal(y_out, y_res[~trusted])
    refit = LogisticRegression(max_iter=1000).fit(X_out, y_out)
    np.testing.assert_allclose(out.estimator_.coef_, refit.coef_, rtol=1e-6)


def test_fallback_returns_the_plain_model_when_relabelling_hurts():
    # Clean labels everywhere and alpha=0, which relabels every sample
    # predicted to be harmful: the trusted rows show the damage.
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    trusted = np.arange(len(y)) % 4 == 0
    rdia = RDIARelabeler(alpha=0.0, random_state=0)
    with pytest.warns(CorrectionFallbackWarning, match="held-out trusted rows"):
        rdia.fit(X, y, trusted=trusted)
    assert rdia.fallback_ is True
    assert rdia.harm_check_.harmful
    assert rdia.harm_check_.n_held_out == trusted.sum()
    assert rdia.harm_check_.corrected_accuracy < rdia.harm_check_.plain_accuracy
    assert rdia.n_relabeled_ == 0
    np.testing.assert_array_equal(rdia.y_relabeled_, y)
    assert np.isfinite(rdia.noise_score_[~trusted]).all()
    # The plain base model fitted on the same rows (noisy + trusted).
    plain = LogisticRegression(max_iter=1000).fit(X, y)
    np.testing.assert_array_equal(rdia.predict(X), plain.predict(X))
    np.testing.assert_allclose(rdia.predict_proba(X), plain.predict_proba(X))
    # As a sampler it returns the data unchanged.
    with pytest.warns(CorrectionFallbackWarning):
        X_res, y_res = RDIARelabeler(alpha=0.0, random_state=0).fit_resample(
            X, y, trusted=trusted
        )
    assert X_res is X
    np.testing.assert_array_equal(y_res, y)
    # fallback=False keeps the relabelling, unchecked.
    kept = RDIARelabeler(alpha=0.0, fallback=False).fit(X, y, trusted=trusted)
    assert kept.fallback_ is False and kept.harm_check_ is None
    assert kept.n_relabeled_ > 0
    # Extra clean rows (X_val) are checked the same way; the plain model is
    # then the initial fit on X alone.
    with pytest.warns(CorrectionFallbackWarning):
        val = RDIARelabeler(alpha=0.0).fit(
            X[~trusted], y[~trusted], X_val=X[trusted], y_val=y[trusted]
        )
    assert val.fallback_ and val.harm_check_.n_held_out == trusted.sum()
    assert val.estimator_ is val.initial_estimator_


def test_fallback_without_enough_clean_rows_says_so():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    trusted = np.zeros(len(y), bool)
    trusted[np.r_[np.flatnonzero(y == 0)[:4], np.flatnonzero(y == 1)[:4]]] = True
    rdia = RDIARelabeler(alpha=0.0)
    with pytest.warns(UncheckedCorrectionWarning, match="fallback=False"):
        rdia.fit(X, y, trusted=trusted)
    assert rdia.fallback_ is True and rdia.harm_check_ is None
    plain = LogisticRegression(max_iter=1000).fit(X, y)
    np.testing.assert_array_equal(rdia.predict(X), plain.predict(X))
    # A hold-out of noisy rows cannot judge the relabelling either.
    held = RDIARelabeler(alpha=0.0, validation_fraction=0.3, random_state=0)
    with pytest.warns(UncheckedCorrectionWarning, match="held out"):
        with pytest.warns(UserWarning, match="No validation set given"):
            held.fit(X, y)
    assert held.fallback_ is True
    train = ~held.validation_mask_
    plain = LogisticRegression(max_iter=1000).fit(X[train], y[train])
    np.testing.assert_allclose(held.predict_proba(X), plain.predict_proba(X))


def test_alpha_auto_relabels_on_noisy_data_and_little_on_clean_data():
    texts, y, y_noisy, trusted = _texts(noise=0.3)
    from sklearn.feature_extraction.text import TfidfVectorizer

    X = TfidfVectorizer().fit_transform(texts)
    noisy = RDIARelabeler(random_state=0).fit(X, y_noisy, trusted=trusted)
    assert noisy.alpha_ > 0 and np.isfinite(noisy.alpha_)
    assert not noisy.fallback_
    assert noisy.n_relabeled_ > 0
    np.testing.assert_array_equal(
        noisy.relabeled_mask_, noisy.influence_ > noisy.alpha_
    )
    # Most relabels fix a wrong label, and fewer labels are wrong afterwards.
    fixed = noisy.y_relabeled_[noisy.relabeled_mask_] == y[noisy.relabeled_mask_]
    assert fixed.mean() > 0.7
    assert (noisy.y_relabeled_ != y).sum() < (y_noisy != y).sum()
    clean = RDIARelabeler(random_state=0).fit(X, y, trusted=trusted)
    assert clean.n_relabeled_ <= 0.02 * (~trusted).sum()


def test_bad_trusted_input_raises_and_callers_arrays_are_unmodified(cancer):
    X_tr, y_tr, X_va, y_va = cancer
    trusted = np.arange(len(y_tr)) % 3 == 0
    copies = [a.copy() for a in (X_tr, y_tr, trusted)]
    rdia = RDIARelabeler()
    with pytest.raises(ValueError, match="one entry per row of X"):
        rdia.fit(X_tr, y_tr, trusted=trusted[:-1])
    with pytest.raises(ValueError, match="boolean mask"):
        rdia.fit(X_tr, y_tr, trusted=trusted.astype(int))
    with pytest.raises(ValueError, match="not both"):
        rdia.fit(X_tr, y_tr, X_val=X_va, y_val=y_va, trusted=trusted)
    with pytest.raises(ValueError, match="'train_on_trusted' parameter"):
        RDIARelabeler(train_on_trusted="yes").fit(X_tr, y_tr, trusted=trusted)
    with pytest.raises(ValueError, match="'alpha' parameter"):
        RDIARelabeler(alpha="best").fit(X_tr, y_tr, trusted=trusted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        RDIARelabeler(random_state=0).fit_resample(X_tr, y_tr, trusted=trusted)
    for before, after in zip((X_tr, y_tr, trusted), copies, strict=True):
        np.testing.assert_array_equal(before, after)


def test_routing_requests_trusted_on_fit_and_fit_resample():
    with sklearn.config_context(enable_metadata_routing=True):
        rdia = RDIARelabeler().set_fit_request(trusted=True)
        rdia.set_fit_resample_request(trusted=True)
        routing = rdia.get_metadata_routing()
        assert routing.fit.requests["trusted"] is True
        assert routing.fit_resample.requests["trusted"] is True


# ------------------------------------------------------- issue 14, item 6
@pytest.mark.parametrize(
    "params", [{"mode": "drop"}, {"train_on_trusted": False}], ids=["drop", "trusted"]
)
def test_fit_resample_accepts_coo_when_rows_are_dropped(wine, params):
    X_tr, y_noisy, X_va, y_va = wine
    X = np.vstack([X_tr, X_va])
    y = np.concatenate([y_noisy, y_va])
    trusted = np.r_[np.zeros(len(y_noisy), bool), np.ones(len(y_va), bool)]
    X_csr, y_csr = _rdia(_tight(), **params).fit_resample(
        sparse.csr_matrix(X), y, trusted=trusted
    )
    X_coo, y_coo = _rdia(_tight(), **params).fit_resample(
        sparse.coo_matrix(X), y, trusted=trusted
    )
    assert X_coo.shape[0] < X.shape[0]  # rows were dropped
    assert sparse.issparse(X_coo)
    np.testing.assert_array_equal(X_coo.toarray(), X_csr.toarray())
    np.testing.assert_array_equal(y_coo, y_csr)


def test_two_rows_give_a_named_error_not_an_index_error():
    X, y = [[0.0], [1.0]], [0, 1]
    with pytest.raises(ValueError, match="fit received none"):
        RDIARelabeler().fit(X, y)
    # The hold-out cannot take a row from a class of one row.
    with pytest.warns(UserWarning, match="holds out"):
        with pytest.raises(ValueError, match=r"validation_fraction=0\.5 held out no"):
            RDIARelabeler(validation_fraction=0.5).fit(X, y)


def test_failed_refit_leaves_the_estimator_unfitted(wine):
    X_tr, y_noisy, X_va, y_va = wine
    rdia = _rdia(_tight()).fit(X_tr, y_noisy, X_val=X_va, y_val=y_va)
    rdia.predict(X_va)
    # A refit on new classes that fails after classes_ is set (the
    # validation rows hold a single class) must not pair the new classes_
    # with the previous model.
    y_new = y_noisy + 10
    with pytest.raises(ValueError, match="single class"):
        rdia.fit(X_tr, y_new, X_val=X_va[:1], y_val=y_new[:1])
    assert not hasattr(rdia, "classes_") and not hasattr(rdia, "estimator_")
    with pytest.raises(NotFittedError):
        rdia.predict(X_va)


# ------------------------------------------- preconditioners and parallelism
@pytest.mark.parametrize("dataset", ["cancer", "wine"])
def test_both_preconditioners_solve_for_the_same_influence(
    dataset, request, monkeypatch
):
    # Small dense data takes the Kronecker-factored preconditioner; wide
    # data the per-feature block Jacobi. Both must reach the same solution.
    from sknoisy import _rdia as rdia_module

    X_tr, y_tr, X_va, y_va = request.getfixturevalue(dataset)
    base = LogisticRegression(C=1.0, max_iter=1000)
    kronecker = _rdia(base, alpha=0.0).fit(X_tr, y_tr, X_val=X_va, y_val=y_va)
    monkeypatch.setattr(rdia_module, "_KRONECKER_MAX_ROWS", 0)
    jacobi = _rdia(base, alpha=0.0).fit(X_tr, y_tr, X_val=X_va, y_val=y_va)
    scale = np.abs(kronecker.influence_).max()
    np.testing.assert_allclose(
        jacobi.influence_, kronecker.influence_, rtol=0, atol=1e-8 * scale
    )
    np.testing.assert_array_equal(jacobi.y_relabeled_, kronecker.y_relabeled_)


def _digits_with_trusted_rows():
    X, y = load_digits(return_X_y=True)
    X, y = X[:600] / 16.0, y[:600]
    trusted = np.arange(len(y)) % 4 == 0
    y_noisy = np.where(trusted, y, make_label_noise(y, 0.3, random_state=0))
    return X, y_noisy, trusted


def _assert_same_fit(result, serial):
    scale = np.nanmax(np.abs(serial.noise_score_))
    np.testing.assert_allclose(
        result.noise_score_, serial.noise_score_, rtol=0, atol=1e-7 * scale
    )
    np.testing.assert_array_equal(result.relabeled_indices_, serial.relabeled_indices_)
    np.testing.assert_array_equal(result.y_relabeled_, serial.y_relabeled_)
    assert result.alpha_ == pytest.approx(serial.alpha_, rel=1e-6, abs=1e-12)
    assert result.fallback_ == serial.fallback_


def test_n_jobs_runs_the_row_blocks_in_parallel_with_the_serial_result(
    cancer, monkeypatch
):
    from sknoisy.utils import _parallel

    calls = []

    class CountingParallel(_parallel.Parallel):
        def __call__(self, iterable):
            calls.append(self.n_jobs)
            return super().__call__(iterable)

    monkeypatch.setattr(_parallel, "Parallel", CountingParallel)
    # Multi-class at the defaults: the folds' solves, the screening of every
    # candidate share, the refits and the harm check.
    X, y_noisy, trusted = _digits_with_trusted_rows()
    serial = RDIARelabeler(random_state=0).fit(X, y_noisy, trusted=trusted)
    assert not calls  # n_jobs=None outside a joblib context: no joblib at all
    parallel = RDIARelabeler(random_state=0, n_jobs=2).fit(X, y_noisy, trusted=trusted)
    assert calls and set(calls) == {2}
    assert serial.n_relabeled_ > 0
    _assert_same_fit(parallel, serial)
    # Binary, sparse, the paper's single solve.
    X_tr, y_tr, X_va, y_va = cancer
    X_tr, X_va = sparse.csr_matrix(X_tr), sparse.csr_matrix(X_va)
    serial = _rdia().fit(X_tr, y_tr, X_val=X_va, y_val=y_va)
    parallel = _rdia(n_jobs=2).fit(X_tr, y_tr, X_val=X_va, y_val=y_va)
    _assert_same_fit(parallel, serial)


def test_dask_backend_spreads_the_row_blocks_with_the_serial_result():
    distributed = pytest.importorskip("dask.distributed")
    import joblib

    X, y_noisy, trusted = _digits_with_trusted_rows()
    serial = RDIARelabeler(random_state=0).fit(X, y_noisy, trusted=trusted)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
        distributed.get_task_stream(client) as tasks,
        joblib.parallel_backend("dask"),
    ):
        spread = RDIARelabeler(random_state=0).fit(X, y_noisy, trusted=trusted)
    # The row blocks ran as tasks on both of the cluster's workers.
    assert len({task["worker"] for task in tasks.data}) == 2
    _assert_same_fit(spread, serial)
