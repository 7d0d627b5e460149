"""Small numerical kernels shared by the estimators' training loops."""

import numpy as np


def softmax(logits):
    """Row-wise softmax of a 2-d array, shifted by each row's maximum.

    scikit-learn's ``sklearn.utils.extmath.softmax`` computes the same values
    but goes through its array-API layer, which costs about twice the
    arithmetic on a mini-batch of 32 rows: SoftmaxRegression and AGRA call
    this once per step, thousands of times per fit.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_classes)
        Never modified.

    Returns
    -------
    proba : ndarray of shape (n_samples, n_classes)
        A new array whose rows sum to one.
    """
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    return proba
