"""RDIA: relabel harmful training samples found by influence functions."""

import inspect
import warnings
from numbers import Real

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import LinearOperator, cg
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    _fit_context,
    clone,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._metadata_requests import RequestMethod
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_is_fitted,
    validate_data,
)

from .adapters import LinearAdapter, is_skorch_net
from .utils._meta import accepts_sparse, base_estimator, estimator_has
from .utils._validation import check_validation_data
from .utils._verbose import ProgressLogger

_INT32_MAX = np.iinfo(np.int32).max

# Relative residual of the conjugate-gradient solve of H u = g_va (spec: ≤ 1e-8).
_CG_RTOL = 1e-10


def _default_estimator(n_classes=2):
    """Return the paper's base model, with lbfgs where liblinear cannot fit."""
    if n_classes > 2:
        # liblinear is one-vs-rest only and refuses more than two classes.
        return LogisticRegression(
            C=0.1, fit_intercept=False, solver="lbfgs", tol=1e-7, max_iter=1000
        )
    return LogisticRegression(
        C=0.1, fit_intercept=False, solver="liblinear", tol=1e-7, max_iter=100
    )


def _final_step(estimator):
    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator


def _seed_estimator(estimator, seed):
    """Set every ``random_state`` of ``estimator`` (and its steps) to ``seed``."""
    keys = [
        key
        for key in estimator.get_params(deep=True)
        if key == "random_state" or key.endswith("__random_state")
    ]
    if keys:
        estimator.set_params(**dict.fromkeys(keys, int(seed)))
    return estimator


class _LogisticModel:
    """What the closed-form influence needs to know about a LogisticRegression.

    The objective of scikit-learn's L2 logistic regression is, with every
    solver, ``½‖W‖² + C Σ_i loss_i`` up to a constant factor. With
    ``fit_intercept=True`` the model reads an extra constant feature of value
    ``intercept_scaling`` (liblinear, whose intercept weight is regularised
    like the others) or ``1`` (every other solver, which leaves the intercept
    unpenalised).
    """

    def __init__(self, model, n_classes):
        params = model.get_params()
        penalty = params.get("penalty", "l2")
        l1_ratio = params.get("l1_ratio")
        if penalty == "deprecated":  # scikit-learn >= 1.8: l1_ratio decides
            penalty = "l2" if not l1_ratio else "elasticnet"
        elif penalty == "elasticnet" and l1_ratio == 0:
            penalty = "l2"
        C = params["C"]
        if penalty != "l2" or not np.isfinite(C):
            raise ValueError(
                "RDIARelabeler needs an L2-regularised LogisticRegression as "
                f"estimator: its influence is derived for ½‖w‖² + C Σ loss; got "
                f"penalty={params.get('penalty')!r}, l1_ratio={l1_ratio!r}, C={C!r}."
            )
        if params.get("class_weight") is not None:
            raise ValueError(
                "RDIARelabeler does not model class_weight in its influence; set "
                "class_weight=None on the estimator (got "
                f"class_weight={params['class_weight']!r})."
            )
        solver = params.get("solver", "lbfgs")
        if n_classes > 2 and solver == "liblinear":
            raise ValueError(
                f"The estimator's solver='liblinear' cannot fit {n_classes} classes "
                "(it is one-vs-rest only); RDIARelabeler's multi-class influence "
                "needs a multinomial LogisticRegression, e.g. solver='lbfgs'."
            )
        self.C = float(C)
        self.fit_intercept = bool(params.get("fit_intercept", True))
        liblinear = solver == "liblinear"
        self.intercept_scale = float(params["intercept_scaling"]) if liblinear else 1.0
        self.intercept_penalty = 1.0 / self.C if liblinear else 0.0


def _check_linear_estimator(estimator, n_classes):
    """Return the closed-form description of ``estimator`` or raise."""
    final = _final_step(estimator)
    if not isinstance(final, LogisticRegression) or isinstance(
        final, LogisticRegressionCV
    ):
        raise TypeError(
            "RDIARelabeler computes influence in closed form for logistic "
            "regression: estimator must be a LogisticRegression (alone or as the "
            "last step of a Pipeline), or a skorch NeuralNetClassifier for "
            f"RDIA-LS; got {type(final).__name__}."
        )
    return _LogisticModel(final, n_classes)


# --------------------------------------------------------------------------
# Closed-form influence for (multinomial) logistic regression
# --------------------------------------------------------------------------
def _as_dense(result):
    return np.asarray(result)


