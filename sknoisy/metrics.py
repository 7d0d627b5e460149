"""Metrics for label noise, its detection and its correction.

These functions compare noisy labels with the true labels, which is only
possible on benchmarks (synthetic noise from :mod:`sknoisy.noise`, or data sets
with gold labels).  They are used by the tests, benchmarks and documentation of
the noise-robust methods:

- :func:`label_noise_rate` and :func:`noise_transition_matrix` describe the
  noise itself;
- :func:`noise_detection_scores` and :func:`noise_detection_auc` score a
  method that flags or ranks mislabelled samples (e.g. the selection accuracy
  of active label correction, or the harmful samples of RDIA);
- :func:`correction_precision` scores a method that changes labels (RDIA
  relabelling, active label correction).

All functions accept labels of any type (integers, strings, objects) as 1-D
array-likes, and raise a :class:`ValueError` that names the offending
parameter on invalid input.
"""

import numpy as np
from sklearn.metrics import roc_auc_score

from .utils._labels import check_label_array, sorted_unique

__all__ = [
    "correction_precision",
    "label_noise_rate",
    "noise_detection_auc",
    "noise_detection_scores",
    "noise_transition_matrix",
]


def label_noise_rate(y_true, y_noisy):
    r"""Fraction of labels that differ from the true labels.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.

    y_noisy : array-like of shape (n_samples,)
        Observed (noisy) labels.

    Returns
    -------
    rate : float
        :math:`\frac{1}{n} \sum_i [\tilde y_i \ne y_i]`, in [0, 1].

    Raises
    ------
    ValueError
        If the inputs are not 1-D, differ in length, are empty, or mix string
        and numeric labels.

    See Also
    --------
    noise_transition_matrix : Where the wrong labels went.

    Examples
    --------
    >>> from sknoisy.metrics import label_noise_rate
    >>> label_noise_rate([0, 1, 2, 2], [0, 2, 2, 1])
    0.5
    """
    y_true, y_noisy = _check_pair(y_true, y_noisy, "y_true", "y_noisy")
    if y_true.shape[0] == 0:
        raise ValueError("y_true and y_noisy must not be empty.")
    return float(_differ(y_true, y_noisy, "y_true", "y_noisy").mean())


def noise_transition_matrix(y_true, y_noisy, *, labels=None, normalize=True):
    r"""Empirical label-noise transition matrix.

    Like :func:`sklearn.metrics.confusion_matrix` with the true labels as
    rows, but normalised over rows by default, so that entry ``(i, j)``
    estimates :math:`P(\tilde y = c_j \mid y = c_i)`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (rows).

    y_noisy : array-like of shape (n_samples,)
        Observed (noisy) labels (columns).

    labels : array-like of shape (n_classes,), default=None
        The classes, in the order of the rows and columns.  ``None`` means the
        sorted union of the labels in ``y_true`` and ``y_noisy``.  As in
        :func:`~sklearn.metrics.confusion_matrix`, samples whose true or noisy
        label is not in ``labels`` are ignored.

    normalize : bool, default=True
        If True, divide each row by its number of samples (rows of classes
        with no samples are all zeros, without a warning); otherwise return
        the counts.

    Returns
    -------
    T : ndarray of shape (n_classes, n_classes)
        Row-stochastic float matrix (``normalize=True``) or integer counts.

    Raises
    ------
    ValueError
        If the inputs are not 1-D or differ in length, if ``labels`` is empty
        or has duplicates, or if the labels mix incompatible types.

    See Also
    --------
    sknoisy.noise.make_label_noise : Draw noise from a transition matrix.
    sklearn.metrics.confusion_matrix : The unnormalised counts.

    Notes
    -----
    With :math:`n_{ij} = |\{k : y_k = c_i, \tilde y_k = c_j\}|`,

    .. math::

        \hat T_{ij} = \frac{n_{ij}}{\sum_l n_{il}}
        \quad (\text{and } 0 \text{ if } \textstyle\sum_l n_{il} = 0).

    Examples
    --------
    >>> from sknoisy.metrics import noise_transition_matrix
    >>> y_true = ["a", "a", "a", "a", "b", "b"]
    >>> y_noisy = ["a", "a", "a", "b", "b", "a"]
    >>> noise_transition_matrix(y_true, y_noisy)
    array([[0.75, 0.25],
           [0.5 , 0.5 ]])
    >>> noise_transition_matrix(y_true, y_noisy, labels=["b", "a", "c"])
    array([[0.5 , 0.5 , 0.  ],
           [0.25, 0.75, 0.  ],
           [0.  , 0.  , 0.  ]])
    """
    y_true, y_noisy = _check_pair(y_true, y_noisy, "y_true", "y_noisy")
    _check_compatible(y_true, y_noisy, "y_true", "y_noisy")
    if labels is None:
        labels = sorted_unique(np.concatenate([y_true, y_noisy]), "y_true and y_noisy")
        if labels.shape[0] == 0:
            raise ValueError(
                "y_true and y_noisy are empty; pass `labels` to get a matrix of zeros."
            )
    else:
        labels = check_label_array(labels, "labels")
        if labels.shape[0] == 0:
            raise ValueError("labels must contain at least one label.")
        if sorted_unique(labels, "labels").shape[0] != labels.shape[0]:
            raise ValueError("labels must not contain duplicate labels.")
    n_labels = labels.shape[0]

    rows, rows_found = _encode(y_true, labels, "y_true")
    cols, cols_found = _encode(y_noisy, labels, "y_noisy")
    keep = rows_found & cols_found
    counts = np.bincount(
        rows[keep] * n_labels + cols[keep], minlength=n_labels * n_labels
    ).reshape(n_labels, n_labels)
    if not normalize:
        return counts
    row_sums = counts.sum(axis=1, keepdims=True)
    return np.divide(
        counts,
        row_sums,
        out=np.zeros(counts.shape, dtype=np.float64),
        where=row_sums > 0,
    )


