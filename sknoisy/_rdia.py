"""RDIA: relabel harmful training samples found by influence functions."""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from scipy.special import expit, softmax
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

from .adapters import (
    LinearAdapter,
    fit_as_configured,
    is_skorch_net,
    private_random_stream,
)
from .exceptions import CorrectionFallbackWarning, UncheckedCorrectionWarning
from .model_selection import (
    MIN_TRUSTED_FOR_CHECK,
    compare_held_out,
    compare_on_trusted,
    trusted_folds,
)
from .utils._meta import (
    SamplerFeatureNamesMixin,
    accepts_sparse,
    base_estimator,
    estimator_has,
    seed_estimator,
    user_random_state,
)
from .utils._output import resampled
from .utils._parallel import RowBlocks
from .utils._tags import sampler_tags
from .utils._threads import blas_threads_for_fit
from .utils._validation import as_float32, resolve_clean_data
from .utils._verbose import ProgressLogger
from .utils._warnings import user_stacklevel

_INT32_MAX = np.iinfo(np.int32).max

# Block CG of alpha="auto" (the folds' targets): they rank candidates, for
# which 1e-5 is ample and much cheaper; an explicit alpha keeps the single
# solve at _CG_RTOL. (Until 2026-12 the target was 1e-6, which the Jacobi-
# preconditioned CG capped at 100 iterations did not reach on multi-class
# data: 2e-4 to 2e-3 on digits, 2e-2 on 10-class MNIST.)
_BLOCK_CG_RTOL = 1e-5
_BLOCK_CG_MAXITER = 100
# Relative residual that conjugate gradients reach with float32 products
# (their rounding is about 1e-6 of each product); tighter targets refine
# against float64 residuals (_Influence.solve_many).
_FLOAT32_RTOL = 1e-3
# Rounds of float32 products in a refined solve, enough for _BLOCK_CG_RTOL;
# later rounds run in float64 (near a relative residual of 1e-6 float32
# products stall).
_FLOAT32_ROUNDS = 2
# The candidates' Newton steps of alpha="auto" only screen the shares to
# refit, by the held-out loss at the step, and the steps towards the refits
# only start the solver: the Newton step is a first-order stand-in for the
# refit, off by far more than a relative residual of 1e-2 (on 45 runs over
# breast cancer, digits and wine, 1e-2 and 1e-6 chose the same shares).
_SCREEN_CG_RTOL = 1e-2
# Newton steps (the first exact, the next with the initial Hessian) towards
# the final refit of a relabelling, from where the solver finishes.
_REFIT_NEWTON_STEPS = 2

# Relative residual of the conjugate-gradient solve of H u = g_va (spec: ≤ 1e-8).
_CG_RTOL = 1e-10


def _default_estimator(n_classes=2):
    """Return the default base model, scikit-learn's logistic regression.

    The paper's ``C=0.1`` without intercept (liblinear) suits its scaled
    LIBSVM data but underfits TF-IDF text and multi-class data; see the
    class Notes for the measurement. ``n_classes`` is accepted for callers
    that build the default for a given number of classes.
    """
    del n_classes
    return LogisticRegression(max_iter=1000)


def _final_step(estimator):
    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator


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


def _with_intercept_row(data_part, intercept_part, fit_intercept):
    """Stack the intercept's row under the features' rows when there is one."""
    if not fit_intercept:
        return data_part
    return np.concatenate([data_part, intercept_part[None]], axis=0)


def _hessian_data_product(Z, curvature, W, scale, fit_intercept):
    """One row block's part of ``Z̃ᵀ D Z̃ W``, the data term of ``H W``.

    ``W`` is ``(rows, outputs, columns)``: the stacked parameters of several
    vectors. ``curvature`` is the block's ``p (1 - p)`` as ``(n, 1, 1)`` for
    the binary model, else its class probabilities as ``(n, K, 1)``; for
    ``K`` outputs the softmax's curvature applied to ``T = Z̃ W`` is
    ``P ⊙ T - P ⊙ rowsum(P ⊙ T)``. Everything is in the dtype of ``Z``.
    """
    n_features = Z.shape[1]
    n_out, n_cols = W.shape[1], W.shape[2]
    T = np.asarray(Z @ W[:n_features].reshape(n_features, -1))
    M = T.reshape(-1, n_out, n_cols)
    if fit_intercept:
        M += scale * W[n_features]
    M *= curvature  # in place: the block's products are its largest arrays
    if n_out > 1:
        M -= curvature * M.sum(axis=1, keepdims=True)
    data = _as_dense(Z.T @ T).reshape(n_features, n_out, -1)
    return _with_intercept_row(data, scale * M.sum(axis=0), fit_intercept)


def _weighted_gram(Z, weight, scale, fit_intercept):
    """One row block's part of ``Z̃ᵀ diag(weight) Z̃`` (dense, float64)."""
    root = np.sqrt(weight).astype(Z.dtype)
    if sparse.issparse(Z):
        Zw = sparse.diags(root) @ Z
        gram = (Zw.T @ Zw).toarray()
    else:
        Zw = Z * root[:, None]
        gram = Zw.T @ Zw  # one symmetric product (BLAS syrk)
    gram = np.asarray(gram, dtype=np.float64)
    if not fit_intercept:
        return gram
    column = scale * _as_dense(Z.T @ weight.astype(Z.dtype)).astype(np.float64)
    n_features = Z.shape[1]
    full = np.empty((n_features + 1, n_features + 1))
    full[:n_features, :n_features] = gram
    full[:n_features, n_features] = full[n_features, :n_features] = column
    full[n_features, n_features] = scale**2 * weight.sum()
    return full


def _feature_blocks(Z, proba, scale, fit_intercept):
    """One row block's part of the Hessian's ``K × K`` blocks of each feature.

    Block ``j`` is ``Σ_i z_ij² S_i`` with ``S_i = diag(p_i) - p_i p_iᵀ``
    (``p (1 - p)`` for the binary model): ``(rows, K, K)``.
    """
    squared = Z.multiply(Z).tocsr() if sparse.issparse(Z) else np.square(Z)
    squared = squared.astype(np.float64)
    n_out = proba.shape[1]
    if n_out == 1:
        curvature = [proba * (1.0 - proba)]
    else:
        # One column of the outer products p_i p_iᵀ at a time: O(n K) memory.
        curvature = [
            np.where(np.arange(n_out) == k, proba, 0.0) - proba * proba[:, [k]]
            for k in range(n_out)
        ]
    data = np.stack([_as_dense(squared.T @ c) for c in curvature], axis=2)
    intercept = np.stack([scale**2 * c.sum(axis=0) for c in curvature], axis=1)
    return _with_intercept_row(data, intercept, fit_intercept)


# Largest number of parameter rows (features, plus one for the intercept) for
# which the Kronecker-factored preconditioner forms and diagonalises their
# Gram matrix (a rows × rows float64 array), ...
_KRONECKER_MAX_ROWS = 2048
# ... and the most it may cost, in single-vector Hessian products: it pays
# for itself when it saves more CG iterations than that, which it does by
# far on dense data such as images (see _Influence.preconditioner).
_KRONECKER_MAX_COST = 100


class _KroneckerPreconditioner:
    """``(A ⊗ B + R ⊗ I)⁻¹``, a Kronecker-factored approximation of ``H⁻¹``.

    The Hessian is ``H = Σ_i z̃_i z̃_iᵀ ⊗ S_i + R ⊗ I`` over the stacked
    parameters (rows of features and intercept, columns of outputs), with
    ``S_i = diag(p_i) - p_i p_iᵀ`` and ``R`` the diagonal of penalties.
    With ``w_i = tr S_i`` it takes ``A = Σ_i w_i z̃_i z̃_iᵀ`` and
    ``B = Σ_i S_i / Σ_i w_i``, exact when every ``S_i`` is proportional to
    ``B``; for the binary model ``S_i = w_i`` and the preconditioner *is*
    ``H`` (up to the intercept's penalty, see below), so CG needs one or two
    iterations. ``A`` captures the correlations between features, which
    make the Hessian of dense data (pixels) ill-conditioned and which the
    diagonal preconditioners cannot see.

    With ``M = R^{-1/2} A R^{-1/2} = U diag(m) Uᵀ`` and ``B = Q diag(b) Qᵀ``,
    ``P⁻¹ = (G ⊗ Q) (m bᵀ + 1)⁻¹ (G ⊗ Q)ᵀ`` with ``G = R^{-1/2} U``: two
    products with a rows × rows matrix per vector. An unpenalised intercept
    gets the features' penalty ``1/C`` here, so that ``R`` is invertible;
    the Hessian's null direction (the same intercept shift for every class)
    is an eigenvector of ``P`` too and never enters the residuals.
    """

    def __init__(self, gram, proba, weight, penalties):
        scale = 1.0 / np.sqrt(penalties)
        m, U = np.linalg.eigh(scale[:, None] * gram * scale[None, :])
        self.G = scale[:, None] * U
        if proba.shape[1] == 1:
            b, self.Q = np.ones(1), np.ones((1, 1))
        else:
            B = np.diag(proba.sum(axis=0)) - proba.T @ proba
            b, self.Q = np.linalg.eigh(B / max(weight.sum(), np.finfo(float).tiny))
        self.denominator = np.maximum(m, 0.0)[:, None] * np.maximum(b, 0.0) + 1.0

    def __call__(self, R):
        n_rows, n_out = self.denominator.shape
        W = (self.G.T @ R.reshape(n_rows, -1)).reshape(n_rows, n_out, -1)
        # Qᵀ on the outputs' axis, as batched (columns × K) @ (K × K) products.
        W = (W.transpose(0, 2, 1) @ self.Q) / self.denominator[:, None, :]
        W = (W @ self.Q.T).transpose(0, 2, 1)
        return (self.G @ W.reshape(n_rows, -1)).reshape(R.shape)


class _BlockJacobiPreconditioner:
    """The inverse of the Hessian's ``K × K`` diagonal block of every feature.

    It keeps the coupling of a feature's weights across classes (the
    softmax's ``-p_k p_l``), which a plain diagonal loses; for the binary
    model it is the Jacobi preconditioner ``1 / diag(H)``.
    """

    def __init__(self, blocks, penalties):
        n_out = blocks.shape[1]
        blocks = blocks + penalties[:, None, None] * np.eye(n_out)
        if n_out == 1:
            self.diag = np.maximum(blocks[:, 0, 0], np.finfo(np.float64).tiny)
        else:
            self.inverse = np.linalg.inv(blocks)
        self.n_out = n_out

    def __call__(self, R):
        if self.n_out == 1:
            return R / self.diag[:, None]
        V = R.reshape(self.inverse.shape[0], self.n_out, -1)
        return np.einsum("jkl,jlc->jkc", self.inverse, V).reshape(R.shape)


