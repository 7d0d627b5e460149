"""Tests for sknoisy.datasets.

Tests marked ``data`` read the benchmark files under ``$SKNOISY_DATA`` and are
skipped when the variable is unset or lacks the files. Everything else runs
offline: downloads are exercised through ``file://`` URLs, and being offline
is simulated by replacing the URL opener.
"""

import dataclasses
import gzip
import hashlib
import json
import os
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from sknoisy.datasets import (
    _base,
    _libsvm,
    _mnist,
    _wrench,
    get_data_home,
    load_libsvm,
    load_mnist,
    load_wrench,
    majority_vote,
)
from sknoisy.datasets._base import ChecksumError, RemoteFile, _fetch

# --------------------------------------------------------------------------
# helpers


def _data_dir(*relpaths):
    """Return $SKNOISY_DATA, skipping the test unless it holds ``relpaths``."""
    env = os.environ.get("SKNOISY_DATA")
    if not env:
        pytest.skip("SKNOISY_DATA is not set; benchmark data tests need it")
    root = Path(env)
    missing = [p for p in relpaths if not (root / p).is_file()]
    if missing:
        pytest.skip(f"SKNOISY_DATA={env} lacks {', '.join(missing)}")
    return root


def _offline(*args, **kwargs):
    raise urllib.error.URLError("network is unreachable (simulated)")


@pytest.fixture
def offline(monkeypatch):
    """Make every download attempt fail as if there were no network."""
    monkeypatch.setattr(_base, "_open_url", _offline)


@pytest.fixture
def source_file(tmp_path):
    """A local file served through a file:// URL, with its digests."""
    path = tmp_path / "remote" / "payload.txt"
    path.parent.mkdir()
    content = b"1 1:0.5 3:1\n2 2:-1\n"
    path.write_bytes(content)
    return {
        "path": path,
        "url": path.as_uri(),
        "sha256": hashlib.sha256(content).hexdigest(),
        "md5": hashlib.md5(content).hexdigest(),
    }


def _remote(source, checksum, **kwargs):
    return RemoteFile(
        name="payload.txt",
        path="sub/payload.txt",
        url=source["url"],
        checksum=checksum,
        **kwargs,
    )


def _leftovers(directory):
    """Files under ``directory`` (recursively), as names."""
    if not directory.exists():
        return []
    return sorted(p.name for p in directory.rglob("*") if p.is_file())


# --------------------------------------------------------------------------
# get_data_home


def test_get_data_home_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SKNOISY_DATA", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert get_data_home() == tmp_path / "home" / ".cache" / "sknoisy"

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert get_data_home() == tmp_path / "xdg" / "sknoisy"

    monkeypatch.setenv("SKNOISY_DATA", str(tmp_path / "env"))
    assert get_data_home() == tmp_path / "env"

    assert get_data_home(tmp_path / "arg") == tmp_path / "arg"
    assert get_data_home(str(tmp_path / "arg")) == tmp_path / "arg"
    assert isinstance(get_data_home(), Path)
    # Nothing is created just by asking.
    assert not (tmp_path / "env").exists()


def test_get_data_home_expands_user_and_ignores_empty_env(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("SKNOISY_DATA", "")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert get_data_home() == tmp_path / ".cache" / "sknoisy"
    assert get_data_home("~/data") == tmp_path / "data"


# --------------------------------------------------------------------------
# majority_vote


def _reference_majority_vote(L, n_classes):
    """Literal per-row transcription of WRENCH MV + snorkel probs_to_preds."""
    preds = []
    for i, row in enumerate(L):
        counts = np.zeros(n_classes)
        for vote in row:
            if vote != -1:
                counts[vote] += 1
        if counts.sum() == 0:
            counts += 1
        probs = counts / counts.sum()
        tied = np.where(np.abs(probs - probs.max()) < 1e-5)[0]
        h = int(hashlib.sha1(str(i).encode("utf-8")).hexdigest(), 16)
        preds.append(tied[0] if len(tied) == 1 else tied[h % len(tied)])
    return np.array(preds)


def test_majority_vote_hand_made():
    L = np.array(
        [
            [0, 0, 1, -1],  # clear majority for 0
            [2, -1, -1, -1],  # a single vote
            [-1, -1, -1, -1],  # no votes: 3-way tie, h(2) % 3 == 0
            [0, 1, -1, -1],  # tie {0, 1}: h(3) % 2 == 1
            [1, 2, 2, 1],  # tie {1, 2}: h(4) % 2 == 0
            [-1, -1, -1, -1],  # no votes: h(5) % 3 == 0
            [0, 1, 2, -1],  # 3-way tie: h(6) % 3 == 1
            [-1, -1, -1, -1],  # no votes: h(7) % 3 == 2
        ]
    )
    y = majority_vote(L, n_classes=3)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, [0, 2, 0, 1, 1, 0, 1, 2])