def noise_detection_scores(y_true, y_noisy, flagged):
    """Precision, recall and F1 of flagging the mislabelled samples.

    A sample is mislabelled when ``y_noisy[i] != y_true[i]``; a noise
    detector (a cleaner, a pruner, an active-learning query) flags samples it
    believes mislabelled.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.

    y_noisy : array-like of shape (n_samples,)
        Observed (noisy) labels.

    flagged : array-like
        The flagged samples, as a boolean mask of shape (n_samples,) or an
        array of integer indices in ``[0, n_samples)`` (duplicates count
        once).  Note that an integer 0/1 array is read as indices, not as a
        mask.

    Returns
    -------
    scores : dict
        - ``"precision"``: share of flagged samples that are mislabelled (the
          "noisy-example selection accuracy" of active label correction);
        - ``"recall"``: share of mislabelled samples that are flagged;
        - ``"f1"``: their harmonic mean;
        - ``"n_flagged"``, ``"n_mislabeled"``: the two denominators (ints).

        A ratio whose denominator is zero is 0.0, without a warning.

    Raises
    ------
    ValueError
        If the labels are invalid, or ``flagged`` is neither a boolean mask of
        the right length nor valid indices.

    See Also
    --------
    noise_detection_auc : Threshold-free version for scores.

    Examples
    --------
    >>> from sknoisy.metrics import noise_detection_scores
    >>> y_true = [0, 0, 1, 1, 2, 2]
    >>> y_noisy = [0, 1, 1, 0, 2, 0]
    >>> scores = noise_detection_scores(y_true, y_noisy, [1, 2, 3])
    >>> scores["precision"], scores["recall"], scores["f1"]
    (0.6666666666666666, 0.6666666666666666, 0.6666666666666666)
    """
    y_true, y_noisy = _check_pair(y_true, y_noisy, "y_true", "y_noisy")
    mislabeled = _differ(y_true, y_noisy, "y_true", "y_noisy")
    flagged = _check_flagged(flagged, y_true.shape[0])

    n_flagged = int(flagged.sum())
    n_mislabeled = int(mislabeled.sum())
    n_hits = int((flagged & mislabeled).sum())
    precision = _ratio(n_hits, n_flagged)
    recall = _ratio(n_hits, n_mislabeled)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "n_flagged": n_flagged,
        "n_mislabeled": n_mislabeled,
    }


