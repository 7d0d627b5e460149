"""Data home resolution and the one fetch helper shared by all loaders.

Every loader describes the files it needs as :class:`RemoteFile` entries of a
registry (name, relative path under the data home, URL, checksum) and asks
:func:`_fetch` for a local path. :func:`_fetch` looks for the file in the data
home, downloads it when it is missing (checksum-verified, written to a
temporary file and renamed into place) and otherwise raises an error that
names the expected local path.
"""

import hashlib
import http.client
import os
import shutil
import tempfile
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

#: Environment variable that overrides the default data home.
DATA_HOME_ENV = "SKNOISY_DATA"

_DOWNLOAD_TIMEOUT = 60.0
_CHUNK_SIZE = 1 << 20
_SUPPORTED_ALGORITHMS = ("sha256", "md5")


class ChecksumError(OSError):
    """A data file does not have the expected digest."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a data set in a loader's registry.

    Parameters
    ----------
    name : str
        File name, used in messages.
    path : str
        Location relative to the data home, with ``/`` separators. Downloads
        are written here.
    url : str
        Canonical public URL of the file.
    checksum : str or None
        Digest of the file at ``url`` as ``"sha256:<hex>"`` or
        ``"md5:<hex>"``. ``None`` when no published digest is known: the file
        is then trusted on first download and its sha256 is recorded next to
        it in ``<path>.sha256``.
    alt_paths : tuple of str, default=()
        Other locations, relative to the data home, where a local copy is
        accepted (e.g. the ``rdia/`` folder of the shared benchmark data).
        Copies found there are used as they are, without verification.
    """

    name: str
    path: str
    url: str
    checksum: str | None
    alt_paths: tuple[str, ...] = ()

    def __post_init__(self):
        if self.checksum is not None:
            _parse_checksum(self.checksum)


def get_data_home(data_home=None):
    """Return the directory where sknoisy looks for and stores data sets.

    The directory is chosen, in this order, from the ``data_home`` argument,
    the ``SKNOISY_DATA`` environment variable, and a per-user cache
    directory: ``$XDG_CACHE_HOME/sknoisy`` when ``XDG_CACHE_HOME`` is set,
    ``~/.cache/sknoisy`` otherwise. A leading ``~`` is expanded. The
    directory is not created; loaders create the sub-folders they download
    into.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Explicit data directory. When ``None``, fall back to the environment
        variable and then to the user cache directory.

    Returns
    -------
    data_home : pathlib.Path
        The data directory.

    Examples
    --------
    >>> from sknoisy.datasets import get_data_home
    >>> str(get_data_home("/tmp/sknoisy_data"))
    '/tmp/sknoisy_data'
    """
    if data_home is not None:
        return Path(os.fspath(data_home)).expanduser()
    env = os.environ.get(DATA_HOME_ENV)
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache).expanduser() if cache else Path("~/.cache").expanduser()
    return base / "sknoisy"


def _parse_checksum(checksum):
    """Split ``"algo:hexdigest"`` into ``(algo, hexdigest)``."""
    algorithm, sep, digest = checksum.partition(":")
    algorithm = algorithm.lower()
    if not sep or algorithm not in _SUPPORTED_ALGORITHMS or not digest:
        raise ValueError(
            f"Invalid checksum {checksum!r}: expected 'sha256:<hex>' or 'md5:<hex>'."
        )
    return algorithm, digest.lower()


def _file_digest(path, algorithm):
    """Return the hex digest of the file at ``path``."""
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK_SIZE), b""):
            hasher.update(block)
    return hasher.hexdigest()


def _sidecar(path):
    """Return the path of the recorded-digest file next to ``path``."""
    return path.with_name(path.name + ".sha256")


def _read_sidecar(path):
    """Return the digest recorded next to ``path`` as a checksum, or None."""
    sidecar = _sidecar(path)
    if not sidecar.is_file():
        return None
    fields = sidecar.read_text(encoding="ascii").split()
    if not fields:
        return None
    return f"sha256:{fields[0]}"


def _verify(path, checksum, *, source):
    """Raise :class:`ChecksumError` unless ``path`` has digest ``checksum``."""
    algorithm, expected = _parse_checksum(checksum)
    actual = _file_digest(path, algorithm)
    if actual != expected:
        raise ChecksumError(
            f"Checksum mismatch for {source}: expected {algorithm} {expected}, "
            f"got {actual}."
        )


