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

from .utils._docstrings import Substitution

__all__ = [
    "AUTO_APPROXIMATE_ROWS",
    "ROWS_PER_CELL",
    "cosine_index",
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


# The search parameters of cosine_index and cosine_kneighbors.
_shared_docs = Substitution(
    search_parameters="""algorithm : {"exact", "approximate"}, default="exact"
        The search (see :func:`resolve_neighbors`).

    normalized : bool, default=False
        Whether the rows of ``Z`` already have unit norm (or zero norm).

    n_probe : int, default=8
        Cells of the approximate search each cell's rows are compared with;
        more is closer to exact and slower.

    random_state : int, RandomState instance or None, default=None
        Seeds the approximate index's k-means and its training sample."""
)


@_shared_docs
def cosine_index(
    Z,
    *,
    algorithm="exact",
    normalized=False,
    n_probe=DEFAULT_N_PROBE,
    random_state=None,
    n_jobs=None,
):
    """Build a cosine index of the rows of ``Z``, exact or approximate.

    The index answers the two questions the graph-based methods ask: each
    row's nearest rows (:meth:`kneighbors`, ALC's kNN graph and the
    ``tau="auto"`` threshold of Prune4ReL) and every pair of rows above a
    similarity (:meth:`radius_pairs`, Prune4ReL's neighbourhood graph). An
    approximate index builds its cells once for both.

    Parameters
    ----------
    Z : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Rows to index; never modified. Sparse input stays sparse in the
        exact search; the approximate one densifies a block at a time.

    %(search_parameters)s

    n_jobs : int, default=None
        Parallel blocks (exact) or cells (approximate) through
        :class:`joblib.Parallel` (``None`` means 1 unless in a
        :func:`joblib.parallel_backend` context; ``-1`` means all cores), and
        faiss's threads for the approximate index's k-means (``None``:
        faiss's default, every core).

    Returns
    -------
    index : object
        With ``kneighbors(n_neighbors, rows=None)`` returning ``(indices,
        cosines)`` of shape ``(len(rows), k)`` (most similar first; the
        approximate search may leave slots at ``-1`` and ``-inf``), and
        ``radius_pairs(threshold)`` returning ``(first, second, cosines)``,
        each pair of distinct rows with ``cosine > threshold`` once (the
        approximate search finds the pairs whose rows share a probed cell).
        Cosines are in the dtype of the normalised rows (float32 for float32
        input, float64 otherwise) for the exact index, float32 for the
        approximate one.

    Examples
    --------
    >>> import numpy as np
    >>> from sknoisy.neighbors import cosine_index
    >>> Z = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    >>> first, second, cosines = cosine_index(Z).radius_pairs(0.5)
    >>> first.tolist(), second.tolist()
    ([0], [1])
    """
    if algorithm == "approximate":
        return _CellIndex(
            Z, normalized, n_probe, check_random_state(random_state), n_jobs
        )
    if algorithm != "exact":
        raise ValueError(
            f"algorithm must be 'exact' or 'approximate'; got {algorithm!r}."
        )
    return _ExactIndex(Z if normalized else l2_normalize(Z), n_jobs)


@_shared_docs
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

    %(search_parameters)s

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

    See Also
    --------
    cosine_index : the index behind it, which also finds every pair above a
        similarity.
    """
    n_samples = Z.shape[0]
    if int(n_neighbors) < 1 or n_samples < 2:
        k = max(0, min(int(n_neighbors), n_samples - 1))
        return np.empty((n_samples, k), np.int64), np.empty((n_samples, k), np.float32)
    index = cosine_index(
        Z,
        algorithm=algorithm,
        normalized=normalized,
        n_probe=n_probe,
        random_state=random_state,
        n_jobs=n_jobs,
    )
    indices, cosines = index.kneighbors(n_neighbors)
    return indices, cosines.astype(np.float32, copy=False)


def _index_dtype(n_samples):
    """int32 row positions when they fit: pairs are most of a graph's memory."""
    return np.int32 if n_samples < np.iinfo(np.int32).max else np.int64


def _top_k(cos, k):
    """Positions and values of the ``k`` largest entries of each row, sorted.

    Equal cosines come in column order, as a full stable sort would give.
    """
    top = np.argpartition(-cos, k - 1, axis=1)[:, :k]
    top_cos = np.take_along_axis(cos, top, axis=1)
    order = np.lexsort((top, -top_cos), axis=1)
    return np.take_along_axis(top, order, axis=1), np.take_along_axis(
        top_cos, order, axis=1
    )


# --------------------------------------------------------------------------
# The exact index: blocked products
# --------------------------------------------------------------------------
class _ExactIndex:
    """Blocked products of the normalised rows ``Zn`` against all rows."""

    def __init__(self, Zn, n_jobs):
        self.Zn = Zn
        self.n_samples = Zn.shape[0]
        self.n_jobs = n_jobs

    def kneighbors(self, n_neighbors, rows=None):
        n_samples = self.Zn.shape[0]
        rows = np.arange(n_samples) if rows is None else np.asarray(rows)
        k = min(int(n_neighbors), n_samples - 1)
        if k < 1:
            return (
                np.empty((len(rows), 0), np.int64),
                np.empty((len(rows), 0), self.Zn.dtype),
            )
        step = max(1, _BLOCK_BYTES // (n_samples * 8))
        blocks = Parallel(n_jobs=self.n_jobs)(
            delayed(_exact_block)(self.Zn, rows[start : start + step], k)
            for start in range(0, len(rows), step)
        )
        return (
            np.concatenate([b[0] for b in blocks] + [np.empty((0, k), np.int64)]),
            np.concatenate([b[1] for b in blocks] + [np.empty((0, k), self.Zn.dtype)]),
        )

    def radius_pairs(self, threshold):
        n_samples = self.Zn.shape[0]
        step = max(16, _BLOCK_BYTES // (max(n_samples, 1) * self.Zn.dtype.itemsize))
        blocks = Parallel(n_jobs=self.n_jobs)(
            delayed(_upper_block_pairs)(
                self.Zn, start, min(start + step, n_samples), threshold
            )
            for start in range(0, n_samples, step)
        )
        index_type = _index_dtype(n_samples)
        return tuple(
            np.concatenate([b[part] for b in blocks] + [np.empty(0, dtype)])
            for part, dtype in enumerate([index_type, index_type, self.Zn.dtype])
        )


def _exact_block(Zn, rows, k):
    """Top ``k`` cosines of ``rows`` against every row."""
    cos = Zn[rows] @ Zn.T
    cos = cos.toarray() if sparse.issparse(cos) else np.asarray(cos)
    cos[np.arange(len(rows)), rows] = -np.inf  # a row is not its own neighbour
    top, top_cos = _top_k(cos, k)
    return top.astype(np.int64), top_cos


def _upper_block_pairs(Zn, start, stop, threshold):
    """Pairs ``i < j`` with ``cos > threshold`` of rows ``start:stop``.

    Only the upper triangle: the graph is symmetric.
    """
    block = Zn[start:stop] @ Zn[start:].T
    if sparse.issparse(block):
        block = block.tocoo()
        keep = (block.data > threshold) & (block.col > block.row)
        r, c, v = block.row[keep], block.col[keep], block.data[keep]
    else:
        r, c = np.nonzero(block > threshold)
        keep = c > r
        r, c = r[keep], c[keep]
        v = block[r, c]
    index_type = _index_dtype(Zn.shape[0])
    return (r + start).astype(index_type), (c + start).astype(index_type), v


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


class _CellIndex:
    """Cells of k-means, each joined exactly with its nearest cells.

    faiss clusters a sample into cells of about :data:`ROWS_PER_CELL` rows
    (the assignment of each k-means iteration through an HNSW graph of the
    centres, so training grows as ``n log n``) and assigns every row to its
    nearest centre through the same graph. A query then compares each
    cell's rows, in one matrix product, with the rows of the ``n_probe``
    cells nearest to the cell's centre: BLAS-3 work on a few hundred rows
    at a time, several times faster than scanning lists row by row. The
    cells run through :class:`joblib.Parallel`.
    """

    def __init__(self, Z, normalized, n_probe, rng, n_jobs):
        faiss = _faiss()
        if faiss is None:
            raise ImportError(
                f"The approximate neighbour search needs faiss. {_INSTALL_HINT}"
            )
        if not isinstance(n_probe, numbers.Integral) or n_probe < 1:
            raise ValueError(f"n_probe must be a positive integer; got {n_probe!r}.")
        self.Z = Z
        self.n_samples = Z.shape[0]
        self.n_jobs = n_jobs
        self.inverse_norms = _inverse_norms(Z, normalized)
        previous_threads = faiss.omp_get_max_threads()
        # Like BLAS and OpenMP in scikit-learn, faiss uses every core unless
        # n_jobs says otherwise.
        threads = previous_threads if n_jobs is None else effective_n_jobs(n_jobs)
        faiss.omp_set_num_threads(threads)
        try:
            centres, self.cell_of = _cells(faiss, Z, self.inverse_norms, rng)
            n_cells = len(centres)
            # The n_probe cells nearest to each cell's centre, itself first.
            _, self.probed = faiss.knn(
                centres,
                centres,
                min(int(n_probe), n_cells),
                metric=faiss.METRIC_INNER_PRODUCT,
            )
        finally:
            faiss.omp_set_num_threads(previous_threads)
        order = np.argsort(self.cell_of, kind="stable")
        bounds = np.searchsorted(self.cell_of[order], np.arange(n_cells + 1))
        self.members = [order[bounds[c] : bounds[c + 1]] for c in range(n_cells)]

    def _pool(self, cell):
        """Rows of the cells probed from ``cell``, and the cell of each."""
        cells = [p for p in self.probed[cell] if p >= 0]
        rows = np.concatenate([self.members[p] for p in cells])
        return rows, np.repeat(cells, [self.members[p].size for p in cells])

    def _radius_task(self, cell, kept_cells):
        return (cell, self.members[cell], *self._pool(cell), kept_cells)

    def _batches(self, cells):
        """Batches of cells of a few hundred thousand row pairs at least."""
        per_task = max(1, int(2**18 // max(1, ROWS_PER_CELL * self.probed.shape[1])))
        return [cells[i : i + per_task] for i in range(0, len(cells), per_task)]

    def kneighbors(self, n_neighbors, rows=None):
        n_samples = self.Z.shape[0]
        k = min(int(n_neighbors), n_samples - 1)
        if rows is None:
            queries = self.members
        else:
            rows = np.asarray(rows)
            member = np.zeros(n_samples, bool)
            member[rows] = True
            queries = [m[member[m]] for m in self.members]
        cells = [c for c in range(len(queries)) if queries[c].size]
        # As a generator: each batch's neighbours go into the output as they
        # come, rather than all batches' arrays beside the output at the end.
        results = Parallel(n_jobs=self.n_jobs, return_as="generator")(
            delayed(_join_cells_top_k)(
                self.Z,
                self.inverse_norms,
                [queries[c] for c in batch],
                [self._pool(c)[0] for c in batch],
                k,
            )
            for batch in self._batches(cells)
        )
        indices = np.full((n_samples, k), -1, np.int64)
        cosines = np.full((n_samples, k), -np.inf, np.float32)
        for found_rows, found, found_cos in results:
            indices[found_rows], cosines[found_rows] = found, found_cos
        if rows is None:
            return indices, cosines
        return indices[rows], cosines[rows]

    def radius_pairs(self, threshold):
        n_cells = len(self.members)
        # A pair of rows in cells a != b is compared from a when a probes b,
        # and from b when b probes a; when both do, only the lower cell keeps
        # it, so that every pair found is returned once.
        probed = np.where(self.probed >= 0, self.probed, np.arange(n_cells)[:, None])
        mutual = (probed[probed] == np.arange(n_cells)[:, None, None]).any(axis=2)
        kept = (self.probed >= 0) & (~mutual | (probed > np.arange(n_cells)[:, None]))
        results = Parallel(n_jobs=self.n_jobs, return_as="generator")(
            delayed(_join_cells_radius)(
                self.Z,
                self.inverse_norms,
                [
                    (c, self.members[c], *self._pool(c), probed[c][kept[c]])
                    for c in batch
                ],
                threshold,
            )
            for batch in self._batches(list(range(n_cells)))
        )
        parts = list(results)
        index_type = _index_dtype(self.Z.shape[0])
        return tuple(
            np.concatenate([part[i] for part in parts] + [np.empty(0, dtype)])
            for i, dtype in enumerate([index_type, index_type, np.float32])
        )


def _join_cells_top_k(Z, inverse_norms, cells, candidates, k):
    """Exact top ``k`` of each cell's query rows among its probed cells' rows."""
    all_rows, all_found, all_cos = [], [], []
    for rows, pool in zip(cells, candidates, strict=True):
        width = min(k, pool.size - 1)
        if rows.size == 0 or width < 1:
            continue
        cos = _unit_rows(Z, rows, inverse_norms) @ _unit_rows(Z, pool, inverse_norms).T
        cos[pool[None, :] == rows[:, None]] = -np.inf  # not its own neighbour
        top, top_cos = _top_k(cos, width)
        found = np.full((rows.size, k), -1, np.int64)
        found_cos = np.full((rows.size, k), -np.inf, np.float32)
        found[:, :width] = pool[top]
        found_cos[:, :width] = top_cos
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


def _join_cells_radius(Z, inverse_norms, cells, threshold):
    """Pairs above ``threshold`` between each cell's rows and its probed cells.

    ``cells`` holds, per cell, ``(cell, rows, pool, pool_cell, kept_cells)``:
    its id and rows, the rows of its probed cells with the cell of each, and
    the other cells whose pairs with it this cell returns. Each pair once:
    within a cell the pairs ``i < j``, across cells those of ``kept_cells``.
    """
    index_type = _index_dtype(Z.shape[0])
    firsts, seconds, values = [], [], []
    for cell, rows, pool, pool_cell, kept_cells in cells:
        if rows.size == 0 or pool.size == 0:
            continue
        cos = _unit_rows(Z, rows, inverse_norms) @ _unit_rows(Z, pool, inverse_norms).T
        i, j = np.nonzero(cos > threshold)
        first, second, from_cell = rows[i], pool[j], pool_cell[j]
        keep = np.where(
            from_cell == cell, first < second, np.isin(from_cell, kept_cells)
        )
        firsts.append(first[keep].astype(index_type))
        seconds.append(second[keep].astype(index_type))
        values.append(cos[i[keep], j[keep]])
    return (
        np.concatenate([*firsts, np.empty(0, index_type)]),
        np.concatenate([*seconds, np.empty(0, index_type)]),
        np.concatenate([*values, np.empty(0, np.float32)]),
    )


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