def _stack_gradient(Z, residuals, model):
    """``Σ_i ∂loss_i/∂θ``: ``Zᵀ R`` over one more row for the intercept."""
    grad = _as_dense(Z.T @ residuals)
    return _with_intercept_row(
        grad, model.intercept_scale * residuals.sum(axis=0), model.fit_intercept
    )


def _projection(Z, U, scale, fit_intercept):
    """``Z̃ U`` for one row block."""
    n_features = Z.shape[1]
    Q = _as_dense(Z @ U[:n_features])
    return Q + scale * U[n_features] if fit_intercept else Q


class _Influence:
    """The Hessian of the initial fit, solved for one or more validation targets.

    The initial model is fitted on the noisy rows only, so its Hessian
    ``H = Zᵀ D Z + I/C`` is the same for every validation target (all the
    clean rows, or one fold of them): its products and preconditioner are
    set up once and reused. ``Z_tr``, ``y_tr`` and ``res_tr`` are the
    features, encoded labels and loss residuals (``p - y``) of the noisy
    rows; ``row_blocks`` (:class:`~sknoisy.utils._parallel.RowBlocks`) runs
    the loops over their rows.
    """

    def __init__(self, Z_tr, y_tr, res_tr, model, row_blocks=None):
        res_tr = np.asarray(res_tr, dtype=np.float64)
        self.binary = res_tr.shape[1] == 1
        self.proba_tr = res_tr + _one_hot(y_tr, res_tr.shape[1])
        self.Z_tr, self.y_tr, self.res_tr, self.model = Z_tr, y_tr, res_tr, model
        self.row_blocks = RowBlocks() if row_blocks is None else row_blocks
        self.n_iter = 0
        self._operands = {}  # dtype: row blocks of (Z, curvature) in that dtype
        self._preconditioner = None

    @property
    def param_shape(self):
        """Shape of the stacked parameters: (features [+ intercept], outputs)."""
        n_rows = self.Z_tr.shape[1] + int(self.model.fit_intercept)
        return n_rows, self.res_tr.shape[1]

    def _penalties(self, exact_intercept):
        """Return the penalty of each parameter row, the diagonal of ``R``.

        Unless ``exact_intercept``, an unpenalised intercept gets the
        features' ``1/C``: the Kronecker factors need an invertible ``R``,
        and with more than two classes the intercept's block is singular
        without it (see _KroneckerPreconditioner).
        """
        n_rows, _ = self.param_shape
        model = self.model
        penalties = np.full(n_rows, 1.0 / model.C)
        if model.fit_intercept:
            intercept = model.intercept_penalty
            penalties[-1] = intercept if intercept or exact_intercept else 1 / model.C
        return penalties

    def _kronecker(self):
        """Whether the Kronecker-factored preconditioner is affordable here.

        Its Gram matrix costs about ``nnz · rows`` (dense rows: ``n ·
        rows²``) and its eigendecomposition ``10 rows³`` operations, against
        ``4 nnz K`` for one Hessian-vector product.
        """
        n_rows, n_out = self.param_shape
        Z = self.Z_tr
        if n_rows > _KRONECKER_MAX_ROWS:
            return False
        if sparse.issparse(Z):
            nnz = Z.nnz
            gram = float(np.sum(np.diff(Z.indptr).astype(np.float64) ** 2))
        else:
            nnz = Z.size
            gram = float(Z.shape[0]) * n_rows**2
        cost = gram + 10.0 * n_rows**3
        return cost <= _KRONECKER_MAX_COST * 4.0 * max(nnz, 1) * n_out

    def preconditioner(self):
        """Return the preconditioner of the CG solves, built on first use."""
        if self._preconditioner is not None:
            return self._preconditioner
        model, proba = self.model, self.proba_tr
        scale, fit_intercept = model.intercept_scale, model.fit_intercept
        if self._kronecker():
            # w_i = tr S_i: p(1 - p) for the binary model, 1 - ‖p_i‖² else.
            if self.binary:
                weight = (proba * (1.0 - proba))[:, 0]
            else:
                weight = 1.0 - np.einsum("ik,ik->i", proba, proba)
            blocks = self.row_blocks.split(self.Z_tr, weight)
            gram = self.row_blocks.sum(_weighted_gram, blocks, scale, fit_intercept)
            self._preconditioner = _KroneckerPreconditioner(
                gram, proba, weight, self._penalties(exact_intercept=False)
            )
        else:
            blocks = self.row_blocks.split(self.Z_tr, proba)
            feature_blocks = self.row_blocks.sum(
                _feature_blocks, blocks, scale, fit_intercept
            )
            self._preconditioner = _BlockJacobiPreconditioner(
                feature_blocks, self._penalties(exact_intercept=self.binary)
            )
        return self._preconditioner

    def _operands_in(self, dtype):
        """Row blocks of ``(Z, curvature)`` in ``dtype``, converted once."""
        if dtype not in self._operands:
            Z = self.Z_tr
            Z = Z.astype(dtype) if sparse.issparse(Z) else np.asarray(Z, dtype=dtype)
            proba = self.proba_tr
            if self.binary:
                curvature = proba * (1.0 - proba)
            else:
                curvature = proba
            curvature = curvature[:, :, None].astype(dtype)
            self._operands[dtype] = self.row_blocks.split(Z, curvature)
        return self._operands[dtype]

    def _matmat(self, V, dtype=np.float64):
        """``H V`` for several flattened parameter vectors, one pass over ``X``.

        Numpy multiplies a float32 matrix by a float64 one without BLAS, so
        the features are converted to ``dtype`` once and the products run in
        it; the penalty term is added in float64.
        """
        n_rows, n_out = self.param_shape
        n_features = self.Z_tr.shape[1]
        model = self.model
        W = V.reshape(n_rows, n_out, V.shape[1])
        data = self.row_blocks.sum(
            _hessian_data_product,
            self._operands_in(dtype),
            W.astype(dtype, copy=False),
            dtype(model.intercept_scale),
            model.fit_intercept,
        )
        out = data.astype(np.float64)
        out[:n_features] += W[:n_features] / model.C
        if model.fit_intercept:
            out[n_features] += model.intercept_penalty * W[n_features]
        return out.reshape(V.shape)

    def solve_many(self, B, rtol=_BLOCK_CG_RTOL):
        """``H⁻¹ B`` for the columns of ``B`` (flattened parameters), at once.

        The products run in float32, about three times faster than in
        float64 (half the bytes of ``X`` to read), with a rounding of about
        1e-6 of each: enough for a relative residual of ``_FLOAT32_RTOL``.
        A tighter ``rtol`` is reached by iterative refinement: the residual
        is recomputed in float64 and solved for again, each round gaining
        that factor, until every column's float64 residual is below ``rtol``
        (or the iterations run out, as for a single solve).
        """
        solution = np.zeros_like(B)
        target = rtol * np.linalg.norm(B, axis=0)
        active = np.arange(B.shape[1])
        residual = B
        n_left = _BLOCK_CG_MAXITER
        n_rounds = 0
        while active.size and n_left > 0:
            # The first rounds run in float32, as far as its rounding allows;
            # any later one in float64, and a little past the target: a
            # round restarted on a residual of mostly rounding noise is slow.
            needed = target[active] / np.linalg.norm(residual, axis=0)
            if n_rounds < _FLOAT32_ROUNDS:
                dtype, round_rtol = np.float32, np.maximum(needed, _FLOAT32_RTOL)
            else:
                dtype, round_rtol = np.float64, 0.5 * needed
            n_rounds += 1
            step, n_iter, _ = _block_cg(
                lambda V, dtype=dtype: self._matmat(V, dtype),
                residual,
                self.preconditioner(),
                round_rtol,
                n_left,
            )
            self.n_iter += n_iter
            n_left -= n_iter
            solution[:, active] += step
            if rtol >= _FLOAT32_RTOL:
                break  # float32's accuracy is all this solve asks for
            residual = B[:, active] - self._matmat(solution[:, active])
            unsolved = np.linalg.norm(residual, axis=0) > target[active]
            active, residual = active[unsolved], residual[:, unsolved]
        return solution

    def gradient(self, Z, residuals):
        """``Σ_i ∂loss_i/∂θ`` of the rows of ``Z``, summed over row blocks."""
        blocks = self.row_blocks.split(Z, residuals)
        return self.row_blocks.sum(_stack_gradient, blocks, self.model)

    def _train_blocks(self):
        """Row blocks of ``(Z,)`` in float64, shared with the products."""
        return [block[:1] for block in self._operands_in(np.float64)]

    def train_gradient(self, residuals):
        """``Σ_i ∂loss_i/∂θ`` over the noisy rows, for per-row ``residuals``."""
        blocks = [
            (*Z, *r)
            for Z, r in zip(
                self._train_blocks(), self.row_blocks.split(residuals), strict=True
            )
        ]
        return self.row_blocks.sum(_stack_gradient, blocks, self.model)

    def solve(self, Z_va, res_va):
        """``U = H⁻¹ g_va``, shaped like the parameters (rows × outputs)."""
        grad_va = self.gradient(Z_va, res_va)
        size = grad_va.size
        solution, n_iter, converged = _block_cg(
            self._matmat,
            grad_va.reshape(size, 1),
            self.preconditioner(),
            _CG_RTOL,
            max(1000, 10 * size),
        )
        self.n_iter += n_iter
        if not converged:
            warnings.warn(
                f"Conjugate gradients did not reach rtol={_CG_RTOL:g} in {n_iter} "
                "iterations; the influence scores are approximate.",
                ConvergenceWarning,
                stacklevel=user_stacklevel(),
            )
        return solution.reshape(grad_va.shape)

    def project(self, U):
        """``Q[i, k] = x̃_iᵀ U[:, k]`` for every noisy row: one mat-vec."""
        model = self.model
        return self.row_blocks.stack(
            _projection,
            self._train_blocks(),
            U,
            model.intercept_scale,
            model.fit_intercept,
        )

    def scores(self, U):
        """φ, the relabelling gain and the best new class of every noisy row."""
        Q = self.project(U)
        y_tr, C = self.y_tr, self.model.C
        phi = -C * np.sum(self.res_tr * Q, axis=1)
        if self.binary:
            # Flipping ỹ changes the gradient by (2ỹ − 1) x̃, so the predicted
            # decrease of the validation loss is (2ỹ − 1) x̃ᵀu = φ / (C (1 − p_ỹ)).
            gain = C * (2.0 * y_tr - 1.0) * Q[:, 0]
            target = 1 - y_tr
        else:
            # Moving ỹ → k changes the gradient by x̃ (e_k − e_ỹ), so the
            # validation loss changes by Q[i, k] − Q[i, ỹ]: the best k
            # minimises Q[i, k].
            target = np.argmin(Q, axis=1)
            rows = np.arange(len(y_tr))
            gain = C * (Q[rows, y_tr] - Q[rows, target])
        return phi, gain, target


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
    influence = _Influence(Z_tr, y_tr, res_tr, model)
    phi, gain, target = influence.scores(influence.solve(Z_va, res_va))
    return phi, gain, target, influence.n_iter