def noise_detection_auc(y_true, y_noisy, scores):
    """ROC AUC of a score for detecting mislabelled samples.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.

    y_noisy : array-like of shape (n_samples,)
        Observed (noisy) labels.

    scores : array-like of shape (n_samples,)
        Finite real scores; higher means more likely mislabelled (e.g. a
        loss, a harmful influence, one minus the confidence in the given
        label).

    Returns
    -------
    auc : float
        :func:`sklearn.metrics.roc_auc_score` of ``scores`` for the event
        ``y_noisy != y_true``: 1.0 ranks every mislabelled sample first, 0.5
        is chance.

    Raises
    ------
    ValueError
        If the labels are invalid, ``scores`` is not a finite 1-D array of the
        same length, or all or none of the samples are mislabelled (the AUC
        is then undefined).

    See Also
    --------
    noise_detection_scores : Scores of a thresholded selection.

    Examples
    --------
    >>> from sknoisy.metrics import noise_detection_auc
    >>> noise_detection_auc([0, 0, 1, 1], [0, 1, 1, 0], [0.1, 0.9, 0.4, 0.3])
    0.75
    """
    y_true, y_noisy = _check_pair(y_true, y_noisy, "y_true", "y_noisy")
    mislabeled = _differ(y_true, y_noisy, "y_true", "y_noisy")
    try:
        scores = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"scores must be an array of real numbers: {exc}") from exc
    if scores.ndim != 1:
        raise ValueError(f"scores must be 1-D, got an array of shape {scores.shape}.")
    if scores.shape[0] != y_true.shape[0]:
        raise ValueError(
            f"scores must have one entry per sample: got {scores.shape[0]} scores "
            f"for {y_true.shape[0]} labels."
        )
    if not np.isfinite(scores).all():
        raise ValueError("scores contains NaN or infinite values.")
    n_mislabeled = int(mislabeled.sum())
    if n_mislabeled == 0 or n_mislabeled == mislabeled.shape[0]:
        which = "none" if n_mislabeled == 0 else "all"
        raise ValueError(
            f"noise detection AUC is undefined: {which} of the {mislabeled.shape[0]} "
            "samples are mislabelled (y_true vs y_noisy)."
        )
    return float(roc_auc_score(mislabeled, scores))


def correction_precision(y_true, y_before, y_after):
    r"""Precision and recall of a label correction.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.

    y_before : array-like of shape (n_samples,)
        Noisy labels before the correction.

    y_after : array-like of shape (n_samples,)
        Labels after the correction (e.g. RDIA's relabelled ``y``, or the
        labels after active label correction).

    Returns
    -------
    scores : dict
        - ``"precision"``: among the changed labels, the share that went from
          wrong to right;
        - ``"recall"``: among the labels that were wrong before, the share
          that is right after;
        - ``"n_changed"``: the number of changed labels (int);
        - ``"n_fixed"``: the number of labels that went from wrong to right
          (int).

        A ratio whose denominator is zero is 0.0, without a warning.

    Raises
    ------
    ValueError
        If the inputs are not 1-D label arrays of the same length.

    See Also
    --------
    noise_detection_scores : Scores of flagging without relabelling.

    Notes
    -----
    With :math:`C = \{i : y^{\mathrm{after}}_i \ne y^{\mathrm{before}}_i\}`,
    :math:`W = \{i : y^{\mathrm{before}}_i \ne y_i\}` and
    :math:`F = \{i \in W : y^{\mathrm{after}}_i = y_i\}`,
    precision is :math:`|F| / |C|` and recall is :math:`|F| / |W|`.  A change
    from one wrong label to another wrong label counts against precision but
    not as a fix.

    Examples
    --------
    >>> from sknoisy.metrics import correction_precision
    >>> y_true = [0, 0, 1, 1, 2, 2]
    >>> y_before = [0, 1, 1, 0, 2, 0]
    >>> y_after = [0, 0, 2, 0, 2, 2]
    >>> scores = correction_precision(y_true, y_before, y_after)
    >>> scores["n_changed"], scores["n_fixed"]
    (3, 2)
    >>> scores["precision"], scores["recall"]
    (0.6666666666666666, 0.6666666666666666)
    """
    y_true = check_label_array(y_true, "y_true")
    y_before, y_after = _check_pair(y_before, y_after, "y_before", "y_after")
    if y_true.shape[0] != y_before.shape[0]:
        raise ValueError(
            "y_true, y_before and y_after must have the same length, got "
            f"{y_true.shape[0]}, {y_before.shape[0]} and {y_after.shape[0]}."
        )
    changed = _differ(y_before, y_after, "y_before", "y_after")
    wrong_before = _differ(y_true, y_before, "y_true", "y_before")
    wrong_after = _differ(y_true, y_after, "y_true", "y_after")
    fixed = wrong_before & ~wrong_after  # implies changed

    n_changed = int(changed.sum())
    n_fixed = int(fixed.sum())
    return {
        "precision": _ratio(n_fixed, n_changed),
        "recall": _ratio(n_fixed, int(wrong_before.sum())),
        "n_changed": n_changed,
        "n_fixed": n_fixed,
    }


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def _ratio(numerator, denominator):
    """``numerator / denominator`` as a float, 0.0 when the denominator is 0."""
    return float(numerator / denominator) if denominator else 0.0


