"""Input validation helpers shared by the estimators."""

import warnings

import numpy as np
from sklearn.utils.validation import (
    _num_samples,
    check_array,
    check_consistent_length,
    column_or_1d,
)


def encode_labels(values, classes, name, classes_name="the classes"):
    """Return the positions of ``values`` in the sorted array ``classes``.

    Parameters
    ----------
    values : ndarray of shape (n_samples,)
        Labels to encode.

    classes : ndarray of shape (n_classes,)
        Known classes, sorted (as ``np.unique`` returns them).

    name : str
        Name of the parameter that holds ``values``, used in error messages.

    classes_name : str, default="the classes"
        How error messages refer to ``classes``.

    Returns
    -------
    encoded : ndarray of shape (n_samples,)
        ``classes[encoded] == values``.

    Raises
    ------
    ValueError
        When ``values`` holds a label that is not in ``classes``, or labels of
        a type that cannot be compared with them.
    """
    try:
        index = np.searchsorted(classes, values)
    except TypeError as exc:
        raise ValueError(
            f"{name} holds labels of another type than {classes_name} "
            f"({classes.dtype})."
        ) from exc
    index = np.clip(index, 0, len(classes) - 1)
    unknown = classes[index] != values
    if np.any(unknown):
        raise ValueError(
            f"{name} holds labels {np.unique(values[unknown]).tolist()} that are "
            f"not in {classes_name} {classes.tolist()}."
        )
    return index


def check_validation_data(estimator, X_val, y_val, n_samples, stacklevel=2):
    """Validate a trusted validation set passed to ``fit``.

    Parameters
    ----------
    estimator : estimator instance
        The estimator being fitted; its ``n_features_in_`` and ``classes_``
        are already set from ``X, y``.

    X_val : {array-like, sparse matrix} of shape (n_val, n_features)
        Validation data, in the feature space of ``X``.

    y_val : array-like of shape (n_val,)
        Validation labels, each one a label of ``y``.

    n_samples : int
        Number of rows of ``X``.

    stacklevel : int, default=2
        Stack level of the warning about a validation set as long as ``X``,
        counted from the caller of this function.

    Returns
    -------
    X_val : {ndarray, sparse matrix}
        Validated ``X_val``, CSR when sparse.

    y_val : ndarray of shape (n_val,)
        Validated ``y_val``, in the label space of ``y``.

    y_val_encoded : ndarray of shape (n_val,)
        ``y_val`` as positions in ``estimator.classes_``.

    Raises
    ------
    ValueError
        When only one of ``X_val`` and ``y_val`` is given, their shapes do not
        fit ``X`` or each other, or ``y_val`` holds an unknown label.
    """
    if X_val is None or y_val is None:
        raise ValueError(
            "Pass both X_val and y_val, or neither; got "
            f"X_val={'None' if X_val is None else 'data'} and "
            f"y_val={'None' if y_val is None else 'data'}."
        )
    X_val = check_array(
        X_val, accept_sparse="csr", dtype=[np.float64, np.float32], input_name="X_val"
    )
    if X_val.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X_val has {X_val.shape[1]} features, but X has "
            f"{estimator.n_features_in_}; X_val must be in the feature space of X."
        )
    y_val = column_or_1d(
        check_array(y_val, ensure_2d=False, dtype=None, input_name="y_val"), warn=True
    )
    check_consistent_length(X_val, y_val)
    y_val_encoded = encode_labels(y_val, estimator.classes_, "y_val", "y's classes")
    if _num_samples(X_val) == n_samples:
        warnings.warn(
            f"X_val has as many rows as X ({n_samples}). scikit-learn's "
            "cross-validation (GridSearchCV, cross_validate) slices every fit "
            "parameter of length n_samples along with X, so inside a search "
            "X_val and y_val may have been split silently. Use a validation "
            "set of another size, or ignore this warning outside CV.",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
    return X_val, y_val, y_val_encoded
