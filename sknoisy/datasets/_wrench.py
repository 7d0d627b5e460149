"""WRENCH weak-supervision benchmarks and the majority-vote label model."""

import hashlib
import json
from itertools import compress
from numbers import Integral

import numpy as np
from sklearn.utils import Bunch

from ._base import RemoteFile, _fetch

_NHBESS_URL = (
    "https://raw.githubusercontent.com/nhbess/weak_supervision_tutorial/"
    "1d2d7cc62d4161b8af8192bd038d93ada8012046/part_2_spam_clf/data/youtube/"
)
_DYGEN_URL = (
    "https://raw.githubusercontent.com/JerrryNie/DyGen/"
    "41902c324779157a272548a008a6e487f6d81acc/datasets/"
)

_SPLITS = ("train", "valid", "test")

# sha256 of each <key>.json file, as pinned in the shared data README.
_SHA256 = {
    "youtube": {
        "label": "6837af4230238ed5c9d5d32ce309083b24491fe5d085f0b779298e7c67eeb74a",
        "train": "a435c4e6853c95ac8bdc6bcf9e01d4bad39aa8e5713d273ed01aa5edbfc215b8",
        "valid": "278b947d748b4b921b2dd60918318f7ee817584d85a719d0db6f5365d6e87b01",
        "test": "abcadb6e0a81d1b1a1f19ad6acb73fd201288fae3e89d88593fae9cbca4d5a21",
    },
    "youtube_wrench_current": {
        "label": "6837af4230238ed5c9d5d32ce309083b24491fe5d085f0b779298e7c67eeb74a",
        "labeled_ids": (
            "b338be1717f640901a6826d2e1cb0ab6b53d71d200ef8a9429de31a219c65c12"
        ),
        "train": "8c487acf4e3e16b340e28f3633d5613f83c4db2d3b287e4341c86ff8f2192705",
        "valid": "01d28d71c48e34bdde0566a9eead1d9694baa4eae176cea6d979bb59c4516df3",
        "test": "ef04412aee047657e41d7ad1411f11d05fce13b642bf1bec8897d138343ee12d",
    },
    "sms": {
        "label": "5ba8069344eaf5578717910018232889bb77d6dad78b7fe7d002aeb089bc7efb",
        "labeled_ids": (
            "b81d3f72ae34716f0efbe0dd6b110abbd8b70cb8bc494d8623b1b2f3eb61b722"
        ),
        "train": "9d77f52d2af078dbcecffad72c6b22cb6f8fe89c68db0ad99e811be06ec46800",
        "valid": "977a3b91bdbdb12186b44ee422a51eac85de343b8159e4973b16cf4b3d245d32",
        "test": "7a3fad03b9ad609e91a276e92b3bc31fbb8a48eacbc1bf42853cd440a4f6c080",
    },
    "trec": {
        "label": "c5b6ea0cd3a4632639df7eea02f92640ffb561dd6421d831bad7544defdb2e71",
        "labeled_ids": (
            "340853e0e847642834043eb814656883c85b6ce957e6195d2965c15741c757c6"
        ),
        "train": "92a1cfc914222003512efd69ee55bd89150bf42f35400c1325f861bfe2a0e350",
        "valid": "56b27e6796ecb4fe63d60060306bdb65dec6f8e5f345cdce068eb50a5f90b5c9",
        "test": "95b1a8fbefbeda9b75b96416814dd46794872809a2295832761b2a0b7bc5de3d",
    },
}

# Remote directory of each data set: the tutorial copy of YouTube reproduces
# the AGRA noise rate; the others are the official WRENCH release via DyGen.
_BASE_URLS = {
    "youtube": _NHBESS_URL,
    "youtube_wrench_current": _DYGEN_URL + "youtube/",
    "sms": _DYGEN_URL + "sms/",
    "trec": _DYGEN_URL + "trec/",
}

