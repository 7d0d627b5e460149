"""Input validation helpers shared by the estimators."""

import numpy as np


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
