"""BLAS threads for loops of many small matrix products.

Mini-batch training multiplies a batch of a few dozen rows by a weight
matrix of a few classes, thousands of times per fit. For products that
small, a BLAS thread pool spends more time waking and synchronising its
threads than it saves: on a 2-core machine, AGRA's epochs with OpenBLAS's
default threads took 8x the plain model's, against 1.6x with one thread.
scikit-learn holds the pool the same way in its own hot loops (threadpoolctl
around k-means' Lloyd iterations). Large dense products keep every thread.
"""

from contextlib import nullcontext

from threadpoolctl import threadpool_limits

__all__ = ["SMALL_PRODUCT", "blas_threads_for"]

# Multiply-adds of one product (rows x features x outputs) below which one
# BLAS thread is faster than several: a 4096 x 1024 x 1 product.
SMALL_PRODUCT = 2**22


def blas_threads_for(n_rows, n_features, n_outputs, sparse_input=False):
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

    Returns
    -------
    context : context manager
        ``threadpool_limits(1, "blas")`` for small products, else a no-op.
    """
    if sparse_input or n_rows * n_features * n_outputs < SMALL_PRODUCT:
        return threadpool_limits(limits=1, user_api="blas")
    return nullcontext()
