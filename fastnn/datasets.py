"""MNIST loading: IDX parsing, folder lookup and a checksum-verified download.

The four standard IDX files are read from, in order of precedence:

1. the ``path`` argument of :func:`load_mnist`;
2. ``$FASTNN_DATA``: the folder holding the files, or a parent with an ``mnist/``
   subfolder;
3. the user cache, ``$XDG_CACHE_HOME/fastnn/mnist`` or ``~/.cache/fastnn/mnist``.

Each file may be gzipped (``name.gz``) or raw (``name``). Missing files are downloaded
from :data:`MIRRORS` with the standard library only, checked against :data:`SHA256`
(the checksums of the decompressed content) and written atomically.
"""

import gzip
import hashlib
import math
import os
import tempfile
import urllib.request
import zlib
from http.client import HTTPException
from pathlib import Path

import numpy as np

__all__ = ["MNISTNotFoundError", "load_mnist", "read_idx"]

#: sha256 of each uncompressed file; downloads must match, local files are trusted.
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
FILES = tuple(SHA256)

#: Tried in order; each serves ``<name>.gz``.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

IMAGES_MAGIC = 2051  # 0x0803: unsigned bytes, 3 dimensions
LABELS_MAGIC = 2049  # 0x0801: unsigned bytes, 1 dimension

# IDX type byte -> element type; IDX data is big-endian.
_IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class MNISTNotFoundError(FileNotFoundError):
    """MNIST files are missing and could not be downloaded."""


def load_mnist(path=None, download=True):
    """Load MNIST as flat float32 images and int64 labels.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Folder holding the four IDX files. Default: ``$FASTNN_DATA`` (the folder itself,
        or its ``mnist/`` subfolder), else ``$XDG_CACHE_HOME/fastnn/mnist`` or
        ``~/.cache/fastnn/mnist``.
    download : bool, default True
        Download missing files into that folder. Downloads are checked against
        :data:`SHA256`; files already on disk are not, to keep loading fast.

    Returns
    -------
    (X_train, y_train), (X_test, y_test)
        ``X_*`` float32 (n, 784) scaled to [0, 1]; ``y_*`` int64 (n,) in 0..9;
        n is 60000 for train and 10000 for test.

    Raises
    ------
    MNISTNotFoundError
        Files are missing and ``download`` is False or every mirror failed. The message
        names the folder and the four files to place there. A ``FileNotFoundError``.
    ValueError
        A file is corrupt: bad gzip data, wrong magic number or image size, truncated,
        image and label counts that differ, or a label outside 0..9. The message names
        the file.
    """
    folder = _find_dir(path)
    found = {name: _locate(folder, name) for name in FILES}
    missing = [name for name, file in found.items() if file is None]
    if missing and not download:
        raise MNISTNotFoundError(_missing_message(folder, missing))
    for name in missing:
        found[name], reasons = _download(name, folder)
        if found[name] is None:
            still_missing = [n for n in FILES if found[n] is None]
            raise MNISTNotFoundError(_missing_message(folder, still_missing, reasons))
    train = _load_split(found["train-images-idx3-ubyte"], found["train-labels-idx1-ubyte"])
    test = _load_split(found["t10k-images-idx3-ubyte"], found["t10k-labels-idx1-ubyte"])
    return train, test


def read_idx(path, magic=None):
    """Parse an IDX file, gzipped or raw, into an array.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Gzip is recognised by its content, not by the ``.gz`` suffix.
    magic : int, optional
        Required magic number, e.g. 2051 for MNIST images, 2049 for labels.

    Returns
    -------
    numpy.ndarray
        Read-only, shaped as the header says, e.g. (n, 28, 28) uint8 for MNIST images.
        Multi-byte types keep the file's big-endian dtype.

    Raises
    ------
    ValueError
        Corrupt gzip data, a malformed or unexpected header, or a byte count that does
        not match the header. The message names the file.
    """
    data = _decompress(Path(path).read_bytes(), path)
    if len(data) < 4:
        raise ValueError(f"{path}: truncated IDX file ({len(data)} bytes, no header)")
    got = int.from_bytes(data[:4], "big")
    if magic is not None and got != magic:
        raise ValueError(f"{path}: magic number is {got}, expected {magic}")
    if data[:2] != b"\0\0" or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (magic number {got})")
    dtype, ndim = _IDX_DTYPES[data[2]], data[3]
    start = 4 + 4 * ndim
    if len(data) < start:
        raise ValueError(f"{path}: truncated IDX header ({len(data)} bytes)")
    shape = tuple(int.from_bytes(data[i : i + 4], "big") for i in range(4, start, 4))
    expected = math.prod(shape) * dtype.itemsize
    if len(data) - start != expected:
        problem = "truncated" if len(data) - start < expected else "has trailing bytes"
        raise ValueError(
            f"{path}: {problem}: header {shape} needs {expected} data bytes, "
            f"file has {len(data) - start}"
        )
    return np.frombuffer(data, dtype=dtype, offset=start).reshape(shape)


