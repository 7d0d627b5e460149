"""Cosine nearest neighbours for the graph-based methods.

Prune4ReL's neighbourhood graph and the kNN graph of
:class:`~sknoisy.RobustActiveLabelCorrector` both need, for every row, the
rows most similar to it by cosine. Two searches answer that:

``"exact"``
    Blocked matrix products of the ℓ2-normalised rows against all rows, the
    top ``k`` of each block kept: ``O(n² d)`` time in BLAS-3 products and
    ``O(block · n + n · k)`` memory, never ``n × n``. The blocks run through
    :class:`joblib.Parallel`, so ``n_jobs`` (or a
    :func:`joblib.parallel_backend`, dask included) spreads them.

``"approximate"``
    An inverted-file index of `faiss <https://github.com/facebookresearch/faiss>`_
    (``faiss-cpu``, the optional ``ann`` extra): k-means cells of about
    :data:`ROWS_PER_CELL` rows, found through a small HNSW graph over the
    cell centres, and each row compared exactly with the rows of its
    ``n_probe`` nearest cells. Time grows as ``n log n`` (the cells keep their
    size as ``n`` grows) and memory as ``n · (d + k)``.

``"auto"`` takes the exact search below :data:`AUTO_APPROXIMATE_ROWS` rows,
where it is fast and needs nothing more, and the approximate search above
when faiss is installed.
"""

import numbers

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from scipy import sparse
from sklearn.utils import check_random_state

__all__ = [
    "AUTO_APPROXIMATE_ROWS",
    "ROWS_PER_CELL",
    "cosine_kneighbors",
    "l2_normalize",
    "resolve_neighbors",
]

# Rows from which "auto" switches to the approximate index: at 100,000 x 512
# the exact search takes about a minute on 2 cores and grows as n².
AUTO_APPROXIMATE_ROWS = 100_000
# Mean rows per k-means cell of the approximate index: its query cost is
# n_probe cells of this size, independent of n.
ROWS_PER_CELL = 256
# Cells each row is compared against (the rows of its n_probe nearest cells).
DEFAULT_N_PROBE = 8
# Rows of training sample per cell for the index's k-means (faiss warns
# below 39), and the k-means iterations.
_TRAIN_ROWS_PER_CELL = 40
_KMEANS_ITERATIONS = 10
# Working memory of one block of similarities (exact search) or of queries
# (approximate search).
_BLOCK_BYTES = 64 * 2**20

_INSTALL_HINT = (
    'Install faiss with `python -m pip install "sknoisy[ann]"` (or '
    '`python -m pip install faiss-cpu`), or use neighbors="exact".'
)


def resolve_neighbors(neighbors, n_samples):
    """Return the search that ``neighbors`` asks for on ``n_samples`` rows.

    Parameters
    ----------
    neighbors : {"auto", "exact", "approximate"}
        The estimator's parameter.

    n_samples : int
        Rows to be searched.

    Returns
    -------
    algorithm : {"exact", "approximate"}
        ``"auto"`` is exact below :data:`AUTO_APPROXIMATE_ROWS` rows or
        without faiss, approximate otherwise.

    Raises
    ------
    ImportError
        When ``"approximate"`` is asked for and faiss is not installed.
    """
    if neighbors == "exact":
        return "exact"
    available = _faiss() is not None
    if neighbors == "approximate":
        if not available:
            raise ImportError(
                f"neighbors='approximate' needs the faiss library. {_INSTALL_HINT}"
            )
        return "approximate"
    if neighbors != "auto":
        raise ValueError(
            f"neighbors must be 'auto', 'exact' or 'approximate'; got {neighbors!r}."
        )
    if n_samples >= AUTO_APPROXIMATE_ROWS and available:
        return "approximate"
    return "exact"