# --------------------------------------------------------------------------
# alpha="auto": the share of noisy rows to relabel, chosen by cross-fitting
# --------------------------------------------------------------------------
# Number of folds of the clean rows, for the choice of alpha and the harm check.
_N_FOLDS = 2
# Shares of the noisy rows that alpha="auto" tries to relabel, besides none.
_AUTO_SHARES = (0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.6)


def _share_count(share, plan, n_noisy):
    """Rows relabelled at ``share``: the top ones, never one with score ≤ 0."""
    return min(round(share * n_noisy), plan["n_positive"])


class _FoldModels:
    """Folds of the clean rows: the choice of alpha and the do-no-harm test.

    Fold ``f`` holds out its clean rows ``B_f``; the noisy rows are ranked
    by their influence on the other clean rows ``A_f``. Models are fitted on
    the noisy rows only, like the initial model (the trusted rows enter the
    final fit alone), so the fold's plain model *is* the initial model and
    the Hessian is shared by every fold.

    - The choice of the share to relabel screens every candidate with one
      Newton step from the initial fit, ``Δθ = -H⁻¹ Σ_{i∈S} x̃_i δ_iᵀ``
      (``δ_i`` the change of the label's one-hot code), solved for all
      candidates and folds at once by block conjugate gradients, and scores
      the exact log-loss of ``B_f`` at ``θ̂ + Δθ``.
    - The chosen share's refits, and the harm check's, start from that
      Newton point plus one more step with the same Hessian
      (``refine_starts``) and score ``B_f`` against the plain model.
    """

    def __init__(
        self,
        owner,
        influence,
        base,
        initial,
        seed,
        X,
        train_idx,
        y_tr,
        X_va,
        Z_va,
        res_va,
        y_va,
        folds,
        trusted_rows,
        y_all,
        U_fit,
    ):
        self.owner, self.influence = owner, influence
        self.base, self.initial, self.seed = base, initial, seed
        self.X, self.train_idx, self.y_tr = X, train_idx, y_tr
        self.X_va, self.Z_va, self.y_va, self.folds = X_va, Z_va, y_va, folds
        self.classes = owner.classes_
        # The initial model's held-out logits, from its residuals p - y.
        proba = res_va + _one_hot(y_va, res_va.shape[1])
        tiny = np.finfo(np.float64).tiny
        if res_va.shape[1] == 1:
            p = np.clip(proba[:, 0], tiny, 1 - 1e-16)
            self.logits_va = (np.log(p) - np.log1p(-p))[:, None]
        else:
            self.logits_va = np.log(np.clip(proba, tiny, None))
        self.cache = {}
        self.starts = {}  # (fold, selected rows): the Newton point of that refit
        self.refined = {}  # (fold, selected rows): the start after one more step
        self.theta = _stacked_params(initial, influence.model)
        self.trusted_rows, self.y_all, self.U_fit = trusted_rows, y_all, U_fit

    def _selection(self, plan, count):
        selected = np.zeros(len(self.y_tr), dtype=bool)
        selected[plan["order"][:count]] = True
        return selected

    def _step_rhs(self, plan, counts):
        """``Σ_{i∈S} x̃_i δ_iᵀ`` stacked like the parameters, for the top rows.

        One for each of the increasing ``counts`` of top rows: the sets are
        nested, so each row block's part is computed once and accumulated.
        """
        infl = self.influence
        n_out = infl.res_tr.shape[1]
        total, start = 0.0, 0
        for count in counts:
            rows = plan["order"][start:count]
            if self.owner.mode == "drop":
                # Dropping row i removes its gradient C x̃_i r_iᵀ.
                delta = -infl.res_tr[rows]
            elif n_out == 1:
                delta = (2.0 * self.y_tr[rows] - 1.0)[:, None]
            else:
                delta = _one_hot(self.y_tr[rows], n_out) - _one_hot(
                    plan["target"][rows], n_out
                )
            total = total + infl.gradient(_safe_indexing(infl.Z_tr, rows), delta)
            start = count
            yield total

    def _held_out_loss(self, f, step):
        """Return the summed log-loss of ``B_f`` at the parameters ``θ̂ + step``."""
        held = np.flatnonzero(self.folds[f])
        Z = _safe_indexing(self.Z_va, held)
        model = self.influence.model
        n_features = Z.shape[1]
        logits = self.logits_va[held] + _as_dense(Z @ step[:n_features])
        if model.fit_intercept:
            logits = logits + model.intercept_scale * step[n_features]
        y = self.y_va[held]
        if logits.shape[1] == 1:  # binary: log σ(±z)
            signed = np.where(y == 1, logits[:, 0], -logits[:, 0])
            return float(np.logaddexp(0.0, -signed).sum())
        norm = np.logaddexp.reduce(logits, axis=1)
        return float((norm - logits[np.arange(len(y)), y]).sum())

    def choose_share(self, plans_by_rule):
        """Return the rule and share of noisy rows to relabel.

        ``plans_by_rule`` maps each selection rule to its per-fold plans.
        Every (rule, share) candidate is screened with a Newton step; the
        best of them and the next larger share of the same rule are refitted
        per fold (warm-started from their Newton step) and ranked against
        "relabel nothing" (the initial model) by held-out accuracy, then
        log-loss: like the harm check, which judges by the rows each model
        predicts right (log-loss alone favours shares that lower the loss at
        the cost of accuracy), but without its margin, which the harm check
        then applies to the chosen share. Ties go to the smaller share.
        """
        n_noisy = len(self.y_tr)
        shares = (0.0, *_AUTO_SHARES)
        rules = list(plans_by_rule)
        counts = {
            rule: [[_share_count(s, p, n_noisy) for p in plans] for s in shares]
            for rule, plans in plans_by_rule.items()
        }
        columns, index = [], {}
        for rule, plans in plans_by_rule.items():
            for f, plan in enumerate(plans):
                wanted = sorted({c[f] for c in counts[rule]} - {0})
                for count, rhs in zip(
                    wanted, self._step_rhs(plan, wanted), strict=True
                ):
                    index[rule, f, count] = len(columns)
                    columns.append(rhs.ravel())
        if not columns:
            return rules[0], 0.0
        solutions = self.influence.solve_many(
            np.column_stack(columns), rtol=_SCREEN_CG_RTOL
        )
        shape = self.influence.param_shape
        screened = {}
        for rule, plans in plans_by_rule.items():
            for k, per_fold in enumerate(counts[rule]):
                loss = 0.0
                for f, count in enumerate(per_fold):
                    step = np.zeros(shape)
                    if count:
                        step = -solutions[:, index[rule, f, count]].reshape(shape)
                        key = (f, np.sort(plans[f]["order"][:count]).tobytes())
                        self.starts[key] = self.theta + step
                    loss += self._held_out_loss(f, step)
                screened[rule, k] = loss
        rule, best = min(screened, key=lambda c: (screened[c], c[1]))
        refit = [k for k in (best, best + 1) if 0 < k < len(shares)] or [1]
        plans = plans_by_rule[rule]
        self.refine_starts(
            (f, self._selection(plan, counts[rule][k][f]), plan["target"])
            for k in (0, *refit)
            for f, plan in enumerate(plans)
        )
        exact = {0: self._exact_score(plans, counts[rule][0])}
        for k in refit:
            if any(counts[rule][k] == counts[rule][j] for j in exact):
                continue
            exact[k] = self._exact_score(plans, counts[rule][k])
        chosen = min(exact, key=lambda k: (*exact[k], k))
        return rule, shares[chosen]

    def _exact_score(self, plans, per_fold):
        """Return ``(-accuracy, log-loss)`` of the folds refitted at ``per_fold``.

        Both are summed over the held-out clean rows of every fold.
        """
        errors, loss = 0, 0.0
        for f, (plan, count) in enumerate(zip(plans, per_fold, strict=True)):
            proba = self.proba(f, self._selection(plan, count), plan["target"])
            y = self.y_va[self.folds[f]]
            p = np.clip(proba[np.arange(len(y)), y], np.finfo(np.float64).eps, None)
            errors += int(np.sum(np.argmax(proba, axis=1) != y))
            loss -= float(np.log(p).sum())
        return errors, loss

    def _extra(self, f):
        """Trusted rows of ``X`` that fold ``f``'s models learn from."""
        if self.trusted_rows is None or not self.owner.train_on_trusted:
            return np.empty(0, dtype=np.intp)
        return self.trusted_rows[~self.folds[f]]

    def _start(self, f, selected):
        """Fold ``f``'s refit start: the screening's Newton point, if any.

        With the fold's trusted rows in the refit, plus their Newton step,
        ``-U_A``. None means the initial fit.
        """
        start = self.starts.get((f, _order_key(selected)))
        if self._extra(f).size:
            start = (self.theta if start is None else start) - self.U_fit[f]
        return start

    def refine_starts(self, refits):
        """Take one more Newton step towards each refit to come, solved at once.

        ``refits`` yields ``(fold, selected, target)``. From its start (see
        ``_start``) each refit's objective gradient is taken and a step with
        the initial fit's Hessian (a chord step: the curvature of the
        relabelled rows has changed) solved for all of them in one block.
        The Newton point alone leaves lbfgs 50 to 80 iterations on 10-class
        MNIST (the relabelling is far from linear), one more step 0 to 15;
        the refit still runs to the solver's own tolerance.
        """
        todo, gradients = [], []
        for f, selected, target in refits:
            key = (f, np.flatnonzero(selected).tobytes())
            extra = self._extra(f)
            if key in self.cache or key in self.refined or key in dict(todo):
                continue
            if not selected.any() and not extra.size:
                continue  # the initial fit itself
            start = self._start(f, selected)
            start = self.theta if start is None else start
            y_fold = np.where(selected, target, self.y_tr)
            weight = None
            if self.owner.mode == "drop":
                y_fold, weight = self.y_tr, (~selected).astype(np.float64)
            Z_extra = _safe_indexing(self.Z_va, np.flatnonzero(~self.folds[f]))
            if not extra.size:
                Z_extra = None
            gradients.append(
                _objective_gradient(
                    self.influence,
                    start,
                    y_fold,
                    weight,
                    Z_extra,
                    self.y_va[~self.folds[f]],
                )
            )
            todo.append((key, start))
        if not todo:
            return
        steps = self.influence.solve_many(
            np.column_stack([g.ravel() for g in gradients]), rtol=_SCREEN_CG_RTOL
        )
        for k, (key, start) in enumerate(todo):
            self.refined[key] = start - steps[:, k].reshape(start.shape)

    def proba(self, f, selected, target):
        """Held-out probabilities of fold ``f``'s model relabelling ``selected``."""
        key = (f, np.flatnonzero(selected).tobytes())
        if key in self.cache:
            return self.cache[key]
        extra = self._extra(f)
        if not selected.any() and not extra.size:
            model = self.initial  # the noisy rows alone: the initial fit itself
        else:
            mode = self.owner.mode
            y_fold = _apply_selection(self.y_tr, selected, target, mode)
            kept = self.train_idx if mode == "relabel" else self.train_idx[~selected]
            start = self.refined.get(key)
            if start is None:
                start = self._start(f, selected)
            model = _warm_fit(
                self.base,
                self.initial,
                self.seed,
                _safe_indexing(self.X, np.concatenate([kept, extra])),
                self.classes[np.concatenate([y_fold, self.y_all[extra]])],
                start,
                self.influence.model,
            )
        X_test = _safe_indexing(self.X_va, np.flatnonzero(self.folds[f]))
        proba = _aligned_proba(model, X_test, self.classes, len(self.classes))
        self.cache[key] = proba
        return proba

    def compare(self, plans, share, alpha, source, fold_seed):
        """Run the do-no-harm test (compare_on_trusted) over the same folds.

        With ``alpha="auto"`` each fold's correction relabels the chosen
        share of the noisy rows, ranked by the fold's training clean rows;
        with an explicit alpha, the rows whose score exceeds it.
        """
        n_samples, n_val = self.X.shape[0], len(self.y_va)
        if source == "trusted":
            trusted = self.owner.validation_mask_
            y_all = np.zeros(n_samples, dtype=self.y_va.dtype)
            y_all[self.train_idx] = self.y_tr
            positions = np.flatnonzero(trusted)
            y_all[positions] = self.y_va
        else:  # X_val: its rows follow those of X in one index space
            trusted = np.r_[np.zeros(n_samples, dtype=bool), np.ones(n_val, bool)]
            y_all = np.zeros(n_samples + n_val, dtype=self.y_va.dtype)
            y_all[self.train_idx] = self.y_tr
            positions = np.arange(n_samples, n_samples + n_val)
            y_all[positions] = self.y_va
        fold_rows = [positions[f] for f in self.folds]
        n_noisy = len(self.y_tr)

        none = np.zeros(n_noisy, dtype=bool)

        def select(plan):
            if share is None:
                return plan["score"] > alpha
            return self._selection(plan, _share_count(share, plan, n_noisy))

        def fit_fold(fit_rows, trusted_fit, test_rows):
            f = next(
                k for k, rows in enumerate(fold_rows) if np.array_equal(rows, test_rows)
            )
            plan = plans[f]
            return (
                self.proba(f, select(plan), plan["target"]),
                self.proba(f, none, plan["target"]),
            )

        requests = []
        for f, plan in enumerate(plans):
            requests += [(f, select(plan), plan["target"]), (f, none, plan["target"])]
        self.refine_starts(requests)
        return compare_on_trusted(
            fit_fold, trusted, y_all, n_splits=_N_FOLDS, random_state=fold_seed
        )


