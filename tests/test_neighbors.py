import numpy as np
import pytest
from joblib import parallel_backend
from scipy import sparse

from sknoisy import neighbors as nb
from sknoisy.neighbors import (
    cosine_index,
    cosine_kneighbors,
    l2_normalize,
    resolve_neighbors,
)

faiss = pytest.importorskip("faiss")


def _clustered(n, d=32, n_clusters=20, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, d))
    labels = rng.integers(n_clusters, size=n)
    return (centres[labels] + 0.3 * rng.standard_normal((n, d))).astype(np.float32)


def _brute_force(Z, k):
    """Every cosine, sorted: the definition the searches must meet."""
    Zn = l2_normalize(np.asarray(Z.toarray() if sparse.issparse(Z) else Z, float))
    cos = Zn @ Zn.T
    np.fill_diagonal(cos, -np.inf)
    order = np.lexsort((np.tile(np.arange(len(cos)), (len(cos), 1)), -cos), axis=1)
    return order[:, :k], np.take_along_axis(cos, order[:, :k], axis=1)


@pytest.mark.parametrize("as_sparse", [False, True])
def test_exact_search_is_the_brute_force_top_k(as_sparse):
    Z = _clustered(300, seed=1)
    Z[5] = 0.0  # a zero row has cosine 0 with every row
    if as_sparse:
        Z = sparse.csr_matrix(np.where(np.abs(Z) > 0.5, Z, 0.0))
    before = Z.copy()
    indices, cosines = cosine_kneighbors(Z, 7)
    expected, expected_cos = _brute_force(Z, 7)
    np.testing.assert_allclose(cosines, expected_cos, atol=1e-5)
    # Equal cosines may come in either order; the sets of similarities agree,
    # and apart from the zero row (all ties) so do the neighbours.
    others = np.arange(300) != 5
    assert np.mean(indices[others] == expected[others]) > 0.99
    assert (indices != np.arange(300)[:, None]).all()
    assert indices.dtype == np.int64 and cosines.dtype == np.float32
    if as_sparse:
        assert (Z != before).nnz == 0
    else:
        np.testing.assert_array_equal(Z, before)


def test_exact_search_blocks_in_parallel_give_the_serial_result(monkeypatch):
    Z = _clustered(400)
    serial = cosine_kneighbors(Z, 5)
    monkeypatch.setattr(nb, "_BLOCK_BYTES", 400 * 8 * 37)  # 37-row blocks
    parallel = cosine_kneighbors(Z, 5, n_jobs=2)
    np.testing.assert_array_equal(serial[0], parallel[0])
    np.testing.assert_array_equal(serial[1], parallel[1])


def test_approximate_search_is_exact_when_every_cell_is_probed():
    Z = _clustered(2000, seed=2)
    exact_idx, exact_cos = cosine_kneighbors(Z, 10)
    n_cells = 2000 // nb.ROWS_PER_CELL
    idx, cos = cosine_kneighbors(
        Z, 10, algorithm="approximate", n_probe=n_cells, random_state=0
    )
    np.testing.assert_allclose(cos, exact_cos, atol=1e-5)
    assert np.mean(idx == exact_idx) > 0.99


def test_approximate_search_finds_most_neighbours_with_few_probes():
    Z = _clustered(6000, d=64, n_clusters=60, seed=3)
    exact_idx, _ = cosine_kneighbors(Z, 20)
    idx, cos = cosine_kneighbors(
        Z, 20, algorithm="approximate", n_probe=2, random_state=0
    )
    found = [np.isin(a, b).mean() for a, b in zip(idx, exact_idx, strict=True)]
    recall = np.mean(found)
    assert recall > 0.9
    # Fewer probes than cells: not simply the exact search.
    assert not np.array_equal(idx, exact_idx)
    assert (idx != np.arange(6000)[:, None]).all()
    found = idx >= 0
    assert np.all(np.diff(np.where(found, cos, -np.inf), axis=1) <= 1e-6)


def test_approximate_search_is_seeded_and_leaves_its_input_unchanged():
    Z = _clustered(3000, seed=4)
    before = Z.copy()
    first = cosine_kneighbors(Z, 8, algorithm="approximate", n_probe=2, random_state=7)
    again = cosine_kneighbors(Z, 8, algorithm="approximate", n_probe=2, random_state=7)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(Z, before)


def test_approximate_search_takes_sparse_input_and_leaves_it_unchanged():
    Z = sparse.random(500, 40, density=0.2, format="csr", random_state=0)
    before = Z.copy()
    _, exact_cos = cosine_kneighbors(Z, 5)
    _, cos = cosine_kneighbors(Z, 5, algorithm="approximate", n_probe=50)
    np.testing.assert_allclose(cos, exact_cos, atol=1e-5)
    assert (Z != before).nnz == 0


def _brute_force_pairs(Z, threshold):
    """Every pair ``i < j`` with cosine above ``threshold``, as a set."""
    Zn = l2_normalize(np.asarray(Z.toarray() if sparse.issparse(Z) else Z, float))
    first, second = np.nonzero(np.triu(Zn @ Zn.T > threshold, k=1))
    return set(zip(first.tolist(), second.tolist(), strict=True))


