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
    Cells of `faiss <https://github.com/facebookresearch/faiss>`_'s k-means
    (``faiss-cpu``, the optional ``ann`` extra) of about
    :data:`ROWS_PER_CELL` rows, rows assigned to them through an HNSW graph
    of the centres, and the rows of each cell compared exactly, in one
    matrix product, with the rows of the ``n_probe`` cells nearest to its
    centre. Time grows as ``n log n`` (the cells keep their size as ``n``
    grows) and memory as ``n · k``; the cells run through
    :class:`joblib.Parallel` too.

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
# Rows of training sample per cell for the k-means, and its iterations.
_TRAIN_ROWS_PER_CELL = 32
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
        Cells of the approximate search each cell's rows are compared with;
        more is closer to exact and slower.

    random_state : int, RandomState instance or None, default=None
        Seeds the approximate index's k-means and its training sample.

    n_jobs : int, default=None
        Parallel blocks of the exact search through :class:`joblib.Parallel`
        (``None`` means 1 unless in a :func:`joblib.parallel_backend`
        context; ``-1`` means all cores), and faiss's threads for the
        approximate one (``None``: faiss's default, every core).

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


def _dense_rows(Z, rows):
    """Float32 dense rows ``Z[rows]`` (sparse rows are densified)."""
    block = Z[rows]
    if sparse.issparse(block):
        block = block.toarray()
    return np.asarray(block, dtype=np.float32)


def _row_blocks(n_samples, n_features):
    step = max(1, _BLOCK_BYTES // (max(n_features, 1) * 4))
    return [slice(s, min(s + step, n_samples)) for s in range(0, n_samples, step)]


def _approximate_kneighbors(Z, k, normalized, n_probe, rng, n_jobs):
    """Cells of k-means, each joined exactly with its nearest cells.

    faiss clusters a sample into cells of about :data:`ROWS_PER_CELL` rows
    (the assignment of each k-means iteration through an HNSW graph of the
    centres, so training grows as ``n log n``) and assigns every row to its
    nearest centre through the same graph. Then each cell's rows are
    compared, in one matrix product, with the rows of the ``n_probe``
    cells nearest to the cell's centre: BLAS-3 work on a few hundred rows
    at a time, several times faster than scanning lists row by row. The
    cells run through :class:`joblib.Parallel`.
    """
    faiss = _faiss()
    if faiss is None:
        raise ImportError(
            f"The approximate neighbour search needs faiss. {_INSTALL_HINT}"
        )
    if not isinstance(n_probe, numbers.Integral) or n_probe < 1:
        raise ValueError(f"n_probe must be a positive integer; got {n_probe!r}.")
    n_samples = Z.shape[0]
    inverse_norms = _inverse_norms(Z, normalized)
    previous_threads = faiss.omp_get_max_threads()
    # Like BLAS and OpenMP in scikit-learn, faiss uses every core unless
    # n_jobs says otherwise.
    threads = previous_threads if n_jobs is None else effective_n_jobs(n_jobs)
    faiss.omp_set_num_threads(threads)
    try:
        centres, cell_of = _cells(faiss, Z, inverse_norms, rng)
        n_cells = len(centres)
        probe = min(int(n_probe), n_cells)
        # The n_probe cells nearest to each cell's centre, itself first.
        _, probed = faiss.knn(
            centres, centres, probe, metric=faiss.METRIC_INNER_PRODUCT
        )
    finally:
        faiss.omp_set_num_threads(previous_threads)
    order = np.argsort(cell_of, kind="stable")
    bounds = np.searchsorted(cell_of[order], np.arange(n_cells + 1))
    members = [order[bounds[c] : bounds[c + 1]] for c in range(n_cells)]
    # Batches of cells, a few hundred thousand row pairs at least per task.
    per_task = max(1, int(2**18 // max(1, ROWS_PER_CELL * probe)))
    batches = [
        range(c, min(c + per_task, n_cells)) for c in range(0, n_cells, per_task)
    ]
    # As a generator: each batch's neighbours go into the output as they
    # come, rather than all batches' arrays beside the output at the end.
    results = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_join_cells)(
            Z,
            inverse_norms,
            [members[c] for c in batch],
            [np.concatenate([members[p] for p in probed[c] if p >= 0]) for c in batch],
            k,
        )
        for batch in batches
    )
    indices = np.full((n_samples, k), -1, np.int64)
    cosines = np.full((n_samples, k), -np.inf, np.float32)
    for rows, found, found_cos in results:
        indices[rows], cosines[rows] = found, found_cos
    return indices, cosines


def _inverse_norms(Z, normalized):
    if normalized:
        return None
    if sparse.issparse(Z):
        norms = np.sqrt(np.asarray(Z.multiply(Z).sum(axis=1), np.float64).ravel())
    else:
        norms = np.empty(Z.shape[0])
        for rows in _row_blocks(*Z.shape):
            norms[rows] = np.linalg.norm(np.asarray(Z[rows], np.float64), axis=1)
    return np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0).astype(
        np.float32
    )


def _unit_rows(Z, rows, inverse_norms):
    block = _dense_rows(Z, rows)
    if inverse_norms is not None:
        # A new array: a slice of a float32 Z is a view of the caller's data.
        block = block * inverse_norms[rows][:, None]
    return block


def _cells(faiss, Z, inverse_norms, rng):
    """k-means centres of a sample, and the nearest centre of every row."""
    n_samples, n_features = Z.shape
    n_cells = max(1, n_samples // ROWS_PER_CELL)
    # The training sample: _TRAIN_ROWS_PER_CELL rows per cell, within the
    # block memory when rows are wide.
    n_train = min(
        n_samples,
        _TRAIN_ROWS_PER_CELL * n_cells,
        max(n_cells, 4 * _BLOCK_BYTES // (4 * max(n_features, 1))),
    )
    train = np.sort(rng.choice(n_samples, size=n_train, replace=False))
    sample = _unit_rows(Z, train, inverse_norms)
    clustering = faiss.Clustering(n_features, n_cells)
    clustering.niter = _KMEANS_ITERATIONS
    clustering.seed = int(rng.randint(np.iinfo(np.int32).max))
    clustering.spherical = True
    clustering.max_points_per_centroid = _TRAIN_ROWS_PER_CELL
    clustering.min_points_per_centroid = 1
    centre_graph = _centre_graph(faiss, n_features)
    clustering.train(sample, centre_graph)
    centres = faiss.vector_float_to_array(clustering.centroids).reshape(
        n_cells, n_features
    )
    centre_graph.reset()
    centre_graph.add(centres)
    cell_of = np.empty(n_samples, np.int64)
    for rows in _row_blocks(n_samples, n_features):
        _, nearest = centre_graph.search(_unit_rows(Z, rows, inverse_norms), 1)
        cell_of[rows] = nearest[:, 0]
    # A row the graph search could not place goes to cell 0.
    cell_of[cell_of < 0] = 0
    return centres, cell_of


def _centre_graph(faiss, n_features):
    """Build an HNSW graph of the centres: the nearest in ``O(log n_cells)``."""
    graph = faiss.IndexHNSWFlat(n_features, 32, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = 40
    graph.hnsw.efSearch = 64
    return graph


def _join_cells(Z, inverse_norms, cells, candidates, k):
    """Exact top ``k`` of each cell's rows among its probed cells' rows."""
    all_rows, all_found, all_cos = [], [], []
    for rows, pool in zip(cells, candidates, strict=True):
        if rows.size == 0:
            continue
        cos = _unit_rows(Z, rows, inverse_norms) @ _unit_rows(Z, pool, inverse_norms).T
        cos[pool[None, :] == rows[:, None]] = -np.inf  # not its own neighbour
        width = min(k, pool.size - 1)
        if width < 1:
            continue
        top = np.argpartition(-cos, width - 1, axis=1)[:, :width]
        top_cos = np.take_along_axis(cos, top, axis=1)
        order = np.argsort(-top_cos, axis=1, kind="stable")
        found = np.full((rows.size, k), -1, np.int64)
        found_cos = np.full((rows.size, k), -np.inf, np.float32)
        found[:, :width] = pool[np.take_along_axis(top, order, axis=1)]
        found_cos[:, :width] = np.take_along_axis(top_cos, order, axis=1)
        all_rows.append(rows)
        all_found.append(found)
        all_cos.append(found_cos)
    if not all_rows:
        return (
            np.empty(0, np.int64),
            np.empty((0, k), np.int64),
            np.empty((0, k), np.float32),
        )
    return np.concatenate(all_rows), np.concatenate(all_found), np.concatenate(all_cos)