def _load_split(images_path, labels_path):
    """Read one split; x (n, 784) float32 in [0, 1], y (n,) int64."""
    images = read_idx(images_path, magic=IMAGES_MAGIC)
    labels = read_idx(labels_path, magic=LABELS_MAGIC)
    if images.shape[1:] != (28, 28):
        h, w = images.shape[1:]
        raise ValueError(f"{images_path}: images are {h}x{w}, expected 28x28")
    if len(images) != len(labels):
        raise ValueError(
            f"{images_path} has {len(images)} images but "
            f"{labels_path} has {len(labels)} labels"
        )
    if labels.size and labels.max() > 9:
        i = int(np.argmax(labels > 9))
        raise ValueError(f"{labels_path}: label {labels[i]} at index {i} is not in 0..9")
    x = images.reshape(len(images), 784) / np.float32(255)  # one pass, float32 out
    return x, labels.astype(np.int64)


def _find_dir(path=None):
    """Folder to read MNIST from (and download into): see :func:`load_mnist`."""
    if path is not None:
        return Path(path).expanduser()
    env = os.environ.get("FASTNN_DATA")
    if env:
        root = Path(env).expanduser()
        holds_files = any(_locate(root, name) for name in FILES)
        if not holds_files and (root / "mnist").is_dir():
            return root / "mnist"
        return root
    cache = os.environ.get("XDG_CACHE_HOME")
    if not cache or not os.path.isabs(cache):  # the XDG spec says ignore relative paths
        cache = Path.home() / ".cache"
    return Path(cache) / "fastnn" / "mnist"


def _locate(folder, name):
    """``folder/name`` or ``folder/name.gz``, whichever exists (raw first), else None."""
    for file in (folder / name, folder / f"{name}.gz"):
        if file.is_file():
            return file
    return None


def _missing_message(folder, missing, reasons=()):
    lines = [f"MNIST files missing from {folder}: {', '.join(missing)}."]
    if reasons:
        lines.append("Download failed (offline?):")
        lines += [f"  {reason}" for reason in reasons]
    lines.append(f"Place these four files (gzipped .gz or raw) in {folder}:")
    lines += [f"  {name}" for name in FILES]
    lines.append("or pass load_mnist(path=...) or set FASTNN_DATA to their folder.")
    return "\n".join(lines)


def _download(name, folder):
    """Fetch ``name.gz`` from the first mirror serving it intact.

    Returns ``(path, [])``, or ``(None, reasons)`` with one line per failed mirror.
    """
    reasons = []
    for mirror in MIRRORS:
        url = f"{mirror}{name}.gz"
        try:
            payload = _fetch(url)
            _check_sha256(_decompress(payload, url), name, url)
        except (OSError, HTTPException, ValueError) as exc:
            reasons.append(f"{url}: {exc}")
            continue
        file = folder / f"{name}.gz"
        _write_atomic(file, payload)
        return file, []
    return None, reasons


def _fetch(url, timeout=60):
    """Body of ``url`` as bytes; the one place that touches the network."""
    request = urllib.request.Request(url, headers={"User-Agent": "fastnn"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def _decompress(data, source):
    """Gunzip ``data`` if it is gzip (by its magic bytes), else return it unchanged."""
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{source}: corrupt gzip data ({exc})") from None


def _check_sha256(data, name, source):
    """Raise ValueError unless ``data`` (decompressed) matches ``SHA256[name]``."""
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256[name]:
        raise ValueError(f"{source}: sha256 {digest} does not match {SHA256[name]}")


def _write_atomic(path, data):
    """Write via a temp file in the same folder so readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; data files should be readable
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