def _link_residuals(logits, y):
    """``p - y``, the loss gradient with respect to the logits of each row."""
    if logits.shape[1] == 1:  # binary: p = σ(z)
        return expit(logits) - y[:, None]
    residuals = softmax(logits, axis=1)
    residuals[np.arange(len(y)), y] -= 1.0
    return residuals


def _objective_gradient(influence, theta, y_tr, weight, Z_extra, y_extra):
    """Gradient of a refit's objective at ``theta``, in the Hessian's units.

    The objective is ``Σ loss + θᵀRθ / 2`` (the fit's divided by ``C``, as
    ``H`` is) over the noisy rows with labels ``y_tr`` (each
    weighted 0 or 1 by ``weight``, None for all ones) and, when ``Z_extra``
    is not None, the extra rows ``Z_extra`` with labels ``y_extra``.
    """
    model = influence.model
    residuals = _link_residuals(influence.project(theta), y_tr)
    if weight is not None:
        residuals *= weight[:, None]
    gradient = influence.train_gradient(residuals)
    if Z_extra is not None:
        logits = _projection(Z_extra, theta, model.intercept_scale, model.fit_intercept)
        gradient += influence.gradient(Z_extra, _link_residuals(logits, y_extra))
    n_features = influence.Z_tr.shape[1]
    gradient[:n_features] += theta[:n_features] / model.C
    if model.fit_intercept:
        gradient[n_features] += model.intercept_penalty * theta[n_features]
    return gradient


def _order_key(selected):
    """Key of a selection, matching ``order[:count].tobytes()`` once sorted."""
    return np.flatnonzero(selected).tobytes()


def _one_hot(y, n_out):
    """One-hot codes of ``y``; for ``n_out == 1`` (binary), ``y`` as a column."""
    if n_out == 1:
        return y[:, None].astype(np.float64)
    out = np.zeros((len(y), n_out))
    out[np.arange(len(y)), y] = 1.0
    return out


def _block_cg(matmat, B, precondition, rtol, maxiter):
    """Preconditioned conjugate gradients for several right-hand sides.

    The columns are independent CG runs sharing each operator product,
    which reads ``X`` once for all of them; a column leaves the block once
    its residual is below ``rtol`` times its right-hand side. Returns the
    solutions, the number of iterations and whether every column converged.
    """
    solution = np.zeros_like(B)
    target = rtol * np.linalg.norm(B, axis=0)
    active = np.flatnonzero(np.linalg.norm(B, axis=0) > target)
    residual = B[:, active]
    x = solution[:, active]
    z = precondition(residual)
    direction = z.copy()
    rz = np.sum(residual * z, axis=0)
    n_iter = 0
    while active.size and n_iter < maxiter:
        n_iter += 1
        product = matmat(direction)
        curvature = np.sum(direction * product, axis=0)
        step = np.divide(rz, curvature, out=np.zeros_like(rz), where=curvature > 0)
        x += step * direction
        residual -= step * product
        done = np.linalg.norm(residual, axis=0) <= target[active]
        if done.any():
            solution[:, active[done]] = x[:, done]
            keep = ~done
            active, x, residual = active[keep], x[:, keep], residual[:, keep]
            direction, rz = direction[:, keep], rz[keep]
            if not active.size:
                break
        z = precondition(residual)
        rz_new = np.sum(residual * z, axis=0)
        beta = np.divide(rz_new, rz, out=np.zeros_like(rz), where=rz > 0)
        direction = z + beta * direction
        rz = rz_new
    solution[:, active] = x
    return solution, n_iter, not active.size


def _threshold_for_share(score, share, n_noisy):
    """Return the alpha that relabels the top ``share`` of the noisy rows."""
    n_positive = int((score > 0).sum())
    count = min(round(share * n_noisy), n_positive)
    ranked = np.sort(score)[::-1]
    if count == 0:
        return float(max(ranked[0], 0.0))
    return float(max(ranked[count], 0.0)) if count < len(ranked) else 0.0


def _unchecked_reason(source, n_clean):
    if source == "holdout":
        return (
            "its validation rows were held out of the noisy data "
            "(validation_fraction), so no verified label can judge it."
        )
    return (
        f"only {n_clean} clean rows reached fit, fewer than the "
        f"{MIN_TRUSTED_FOR_CHECK} the check needs."
    )


def _stacked_params(estimator, model):
    """Return the fitted parameters of ``estimator``, stacked like the influence's.

    Rows are the features, then the intercept (in units of the constant
    feature ``intercept_scale``); columns are the model's outputs.
    """
    final = _final_step(estimator)
    W = np.atleast_2d(final.coef_).T.astype(np.float64)
    if model.fit_intercept:
        intercept = np.atleast_1d(final.intercept_) / model.intercept_scale
        W = np.vstack([W, intercept])
    return W


def _warm_fit(base, initial, seed, X, y, start=None, model=None):
    """Fit a clone of ``base``, starting from given or the initial coefficients.

    ``start`` (stacked parameters, see :func:`_stacked_params`, read with
    ``model``) is typically the initial fit plus a Newton step towards the
    new labels, from where a refit converges in fewer iterations than from
    the initial fit. Solvers without warm starts (liblinear), or a class set
    unlike the initial model's, get a plain fit; either way the result is
    the solver's optimum to its tolerance.
    """
    estimator = seed_estimator(clone(base), seed)
    final, first = _final_step(estimator), _final_step(initial)
    warm = (
        final.get_params().get("solver", "lbfgs") != "liblinear"
        and np.array_equal(np.unique(y), first.classes_)
        and not final.get_params().get("warm_start", False)
    )
    if warm:
        final.set_params(warm_start=True)
        if start is None:
            final.coef_ = first.coef_.copy()
            final.intercept_ = np.array(first.intercept_, dtype=np.float64, copy=True)
        else:
            n_features = first.coef_.shape[1]
            final.coef_ = np.ascontiguousarray(start[:n_features].T)
            final.intercept_ = (
                model.intercept_scale * start[n_features].copy()
                if model.fit_intercept
                else np.zeros(start.shape[1])
            )
    estimator.fit(X, y)
    if warm:
        final.set_params(warm_start=False)
    return estimator


def _aligned_proba(model, X, classes, n_classes):
    """``model``'s probabilities with one column per class of ``classes``."""
    proba = model.predict_proba(X)
    seen = _final_step(model).classes_
    if len(seen) == n_classes:
        return proba
    full = np.zeros((proba.shape[0], n_classes))
    full[:, np.searchsorted(classes, seen)] = proba
    return full


_NO_CLEAN_DATA = (
    "RDIARelabeler aims its influence at the loss of clean labels, and fit "
    "received none. Pass trusted= (a boolean mask over the rows of X whose "
    "labels in y are verified) or X_val=, y_val= (extra clean rows in the "
    "feature space of X). In an imblearn Pipeline, fit parameters reach "
    "fit_resample only with metadata routing: call "
    "sklearn.set_config(enable_metadata_routing=True) and request the mask with "
    "RDIARelabeler().set_fit_resample_request(trusted=True), then "
    "pipeline.fit(X, y, trusted=mask); without routing, "
    "pipeline.fit(..., rdiarelabeler__trusted=mask) never reaches fit_resample. "
    "To hold out a share of the noisy data as a (noisy, much weaker) validation "
    "set instead, set validation_fraction, e.g. validation_fraction=0.3."
)