_REGISTRY = {
    name: {
        key: RemoteFile(
            name=f"{name}/{key}.json",
            path=f"wrench/{name}/{key}.json",
            url=f"{_BASE_URLS[name]}{key}.json",
            checksum=f"sha256:{digest}",
        )
        for key, digest in files.items()
    }
    for name, files in _SHA256.items()
}

# Data sets whose LF exemplar rows are dropped from train by default.
_TRIM_BY_DEFAULT = frozenset({"trec"})


def _sha1_index_hash(i):
    """Snorkel's tie-break hash: SHA-1 of the decimal string of ``i``."""
    return int(hashlib.sha1(str(i).encode("utf-8")).hexdigest(), 16)


def majority_vote(weak_labels, n_classes):
    """Aggregate weak labels by majority vote, breaking ties as snorkel does.

    This reproduces WRENCH's ``MajorityVoting`` label model followed by
    snorkel's ``probs_to_preds`` with its default settings, which is the
    pipeline used to produce the noisy labels of the AGRA benchmarks.

    Parameters
    ----------
    weak_labels : array-like of shape (n_samples, n_lfs)
        Integer votes of each labelling function, in ``0 .. n_classes - 1``,
        or ``-1`` for an abstain.
    n_classes : int
        Number of classes.

    Returns
    -------
    y : ndarray of shape (n_samples,), dtype int64
        The majority-vote label of every row.

    Raises
    ------
    ValueError
        If ``weak_labels`` is not a 2-D integer array with values in
        ``-1 .. n_classes - 1``, or ``n_classes`` is not a positive integer.

    See Also
    --------
    load_wrench : Loads WRENCH data sets with these labels as ``target_noisy``.

    Notes
    -----
    For row ``i`` the votes for each class are counted, ignoring abstains; a
    row without any vote counts one vote for every class. The counts are
    normalised to probabilities ``P_i``, and the tied set ``T`` holds, in
    ascending order, every class ``k`` with ``|P_ik - max_k P_ik| < 1e-5``.
    The label is ``T[0]`` when ``|T| = 1`` and otherwise
    ``T[h(i) mod |T|]``, where ``i`` is the 0-based row index and ``h(i)``
    is the SHA-1 digest of the decimal string of ``i``, read as a
    hexadecimal integer. Every row therefore gets a label, deterministically.

    Examples
    --------
    >>> import numpy as np
    >>> from sknoisy.datasets import majority_vote
    >>> L = np.array([[0, 0, 1], [1, -1, -1], [-1, -1, -1], [0, 1, -1]])
    >>> majority_vote(L, n_classes=2)
    array([0, 1, 0, 1])
    """
    if not isinstance(n_classes, Integral) or isinstance(n_classes, bool):
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}.")
    if n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}.")
    L = np.asarray(weak_labels)
    if L.ndim != 2:
        raise ValueError(
            f"weak_labels must be 2-D (n_samples, n_lfs), got shape {L.shape}."
        )
    if L.size and not np.issubdtype(L.dtype, np.integer):
        if not np.array_equal(L, np.round(L)):
            raise ValueError("weak_labels must hold integers.")
    L = L.astype(np.int64)
    if L.size and (L.min() < -1 or L.max() >= n_classes):
        raise ValueError(
            f"weak_labels must lie in -1 .. {n_classes - 1} (-1 = abstain); got "
            f"values from {L.min()} to {L.max()}."
        )
    n_samples = L.shape[0]
    rows, cols = np.nonzero(L != -1)
    counts = np.bincount(
        rows * n_classes + L[rows, cols], minlength=n_samples * n_classes
    ).reshape(n_samples, n_classes)
    counts = counts.astype(np.float64)
    counts[counts.sum(axis=1) == 0] = 1.0
    probs = counts / counts.sum(axis=1, keepdims=True)
    tied = np.abs(probs - probs.max(axis=1, keepdims=True)) < 1e-5
    n_tied = tied.sum(axis=1)
    # Position of the winner within each row's tied set: 0 without a tie.
    position = np.zeros(n_samples, dtype=np.int64)
    tie_rows = np.flatnonzero(n_tied > 1)
    position[tie_rows] = [
        _sha1_index_hash(i) % int(t)
        for i, t in zip(tie_rows, n_tied[tie_rows], strict=True)
    ]
    rank = np.cumsum(tied, axis=1) - 1
    return np.argmax(tied & (rank == position[:, None]), axis=1).astype(np.int64)


