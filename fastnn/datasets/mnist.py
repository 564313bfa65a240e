"""MNIST: find the four IDX files, download them if missing, verify their checksums.

The files are read from, in order of precedence:

1. the ``path`` argument of :func:`load_mnist`;
2. ``$FASTNN_DATA``;
3. the user cache, ``$XDG_CACHE_HOME/fastnn/mnist`` or ``~/.cache/fastnn/mnist``.

A given folder (1 or 2) may hold the files or be a parent with an ``mnist/`` subfolder.
Each file may be gzipped (``name.gz``) or raw (``name``). Missing files are downloaded
from :data:`MIRRORS` with the standard library only, checked against :data:`SHA256`
(the checksums of the decompressed content) and written atomically.
"""
import hashlib
import os
import tempfile
import urllib.request
from http.client import HTTPException
from pathlib import Path

import numpy as np

from fastnn.datasets.idx import IMAGES_MAGIC, LABELS_MAGIC, decompress, locate, read_idx
from fastnn.errors import CorruptFileError

__all__ = ["MNISTNotFoundError", "load_mnist", "SHA256", "FILES", "MIRRORS"]

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

class MNISTNotFoundError(FileNotFoundError):
    """MNIST files are missing and could not be downloaded.

    Attributes: ``folder`` (where they were looked for), ``missing`` (file names) and
    ``reasons`` (one line per failed download, empty when none was tried).
    """

    def __init__(self, folder, missing, reasons=()):
        self.folder, self.missing, self.reasons = folder, list(missing), list(reasons)
        super().__init__(_missing_message(folder, missing, reasons))

    def __reduce__(self):
        return type(self), (self.folder, self.missing, self.reasons)


def load_mnist(path=None, download=True):
    """Load MNIST as flat float32 images and int64 labels.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Folder holding the four IDX files, or a parent with an ``mnist/`` subfolder.
        Default: ``$FASTNN_DATA`` (read the same way), else ``$XDG_CACHE_HOME/fastnn/mnist`` or
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
    fastnn.errors.CorruptFileError
        A file is corrupt: bad gzip data (truncated, failed CRC), wrong magic number or
        image size, truncated or with trailing bytes, image and label counts that differ,
        or a label outside 0..9. The message names the file. A ``ValueError``.
    """
    folder = _find_dir(path)
    found = {name: locate(folder, name) for name in FILES}
    missing = [name for name, file in found.items() if file is None]
    if missing and not download:
        raise MNISTNotFoundError(folder, missing)
    for name in missing:
        found[name], reasons = _download(name, folder)
        if found[name] is None:
            still_missing = [n for n in FILES if found[n] is None]
            raise MNISTNotFoundError(folder, still_missing, reasons)
    train = _load_split(found["train-images-idx3-ubyte"], found["train-labels-idx1-ubyte"])
    test = _load_split(found["t10k-images-idx3-ubyte"], found["t10k-labels-idx1-ubyte"])
    return train, test


def _load_split(images_path, labels_path):
    """Read one split; x (n, 784) float32 in [0, 1], y (n,) int64."""
    images = read_idx(images_path, magic=IMAGES_MAGIC)
    labels = read_idx(labels_path, magic=LABELS_MAGIC)
    if images.shape[1:] != (28, 28):
        h, w = images.shape[1:]
        raise CorruptFileError(f"{images_path}: images are {h}x{w}, expected 28x28")
    if len(images) != len(labels):
        raise CorruptFileError(
            f"{images_path} has {len(images)} images but "
            f"{labels_path} has {len(labels)} labels"
        )
    if labels.size and labels.max() > 9:
        i = int(np.argmax(labels > 9))
        raise CorruptFileError(f"{labels_path}: label {labels[i]} at index {i} is not in 0..9")
    x = images.reshape(len(images), 784) / np.float32(255)  # one pass, float32 out
    return x, labels.astype(np.int64)


def _find_dir(path=None):
    """Folder to read MNIST from (and download into): see :func:`load_mnist`."""
    given = path if path is not None else os.environ.get("FASTNN_DATA")
    if given:
        return _mnist_in(Path(given).expanduser())
    cache = os.environ.get("XDG_CACHE_HOME")
    if not cache or not os.path.isabs(cache):  # the XDG spec says ignore relative paths
        cache = Path.home() / ".cache"
    return Path(cache) / "fastnn" / "mnist"


def _mnist_in(root):
    """`root` itself if it holds MNIST files, else its ``mnist/`` subfolder if it has one."""
    holds_files = any(locate(root, name) for name in FILES)
    if not holds_files and (root / "mnist").is_dir():
        return root / "mnist"
    return root


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
            _check_sha256(decompress(payload, url), name, url)
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


def _check_sha256(data, name, source):
    """Raise ValueError unless ``data`` (decompressed) matches ``SHA256[name]``."""
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256[name]:
        raise CorruptFileError(f"{source}: sha256 {digest} does not match {SHA256[name]}")


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


