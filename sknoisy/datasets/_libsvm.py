"""Binary classification data sets from the LIBSVM data collection."""

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.datasets import load_svmlight_file

from ._base import RemoteFile, _fetch

_BASE_URL = "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/binary/"


@dataclass(frozen=True)
class _LibsvmDataset:
    file: RemoteFile
    n_samples: int
    n_features: int


def _libsvm_file(filename, checksum, *, rdia=False):
    return RemoteFile(
        name=filename,
        path=f"libsvm/{filename}",
        url=_BASE_URL + filename,
        checksum=checksum,
        alt_paths=(f"rdia/{filename}",) if rdia else (),
    )


# Digests of the files on the LIBSVM site. None means that no published digest
# is known: the first download is trusted and its sha256 recorded next to it.
# - breast-cancer_scale: none found.
# - real-sim.bz2: sha256 from pratikrathore8/rlaopt-experiments
#   (src/rlaopt_experiments/suites/real_erm/data.py), which verifies downloads.
# - covtype.libsvm.binary.scale.bz2: md5 from epfml/pax
#   (pax/tasks/datasets/libsvm.py), which verifies downloads.
_DATASETS = {
    "breast-cancer": _LibsvmDataset(
        file=_libsvm_file("breast-cancer_scale", None, rdia=True),
        n_samples=683,
        n_features=10,
    ),
    "real-sim": _LibsvmDataset(
        file=_libsvm_file(
            "real-sim.bz2",
            "sha256:7cd52374f55ce62e803ef33ca1c44689427c23d481eff64026f8ba9f53b8cc27",
        ),
        n_samples=72_309,
        n_features=20_958,
    ),
    "covtype.binary": _LibsvmDataset(
        file=_libsvm_file(
            "covtype.libsvm.binary.scale.bz2", "md5:d95f45e15c284005c2c7a4c82e4be102"
        ),
        n_samples=581_012,
        n_features=54,
    ),
}


def load_libsvm(name, *, data_home=None, download_if_missing=True):
    """Load a binary classification data set from the LIBSVM collection.

    The file is read from ``<data_home>/libsvm/`` (where downloads go) or, for
    ``"breast-cancer"``, from ``<data_home>/rdia/``; when it is absent it is
    downloaded from the LIBSVM data sets site and checksum-verified. Features
    are read one-based, as LIBSVM writes them, into the data set's standard
    number of columns; the two labels are mapped in sorted order to 0 and 1.

    ================  ===============================  =========  ========  ======
    name              file                             samples    features  labels
    ================  ===============================  =========  ========  ======
    "breast-cancer"   breast-cancer_scale              683        10        2 / 4
    "real-sim"        real-sim.bz2                     72,309     20,958    -1 / 1
    "covtype.binary"  covtype.libsvm.binary.scale.bz2  581,012    54        1 / 2
    ================  ===============================  =========  ========  ======

    Parameters
    ----------
    name : {"breast-cancer", "real-sim", "covtype.binary"}
        Data set to load.
    data_home : str or path-like, default=None
        Data directory; see :func:`get_data_home`.
    download_if_missing : bool, default=True
        Whether to download the file when no local copy exists.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features)
        Features as float64.
    y : ndarray of shape (n_samples,)
        Labels as int64: 0 for the smaller original label, 1 for the larger.

    Raises
    ------
    ValueError
        If ``name`` is not a known data set, or the file does not hold
        exactly two labels.
    FileNotFoundError
        If the file is missing locally and cannot be downloaded, or
        ``download_if_missing=False``. The message names the expected path.
    OSError
        If the downloaded file fails its checksum.

    See Also
    --------
    get_data_home : Where the data directory is.

    Examples
    --------
    >>> from sknoisy.datasets import load_libsvm
    >>> X, y = load_libsvm("breast-cancer")  # doctest: +SKIP
    >>> X.shape, y.mean().round(3)  # doctest: +SKIP
    ((683, 10), np.float64(0.35))
    """
    if name not in _DATASETS:
        raise ValueError(
            f"Unknown LIBSVM data set {name!r}; valid names are "
            f"{', '.join(repr(n) for n in _DATASETS)}."
        )
    dataset = _DATASETS[name]
    path = _fetch(
        dataset.file, data_home=data_home, download_if_missing=download_if_missing
    )
    X, y_raw = load_svmlight_file(
        str(path), n_features=dataset.n_features, dtype=np.float64, zero_based=False
    )
    classes, y = np.unique(y_raw, return_inverse=True)
    if classes.size != 2:
        raise ValueError(
            f"{path} holds {classes.size} distinct labels ({classes.tolist()}); "
            "a binary data set needs exactly two."
        )
    return sparse.csr_matrix(X, dtype=np.float64), y.astype(np.int64)
