"""Outputs in the caller's container: labels come back as the labels went in."""


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