def _check_pair(a, b, name_a, name_b):
    """Validate two label arrays of the same length."""
    a = check_label_array(a, name_a)
    b = check_label_array(b, name_b)
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"{name_a} and {name_b} must have the same length, got "
            f"{a.shape[0]} and {b.shape[0]}."
        )
    return a, b


def _is_string_kind(dtype):
    return dtype.kind in "US"


def _is_numeric_kind(dtype):
    return dtype.kind in "biufc"


def _check_compatible(a, b, name_a, name_b):
    """Reject string labels compared with numeric labels (a likely mistake)."""
    if (_is_string_kind(a.dtype) and _is_numeric_kind(b.dtype)) or (
        _is_numeric_kind(a.dtype) and _is_string_kind(b.dtype)
    ):
        raise ValueError(
            f"{name_a} and {name_b} mix string and numeric labels "
            f"({a.dtype} and {b.dtype})."
        )


def _differ(a, b, name_a, name_b):
    """Element-wise ``a != b`` as a boolean array, for any label types."""
    _check_compatible(a, b, name_a, name_b)
    try:
        mismatch = np.not_equal(a, b)
    except TypeError:
        mismatch = None
    if not isinstance(mismatch, np.ndarray) or mismatch.shape != a.shape:
        mismatch = np.not_equal(a.astype(object), b.astype(object))
    return np.asarray(mismatch, dtype=bool)


def _encode(values, labels, name):
    """Positions of ``values`` in ``labels`` and a mask of those found."""
    _check_compatible(values, labels, name, "labels")
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    try:
        pos = np.searchsorted(sorted_labels, values)
    except TypeError as exc:
        raise ValueError(
            f"{name} has labels that cannot be compared with labels: {exc}"
        ) from exc
    pos = np.minimum(pos, sorted_labels.shape[0] - 1)
    found = np.asarray(sorted_labels[pos] == values, dtype=bool)
    return order[pos], found


def _check_flagged(flagged, n_samples):
    """Return ``flagged`` as a boolean mask of length ``n_samples``."""
    flagged = np.asarray(flagged)
    if flagged.ndim != 1:
        raise ValueError(
            f"flagged must be a 1-D boolean mask or index array, got an array "
            f"of shape {flagged.shape}."
        )
    if flagged.dtype == bool:
        if flagged.shape[0] != n_samples:
            raise ValueError(
                f"flagged is a boolean mask of length {flagged.shape[0]}, "
                f"expected one entry per sample ({n_samples})."
            )
        return flagged
    mask = np.zeros(n_samples, dtype=bool)
    if flagged.size == 0:
        return mask
    if flagged.dtype.kind not in "iu":
        raise ValueError(
            "flagged must be a boolean mask or an array of integer indices, got "
            f"dtype {flagged.dtype}."
        )
    if flagged.min() < 0 or flagged.max() >= n_samples:
        raise ValueError(
            f"flagged indices must be in [0, {n_samples}), got values in "
            f"[{flagged.min()}, {flagged.max()}]."
        )
    mask[flagged] = True
    return mask
