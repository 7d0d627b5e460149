r"""Synthetic label noise.

This module corrupts a vector of class labels in the ways used by the
noisy-label literature, so that every method in :mod:`sknoisy` can be tested
and benchmarked against a known ground truth.

Three kinds of noise are available through :func:`make_label_noise`:

``"uniform"``
    An exact number of samples gets a uniformly random *other* class (the
    "symmetric" noise of Co-teaching, with an exact flip count).
``"pair"``
    An exact number of samples moves from class :math:`c_k` to
    :math:`c_{(k+1) \bmod K}` (the "pair flip" of Co-teaching, the
    "class-symmetric flipping" of the active label correction papers).
a transition matrix :math:`T`
    Every sample draws its noisy label independently from the row of its
    true class (Patrini et al., 2017).  :func:`uniform_transition_matrix` and
    :func:`pair_transition_matrix` build the matrices of the two named kinds,
    which reproduce the per-sample noise of the original code bases.

See :mod:`sknoisy.metrics` to measure the noise that was produced
(:func:`~sknoisy.metrics.label_noise_rate`,
:func:`~sknoisy.metrics.noise_transition_matrix`).

References
----------
.. [1] B. Han, Q. Yao, X. Yu, G. Niu, M. Xu, W. Hu, I. Tsang and M. Sugiyama,
   "Co-teaching: Robust training of deep neural networks with extremely noisy
   labels", Advances in Neural Information Processing Systems 31 (NeurIPS),
   2018.
.. [2] G. Patrini, A. Rozza, A. K. Menon, R. Nock and L. Qu, "Making deep
   neural networks robust to label noise: a loss correction approach", IEEE
   Conference on Computer Vision and Pattern Recognition (CVPR), 2017.
"""

import numbers

import numpy as np
from sklearn.utils import check_random_state

from .utils._labels import check_label_array, sorted_unique

__all__ = [
    "make_label_noise",
    "pair_transition_matrix",
    "uniform_transition_matrix",
]

_NAMED_KINDS = ("uniform", "pair")
_ROW_SUM_TOL = 1e-8


