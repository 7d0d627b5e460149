import warnings

import numpy as np
import pytest
import sklearn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknoisy.model_selection import (
    HarmCheck,
    TrustedStratifiedKFold,
    compare_held_out,
    compare_on_trusted,
    trusted_folds,
    trusted_scorer,
)
from sknoisy.utils._validation import check_trusted, resolve_clean_data


@pytest.fixture
def iris():
    X, y = load_iris(return_X_y=True)
    trusted = np.zeros(len(y), dtype=bool)
    trusted[::3] = True
    return X, y, trusted


# ------------------------------------------------------------ check_trusted
def test_check_trusted_returns_a_copy_and_all_false_for_none():
    mask = np.array([True, False, True])
    out = check_trusted(mask, 3)
    out[0] = False
    assert mask[0]
    assert not check_trusted(None, 4).any()
    assert check_trusted(mask[:, None], 3).shape == (3,)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.array([1, 0, 1]), "dtype"),
        (np.array([True, False]), "one entry per row"),
        (np.ones((3, 2), dtype=bool), "one entry per row"),
        (np.array([0.5, 1.0, np.nan]), "dtype"),
    ],
)
def test_check_trusted_names_the_parameter(bad, message):
    with pytest.raises(ValueError, match=message) as info:
        check_trusted(bad, 3)
    assert "trusted" in str(info.value)


class _Fitted:
    n_features_in_ = 2
    classes_ = np.array([0, 1])


def test_resolve_clean_data_sources():
    X = np.arange(12.0).reshape(6, 2)
    y = np.array([0, 1, 0, 1, 0, 1])
    mask = np.array([True, True, False, False, False, False])
    clean = resolve_clean_data(_Fitted(), X, y, mask, None, None)
    assert clean.source == "trusted" and clean.n_clean == 2
    np.testing.assert_array_equal(clean.X, X[:2])
    np.testing.assert_array_equal(clean.y, y[:2])
    clean = resolve_clean_data(_Fitted(), X, y, None, X[:3], y[:3])
    assert clean.source == "X_val" and not clean.trusted.any()
    clean = resolve_clean_data(_Fitted(), X, y, None, None, None)
    assert clean.source is None and clean.n_clean == 0
    with pytest.raises(ValueError, match="not both"):
        resolve_clean_data(_Fitted(), X, y, mask, X[:3], y[:3])


# ------------------------------------------------------------ trusted_scorer
def test_trusted_scorer_scores_only_trusted_rows(iris):
    X, y, trusted = iris
    model = LogisticRegression(max_iter=1000).fit(X, y)
    y_wrong = y.copy()
    y_wrong[~trusted] = (y[~trusted] + 1) % 3  # untrusted labels all wrong
    score = trusted_scorer("accuracy")(model, X, y_wrong, trusted=trusted)
    assert score == pytest.approx(accuracy_score(y[trusted], model.predict(X[trusted])))


def test_trusted_scorer_log_loss_with_a_missing_class(iris):
    X, y, _ = iris
    model = LogisticRegression(max_iter=1000).fit(X, y)
    only_two = np.isin(np.arange(len(y)), np.flatnonzero(y < 2)[::5])
    score = trusted_scorer()(model, X, y, trusted=only_two)
    expected = -log_loss(
        y[only_two], model.predict_proba(X[only_two]), labels=model.classes_
    )
    assert score == pytest.approx(expected)


def test_trusted_scorer_without_mask_says_how_to_fix(iris):
    X, y, _ = iris
    model = LogisticRegression(max_iter=1000).fit(X, y)
    with pytest.raises(ValueError, match="enable_metadata_routing"):
        trusted_scorer()(model, X, y)
    with pytest.raises(ValueError, match="no trusted row"):
        trusted_scorer()(model, X, y, trusted=np.zeros(len(y), dtype=bool))


def test_trusted_scorer_in_grid_search_with_routing(iris):
    X, y, trusted = iris
    y_noisy = y.copy()
    y_noisy[~trusted & (np.arange(len(y)) % 2 == 0)] = 0
    with sklearn.config_context(enable_metadata_routing=True):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            search = GridSearchCV(
                make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
                {"logisticregression__C": [0.01, 1.0]},
                scoring=trusted_scorer("accuracy"),
                cv=3,
            ).fit(X, y_noisy, trusted=trusted)
    # Recompute one candidate's score by hand: trusted rows of each test fold.
    from sklearn.model_selection import StratifiedKFold

    scores = []
    for train, test in StratifiedKFold(3).split(X, y_noisy):
        model = make_pipeline(
            StandardScaler(), LogisticRegression(C=0.01, max_iter=1000)
        )
        model.fit(X[train], y_noisy[train])
        rows = test[trusted[test]]
        scores.append(accuracy_score(y_noisy[rows], model.predict(X[rows])))
    assert search.cv_results_["mean_test_score"][0] == pytest.approx(np.mean(scores))