def _hessian_operator(Z, proba, model):
    """Return ``H = Zᵀ D Z + I/C`` as an operator, with its diagonal.

    ``proba`` is ``(n, 1)`` with ``P(class 1)`` for the binary model, else
    ``(n, K)``. Parameters are the weights ``(d, k)`` stacked over one more
    row for the intercept when the model fits one; they are flattened
    row-major. The diagonal serves as a Jacobi preconditioner.
    """
    n_features = Z.shape[1]
    n_out = proba.shape[1]
    n_rows = n_features + int(model.fit_intercept)
    scale, penalty, inv_C = model.intercept_scale, model.intercept_penalty, 1 / model.C

    if n_out == 1:
        weight = (proba * (1.0 - proba)).ravel()

        def curvature(T):
            return weight[:, None] * T

        diag_weight = weight[:, None]
    else:

        def curvature(T):
            A = proba * T
            return A - proba * A.sum(axis=1, keepdims=True)

        diag_weight = proba * (1.0 - proba)

    def matvec(v):
        V = np.asarray(v, dtype=np.float64).reshape(n_rows, n_out)
        T = _as_dense(Z @ V[:n_features])
        if model.fit_intercept:
            T = T + scale * V[n_features]
        M = curvature(T)
        out = np.empty_like(V)
        out[:n_features] = _as_dense(Z.T @ M) + inv_C * V[:n_features]
        if model.fit_intercept:
            out[n_features] = scale * M.sum(axis=0) + penalty * V[n_features]
        return out.ravel()

    squared = Z.multiply(Z) if sparse.issparse(Z) else np.square(Z)
    diag = np.empty((n_rows, n_out))
    diag[:n_features] = _as_dense(squared.T @ diag_weight) + inv_C
    if model.fit_intercept:
        diag[n_features] = scale**2 * diag_weight.sum(axis=0) + penalty
    diag = np.maximum(diag.ravel(), np.finfo(np.float64).tiny)
    size = n_rows * n_out
    operator = LinearOperator((size, size), matvec=matvec, dtype=np.float64)
    return operator, diag


def _cg_solve(operator, rhs, diag):
    """Solve ``operator @ u = rhs`` by Jacobi-preconditioned conjugate gradients."""
    size = rhs.shape[0]
    precond = LinearOperator((size, size), matvec=lambda v: v / diag, dtype=np.float64)
    n_iter = [0]

    def count(_):
        n_iter[0] += 1

    kwargs = {"maxiter": max(1000, 10 * size), "M": precond, "callback": count}
    if "rtol" in inspect.signature(cg).parameters:
        kwargs.update(rtol=_CG_RTOL, atol=0.0)
    else:  # pragma: no cover - scipy < 1.12
        kwargs.update(tol=_CG_RTOL, atol=0.0)
    solution, info = cg(operator, rhs, **kwargs)
    if info != 0:
        warnings.warn(
            f"Conjugate gradients did not reach rtol={_CG_RTOL:g} in {n_iter[0]} "
            "iterations; the influence scores are approximate.",
            ConvergenceWarning,
            stacklevel=7,
        )
    return solution, n_iter[0]


def _stack_gradient(Z, residuals, model):
    """``Σ_i ∂loss_i/∂θ``: ``Zᵀ R`` over one more row for the intercept."""
    grad = _as_dense(Z.T @ residuals)
    if model.fit_intercept:
        grad = np.vstack([grad, model.intercept_scale * residuals.sum(axis=0)])
    return grad


def _logistic_influence(Z_tr, y_tr, res_tr, Z_va, res_va, model):
    """Closed-form influence of every training sample on the validation loss.

    ``res_*`` are the per-sample gradients of the loss with respect to the
    logits (``p - y`` for the model's link), as the model adapter returns them;
    ``Z_*`` the features the model reads. Returns ``(phi, gain, target,
    n_iter)``: the up-weighting influence φ, the relabelling gain (``C`` times
    the predicted decrease of the summed validation loss when the sample is
    relabelled to ``target``), the best new class, and the number of CG
    iterations.
    """
    binary = res_tr.shape[1] == 1
    if binary:
        targets = (y_tr == 1)[:, None].astype(np.float64)
    else:
        targets = np.zeros_like(res_tr)
        targets[np.arange(len(y_tr)), y_tr] = 1.0
    proba_tr = res_tr + targets

    operator, diag = _hessian_operator(Z_tr, proba_tr, model)
    grad_va = _stack_gradient(Z_va, res_va, model)
    solution, n_iter = _cg_solve(operator, grad_va.ravel(), diag)
    U = solution.reshape(grad_va.shape)

    # One mat-vec for all samples: Q[i, k] = x̃_iᵀ U[:, k].
    n_features = Z_tr.shape[1]
    Q = _as_dense(Z_tr @ U[:n_features])
    if model.fit_intercept:
        Q = Q + model.intercept_scale * U[n_features]
    phi = -model.C * np.sum(res_tr * Q, axis=1)
    if binary:
        # Flipping ỹ changes the gradient by (2ỹ − 1) x̃, so the predicted
        # decrease of the validation loss is (2ỹ − 1) x̃ᵀu = φ / (C (1 − p_ỹ)).
        gain = model.C * (2.0 * y_tr - 1.0) * Q[:, 0]
        target = 1 - y_tr
    else:
        # Moving ỹ → k changes the gradient by x̃ (e_k − e_ỹ), so the validation
        # loss changes by Q[i, k] − Q[i, ỹ]: the best k minimises Q[i, k].
        target = np.argmin(Q, axis=1)
        gain = model.C * (
            Q[np.arange(len(y_tr)), y_tr] - Q[np.arange(len(y_tr)), target]
        )
    return phi, gain, target, n_iter


