"""Robust active label correction with entropy propagation (Kim, ECCV 2022)."""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    _fit_context,
    clone,
)
from sklearn.preprocessing import normalize
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._metadata_requests import RequestMethod
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .adapters import fit_as_configured, make_adapter
from .exceptions import CorrectionFallbackWarning, UncheckedCorrectionWarning
from .linear_model import SoftmaxRegression
from .model_selection import MIN_TRUSTED_FOR_CHECK, compare_held_out, trusted_folds
from .neighbors import cosine_kneighbors, resolve_neighbors
from .utils._meta import (
    AdapterPredictionMixin,
    SamplerFeatureNamesMixin,
    accepts_sparse,
    base_estimator,
    user_random_state,
)
from .utils._output import resampled
from .utils._tags import sampler_tags
from .utils._validation import check_trusted, check_wrapped_params, encode_labels
from .utils._verbose import ProgressLogger
from .utils._warnings import user_stacklevel

_INT32_MAX = np.iinfo(np.int32).max
_TINY_PROBA = 1e-12
# Epochs per (re)training when neither ``epochs`` nor the base model says.
_FALLBACK_EPOCHS = 10
# Kernel widths alpha_sigma="auto" chooses from: the paper proxy's 1.0
# first (used without trusted rows, and kept on a tie; on clean blobs the
# narrow widths down-weight correct rows), then the narrow 0.25 that scores
# best on noisy digits' test splits and the median that does on noisy text.
_AUTO_WIDTHS = (1.0, 0.25, "median")
# LossEnt's entropy margin (Bernhardt et al. 2022, InnerEye rule JOINT).
_LOSSENT_ENTROPY_MARGIN = 0.30


def _default_estimator():
    return SoftmaxRegression()


# --------------------------------------------------------------------------
# Scores of a candidate: high means "query it"
# --------------------------------------------------------------------------
def _entropy(proba, y_current=None):
    """Predictive entropy ``-Σ_c p_c log p_c`` (natural log)."""
    proba = np.clip(proba, _TINY_PROBA, 1.0)
    return -np.sum(proba * np.log(proba), axis=1)


def _current_label_loss(proba, y_current):
    """Cross-entropy of the current label, ``-log p(ỹ|x)``."""
    picked = proba[np.arange(len(y_current)), y_current]
    return -np.log(np.clip(picked, _TINY_PROBA, 1.0))


def _corractive_score(proba, y_current):
    """CorrActive's disagreement ``1 - p(ỹ|x)`` (Nallapati et al., 2009)."""
    return 1.0 - proba[np.arange(len(y_current)), y_current]


def _lossent_score(proba, y_current):
    """LossEnt: ``CE(p, ỹ) - max(0, H(p) - 0.30)`` (Bernhardt et al., 2022)."""
    penalty = np.maximum(0.0, _entropy(proba) - _LOSSENT_ENTROPY_MARGIN)
    return _current_label_loss(proba, y_current) - penalty


_UNCERTAINTIES = {"loss": _current_label_loss, "entropy": _entropy}
# The baselines: an unweighted model, the top scores of the whole pool.
_BASELINE_SCORES = {
    "entropy": _entropy,
    "corractive": _corractive_score,
    "lossent": _lossent_score,
}


# --------------------------------------------------------------------------
# Robust parameter update (Eq. 3)
# --------------------------------------------------------------------------
def _kernel_width(squared_losses, sigma):
    """``σ_α``: the given float, or the median of ``ℓ²`` (its mean if zero)."""
    if sigma != "median":
        return float(sigma)
    width = float(np.median(squared_losses))
    if width <= 0.0:
        width = float(np.mean(squared_losses))
    return width


def _update_alpha(alpha, losses, step, sigma, groups=None):
    """One step of Eq. 3: ``α ← (1 - δ) α + δ ĝ``, ``g = exp(-ℓ²/σ)``.

    Without ``groups``, ``ĝ = g / ‖g‖₁`` (the paper's Eq. 3). With
    ``groups`` (one integer per row, the class of its current label; ``-1``
    for rows that do not train), ``g`` is normalised within each group and
    scaled to the group's share of the training rows (see
    :func:`_group_normalised`). ``α`` stays on the simplex either way. When
    every kernel value of the set being normalised underflows (or all losses
    are zero with ``sigma="median"``), its ``g`` is taken uniform.
    """
    squared = np.square(losses)
    width = _kernel_width(squared, sigma)
    kernel = np.exp(-squared / width) if width > 0 else np.ones_like(squared)
    if groups is not None:
        return (1.0 - step) * alpha + step * _group_normalised(kernel, groups)
    total = kernel.sum()
    if not np.isfinite(total) or total <= 0:
        kernel, total = np.ones_like(squared), float(len(squared))
    return (1.0 - step) * alpha + step * (kernel / total)


def _group_normalised(kernel, groups):
    """``g`` normalised per group, each group's sum its share of the rows.

    Row ``j`` of group ``c`` gets ``g_j / Σ_{k∈c} g_k · n_c / n`` (``n``
    counts the rows with ``groups >= 0``; the others get 0), so the result
    sums to 1 and every group keeps the total weight plain training gives
    it. Why: early in training every loss is large, and ``exp(-ℓ²/σ)``
    separates large losses by orders of magnitude (at ``ℓ ≈ log 10``, 0.3
    nats more loss is a factor ``e^1.4`` less weight), so a class the model
    happens to learn later than the others loses nearly all of its weight,
    is then never learned and never recovers. Within a class, a high loss
    still marks a likely wrong label. A group whose kernels all underflow
    keeps uniform weights inside it.
    """
    trains = groups >= 0
    rows, row_groups = np.flatnonzero(trains), groups[trains]
    counts = np.bincount(row_groups)
    totals = np.bincount(row_groups, weights=kernel[rows], minlength=len(counts))
    values = kernel[rows]
    dead = ~(np.isfinite(totals) & (totals > 0))
    if dead.any():
        values = np.where(dead[row_groups], 1.0, values)
        totals = np.where(dead, counts, totals)
    # Empty groups (no row of that label trains) are never indexed below.
    share = np.divide(
        counts / len(rows), totals, out=np.zeros(len(counts)), where=totals > 0
    )
    normalised = np.zeros(len(kernel))
    normalised[rows] = values * share[row_groups]
    return normalised


def _pin_alpha(alpha, pinned, excluded):
    """Hold verified rows at the largest weight and excluded rows at zero.

    ``pinned`` rows (trusted, and queried with ``fix_queried_weights``) get
    ``max α``, the weight of the best-fitted examples, so that a verified
    label counts fully whatever its loss; ``excluded`` rows (trusted with
    ``train_on_trusted=False``) get 0, which leaves them out of training.
    ``α`` is renormalised onto the simplex (a rescaling, so the pinned rows
    stay at the maximum).
    """
    changed = False
    if pinned is not None and pinned.any():
        alpha[pinned] = alpha.max()
        changed = True
    if excluded is not None and excluded.any():
        alpha[excluded] = 0.0
        changed = True
    # Untouched, α is left bit for bit as Eq. 3 made it.
    return alpha / alpha.sum() if changed else alpha


def _initial_alpha(n_samples, excluded):
    """Uniform ``α`` over the rows that train (Eq. 3's ``α^(0)``)."""
    alpha = np.ones(n_samples)
    if excluded is not None:
        alpha[excluded] = 0.0
    return alpha / alpha.sum()


def _train_epochs(adapter, X, y, alpha, n_epochs, robust, update, pin):
    """``n_epochs`` epochs of Eq. 2, each followed by Eq. 3 when ``robust``.

    ``update(alpha, losses)`` is one step of Eq. 3 and ``pin(alpha)`` holds
    the verified and excluded rows (see :func:`_pin_alpha`). Without the
    robust update the epochs are unweighted, unless some rows are excluded
    (``alpha`` then holds zeros, and the weights ``n α`` drop those rows).
    Returns the final ``alpha``.
    """
    n_samples = len(y)
    uniform = bool(np.all(alpha == alpha[0]))
    # An epoch's steps and its per-sample losses are small products, every
    # epoch: for small data, one BLAS thread is faster than a pool.
    with adapter.blas_threads(X):
        for _ in range(n_epochs):
            if not robust:
                weight = None if uniform else n_samples * alpha
                adapter.fit_epoch(X, y, sample_weight=weight)
                continue
            adapter.fit_epoch(X, y, sample_weight=n_samples * alpha)
            losses = adapter.per_sample_loss(X, y)
            alpha = pin(update(alpha, losses))
    return alpha


