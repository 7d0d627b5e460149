"""Input validation helpers shared by the estimators."""

import re
import warnings

import numpy as np
from scipy import sparse
from sklearn import get_config
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import (
    _num_samples,
    check_array,
    check_consistent_length,
    column_or_1d,
)


def as_float32(X, name):
    """``X`` as float32, the dtype of torch modules' weights.

    Values beyond float32's range would become infinite, and a network's
    outputs NaN for every row: an error naming ``name`` instead.

    Parameters
    ----------
    X : {ndarray, sparse matrix}
        Numeric input.

    name : str
        Its name in the error message (``"X"``, ``"X_val"``).

    Returns
    -------
    X32 : {ndarray, sparse matrix}
        ``X`` itself when already float32, else a float32 copy.
    """
    with np.errstate(over="ignore"):
        X32 = X.astype(np.float32, copy=False)
    values = X32.data if sparse.issparse(X32) else X32
    if not np.all(np.isfinite(values)):
        limit = np.finfo(np.float32).max
        raise ValueError(
            f"{name} holds values beyond the range of float32 (±{limit:.3g}), the "
            "dtype of the network's weights; they would become infinite. Scale "
            f"{name} (e.g. with StandardScaler) before fitting the network."
        )
    return X32


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


def check_trusted(trusted, n_samples):
    """Validate a boolean mask of the rows of ``X`` whose labels are verified.

    Parameters
    ----------
    trusted : array-like of shape (n_samples,) of bool, or None
        The mask; None means no row is trusted.

    n_samples : int
        Number of rows of ``X``.

    Returns
    -------
    trusted : ndarray of shape (n_samples,), dtype=bool
        A new array, all False when ``trusted`` is None; the caller's array
        is never modified.

    Raises
    ------
    ValueError
        When ``trusted`` is not one boolean per row of ``X``.
    """
    if trusted is None:
        return np.zeros(n_samples, dtype=bool)
    if hasattr(trusted, "toarray"):
        raise ValueError("trusted must be a dense boolean mask, not a sparse matrix.")
    mask = np.asarray(trusted)
    if mask.ndim == 2 and 1 in mask.shape:
        mask = mask.ravel()
    if mask.ndim != 1 or mask.shape[0] != n_samples:
        raise ValueError(
            f"trusted must be a boolean mask with one entry per row of X "
            f"({n_samples}); got an array of shape {mask.shape}."
        )
    if mask.dtype != bool:
        raise ValueError(
            "trusted must be a boolean mask over the rows of X (True where the "
            f"label in y is verified); got dtype {mask.dtype}. To mark rows by "
            "index, build the mask: trusted = np.zeros(len(y), bool); "
            "trusted[indices] = True."
        )
    return mask.copy()


class CleanData:
    """The verified labels a fit received, whatever the way they came in.

    Built by :func:`resolve_clean_data`. Trusted rows are rows of ``X``;
    ``X_val, y_val`` are extra rows. Exactly one of the two sources is used.

    Attributes
    ----------
    source : {"trusted", "X_val", None}
        Where the clean labels came from; None when there are none.

    trusted : ndarray of shape (n_samples,), dtype=bool
        The trusted rows of ``X``; all False unless ``source == "trusted"``.

    X : {ndarray, sparse matrix} of shape (n_clean, n_features) or None
        The clean rows: ``X[trusted]`` or the validated ``X_val``.

    y : ndarray of shape (n_clean,) or None
        Their labels, encoded as positions in ``classes_``.
    """

    def __init__(self, source, trusted, X, y):
        self.source = source
        self.trusted = trusted
        self.X = X
        self.y = y

    @property
    def n_clean(self):
        """Number of clean rows."""
        return 0 if self.y is None else len(self.y)


def resolve_clean_data(estimator, X, y_encoded, trusted, X_val, y_val, stacklevel=2):
    """Gather the clean labels passed to ``fit`` as ``trusted`` or ``X_val, y_val``.

    Parameters
    ----------
    estimator : estimator instance
        The estimator being fitted, with ``n_features_in_`` and ``classes_``
        already set from ``X, y``.

    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Validated training data (CSR when sparse).

    y_encoded : ndarray of shape (n_samples,)
        Training labels as positions in ``estimator.classes_``.

    trusted : array-like of shape (n_samples,) of bool, or None
        Rows of ``X`` whose labels in ``y`` are verified.

    X_val, y_val : array-like or None
        Clean rows outside ``X``, in its feature space.

    stacklevel : int, default=2
        Stack level of warnings, counted from the caller of this function.

    Returns
    -------
    clean : CleanData
        The clean rows and where they came from.

    Raises
    ------
    ValueError
        When both sources are given, or one is malformed.
    """
    n_samples = X.shape[0]
    has_val = X_val is not None or y_val is not None
    if trusted is not None and has_val:
        raise ValueError(
            "Pass the verified labels either as trusted (a mask over the rows of "
            "X) or as X_val, y_val (extra rows), not both."
        )
    if has_val:
        X_val, _, y_val_encoded = check_validation_data(
            estimator, X_val, y_val, n_samples, stacklevel=stacklevel + 1
        )
        return CleanData("X_val", np.zeros(n_samples, dtype=bool), X_val, y_val_encoded)
    mask = check_trusted(trusted, n_samples)
    if not mask.any():
        return CleanData(None, mask, None, None)
    rows = np.flatnonzero(mask)
    return CleanData("trusted", mask, _safe_indexing(X, rows), y_encoded[rows])


def check_wrapped_params(estimator, name="estimator"):
    """Validate a wrapped model's parameters with its own constraints.

    Meta-estimators that train their base model step by step (AGRA, ALC)
    never call its ``fit``, so its ``_parameter_constraints`` would
    otherwise go unchecked and a bad setting (``lr=-1``) would train
    silently. The steps of a Pipeline are checked too. Objects without
    ``_parameter_constraints`` (skorch nets) are skipped.

    Parameters
    ----------
    estimator : estimator instance
        The wrapped model; not modified.

    name : str, default="estimator"
        Name of the meta-estimator's parameter that holds it, used in the
        error message.

    Raises
    ------
    InvalidParameterError
        A ``ValueError`` (and ``TypeError``) naming the wrapped parameter,
        when one breaks the model's constraints.
    """
    if get_config()["skip_parameter_validation"]:
        return
    models = [(name, estimator)]
    for step_name, step in getattr(estimator, "steps", None) or []:
        models.append((f"{name}__{step_name}", step))
    for prefix, model in models:
        # scikit-learn's _validate_params checks _parameter_constraints;
        # skorch's method of the same name checks something else (and
        # rejects the module__ settings the adapters add), so it is skipped.
        if not (
            hasattr(model, "_parameter_constraints")
            and hasattr(model, "_validate_params")
        ):
            continue
        try:
            model._validate_params()
        except InvalidParameterError as exc:
            # Name the setting as the meta-estimator's set_params spells it.
            found = re.match(r"The '(\w+)' parameter", str(exc))
            where = f"{prefix}__{found[1]}" if found else prefix
            raise InvalidParameterError(f"{where}: {exc}") from exc