# --------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------
class RDIARelabeler(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    r"""Relabel harmful training samples by influence functions (RDIA).

    RDIA [1]_ fits a logistic regression on the noisy training labels,
    estimates in closed form how much every training sample raises the loss
    of a clean *validation* set, relabels the samples estimated to be harmful
    and refits the model on all training rows with the new labels.

    The estimator plays two roles:

    - a **sampler**: :meth:`fit_resample` returns ``(X, y_relabeled)`` with
      the same rows, for an :class:`imblearn.pipeline.Pipeline` step;
    - a **classifier**: :meth:`fit` then :meth:`predict`,
      :meth:`predict_proba`, :meth:`decision_function` and :meth:`score`,
      which delegate to the refitted ``estimator_``.

    Parameters
    ----------
    estimator : LogisticRegression or Pipeline, default=None
        The base model: an L2-regularised
        :class:`~sklearn.linear_model.LogisticRegression`, alone or as the
        last step of a :class:`~sklearn.pipeline.Pipeline` (the influence is
        then taken for the last step, with the preprocessing held fixed). Its
        ``C``, ``fit_intercept``, ``solver`` and ``intercept_scaling`` enter
        the influence. Other penalties and ``class_weight`` are rejected.
        ``None`` means the paper's
        ``LogisticRegression(C=0.1, fit_intercept=False, solver="liblinear",
        tol=1e-7, max_iter=100)``, with ``solver="lbfgs", max_iter=1000`` for
        more than two classes. It is cloned, never fitted in place.

        A skorch :class:`~skorch.NeuralNetClassifier` selects the deep variant,
        RDIA-LS (see Notes): the network is trained with the RDIA-LS loss on
        its own ``device`` and becomes ``estimator_`` directly, without a
        refit. ``alpha``, ``alpha_scale``, ``criterion``, ``validation_fraction``
        and ``split`` do not apply to it; ``noise_rate`` is required.

    alpha : float, default=0.0002
        Threshold: samples with score ``> alpha`` are relabelled. The score
        is in the paper's units, ``C`` times the predicted decrease of the
        *summed* validation loss (see ``alpha_scale``), so the paper's values
        0.01, 0.002 and 0.0002 transfer. ``alpha=0`` relabels every sample
        predicted to be harmful.

    alpha_scale : {"sum", "mean"}, default="sum"
        ``"sum"`` compares the score to ``alpha`` as is (the paper);
        ``"mean"`` divides it by the number of validation samples first, so
        that ``alpha`` does not grow with the validation set.

    criterion : {"upweight", "relabel"}, default="upweight"
        The score that is thresholded. ``"upweight"`` is the influence φ of
        up-weighting (equivalently, of dropping) a sample, as in the paper's
        code. ``"relabel"`` is the predicted gain of relabelling it,
        ``φ / (1 - p_ỹ)`` for two classes.

    mode : {"relabel", "drop"}, default="relabel"
        ``"relabel"`` flips the selected labels (RDIA). ``"drop"`` removes the
        selected samples instead, the paper's dropout baseline.

    validation_fraction : float in (0, 1), default=0.3
        Share of the training data held out as validation set when no
        ``X_val, y_val`` are passed to :meth:`fit`.

    split : {"random", "tail"}, default="random"
        How that share is held out: a class-stratified random draw seeded by
        ``random_state``, or the last rows, as the paper's code does.

    noise_rate : float in [0, 1), default=None
        RDIA-LS only (skorch networks), where it is required: the estimated
        share of wrong labels, the share of every batch not trained as clean.

    gamma : float in [0, 1], default=0.5
        RDIA-LS only: weight of the clean part of the loss against the
        relabelling part (the paper: 0.2 on MNIST, 0.05 on CIFAR-10).

    negative_rate : float in [0, 1), default=None
        RDIA-LS only: share of every batch discarded at the high-loss end;
        None means ``noise_rate / 2``, as in the paper's code.

    legacy_loss : bool, default=False
        RDIA-LS only: reproduce the paper code's loss with its quirks (a
        double softmax, an extra division by the batch size, NaN when no
        sample is unsure) instead of the corrected loss.

    random_state : int, RandomState instance or None, default=None
        Seeds the validation split and the base estimator's
        ``random_state`` (for a skorch network, its private torch random
        stream), from independent child streams. Pass an int for
        reproducible results.

    verbose : int, default=0
        Print one line per stage (initial fit, influence, refit) when
        positive.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen in :meth:`fit`.

    n_features_in_ : int
        Number of features seen during :meth:`fit`.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :meth:`fit`, when ``X`` has string
        column names.

    initial_estimator_ : estimator object
        Clone of the base model fitted on the training rows and noisy labels.
        Not set for RDIA-LS.

    estimator_ : estimator object
        Clone of the base model refitted on all training rows with the new
        labels (``mode="relabel"``) or on the kept rows (``mode="drop"``).
        The methods :meth:`predict` and friends delegate to it.

    influence_ : ndarray of shape (n_samples,)
        φ of every row of ``X`` in paper units; positive means harmful. NaN
        for the rows held out as validation set. Not set for RDIA-LS.

    relabel_influence_ : ndarray of shape (n_samples,)
        ``C`` times the predicted decrease of the summed validation loss when
        the sample is relabelled to its best other class (the flip for two
        classes, where it equals ``φ / (1 - p_ỹ)``); NaN for held-out rows.
        Not set for RDIA-LS.

    training_loss_ : ndarray of shape (n_samples,)
        RDIA-LS only: cross-entropy of the trained network on every training
        row and its noisy label, which ranks the rows for the sampler output.

    relabeled_mask_ : ndarray of shape (n_samples,), dtype=bool
        The selected samples: relabelled, or dropped with ``mode="drop"``.
        For RDIA-LS, the rows ranked *unsure* (see Notes).

    discarded_mask_ : ndarray of shape (n_samples,), dtype=bool
        RDIA-LS only: the rows with the largest losses, left out of the
        sampler output.

    relabeled_indices_ : ndarray of shape (n_relabeled_,)
        Indices of the selected samples.

    n_relabeled_ : int
        Number of selected samples.

    y_relabeled_ : ndarray of shape (n_samples,)
        The new labels of all rows, in the original label space. Equal to
        ``y`` with ``mode="drop"``.

    validation_mask_ : ndarray of shape (n_samples,), dtype=bool
        Rows of ``X`` held out as validation set; all False when
        ``X_val, y_val`` were given.

    sample_indices_ : ndarray of shape (n_resampled,)
        Rows of ``X`` returned by :meth:`fit_resample`: all of them with
        ``mode="relabel"``, the non-dropped ones with ``mode="drop"``.

    See Also
    --------
    sklearn.linear_model.LogisticRegression : The base model.
    imblearn.pipeline.Pipeline : Runs :meth:`fit_resample` as a step.
    sknoisy.noise.make_label_noise : Synthetic label noise for experiments.

    Notes
    -----
    **Influence.** With ``θ̂`` the fitted parameters of the objective
    ``½‖θ‖² + C Σ_i ℓ(x_i, ỹ_i)`` on the noisy training labels ``ỹ``,
    ``p_i = σ(θ̂ᵀx_i)`` and ``D = diag(p_i (1 - p_i))``,

    .. math::

        g_{va} = \sum_{j \in val} (p_j - y_j) x_j, \quad
        H = X^\top D X + I / C, \quad
        \phi_i = -C (p_i - \tilde y_i)\, x_i^\top H^{-1} g_{va}.

    Dropping sample ``i`` changes the summed validation loss by about
    ``-φ_i / C`` and flipping its label by about ``-φ_i / (C (1 - p_ỹ))``:
    φ > 0 means harmful. ``H`` is never formed: one conjugate-gradient
    solve of ``H u = g_va`` with the operator ``v ↦ Xᵀ(D ⊙ Xv) + v / C``
    (relative tolerance 1e-10) and one mat-vec ``X u`` give every φ_i, in
    ``O(k · nnz(X))`` for ``k`` CG iterations; sparse input stays sparse.

    **Intercept.** With ``fit_intercept=True`` each ``x_i`` is augmented
    with a constant feature. liblinear regularises the intercept: the
    feature is ``intercept_scaling`` and its weight gets ``1/C`` in ``H``
    like the others. The other solvers do not: the feature is 1 and its
    diagonal entry gets no ``1/C``.

    **Multi-class** (an extension of ours, not in the paper, whose code is
    binary only). For a multinomial logistic regression with parameters
    ``W`` (``d × K``) the Hessian-vector product is
    ``Xᵀ[(P ⊙ XV) - P ⊙ rowsum(P ⊙ XV)] + V / C`` over the flattened
    ``K · d`` parameters, solved by CG as above; with ``U = H⁻¹ G_va`` and
    ``Q = X U``, ``φ_i = -C Σ_k Q_ik (p_ik - [k = ỹ_i])``. A selected sample
    is relabelled to the class ``k`` that most reduces the validation loss
    to first order, ``argmin_k Q_ik`` (the predicted change is
    ``Q_ik - Q_iỹ``). For two classes this is the paper's flip.

    **Validation data.** RDIA needs a *clean* validation set: pass it as
    ``X_val, y_val``, in the feature space of ``X``. Without it a share of
    the noisy training data is held out, with a ``UserWarning``: a noisy
    validation set weakens RDIA considerably. Validation rows never enter
    either fit. scikit-learn's cross-validation slices every fit parameter
    with as many rows as ``X``, so an ``X_val`` of that length inside
    :class:`~sklearn.model_selection.GridSearchCV` would be split silently;
    :meth:`fit` warns when the lengths are equal. In an
    :class:`imblearn.pipeline.Pipeline`, step parameters reach
    :meth:`fit_resample` only with metadata routing enabled: request them
    with ``set_fit_request`` and ``set_fit_resample_request`` (the latter
    works once :mod:`imblearn` is imported, which patches scikit-learn's
    list of routable methods).

    **RDIA-LS** (skorch networks). The paper's deep variant replaces the
    influence with a per-batch loss ranking
    (:class:`sknoisy.RDIALSClassifier`): every training batch is
    sorted by cross-entropy; the first ``int((1 - noise_rate) B)`` samples
    are trained with cross-entropy, the last ``int(negative_rate B)`` are
    discarded and those in between get RDIA's relabelling loss
    ``-log(1 - p_ỹ)``, weighted ``gamma`` and ``1 - gamma``. As in the
    paper's code, the first 9 epochs warm up on the small-loss share while
    the forget rate ramps up, and from epoch 80 the learning rate decays
    linearly with Adam's ``beta1 = 0.1`` (callback ``rdia_ls_schedule`` of the
    network, tunable as ``estimator__callbacks__rdia_ls_schedule__...``). The
    default loss corrects the paper's code (no double softmax, no extra
    division by the batch size, no NaN at a noise rate of zero);
    ``legacy_loss=True`` restores it. ``X_val, y_val`` become the network's
    validation data, scored every epoch in ``estimator_.history``; without
    them the network's own ``train_split`` applies. As a sampler (our
    extension: RDIA-LS relabels inside the loss only), all training rows
    are ranked by the trained network's loss and split like a batch: the
    *unsure* rows are relabelled to the network's most likely other class
    (the flip for two classes, which is R), the *discarded* rows are left
    out, and ``mode="drop"`` leaves out both.

    **Tuning alpha.** Tune ``alpha`` against clean labels with
    ``scoring="neg_log_loss"`` on a
    :class:`~sklearn.model_selection.PredefinedSplit` whose test fold is the
    clean validation set (see Examples): plain K-fold CV on noisy labels
    rewards fitting the noise. At low noise RDIA trades accuracy for
    log-loss, so tune on log-loss.

    Sample weights are not modelled and not accepted.

    References
    ----------
    .. [1] S. Kong, Y. Shen and L. Huang, "Resolving Training Biases via
       Influence-based Data Relabeling", ICLR 2022,
       https://openreview.net/forum?id=EskfH0bwNVn.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sknoisy import RDIARelabeler
    >>> from sknoisy.noise import make_label_noise
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> X_train, X_val, y_train, y_val = train_test_split(
    ...     X, y, test_size=150, random_state=0)
    >>> y_noisy = make_label_noise(y_train, 0.3, random_state=0)
    >>> rdia = RDIARelabeler().fit(X_train, y_noisy, X_val=X_val, y_val=y_val)
    >>> bool(np.mean(rdia.y_relabeled_ == y_train) > np.mean(y_noisy == y_train))
    True

    As a sampler, the relabelled labels feed any later step:

    >>> X_res, y_res = RDIARelabeler().fit_resample(
    ...     X_train, y_noisy, X_val=X_val, y_val=y_val)
    >>> X_res is X_train
    True

    Tuning ``alpha`` on the clean validation set with a ``PredefinedSplit``
    (the validation rows form the only test fold; ``X_val`` is also the
    influence target, and has another length than the searched data):

    >>> from sklearn.model_selection import GridSearchCV, PredefinedSplit
    >>> X_all, y_all = np.vstack([X_train, X_val]), np.r_[y_noisy, y_val]
    >>> test_fold = np.r_[np.full(len(y_noisy), -1), np.zeros(len(y_val))]
    >>> search = GridSearchCV(
    ...     RDIARelabeler(), {"alpha": [0.01, 0.002, 0.0002]},
    ...     cv=PredefinedSplit(test_fold), scoring="neg_log_loss", refit=False,
    ... ).fit(X_all, y_all, X_val=X_val, y_val=y_val)
    >>> best = RDIARelabeler(**search.best_params_).fit(
    ...     X_train, y_noisy, X_val=X_val, y_val=y_val)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "alpha_scale": [StrOptions({"sum", "mean"})],
        "criterion": [StrOptions({"upweight", "relabel"})],
        "mode": [StrOptions({"relabel", "drop"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "split": [StrOptions({"random", "tail"})],
        "noise_rate": [Interval(Real, 0, 1, closed="left"), None],
        "gamma": [Interval(Real, 0, 1, closed="both")],
        "negative_rate": [Interval(Real, 0, 1, closed="left"), None],
        "legacy_loss": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # imbalanced-learn routes fit parameters to fit_resample only with metadata
    # routing on; declare the request method whatever the import order.
    set_fit_resample_request = RequestMethod("fit_resample", ["X_val", "y_val"])

    def __init__(
        self,
        estimator=None,
        *,
        alpha=0.0002,
        alpha_scale="sum",
        criterion="upweight",
        mode="relabel",
        validation_fraction=0.3,
        split="random",
        noise_rate=None,
        gamma=0.5,
        negative_rate=None,
        legacy_loss=False,
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.alpha = alpha
        self.alpha_scale = alpha_scale
        self.criterion = criterion
        self.mode = mode
        self.validation_fraction = validation_fraction
        self.split = split
        self.noise_rate = noise_rate
        self.gamma = gamma
        self.negative_rate = negative_rate
        self.legacy_loss = legacy_loss
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------- fitting
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, X_val=None, y_val=None):
        """Relabel the harmful training samples and refit the base model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Sparse input is used as CSR without densifying.

        y : array-like of shape (n_samples,)
            Noisy training labels, of any type.

        X_val : {array-like, sparse matrix} of shape (n_val, n_features), \
                default=None
            Clean validation data, in the feature space of ``X``. When None,
            ``validation_fraction`` of ``X`` is held out, with a warning.

        y_val : array-like of shape (n_val,), default=None
            Clean validation labels, each one a label of ``y``; at least two
            classes.

        Returns
        -------
        self : RDIARelabeler
            Fitted estimator.
        """
        self._fit(X, y, X_val, y_val)
        return self

    @_fit_context(prefer_skip_nested_validation=False)
    def fit_resample(self, X, y, X_val=None, y_val=None):
        """Relabel the harmful training samples and return the data.

        Fits exactly as :meth:`fit` does and returns the training data with
        the new labels. Rows held out as validation set keep their labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,)
            Noisy training labels, of any type.

        X_val : {array-like, sparse matrix} of shape (n_val, n_features), \
                default=None
            Clean validation data; see :meth:`fit`.

        y_val : array-like of shape (n_val,), default=None
            Clean validation labels; see :meth:`fit`.

        Returns
        -------
        X_resampled : {array-like, sparse matrix} of shape (n_resampled, \
                n_features)
            ``X`` itself with ``mode="relabel"``; its non-dropped rows with
            ``mode="drop"``.

        y_resampled : ndarray of shape (n_resampled,)
            The new labels in the label space of ``y`` (a pandas Series when
            ``y`` is one).
        """
        self._fit(X, y, X_val, y_val)
        y_out = self.y_relabeled_
        keep = self.sample_indices_
        if len(keep) == len(y_out):
            return X, _like(y, y_out)
        return _safe_indexing(X, keep), _like(y, y_out[keep], keep)

    def _fit(self, X, y, X_val, y_val):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
        )
        check_classification_targets(y)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        n_classes = len(self.classes_)
        if n_classes < 2:
            raise ValueError(
                "RDIARelabeler needs samples of at least two classes in y; got 1 "
                f"class ({self.classes_[0]!r})."
            )
        base = self.estimator
        if base is None:
            base = _default_estimator(n_classes)

        rng = check_random_state(self.random_state)
        split_seq, estimator_seq = np.random.SeedSequence(
            rng.randint(_INT32_MAX)
        ).spawn(2)
        estimator_seed = int(estimator_seq.generate_state(1)[0] % _INT32_MAX)
        self._encoded_outputs = is_skorch_net(base)
        if self._encoded_outputs:
            return self._fit_network(base, X, y_enc, X_val, y_val, estimator_seed)
        model = _check_linear_estimator(base, n_classes)

        n_samples = X.shape[0]
        if X_val is None and y_val is None:
            val_mask = self._hold_out(y_enc, np.random.default_rng(split_seq))
            train_idx = np.flatnonzero(~val_mask)
            X_tr, y_tr = _safe_indexing(X, train_idx), y_enc[train_idx]
            val_idx = np.flatnonzero(val_mask)
            X_va, y_va = _safe_indexing(X, val_idx), y_enc[val_idx]
        else:
            X_va, _, y_va = check_validation_data(
                self, X_val, y_val, n_samples, stacklevel=4
            )
            val_mask = np.zeros(n_samples, dtype=bool)
            train_idx = np.arange(n_samples)
            X_tr, y_tr = X, y_enc
        if len(np.unique(y_va)) < 2:
            raise ValueError(
                "The validation set holds a single class "
                f"({self.classes_[y_va[0]]!r}); RDIA needs validation labels of "
                "at least two classes."
            )
        missing = np.setdiff1d(np.arange(n_classes), y_tr)
        if missing.size:
            raise ValueError(
                f"The training rows lack the classes {self.classes_[missing].tolist()}"
                "; hold out another validation split or pass X_val and y_val."
            )

        logger = ProgressLogger(self.verbose, name=type(self).__name__)
        # --- 1. fit on the noisy training rows --------------------------------
        initial = _seed_estimator(clone(base), estimator_seed)
        initial.fit(X_tr, self.classes_[y_tr])
        self.initial_estimator_ = initial
        logger.log(step="initial fit", n_train=len(y_tr), n_val=len(y_va))

        # --- 2. closed-form influence on the summed validation loss ---------
        phi, gain, target, n_iter = self._fit_influence(
            initial, n_classes, model, X_tr, y_tr, X_va, y_va
        )
        score = phi if self.criterion == "upweight" else gain
        if self.alpha_scale == "mean":
            score = score / len(y_va)
        selected = score > self.alpha
        y_fit = _apply_selection(y_tr, selected, target, self.mode)
        if len(np.unique(y_fit)) < 2:
            warnings.warn(
                f"{'Relabelling' if self.mode == 'relabel' else 'Dropping'} the "
                f"{int(selected.sum())} selected samples would leave a single class "
                "in the training labels, beyond what a first-order influence "
                "estimate can support; nothing was changed. Raise alpha.",
                UserWarning,
                stacklevel=4,
            )
            selected = np.zeros_like(selected)
            y_fit = y_tr

        self.influence_ = np.full(n_samples, np.nan)
        self.influence_[train_idx] = phi
        self.relabel_influence_ = np.full(n_samples, np.nan)
        self.relabel_influence_[train_idx] = gain
        self.relabeled_mask_ = np.zeros(n_samples, dtype=bool)
        self.relabeled_mask_[train_idx] = selected
        self.relabeled_indices_ = np.flatnonzero(self.relabeled_mask_)
        self.n_relabeled_ = int(selected.sum())
        self.validation_mask_ = val_mask
        logger.log(
            step="influence",
            cg_iterations=n_iter,
            harmful=int((phi > 0).sum()),
            selected=self.n_relabeled_,
        )

        # --- 3. relabel (or drop) and refit on the training rows -------------
        y_new = y_enc.copy()
        if self.mode == "relabel":
            y_new[train_idx] = y_fit
            fit_idx = train_idx
            self.sample_indices_ = np.arange(n_samples)
        else:
            fit_idx = train_idx[~selected]
            self.sample_indices_ = np.flatnonzero(~self.relabeled_mask_)
        self.y_relabeled_ = self.classes_[y_new]
        self.estimator_ = _seed_estimator(clone(base), estimator_seed)
        self.estimator_.fit(_safe_indexing(X, fit_idx), self.classes_[y_fit])
        logger.log(step="refit", n_fit=len(fit_idx), n_relabeled=self.n_relabeled_)
        return self

    def _fit_network(self, base, X, y_enc, X_val, y_val, seed):
        """RDIA-LS: train a skorch network with the loss-ranking relabel loss.

        The network itself resists the noise, so there is no refit. The
        sampler output ranks all training rows by the trained network's
        cross-entropy and splits them as RDIA-LS splits a batch.
        """
        from ._rdia_ls import fit_network, make_rdia_ls_network, rdia_ls_split_sizes

        if self.noise_rate is None:
            raise ValueError(
                "RDIARelabeler needs noise_rate with a skorch network: RDIA-LS "
                "forgets that share of every batch; pass an estimate of the "
                "share of wrong labels, e.g. noise_rate=0.2."
            )
        n_samples, n_classes = len(y_enc), len(self.classes_)
        net = make_rdia_ls_network(
            base,
            n_classes,
            noise_rate=self.noise_rate,
            gamma=self.gamma,
            negative_rate=self.negative_rate,
            legacy_loss=self.legacy_loss,
        )
        X = _as_float32(X)
        X_va = y_va = None
        if X_val is not None or y_val is not None:
            X_va, _, y_va = check_validation_data(
                self, X_val, y_val, n_samples, stacklevel=4
            )
            X_va = _as_float32(X_va)
        logger = ProgressLogger(self.verbose, name=type(self).__name__)
        self.estimator_ = fit_network(net, X, y_enc, seed, X_va, y_va)

        proba = self.estimator_.predict_proba(X)
        rows = np.arange(n_samples)
        loss = -np.log(np.clip(proba[rows, y_enc], np.finfo(proba.dtype).tiny, None))
        n_clean, n_unsure, _ = rdia_ls_split_sizes(
            n_samples, self.noise_rate, self.estimator_.negative_rate_value
        )
        order = np.argsort(loss, kind="stable")
        relabeled = np.zeros(n_samples, dtype=bool)
        relabeled[order[n_clean : n_clean + n_unsure]] = True
        discarded = np.zeros(n_samples, dtype=bool)
        discarded[order[n_clean + n_unsure :]] = True
        # R for two classes is the flip; for more, the network's most likely
        # other class.
        others = np.where(np.eye(n_classes, dtype=bool)[y_enc], -np.inf, proba)
        y_new = np.where(relabeled, np.argmax(others, axis=1), y_enc)

        self.training_loss_ = loss
        self.relabeled_mask_ = relabeled
        self.relabeled_indices_ = np.flatnonzero(relabeled)
        self.n_relabeled_ = int(relabeled.sum())
        self.discarded_mask_ = discarded
        self.validation_mask_ = np.zeros(n_samples, dtype=bool)
        if self.mode == "relabel":
            self.y_relabeled_ = self.classes_[y_new]
            self.sample_indices_ = np.flatnonzero(~discarded)
        else:
            self.y_relabeled_ = self.classes_[y_enc]
            self.sample_indices_ = np.flatnonzero(~(relabeled | discarded))
        logger.log(
            step="RDIA-LS",
            epochs=len(self.estimator_.history),
            train_loss=self.estimator_.history[-1, "train_loss"],
            relabeled=self.n_relabeled_,
            discarded=int(discarded.sum()),
        )
        return self

    def _fit_influence(self, initial, n_classes, model, X_tr, y_tr, X_va, y_va):
        """Influence of the training rows: the linear backend.

        Returns φ, the relabelling gain and the best new class (encoded) for
        every training row, and the number of CG iterations. A backend for
        other base models (RDIA-LS for skorch networks) plugs in here.
        """
        adapter = LinearAdapter(initial, n_classes)
        _, res_tr, Z_tr = adapter.loss_and_residuals(X_tr, y_tr)
        _, res_va, Z_va = adapter.loss_and_residuals(X_va, y_va)
        return _logistic_influence(Z_tr, y_tr, res_tr, Z_va, res_va, model)

    def _hold_out(self, y_enc, rng):
        """Boolean mask of the rows held out as (noisy) validation set."""
        warnings.warn(
            "No validation set given: RDIARelabeler holds out "
            f"validation_fraction={self.validation_fraction} of the noisy training "
            "data as validation set. Influence on a noisy validation set weakens "
            "RDIA considerably; pass a clean X_val, y_val to fit (in an imblearn "
            "Pipeline, step parameters reach fit_resample only with metadata "
            "routing enabled).",
            UserWarning,
            stacklevel=5,
        )
        n_samples = len(y_enc)
        mask = np.zeros(n_samples, dtype=bool)
        if self.split == "tail":
            n_val = round(self.validation_fraction * n_samples)
            n_val = min(max(n_val, 1), n_samples - 1)
            mask[n_samples - n_val :] = True
            return mask
        # Class-stratified, keeping at least one row of every class for
        # training and, where a class has two rows, one for validation.
        for k in range(int(y_enc.max()) + 1):
            rows = np.flatnonzero(y_enc == k)
            if rows.size < 2:
                continue
            n_val = round(self.validation_fraction * rows.size)
            n_val = min(max(n_val, 1), rows.size - 1)
            mask[rng.permutation(rows)[:n_val]] = True
        return mask

    # ---------------------------------------------------------- prediction
    def _validated(self, X):
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=False
        )
        return _as_float32(X) if self._encoded_outputs else X

    @available_if(estimator_has("predict"))
    def predict(self, X):
        """Predict with the refitted ``estimator_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels.
        """
        X = self._validated(X)
        y_pred = self.estimator_.predict(X)
        # skorch networks predict the encoded classes.
        return self.classes_[y_pred] if self._encoded_outputs else y_pred

    @available_if(estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Return the class probabilities of the refitted ``estimator_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_`` (zero for a class that
            relabelling removed from the training rows).
        """
        X = self._validated(X)
        proba = self.estimator_.predict_proba(X)
        return self._align(proba, 0.0)

    @available_if(estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Return the log-probabilities of the refitted ``estimator_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        X = self._validated(X)
        log_proba = self.estimator_.predict_log_proba(X)
        return self._align(log_proba, -np.inf)

    @available_if(estimator_has("decision_function"))
    def decision_function(self, X):
        """Return the decision function of the refitted ``estimator_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The logit of ``classes_[1]`` for two classes, else one column per
            class.
        """
        X = self._validated(X)
        scores = self.estimator_.decision_function(X)
        return self._align(scores, -np.inf) if scores.ndim == 2 else scores

    def _align(self, columns, fill):
        """Pad per-class columns of ``estimator_`` to ``classes_``."""
        seen = self.estimator_.classes_
        if len(seen) == len(self.classes_):
            return columns
        full = np.full((columns.shape[0], len(self.classes_)), fill)
        full[:, np.searchsorted(self.classes_, seen)] = columns
        return full

    def _make_default_estimator(self):
        return _default_estimator()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # At the default alpha RDIA relabels clean samples too (it trades
        # accuracy for validation log-loss, see the paper's noise-0 results),
        # so it may miss the 0.83 accuracy scikit-learn expects on clean blobs.
        tags.classifier_tags.poor_score = True
        tags.input_tags.sparse = accepts_sparse(base_estimator(self))
        return tags


def _as_float32(X):
    """``X`` as float32, the dtype of torch modules' weights."""
    return X.astype(np.float32, copy=False)


def _apply_selection(y, selected, target, mode):
    """Training labels after relabelling (or without the dropped rows)."""
    if mode == "relabel":
        return np.where(selected, target, y)
    return y[~selected]


def _like(y, values, rows=None):
    """Return ``values`` as a pandas Series like ``y`` when ``y`` is one."""
    if hasattr(y, "iloc") and hasattr(y, "index") and getattr(y, "ndim", 1) == 1:
        index = y.index if rows is None else y.index[rows]
        return type(y)(values, index=index, name=y.name)
    return values