def test_majority_vote_sha1_rule_by_hand():
    # sha1(b"7") = 902ba3cd...8fda; as an integer it is 2 mod 3 and 0 mod 2.
    digest = "902ba3cda1883801594b6e1b452790cc53948fda"
    assert hashlib.sha1(b"7").hexdigest() == digest
    assert int(digest, 16) % 3 == 2
    assert int(digest, 16) % 2 == 0
    # Row 7 without votes takes the third class; with a {1, 2} tie the first.
    L = np.full((8, 2), -1)
    L[7] = [1, 2]
    y = majority_vote(L, n_classes=3)
    assert y[7] == 1
    L[7] = [-1, -1]
    assert majority_vote(L, n_classes=3)[7] == 2
    # Same content, different index, different winner: the index decides.
    assert majority_vote(L, n_classes=3)[5] == 0


@pytest.mark.parametrize("n_classes", [2, 3, 6])
def test_majority_vote_matches_reference(n_classes):
    rng = np.random.default_rng(n_classes)
    L = rng.integers(-1, n_classes, size=(400, 7))
    L[rng.random(L.shape) < 0.6] = -1  # many abstains and uncovered rows
    np.testing.assert_array_equal(
        majority_vote(L, n_classes), _reference_majority_vote(L, n_classes)
    )


def test_majority_vote_edge_shapes():
    assert majority_vote(np.empty((0, 3), dtype=int), 2).shape == (0,)
    # No labelling functions at all: every row is a full tie.
    np.testing.assert_array_equal(
        majority_vote(np.empty((3, 0), dtype=int), 2),
        _reference_majority_vote(np.empty((3, 0), dtype=int), 2),
    )
    np.testing.assert_array_equal(majority_vote([[1.0, 1.0, -1.0]], 2), [1])


@pytest.mark.parametrize(
    "L, n_classes, match",
    [
        ([0, 1, 1], 2, "2-D"),
        ([[0, 2]], 2, "lie in -1"),
        ([[0, -2]], 2, "lie in -1"),
        ([[0.5, 1]], 2, "integers"),
        ([[0, 1]], 0, "positive integer"),
        ([[0, 1]], 2.0, "positive integer"),
    ],
)
def test_majority_vote_invalid(L, n_classes, match):
    with pytest.raises(ValueError, match=match):
        majority_vote(L, n_classes)


# --------------------------------------------------------------------------
# the fetch helper, offline


@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_fetch_downloads_and_verifies(tmp_path, source_file, algorithm):
    home = tmp_path / "home"
    remote = _remote(source_file, f"{algorithm}:{source_file[algorithm]}")
    path = _fetch(remote, data_home=home)
    assert path == home / "sub" / "payload.txt"
    assert path.read_bytes() == source_file["path"].read_bytes()
    assert _leftovers(home) == ["payload.txt"]  # no temporary file left
    # A second call reads the local copy without touching the network.
    source_file["path"].unlink()
    assert _fetch(remote, data_home=home) == path


def test_fetch_checksum_mismatch_leaves_nothing(tmp_path, source_file):
    home = tmp_path / "home"
    remote = _remote(source_file, "sha256:" + "0" * 64)
    with pytest.raises(ChecksumError, match="Checksum mismatch") as excinfo:
        _fetch(remote, data_home=home)
    assert isinstance(excinfo.value, OSError)
    assert source_file["sha256"] in str(excinfo.value)
    assert _leftovers(home) == []


def test_fetch_offline_names_expected_path(tmp_path, source_file, offline):
    home = tmp_path / "home"
    remote = _remote(source_file, f"sha256:{source_file['sha256']}")
    with pytest.raises(FileNotFoundError) as excinfo:
        _fetch(remote, data_home=home)
    message = str(excinfo.value)
    assert str(home / "sub" / "payload.txt") in message
    assert source_file["url"] in message
    assert "SKNOISY_DATA" in message and "data_home" in message
    assert isinstance(excinfo.value.__cause__, urllib.error.URLError)
    assert not home.exists()  # a failed connection creates nothing


