"""Loaders for the benchmark data sets used by the sknoisy reproductions.

Every loader reads its files from a data directory (see
:func:`get_data_home`): the ``data_home`` argument, else the ``SKNOISY_DATA``
environment variable, else a per-user cache directory. Missing files are
downloaded from their canonical public location and checksum-verified, unless
``download_if_missing=False``; without network access the loaders raise a
:class:`FileNotFoundError` naming the path where the file is expected.
"""

from ._base import get_data_home
from ._libsvm import load_libsvm
from ._mnist import load_mnist
from ._wrench import load_wrench, majority_vote

__all__ = [
    "get_data_home",
    "load_libsvm",
    "load_mnist",
    "load_wrench",
    "majority_vote",
]