def l2_normalize(Z, dtype=None):
    """Rows of ``Z`` scaled to unit ℓ2 norm; zero rows stay zero.

    Parameters
    ----------
    Z : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Rows to normalise; never modified.

    dtype : dtype, default=None
        Output dtype; ``None`` keeps float32 and takes float64 otherwise.

    Returns
    -------
    Zn : {ndarray, sparse matrix} of shape (n_samples, n_features)
        A normalised copy (CSR when ``Z`` is sparse).
    """
    if dtype is None:
        dtype = np.float32 if Z.dtype == np.float32 else np.float64
    if sparse.issparse(Z):
        Z = sparse.csr_matrix(Z, dtype=dtype)
        norms = np.sqrt(np.asarray(Z.multiply(Z).sum(axis=1)).ravel())
        scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        return (sparse.diags(scale.astype(dtype)) @ Z).tocsr()
    Z = np.asarray(Z, dtype=dtype)
    norms = np.linalg.norm(Z, axis=1)
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return Z * scale[:, None]


def cosine_kneighbors(
    Z,
    n_neighbors,
    *,
    algorithm="exact",
    normalized=False,
    n_probe=DEFAULT_N_PROBE,
    random_state=None,
    n_jobs=None,
):
    """Find the ``n_neighbors`` rows of ``Z`` most cosine-similar to each row.

    Parameters
    ----------
    Z : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Rows to search among; never modified. Sparse input stays sparse in
        the exact search; the approximate index stores dense float32 rows.

    n_neighbors : int
        Neighbours per row (itself excluded); capped at ``n_samples - 1``.

    algorithm : {"exact", "approximate"}, default="exact"
        The search (see :func:`resolve_neighbors`).

    normalized : bool, default=False
        Whether the rows of ``Z`` already have unit norm (or zero norm).

    n_probe : int, default=8
        Cells of the approximate index each row is compared with; more is
        closer to exact and slower.

    random_state : int, RandomState instance or None, default=None
        Seeds the approximate index's k-means and its training sample.

    n_jobs : int, default=None
        Parallel blocks of the exact search through :class:`joblib.Parallel`,
        and faiss's threads for the approximate one. ``None`` means 1 unless
        in a :func:`joblib.parallel_backend` context; ``-1`` means all cores.

    Returns
    -------
    indices : ndarray of shape (n_samples, k), dtype int64
        Neighbours of each row, most similar first. The approximate search
        may return fewer than ``k`` real neighbours for a row; the missing
        slots hold ``-1``.

    cosines : ndarray of shape (n_samples, k), dtype float32
        Their cosine similarities (``-inf`` in missing slots).
    """
    n_samples = Z.shape[0]
    k = min(int(n_neighbors), n_samples - 1)
    if k < 1:
        return np.empty((n_samples, 0), np.int64), np.empty((n_samples, 0), np.float32)
    if algorithm == "approximate":
        return _approximate_kneighbors(
            Z, k, normalized, int(n_probe), check_random_state(random_state), n_jobs
        )
    Zn = Z if normalized else l2_normalize(Z)
    step = max(1, _BLOCK_BYTES // (n_samples * 8))
    blocks = Parallel(n_jobs=n_jobs)(
        delayed(_exact_block)(Zn, start, min(start + step, n_samples), k)
        for start in range(0, n_samples, step)
    )
    return (
        np.concatenate([b[0] for b in blocks]),
        np.concatenate([b[1] for b in blocks]),
    )


def _exact_block(Zn, start, stop, k):
    """Top ``k`` cosines of rows ``start:stop`` against every row."""
    cos = Zn[start:stop] @ Zn.T
    cos = cos.toarray() if sparse.issparse(cos) else np.asarray(cos)
    rows = np.arange(stop - start)
    cos[rows, rows + start] = -np.inf  # a row is not its own neighbour
    top = np.argpartition(-cos, k - 1, axis=1)[:, :k]
    top_cos = np.take_along_axis(cos, top, axis=1)
    # Most similar first; equal cosines in index order, as a full sort would.
    order = np.lexsort((top, -top_cos), axis=1)
    top = np.take_along_axis(top, order, axis=1)
    return top.astype(np.int64), np.take_along_axis(top_cos, order, axis=1).astype(
        np.float32
    )


# --------------------------------------------------------------------------
# The approximate index (faiss)
# --------------------------------------------------------------------------
def _faiss():
    try:
        import faiss
    except ImportError:
        return None
    return faiss


def _dense_rows(Z, rows, normalized):
    """Float32 unit rows ``Z[rows]``: the index's input, one block at a time."""
    block = Z[rows]
    if sparse.issparse(block):
        block = block.toarray()
    block = np.asarray(block, dtype=np.float32)
    return block if normalized else l2_normalize(block, np.float32)


def _row_blocks(n_samples, n_features):
    step = max(1, _BLOCK_BYTES // (max(n_features, 1) * 4))
    return [slice(s, min(s + step, n_samples)) for s in range(0, n_samples, step)]


def _approximate_kneighbors(Z, k, normalized, n_probe, rng, n_jobs):
    faiss = _faiss()
    if faiss is None:
        raise ImportError(
            f"The approximate neighbour search needs faiss. {_INSTALL_HINT}"
        )
    if not isinstance(n_probe, numbers.Integral) or n_probe < 1:
        raise ValueError(f"n_probe must be a positive integer; got {n_probe!r}.")
    n_samples, n_features = Z.shape
    threads = effective_n_jobs(n_jobs)
    previous_threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(threads)
    try:
        index = _build_index(faiss, Z, normalized, rng)
        faiss.extract_index_ivf(index).nprobe = n_probe
        # The HNSW over cell centres must reach the n_probe nearest cells.
        faiss.ParameterSpace().set_index_parameter(
            index, "quantizer_efSearch", max(64, 2 * n_probe)
        )
        indices = np.empty((n_samples, k), np.int64)
        cosines = np.empty((n_samples, k), np.float32)
        for rows in _row_blocks(n_samples, n_features):
            block = _dense_rows(Z, rows, normalized)
            found_cos, found = index.search(block, k + 1)
            indices[rows], cosines[rows] = _drop_self(
                found, found_cos, np.arange(rows.start, rows.stop), k
            )
    finally:
        faiss.omp_set_num_threads(previous_threads)
    cosines[indices < 0] = -np.inf
    return indices, cosines


def _build_index(faiss, Z, normalized, rng):
    """Build an inverted-file index of the unit rows, inner-product metric."""
    n_samples, n_features = Z.shape
    n_cells = max(1, n_samples // ROWS_PER_CELL)
    index = faiss.index_factory(
        n_features, f"IVF{n_cells}_HNSW32,Flat", faiss.METRIC_INNER_PRODUCT
    )
    clustering = faiss.extract_index_ivf(index).cp
    clustering.niter = _KMEANS_ITERATIONS
    clustering.seed = int(rng.randint(np.iinfo(np.int32).max))
    # faiss would otherwise draw its own sample of 256 rows per cell.
    clustering.max_points_per_centroid = _TRAIN_ROWS_PER_CELL
    n_train = min(n_samples, _TRAIN_ROWS_PER_CELL * n_cells)
    train = np.sort(rng.choice(n_samples, size=n_train, replace=False))
    index.train(_dense_rows(Z, train, normalized))
    for rows in _row_blocks(n_samples, n_features):
        index.add(_dense_rows(Z, rows, normalized))
    return index


def _drop_self(found, found_cos, own, k):
    """Keep the ``k`` results of each row other than the row itself.

    A row usually finds itself first, but a duplicate of equal cosine may
    come first, and a row whose cell was not probed may miss itself: drop
    the row's own index wherever it is, else the last result.
    """
    is_self = found == own[:, None]
    is_self[~is_self.any(axis=1), -1] = True
    keep = ~is_self
    # Exactly one slot per row is dropped: keep the other k in their order.
    order = np.argsort(~keep, axis=1, kind="stable")[:, :k]
    return (
        np.take_along_axis(found, order, axis=1),
        np.take_along_axis(found_cos, order, axis=1),
    )