def make_label_noise(
    y, noise_rate=None, *, kind="uniform", classes=None, random_state=None
):
    r"""Corrupt class labels with synthetic label noise.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        True labels, of any type that :func:`numpy.unique` can sort (integers,
        strings, objects).  ``y`` is never modified, whether it is a list, a
        pandas Series or a read-only array.

    noise_rate : float in [0, 1) or None, default=None
        Fraction of samples whose label is changed.  Required for the named
        kinds; must be ``None`` when ``kind`` is a transition matrix, since
        the matrix defines the noise.

    kind : {"uniform", "pair"} or array-like of shape (K, K), default="uniform"
        The kind of noise, see Notes; ``K`` is the number of classes.

        - ``"uniform"``: exactly ``round(noise_rate * n_samples)`` samples get
          a uniformly random other class.
        - ``"pair"``: exactly ``round(noise_rate * n_samples)`` samples move
          from class :math:`c_k` to :math:`c_{(k+1) \bmod K}`.
        - a row-stochastic transition matrix ``T`` with
          ``T[i, j] = P(noisy = classes[j] | true = classes[i])``, in the
          sorted class order: every label is drawn independently from the row
          of its true class.

    classes : array-like of shape (n_classes,), default=None
        The label set.  ``None`` means ``np.unique(y)``.  A given set must
        contain every label of ``y``, and allows noise to move samples into
        classes absent from ``y`` (e.g. when ``y`` is a subset of a data set).
        Classes are used in sorted order.

    random_state : int, RandomState instance or None, default=None
        Controls the random draws.  Pass an int for reproducible output.  A
        :class:`numpy.random.RandomState` is used and advanced in place.

    Returns
    -------
    y_noisy : ndarray of shape (n_samples,)
        The noisy labels, a new array.  Its dtype holds every class of
        ``y`` and ``classes`` (no truncation of strings).

    Raises
    ------
    ValueError
        If ``y`` is not 1-D or has missing values, if ``noise_rate`` is not a
        number in [0, 1) (or is given with a matrix), if there are fewer than
        two classes, if ``classes`` does not cover ``y``, if ``kind`` is an
        unknown name, or if the matrix is not a square row-stochastic matrix
        of size ``n_classes``.

    See Also
    --------
    uniform_transition_matrix : Transition matrix of uniform noise.
    pair_transition_matrix : Transition matrix of pair noise.
    sknoisy.metrics.label_noise_rate : Fraction of labels that differ.
    sknoisy.metrics.noise_transition_matrix : Empirical transition matrix.

    Notes
    -----
    Let :math:`c_0 < c_1 < \dots < c_{K-1}` be the sorted classes, :math:`n`
    the number of samples, and :math:`m = \operatorname{round}(r n)` for the
    noise rate :math:`r` (Python's :func:`round`, ties to even).

    **Uniform** (``kind="uniform"``).  A set :math:`S` of exactly :math:`m`
    samples is drawn uniformly without replacement, and

    .. math::

        \tilde y_i \sim \mathcal{U}\bigl(\{c_0, \dots, c_{K-1}\}
        \setminus \{y_i\}\bigr) \quad (i \in S), \qquad
        \tilde y_i = y_i \quad (i \notin S),

    so exactly :math:`m` labels change.  In expectation this is the
    "symmetric" noise of [1]_, with transition matrix
    :math:`T = (1 - r) I + \frac{r}{K - 1}(\mathbf{1}\mathbf{1}^\top - I)`
    (see :func:`uniform_transition_matrix`).

    **Pair** (``kind="pair"``).  A set :math:`S` of exactly :math:`m` samples
    is drawn as above, and

    .. math::

        \tilde y_i = c_{(k + 1) \bmod K} \quad \text{if } y_i = c_k,
        \ i \in S, \qquad \tilde y_i = y_i \quad (i \notin S),

    the "pair flip" of [1]_, with transition matrix
    :math:`T_{kk} = 1 - r`, :math:`T_{k, (k+1) \bmod K} = r`
    (see :func:`pair_transition_matrix`).

    **Transition matrix** (``kind=T``).  Each label is drawn independently,

    .. math::

        P(\tilde y_i = c_j \mid y_i = c_k) = T_{kj},

    as in [2]_.  The number of changed labels is random, with expectation
    :math:`\sum_i (1 - T_{k(i) k(i)})`.  The original Co-teaching and
    RDIA-LS code draws its noise this way, so
    ``kind=uniform_transition_matrix(K, r)`` and
    ``kind=pair_transition_matrix(K, r)`` reproduce their protocol, whereas
    the named kinds fix the flip count exactly.  The "unif" noise of DALC
    with parameter :math:`p`, :math:`T = \frac{p}{K}\mathbf{1}\mathbf{1}^\top
    + (1 - p) I`, is ``uniform_transition_matrix(K, p * (K - 1) / K)``.

    All random draws come from ``check_random_state(random_state)``; no
    global seed is touched.

    References
    ----------
    .. [1] B. Han et al., "Co-teaching: Robust training of deep neural
       networks with extremely noisy labels", NeurIPS, 2018.
    .. [2] G. Patrini et al., "Making deep neural networks robust to label
       noise: a loss correction approach", CVPR, 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from sknoisy.noise import make_label_noise
    >>> y = np.array([0, 0, 1, 1, 2, 2, 0, 1, 2, 0])
    >>> y_noisy = make_label_noise(y, 0.3, random_state=0)
    >>> y_noisy
    array([0, 0, 2, 1, 0, 2, 0, 1, 1, 0])
    >>> int((y_noisy != y).sum())
    3

    Pair noise moves each chosen label to the next class:

    >>> make_label_noise(["a", "b", "c", "a"], 0.5, kind="pair", random_state=0)
    array(['a', 'b', 'a', 'b'], dtype='<U1')

    A transition matrix draws every label independently; the identity keeps
    the labels:

    >>> make_label_noise(y, kind=np.eye(3), random_state=0)
    array([0, 0, 1, 1, 2, 2, 0, 1, 2, 0])
    """
    y = check_label_array(y, "y")
    classes = _check_classes(classes, y)
    n_classes = classes.shape[0]
    rng = check_random_state(random_state)
    noise_rate, transition = _check_kind(kind, noise_rate, n_classes)

    codes = np.searchsorted(classes, y)
    if transition is None:
        new_codes = _flip_exact_count(codes, n_classes, noise_rate, kind, rng)
    else:
        new_codes = _draw_from_transition(codes, transition, rng)
    return _decode_changes(y, classes, codes, new_codes)


def uniform_transition_matrix(n_classes, noise_rate):
    r"""Transition matrix of uniform ("symmetric") label noise.

    Parameters
    ----------
    n_classes : int
        Number of classes :math:`K \ge 2`.

    noise_rate : float in [0, 1]
        Probability :math:`r` that a label changes.

    Returns
    -------
    T : ndarray of shape (n_classes, n_classes)
        Row-stochastic matrix with :math:`1 - r` on the diagonal and
        :math:`r / (K - 1)` elsewhere.

    See Also
    --------
    make_label_noise : Use the matrix as ``kind=T``.
    pair_transition_matrix : Transition matrix of pair noise.

    Notes
    -----
    .. math::

        T = (1 - r) I + \frac{r}{K - 1} (\mathbf{1}\mathbf{1}^\top - I),

    the "symmetric" noise of Co-teaching [1]_ and RDIA-LS.  A label changes
    with probability :math:`r` and then goes to any other class with equal
    probability.

    References
    ----------
    .. [1] B. Han et al., "Co-teaching: Robust training of deep neural
       networks with extremely noisy labels", NeurIPS, 2018.

    Examples
    --------
    >>> from sknoisy.noise import uniform_transition_matrix
    >>> uniform_transition_matrix(3, 0.2)
    array([[0.8, 0.1, 0.1],
           [0.1, 0.8, 0.1],
           [0.1, 0.1, 0.8]])
    """
    n_classes = _check_n_classes(n_classes)
    noise_rate = _check_rate(noise_rate, "noise_rate", closed=True)
    transition = np.full((n_classes, n_classes), noise_rate / (n_classes - 1))
    np.fill_diagonal(transition, 1.0 - noise_rate)
    return transition