def test_fetch_download_disabled(tmp_path, source_file):
    home = tmp_path / "home"
    remote = _remote(source_file, f"sha256:{source_file['sha256']}")
    with pytest.raises(FileNotFoundError, match="download_if_missing=False") as exc:
        _fetch(remote, data_home=home, download_if_missing=False)
    assert str(home / "sub" / "payload.txt") in str(exc.value)
    assert not home.exists()


def test_fetch_alternative_location(tmp_path, source_file, offline):
    home = tmp_path / "home"
    alt = home / "other" / "payload.txt"
    alt.parent.mkdir(parents=True)
    alt.write_bytes(b"a differing local copy is used as it is")
    remote = _remote(
        source_file, "sha256:" + "0" * 64, alt_paths=("other/payload.txt",)
    )
    assert _fetch(remote, data_home=home) == alt


def test_fetch_trust_on_first_use(tmp_path, source_file):
    home = tmp_path / "home"
    remote = _remote(source_file, None)
    with pytest.warns(UserWarning, match="No published checksum"):
        path = _fetch(remote, data_home=home)
    sidecar = path.with_name("payload.txt.sha256")
    assert sidecar.read_text().split() == [source_file["sha256"], "payload.txt"]
    # Later loads are verified against the recorded digest.
    assert _fetch(remote, data_home=home) == path
    path.write_bytes(b"tampered")
    with pytest.raises(ChecksumError, match="delete it"):
        _fetch(remote, data_home=home)


def test_fetch_verifies_local_file_at_primary_location(tmp_path, source_file):
    home = tmp_path / "home"
    (home / "sub").mkdir(parents=True)
    (home / "sub" / "payload.txt").write_bytes(b"not the published file")
    remote = _remote(source_file, f"md5:{source_file['md5']}")
    with pytest.raises(ChecksumError, match="Checksum mismatch"):
        _fetch(remote, data_home=home)


def test_remote_file_rejects_bad_checksum_spec():
    with pytest.raises(ValueError, match="sha256:<hex>"):
        RemoteFile("f", "f", "file:///f", "crc32:1234")


# --------------------------------------------------------------------------
# loaders through the fetch helper, offline


def test_load_libsvm_download_end_to_end(tmp_path, monkeypatch):
    # A tiny svmlight file with labels 2/4, served through file://.
    src = tmp_path / "breast-cancer_scale"
    src.write_text("2 1:-0.5 10:1\n4 2:0.25\n2 3:1\n")
    entry = _libsvm._DATASETS["breast-cancer"]
    remote = dataclasses.replace(entry.file, url=src.as_uri())
    monkeypatch.setitem(
        _libsvm._DATASETS, "breast-cancer", dataclasses.replace(entry, file=remote)
    )
    home = tmp_path / "home"
    with pytest.warns(UserWarning, match="No published checksum"):
        X, y = load_libsvm("breast-cancer", data_home=home)
    assert (home / "libsvm" / "breast-cancer_scale.sha256").is_file()
    assert sparse.issparse(X) and X.format == "csr"
    assert X.dtype == np.float64 and y.dtype == np.int64
    assert X.shape == (3, 10)
    np.testing.assert_array_equal(y, [0, 1, 0])
    assert X[0, 0] == -0.5 and X[0, 9] == 1.0 and X[1, 1] == 0.25


def test_load_mnist_offline_names_expected_path(tmp_path, offline):
    home = tmp_path / "home"
    with pytest.raises(FileNotFoundError) as excinfo:
        load_mnist("train", data_home=home)
    message = str(excinfo.value)
    assert str(home / "mnist" / "train-images-idx3-ubyte.gz") in message
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/" in message
    assert "SKNOISY_DATA" in message
    assert not home.exists()


def test_load_wrench_offline_names_expected_path(tmp_path, offline):
    home = tmp_path / "home"
    with pytest.raises(FileNotFoundError) as excinfo:
        load_wrench("sms", data_home=home)
    assert str(home / "wrench" / "sms" / "label.json") in str(excinfo.value)


def test_load_wrench_download_disabled(tmp_path):
    with pytest.raises(FileNotFoundError, match="download_if_missing=False"):
        load_wrench("youtube", data_home=tmp_path, download_if_missing=False)


def test_load_libsvm_download_disabled(tmp_path):
    with pytest.raises(FileNotFoundError) as excinfo:
        load_libsvm("real-sim", data_home=tmp_path, download_if_missing=False)
    assert str(tmp_path / "libsvm" / "real-sim.bz2") in str(excinfo.value)


