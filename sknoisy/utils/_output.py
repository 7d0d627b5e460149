"""Outputs in the caller's container: labels come back as the labels went in."""

import numpy as np
from sklearn.utils import _safe_indexing


def as_series_like(y, values, rows=None):
    """Return ``values`` as a pandas Series like ``y`` when ``y`` is one.

    Samplers return the corrected labels of ``fit_resample`` in the form the
    caller passed them, so that a pandas pipeline keeps its index and name.
    pandas is never imported: a one-dimensional object with ``iloc`` and
    ``index`` is taken for a Series and rebuilt through its own type.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The labels the caller passed.

    values : ndarray of shape (n_samples,) or (len(rows),)
        The labels to return.

    rows : array-like of int, default=None
        Positions in ``y`` that ``values`` belong to, when rows were dropped;
        None means every row of ``y``, in order.

    Returns
    -------
    values : ndarray or pandas Series
        ``values`` unchanged when ``y`` is not a Series; otherwise a Series of
        ``y``'s type with ``y``'s name and the index of ``y`` (at ``rows``).
    """
    if hasattr(y, "iloc") and hasattr(y, "index") and getattr(y, "ndim", 1) == 1:
        index = y.index if rows is None else y.index[rows]
        return type(y)(values, index=index, name=y.name)
    return values


def resampled(X, y, values, rows=None):
    """Return ``fit_resample``'s output in the containers the caller passed.

    As imbalanced-learn's samplers do: a list stays a list, a pandas
    DataFrame keeps its columns (and ``y`` as a one-column DataFrame keeps
    its column), a Series its name; the index of the kept rows is kept.
    pandas is never imported.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The data the caller passed (before validation).

    y : array-like of shape (n_samples,) or (n_samples, 1)
        The labels the caller passed.

    values : ndarray of shape (n_samples,) or (len(rows),)
        The labels to return.

    rows : array-like of int, default=None
        The rows of ``X`` returned, in order; None means every row.

    Returns
    -------
    X_resampled, y_resampled
        The kept rows of ``X`` and ``values``, each in its caller's container.
    """
    if rows is None:
        X_out = X
    elif isinstance(X, list):
        X_out = [X[i] for i in rows]
    else:
        X_out = _safe_indexing(X, rows)
    if isinstance(y, list):
        return X_out, np.asarray(values).tolist()
    if hasattr(y, "iloc") and getattr(y, "ndim", 1) == 2:  # a DataFrame
        index = y.index if rows is None else y.index[rows]
        return X_out, type(y)(
            np.asarray(values)[:, None], index=index, columns=y.columns
        )
    return X_out, as_series_like(y, values, rows)
