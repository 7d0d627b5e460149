"""Loops over blocks of rows through joblib, serial unless asked otherwise.

A method that sums a product over the rows of ``X`` (a gradient ``Xᵀ R``, a
Hessian-vector product ``Xᵀ D X v``, a weighted Gram matrix) can split the
rows into blocks and compute the blocks' parts as joblib tasks, so that
``n_jobs`` or a ``joblib.parallel_backend`` context (``"dask"`` spreads them
over a dask cluster) decides where they run. Splitting costs a task per
block and call, which a loop calling the product hundreds of times (a
conjugate-gradient solve) does not want when nothing runs in parallel: with
one effective job :class:`RowBlocks` calls the function once on all rows,
without joblib.
"""

import itertools

import numpy as np
from joblib import effective_n_jobs
from sklearn.utils.parallel import Parallel, delayed

__all__ = ["RowBlocks"]


class RowBlocks:
    """Run functions over blocks of rows: in one call, or as joblib tasks.

    Parameters
    ----------
    n_jobs : int, default=None
        Number of jobs, as joblib reads it: None means 1 unless in a
        :func:`joblib.parallel_backend` context, -1 means all processors.
        With one effective job (the default outside such a context) every
        function runs once on all rows, without joblib; otherwise the rows
        are split into as many blocks as there are jobs, run by
        ``joblib.Parallel(n_jobs=n_jobs, prefer="threads")`` (threads: the
        products release the GIL, and nothing is copied to other
        processes; an active backend, such as dask's, takes precedence).

    Attributes
    ----------
    n_blocks : int
        Number of row blocks: the effective number of jobs.
    """

    def __init__(self, n_jobs=None):
        self.n_jobs = n_jobs
        self.n_blocks = effective_n_jobs(n_jobs)

    @property
    def serial(self):
        """Whether every function runs once on all rows, without joblib."""
        return self.n_blocks == 1

    def split(self, *arrays):
        """Return the row blocks of ``arrays``, one tuple per block.

        Serially, one tuple of the arrays themselves (nothing is copied).
        The arrays are sliced by rows (dense arrays and CSR matrices):
        dense blocks are views, sparse ones copies, so split once and reuse
        the blocks when the same rows are multiplied many times.
        """
        if self.serial:
            return [arrays]
        n_rows = arrays[0].shape[0]
        bounds = np.linspace(0, n_rows, min(self.n_blocks, n_rows) + 1).astype(int)
        return [
            tuple(a[start:stop] for a in arrays)
            for start, stop in itertools.pairwise(bounds)
        ]

    def map(self, function, blocks, *args):
        """``[function(*block, *args) for block in blocks]``, maybe in parallel."""
        if self.serial or len(blocks) == 1:
            return [function(*block, *args) for block in blocks]
        tasks = (delayed(function)(*block, *args) for block in blocks)
        return Parallel(n_jobs=self.n_jobs, prefer="threads")(tasks)

    def sum(self, function, blocks, *args):
        """Sum of ``function(*block, *args)`` over the blocks, in block order."""
        parts = self.map(function, blocks, *args)
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        return total

    def stack(self, function, blocks, *args):
        """``function``'s per-row results over the blocks, stacked in row order."""
        parts = self.map(function, blocks, *args)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)
