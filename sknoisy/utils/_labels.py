"""Validation of plain label vectors.

:mod:`sknoisy.noise` and :mod:`sknoisy.metrics` both take labels of any type
(integers, strings, objects) from the user and must reject the same malformed
input with the same messages, so the checks live here rather than in either
module.
"""

import numpy as np


def check_label_array(y, name):
    """Return ``y`` as a 1-D ndarray without missing values.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels of any type that :func:`numpy.asarray` accepts.

    name : str
        Name of the parameter, for the error messages.

    Returns
    -------
    labels : ndarray of shape (n_samples,)
        ``y`` as an array. It may share memory with ``y``; callers must not
        write to it.

    Raises
    ------
    ValueError
        If ``y`` cannot be converted to an array, is not 1-D, or holds NaN or
        None.
    """
    try:
        arr = np.asarray(y)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} could not be converted to an array: {exc}") from exc
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of labels, got an array of shape {arr.shape}."
        )
    if arr.dtype.kind in "fc":
        missing = np.isnan(arr)
    elif arr.dtype.kind == "O":
        # NaN is the only value unequal to itself; None marks a missing value.
        missing = np.asarray(arr != arr, dtype=bool) | np.equal(arr, None)
    else:
        missing = None
    if missing is not None and missing.any():
        raise ValueError(
            f"{name} contains missing values (NaN or None) at "
            f"{int(missing.sum())} position(s)."
        )
    return arr


def sorted_unique(values, name):
    """:func:`numpy.unique`, with a clear error for labels that cannot be sorted.

    Parameters
    ----------
    values : ndarray
        Labels.

    name : str
        Name of the parameter, for the error message.

    Returns
    -------
    unique : ndarray
        The distinct labels in sorted order.

    Raises
    ------
    ValueError
        If the labels mix types that cannot be compared (e.g. int and str).
    """
    try:
        return np.unique(values)
    except TypeError as exc:
        raise ValueError(
            f"{name}: labels of mixed types cannot be sorted ({exc})."
        ) from exc