# --------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------
class RDIARelabeler(
    SamplerFeatureNamesMixin, ClassifierMixin, MetaEstimatorMixin, BaseEstimator
):
    r"""Relabel harmful training samples by influence functions (RDIA).

    RDIA [1]_ fits a logistic regression on the noisy training labels,
    estimates in closed form how much every training sample raises the loss
    of a clean *validation* set, relabels the samples estimated to be harmful
    and refits the model on all training rows with the new labels.

    The clean labels come as ``trusted`` (a mask over the rows of ``X`` whose
    labels are verified; they pass through a pipeline and cross-validation
    with ``X``) or as extra rows ``X_val, y_val``. By default the threshold
    is chosen from the data (``alpha="auto"``) and the result is checked
    against the plain base model on held-out trusted rows (``fallback=True``).

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
        ``None`` means scikit-learn's default
        ``LogisticRegression(max_iter=1000)`` (``C=1``, with intercept,
        lbfgs), not the paper's model, which underfits text and multi-class
        data (see Notes); the paper's is
        ``LogisticRegression(C=0.1, fit_intercept=False, solver="liblinear",
        tol=1e-7)``. It is cloned, never fitted in place.

        A skorch :class:`~skorch.NeuralNetClassifier` selects the deep variant,
        RDIA-LS (see Notes): the network is trained with the RDIA-LS loss on
        its own ``device`` and becomes ``estimator_`` directly, without a
        refit. ``alpha``, ``alpha_scale``, ``criterion``, ``validation_fraction``,
        and ``split`` do not apply to it; ``noise_rate`` is required.

    alpha : float or "auto", default="auto"
        Threshold: samples with score ``> alpha`` are relabelled. The score
        is in the paper's units, ``C`` times the predicted decrease of the
        *summed* validation loss (see ``alpha_scale``), so the paper's values
        0.01, 0.002 and 0.0002 transfer. ``alpha=0`` relabels every sample
        predicted to be harmful. ``"auto"`` chooses the share of noisy rows to
        relabel on the clean rows by cross-fitting and sets ``alpha_`` to the
        matching threshold (see Notes); the paper uses 0.0002.

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

    train_on_trusted : bool, default=True
        Whether the final model also learns from the trusted rows (with their
        own labels, never relabelled). The initial model never does: it is
        fitted on the noisy rows, as in the paper. With False the trusted
        rows are only RDIA's validation set, and :meth:`fit_resample` leaves
        them out of its output. ``X_val, y_val`` are never trained on.

    fallback : bool, default=True
        Do no harm: before returning a relabelling, compare it with the plain
        base model on held-out clean rows, cross-fitted (see Notes). If it is
        worse, or if it cannot be checked (no clean rows, fewer than 10, or a
        validation split of the noisy data), return the plain base model
        fitted on the same rows, set ``fallback_`` and warn. False is the
        paper's behaviour: the relabelling is applied unchecked.

    validation_fraction : float in (0, 1) or None, default=None
        Without clean data (no ``trusted`` rows, no ``X_val``), None raises an
        error that says how to pass them; a float holds out that share of the
        noisy rows as a (noisy, much weaker) validation set, with a warning,
        as earlier versions did by default with 0.3.

    split : {"random", "tail"}, default="random"
        How that share is held out: a class-stratified random draw seeded by
        ``random_state``, or the last rows, as the paper's code does.

    noise_rate : float in [0, 1), default=None
        RDIA-LS only (skorch networks), where it is required: the estimated
        share of wrong labels, the share of every batch not trained as clean.

    gamma : float in [0, 1], default=0.9
        RDIA-LS only: weight of the clean part of the loss against the
        relabelling part, which weighs ``1 - gamma``. The paper's 0.2 (MNIST)
        and 0.05 (CIFAR-10) go with ``legacy_loss=True``, whose relabelling
        part is divided by the batch size once more; with the corrected loss
        they weigh it far more than the paper's code did, which costs
        accuracy (see Notes).

    negative_rate : float in [0, 1), default=None
        RDIA-LS only: share of every batch discarded at the high-loss end;
        None means ``noise_rate / 2``, as in the paper's code.

    legacy_loss : bool, default=False
        RDIA-LS only: reproduce the paper code's loss with its quirks (a
        double softmax, an extra division by the batch size, NaN when no
        sample is unsure) instead of the corrected loss. The paper's setting
        is ``legacy_loss=True`` with its ``gamma`` (0.2 on MNIST). Its double
        softmax bounds the gradient (it learns several times slower
        than cross-entropy): fine with Adam, far too slow with plain SGD.

    random_state : int, RandomState instance or None, default=None
        Seeds the validation split and the base estimator's
        ``random_state`` (for a skorch network, its private torch random
        stream), from independent child streams. Pass an int for
        reproducible results.

    verbose : int, default=0
        When positive, announce each stage (initial fit, influence, refit)
        as it starts and print one line with its results as it ends (also
        for the harm check).

    n_jobs : int, default=None
        Number of jobs to run in parallel for the loops over blocks of rows:
        the Hessian-vector products of the conjugate-gradient solves, the
        gradients, the projections and the preconditioner's sums. ``None``
        means 1 unless in a :obj:`joblib.parallel_backend` context; ``-1``
        means using all processors. With one job each product runs once
        over all rows, without joblib; otherwise the rows are split into one
        block per job, run as threads (the products release the GIL) or by
        the active joblib backend: ``joblib.parallel_backend("dask")``
        spreads them over a dask cluster. The base model's own fits are not
        affected (they follow the base's parameters), nor is RDIA-LS.

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
        for the trusted rows and the rows held out as validation set. Not set
        for RDIA-LS.

    noise_score_ : ndarray of shape (n_samples,)
        Per-row score, larger for a more likely wrong label: ``influence_``
        (φ, computed before the harm check, so also set when falling back);
        for RDIA-LS, ``training_loss_``. NaN on the trusted and held-out rows.

    alpha_ : float
        The threshold applied: ``alpha``, or the one ``alpha="auto"`` chose
        (the score of the first row left unchanged; ``max(score, 0)`` when
        nothing is relabelled). Not set for RDIA-LS.

    agreement_ : bool
        Whether ``alpha="auto"`` restricted the relabelling to rows whose new
        class the initial model predicts (tried for more than two classes
        only; see Notes). False with an explicit alpha. Not set for RDIA-LS.

    fallback_ : bool
        Whether the plain base model was returned instead of the relabelled
        one (the relabelling did not clearly beat the plain model on
        held-out clean rows, see Notes, or could not be checked). Always
        False with ``fallback=False``.

    harm_check_ : HarmCheck or None
        The do-no-harm comparison
        (:class:`sknoisy.model_selection.HarmCheck`), or None when none ran
        (``fallback=False``, nothing selected, or nothing to check against).

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
        All False when falling back.
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
        Rows of ``X`` used as validation set: the trusted rows, or the rows
        held out by ``validation_fraction``; all False with ``X_val, y_val``.

    sample_indices_ : ndarray of shape (n_resampled,)
        Rows of ``X`` returned by :meth:`fit_resample`: all of them with
        ``mode="relabel"``, the non-dropped ones with ``mode="drop"``; without
        the trusted rows when ``train_on_trusted=False``.

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
    CG is preconditioned by a Kronecker-factored approximation of ``H``
    when the Gram matrix of the features is cheap to form and diagonalise
    (about 2,000 features at most, and a cost of at most 100
    Hessian-vector products; exact for two classes, it cuts the iterations on dense data
    such as images by one to two orders of magnitude), else by the inverse
    of each feature's ``K × K`` diagonal block of ``H`` (Jacobi for two
    classes).

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

    **Clean data.** RDIA needs clean labels to aim its influence at. Pass
    them as ``trusted``, a boolean mask over the rows of ``X`` whose labels
    in ``y`` are verified: the mask is sliced with ``X`` by
    cross-validation and, in a pipeline, the trusted rows pass through the
    earlier steps with the others, so they are always in the feature space
    of the final step. The initial model is fitted on the noisy rows only
    and the influence targets the summed loss of the trusted rows, as in the
    paper; with ``train_on_trusted=True`` the final model also learns from
    the trusted rows, with their labels. ``X_val, y_val`` (extra rows in the
    feature space of ``X``, never trained on) still work; passing both is an
    error. Without either, :meth:`fit` raises an error that says how to pass
    them (in an :class:`imblearn.pipeline.Pipeline`, fit parameters reach
    :meth:`fit_resample` only with metadata routing enabled;
    ``trusted`` is requested by default once routing is on), unless
    ``validation_fraction`` asks for a hold-out of the noisy rows.

    **alpha="auto".** The influence threshold has no unit that transfers
    between data sets (it grows with ``C``, the number of clean rows and the
    scale of ``X``), so by default the *share* of noisy rows to relabel is
    chosen by cross-fitting over two folds of the clean rows. The initial
    model, fitted on the noisy rows, is the same in every fold, so one
    Hessian serves every solve. In each fold the noisy rows are ranked by
    their influence on the fold's training clean rows; every candidate share
    (none, 2, 5, 10, 20, 30, 40 and 60 % of the noisy rows, at most those
    with a positive score) is screened by one Newton step from the initial
    fit, solved for all candidates at once by block conjugate gradients (to
    a relative residual of 1e-2: the Newton step itself is a first-order
    stand-in for the refit), and scored by the exact log-loss of the fold's
    held-out clean rows. The best screened share and the next larger one
    are then refitted (warm-started from their Newton step and one more
    step with the same Hessian, from where the solver needs few
    iterations) and ranked against "relabel
    nothing" by held-out accuracy, then log-loss. ``alpha_`` is the
    threshold that relabels the chosen share with the influence on all the
    clean rows. For more than two classes a second rule is tried beside the
    first: relabel only rows whose first-order best class is also the
    initial model's prediction (``agreement_``). Under noise spread over
    many classes the best class by influence alone is often wrong (on
    digits with 40 % uniform noise about 40 % of such relabels were wrong,
    against 1-2 % with the rule), while under pair noise or weak-supervision
    noise the rule can miss most of the gain (TREC: +13.8 points without it,
    -0.4 with it); the screening picks the rule per data set. The share is
    chosen on the same held-out rows the harm check then scores, which
    favours the correction in that check (the check's margin is meant to
    offset this).

    **Do no harm** (``fallback=True``). The check reuses those folds: each
    fold's corrected model (relabelled noisy rows, plus the fold's training
    trusted rows with ``train_on_trusted``) and plain model (the same rows,
    labels untouched) predict the fold's held-out clean rows, which neither
    saw. :func:`sknoisy.model_selection.compare_on_trusted` keeps the
    correction only when it wins by one standard deviation of the paired
    difference: ``b - c >= sqrt(b + c)``, with ``b`` the held-out rows only
    the corrected model predicts right and ``c`` those only the plain model
    does (log-loss decides when both predict every row alike). Otherwise
    the plain base model fitted on the final rows is returned, with
    ``fallback_=True``, ``harm_check_`` and a
    :class:`~sknoisy.exceptions.CorrectionFallbackWarning`. With ``m`` clean
    rows one row is ``1/m`` of accuracy: a correction that is worse on the
    held-out rows never passes, but a small real gain that shows there as a
    tie or a one-row win is given up (on the grid cells of
    ``benchmarks/rdia.py --sections grid``, 4 of 24 fell back that would
    have gained 0.2 to 1.9 points on test data; see the user guide). With
    fewer than 10 clean rows, or a hold-out of noisy rows, it cannot check
    and falls back with an
    :class:`~sknoisy.exceptions.UncheckedCorrectionWarning`.

    **Defaults and the paper.** The paper's settings are one parameter
    away: ``RDIARelabeler(LogisticRegression(C=0.1, fit_intercept=False,
    solver="liblinear", tol=1e-7), alpha=0.0002, fallback=False)`` with
    ``X_val, y_val`` gives exactly the paper's selections (see
    ``benchmarks/rdia.py``). The defaults differ because, on the grid's data
    sets with the trusted rows stacked into ``X`` (``python
    benchmarks/rdia.py --sections grid``: at or above the plain base in all
    24 data set and seed cells, by +0.06 to +13.8 points on average, with 4
    fallbacks), the paper's base model underfits TF-IDF text and
    multi-class data and its fixed alpha relabels too much or too little
    depending on the data; the user guide gives the figures.
    With an explicit alpha and ``fallback=False`` the cost is the paper's:
    two fits and one CG solve. The defaults add a block CG solve and a few
    warm-started refits: on the real-sim-shaped problem of
    ``benchmarks/rdia.py`` (``--sections defaults``) a default fit took
    5.7 times one plain ``LogisticRegression(max_iter=1000)`` fit with BLAS
    on one thread and 5.5 times with two (target 6; it relabelled nothing
    there, so the refits of a relabelling are not in that figure). On the
    10,000 MNIST test images (10 classes, ``--sections mnist10``) it took
    2.75 times the plain fit (target 3).

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
    ``legacy_loss=True`` restores it. The paper's extra division weighs the
    relabelling part at about 1/32 of the clean part; the default
    ``gamma=0.9`` keeps that balance without the double softmax (``0.5``
    lost 1-3 points on an MNIST MLP; the paper: ``gamma=0.2,
    legacy_loss=True``; table in the user guide). The trusted rows (or ``X_val,
    y_val``) become the network's validation data, scored every epoch in
    ``estimator_.history``; without them the network's own ``train_split``
    applies. With ``train_on_trusted=True`` the network also trains on the
    trusted rows, under the same loss (the history's validation scores are
    then in-sample); they are never relabelled or discarded. With
    ``fallback=True`` the network must beat the user's plain network (fitted
    by its own ``fit``) clearly, cross-fitted on 2 folds of the trusted rows,
    or without 10 trusted rows of all rows scored with their given labels
    (:func:`~sknoisy.model_selection.compare_held_out`); otherwise
    ``estimator_`` is that plain network and nothing is relabelled or
    dropped. The check costs about two more fits of each network. As a
    sampler (our
    extension: RDIA-LS relabels inside the loss only), all noisy rows
    are ranked by the trained network's loss and split like a batch: the
    *unsure* rows are relabelled to the network's most likely other class
    (the flip for two classes, which is R), the *discarded* rows are left
    out, and ``mode="drop"`` leaves out both.

    **Tuning.** ``alpha`` (or ``estimator__C``) can also be tuned by a
    search scored on the trusted rows of each test fold,
    :func:`sknoisy.model_selection.trusted_scorer` (see Examples and the
    user guide): plain K-fold CV on noisy labels rewards fitting the noise.
    At low noise RDIA trades accuracy for log-loss, so tune on log-loss.

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
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sknoisy import RDIARelabeler
    >>> from sknoisy.noise import make_label_noise
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> trusted = np.arange(len(y)) % 4 == 0  # the rows whose labels were checked
    >>> y_noisy = np.where(trusted, y, make_label_noise(y, 0.3, random_state=0))
    >>> rdia = RDIARelabeler(random_state=0).fit(X, y_noisy, trusted=trusted)
    >>> bool(np.mean(rdia.y_relabeled_ == y) >= np.mean(y_noisy == y))
    True
    >>> rdia.alpha_ > 0, rdia.fallback_
    (True, False)

    As a sampler, the relabelled labels feed any later step:

    >>> X_res, y_res = RDIARelabeler(random_state=0).fit_resample(
    ...     X, y_noisy, trusted=trusted)
    >>> X_res is X
    True

    The paper's settings, one parameter away, with extra clean rows:

    >>> from sklearn.linear_model import LogisticRegression
    >>> paper = RDIARelabeler(
    ...     LogisticRegression(C=0.1, fit_intercept=False, solver="liblinear",
    ...                        tol=1e-7),
    ...     alpha=0.0002, fallback=False,
    ... ).fit(X[~trusted], y_noisy[~trusted], X_val=X[trusted], y_val=y[trusted])

    Tuning against the trusted rows in one search (metadata routing carries
    the mask to RDIA and to the scorer):

    >>> import sklearn
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sknoisy.model_selection import trusted_scorer
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     search = GridSearchCV(
    ...         RDIARelabeler(random_state=0), {"alpha": ["auto", 0.01]},
    ...         scoring=trusted_scorer("neg_log_loss"), cv=3,
    ...     ).fit(X, y_noisy, trusted=trusted)
    >>> sorted(search.best_params_)
    ['alpha']
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "alpha": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "alpha_scale": [StrOptions({"sum", "mean"})],
        "criterion": [StrOptions({"upweight", "relabel"})],
        "mode": [StrOptions({"relabel", "drop"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "train_on_trusted": ["boolean"],
        "fallback": ["boolean"],
        "split": [StrOptions({"random", "tail"})],
        "noise_rate": [Interval(Real, 0, 1, closed="left"), None],
        "gamma": [Interval(Real, 0, 1, closed="both")],
        "negative_rate": [Interval(Real, 0, 1, closed="left"), None],
        "legacy_loss": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "n_jobs": [None, Integral],
    }

    # imbalanced-learn routes fit parameters to fit_resample only with metadata
    # routing on; declare the request method whatever the import order.
    set_fit_resample_request = RequestMethod(
        "fit_resample", ["X_val", "y_val", "trusted"]
    )
    # The trusted mask is requested by default: it is RDIA's clean data, and
    # an imblearn Pipeline validates the request of the step's fit as well as
    # of fit_resample, so that set_fit_resample_request(trusted=True) alone
    # would still fail there.
    __metadata_request__fit = {"trusted": True}
    __metadata_request__fit_resample = {"trusted": True}

    def __init__(
        self,
        estimator=None,
        *,
        alpha="auto",
        alpha_scale="sum",
        criterion="upweight",
        mode="relabel",
        train_on_trusted=True,
        fallback=True,
        validation_fraction=None,
        split="random",
        noise_rate=None,
        gamma=0.9,
        negative_rate=None,
        legacy_loss=False,
        random_state=None,
        verbose=0,
        n_jobs=None,
    ):
        self.estimator = estimator
        self.alpha = alpha
        self.alpha_scale = alpha_scale
        self.criterion = criterion
        self.mode = mode
        self.train_on_trusted = train_on_trusted
        self.fallback = fallback
        self.validation_fraction = validation_fraction
        self.split = split
        self.noise_rate = noise_rate
        self.gamma = gamma
        self.negative_rate = negative_rate
        self.legacy_loss = legacy_loss
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs

    # ------------------------------------------------------------- fitting
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, X_val=None, y_val=None, trusted=None):
        """Relabel the harmful training samples and refit the base model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Sparse input is used as CSR without densifying.

        y : array-like of shape (n_samples,)
            Noisy training labels, of any type.

        X_val : {array-like, sparse matrix} of shape (n_val, n_features), \
                default=None
            Clean validation rows outside ``X``, in its feature space; never
            trained on. Not together with ``trusted``.

        y_val : array-like of shape (n_val,), default=None
            Clean validation labels, each one a label of ``y``; at least two
            classes.

        trusted : array-like of shape (n_samples,) of bool, default=None
            The rows of ``X`` whose labels in ``y`` are verified: RDIA's clean
            validation set, never relabelled, and training rows of the final
            model with ``train_on_trusted``. Requested through metadata
            routing by default. Without ``trusted`` or ``X_val``, an error
            (or the hold-out of ``validation_fraction``).

        Returns
        -------
        self : RDIARelabeler
            Fitted estimator.
        """
        self._fit_or_forget(X, y, X_val, y_val, trusted)
        return self

    @_fit_context(prefer_skip_nested_validation=False)
    def fit_resample(self, X, y, X_val=None, y_val=None, trusted=None):
        """Relabel the harmful training samples and return the data.

        Fits exactly as :meth:`fit` does and returns the training data with
        the new labels. Trusted rows and rows held out as validation set keep
        their labels; after a fallback every label is unchanged.

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

        trusted : array-like of shape (n_samples,) of bool, default=None
            The rows of ``X`` whose labels are verified; see :meth:`fit`.
            They are returned with their own labels, or left out with
            ``train_on_trusted=False``.

        Returns
        -------
        X_resampled : {array-like, sparse matrix} of shape (n_resampled, \
                n_features)
            ``X`` itself with ``mode="relabel"``; its non-dropped rows with
            ``mode="drop"``; without the trusted rows with
            ``train_on_trusted=False`` (rows ``sample_indices_``).

        y_resampled : ndarray of shape (n_resampled,)
            The new labels in the label space of ``y`` (a pandas Series when
            ``y`` is one).
        """
        self._fit_or_forget(X, y, X_val, y_val, trusted)
        y_out = self.y_relabeled_
        keep = self.sample_indices_
        if len(keep) == len(y_out):
            return resampled(X, y, y_out)
        if sparse.issparse(X) and X.format not in ("csr", "csc"):
            # COO, DIA, ... cannot be indexed by rows; the rows come back as CSR.
            X = X.tocsr()
        return resampled(X, y, y_out[keep], keep)

    def _fit_or_forget(self, X, y, X_val, y_val, trusted):
        """``_fit``; a fit that fails leaves the estimator unfitted.

        Attributes are set as the fit goes, so a failure half-way would mix
        the new ``classes_`` with the previous ``estimator_``.
        """
        try:
            # RDIA's solvers and block products multiply the rows of X by a
            # few columns, over and over: one BLAS thread where those are
            # small (sized for one output column, before y is validated;
            # a skorch network's torch threads are its own).
            with blas_threads_for_fit(X, n_outputs=1):
                self._fit(X, y, X_val, y_val, trusted)
        except BaseException:
            for name in [v for v in vars(self) if v.endswith("_")]:
                if not name.startswith("__"):
                    delattr(self, name)
            raise

    def _fit(self, X, y, X_val, y_val, trusted):
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
        # Independent child streams; the first two are those of earlier
        # versions, so that seeded results do not change.
        split_seq, estimator_seq, fold_seq = np.random.SeedSequence(
            rng.randint(_INT32_MAX)
        ).spawn(3)
        estimator_seed = int(estimator_seq.generate_state(1)[0] % _INT32_MAX)
        fold_seed = int(fold_seq.generate_state(1)[0] % _INT32_MAX)
        self._encoded_outputs = is_skorch_net(base)
        if self._encoded_outputs:
            return self._fit_network(
                base, X, y_enc, X_val, y_val, trusted, estimator_seed
            )
        model = _check_linear_estimator(base, n_classes)

        n_samples = X.shape[0]
        clean = resolve_clean_data(self, X, y_enc, trusted, X_val, y_val, stacklevel=4)
        source = clean.source
        if source is None:
            if self.validation_fraction is None:
                raise ValueError(_NO_CLEAN_DATA)
            val_mask = self._hold_out(y_enc, np.random.default_rng(split_seq))
            val_idx = np.flatnonzero(val_mask)
            X_va, y_va = _safe_indexing(X, val_idx), y_enc[val_idx]
            source = "holdout"
        else:
            val_mask = clean.trusted
            X_va, y_va = clean.X, clean.y
        train_idx = np.flatnonzero(~val_mask)
        X_tr = _safe_indexing(X, train_idx) if val_mask.any() else X
        y_tr = y_enc[train_idx]
        if not y_va.size:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} held out no row of "
                f"the {n_samples} samples: a row is held out only from a class "
                "with at least two rows. RDIA needs validation labels of at least "
                "two classes; pass more rows, trusted= or X_val=, y_val=."
            )
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
                "; RDIA relabels the noisy (non-trusted) rows and needs every class "
                "among them."
            )
        # The rows the final model learns from besides the noisy ones.
        extra_idx = (
            np.flatnonzero(val_mask)
            if source == "trusted" and self.train_on_trusted
            else np.empty(0, dtype=np.intp)
        )

        logger = ProgressLogger(self.verbose, name=type(self).__name__)
        # --- 1. fit on the noisy training rows --------------------------------
        logger.start("initial fit")
        initial = seed_estimator(clone(base), estimator_seed)
        initial.fit(X_tr, self.classes_[y_tr])
        self.initial_estimator_ = initial
        logger.log(step="initial fit", n_train=len(y_tr), n_val=len(y_va))

        # --- 2. closed-form influence on the summed validation loss ---------
        logger.start("influence")
        influence = self._influence_solver(initial, n_classes, model, X_tr, y_tr)
        _, res_va, Z_va = LinearAdapter(initial, n_classes).loss_and_residuals(
            X_va, y_va
        )
        auto = isinstance(self.alpha, str)
        checkable = (
            self.fallback
            and source in ("trusted", "X_val")
            and len(y_va) >= MIN_TRUSTED_FOR_CHECK
        )
        folds = None
        if (auto or checkable) and len(y_va) >= 2 * _N_FOLDS:
            # Cross-fitting over folds of the clean rows. The initial model and
            # so the Hessian are the same in every fold: one solve per fold
            # gives each fold's held-out target, and their sum the full one.
            folds = trusted_folds(
                np.ones(len(y_va), dtype=bool), y_va, _N_FOLDS, fold_seed
            )
            grads = [
                influence.gradient(_safe_indexing(Z_va, np.flatnonzero(f)), res_va[f])
                for f in folds
            ]
            solved = influence.solve_many(np.column_stack([g.ravel() for g in grads]))
            U_held = [solved[:, k].reshape(g.shape) for k, g in enumerate(grads)]
            U = np.sum(U_held, axis=0)
        else:
            U = influence.solve(Z_va, res_va)
        phi, gain, target = influence.scores(U)
        # alpha="auto" with more than two classes also tries relabelling only
        # the rows whose new class the initial model predicts (see Notes).
        rules = (False, True) if auto and not influence.binary else (False,)
        self.agreement_ = False

        fold_models = None
        if folds is not None:
            fold_plans = {
                agree: [
                    self._fold_plan(influence, U - U_b, len(y_va) - int(f.sum()), agree)
                    for U_b, f in zip(U_held, folds, strict=True)
                ]
                for agree in rules
            }
            fold_models = _FoldModels(
                self,
                influence,
                base,
                initial,
                estimator_seed,
                X,
                train_idx,
                y_tr,
                X_va,
                Z_va,
                res_va,
                y_va,
                folds,
                np.flatnonzero(val_mask) if source == "trusted" else None,
                y_enc,
                [U - U_b for U_b in U_held],
            )
        if auto:
            if folds is None:  # too few clean rows to cross-fit: change nothing
                share = 0.0
            else:
                # Refits a model per fold and candidate share: announced, as
                # it can take longer than the influence solve itself.
                logger.start("choosing alpha")
                self.agreement_, share = fold_models.choose_share(fold_plans)
        else:
            share = None
        score = self._selection_score(
            phi, gain, len(y_va), influence, target, self.agreement_
        )
        if auto:
            self.alpha_ = _threshold_for_share(score, share, len(y_tr))
        else:
            self.alpha_ = float(self.alpha)
        selected = score > self.alpha_
        y_fit = _apply_selection(y_tr, selected, target, self.mode)
        if len(np.unique(y_fit)) < 2:
            warnings.warn(
                f"{'Relabelling' if self.mode == 'relabel' else 'Dropping'} the "
                f"{int(selected.sum())} selected samples would leave a single class "
                "in the training labels, beyond what a first-order influence "
                "estimate can support; nothing was changed. Raise alpha.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
            selected = np.zeros_like(selected)
            y_fit = y_tr

        self.influence_ = np.full(n_samples, np.nan)
        self.influence_[train_idx] = phi
        self.noise_score_ = self.influence_.copy()
        self.relabel_influence_ = np.full(n_samples, np.nan)
        self.relabel_influence_[train_idx] = gain
        self.validation_mask_ = val_mask
        logger.log(
            step="influence",
            cg_iterations=influence.n_iter,
            harmful=int((phi > 0).sum()),
            selected=int(selected.sum()),
            alpha=self.alpha_,
        )

        # --- 3. do no harm: the correction against the plain model ----------
        self.fallback_ = False
        self.harm_check_ = None
        if self.fallback and selected.any():
            if not checkable or folds is None:
                warnings.warn(
                    "RDIARelabeler could not check that its relabelling helps: "
                    f"{_unchecked_reason(source, len(y_va))} It returns the plain "
                    "base model. Pass trusted= (a mask over the rows of X whose "
                    f"labels are verified; at least {MIN_TRUSTED_FOR_CHECK}) or "
                    "X_val, y_val to enable the check, or fallback=False to apply "
                    "the relabelling unchecked.",
                    UncheckedCorrectionWarning,
                    stacklevel=user_stacklevel(),
                )
                self.fallback_ = True
            else:
                self.harm_check_ = fold_models.compare(
                    fold_plans[self.agreement_], share, self.alpha_, source, fold_seed
                )
                if self.harm_check_.harmful:
                    warnings.warn(
                        "RDIARelabeler's relabelling did not clearly beat the plain "
                        f"base model: {self.harm_check_.describe()}. It returns the "
                        "plain model (fallback_=True); fallback=False keeps the "
                        "relabelling.",
                        CorrectionFallbackWarning,
                        stacklevel=user_stacklevel(),
                    )
                    self.fallback_ = True
            logger.log(step="harm check", fallback=self.fallback_)
        if self.fallback_:
            selected = np.zeros_like(selected)
            y_fit = y_tr

        self.relabeled_mask_ = np.zeros(n_samples, dtype=bool)
        self.relabeled_mask_[train_idx] = selected
        self.relabeled_indices_ = np.flatnonzero(self.relabeled_mask_)
        self.n_relabeled_ = int(selected.sum())

        # --- 4. relabel (or drop) and refit ----------------------------------
        y_new = y_enc.copy()
        if self.mode == "relabel":
            y_new[train_idx] = y_fit
            kept = train_idx
        else:
            kept = train_idx[~selected]
        if source == "trusted" and not self.train_on_trusted:
            self.sample_indices_ = kept
        elif self.mode == "relabel":
            self.sample_indices_ = np.arange(n_samples)
        else:
            self.sample_indices_ = np.flatnonzero(~self.relabeled_mask_)
        self.y_relabeled_ = self.classes_[y_new]
        fit_idx = np.concatenate([kept, extra_idx])
        y_final = np.concatenate([y_fit, y_enc[extra_idx]])
        if not selected.any() and not extra_idx.size:
            # Same rows and labels as the initial fit: the same model.
            self.estimator_ = initial
        elif self.fallback_ or not auto or not selected.any():
            # The plain model a user would fit (also when nothing was
            # relabelled, so that the result is exactly that model); or the
            # paper's fresh refit.
            logger.start("refit")
            self.estimator_ = seed_estimator(clone(base), estimator_seed)
            self.estimator_.fit(_safe_indexing(X, fit_idx), self.classes_[y_final])
        else:
            logger.start("refit")
            start = self._refit_start(
                influence,
                initial,
                y_fit if self.mode == "relabel" else None,
                selected,
                Z_va if extra_idx.size else None,
                y_va,
            )
            self.estimator_ = _warm_fit(
                base,
                initial,
                estimator_seed,
                _safe_indexing(X, fit_idx),
                self.classes_[y_final],
                start,
                model,
            )
        logger.log(step="refit", n_fit=len(fit_idx), n_relabeled=self.n_relabeled_)
        return self

    def _refit_start(self, influence, initial, y_new, selected, Z_extra, y_extra):
        """Start of the final refit: Newton steps from the initial fit.

        ``y_new`` are the noisy rows' new labels (None with ``mode="drop"``,
        which drops the ``selected`` rows instead); ``Z_extra, y_extra`` the
        trusted rows the refit also learns from, or None. A Newton step and
        a chord step with the initial fit's Hessian (see
        ``_FoldModels.refine_starts``) leave the solver a few iterations
        instead of a hundred or more from the initial fit.
        """
        theta = _stacked_params(initial, influence.model)
        y_tr, weight = y_new, None
        if y_new is None:
            y_tr, weight = influence.y_tr, (~selected).astype(np.float64)
        for _ in range(_REFIT_NEWTON_STEPS):
            gradient = _objective_gradient(
                influence, theta, y_tr, weight, Z_extra, y_extra
            )
            step = influence.solve_many(gradient.reshape(-1, 1), rtol=_SCREEN_CG_RTOL)
            theta = theta - step.reshape(theta.shape)
        return theta

    def _selection_score(self, phi, gain, n_val, influence, target, agree=False):
        score = phi if self.criterion == "upweight" else gain
        score = score / n_val if self.alpha_scale == "mean" else score
        if agree:
            # The first-order best class is often wrong under noise spread
            # over many classes: keep the rows whose new class the initial
            # model also predicts.
            predicted = np.argmax(influence.proba_tr, axis=1)
            score = np.where(target == predicted, score, -np.inf)
        return score

    def _fold_plan(self, influence, U_fit, n_fit, agree=False):
        """Rank the noisy rows by the influence on one fold's training clean rows.

        Returns the noisy rows by decreasing selection score, their scores,
        the number with a positive score and their new classes.
        """
        phi, gain, target = influence.scores(U_fit)
        score = self._selection_score(phi, gain, n_fit, influence, target, agree)
        return {
            "order": np.argsort(-score, kind="stable"),
            "score": score,
            "n_positive": int((score > 0).sum()),
            "target": target,
        }

    def _fit_network(self, base, X, y_enc, X_val, y_val, trusted, seed):
        """RDIA-LS: train a skorch network with the loss-ranking relabel loss.

        The network itself resists the noise, so there is no refit. The
        sampler output ranks the noisy rows by the trained network's
        cross-entropy and splits them as RDIA-LS splits a batch. Trusted rows
        are the network's validation data, like ``X_val``; with
        ``train_on_trusted`` it also trains on them (under the same loss).
        They are never relabelled.
        """
        from ._rdia_ls import fit_network, make_rdia_ls_network, rdia_ls_split_sizes
        from .adapters._skorch import fork_torch_rng

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
        X = as_float32(X, "X")
        clean = resolve_clean_data(self, X, y_enc, trusted, X_val, y_val, stacklevel=5)
        X_va = y_va = None
        if clean.source is not None:
            X_va, y_va = as_float32(clean.X, clean.source), clean.y
        trusted_mask = clean.trusted
        noisy = np.flatnonzero(~trusted_mask)
        fit_rows = (
            np.arange(n_samples)
            if self.train_on_trusted or not trusted_mask.any()
            else noisy
        )
        logger = ProgressLogger(self.verbose, name=type(self).__name__)
        logger.start("RDIA-LS training")
        # One private torch stream, seeded from random_state, for training
        # and for the loss ranking (skorch's DataLoader draws from it).
        with fork_torch_rng(net.device, seed):
            self.estimator_ = fit_network(
                net, _safe_indexing(X, fit_rows), y_enc[fit_rows], seed, X_va, y_va
            )
            proba = self.estimator_.predict_proba(X)
        rows = np.arange(n_samples)
        loss = -np.log(np.clip(proba[rows, y_enc], np.finfo(proba.dtype).tiny, None))
        n_clean, n_unsure, _ = rdia_ls_split_sizes(
            len(noisy), self.noise_rate, self.estimator_.negative_rate_value
        )
        order = noisy[np.argsort(loss[noisy], kind="stable")]
        relabeled = np.zeros(n_samples, dtype=bool)
        relabeled[order[n_clean : n_clean + n_unsure]] = True
        discarded = np.zeros(n_samples, dtype=bool)
        discarded[order[n_clean + n_unsure :]] = True
        # R for two classes is the flip; for more, the network's most likely
        # other class.
        others = np.where(np.eye(n_classes, dtype=bool)[y_enc], -np.inf, proba)
        y_new = np.where(relabeled, np.argmax(others, axis=1), y_enc)

        self.training_loss_ = loss
        self.noise_score_ = np.where(trusted_mask, np.nan, loss)
        self.relabeled_mask_ = relabeled
        self.relabeled_indices_ = np.flatnonzero(relabeled)
        self.n_relabeled_ = int(relabeled.sum())
        self.discarded_mask_ = discarded
        self.validation_mask_ = trusted_mask
        self.fallback_ = False
        self.harm_check_ = None
        if self.fallback:
            self._check_network_harm(
                base, net, X, y_enc, trusted_mask, fit_rows, seed, logger
            )
        if self.fallback_:
            relabeled[:] = False
            discarded[:] = False
            y_new = y_enc
            self.relabeled_indices_ = np.flatnonzero(relabeled)
            self.n_relabeled_ = 0
        left_out = discarded if self.mode == "relabel" else relabeled | discarded
        if not self.train_on_trusted:
            left_out = left_out | trusted_mask
        self.y_relabeled_ = self.classes_[y_new if self.mode == "relabel" else y_enc]
        self.sample_indices_ = np.flatnonzero(~left_out)
        logger.log(
            step="RDIA-LS",
            epochs=len(self.estimator_.history),
            train_loss=self.estimator_.history[-1, "train_loss"],
            relabeled=self.n_relabeled_,
            discarded=int(discarded.sum()),
        )
        return self

    def _check_network_harm(self, base, net, X, y_enc, trusted, fit_rows, seed, logger):
        """Do no harm for RDIA-LS: keep the network only if it clearly wins.

        :func:`~sknoisy.model_selection.compare_held_out` fits the RDIA-LS
        network and the user's plain network (by its own ``fit``) without
        each fold, on the trusted rows when there are at least 10 of them,
        else on all rows scored with their given labels. If RDIA-LS does not
        clearly win, ``estimator_`` becomes the plain network fitted on the
        rows RDIA-LS trained on, and nothing is relabelled or dropped.
        """
        from ._rdia_ls import fit_network
        from .adapters._skorch import fork_torch_rng

        n_classes = len(self.classes_)
        trains = np.zeros(len(y_enc), dtype=bool)
        trains[fit_rows] = True
        fold_seeds = np.random.default_rng(seed)

        def fit_fold(rows, trusted_fit, test_rows):
            rows = rows[trains[rows]]
            X_fit, y_fit = _safe_indexing(X, rows), y_enc[rows]
            fold_seed = int(fold_seeds.integers(_INT32_MAX))
            fold_net = fit_network(clone(net), X_fit, y_fit, fold_seed)
            plain = fit_as_configured(base, n_classes, X_fit, y_fit, fold_seed)
            X_test = _safe_indexing(X, test_rows)
            with fork_torch_rng(fold_net.device):
                corrected = fold_net.predict_proba(X_test)
            return corrected, plain.predict_proba(X_test)

        check = compare_held_out(
            fit_fold, trusted, y_enc, random_state=int(fold_seeds.integers(_INT32_MAX))
        )
        if check is None:
            warnings.warn(
                f"RDIARelabeler got too few rows ({len(y_enc)}) to check that "
                "RDIA-LS does better than the plain network, so it returns the "
                "plain network (fallback_=True). Set fallback=False to keep "
                "RDIA-LS unchecked.",
                UncheckedCorrectionWarning,
                stacklevel=user_stacklevel(),
            )
        else:
            self.harm_check_ = check
            if check.harmful:
                warnings.warn(
                    "RDIA-LS did not clearly beat the plain network, which "
                    "RDIARelabeler returns instead (fallback_=True): "
                    f"{check.describe()}.",
                    CorrectionFallbackWarning,
                    stacklevel=user_stacklevel(),
                )
        if check is None or check.harmful:
            # The network the user would have without RDIA-LS.
            random_state = user_random_state(self.random_state, lambda: seed)
            plain = fit_as_configured(
                base,
                n_classes,
                _safe_indexing(X, fit_rows),
                y_enc[fit_rows],
                random_state,
            )
            self.estimator_ = plain.estimator
            self.fallback_ = True
        logger.log(step="harm check", fallback=self.fallback_)

    def _influence_solver(self, initial, n_classes, model, X_tr, y_tr):
        """Influence of the noisy rows: the linear backend.

        Returns an object whose ``solve`` gives ``H⁻¹ g`` for a validation
        gradient and whose ``scores`` give φ, the relabelling gain and the
        best new class of every noisy row. A backend for other base models
        plugs in here.
        """
        adapter = LinearAdapter(initial, n_classes)
        _, res_tr, Z_tr = adapter.loss_and_residuals(X_tr, y_tr)
        return _Influence(Z_tr, y_tr, res_tr, model, RowBlocks(self.n_jobs))

    def _hold_out(self, y_enc, rng):
        """Boolean mask of the rows held out as (noisy) validation set."""
        warnings.warn(
            "No validation set given: RDIARelabeler holds out "
            f"validation_fraction={self.validation_fraction} of the noisy training "
            "data as validation set. Influence on a noisy validation set weakens "
            "RDIA considerably; pass trusted= (a mask of the rows whose labels "
            "are verified) or a clean X_val, y_val to fit (in an imblearn "
            "Pipeline, step parameters reach fit_resample only with metadata "
            "routing enabled).",
            UserWarning,
            stacklevel=user_stacklevel(),
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
        return as_float32(X, "X") if self._encoded_outputs else X

    def _estimator_output(self, method, X):
        """``estimator_.<method>(X)``; a network's on a forked torch stream."""
        # skorch's DataLoader draws a seed from the global torch stream.
        with private_random_stream(self.estimator_):
            return getattr(self.estimator_, method)(X)

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
        y_pred = self._estimator_output("predict", X)
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
        proba = self._estimator_output("predict_proba", X)
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
        log_proba = self._estimator_output("predict_log_proba", X)
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
        scores = self._estimator_output("decision_function", X)
        return self._align(scores, -np.inf) if scores.ndim == 2 else scores

    def _align(self, columns, fill):
        """Pad per-class columns of ``estimator_`` to ``classes_``."""
        seen = self.estimator_.classes_
        if len(seen) == len(self.classes_):
            return columns
        full = np.full((columns.shape[0], len(self.classes_)), fill)
        full[:, np.searchsorted(self.classes_, seen)] = columns
        return full

    def _make_default_estimator(self, n_classes=2):
        return _default_estimator(n_classes)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # At the default alpha RDIA relabels clean samples too (it trades
        # accuracy for validation log-loss, see the paper's noise-0 results),
        # so it may miss the 0.83 accuracy scikit-learn expects on clean blobs.
        tags.classifier_tags.poor_score = True
        tags.input_tags.sparse = accepts_sparse(base_estimator(self))
        return sampler_tags(tags, sample_indices=True)


def _apply_selection(y, selected, target, mode):
    """Training labels after relabelling (or without the dropped rows)."""
    if mode == "relabel":
        return np.where(selected, target, y)
    return y[~selected]