def _pair_set(first, second):
    """Unordered pairs as ``(low, high)``; asserts none is given twice."""
    low, high = np.minimum(first, second), np.maximum(first, second)
    pairs = set(zip(low.tolist(), high.tolist(), strict=True))
    assert len(pairs) == len(first), "a pair was returned twice"
    assert (first != second).all()
    return pairs


@pytest.mark.parametrize("as_sparse", [False, True])
def test_exact_radius_pairs_are_the_brute_force_pairs(as_sparse, monkeypatch):
    Z = _clustered(400, seed=5)
    if as_sparse:
        Z = sparse.csr_matrix(np.where(np.abs(Z) > 0.5, Z, 0.0))
    monkeypatch.setattr(nb, "_BLOCK_BYTES", 400 * 8 * 37)  # several blocks
    first, second, cosines = cosine_index(Z, n_jobs=2).radius_pairs(0.6)
    assert _pair_set(first, second) == _brute_force_pairs(Z, 0.6)
    Zn = l2_normalize(np.asarray(Z.toarray() if as_sparse else Z, float))
    expected = np.sum(Zn[first] * Zn[second], axis=1)
    np.testing.assert_allclose(cosines, expected, atol=1e-5)


def test_approximate_radius_pairs_each_once_and_all_when_every_cell_is_probed():
    Z = _clustered(2000, seed=6)
    exact = _brute_force_pairs(Z, 0.5)
    n_cells = 2000 // nb.ROWS_PER_CELL
    everything = cosine_index(
        Z, algorithm="approximate", n_probe=n_cells, random_state=0
    )
    first, second, _ = everything.radius_pairs(0.5)
    assert _pair_set(first, second) == exact
    # With few probes: a subset, each pair once, most of the pairs.
    few = cosine_index(Z, algorithm="approximate", n_probe=2, random_state=0)
    first, second, cosines = few.radius_pairs(0.5)
    found = _pair_set(first, second)
    assert found < exact
    assert len(found) > 0.9 * len(exact)
    assert (cosines > 0.5).all()


def test_approximate_kneighbors_of_some_rows_are_those_of_all_rows():
    Z = _clustered(3000, seed=7)
    index = cosine_index(Z, algorithm="approximate", n_probe=2, random_state=0)
    all_idx, all_cos = index.kneighbors(6)
    rows = np.array([2999, 0, 17, 1500, 17])
    idx, cos = index.kneighbors(6, rows=rows)
    np.testing.assert_array_equal(idx, all_idx[rows])
    # Products of fewer rows may round differently in the last bit.
    np.testing.assert_allclose(cos, all_cos[rows], atol=1e-6)
    exact_idx, _ = cosine_index(Z).kneighbors(6, rows=rows)
    np.testing.assert_array_equal(exact_idx, cosine_kneighbors(Z, 6)[0][rows])


def test_cosine_index_rejects_an_unknown_algorithm():
    with pytest.raises(ValueError, match="algorithm must be"):
        cosine_index(np.eye(3), algorithm="kd_tree")


def test_resolve_neighbors(monkeypatch):
    assert resolve_neighbors("exact", 10**7) == "exact"
    assert resolve_neighbors("auto", nb.AUTO_APPROXIMATE_ROWS - 1) == "exact"
    assert resolve_neighbors("auto", nb.AUTO_APPROXIMATE_ROWS) == "approximate"
    assert resolve_neighbors("approximate", 10) == "approximate"
    with pytest.raises(ValueError, match="neighbors must be"):
        resolve_neighbors("kd_tree", 10)
    monkeypatch.setattr(nb, "_faiss", lambda: None)
    assert resolve_neighbors("auto", 10**7) == "exact"
    with pytest.raises(ImportError, match=r"sknoisy\[ann\]"):
        resolve_neighbors("approximate", 10)


def test_tiny_inputs():
    indices, cosines = cosine_kneighbors(np.ones((1, 3)), 5)
    assert indices.shape == (1, 0) and cosines.shape == (1, 0)
    indices, _ = cosine_kneighbors(np.eye(3), 5, algorithm="approximate")
    assert indices.shape == (3, 2)
    with pytest.raises(ValueError, match="n_probe"):
        cosine_kneighbors(np.eye(3), 1, algorithm="approximate", n_probe=0)


def test_exact_search_on_a_dask_cluster_equals_the_serial_search(monkeypatch):
    distributed = pytest.importorskip("distributed")
    Z = _clustered(300)
    serial = cosine_kneighbors(Z, 5)
    monkeypatch.setattr(nb, "_BLOCK_BYTES", 300 * 8 * 50)  # 6 blocks
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
        parallel_backend("dask"),
        distributed.get_task_stream(client) as tasks,
    ):
        on_cluster = cosine_kneighbors(Z, 5)
    assert len(tasks.data) >= 6  # the blocks ran on the cluster's workers
    np.testing.assert_array_equal(serial[0], on_cluster[0])
    np.testing.assert_array_equal(serial[1], on_cluster[1])
