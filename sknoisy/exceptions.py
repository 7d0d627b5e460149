"""Warnings raised by sknoisy estimators."""

__all__ = ["CorrectionFallbackWarning", "UncheckedCorrectionWarning"]


class CorrectionFallbackWarning(UserWarning):
    """The trusted rows showed a correction to be worse than the plain model.

    Raised by an estimator that compared, on held-out trusted rows, the model
    its method corrects against the plain base model fitted on the same rows,
    found the correction worse, and returned the plain model instead (its
    ``fallback_`` attribute is then True).
    """


class UncheckedCorrectionWarning(UserWarning):
    """There were no trusted rows to check that a correction helps.

    Raised when ``fallback=True`` but no trusted rows (or too few of them)
    reached ``fit``, so the estimator could not compare its correction with
    the plain base model. It then returns the plain model, as it does when
    the comparison goes against the correction; pass trusted rows to enable
    the check, or ``fallback=False`` to apply the correction unchecked.
    """
