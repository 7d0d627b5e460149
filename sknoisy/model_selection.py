"""Model selection against verified labels.

Noisy labels make ordinary cross-validation choose badly: a grid search
scored on noisy fold labels rewards fitting the noise. The tools here score
and compare models on the *trusted* rows only, the rows whose labels the user
verified, passed to ``fit`` as a boolean mask ``trusted`` (see the user
guide, :ref:`trusted_rows`):

- :func:`trusted_scorer` wraps any scikit-learn scorer so that a
  :class:`~sklearn.model_selection.GridSearchCV` scores each test fold on
  its trusted rows alone;
- :func:`compare_on_trusted` is the do-no-harm test the estimators run
  before they return a correction: the corrected model against the plain
  base model, cross-fitted over folds of the trusted rows;
- :func:`compare_held_out` runs the same test on the trusted rows when
  there are enough of them, and otherwise on held-out folds of all rows
  scored with their given (noisy) labels.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import get_scorer, log_loss, make_scorer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._metadata_requests import MetadataRequest

from .utils._validation import check_trusted

__all__ = [
    "MIN_TRUSTED_FOR_CHECK",
    "HarmCheck",
    "TrustedScorer",
    "TrustedStratifiedKFold",
    "compare_held_out",
    "compare_on_trusted",
    "trusted_folds",
    "trusted_scorer",
]

# Fewer held-out rows than this cannot rank two models at all.
MIN_TRUSTED_FOR_CHECK = 10

# The correction must win on the held-out trusted rows by this many standard
# deviations of the paired difference (a one-sided sign test at about 84 %).
# With a tie rule alone, a correction picked among several candidates on the
# same rows passed the check by a row or two and lost a point on test data.
WIN_MARGIN_SD = 1.0


# --------------------------------------------------------------------------
# Scoring on the trusted rows
# --------------------------------------------------------------------------
class TrustedScorer:
    """A scorer that scores only the trusted rows of the data it is given.

    Build it with :func:`trusted_scorer`. It requests the ``trusted`` mask
    through scikit-learn's metadata routing (for the ``score`` method, the
    way scorers request metadata), so that a search with routing enabled
    slices the mask with each test fold and passes it here.

    Parameters
    ----------
    scoring : str or callable
        The scorer to apply to the trusted rows: a name such as
        ``"neg_log_loss"`` or ``"accuracy"``, or a scorer callable
        ``scorer(estimator, X, y)``.
    """

    def __init__(self, scoring):
        self.scoring = scoring

    def __call__(self, estimator, X, y, trusted=None, **kwargs):
        """Score ``estimator`` on the rows of ``X, y`` where ``trusted`` holds.

        Parameters
        ----------
        estimator : fitted estimator
            The model to score.

        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test data; rows may be of any type the estimator takes (texts in
            front of a vectoriser).

        y : array-like of shape (n_samples,)
            Labels; only the trusted ones are read.

        trusted : array-like of shape (n_samples,) of bool
            The rows whose labels are verified.

        **kwargs : dict
            Other metadata for the wrapped scorer.

        Returns
        -------
        score : float
            The wrapped scorer on the trusted rows.

        Raises
        ------
        ValueError
            When no mask arrived (routing off, or not requested), or the
            test fold holds no trusted row.
        """
        if trusted is None:
            raise ValueError(
                "trusted_scorer received no trusted mask. Enable metadata routing "
                "with sklearn.set_config(enable_metadata_routing=True) and pass the "
                "mask to the search: GridSearchCV(...).fit(X, y, trusted=mask). "
                "Every step that takes it must request it too, e.g. "
                "RDIARelabeler().set_fit_resample_request(trusted=True)."
            )
        mask = check_trusted(trusted, _n_rows(X))
        if not mask.any():
            raise ValueError(
                "A test fold holds no trusted row, so trusted_scorer cannot score "
                "it. Split with cv=TrustedStratifiedKFold(n_splits) (from "
                "sknoisy.model_selection), which gives every fold its share of "
                "the trusted rows, or use fewer folds."
            )
        rows = np.flatnonzero(mask)
        X_trusted = _safe_indexing(X, rows)
        y_trusted = _safe_indexing(y, rows)
        scorer = get_scorer(self.scoring)
        if getattr(scorer, "_score_func", None) is log_loss and hasattr(
            estimator, "classes_"
        ):
            # A fold's trusted rows may miss a class the model knows.
            scorer = make_scorer(
                log_loss,
                greater_is_better=False,
                response_method="predict_proba",
                labels=estimator.classes_,
            )
        return scorer(estimator, X_trusted, y_trusted, **kwargs)

    def get_metadata_routing(self):
        """Return the request for ``trusted`` at ``score`` time.

        Returns
        -------
        request : MetadataRequest
            ``score`` requests ``trusted``.
        """
        request = MetadataRequest(owner=self)
        request.score.add_request(param="trusted", alias=True)
        return request

    def __repr__(self):
        return f"trusted_scorer({self.scoring!r})"


def _n_rows(X):
    return X.shape[0] if hasattr(X, "shape") else len(X)


def trusted_scorer(scoring="neg_log_loss"):
    """Make a scorer that scores only the trusted rows of each test fold.

    With noisy labels, a search scored on all rows of a fold rewards fitting
    the noise. This scorer reads the ``trusted`` mask that the search routes
    to it and scores the fold's trusted rows alone, so that the search ranks
    models by the labels the user verified.

    Parameters
    ----------
    scoring : str or callable, default="neg_log_loss"
        The scorer to apply to the trusted rows (any name
        :func:`sklearn.metrics.get_scorer` knows, or a scorer callable).
        Log-loss is the default: on a few hundred trusted rows it separates
        models that accuracy ties.

    Returns
    -------
    scorer : TrustedScorer
        Callable as ``scorer(estimator, X, y, trusted=mask)``; it requests
        ``trusted`` through metadata routing.

    See Also
    --------
    compare_on_trusted : The do-no-harm test the estimators run in ``fit``.

    Notes
    -----
    Metadata routing must be enabled
    (``sklearn.set_config(enable_metadata_routing=True)``) for a search to
    pass the mask; without it, the scorer raises an error that says so
    rather than scoring noisy labels.

    Examples
    --------
    >>> import numpy as np
    >>> import sklearn
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sknoisy.model_selection import trusted_scorer
    >>> X, y = load_iris(return_X_y=True)
    >>> trusted = np.zeros(len(y), dtype=bool)
    >>> trusted[::3] = True  # the rows whose labels were checked
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     search = GridSearchCV(
    ...         LogisticRegression(max_iter=1000), {"C": [0.1, 1.0]},
    ...         scoring=trusted_scorer("accuracy"), cv=3,
    ...     ).fit(X, y, trusted=trusted)
    >>> sorted(search.best_params_)
    ['C']
    """
    return TrustedScorer(scoring)


class TrustedStratifiedKFold(StratifiedKFold):
    """Stratified K-fold that gives every fold its share of the trusted rows.

    Verified rows often sit together (a validation split appended after the
    training rows), and a plain :class:`~sklearn.model_selection.StratifiedKFold`
    then leaves most test folds without a trusted row to score, and most
    training folds without one to learn from. This splitter stratifies on
    the label *and* the ``trusted`` mask, which it requests through metadata
    routing for ``split``, so a search passes it along with the scorer's.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, at least 2.

    shuffle : bool, default=False
        Whether to shuffle each stratum before splitting.

    random_state : int, RandomState instance or None, default=None
        Seeds the shuffle when ``shuffle=True``.

    See Also
    --------
    trusted_scorer : Scores each test fold on its trusted rows.

    Notes
    -----
    A (class, trusted) stratum with fewer rows than ``n_splits`` is pooled
    with the other rare strata of the same trusted flag, so a class with only
    a few trusted rows does not make the split fail.

    Examples
    --------
    >>> import numpy as np
    >>> from sknoisy.model_selection import TrustedStratifiedKFold
    >>> y = np.array([0, 1] * 10)
    >>> trusted = np.arange(20) >= 16  # the last four rows were checked
    >>> cv = TrustedStratifiedKFold(n_splits=2)
    >>> [int(trusted[test].sum()) for _, test in cv.split(y, y, trusted=trusted)]
    [2, 2]
    """

    __metadata_request__split = {"trusted": True}

    def get_n_splits(self, X=None, y=None, groups=None, trusted=None):
        """Return the number of folds.

        Parameters
        ----------
        X, y, groups, trusted : object
            Ignored; present because searches pass the split's metadata.

        Returns
        -------
        n_splits : int
            ``n_splits``.
        """
        return self.n_splits

    def split(self, X, y, groups=None, trusted=None):
        """Generate indices to split data into training and test sets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (only its length is used).

        y : array-like of shape (n_samples,)
            Labels, stratified with the mask.

        groups : None
            Ignored; present for API consistency.

        trusted : array-like of shape (n_samples,) of bool
            The rows whose labels are verified.

        Yields
        ------
        train, test : ndarray
            Indices of each fold's training and test rows.
        """
        if trusted is None:
            raise ValueError(
                "TrustedStratifiedKFold received no trusted mask: enable metadata "
                "routing (sklearn.set_config(enable_metadata_routing=True)) and "
                "pass trusted=mask to the search's fit, or to split() directly."
            )
        mask = check_trusted(trusted, _n_rows(X))
        _, y_encoded = np.unique(np.asarray(y), return_inverse=True)
        strata = 2 * y_encoded.ravel() + mask
        values, counts = np.unique(strata, return_counts=True)
        rare = np.isin(strata, values[counts < self.n_splits])
        strata[rare] = 2 * (y_encoded.max() + 1) + mask[rare]
        return super().split(X, strata)


# --------------------------------------------------------------------------
# The do-no-harm test
# --------------------------------------------------------------------------
def trusted_folds(trusted, y_encoded, n_splits=2, random_state=None):
    """Split the trusted rows into folds, stratified by class where possible.

    Parameters
    ----------
    trusted : ndarray of shape (n_samples,), dtype=bool
        The trusted rows.

    y_encoded : ndarray of shape (n_samples,)
        Labels, encoded as integers.

    n_splits : int, default=2
        Number of folds.

    random_state : int, RandomState instance or None, default=None
        Seeds the shuffle.

    Returns
    -------
    folds : list of ndarray of shape (n_samples,), dtype=bool
        One mask per fold: its held-out trusted rows. Every trusted row is
        held out exactly once.
    """
    rows = np.flatnonzero(trusted)
    labels = y_encoded[rows]
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    _, counts = np.unique(labels, return_counts=True)
    splitter = (
        StratifiedKFold(n_splits, shuffle=True, random_state=seed)
        if counts.min() >= n_splits
        else KFold(n_splits, shuffle=True, random_state=seed)
    )
    folds = []
    for _, test in splitter.split(rows, labels):
        held_out = np.zeros(len(trusted), dtype=bool)
        held_out[rows[test]] = True
        folds.append(held_out)
    return folds


@dataclass
class HarmCheck:
    """Outcome of :func:`compare_on_trusted`.

    Attributes
    ----------
    corrected_accuracy, plain_accuracy : float
        Accuracy of each model on the held-out trusted rows, cross-fitted.

    corrected_log_loss, plain_log_loss : float
        Their mean log-loss on the same rows.

    n_held_out : int
        Number of trusted rows scored (every trusted row, once).

    n_better, n_worse : int
        Held-out rows that only the correction, or only the plain model,
        predicts right.

    harmful : bool
        Whether the correction failed to beat the plain model clearly (see
        :func:`compare_on_trusted`); the estimators then return the plain
        model.

    labels : {"trusted", "noisy"}, default="trusted"
        What the held-out rows were scored against: verified labels, or the
        given labels of all rows when there were too few trusted rows (see
        :func:`compare_held_out`).
    """

    corrected_accuracy: float
    plain_accuracy: float
    corrected_log_loss: float
    plain_log_loss: float
    n_held_out: int
    n_better: int
    n_worse: int
    harmful: bool
    labels: str = "trusted"

    def describe(self):
        """One sentence with the figures, for warnings and logs."""
        rows = "trusted rows" if self.labels == "trusted" else "rows (given labels)"
        return (
            f"on {self.n_held_out} held-out {rows} the correction scored "
            f"accuracy {self.corrected_accuracy:.3f} and log-loss "
            f"{self.corrected_log_loss:.3f}, the plain model {self.plain_accuracy:.3f}"
            f" and {self.plain_log_loss:.3f}; {self.n_better} rows only the "
            f"correction got right, {self.n_worse} only the plain model"
        )


def compare_on_trusted(fit_fold, trusted, y_encoded, *, n_splits=2, random_state=None):
    """Cross-fitted comparison of a corrected model with the plain one.

    The trusted rows are split into ``n_splits`` folds. For each fold,
    ``fit_fold`` fits both models on every row except that fold's trusted
    rows (the other trusted rows included, as the method would use them)
    and predicts the held-out ones. No row is ever scored by a model that
    saw it, so the test is honest even though the correction itself uses
    trusted rows.

    Parameters
    ----------
    fit_fold : callable
        ``fit_fold(fit_rows, trusted_fit, test_rows) -> (proba_corrected,
        proba_plain)``: fit the corrected and the plain model on the rows
        ``fit_rows`` (indices into ``X``) whose trusted ones are
        ``trusted_fit`` (a mask over ``fit_rows``), and return both models'
        class probabilities for the rows ``test_rows``, each of shape
        ``(len(test_rows), n_classes)`` in encoded class order.

    trusted : ndarray of shape (n_samples,), dtype=bool
        The trusted rows; at least :data:`MIN_TRUSTED_FOR_CHECK`.

    y_encoded : ndarray of shape (n_samples,)
        Labels encoded as ``0 .. n_classes - 1``; the trusted ones are
        verified.

    n_splits : int, default=2
        Number of folds of the trusted rows.

    random_state : int, RandomState instance or None, default=None
        Seeds the folds.

    Returns
    -------
    check : HarmCheck
        Both models' out-of-fold accuracy and log-loss, and the verdict.

    Notes
    -----
    **The rule.** Let ``b`` be the held-out rows that only the corrected
    model predicts right and ``c`` those that only the plain model does.
    The correction is kept when ``b - c >= sqrt(b + c)`` (it wins by one
    standard deviation of the paired difference, a one-sided sign test at
    about 84 %); when both models predict every row alike, when the
    log-loss is not worse. Otherwise it is judged harmful and the
    estimators return the plain model. The margin is there because a method
    that picks its own settings on the trusted rows is optimistic on them:
    with a plain "not worse" rule, RDIA's self-configured corrections passed
    by a row or two and lost up to a point on test data in 4 of 26 grid
    cells.

    **Reliability.** Each model is fitted with a share ``1 - 1/n_splits`` of
    the trusted rows, so the test judges a slightly weaker correction than
    the final one. With ``m`` trusted rows, one row is ``1/m`` of accuracy:
    with a few dozen rows only large gains (several rows net) pass, and a
    small real gain is given up for the plain model. That is the intended
    direction of error: the estimator never returns a correction that the
    trusted rows do not support.
    """
    folds = trusted_folds(trusted, y_encoded, n_splits, random_state)
    return _cross_fitted_check(fit_fold, trusted, y_encoded, folds, "trusted")


def compare_held_out(fit_fold, trusted, y_encoded, *, n_splits=2, random_state=None):
    """Do-no-harm test on the trusted rows, or on the given labels without them.

    With at least :data:`MIN_TRUSTED_FOR_CHECK` trusted rows this is
    :func:`compare_on_trusted`. With fewer, every row is held out once over
    ``n_splits`` folds stratified by its given label, and both models are
    scored against those labels (``HarmCheck.labels == "noisy"``); the
    trusted rows, if any, are scored against their verified labels.

    Parameters
    ----------
    fit_fold : callable
        As in :func:`compare_on_trusted`; ``test_rows`` may hold rows that
        are not trusted.

    trusted : ndarray of shape (n_samples,), dtype=bool
        The trusted rows (possibly none).

    y_encoded : ndarray of shape (n_samples,)
        Labels encoded as ``0 .. n_classes - 1``.

    n_splits : int, default=2
        Number of folds.

    random_state : int, RandomState instance or None, default=None
        Seeds the folds.

    Returns
    -------
    check : HarmCheck or None
        The verdict; None when there are too few rows for the test (fewer
        than ``n_splits * MIN_TRUSTED_FOR_CHECK``, or a class with fewer
        than ``n_splits`` rows).

    Notes
    -----
    **Why given labels can judge.** A held-out row is never seen by the
    model that predicts it, so its noise cannot be memorised. If a share
    ``eta`` of labels is flipped uniformly over the other ``K - 1``
    classes, a model of clean accuracy ``a`` agrees with the given labels
    at the rate ``eta / (K - 1) + a (1 - eta K / (K - 1))``: increasing in
    ``a`` while ``eta < (K - 1) / K``, so the model that agrees more with
    the given labels is the more accurate one. The same holds for pair
    noise below 50 %, where a class's true label stays its most frequent
    given label. The difference in agreement is the difference in accuracy
    shrunk by ``1 - eta K / (K - 1)``, so the same margin rule
    (``b - c >= sqrt(b + c)``) is stricter than on trusted rows: a noisy
    check is conservative, falling back more often, never less. It cannot
    help when the noise is so heavy or so structured that the given labels
    no longer favour the true class; trusted rows are then the only sound
    judge.
    """
    trusted = np.asarray(trusted, dtype=bool)
    if trusted.sum() >= MIN_TRUSTED_FOR_CHECK:
        return compare_on_trusted(
            fit_fold, trusted, y_encoded, n_splits=n_splits, random_state=random_state
        )
    _, counts = np.unique(y_encoded, return_counts=True)
    if len(y_encoded) < n_splits * MIN_TRUSTED_FOR_CHECK or counts.min() < n_splits:
        return None
    every_row = np.ones(len(y_encoded), dtype=bool)
    folds = trusted_folds(every_row, y_encoded, n_splits, random_state)
    return _cross_fitted_check(fit_fold, trusted, y_encoded, folds, "noisy")


def _cross_fitted_check(fit_fold, trusted, y_encoded, folds, labels):
    """Fit both models without each fold, score it, and apply the margin rule."""
    test_rows = np.concatenate([np.flatnonzero(fold) for fold in folds])
    proba = {"corrected": [], "plain": []}
    for held_out in folds:
        fit_rows = np.flatnonzero(~held_out)
        corrected, plain = fit_fold(
            fit_rows, trusted[fit_rows], np.flatnonzero(held_out)
        )
        proba["corrected"].append(corrected)
        proba["plain"].append(plain)
    y_test = y_encoded[test_rows]
    right, losses = {}, {}
    for name, parts in proba.items():
        P = np.vstack(parts)
        right[name] = np.argmax(P, axis=1) == y_test
        eps = np.finfo(np.float64).eps
        picked = np.clip(P[np.arange(len(y_test)), y_test], eps, None)
        losses[name] = float(-np.mean(np.log(picked)))
    n_better = int(np.sum(right["corrected"] & ~right["plain"]))
    n_worse = int(np.sum(right["plain"] & ~right["corrected"]))
    if n_better + n_worse:
        harmful = n_better - n_worse < WIN_MARGIN_SD * np.sqrt(n_better + n_worse)
    else:  # the same predictions everywhere: the log-loss decides
        harmful = losses["corrected"] > losses["plain"]
    return HarmCheck(
        float(right["corrected"].mean()),
        float(right["plain"].mean()),
        losses["corrected"],
        losses["plain"],
        len(test_rows),
        n_better,
        n_worse,
        bool(harmful),
        labels,
    )