def test_trusted_scorer_without_routing_is_an_error_not_a_noisy_score(iris):
    X, y, _ = iris
    search = GridSearchCV(
        LogisticRegression(max_iter=1000),
        {"C": [1.0]},
        scoring=trusted_scorer(),
        cv=3,
        error_score="raise",
    )
    with pytest.raises(ValueError, match="enable_metadata_routing"):
        search.fit(X, y)


# ------------------------------------------------------------ trusted folds
def test_trusted_folds_partition_the_trusted_rows(iris):
    _, y, trusted = iris
    folds = trusted_folds(trusted, y, n_splits=2, random_state=0)
    assert len(folds) == 2
    total = np.sum(folds, axis=0)
    np.testing.assert_array_equal(total, trusted.astype(int))
    for fold in folds:  # stratified: every class in every fold
        assert set(y[fold]) == {0, 1, 2}


def test_trusted_folds_fall_back_to_plain_kfold_for_rare_classes():
    y = np.array([0] * 10 + [1])
    trusted = np.ones(11, dtype=bool)
    folds = trusted_folds(trusted, y, n_splits=2, random_state=0)
    np.testing.assert_array_equal(np.sum(folds, axis=0), np.ones(11))


# ------------------------------------------------------- compare_on_trusted
def _fit_fold_from(proba_corrected, proba_plain, calls):
    def fit_fold(fit_rows, trusted_fit, test_rows):
        calls.append((fit_rows, trusted_fit, test_rows))
        return proba_corrected[test_rows], proba_plain[test_rows]

    return fit_fold


def test_compare_on_trusted_never_scores_a_row_the_models_saw(iris):
    _, y, trusted = iris
    n = len(y)
    good = np.eye(3)[y] * 0.8 + 0.2 / 3
    bad = np.roll(good, 1, axis=1)
    calls = []
    check = compare_on_trusted(
        _fit_fold_from(good, bad, calls), trusted, y, random_state=0
    )
    assert isinstance(check, HarmCheck)
    assert not check.harmful and check.n_held_out == trusted.sum()
    assert check.corrected_accuracy == 1.0 and check.plain_accuracy == 0.0
    held = []
    for fit_rows, trusted_fit, test_rows in calls:
        assert not np.intersect1d(fit_rows, test_rows).size
        assert len(fit_rows) + len(test_rows) == n
        np.testing.assert_array_equal(trusted_fit, trusted[fit_rows])
        held.append(test_rows)
    held = np.sort(np.concatenate(held))
    np.testing.assert_array_equal(held, np.flatnonzero(trusted))
    # Swapped, the correction is harmful.
    assert compare_on_trusted(
        _fit_fold_from(bad, good, []), trusted, y, random_state=0
    ).harmful


def test_compare_on_trusted_breaks_exact_ties_by_log_loss(iris):
    _, y, trusted = iris
    sharp = np.eye(3)[y] * 0.97 + 0.01
    soft = np.eye(3)[y] * 0.4 + 0.2
    assert compare_on_trusted(
        _fit_fold_from(soft, sharp, []), trusted, y, random_state=0
    ).harmful
    check = compare_on_trusted(_fit_fold_from(sharp, soft, []), trusted, y)
    assert not check.harmful and check.n_better == check.n_worse == 0
    assert "held-out trusted rows" in check.describe()


# --------------------------------------------------------- compare_held_out
def test_compare_held_out_uses_enough_trusted_rows_like_compare_on_trusted(iris):
    _, y, trusted = iris
    good = np.eye(3)[y] * 0.8 + 0.2 / 3
    bad = np.roll(good, 1, axis=1)
    check = compare_held_out(_fit_fold_from(good, bad, []), trusted, y, random_state=0)
    expected = compare_on_trusted(
        _fit_fold_from(good, bad, []), trusted, y, random_state=0
    )
    assert check == expected and check.labels == "trusted"


def test_compare_held_out_without_trusted_rows_scores_every_row_once(iris):
    _, y, _ = iris
    n = len(y)
    few = np.zeros(n, dtype=bool)
    few[:4] = True
    good = np.eye(3)[y] * 0.8 + 0.2 / 3
    bad = np.roll(good, 1, axis=1)
    calls = []
    check = compare_held_out(_fit_fold_from(good, bad, calls), few, y, random_state=0)
    assert check.labels == "noisy" and check.n_held_out == n
    assert not check.harmful and "rows (given labels)" in check.describe()
    held = []
    for fit_rows, trusted_fit, test_rows in calls:
        assert not np.intersect1d(fit_rows, test_rows).size
        np.testing.assert_array_equal(trusted_fit, few[fit_rows])
        held.append(test_rows)
    np.testing.assert_array_equal(np.sort(np.concatenate(held)), np.arange(n))
    assert compare_held_out(_fit_fold_from(bad, good, []), few, y).harmful