def _read_json(remote, data_home, download_if_missing):
    path = _fetch(remote, data_home=data_home, download_if_missing=download_if_missing)
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _parse_split(raw, n_classes):
    """Turn one WRENCH split file into a Bunch, rows in numeric key order."""
    keys = sorted(raw, key=int)
    records = [raw[k] for k in keys]
    if records:
        weak_labels = np.array([r["weak_labels"] for r in records], dtype=np.int64)
    else:
        weak_labels = np.empty((0, 0), dtype=np.int64)
    split = Bunch(
        data=[r["data"]["text"] for r in records],
        weak_labels=weak_labels,
        target=np.array([r["label"] for r in records], dtype=np.int64),
        target_noisy=majority_vote(weak_labels, n_classes),
    )
    ids = np.array([int(k) for k in keys], dtype=np.int64)
    return split, ids


def _subset(split, mask):
    """Keep the rows of ``split`` where ``mask`` is True."""
    return Bunch(
        data=list(compress(split.data, mask)),
        weak_labels=split.weak_labels[mask],
        target=split.target[mask],
        target_noisy=split.target_noisy[mask],
    )


def load_wrench(
    name, *, data_home=None, download_if_missing=True, drop_labeled_ids="auto"
):
    """Load a WRENCH text classification benchmark with its weak labels.

    Each split comes with the labelling functions' votes, the gold labels and
    the majority-vote labels used as noisy training labels in the AGRA
    experiments. The files are read from ``<data_home>/wrench/<name>/``; when
    they are missing they are downloaded from pinned commits on GitHub and
    checksum-verified.

    ==========================  ================  ====  ========================
    name                        train/valid/test  LFs   train noise (MV vs gold)
    ==========================  ================  ====  ========================
    "youtube"                   1586 / 120 / 250  10    18.79 %
    "sms"                       4571 / 500 / 500  73    31.92 %
    "trec"                      4965 / 500 / 500  68    48.24 %
    "youtube_wrench_current"    1686 / 120 / 250  10    19.04 %
    ==========================  ================  ====  ========================

    ``"youtube"`` is the copy of a weak-supervision tutorial that reproduces
    the AGRA noise rate; ``"youtube_wrench_current"`` is the current official
    WRENCH release, whose LF 7 differs and which has 100 duplicated labelled
    rows appended. ``"sms"`` and ``"trec"`` are the official release.

    Parameters
    ----------
    name : {"youtube", "sms", "trec", "youtube_wrench_current"}
        Data set to load.
    data_home : str or path-like, default=None
        Data directory; see :func:`get_data_home`.
    download_if_missing : bool, default=True
        Whether to download missing files.
    drop_labeled_ids : "auto" or bool, default="auto"
        Whether to drop the rows listed in ``labeled_ids.json`` (the
        labelling functions' exemplars) from the train split. ``"auto"``
        drops them for ``"trec"`` only, which yields the 4965 training rows
        of the AGRA paper; the SMS ids lie inside the paper's 4571 rows and
        are kept. The majority vote is computed before dropping, on the
        original row indices. Validation and test splits are never changed.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        train, valid, test : :class:`~sklearn.utils.Bunch`
            One per split, each with:

            - ``data``: list of str, the texts;
            - ``weak_labels``: ndarray of shape (n_samples, n_lfs), int64,
              the votes, ``-1`` meaning abstain;
            - ``target``: ndarray of shape (n_samples,), int64, gold labels;
            - ``target_noisy``: ndarray of shape (n_samples,), int64,
              majority-vote labels (see :func:`majority_vote`).
        target_names : ndarray of shape (n_classes,)
            Class names from ``label.json``, indexed by label.

    Raises
    ------
    ValueError
        If ``name`` is unknown, ``drop_labeled_ids`` is invalid, or
        ``drop_labeled_ids=True`` for a data set without
        ``labeled_ids.json`` (``"youtube"``).
    FileNotFoundError
        If a file is missing locally and cannot be downloaded, or
        ``download_if_missing=False``. The message names the expected path.
    OSError
        If a file fails its checksum.

    See Also
    --------
    majority_vote : The label model behind ``target_noisy``.

    Notes
    -----
    Rows are read in the numeric order of the split files' keys. The noisy
    labels follow WRENCH's ``MajorityVoting`` and snorkel's
    ``probs_to_preds`` with default settings: per row, votes are counted
    per class ignoring abstains (a row without votes counts one vote for
    every class), normalised, and every class within ``1e-5`` of the maximum
    is tied; a tie among ``t`` classes is broken by taking the
    ``h(i) mod t``-th tied class in ascending order, where ``h(i)`` is the
    SHA-1 digest of the decimal 0-based row index ``i`` within the split.
    Because 59.5 % of SMS training rows have no vote, this deterministic
    tie-break matters: a random one gives about 30.9 % noise instead of
    31.92 %.

    TREC test texts begin with the fine-grained TREC label and keep their
    case, whereas train and valid texts are lower-case; this is how the
    source data is and it is left unchanged.

    References
    ----------
    .. [1] J. Zhang, Y. Yu, Y. Li, Y. Wang, Y. Yang, M. Yang and A. Ratner,
       "WRENCH: A Comprehensive Benchmark for Weak Supervision", NeurIPS
       Datasets and Benchmarks Track, 2021.
    .. [2] A. Ratner, S. H. Bach, H. Ehrenberg, J. Fries, S. Wu and C. Ré,
       "Snorkel: Rapid Training Data Creation with Weak Supervision", VLDB,
       2017.
    .. [3] A. Sedova, L. Zellinger and B. Roth, "Learning with Noisy Labels by
       Adaptive Gradient-Based Outlier Removal", ECML PKDD, 2023.

    Examples
    --------
    >>> from sknoisy.datasets import load_wrench
    >>> ds = load_wrench("youtube")  # doctest: +SKIP
    >>> len(ds.train.data), ds.train.weak_labels.shape  # doctest: +SKIP
    (1586, (1586, 10))
    >>> (ds.train.target_noisy != ds.train.target).mean().round(4)  # doctest: +SKIP
    np.float64(0.1879)
    """
    if name not in _REGISTRY:
        raise ValueError(
            f"Unknown WRENCH data set {name!r}; valid names are "
            f"{', '.join(repr(n) for n in _REGISTRY)}."
        )
    if not (drop_labeled_ids == "auto" or isinstance(drop_labeled_ids, bool)):
        raise ValueError(
            f"drop_labeled_ids must be 'auto', True or False, got {drop_labeled_ids!r}."
        )
    files = _REGISTRY[name]
    if drop_labeled_ids == "auto":
        drop_labeled_ids = name in _TRIM_BY_DEFAULT
    if drop_labeled_ids and "labeled_ids" not in files:
        raise ValueError(
            f"{name!r} has no labeled_ids.json; drop_labeled_ids=True is not "
            "possible for it."
        )

    labels = _read_json(files["label"], data_home, download_if_missing)
    target_names = np.asarray([labels[k] for k in sorted(labels, key=int)])
    n_classes = len(target_names)

    result = Bunch(target_names=target_names)
    for split_name in _SPLITS:
        raw = _read_json(files[split_name], data_home, download_if_missing)
        split, ids = _parse_split(raw, n_classes)
        if split_name == "train" and drop_labeled_ids:
            labeled = _read_json(files["labeled_ids"], data_home, download_if_missing)
            drop = np.array([int(i) for i in labeled["labeled_ids"]], dtype=np.int64)
            split = _subset(split, ~np.isin(ids, drop))
        result[split_name] = split
    return result