# --------------------------------------------------------------------------
# kNN graph, Laplacians and entropy propagation (Eq. 8)
# --------------------------------------------------------------------------
def _knn_graph(features, n_neighbors, search="exact", random_state=None, n_jobs=None):
    """Symmetrised Gaussian kNN affinity ``½(W + Wᵀ)`` as a CSR matrix.

    ``w_ij = exp(-d_ij² / σ_W)`` on the ``n_neighbors`` nearest neighbours of
    every row (itself excluded), with ``σ_W`` the median of those ``d²``.
    ``features`` are ℓ2-normalised, so the nearest by distance are the
    nearest by cosine and ``d² = 2 - 2 cos``; the search is
    :func:`sknoisy.neighbors.cosine_kneighbors` (exact blocks through joblib
    with ``n_jobs``, or the approximate index). Memory is ``O(n · k)``.
    """
    n_samples = features.shape[0]
    k = min(int(n_neighbors), n_samples - 1)
    if k < 1:
        return sparse.csr_matrix((n_samples, n_samples))
    neighbors, cosines = cosine_kneighbors(
        features,
        k,
        algorithm=search,
        normalized=True,
        random_state=random_state,
        n_jobs=n_jobs,
    )
    found = neighbors >= 0
    squared = np.maximum(2.0 - 2.0 * cosines.astype(np.float64), 0.0)
    width = float(np.median(squared[found])) if found.any() else 0.0
    if width <= 0.0:
        width = float(np.mean(squared[found])) if found.any() else 1.0
        width = width or 1.0
    weights = np.exp(-squared[found] / width)
    indptr = np.concatenate([[0], np.cumsum(found.sum(axis=1))])
    affinity = sparse.csr_matrix(
        (weights, neighbors[found], indptr), shape=(n_samples, n_samples)
    )
    return ((affinity + affinity.T) * 0.5).tocsr()


def _laplacian(affinity, kind):
    """``L_rw = I - D⁻¹W``, ``L_sym = I - D^-½ W D^-½`` or ``L = D - W``.

    Rows of isolated nodes (zero degree) are zero, so they keep their value.
    """
    degree = np.asarray(affinity.sum(axis=1)).ravel()
    connected = degree > 0
    if kind == "unnormalized":
        return (sparse.diags(degree) - affinity).tocsr()
    inv = np.zeros_like(degree)
    if kind == "random_walk":
        inv[connected] = 1.0 / degree[connected]
        walk = sparse.diags(inv) @ affinity
    else:  # symmetric
        inv[connected] = 1.0 / np.sqrt(degree[connected])
        walk = sparse.diags(inv) @ affinity @ sparse.diags(inv)
    return (sparse.diags(connected.astype(np.float64)) - walk).tocsr()


def _check_diffusion_rate(rate, kind, laplacian=None):
    """Raise unless the explicit Euler step ``e - δ L e`` is stable.

    ``L_rw``: ``δ ≤ 1`` makes every step a convex average of neighbours, so
    the field stays within its initial range. ``L_sym`` (spectrum in
    ``[0, 2]``): ``δ < 1``. ``D - W``: ``δ ≤ 1 / max_i d_i``, which needs the
    graph.
    """
    if kind == "random_walk" and rate > 1:
        bound = "diffusion_rate <= 1 with laplacian='random_walk'"
    elif kind == "symmetric" and rate >= 1:
        bound = "diffusion_rate < 1 with laplacian='symmetric'"
    elif kind == "unnormalized" and laplacian is not None:
        max_degree = float(laplacian.diagonal().max(initial=0.0))
        if rate * max_degree <= 1 + 1e-12:
            return
        bound = (
            f"diffusion_rate <= 1 / max degree = {1 / max_degree:.4g} with "
            "laplacian='unnormalized' on this round's graph"
        )
    else:
        return
    raise ValueError(
        f"The diffusion step e - δ L e is unstable for diffusion_rate={rate!r}; "
        f"it needs {bound}."
    )


def _diffuse(field, laplacian, rate, steps, clamp=None):
    """Take ``steps`` explicit steps ``e ← e - δ L e`` (Eq. 8).

    With ``clamp``, ``e[clamp]`` is set to zero before every step.
    """
    for _ in range(steps):
        if clamp is not None:
            field[clamp] = 0.0
        field = field - rate * (laplacian @ field)
    return field


def _propagation_select(scores, laplacian, n_select, rate, steps, propagation):
    """Pick ``n_select`` positions of ``scores`` one at a time (Eq. 8).

    Each pick is the highest remaining score (ties go to the lowest
    position). ``"full"`` then sets the pick's score to zero and diffuses the
    whole field ``steps`` times, the zero held at the pick before every step
    (Algorithm 1, lines 17-20); ``"delta"`` diffuses only the removed mass
    ``e(x*) 1_{x*}`` and subtracts it, so the other peaks stay as they are;
    None takes the top scores.
    """
    field = np.asarray(scores, dtype=np.float64).copy()
    if propagation is None:
        order = np.argsort(-field, kind="stable")
        return order[:n_select]
    available = np.ones(len(field), dtype=bool)
    picks = np.empty(n_select, dtype=np.intp)
    for k in range(n_select):
        pick = int(np.argmax(np.where(available, field, -np.inf)))
        picks[k] = pick
        available[pick] = False
        if propagation == "full":
            field = _diffuse(field, laplacian, rate, steps, clamp=pick)
        else:  # delta
            mass = np.zeros_like(field)
            mass[pick] = field[pick]
            field = field - _diffuse(mass, laplacian, rate, steps)
        field[pick] = 0.0
    return picks


def _check_fits_float32(X):
    """Reject values the float32 neighbour graph cannot hold, before training."""
    values = X.data if sparse.issparse(X) else X
    limit = np.finfo(np.float32).max
    if values.size and np.abs(values).max() > limit:
        raise ValueError(
            "X holds values too large for float32 (largest magnitude "
            f"{np.abs(values).max():.3g} > {limit:.3g}): the neighbour graph "
            "of the queries is built in float32. Rescale X."
        )


def _new_round():
    """Answers of the round in progress, until its batch is complete."""
    return {"indices": [], "n_corrected": 0, "n_abstained": 0}