def pair_transition_matrix(n_classes, noise_rate):
    r"""Transition matrix of pair-flip label noise.

    Parameters
    ----------
    n_classes : int
        Number of classes :math:`K \ge 2`.

    noise_rate : float in [0, 1]
        Probability :math:`r` that a label moves to the next class.

    Returns
    -------
    T : ndarray of shape (n_classes, n_classes)
        Row-stochastic matrix with :math:`1 - r` on the diagonal, :math:`r`
        at :math:`(k, (k + 1) \bmod K)` and zeros elsewhere.

    See Also
    --------
    make_label_noise : Use the matrix as ``kind=T``.
    uniform_transition_matrix : Transition matrix of uniform noise.

    Notes
    -----
    .. math::

        T_{kj} = \begin{cases}
            1 - r & j = k, \\
            r & j = (k + 1) \bmod K, \\
            0 & \text{otherwise,}
        \end{cases}

    the "pair flip" of Co-teaching [1]_ and RDIA-LS.  For :math:`K = 2` the
    off-diagonal entries are both :math:`r`, as for uniform noise.

    References
    ----------
    .. [1] B. Han et al., "Co-teaching: Robust training of deep neural
       networks with extremely noisy labels", NeurIPS, 2018.

    Examples
    --------
    >>> from sknoisy.noise import pair_transition_matrix
    >>> pair_transition_matrix(3, 0.25)
    array([[0.75, 0.25, 0.  ],
           [0.  , 0.75, 0.25],
           [0.25, 0.  , 0.75]])
    """
    n_classes = _check_n_classes(n_classes)
    noise_rate = _check_rate(noise_rate, "noise_rate", closed=True)
    transition = (1.0 - noise_rate) * np.eye(n_classes)
    rows = np.arange(n_classes)
    transition[rows, (rows + 1) % n_classes] += noise_rate
    return transition


# --------------------------------------------------------------------------
# The steps of make_label_noise
# --------------------------------------------------------------------------


def _check_kind(kind, noise_rate, n_classes):
    """Validate ``kind`` with ``noise_rate``; return ``(noise_rate, transition)``.

    A named kind needs a rate in [0, 1) and has no matrix (``transition`` is
    None); a matrix kind defines the noise itself, so it takes no rate.
    """
    if isinstance(kind, str):
        if kind not in _NAMED_KINDS:
            raise ValueError(
                f"kind must be one of {_NAMED_KINDS} or a transition matrix, "
                f"got {kind!r}."
            )
        if noise_rate is None:
            raise ValueError(f"noise_rate is required for kind={kind!r}.")
        return _check_rate(noise_rate, "noise_rate", closed=False), None
    if noise_rate is not None:
        raise ValueError(
            "noise_rate must be None when kind is a transition matrix (the "
            f"matrix defines the noise), got noise_rate={noise_rate!r}."
        )
    return None, _check_transition_matrix(kind, n_classes)


def _flip_exact_count(codes, n_classes, noise_rate, kind, rng):
    """Named kinds: move exactly ``round(noise_rate * n)`` labels to another class.

    The rows are drawn without replacement first, then how far each moves
    along the sorted classes (:func:`_class_offsets`); an offset in
    ``1..K-1`` never lands on the label's own class, so every drawn label
    changes.
    """
    n_samples = codes.shape[0]
    n_flip = round(noise_rate * n_samples)
    flipped = rng.choice(n_samples, size=n_flip, replace=False)
    offset = _class_offsets(kind, n_flip, n_classes, rng)
    new_codes = codes.copy()
    new_codes[flipped] = (codes[flipped] + offset) % n_classes
    return new_codes


def _class_offsets(kind, n_flip, n_classes, rng):
    """How many classes ahead each flipped label moves: where the kinds differ."""
    if kind == "uniform":
        # Uniform in 1..K-1: a uniformly random *other* class.
        return rng.randint(1, n_classes, size=n_flip)
    return 1  # "pair": always the next class