def test_load_wrench_from_local_files(tmp_path, offline, monkeypatch):
    # A miniature WRENCH data set; the registry is pointed at unverified
    # entries so that the local files are read as they are.
    name = "trec"
    folder = tmp_path / "wrench" / name
    folder.mkdir(parents=True)
    rows = {
        "1": {"label": 1, "weak_labels": [1, 1, -1], "data": {"text": "b"}},
        "0": {"label": 0, "weak_labels": [0, -1, -1], "data": {"text": "a"}},
        "10": {"label": 2, "weak_labels": [-1, -1, -1], "data": {"text": "k"}},
        "2": {"label": 2, "weak_labels": [2, 0, -1], "data": {"text": "c"}},
    }
    for split in ("train", "valid", "test"):
        (folder / f"{split}.json").write_text(json.dumps(rows))
    (folder / "label.json").write_text(json.dumps({"1": "B", "0": "A", "2": "C"}))
    (folder / "labeled_ids.json").write_text(json.dumps({"labeled_ids": ["10"]}))
    registry = {
        key: dataclasses.replace(remote, checksum=None)
        for key, remote in _wrench._REGISTRY[name].items()
    }
    monkeypatch.setitem(_wrench._REGISTRY, name, registry)

    ds = load_wrench(name, data_home=tmp_path)
    np.testing.assert_array_equal(ds.target_names, ["A", "B", "C"])
    # Keys in numeric order 0, 1, 2, 10; id "10" dropped from train only.
    assert ds.train.data == ["a", "b", "c"]
    assert ds.test.data == ["a", "b", "c", "k"]
    np.testing.assert_array_equal(ds.train.target, [0, 1, 2])
    assert ds.train.weak_labels.shape == (3, 3)
    assert ds.train.weak_labels.dtype == np.int64
    # Row 2 ties {0, 2} -> h(2) % 2 == 0 -> 0; row 3 is uncovered -> h(3) % 3.
    np.testing.assert_array_equal(ds.test.target_noisy, [0, 1, 0, 1])
    np.testing.assert_array_equal(ds.train.target_noisy, [0, 1, 0])

    untrimmed = load_wrench(name, data_home=tmp_path, drop_labeled_ids=False)
    assert len(untrimmed.train.data) == 4


def _write_idx(path, magic, array, *, truncate=0):
    header = magic.to_bytes(4, "big") + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    body = array.astype(np.uint8).tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + body[: len(body) - truncate])


def test_load_mnist_idx_parsing(tmp_path, offline):
    rdia = tmp_path / "rdia"
    rdia.mkdir()
    images = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    images_path = rdia / "t10k-images-idx3-ubyte.gz"
    labels_path = rdia / "t10k-labels-idx1-ubyte.gz"
    _write_idx(images_path, 0x803, images)
    _write_idx(labels_path, 0x801, np.array([7, 2, 1]))
    X, y = load_mnist("test", data_home=tmp_path)
    assert X.dtype == np.uint8 and X.shape == (3, 784)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(X, images.reshape(3, 784))
    np.testing.assert_array_equal(y, [7, 2, 1])

    _write_idx(labels_path, 0x803, np.array([7, 2, 1]).reshape(1, 1, 3))
    with pytest.raises(ValueError, match="magic number"):
        load_mnist("test", data_home=tmp_path)
    _write_idx(labels_path, 0x801, np.array([7, 2]))
    with pytest.raises(ValueError, match="2 labels but"):
        load_mnist("test", data_home=tmp_path)
    _write_idx(images_path, 0x803, images, truncate=5)
    with pytest.raises(ValueError, match="truncated"):
        load_mnist("test", data_home=tmp_path)
    images_path.write_bytes(b"not gzip")
    with pytest.raises(ValueError, match="gzip"):
        load_mnist("test", data_home=tmp_path)


# --------------------------------------------------------------------------
# argument validation


def test_unknown_names(tmp_path):
    with pytest.raises(ValueError, match="'breast-cancer', 'real-sim'"):
        load_libsvm("iris", data_home=tmp_path)
    with pytest.raises(ValueError, match="'youtube', 'youtube_wrench_current'"):
        load_wrench("imdb", data_home=tmp_path)
    with pytest.raises(ValueError, match="subset"):
        load_mnist("valid", data_home=tmp_path)


def test_load_wrench_invalid_drop_labeled_ids(tmp_path):
    with pytest.raises(ValueError, match="drop_labeled_ids"):
        load_wrench("trec", data_home=tmp_path, drop_labeled_ids="yes")
    with pytest.raises(ValueError, match=r"no labeled_ids\.json"):
        load_wrench("youtube", data_home=tmp_path, drop_labeled_ids=True)