def _weighted_sample(weights, size, rng):
    """``size`` indices drawn without replacement with probability ∝ weights.

    Efraimidis-Spirakis keys ``log(u) / w``: zero weights are drawn last,
    lowest index first.
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (weights.shape[0],) or not np.all(np.isfinite(weights)):
        raise ValueError(
            "candidate_sampling must give one finite weight per pool sample."
        )
    weights = np.maximum(weights, 0.0)
    uniform = rng.random(len(weights))
    with np.errstate(divide="ignore"):
        keys = np.where(weights > 0, np.log(uniform) / weights, -np.inf)
    return np.argsort(-keys, kind="stable")[:size]


# --------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------
class RobustActiveLabelCorrector(
    SamplerFeatureNamesMixin,
    AdapterPredictionMixin,
    ClassifierMixin,
    MetaEstimatorMixin,
    BaseEstimator,
):
    r"""Active label correction with robust training and entropy propagation.

    A classifier is trained on noisy labels; in rounds of ``batch_size``, the
    examples it finds most suspicious go to an annotator, who returns their
    true labels, and the model is retrained, until ``budget`` queries are
    spent [1]_. Two ingredients make the queries count:

    1. **Robust parameter update** (Eq. 2, 3). Every example carries a weight
       ``α_j``, uniform at the start and updated after every epoch by
       ``α ← (1 - δ_α) α + δ_α g / ‖g‖₁`` with ``g_j = exp(-ℓ_j² / σ_α)``
       and ``ℓ_j`` the example's loss against its current label, so that
       likely-mislabelled examples lose their influence on training.
    2. **Entropy propagation** (Eq. 8). From a candidate set, the most
       suspicious example is picked, its score set to zero and the score
       field diffused on a kNN graph, which lowers the scores of its
       neighbours, and so on until the batch is full: the batch is diverse.

    Without an annotator, :meth:`fit` only trains the model robustly. With
    one, it runs the whole loop. Rows whose labels are already verified are
    passed as ``trusted``: they are never queried, keep their labels and
    their full weight, and they let :meth:`fit` check that the result is no
    worse than the plain base model (``fallback``). A person labelling in a
    notebook or a labelling tool uses the ask/tell API instead:
    :meth:`start`, then :meth:`query` and :meth:`teach` as often as wanted;
    :meth:`run` drives the same loop with an annotator and resumes where an
    interrupted run stopped.

    Parameters
    ----------
    estimator : estimator object, default=None
        The model to train: a skorch ``NeuralNetClassifier`` or a linear
        classifier supported by :func:`sknoisy.adapters.make_adapter`
        (:class:`~sknoisy.linear_model.SoftmaxRegression`,
        :class:`~sklearn.linear_model.SGDClassifier` with
        ``loss="log_loss"``, :class:`~sklearn.linear_model.LogisticRegression`),
        alone or as the last step of a Pipeline. ``None`` means
        ``SoftmaxRegression()``. It is cloned, never fitted in place. Models
        that train by epochs (SoftmaxRegression, SGDClassifier, skorch nets)
        are trained one epoch at a time and ``α`` is updated after each;
        refit-only models (LogisticRegression) are refitted warm-started
        instead, with one ``α`` update per refit (a documented deviation).

    budget : int, default=100
        Total number of queries ``G``; each example is queried at most once.

    batch_size : int, default=10
        Queries per round ``Q``; the last round takes what is left.

    strategy : str, default="robust"
        One of ``"robust"``, ``"random"``, ``"entropy"``, ``"lossent"``,
        ``"corractive"``. ``"robust"`` is the method: robust update, candidate sampling,
        ``uncertainty`` scores and propagation. The others are the baselines
        of the paper: an unweighted model (``α`` stays uniform) and the top
        ``Q`` of the whole pool by predictive entropy ``H(p)``
        (``"entropy"``), by ``1 - p(ỹ|x)`` (``"corractive"``), by
        ``CE(p, ỹ) - max(0, H(p) - 0.30)`` (``"lossent"``), or at random
        (``"random"``). The parameters below that mention ``"robust"`` apply
        to it only.

    uncertainty : {"loss", "entropy", "alpha"} or callable, default="loss"
        Score that ranks the candidates of ``"robust"``, computed with the
        robustly trained model. ``"loss"`` is the cross-entropy of the
        current label, ``-log p(ỹ|x)``; ``"entropy"`` the predictive entropy
        ``H(p)`` (the paper's wording); ``"alpha"`` is ``1 - α_j / max α``.
        A callable ``score(proba, y_current) -> scores`` gets the
        probabilities (one column per class of ``classes_``) and the encoded
        current labels of the pool; higher means more suspicious. See Notes
        for why ``"loss"`` is the default.

    alpha_step : float in [0, 1], default=0.2
        ``δ_α``, the rate of the exponential moving average of Eq. 3. ``0``
        switches the robust update off (``α`` stays uniform, plain training),
        for ablations.

    alpha_sigma : float > 0, "median" or "auto", default="auto"
        ``σ_α``, the width of the kernel ``g(z) = exp(-z² / σ_α)``, in
        squared nats: with ``0.25`` an example whose label has probability
        ``e^-0.5 ≈ 0.61`` (loss 0.5) gets ``g = e⁻¹``, whatever the number
        of classes. ``"median"`` takes the median of ``ℓ²`` over each epoch
        (the specification's proposal). ``"auto"`` chooses among ``1.0``,
        ``0.25`` and ``"median"`` on the trusted rows (cross-fitted, see
        Notes), and is ``1.0`` without at least 10 trusted rows. ``1.0`` is
        the width of the benchmark's paper proxy and the default before
        issue 12. The width used is ``alpha_sigma_``.

    alpha_normalization : {"class", "global"}, default="class"
        How Eq. 3 normalises the kernel values ``g``. ``"global"`` is the
        paper's ``g / ‖g‖₁``. ``"class"`` normalises ``g`` within each class
        of the current labels and scales it to that class's share of the
        training rows, so every class keeps the total weight plain training
        gives it and the update re-weights rows only against rows with the
        same label. ``α`` stays on the simplex either way, and uniform ``g``
        keeps ``α`` uniform. See Notes (class-normalised weights) for why
        ``"class"`` is the default.

    fix_queried_weights : bool, default=False
        Pin ``α`` of queried examples at the current maximum after every
        update (then renormalise). By default they keep being updated: a
        clean label has a small loss and so gets a high weight anyway.

    epochs : int, default=None
        Epochs per (re)training, with one ``α`` update after each. ``None``
        takes the base model's own ``max_epochs`` (SoftmaxRegression, skorch)
        or 10 for models without one (SGDClassifier, LogisticRegression).

    retrain : {"warm", "scratch"}, default="warm"
        After each round, continue training the current model (``"warm"``)
        or start from fresh parameters (``"scratch"``). ``α`` is carried over
        either way.

    n_candidates : int, default=None
        Size of the candidate set ``C`` of ``"robust"``, drawn once per round
        from the unqueried pool; ``None`` means ``min(n_pool, 20 · Q)``. A
        small ``C`` bounds the cost of the graph and the diffusion.

    candidate_sampling : {"uniform", "score", "alpha"} or callable, default="uniform"
        Distribution ``p^S`` of the candidates: uniform, proportional to the
        score, proportional to ``max(0, 1 - n α_j)``, or the weights returned
        by ``candidate_sampling(scores, alpha)`` over the pool.

    graph_features : {"embedding", "input"} or callable, default="embedding"
        Features of the kNN graph, ℓ2-normalised: the input of the model's
        last linear layer (the transformed features of a linear Pipeline,
        the penultimate layer of a network), recomputed every round; ``X``
        itself; or ``graph_features(X_candidates)``.

    n_neighbors : int, default=10
        ``k`` of the symmetrised kNN graph, whose Gaussian weights have
        width the median squared kNN distance.

    neighbors : {"auto", "exact", "approximate"}, default="auto"
        The kNN search of the graph: exact blocked products, or an
        approximate search within faiss k-means cells (the ``ann`` extra;
        see :mod:`sknoisy.neighbors`) whose cost grows as ``n log n``.
        ``"auto"``: exact for graphs below 100,000 rows (or without faiss),
        approximate above.

    graph_scope : {"candidates", "all"}, default="candidates"
        The rows of the graph. ``"candidates"``: built every round on the
        candidates' current features (the paper's Algorithm 1 as read in
        the spec). ``"all"``: built once, at the first round, on every
        training row, and each round diffuses on the subgraph induced by
        its candidates; rounds then cost no neighbour search, which pays
        off when the candidate sets are large. The graph keeps the first
        round's features (a network's embedding of that round).

    laplacian : {"random_walk", "symmetric", "unnormalized"}, default="random_walk"
        ``L`` of Eq. 8: ``I - D⁻¹W``, ``I - D^-½ W D^-½`` or ``D - W``.

    diffusion_rate : float > 0, default=0.5
        ``δ_L``, the step of Eq. 8; validated for stability: ``≤ 1`` for the
        random-walk Laplacian (the step is then a convex average, so scores
        stay in their initial range), ``< 1`` for the symmetric one, ``≤ 1 /
        max degree`` for the unnormalized one.

    diffusion_steps : int, default=5
        ``s``, diffusion steps after every pick.

    propagation : {"full", "delta"} or None, default="delta"
        ``"delta"`` diffuses only the removed score ``e(x*) 1_{x*}`` of each
        pick and subtracts it from the field, which lowers the scores of the
        pick's neighbours in proportion to their similarity and leaves the
        other peaks intact; ``"full"`` sets the pick's score to zero and
        diffuses the whole field, the literal reading of Algorithm 1; ``None``
        takes the top scores. See Notes for why ``"delta"`` is the default.

    train_on_trusted : bool, default=True
        Whether the trusted rows (see :meth:`fit`) train the model, with
        their labels and their weight held at the maximum. ``False`` gives
        them weight zero: they only serve the do-no-harm check, and
        :meth:`fit_resample` leaves them out of its output.

    fallback : bool, default=True
        Do no harm: after the session, compare, on held-out trusted rows,
        the method's robust training with the plain base model fitted on
        the same rows, both on ``y`` with the annotator's answers applied;
        unless the robust one wins there clearly (by one standard deviation
        of the paired difference), or when there are fewer than 10 trusted
        rows to tell, the final model is that plain model (``fallback_``), with a
        :class:`~sknoisy.exceptions.CorrectionFallbackWarning` or an
        :class:`~sknoisy.exceptions.UncheckedCorrectionWarning`. ``False`` is
        the paper's behaviour: the robust model, unchecked. See Notes.

    n_jobs : int, default=None
        Parallel blocks of the graph's neighbour search through joblib
        (so a :func:`joblib.parallel_backend`, dask included, spreads
        them): ``None`` means 1 unless in a joblib backend context, ``-1``
        all cores. For the approximate search, faiss's threads (``None``:
        every core, faiss's default).

    random_state : int, RandomState instance or None, default=None
        Seeds the model, the candidate sets, the ``"random"`` baseline,
        retraining from scratch and the do-no-harm check, from independent
        child streams.

    verbose : int, default=0
        Print one line per round when positive.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen in :meth:`fit`.

    n_features_in_ : int
        Number of features seen during :meth:`fit`.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :meth:`fit`, when ``X`` has string
        column names.

    estimator_ : estimator object
        The trained clone of ``estimator``. It is trained on the encoded
        labels ``0 .. n_classes - 1``; :meth:`predict` maps them back.

    labels_ : ndarray of shape (n_samples,)
        The corrected labels: the annotator's answers for queried examples,
        ``y`` elsewhere.

    queried_ : ndarray of shape (n_queried,)
        Indices of the queried examples, in query order (abstentions
        included).

    alpha_ : ndarray of shape (n_samples,)
        The contribution weights ``α`` (on the simplex).

    sample_weight_ : ndarray of shape (n_samples,)
        ``n · α``, the training weights (mean 1).

    alpha_sigma_ : float or "median"
        The kernel width ``σ_α`` used.

    alpha_sigma_scores_ : dict or None
        With ``alpha_sigma="auto"`` and enough trusted rows, the
        cross-fitted ``(accuracy, log-loss)`` on the held-out trusted rows of
        each candidate width; None otherwise.

    fallback_ : bool
        True when the final model is the plain base model fitted on ``y``
        with the annotator's answers applied (the do-no-harm check did not
        find the robust model clearly better, or could not run); False when
        it is the corrector's own model (always with ``fallback=False``, and
        after :meth:`start`, :meth:`teach` or :meth:`fit_resample`).

    harm_check_ : :class:`~sknoisy.model_selection.HarmCheck` or None
        The check's cross-fitted figures and verdict; None when it did not
        run.

    noise_score_ : ndarray of shape (n_samples,)
        The query score of every row's *given* label ``y`` (not its
        corrected one) under the corrector's model after the last round,
        computed before the check: larger means more likely wrong. For the
        default ``"robust"`` strategy with ``uncertainty="loss"``, the
        cross-entropy ``-log p(y_i|x_i)``; for the baselines their own
        score (the loss for ``"random"``). Trusted rows are scored too.

    history_ : list of dict
        One entry per round: ``"round"``, ``"indices"`` (queried),
        ``"n_queried"``, ``"n_abstained"``, ``"n_corrected"`` (answers that
        changed the label) and ``"hit_rate"`` (``n_corrected / n_queried``).
        With an oracle that returns the true labels, as in a simulation,
        ``hit_rate`` is the share of queries that hit a wrong label.

    See Also
    --------
    sknoisy.noise.make_label_noise : Synthetic label noise for simulations.
    sknoisy.RDIARelabeler : Relabelling without an annotator.

    Notes
    -----
    **Weights.** Training minimises ``mean_j(w_j ℓ_j)`` with ``w = n α``,
    so uniform ``α`` reproduces plain training exactly (the spec's choice
    between this and renormalising per batch). Losses of Eq. 3 come from an
    evaluation pass at the end of every epoch, against the current labels.

    **Which score finds wrong labels.** The paper ranks by predictive
    entropy. On a linear model trained on noisy labels, the entropy of a
    mislabelled example is no higher than that of a clean one (the model
    predicts its true class confidently), so entropy ranks mislabelled
    examples about at chance; its loss against the current label does not
    (the specification's toy run: AUROC 0.54 against 0.98). The robust
    update makes the loss more telling still: down-weighted examples are not
    fitted, so their loss stays high. The default ``uncertainty="loss"`` is
    therefore the robust estimate. On digits with 30 % uniform noise (budget
    300 in rounds of 50) its queries hit a wrong label about 99 % of the
    time, against about 31 % for random queries and 39 % for entropy;
    ``benchmarks/alc.py`` measures all strategies
    (``benchmarks/results/alc.md``).

    **Two defaults that differ from the specification.** Both are open
    choices there, and both were settled on a validation split of digits
    that is not used for reporting.

    - ``propagation="delta"``: diffusing the whole field after every pick
      (``"full"``) smooths every isolated peak, ``Q · s`` times per batch.
      A mislabelled example is exactly such a peak (its neighbours are
      clean and fitted), so with ``"full"`` the share of queries hitting a
      wrong label fell to chance (about 35 % against 99 % for ``"delta"``
      on digits, 30 % uniform noise). The paper's Fig. 1 describes the
      delta behaviour: suppression near ``x*``, proportional to similarity.
    - A fixed ``alpha_sigma`` (1.0, the default before issue 12 and the
      first candidate of ``"auto"``), not the median alone: with
      ``"median"`` the kernel width follows the losses down as the model
      fits most examples (the median ``ℓ²`` fell below 10⁻⁴ on digits), so
      about half of the *clean* examples end up with near-zero weight;
      robust training was then worse than plain training on clean labels
      (validation accuracy 0.939 against 0.968) and got worse as
      corrections removed noise. A fixed width gave
      0.971 / 0.966 / 0.974 / 0.955 / 0.886 at 0 / 10 / 20 / 30 / 40 %
      uniform noise, against 0.939 / 0.899 / 0.907 / 0.929 / 0.897 for the
      median.

    **Class-normalised weights** (``alpha_normalization="class"``, not
    Eq. 3's global ``g / ‖g‖₁``). Early in a network's training every loss
    is large, and ``exp(-ℓ²/σ_α)`` separates large losses by orders of
    magnitude, so with the global form the classes a network learns last
    lose nearly all their weight, are never learned and never recover: an
    MLP on digits (SGD, batch 128) then scored 0 recall on two digits and
    54 to 81 % accuracy against 77 to 85 % for the plain network at 20 and
    40 % uniform noise, whatever the queries. Normalising per class of the
    current labels keeps every class at its share of the weight; within a
    class a high loss still marks a likely wrong label. With it the same
    MLP scored 86 to 89 %.
    Details and figures: ``docs/user_guide/alc.rst``.

    **Trusted rows.** A row marked ``trusted`` in :meth:`fit` carries a
    verified label, as an answered query does: it is left out of the pool,
    so it is never queried and its label never changes, and its weight is
    held at the largest ``α`` after every update (the weight of the
    best-fitted examples), so that a verified label counts fully however
    hard it is to fit. With ``train_on_trusted=False`` its weight is zero
    instead: it trains nothing. Trusted rows are rows of ``X``, so inside a
    Pipeline they go through the same transformers as the other rows; with
    metadata routing, request them with
    ``set_fit_request(trusted=True)`` (and ``set_fit_resample_request`` in
    an imbalanced-learn Pipeline).

    **Do no harm** (``fallback=True``). The annotator's answers are
    verified labels, so they are kept whatever happens; what can hurt is
    the robust training. After the session, :meth:`fit` runs
    :func:`~sknoisy.model_selection.compare_on_trusted` with two folds of
    the trusted rows: for each fold, the base model is trained from scratch
    on every other row, with ``y`` and the answers applied, once with the
    robust update (``epochs`` epochs, trusted rows pinned) and once plainly
    (its own ``fit``), and both predict the fold's trusted rows. With ``b``
    held-out rows only the robust one gets right and ``c`` only the plain
    one does, the robust model is kept when ``b - c >= sqrt(b + c)`` (or,
    when both predict every row alike, when its log-loss is not worse);
    otherwise the final model is the plain base fitted on all training rows with
    those labels (``harm_check_.n_better`` and ``n_worse`` are ``b``, ``c``).
    What is compared is the *training*, not the whole loop: the queries are
    not rerun per fold (they were chosen with every trusted row in the
    model, a mild leakage in favour of the robust arm), and the robust arm
    is trained once, from scratch, whereas the final model was trained warm
    over every round. The check judges a slightly weaker robust model than
    the one returned, and the margin asks for a net gain of about
    ``sqrt(b + c)`` rows, so it errs towards the plain model: in the
    benchmark of the user guide it fell back in 7 of 16 cells, among them
    digits with 20 % uniform noise (3 against 2 and 4 against 2 rows of 126),
    where the plain model returned scored 1.1 to 1.8 points below ALC's own
    on the test split. Without trusted rows (or fewer than 10) nothing can
    be checked, so the plain base on the corrected labels is returned, with
    a warning; pass ``fallback=False`` for the robust model. The check
    costs four trainings (two per fold), on top of the
    ``budget / batch_size + 1`` of the session.

    **Kernel width** (``alpha_sigma="auto"``, not the specification's
    ``"median"`` nor the former ``1.0``). Which width is best depends on
    the data: with the clean rows passed as ``trusted``, ALC's own model
    (budget 100, oracle) scored, in % for seeds 0 / 1, with widths 1.0,
    0.25 and ``"median"``: on WRENCH YouTube 88.0 / 89.2, 89.6 / 90.4 and
    91.6 / 92.0 (plain base 90.4); on digits with 40 % pair noise 93.0 /
    94.6, 96.3 / 94.6 and 92.2 / 93.9 (the median was 0.7 to 4.7 points
    below 0.25 on every digits cell). On clean, well-separated data the
    narrow widths down-weight correct rows: on scikit-learn's test blobs
    ALC reached 0.77 training accuracy with 0.25 or the median and 0.92
    with 1.0. ``"auto"`` therefore trains the model robustly on the noisy
    labels once per candidate width (1.0, 0.25 and the median) and fold
    (two folds of the trusted rows), scores the held-out trusted rows, and
    keeps the width with the best accuracy (then log-loss; the first on a
    tie). It costs six trainings before the first query. The trusted rows
    do not always find the width that is best on test data: in that
    benchmark ``"auto"`` took 1.0 on six of eight digits cells (0.25 was
    0.2 to 0.6 points better on the test split in five of them), 0.25 on
    the two with 40 % pair noise, the median on SMS, and on YouTube 0.25
    for seed 0 (2.0 points below the median on test) and the median for
    seed 1. The figures and the commands are in
    ``docs/user_guide/alc.rst``.

    **Selection.** In each round ``α`` and the model are fixed, the scores
    ``e`` of the pool are computed, a candidate set ``C`` is drawn, the kNN
    graph is built on ``C`` only (memory ``O(|C| k)``), and ``Q`` examples
    are picked one at a time with ``Q · s`` sparse mat-vecs. Ties go to the
    lowest index. The baselines rank the whole pool and skip the graph.

    **Annotators.** ``annotator(indices) -> labels`` gets row indices into
    ``X`` and returns their labels, in the label space of ``y``; an unknown
    label raises ``ValueError`` instead of creating a class. A masked value
    of a :class:`numpy.ma.MaskedArray` means "abstain": the label stays,
    the query is spent. Labels are never asked twice and are kept from then
    on. The annotator is an argument of :meth:`fit` and :meth:`run`, not of
    the constructor, on purpose: :func:`~sklearn.base.clone` (and so
    :class:`~sklearn.model_selection.GridSearchCV`) deep-copies constructor
    parameters, which would silently duplicate a stateful annotator object
    (its budget counter, its connection to a labelling tool). It is not
    stored, so a fitted corrector pickles.

    **Ask/tell.** :meth:`start` trains on the noisy labels; :meth:`query`
    returns the next batch (the same batch again until it is taught);
    :meth:`teach` records answers for any unqueried indices and retrains
    once no queried index is left pending. If an annotator raises inside
    :meth:`fit` or :meth:`run`, everything taught so far is kept and the
    unanswered batch stays pending: call :meth:`run` again to resume. The
    corrector keeps a reference to the training data for these calls.

    **Not from the paper.** The paper's body (Eq. 2-8, hyperparameters) was
    not available: Eq. 2, 3 and 8 follow the project's description, and
    every default above is a documented open choice of the specification.
    The paper's behaviour is ``fallback=False`` with a fixed width;
    ``benchmarks/alc.py`` passes ``fallback=False, alpha_sigma=1.0``.

    References
    ----------
    .. [1] K. I. Kim, "Active Label Correction Using Robust Parameter Update
       and Entropy Propagation", ECCV 2022, LNCS 13681,
       doi:10.1007/978-3-031-19803-8_1.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sknoisy import RobustActiveLabelCorrector
    >>> from sknoisy.noise import make_label_noise
    >>> X, y = load_digits(return_X_y=True)
    >>> y_noisy = make_label_noise(y, 0.3, random_state=0)
    >>> trusted = np.arange(len(y)) % 10 == 0  # rows whose labels were checked
    >>> y_noisy[trusted] = y[trusted]
    >>> def oracle(indices):  # a simulated annotator
    ...     return y[indices]
    >>> alc = RobustActiveLabelCorrector(budget=100, batch_size=50, random_state=0)
    >>> alc = alc.fit(X, y_noisy, annotator=oracle, trusted=trusted)
    >>> len(alc.queried_), bool(trusted[alc.queried_].any())
    (100, False)
    >>> bool(np.mean(y_noisy[alc.queried_] != y[alc.queried_]) > 0.8)
    True
    >>> alc.harm_check_.n_held_out
    180

    The same loop, one batch at a time, as a person would label:

    >>> alc = RobustActiveLabelCorrector(budget=20, batch_size=10, random_state=0)
    >>> alc = alc.start(X, y_noisy)
    >>> batch = alc.query()
    >>> alc = alc.teach(batch, y[batch])
    >>> len(alc.queried_), len(alc.history_)
    (10, 1)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "budget": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "strategy": [
            StrOptions({"robust", "random", "entropy", "lossent", "corractive"})
        ],
        "uncertainty": [StrOptions({"loss", "entropy", "alpha"}), callable],
        "alpha_step": [Interval(Real, 0, 1, closed="both")],
        "alpha_sigma": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto", "median"}),
        ],
        "alpha_normalization": [StrOptions({"class", "global"})],
        "fix_queried_weights": ["boolean"],
        "epochs": [Interval(Integral, 1, None, closed="left"), None],
        "retrain": [StrOptions({"warm", "scratch"})],
        "n_candidates": [Interval(Integral, 1, None, closed="left"), None],
        "candidate_sampling": [StrOptions({"uniform", "score", "alpha"}), callable],
        "graph_features": [StrOptions({"embedding", "input"}), callable],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "neighbors": [StrOptions({"auto", "exact", "approximate"})],
        "graph_scope": [StrOptions({"candidates", "all"})],
        "laplacian": [StrOptions({"random_walk", "symmetric", "unnormalized"})],
        "diffusion_rate": [Interval(Real, 0, None, closed="neither")],
        "diffusion_steps": [Interval(Integral, 0, None, closed="left")],
        "propagation": [StrOptions({"full", "delta"}), None],
        "train_on_trusted": ["boolean"],
        "fallback": ["boolean"],
        "n_jobs": [None, Integral],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # imbalanced-learn routes fit parameters to fit_resample only with metadata
    # routing on; declare the request method whatever the import order.
    set_fit_resample_request = RequestMethod("fit_resample", ["annotator", "trusted"])
    # The trusted mask (as for every sknoisy estimator) and the annotator are
    # requested by default: an imbalanced-learn Pipeline validates a step's
    # fit request as well as its fit_resample request, and both are ALC's own.
    __metadata_request__fit = {"trusted": True, "annotator": True}
    __metadata_request__fit_resample = {"trusted": True, "annotator": True}

    def __init__(
        self,
        estimator=None,
        *,
        budget=100,
        batch_size=10,
        strategy="robust",
        uncertainty="loss",
        alpha_step=0.2,
        alpha_sigma="auto",
        alpha_normalization="class",
        fix_queried_weights=False,
        epochs=None,
        retrain="warm",
        n_candidates=None,
        candidate_sampling="uniform",
        graph_features="embedding",
        n_neighbors=10,
        neighbors="auto",
        graph_scope="candidates",
        laplacian="random_walk",
        diffusion_rate=0.5,
        diffusion_steps=5,
        propagation="delta",
        train_on_trusted=True,
        fallback=True,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.budget = budget
        self.batch_size = batch_size
        self.strategy = strategy
        self.uncertainty = uncertainty
        self.alpha_step = alpha_step
        self.alpha_sigma = alpha_sigma
        self.alpha_normalization = alpha_normalization
        self.fix_queried_weights = fix_queried_weights
        self.epochs = epochs
        self.retrain = retrain
        self.n_candidates = n_candidates
        self.candidate_sampling = candidate_sampling
        self.graph_features = graph_features
        self.n_neighbors = n_neighbors
        self.neighbors = neighbors
        self.graph_scope = graph_scope
        self.laplacian = laplacian
        self.diffusion_rate = diffusion_rate
        self.diffusion_steps = diffusion_steps
        self.propagation = propagation
        self.train_on_trusted = train_on_trusted
        self.fallback = fallback
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------- fitting
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, annotator=None, trusted=None):
        """Train robustly, correct labels with ``annotator``, check the result.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Sparse input stays sparse (CSR).

        y : array-like of shape (n_samples,)
            Noisy training labels, of any type.

        annotator : callable, default=None
            ``annotator(indices) -> labels``: the labels of the rows
            ``indices`` of ``X``, in the label space of ``y`` (masked values
            abstain). ``None`` means robust training only, no queries.

        trusted : array-like of shape (n_samples,) of bool, default=None
            Rows of ``X`` whose labels in ``y`` are verified: they are never
            queried, their labels are kept, their weight ``α`` is held at
            the maximum (or at zero with ``train_on_trusted=False``), and
            they are the held-out rows of the do-no-harm check
            (``fallback``). Requestable through metadata routing.

        Returns
        -------
        self : RobustActiveLabelCorrector
            Fitted estimator.
        """
        self._start(X, y, trusted)
        if annotator is not None:
            self.run(annotator)
        self._check_harm()
        return self

    @_fit_context(prefer_skip_nested_validation=False)
    def fit_resample(self, X, y, annotator=None, trusted=None):
        """Correct labels with ``annotator`` and return the data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,)
            Noisy training labels.

        annotator : callable, default=None
            See :meth:`fit`.

        trusted : array-like of shape (n_samples,) of bool, default=None
            See :meth:`fit`.

        Returns
        -------
        X : {array-like, sparse matrix} of shape (n_samples_new, n_features)
            ``X`` itself; without the trusted rows when
            ``train_on_trusted=False``.

        labels : ndarray of shape (n_samples_new,)
            ``labels_`` on the same rows: the annotator's answers where it
            was asked, ``y`` elsewhere (a pandas Series when ``y`` is one).

        Notes
        -----
        The returned labels are ``y`` with verified answers applied whatever
        the do-no-harm check would say (the check concerns the corrector's
        own robustly trained model, not these facts), so ``fit_resample``
        does not run it: ``fallback_`` is False and ``harm_check_`` None.
        """
        self._start(X, y, trusted)
        if annotator is not None:
            self.run(annotator)
        if self.train_on_trusted or not self._trusted.any():
            return resampled(X, y, self.labels_)
        keep = np.flatnonzero(~self._trusted)
        return resampled(X, y, self.labels_[keep], keep)

    @_fit_context(prefer_skip_nested_validation=False)
    def start(self, X, y, trusted=None):
        """Begin a labelling session: train robustly on the noisy labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; a reference is kept for :meth:`query` and
            :meth:`teach`.

        y : array-like of shape (n_samples,)
            Noisy training labels, of any type.

        trusted : array-like of shape (n_samples,) of bool, default=None
            Rows whose labels are verified; see :meth:`fit`.

        Returns
        -------
        self : RobustActiveLabelCorrector
            The trained corrector, ready for :meth:`query`.
        """
        return self._start(X, y, trusted)

    def _start(self, X, y, trusted=None):
        X, y = validate_data(
            self, X, y, accept_sparse="csr", dtype=[np.float64, np.float32]
        )
        check_classification_targets(y)
        _check_fits_float32(X)
        check_wrapped_params(base_estimator(self))
        self._trusted = check_trusted(trusted, X.shape[0])
        if not self.train_on_trusted and self._trusted.all():
            raise ValueError(
                "Every row is trusted and train_on_trusted=False, so no row is "
                "left to train on; pass train_on_trusted=True or fewer trusted rows."
            )
        self.classes_, y_encoded = np.unique(y, return_inverse=True)
        n_classes = len(self.classes_)
        if n_classes < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least two classes in "
                f"y; got 1 class ({self.classes_[0]!r})."
            )
        if self.strategy == "robust" and self.propagation is not None:
            _check_diffusion_rate(self.diffusion_rate, self.laplacian)

        seed = check_random_state(self.random_state).randint(_INT32_MAX)
        # Children are keyed by position: the first three streams are those
        # of the paper-setting fits, whatever is added after them.
        model_seq, select_seq, retrain_seq, check_seq, sigma_seq, graph_seq = (
            np.random.SeedSequence(seed).spawn(6)
        )
        self._select_rng = np.random.default_rng(select_seq)
        self._retrain_rng = np.random.default_rng(retrain_seq)
        self._check_rng = np.random.default_rng(check_seq)
        self._graph_rng = np.random.default_rng(graph_seq)
        self._graph = None

        n_samples = X.shape[0]
        self._X = X
        self._y_given = y_encoded
        self._y_current = y_encoded.copy()
        self._pending = np.empty(0, dtype=np.intp)
        self.queried_ = np.empty(0, dtype=np.intp)

        base = base_estimator(self)
        self._learner = make_adapter(base, n_classes)
        self._learner.initialize(
            X, y_encoded, random_state=int(model_seq.generate_state(1)[0] % _INT32_MAX)
        )
        self.alpha_sigma_ = self._resolve_sigma(np.random.default_rng(sigma_seq))
        self.alpha_ = _initial_alpha(n_samples, self._excluded())
        self.history_ = []
        self._round = _new_round()
        self._logger = ProgressLogger(self.verbose, name=type(self).__name__)
        self._train()
        self._logger.log(
            round=(0, self._planned_rounds()), n_samples=n_samples, budget=self.budget
        )
        return self

    def _resolve_sigma(self, rng):
        """``σ_α`` of this fit: the one given, or the ``"auto"`` choice.

        ``"auto"`` cross-fits robust training on the noisy labels over two
        folds of the trusted rows, for each width of ``_AUTO_WIDTHS``, and
        keeps the one with the best held-out accuracy (then log-loss; the
        first on a tie). Without enough trusted rows, or without the robust
        update, it is the first width.
        """
        self.alpha_sigma_scores_ = None
        if self.alpha_sigma == "median":
            return "median"
        if self.alpha_sigma != "auto":
            return float(self.alpha_sigma)
        if not self._robust or self._trusted.sum() < MIN_TRUSTED_FOR_CHECK:
            return _AUTO_WIDTHS[0]
        folds = trusted_folds(
            self._trusted,
            self._y_current,
            random_state=int(rng.integers(_INT32_MAX)),
        )
        held_out = np.concatenate([np.flatnonzero(fold) for fold in folds])
        y_held_out = self._y_current[held_out]
        # One training seed per fold, shared by every width, so that the
        # widths are compared on the same initialisations and batch orders.
        fold_seeds = [int(rng.integers(_INT32_MAX)) for _ in folds]
        scores = {}
        for width in _AUTO_WIDTHS:
            proba = np.vstack(
                [
                    self._robust_fold(
                        np.flatnonzero(~fold), np.flatnonzero(fold), width, seed
                    )
                    for fold, seed in zip(folds, fold_seeds, strict=True)
                ]
            )
            picked = np.clip(proba[np.arange(len(held_out)), y_held_out], 1e-15, 1)
            accuracy = float(np.mean(np.argmax(proba, axis=1) == y_held_out))
            scores[width] = (accuracy, float(-np.mean(np.log(picked))))
        self.alpha_sigma_scores_ = scores
        # Highest accuracy, then lowest log-loss; max keeps the first on a tie.
        return max(_AUTO_WIDTHS, key=lambda w: (scores[w][0], -scores[w][1]))

    # ------------------------------------------------------- do no harm
    def _check_harm(self):
        """Keep the corrected model only if held-out rows clearly favour it.

        The annotator's answers are verified labels, so both arms keep them:
        the comparison is between the method's robust training (Eq. 2, 3) on
        the corrected labels and the plain base model fitted on the same
        rows and labels, cross-fitted over folds of the trusted rows, or of
        all rows scored with their current labels when there are fewer than
        10 trusted rows (:func:`~sknoisy.model_selection.compare_held_out`).
        """
        if not self.fallback:
            return
        check = compare_held_out(
            self._fit_fold,
            self._trusted,
            self._y_current,
            random_state=int(self._check_rng.integers(_INT32_MAX)),
        )
        if check is None:
            warnings.warn(
                f"{type(self).__name__} got too few rows ({len(self._trusted)}) "
                "to check its robust training against the plain model, so it "
                "returns the plain base model fitted on y with the annotator's "
                "answers applied. Set fallback=False to keep the robust model "
                "unchecked.",
                UncheckedCorrectionWarning,
                stacklevel=user_stacklevel(),
            )
            self._use_plain()
            return
        self.harm_check_ = check
        if check.harmful:
            warnings.warn(
                f"{type(self).__name__} returns the plain base model (fitted on "
                "y with the annotator's answers applied): " + check.describe() + ".",
                CorrectionFallbackWarning,
                stacklevel=user_stacklevel(),
            )
            self._use_plain()

    def _training_rows(self, rows, trusted):
        """Positions of ``rows`` that train, and their trusted mask."""
        if self.train_on_trusted:
            return rows, trusted
        return rows[~trusted], np.zeros(int((~trusted).sum()), dtype=bool)

    def _plain_model(self, rows, seed):
        """Fit the base model by its own ``fit`` on ``rows``, current labels."""
        X = _safe_indexing(self._X, rows)
        return fit_as_configured(
            base_estimator(self), len(self.classes_), X, self._y_current[rows], seed
        )

    def _robust_fold(self, fit_rows, test_rows, sigma, seed):
        """Train robustly from scratch on ``fit_rows``; predict ``test_rows``.

        The current labels, ``epochs`` epochs of Eq. 2 and 3 with width
        ``sigma``, the trusted rows among ``fit_rows`` pinned (or left out
        with ``train_on_trusted=False``).
        """
        rows, trusted = self._training_rows(fit_rows, self._trusted[fit_rows])
        X, y = _safe_indexing(self._X, rows), self._y_current[rows]
        model = make_adapter(clone(base_estimator(self)), len(self.classes_))
        model.initialize(X, y, random_state=seed)
        pinned = trusted.copy()
        if self.fix_queried_weights:
            pinned[np.isin(rows, self.queried_)] = True
        groups = self._alpha_groups(y, None)
        _train_epochs(
            model,
            X,
            y,
            _initial_alpha(len(y), None),
            self._n_epochs(),
            self._robust,
            lambda alpha, losses: _update_alpha(
                alpha, losses, self.alpha_step, sigma, groups
            ),
            lambda alpha: _pin_alpha(alpha, pinned, None),
        )
        return model.predict_proba(_safe_indexing(self._X, test_rows))

    def _fit_fold(self, fit_rows, trusted_fit, test_rows):
        """One fold of the check: robust and plain training on ``fit_rows``."""
        seed = int(self._check_rng.integers(_INT32_MAX))
        robust = self._robust_fold(fit_rows, test_rows, self.alpha_sigma_, seed)
        rows, _ = self._training_rows(fit_rows, trusted_fit)
        plain = self._plain_model(rows, seed)
        return robust, plain.predict_proba(_safe_indexing(self._X, test_rows))

    def _use_plain(self):
        """Make the plain base model, on the same rows and labels, the final one."""
        rows, _ = self._training_rows(np.arange(len(self._trusted)), self._trusted)
        seed = user_random_state(
            self.random_state, lambda: self._check_rng.integers(_INT32_MAX)
        )
        plain = self._plain_model(rows, seed)
        self._adapter = plain
        self.estimator_ = plain.estimator
        self.fallback_ = True

    @property
    def _robust(self):
        return self.strategy == "robust" and self.alpha_step > 0

    def _n_epochs(self):
        if self.epochs is not None:
            return self.epochs
        _, max_epochs = self._learner.training_schedule()
        return int(max_epochs) if max_epochs else _FALLBACK_EPOCHS

    def _excluded(self):
        """Rows left out of training: trusted ones with ``train_on_trusted=False``."""
        return None if self.train_on_trusted else self._trusted

    def _pinned(self, queried):
        """Rows whose ``α`` is held at the maximum: verified labels."""
        pinned = self._trusted.copy() if self.train_on_trusted else None
        if self.fix_queried_weights and queried.size:
            if pinned is None:
                pinned = np.zeros(len(self._trusted), dtype=bool)
            pinned[queried] = True
        return pinned

    def _update(self, alpha, losses):
        groups = self._alpha_groups(self._y_current, self._excluded())
        return _update_alpha(alpha, losses, self.alpha_step, self.alpha_sigma_, groups)

    def _alpha_groups(self, y, excluded):
        """Return the groups of Eq. 3: current labels, ``-1`` for rows not training."""
        if self.alpha_normalization == "global":
            return None
        groups = y.copy()
        if excluded is not None:
            groups[excluded] = -1
        return groups

    def _train(self):
        """(Re)train for the epochs of one round, with Eq. 3 after each."""
        pinned, excluded = self._pinned(self.queried_), self._excluded()
        self.alpha_ = _train_epochs(
            self._learner,
            self._X,
            self._y_current,
            self.alpha_,
            self._n_epochs(),
            self._robust,
            self._update,
            lambda alpha: _pin_alpha(alpha, pinned, excluded),
        )
        # The session's model is the final model until a check says otherwise.
        self._adapter = self._learner
        self.estimator_ = self._learner.estimator
        self.fallback_, self.harm_check_ = False, None
        self._set_outputs()
        self.noise_score_ = self._noise_scores()

    def _set_outputs(self):
        self.labels_ = self.classes_[self._y_current]
        self.sample_weight_ = len(self.alpha_) * self.alpha_

    def _noise_scores(self):
        """Score every row's *given* label with the query score of the model."""
        proba = self._learner.predict_proba(self._X)
        rows = np.arange(len(self._y_given))
        if self.strategy == "robust":
            return self._uncertainty(proba, self._y_given, rows)
        score = _BASELINE_SCORES.get(self.strategy, _current_label_loss)
        return score(proba, self._y_given)

    # ------------------------------------------------------------ ask/tell
    def query(self, n_queries=None):
        """Return the indices of the next examples to label.

        The same batch is returned until :meth:`teach` has answered all of
        it, so re-running a notebook cell does not skip examples.

        Parameters
        ----------
        n_queries : int, default=None
            Size of a new batch; ``None`` means ``batch_size``. Capped by the
            budget left and the unqueried pool.

        Returns
        -------
        indices : ndarray of shape (n_batch,)
            Row indices into the training data, in query order; empty when
            the budget is spent.
        """
        check_is_fitted(self)
        if self._pending.size:
            return self._pending.copy()
        if n_queries is None:
            n_queries = self.batch_size
        elif not isinstance(n_queries, Integral) or n_queries < 1:
            raise ValueError(f"n_queries must be a positive int; got {n_queries!r}.")
        pool = self._pool()
        n_queries = min(int(n_queries), self.budget - len(self.queried_), pool.size)
        if n_queries <= 0:
            return np.empty(0, dtype=np.intp)
        self._pending = self._select(pool, n_queries)
        return self._pending.copy()

    def _pool(self):
        pool = ~self._trusted
        pool[self.queried_] = False
        return np.flatnonzero(pool)

    def _select(self, pool, n_queries):
        """Pick the batch of one round, as indices into the training data."""
        rng = self._select_rng
        if self.strategy == "random":
            return rng.choice(pool, size=n_queries, replace=False)
        X_pool = _safe_indexing(self._X, pool)
        proba = self._learner.predict_proba(X_pool)
        y_pool = self._y_current[pool]
        if self.strategy != "robust":
            scores = _BASELINE_SCORES[self.strategy](proba, y_pool)
            return pool[_propagation_select(scores, None, n_queries, 0, 0, None)]

        scores = self._uncertainty(proba, y_pool, pool)
        candidates = self._candidates(pool, scores, n_queries, rng)
        laplacian = None
        if self.propagation is not None:
            affinity = self._candidate_graph(pool[candidates])
            laplacian = _laplacian(affinity, self.laplacian)
            _check_diffusion_rate(self.diffusion_rate, self.laplacian, laplacian)
        picks = _propagation_select(
            scores[candidates],
            laplacian,
            n_queries,
            self.diffusion_rate,
            self.diffusion_steps,
            self.propagation,
        )
        return pool[candidates[picks]]

    def _candidate_graph(self, rows):
        """Return the kNN affinity among this round's candidates ``rows``.

        ``graph_scope="candidates"`` builds it on the candidates' features;
        ``"all"`` takes the subgraph induced by the candidates in the graph
        of every training row, built at the first round and kept.
        """
        if self.graph_scope == "candidates":
            features = self._graph_features(_safe_indexing(self._X, rows))
            return self._knn_affinity(features)
        if self._graph is None:
            self._logger.start("graph of every row")
            self._graph = self._knn_affinity(self._graph_features(self._X))
        return self._graph[rows][:, rows].tocsr()

    def _knn_affinity(self, features):
        search = resolve_neighbors(self.neighbors, features.shape[0])
        return _knn_graph(
            features,
            self.n_neighbors,
            search,
            random_state=int(self._graph_rng.integers(_INT32_MAX)),
            n_jobs=self.n_jobs,
        )

    def _uncertainty(self, proba, y_pool, pool):
        if callable(self.uncertainty):
            scores = np.asarray(self.uncertainty(proba, y_pool), dtype=np.float64)
            if scores.shape != (len(pool),) or not np.all(np.isfinite(scores)):
                raise ValueError(
                    "uncertainty must return one finite score per example; got "
                    f"shape {scores.shape}."
                )
            return scores
        if self.uncertainty == "alpha":
            alpha = self.alpha_[pool]
            return 1.0 - alpha / self.alpha_.max()
        return _UNCERTAINTIES[self.uncertainty](proba, y_pool)

    def _candidates(self, pool, scores, n_queries, rng):
        """Sorted positions in ``pool`` of this round's candidate set."""
        size = self.n_candidates if self.n_candidates is not None else 20 * n_queries
        size = min(pool.size, max(size, n_queries))
        sampling = self.candidate_sampling
        if callable(sampling):
            weights = sampling(scores, self.alpha_[pool])
        elif sampling == "uniform":
            weights = np.ones(pool.size)
        elif sampling == "score":
            weights = scores
        else:  # alpha
            weights = 1.0 - len(self.alpha_) * self.alpha_[pool]
        return np.sort(_weighted_sample(weights, size, rng))

    def _graph_features(self, X_candidates):
        if callable(self.graph_features):
            features = self.graph_features(X_candidates)
        elif self.graph_features == "input":
            features = X_candidates
        else:
            features = self._learner.embed(X_candidates)
        if sparse.issparse(features):
            return normalize(features.astype(np.float32).tocsr())
        return normalize(np.asarray(features, dtype=np.float32))

    def teach(self, indices, labels):
        """Record the annotator's labels of ``indices``.

        The round closes, and the model is retrained, once no index of the
        batch from :meth:`query` is left unanswered (right away when no
        batch is pending). Everything is validated before anything changes.

        Parameters
        ----------
        indices : array-like of shape (n_answers,)
            Row indices of the training data, distinct and not yet queried.

        labels : array-like of shape (n_answers,)
            Their labels, in the label space of ``y``; masked values (of a
            :class:`numpy.ma.MaskedArray`) abstain: the label stays and the
            query is spent.

        Returns
        -------
        self : RobustActiveLabelCorrector
            The updated corrector.
        """
        check_is_fitted(self)
        indices, answered, encoded = self._check_answers(indices, labels)
        changed = encoded != self._y_current[indices[answered]]
        self._y_current[indices[answered]] = encoded
        self.queried_ = np.concatenate([self.queried_, indices])
        self._pending = self._pending[~np.isin(self._pending, indices)]
        self._round["indices"].append(indices)
        self._round["n_corrected"] += int(changed.sum())
        self._round["n_abstained"] += int((~answered).sum())
        self._set_outputs()
        if not self._pending.size:
            self._close_round()
        return self

    def _close_round(self):
        indices = np.concatenate(self._round["indices"])
        n_queried = len(indices)
        entry = {
            "round": len(self.history_) + 1,
            "indices": indices,
            "n_queried": n_queried,
            "n_abstained": self._round["n_abstained"],
            "n_corrected": self._round["n_corrected"],
            "hit_rate": self._round["n_corrected"] / n_queried if n_queried else 0.0,
        }
        self.history_.append(entry)
        self._round = _new_round()
        if self.retrain == "scratch":
            self._learner.initialize(
                self._X,
                self._y_current,
                random_state=int(self._retrain_rng.integers(_INT32_MAX)),
            )
        self._train()
        self._logger.log(
            round=(entry["round"], self._planned_rounds()),
            queried=n_queried,
            corrected=entry["n_corrected"],
            hit_rate=float(entry["hit_rate"]),
            budget_left=self.budget - len(self.queried_),
        )

    def _planned_rounds(self):
        """Return the rounds so far plus those the budget left needs."""
        left = self.budget - len(self.queried_)
        return len(self.history_) + -(-left // self.batch_size)

    def _check_answers(self, indices, labels):
        """Return ``(indices, answered mask, encoded answered labels)``, validated."""
        indices = np.asarray(indices)
        if indices.ndim != 1 or (indices.size and indices.dtype.kind not in "iu"):
            raise ValueError(
                "indices must be a 1-d array of integer row indices; got "
                f"dtype {indices.dtype} and shape {indices.shape}."
            )
        indices = indices.astype(np.intp)
        n_samples = len(self._y_current)
        if indices.size and (indices.min() < 0 or indices.max() >= n_samples):
            raise ValueError(f"indices must lie in [0, {n_samples}).")
        if len(np.unique(indices)) != indices.size:
            raise ValueError("indices must not repeat an example.")
        again = np.intersect1d(indices, self.queried_)
        if again.size:
            raise ValueError(
                f"Examples {again.tolist()[:10]} were queried already; an example "
                "is labelled once."
            )
        trusted = indices[self._trusted[indices]]
        if trusted.size:
            raise ValueError(
                f"Examples {trusted.tolist()[:10]} are trusted: their labels are "
                "verified already and are never queried or changed."
            )
        left = self.budget - len(self.queried_)
        if indices.size > left:
            raise ValueError(
                f"{indices.size} answers exceed the budget left ({left} of "
                f"budget={self.budget})."
            )
        if np.ma.isMaskedArray(labels):
            abstained = np.ma.getmaskarray(labels)
            values = np.ma.getdata(labels)
        else:
            values = np.asarray(labels)
            abstained = np.zeros(values.shape, dtype=bool)
        if values.ndim == 2 and values.shape[1] == 1:
            values, abstained = values[:, 0], abstained[:, 0]
        if values.shape != indices.shape:
            raise ValueError(
                f"The annotator returned labels of shape {values.shape} for "
                f"{indices.size} indices; it must return one label per index."
            )
        answered = ~abstained
        if values.dtype.kind == "b" and self.classes_.dtype.kind != "b":
            # numpy compares True == 1, which would turn yes/no answers
            # into the classes 1 and 0 silently.
            raise ValueError(
                "The annotator returned boolean labels, but the classes_ of y "
                f"are {self.classes_.tolist()} ({self.classes_.dtype}); it must "
                "return labels in the label space of y."
            )
        encoded = encode_labels(
            values[answered], self.classes_, "The annotator's labels", "classes_"
        )
        return indices, answered, encoded

    def run(self, annotator, n_rounds=None):
        """Query ``annotator`` round by round until the budget is spent.

        Resumes a session: a batch left pending by an interrupted run (an
        annotator that raised) is asked again first, and every label taught
        before is kept.

        Parameters
        ----------
        annotator : callable
            ``annotator(indices) -> labels``; see :meth:`fit`.

        n_rounds : int, default=None
            Stop after this many rounds; ``None`` runs until the budget (or
            the pool) is exhausted.

        Returns
        -------
        self : RobustActiveLabelCorrector
            The updated corrector.
        """
        check_is_fitted(self)
        if not callable(annotator):
            raise TypeError(
                "annotator must be a callable annotator(indices) -> labels; got "
                f"{type(annotator).__name__}."
            )
        done = 0
        while n_rounds is None or done < n_rounds:
            indices = self.query()
            if not indices.size:
                break
            self.teach(indices, annotator(indices.copy()))
            done += 1
        return self

    def _make_default_estimator(self):
        return _default_estimator()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = accepts_sparse(base_estimator(self))
        return sampler_tags(tags, sample_indices=False)