def _draw_from_transition(codes, transition, rng):
    """Matrix kind: draw every label independently from its class's row.

    Inverse-CDF sampling with one uniform draw per sample.  Samples are
    grouped by class with one sort, and the loop runs over classes, not
    samples.  Zero-probability classes are never drawn, and an identity
    matrix returns the codes exactly.
    """
    n_samples, n_classes = codes.shape[0], transition.shape[0]
    cumulative = np.cumsum(transition, axis=1)
    # Rows sum to 1 only within a tolerance: normalising makes the last
    # bin end exactly at 1.
    cumulative /= cumulative[:, -1:]
    u = rng.random_sample(n_samples)
    new_codes = np.empty(n_samples, dtype=np.intp)
    by_class = np.argsort(codes, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(np.bincount(codes, minlength=n_classes))))
    for k in range(n_classes):
        members = by_class[bounds[k] : bounds[k + 1]]
        new_codes[members] = np.searchsorted(cumulative[k], u[members], side="right")
    # u < 1 = the last edge, so this clamp only guards against rounding.
    np.minimum(new_codes, n_classes - 1, out=new_codes)
    return new_codes


def _decode_changes(y, classes, codes, new_codes):
    """Return a copy of ``y`` with the labels whose class code changed replaced.

    Only the changed labels are overwritten, so that unchanged labels keep
    their exact value, and the dtype holds every class (no truncation of
    longer strings).
    """
    y_noisy = y.astype(_output_dtype(y, classes), copy=True)
    changed = new_codes != codes
    y_noisy[changed] = classes[new_codes[changed]]
    return y_noisy


# --------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------


def _check_classes(classes, y):
    """Return the sorted label set, checking that it covers ``y``."""
    if classes is None:
        classes = sorted_unique(y, "y")
        if classes.shape[0] < 2:
            raise ValueError(
                f"y must contain at least two classes to add label noise, got "
                f"{classes.shape[0]}; pass `classes` to allow other labels."
            )
        return classes

    given = check_label_array(classes, "classes")
    classes = sorted_unique(given, "classes")
    if classes.shape[0] != given.shape[0]:
        raise ValueError("classes must not contain duplicate labels.")
    if classes.shape[0] < 2:
        raise ValueError(
            f"classes must contain at least two classes, got {classes.shape[0]}."
        )
    try:
        covered = np.isin(y, classes)
    except TypeError:  # incomparable label types
        covered = np.zeros(y.shape, dtype=bool)
    if not covered.all():
        missing = sorted_unique(np.asarray(y[~covered], dtype=object), "y")
        shown = ", ".join(repr(v) for v in missing[:5])
        more = ", ..." if missing.shape[0] > 5 else ""
        raise ValueError(
            f"classes must contain every label of y; missing: [{shown}{more}]."
        )
    return classes


def _output_dtype(y, classes):
    """Return a dtype that holds both the labels of ``y`` and every class."""
    try:
        return np.result_type(y.dtype, classes.dtype)
    except TypeError:
        return np.dtype(object)


def _check_rate(rate, name, *, closed):
    """Validate a probability in [0, 1) (or [0, 1] if ``closed``)."""
    if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {rate!r}.")
    rate = float(rate)
    upper_ok = rate <= 1.0 if closed else rate < 1.0
    if not (rate >= 0.0 and upper_ok):  # also rejects NaN
        interval = "[0, 1]" if closed else "[0, 1)"
        raise ValueError(f"{name} must be in {interval}, got {rate!r}.")
    return rate


def _check_n_classes(n_classes):
    if isinstance(n_classes, (bool, np.bool_)) or not isinstance(
        n_classes, numbers.Integral
    ):
        raise ValueError(f"n_classes must be an integer, got {n_classes!r}.")
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes}.")
    return int(n_classes)


def _check_transition_matrix(matrix, n_classes):
    """Validate a K×K row-stochastic matrix and return it as float64."""
    try:
        transition = np.array(matrix, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "kind must be 'uniform', 'pair' or a numeric transition matrix; "
            f"could not convert it to a float array: {exc}"
        ) from exc
    if transition.shape != (n_classes, n_classes):
        raise ValueError(
            f"kind (transition matrix) must have shape ({n_classes}, "
            f"{n_classes}) for {n_classes} classes, got {transition.shape}."
        )
    if not np.isfinite(transition).all():
        raise ValueError("kind (transition matrix) contains NaN or infinite values.")
    if (transition < 0).any():
        raise ValueError("kind (transition matrix) has negative entries.")
    row_sums = transition.sum(axis=1)
    bad = np.flatnonzero(np.abs(row_sums - 1.0) > _ROW_SUM_TOL)
    if bad.size:
        raise ValueError(
            f"kind (transition matrix) rows must sum to 1 (tolerance "
            f"{_ROW_SUM_TOL:g}); row {bad[0]} sums to {float(row_sums[bad[0]])!r}."
        )
    return transition