# --------------------------------------------------------------------------
# benchmark data under $SKNOISY_DATA


def _noise(split):
    return 100 * np.mean(split.target_noisy != split.target)


@pytest.mark.data
@pytest.mark.parametrize(
    "name, sizes, n_lfs, target_names, noise",
    [
        ("youtube", (1586, 120, 250), 10, ["HAM", "SPAM"], 18.79),
        ("sms", (4571, 500, 500), 73, ["ham", "spam"], 31.92),
        (
            "trec",
            (4965, 500, 500),
            68,
            ["DESC", "ENTY", "HUM", "ABBR", "LOC", "NUM"],
            48.24,
        ),
        ("youtube_wrench_current", (1686, 120, 250), 10, ["HAM", "SPAM"], 19.04),
    ],
)
def test_wrench_benchmarks(name, sizes, n_lfs, target_names, noise):
    _data_dir(*(f"wrench/{name}/{s}.json" for s in ("label", "train", "valid", "test")))
    ds = load_wrench(name, download_if_missing=False)
    np.testing.assert_array_equal(ds.target_names, target_names)
    for split_name, size in zip(("train", "valid", "test"), sizes, strict=True):
        split = ds[split_name]
        assert len(split.data) == size
        assert all(isinstance(t, str) for t in split.data)
        assert split.weak_labels.shape == (size, n_lfs)
        assert split.target.shape == split.target_noisy.shape == (size,)
        assert split.weak_labels.dtype == split.target.dtype == np.int64
        assert split.target_noisy.dtype == np.int64
        assert split.weak_labels.min() >= -1
        assert split.weak_labels.max() < len(target_names)
    assert round(_noise(ds.train), 2) == noise


@pytest.mark.data
def test_wrench_trec_untrimmed_and_sms_trim():
    _data_dir("wrench/trec/train.json", "wrench/sms/train.json")
    trec = load_wrench("trec", drop_labeled_ids=False, download_if_missing=False)
    assert len(trec.train.data) == 5033
    assert round(_noise(trec.train), 2) == 47.80
    sms = load_wrench("sms", drop_labeled_ids=True, download_if_missing=False)
    assert len(sms.train.data) == 4502
    assert round(_noise(sms.train), 2) == 32.41


@pytest.mark.data
def test_breast_cancer():
    _data_dir("rdia/breast-cancer_scale")
    X, y = load_libsvm("breast-cancer", download_if_missing=False)
    assert sparse.issparse(X) and X.format == "csr"
    assert X.shape == (683, 10) and X.dtype == np.float64
    assert y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y), [444, 239])
    # Feature 1 of the LIBSVM file (the scaled sample id) lands in column 0.
    assert X[0, 0] == pytest.approx(-0.860107)
    assert X.max() <= 1 and X.min() >= -1


@pytest.mark.data
def test_mnist_test_set():
    _data_dir("rdia/t10k-images-idx3-ubyte.gz", "rdia/t10k-labels-idx1-ubyte.gz")
    X, y = load_mnist("test", download_if_missing=False)
    assert X.shape == (10000, 784) and X.dtype == np.uint8
    assert y.dtype == np.int64
    np.testing.assert_array_equal(
        np.bincount(y), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    )
    np.testing.assert_array_equal(y[:5], [7, 2, 1, 0, 4])


@pytest.mark.data
def test_mnist_train_images_missing_names_path():
    root = _data_dir("rdia/train-labels-idx1-ubyte.gz")
    if (root / "mnist" / "train-images-idx3-ubyte.gz").is_file() or (
        root / "rdia" / "train-images-idx3-ubyte.gz"
    ).is_file():
        pytest.skip("the MNIST training images are present")
    with pytest.raises(FileNotFoundError) as excinfo:
        load_mnist("train", download_if_missing=False)
    assert str(root / "mnist" / "train-images-idx3-ubyte.gz") in str(excinfo.value)


def test_registries_are_consistent():
    # Every remote file has a checksum except the LIBSVM breast-cancer file,
    # for which no published digest is known.
    remotes = [d.file for d in _libsvm._DATASETS.values()]
    remotes += [f for pair in _mnist._FILES.values() for f in pair]
    remotes += [f for files in _wrench._REGISTRY.values() for f in files.values()]
    unknown = [r.name for r in remotes if r.checksum is None]
    assert unknown == ["breast-cancer_scale"]
    for r in remotes:
        assert r.url.startswith("https://")
        assert r.url.rsplit("/", 1)[1] == r.path.rsplit("/", 1)[1]
