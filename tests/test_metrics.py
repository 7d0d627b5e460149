"""Tests for sknoisy.metrics."""

import warnings

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, roc_auc_score

from sknoisy.metrics import (
    correction_precision,
    label_noise_rate,
    noise_detection_auc,
    noise_detection_scores,
    noise_transition_matrix,
)
from sknoisy.noise import make_label_noise


@pytest.fixture(autouse=True)
def _no_warnings():
    """Every metric must run without warnings (0/0 cases included)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# --------------------------------------------------------------------------
# label_noise_rate
# --------------------------------------------------------------------------


def test_label_noise_rate_hand_example():
    assert label_noise_rate([0, 1, 2, 2], [0, 2, 2, 1]) == 0.5
    assert label_noise_rate(["a", "b", "c"], ["a", "b", "a"]) == pytest.approx(1 / 3)
    assert label_noise_rate([1, 2], [1, 2]) == 0.0
    assert label_noise_rate([1, 2], [2, 1]) == 1.0


def test_label_noise_rate_types():
    y_obj = np.array(["cat", "dog", "emu", "cat"], dtype=object)
    assert label_noise_rate(y_obj, ["cat", "dog", "cat", "cat"]) == 0.25
    # Strings of different widths compare by value.
    assert label_noise_rate(np.array(["a", "b"]), np.array(["a", "bbbb"])) == 0.5
    assert isinstance(label_noise_rate([0, 1], [0, 1]), float)


def test_label_noise_rate_matches_make_label_noise():
    y = np.arange(1000) % 7
    y_noisy = make_label_noise(y, 0.37, random_state=0)
    assert label_noise_rate(y, y_noisy) == 0.37


def test_label_noise_rate_pandas():
    pd = pytest.importorskip("pandas")
    y_true = pd.Series([0, 1, 2, 3], index=[10, 11, 12, 13])
    y_noisy = pd.Series([0, 1, 0, 0])  # different index: positions count
    assert label_noise_rate(y_true, y_noisy) == 0.5


@pytest.mark.parametrize(
    "y_true, y_noisy, match",
    [
        ([0, 1, 2], [0, 1], "y_true and y_noisy must have the same length"),
        ([[0, 1]], [[0, 1]], "y_true must be a 1-D"),
        ([0, 1], [[0, 1]], "y_noisy must be a 1-D"),
        ([], [], "must not be empty"),
        ([0, 1], ["0", "1"], "mix string and numeric"),
        ([0.0, np.nan], [0.0, 1.0], "y_true contains missing"),
        ([0.0, 1.0], [0.0, np.nan], "y_noisy contains missing"),
    ],
)
def test_label_noise_rate_errors(y_true, y_noisy, match):
    with pytest.raises(ValueError, match=match):
        label_noise_rate(y_true, y_noisy)


# --------------------------------------------------------------------------
# noise_transition_matrix
# --------------------------------------------------------------------------

Y_TRUE = ["a", "a", "a", "a", "b", "b"]
Y_NOISY = ["a", "a", "a", "b", "b", "a"]


def test_transition_matrix_hand_example():
    np.testing.assert_array_equal(
        noise_transition_matrix(Y_TRUE, Y_NOISY), [[0.75, 0.25], [0.5, 0.5]]
    )
    counts = noise_transition_matrix(Y_TRUE, Y_NOISY, normalize=False)
    np.testing.assert_array_equal(counts, [[3, 1], [1, 1]])
    assert counts.dtype.kind == "i"


def test_transition_matrix_labels_order_and_empty_rows():
    result = noise_transition_matrix(Y_TRUE, Y_NOISY, labels=["b", "a", "c"])
    np.testing.assert_array_equal(
        result, [[0.5, 0.5, 0.0], [0.25, 0.75, 0.0], [0.0, 0.0, 0.0]]
    )


def test_transition_matrix_label_only_in_noisy():
    # Class 2 appears only among the noisy labels: its row is zero, its
    # column is not.
    result = noise_transition_matrix([0, 1, 1], [2, 1, 1])
    np.testing.assert_array_equal(result, [[0, 0, 1], [0, 1, 0], [0, 0, 0]])


def test_transition_matrix_ignores_labels_not_listed():
    result = noise_transition_matrix([0, 1, 2, 0], [0, 2, 1, 1], labels=[0, 1])
    np.testing.assert_array_equal(result, [[0.5, 0.5], [0.0, 0.0]])
    counts = noise_transition_matrix(
        [0, 1, 2, 0], [0, 2, 1, 1], labels=[0, 1], normalize=False
    )
    np.testing.assert_array_equal(counts, [[1, 1], [0, 0]])


def test_transition_matrix_empty_input_with_labels():
    result = noise_transition_matrix([], [], labels=[0, 1])
    np.testing.assert_array_equal(result, np.zeros((2, 2)))


def test_transition_matrix_agrees_with_confusion_matrix():
    rng = np.random.RandomState(0)
    y_true = rng.randint(5, size=300)
    y_noisy = rng.randint(5, size=300)
    counts = noise_transition_matrix(y_true, y_noisy, normalize=False)
    np.testing.assert_array_equal(counts, confusion_matrix(y_true, y_noisy))
    rows = noise_transition_matrix(y_true, y_noisy)
    np.testing.assert_allclose(rows.sum(axis=1), 1.0)
    np.testing.assert_allclose(
        rows, confusion_matrix(y_true, y_noisy, normalize="true")
    )


def test_transition_matrix_recovers_pair_noise():
    y = np.repeat(np.arange(3), 100)
    y_noisy = make_label_noise(y, kind="pair", noise_rate=0.0, random_state=0)
    np.testing.assert_array_equal(noise_transition_matrix(y, y_noisy), np.eye(3))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"labels": []}, "labels must contain at least one"),
        ({"labels": ["a", "a"]}, "labels must not contain duplicate"),
        ({"labels": [["a", "b"]]}, "labels must be a 1-D"),
        ({"labels": [0, 1]}, "mix string and numeric"),
    ],
)
def test_transition_matrix_label_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        noise_transition_matrix(Y_TRUE, Y_NOISY, **kwargs)


@pytest.mark.parametrize(
    "y_true, y_noisy, match",
    [
        ([0, 1], [0], "y_true and y_noisy must have the same length"),
        ([], [], "y_true and y_noisy are empty"),
        ([0, 1], ["a", "b"], "mix string and numeric"),
        (
            np.array([0, "a"], dtype=object),
            np.array([0, 0], dtype=object),
            "mixed types",
        ),
    ],
)
def test_transition_matrix_errors(y_true, y_noisy, match):
    with pytest.raises(ValueError, match=match):
        noise_transition_matrix(y_true, y_noisy)


# --------------------------------------------------------------------------
# noise_detection_scores
# --------------------------------------------------------------------------

# Mislabelled: samples 1, 3 and 5.
DET_TRUE = [0, 0, 1, 1, 2, 2]
DET_NOISY = [0, 1, 1, 0, 2, 0]


def test_detection_scores_hand_example():
    # Flag 1, 2, 3: two hits (1, 3), one false alarm (2), one miss (5).
    scores = noise_detection_scores(DET_TRUE, DET_NOISY, [1, 2, 3])
    assert scores == {
        "precision": pytest.approx(2 / 3),
        "recall": pytest.approx(2 / 3),
        "f1": pytest.approx(2 / 3),
        "n_flagged": 3,
        "n_mislabeled": 3,
    }
    # Flag only 1: precision 1, recall 1/3, F1 = 2 * (1/3) / (4/3) = 1/2.
    scores = noise_detection_scores(DET_TRUE, DET_NOISY, [1])
    assert scores["precision"] == 1.0
    assert scores["recall"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx(0.5)


def test_detection_scores_mask_equals_indices():
    mask = np.array([False, True, True, True, False, False])
    by_mask = noise_detection_scores(DET_TRUE, DET_NOISY, mask)
    by_index = noise_detection_scores(DET_TRUE, DET_NOISY, np.flatnonzero(mask))
    by_dupes = noise_detection_scores(DET_TRUE, DET_NOISY, [3, 1, 2, 1])
    assert by_mask == by_index == by_dupes


def test_detection_scores_string_labels():
    scores = noise_detection_scores(
        ["cat", "dog", "dog"], ["cat", "cat", "dog"], [True, True, False]
    )
    assert scores["precision"] == 0.5
    assert scores["recall"] == 1.0


@pytest.mark.parametrize(
    "y_noisy, flagged, expected",
    [
        # nothing flagged: 0/0 precision
        (DET_NOISY, [], (0.0, 0.0, 0.0)),
        (DET_NOISY, np.zeros(6, dtype=bool), (0.0, 0.0, 0.0)),
        # no mislabelled samples: 0/0 recall
        (DET_TRUE, [0, 1], (0.0, 0.0, 0.0)),
        (DET_TRUE, [], (0.0, 0.0, 0.0)),
        # everything flagged
        (DET_NOISY, np.ones(6, dtype=bool), (0.5, 1.0, 2 / 3)),
    ],
)
def test_detection_scores_edge_cases(y_noisy, flagged, expected):
    scores = noise_detection_scores(DET_TRUE, y_noisy, flagged)
    got = (scores["precision"], scores["recall"], scores["f1"])
    assert got == pytest.approx(expected)
    assert all(isinstance(v, float) for v in got)


@pytest.mark.parametrize(
    "flagged, match",
    [
        ([0.0, 1.0], "flagged must be a boolean mask or an array of integer"),
        (["1"], "flagged must be a boolean mask or an array of integer"),
        ([6], r"flagged indices must be in \[0, 6\)"),
        ([-1], r"flagged indices must be in \[0, 6\)"),
        ([True, False], "flagged is a boolean mask of length 2"),
        ([[0, 1]], "flagged must be a 1-D"),
    ],
)
def test_detection_scores_flagged_errors(flagged, match):
    with pytest.raises(ValueError, match=match):
        noise_detection_scores(DET_TRUE, DET_NOISY, flagged)


def test_detection_scores_label_errors():
    with pytest.raises(ValueError, match="y_true and y_noisy must have the same"):
        noise_detection_scores([0, 1], [0, 1, 1], [0])
    with pytest.raises(ValueError, match="y_noisy must be a 1-D"):
        noise_detection_scores([0, 1], [[0, 1]], [0])


# --------------------------------------------------------------------------
# noise_detection_auc
# --------------------------------------------------------------------------


def test_detection_auc_hand_example():
    # Mislabelled: 1 (score 0.9) and 3 (0.3); clean: 0 (0.1) and 2 (0.4).
    # Pairs (mislabelled > clean): 0.9>0.1, 0.9>0.4, 0.3>0.1, 0.3<0.4 → 3/4.
    auc = noise_detection_auc([0, 0, 1, 1], [0, 1, 1, 0], [0.1, 0.9, 0.4, 0.3])
    assert auc == 0.75
    assert isinstance(auc, float)


def test_detection_auc_perfect_reversed_and_ties():
    y_true = ["a", "b", "a", "b"]
    y_noisy = ["b", "b", "a", "a"]  # mislabelled: 0 and 3
    assert noise_detection_auc(y_true, y_noisy, [5, 1, 2, 3]) == 1.0
    assert noise_detection_auc(y_true, y_noisy, [-5, 1, 2, -3]) == 0.0
    assert noise_detection_auc(y_true, y_noisy, [1, 1, 1, 1]) == 0.5


def test_detection_auc_matches_sklearn():
    rng = np.random.RandomState(0)
    y = rng.randint(3, size=200)
    y_noisy = make_label_noise(y, 0.3, random_state=0)
    scores = rng.normal(size=200) + (y != y_noisy)
    expected = roc_auc_score(y != y_noisy, scores)
    assert noise_detection_auc(y, y_noisy, scores) == pytest.approx(expected)


@pytest.mark.parametrize(
    "y_noisy, scores, match",
    [
        ([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4], "none of the 4 samples are mislabel"),
        ([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4], "all of the 4 samples are mislabel"),
        ([0, 1, 1, 0], [0.1, 0.2, 0.3], "scores must have one entry per sample"),
        ([0, 1, 1, 0], [[0.1, 0.2, 0.3, 0.4]], "scores must be 1-D"),
        ([0, 1, 1, 0], [0.1, np.nan, 0.3, 0.4], "scores contains NaN"),
        ([0, 1, 1, 0], [0.1, np.inf, 0.3, 0.4], "scores contains NaN or infinite"),
        ([0, 1, 1, 0], ["a", "b", "c", "d"], "scores must be an array of real"),
        ([0, 1, 1], [0.1, 0.2, 0.3], "y_true and y_noisy must have the same"),
    ],
)
def test_detection_auc_errors(y_noisy, scores, match):
    with pytest.raises(ValueError, match=match):
        noise_detection_auc([0, 0, 1, 1], y_noisy, scores)


# --------------------------------------------------------------------------
# correction_precision
# --------------------------------------------------------------------------


def test_correction_precision_hand_example():
    y_true = [0, 0, 1, 1, 2, 2]
    y_before = [0, 1, 1, 0, 2, 0]  # wrong: 1, 3, 5
    y_after = [0, 0, 2, 0, 2, 2]  # changed: 1 (fixed), 2 (broken), 5 (fixed)
    assert correction_precision(y_true, y_before, y_after) == {
        "precision": pytest.approx(2 / 3),
        "recall": pytest.approx(2 / 3),
        "n_changed": 3,
        "n_fixed": 2,
    }


def test_correction_precision_wrong_to_wrong():
    # A change from one wrong label to another wrong label is not a fix.
    result = correction_precision(["a", "a"], ["b", "b"], ["c", "a"])
    assert result == {"precision": 0.5, "recall": 0.5, "n_changed": 2, "n_fixed": 1}


def test_correction_precision_perfect():
    y_true = np.array(["x", "y", "z", "x"], dtype=object)
    y_before = np.array(["y", "y", "x", "x"], dtype=object)
    result = correction_precision(y_true, y_before, y_true)
    assert result == {"precision": 1.0, "recall": 1.0, "n_changed": 2, "n_fixed": 2}


@pytest.mark.parametrize(
    "y_before, y_after, expected",
    [
        # nothing changed: 0/0 precision
        ([0, 1, 1], [0, 1, 1], (0.0, 0.0, 0)),
        # nothing wrong before: 0/0 recall; the change breaks a label
        ([0, 1, 2], [0, 1, 0], (0.0, 0.0, 1)),
        # nothing wrong and nothing changed
        ([0, 1, 2], [0, 1, 2], (0.0, 0.0, 0)),
    ],
)
def test_correction_precision_edge_cases(y_before, y_after, expected):
    result = correction_precision([0, 1, 2], y_before, y_after)
    assert (result["precision"], result["recall"], result["n_changed"]) == expected
    assert isinstance(result["precision"], float)
    assert isinstance(result["n_changed"], int)


def test_correction_precision_empty():
    assert correction_precision([], [], []) == {
        "precision": 0.0,
        "recall": 0.0,
        "n_changed": 0,
        "n_fixed": 0,
    }


@pytest.mark.parametrize(
    "args, match",
    [
        (([0, 1], [0, 1], [0]), "y_before and y_after must have the same length"),
        (([0], [0, 1], [0, 1]), "y_true, y_before and y_after must have the same"),
        (([[0, 1]], [0, 1], [0, 1]), "y_true must be a 1-D"),
        (([0, 1], [0, 1], [[0, 1]]), "y_after must be a 1-D"),
        (([0, 1], ["0", "1"], ["0", "1"]), "y_true and y_before mix string"),
        (([0.0, 1.0], [0.0, 1.0], [np.nan, 1.0]), "y_after contains missing"),
    ],
)
def test_correction_precision_errors(args, match):
    with pytest.raises(ValueError, match=match):
        correction_precision(*args)