def test_compare_held_out_ranks_models_by_accuracy_under_uniform_noise():
    # Two models scored against labels of which 40 % are flipped uniformly:
    # the more accurate one (90 % vs 80 % right) must win, and the check
    # must not prefer the less accurate one.
    rng = np.random.default_rng(0)
    n, k = 3000, 10
    y = rng.integers(k, size=n)
    flip = rng.random(n) < 0.4
    y_noisy = np.where(flip, (y + rng.integers(1, k, size=n)) % k, y)

    def predictions(accuracy):
        right = rng.random(n) < accuracy
        pred = np.where(right, y, (y + rng.integers(1, k, size=n)) % k)
        return np.eye(k)[pred] * 0.9 + 0.01

    better, worse = predictions(0.9), predictions(0.8)
    no_trusted = np.zeros(n, dtype=bool)
    check = compare_held_out(_fit_fold_from(better, worse, []), no_trusted, y_noisy)
    assert not check.harmful
    assert compare_held_out(
        _fit_fold_from(worse, better, []), no_trusted, y_noisy
    ).harmful


def test_compare_held_out_returns_none_when_too_few_rows():
    y = np.array([0, 1] * 9)  # 18 rows: fewer than 2 folds x 10
    none = np.zeros(len(y), dtype=bool)
    assert compare_held_out(_fit_fold_from(None, None, []), none, y) is None
    y = np.array([0] * 30 + [1])  # a class with a single row
    none = np.zeros(len(y), dtype=bool)
    assert compare_held_out(_fit_fold_from(None, None, []), none, y) is None


@pytest.mark.parametrize(
    "n_better, n_worse, harmful",
    [
        (1, 0, False),  # 1 >= sqrt(1)
        (3, 0, False),
        (2, 1, True),  # 1 < sqrt(3): a win by one row of three is noise
        (5, 2, False),  # 3 >= sqrt(7)
        (6, 4, True),  # 2 < sqrt(10)
        (0, 1, True),
    ],
)
def test_compare_on_trusted_keeps_a_correction_only_if_it_wins_clearly(
    n_better, n_worse, harmful
):
    n = 40
    y = np.zeros(n, dtype=int)
    y[::2] = 1
    trusted = np.ones(n, dtype=bool)
    right = np.eye(2)[y] * 0.9 + 0.05
    wrong = right[:, ::-1]
    corrected, plain = right.copy(), right.copy()
    corrected[:n_worse] = wrong[:n_worse]
    plain[n_worse : n_worse + n_better] = wrong[n_worse : n_worse + n_better]
    check = compare_on_trusted(
        _fit_fold_from(corrected, plain, []), trusted, y, random_state=0
    )
    assert (check.n_better, check.n_worse) == (n_better, n_worse)
    assert check.harmful is harmful
    assert check.corrected_accuracy == pytest.approx(1 - n_worse / n)


# ------------------------------------------------------ TrustedStratifiedKFold
def test_trusted_stratified_kfold_spreads_clustered_trusted_rows():
    y = np.array([0, 1, 2] * 40)
    trusted = np.arange(len(y)) >= 90  # a validation split appended at the end
    cv = TrustedStratifiedKFold(n_splits=5)
    counts = [int(trusted[test].sum()) for _, test in cv.split(y, y, trusted=trusted)]
    assert counts == [6] * 5
    # A plain StratifiedKFold leaves most test folds without a trusted row.
    from sklearn.model_selection import StratifiedKFold

    plain = [int(trusted[t].sum()) for _, t in StratifiedKFold(5).split(y, y)]
    assert plain.count(0) >= 3
    assert cv.get_n_splits(y, y, trusted=trusted) == 5
    with pytest.raises(ValueError, match="no trusted mask"):
        next(cv.split(y, y))


def test_trusted_stratified_kfold_pools_rare_strata():
    y = np.array([0] * 20 + [1] * 20)
    trusted = np.zeros(40, dtype=bool)
    trusted[[0, 25]] = True  # one trusted row per class: rarer than the folds
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        folds = list(TrustedStratifiedKFold(2).split(y, y, trusted=trusted))
    assert sorted(int(trusted[test].sum()) for _, test in folds) == [1, 1]


def test_search_with_trusted_folds_scores_every_fold(iris):
    X, y, _ = iris
    trusted = np.arange(len(y)) >= 120  # clustered at the end
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
            {"logisticregression__C": [0.1, 1.0]},
            scoring=trusted_scorer("accuracy"),
            cv=TrustedStratifiedKFold(3),
        ).fit(X, y, trusted=trusted)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
