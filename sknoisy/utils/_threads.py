"""BLAS threads for loops of many small matrix products.

Mini-batch training multiplies a batch of a few dozen rows by a weight
matrix of a few classes, thousands of times per fit; a solver such as
lbfgs multiplies all rows of a small data set by the coefficients hundreds
of times. For products that small, a BLAS thread pool spends more time
waking and synchronising its threads than it saves, and far more when other
processes keep the cores busy: on a shared 2-core machine, AGRA's epochs
with OpenBLAS's default threads took 8x the plain model's, against 1.6x with
one thread, and a ``LogisticRegression`` fit on digits 3 s against 0.07 s.
scikit-learn holds the pool the same way in its own hot loops (threadpoolctl
around k-means' Lloyd iterations). Large dense products keep every thread.
"""

import sys
from contextlib import nullcontext

from scipy import sparse
from threadpoolctl import ThreadpoolController

__all__ = ["SMALL_PRODUCT", "blas_threads_for", "blas_threads_for_fit"]

# Multiply-adds of one product (rows x features x outputs) below which one
# BLAS thread is faster than several: a 4096 x 1024 x 1 product.
SMALL_PRODUCT = 2**22


# The controller and the number of imported modules when it was made.
_found = {"controller": None, "n_modules": -1}


def _controller():
    """Return the process's thread pools, found once per set of modules.

    ``threadpool_limits`` searches the loaded libraries on every call (1 to
    12 ms, reading ``/proc/self/maps``), which cost more than a whole epoch
    of a small model; a controller made once limits them in microseconds. It
    is made again after new modules were imported, since one may have loaded
    another BLAS (scipy's own, torch's).
    """
    if _found["n_modules"] != len(sys.modules):
        _found["controller"] = ThreadpoolController()
        _found["n_modules"] = len(sys.modules)
    return _found["controller"]


def blas_threads_for(n_rows, n_features, n_outputs, sparse_input=False, openmp=False):
    """Context that holds BLAS to one thread when the products are small.

    Parameters
    ----------
    n_rows : int
        Rows of one product (the batch size).

    n_features : int
        Columns of the input.

    n_outputs : int
        Columns of the weights (classes, or logits).

    sparse_input : bool, default=False
        Whether the input is a scipy sparse matrix: its products run in
        scipy's own single-threaded kernels, and only the small dense
        products that follow them reach BLAS.

    openmp : bool, default=False
        Hold the OpenMP pools to one thread too, on the same condition:
        scikit-learn's k-nearest-neighbour searches and k-means (a Gaussian
        mixture's initialisation) run there, and on small data their
        threads cost more than they save, as BLAS's do.

    Returns
    -------
    context : context manager
        One BLAS (and OpenMP) thread, threadpoolctl's ``limit(limits=1)``,
        for small products, else a no-op.
    """
    if sparse_input or n_rows * n_features * n_outputs < SMALL_PRODUCT:
        return _controller().limit(limits=1, user_api=None if openmp else "blas")
    return nullcontext()


def blas_threads_for_fit(X, n_outputs, n_rows=None, openmp=False):
    """Context for a fit whose products multiply the rows of ``X``.

    The solvers and training loops inside sknoisy's methods (a linear
    model's lbfgs iterations, a fold's refit, label spreading, an epoch of
    weighted steps) multiply ``n_rows`` rows of ``X`` by a matrix of
    ``n_outputs`` columns over and over: :func:`blas_threads_for` of those
    sizes.

    Parameters
    ----------
    X : {ndarray, sparse matrix} or other input
        The training input. Input without a two-dimensional ``shape`` (texts
        for a pipeline) leaves the thread pool as it is: the size of its
        products is unknown.

    n_outputs : int
        Columns of the weights (classes, or logits).

    n_rows : int, default=None
        Rows of one product; all rows of ``X`` when None (full-batch
        solvers).

    openmp : bool, default=False
        Hold the OpenMP pools too (see :func:`blas_threads_for`).

    Returns
    -------
    context : context manager
        One BLAS (and OpenMP) thread for small products, else a no-op.
    """
    shape = getattr(X, "shape", None)
    if shape is None or len(shape) != 2:
        return nullcontext()
    n_rows = shape[0] if n_rows is None else n_rows
    return blas_threads_for(
        n_rows, shape[1], n_outputs, sparse.issparse(X), openmp=openmp
    )
