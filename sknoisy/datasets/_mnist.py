"""The MNIST handwritten digits, read from the original gzipped idx files."""

import gzip
import zlib

import numpy as np

from ._base import RemoteFile, _fetch

_BASE_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"

_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
_N_ROWS = _N_COLS = 28


def _mnist_file(filename, checksum):
    return RemoteFile(
        name=filename,
        path=f"mnist/{filename}",
        url=_BASE_URL + filename,
        checksum=checksum,
        alt_paths=(f"rdia/{filename}",),
    )


# sha256 digests as listed in tensorflow/datasets
# (tensorflow_datasets/url_checksums/mnist.txt); the three files in the shared
# benchmark data have the same digests. The official md5s are f68b3c2d...,
# d53e105e..., 9fb629c4... and ec29112d... respectively.
_FILES = {
    "train": (
        _mnist_file(
            "train-images-idx3-ubyte.gz",
            "sha256:440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        ),
        _mnist_file(
            "train-labels-idx1-ubyte.gz",
            "sha256:3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        ),
    ),
    "test": (
        _mnist_file(
            "t10k-images-idx3-ubyte.gz",
            "sha256:8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        ),
        _mnist_file(
            "t10k-labels-idx1-ubyte.gz",
            "sha256:f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        ),
    ),
}


def _read_idx(path, magic):
    """Read a gzipped idx file of unsigned bytes into an array.

    Parameters
    ----------
    path : pathlib.Path
        The ``.gz`` file.
    magic : int
        Expected magic number; its last byte is the number of dimensions.

    Returns
    -------
    array : ndarray of dtype uint8
        The data, shaped by the dimensions in the header.
    """
    try:
        with gzip.open(path, "rb") as f:
            raw = bytearray(f.read())
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path} is not a readable gzip file: {exc}") from exc
    ndim = magic & 0xFF
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise ValueError(
            f"{path} is too short ({len(raw)} bytes) for an idx header of "
            f"{header_size} bytes."
        )
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise ValueError(
            f"{path} has idx magic number {found:#010x}, expected {magic:#010x}; "
            "it is not an MNIST file of this kind."
        )
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4).astype(np.int64)
    data = np.frombuffer(raw, dtype=np.uint8, offset=header_size)
    expected = int(np.prod(dims))
    if data.size != expected:
        raise ValueError(
            f"{path} holds {data.size} data bytes, but its header "
            f"{tuple(dims.tolist())} announces {expected}; the file is truncated "
            "or corrupt."
        )
    return data.reshape(tuple(dims.tolist()))


def load_mnist(subset="test", *, data_home=None, download_if_missing=True):
    """Load the MNIST handwritten digits from the original idx files.

    The gzipped idx files are read from ``<data_home>/mnist/`` (where
    downloads go) or ``<data_home>/rdia/``; missing files are downloaded and
    checksum-verified. The idx headers are validated: magic numbers, image
    size 28 × 28, and as many labels as images.

    Parameters
    ----------
    subset : {"train", "test"}, default="test"
        The 60,000 training images or the 10,000 test images.
    data_home : str or path-like, default=None
        Data directory; see :func:`get_data_home`.
    download_if_missing : bool, default=True
        Whether to download missing files.

    Returns
    -------
    X : ndarray of shape (n_samples, 784), dtype uint8
        Pixel intensities 0–255, one flattened image per row (row-major).
    y : ndarray of shape (n_samples,), dtype int64
        Digit labels 0–9.

    Raises
    ------
    ValueError
        If ``subset`` is not ``"train"`` or ``"test"``, or a file is not a
        valid MNIST idx file.
    FileNotFoundError
        If a file is missing locally and cannot be downloaded, or
        ``download_if_missing=False``. The message names the expected path.
    OSError
        If a downloaded file fails its checksum.

    See Also
    --------
    get_data_home : Where the data directory is.

    Examples
    --------
    >>> from sknoisy.datasets import load_mnist
    >>> X, y = load_mnist("test")  # doctest: +SKIP
    >>> X.shape, X.dtype, y[:5]  # doctest: +SKIP
    ((10000, 784), dtype('uint8'), array([7, 2, 1, 0, 4]))
    """
    if subset not in _FILES:
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}.")
    images_file, labels_file = _FILES[subset]
    images_path = _fetch(
        images_file, data_home=data_home, download_if_missing=download_if_missing
    )
    labels_path = _fetch(
        labels_file, data_home=data_home, download_if_missing=download_if_missing
    )
    images = _read_idx(images_path, _IMAGES_MAGIC)
    labels = _read_idx(labels_path, _LABELS_MAGIC)
    n_samples = images.shape[0]
    if images.shape[1:] != (_N_ROWS, _N_COLS):
        raise ValueError(
            f"{images_path} holds images of size {images.shape[1:]}, expected "
            f"{(_N_ROWS, _N_COLS)}."
        )
    if labels.shape != (n_samples,):
        raise ValueError(
            f"{labels_path} holds {labels.shape[0]} labels but {images_path} "
            f"holds {n_samples} images."
        )
    if labels.size and labels.max() > 9:
        raise ValueError(f"{labels_path} holds labels outside 0-9.")
    return images.reshape(n_samples, _N_ROWS * _N_COLS), labels.astype(np.int64)