def _open_url(url, timeout):
    """Open ``url``; a seam that tests replace to simulate being offline."""
    return urllib.request.urlopen(url, timeout=timeout)


def _download(remote, target):
    """Download ``remote`` to ``target`` atomically, verifying its checksum.

    The URL is opened before anything is created on disk, so a failed
    connection leaves the data home untouched. The body is written to a
    temporary file next to ``target``, verified, and renamed into place; the
    temporary file is removed on any failure.
    """
    with _open_url(remote.url, _DOWNLOAD_TIMEOUT) as response:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".part", dir=target.parent
        )
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(response, out, _CHUNK_SIZE)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    try:
        if remote.checksum is not None:
            try:
                _verify(tmp, remote.checksum, source=remote.url)
            except ChecksumError as exc:
                raise ChecksumError(
                    f"{exc} The partial download was deleted; {target} was not "
                    "written. The remote file may have changed or the transfer "
                    "was corrupted."
                ) from None
        else:
            digest = _file_digest(tmp, "sha256")
            warnings.warn(
                f"No published checksum is known for {remote.url}. Trusting the "
                f"downloaded file (sha256 {digest}) and recording its digest in "
                f"{_sidecar(target)}, against which later loads are verified.",
                UserWarning,
                stacklevel=4,
            )
            _write_sidecar(target, digest)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_sidecar(target, digest):
    """Atomically write ``digest`` to the sidecar of ``target``."""
    sidecar = _sidecar(target)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{sidecar.name}.", suffix=".part", dir=target.parent
    )
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(f"{digest}  {target.name}\n")
        os.replace(tmp_name, sidecar)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _not_found_message(remote, home, target, reason):
    """Build the message of the error raised when a file cannot be had."""
    also = [str(home / p) for p in remote.alt_paths]
    where = f"expected at {target}"
    if also:
        where += f" (also looked in {', '.join(also)})"
    return (
        f"Data file {remote.name!r} not found: {where}. {reason} "
        f"Source URL: {remote.url}. Put the file at the expected path, set the "
        f"{DATA_HOME_ENV} environment variable to a directory holding it, or pass "
        "data_home=..."
    )


def _fetch(remote, *, data_home=None, download_if_missing=True):
    """Return the local path of ``remote``, downloading it when needed.

    The file is looked for at ``<data_home>/<remote.path>`` and then at each
    of ``remote.alt_paths``. A file at the primary location is verified
    against the registry checksum, or against the digest recorded at its first
    download when no published checksum is known. When no copy exists it is
    downloaded to the primary location if ``download_if_missing``.

    Parameters
    ----------
    remote : RemoteFile
        Registry entry of the file.
    data_home : str or path-like, default=None
        Data directory, resolved with :func:`get_data_home`.
    download_if_missing : bool, default=True
        Whether to download the file when no local copy exists.

    Returns
    -------
    path : pathlib.Path
        Path of a local copy of the file.

    Raises
    ------
    FileNotFoundError
        If there is no local copy and downloading is disabled or fails
        (for instance offline). The message names the expected local path.
    ChecksumError
        If a download or a file at the primary location has the wrong digest.
    """
    home = get_data_home(data_home)
    target = home / remote.path
    if target.is_file():
        checksum = remote.checksum or _read_sidecar(target)
        if checksum is not None:
            try:
                _verify(target, checksum, source=str(target))
            except ChecksumError as exc:
                raise ChecksumError(
                    f"{exc} The file is corrupt or not the published version; "
                    f"delete it to download it again from {remote.url}."
                ) from None
        return target
    for alt in remote.alt_paths:
        candidate = home / alt
        if candidate.is_file():
            return candidate
    if not download_if_missing:
        raise FileNotFoundError(
            _not_found_message(
                remote,
                home,
                target,
                "Downloading is disabled (download_if_missing=False).",
            )
        )
    try:
        _download(remote, target)
    except ChecksumError:
        raise
    except (OSError, ValueError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise FileNotFoundError(
            _not_found_message(remote, home, target, f"Download failed: {reason}.")
        ) from exc
    return target
