"""Data sets: MNIST loading, toy 2-D problems, splitting and preprocessing.

MNIST: IDX parsing, folder lookup and a checksum-verified download.

The four standard IDX files are read from, in order of precedence:

1. the ``path`` argument of :func:`load_mnist`;
2. ``$FASTNN_DATA``: the folder holding the files, or a parent with an ``mnist/``
   subfolder;
3. the user cache, ``$XDG_CACHE_HOME/fastnn/mnist`` or ``~/.cache/fastnn/mnist``.

Each file may be gzipped (``name.gz``) or raw (``name``). Missing files are downloaded
from :data:`MIRRORS` with the standard library only, checked against :data:`SHA256`
(the checksums of the decompressed content) and written atomically.

Toy data: :func:`xor`, :func:`circles`, :func:`moons` and :func:`spirals` return small
seeded 2-D classification problems, ``X`` float32 (n, 2) and ``y`` int64 (n,).
:func:`train_test_split`, :func:`one_hot` and :func:`standardize` prepare any data set.
"""

import gzip
import hashlib
import math
import numbers
import os
import tempfile
import urllib.request
import zlib
from http.client import HTTPException
from pathlib import Path

import numpy as np

from fastnn.checks import show
from fastnn.errors import (CorruptFileError, HyperParameterError, LabelError, NonFiniteError,
                           ShapeError)

__all__ = [
    "MNISTNotFoundError",
    "load_mnist",
    "read_idx",
    "xor",
    "circles",
    "moons",
    "spirals",
    "train_test_split",
    "one_hot",
    "standardize",
]

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
    fastnn.errors.CorruptFileError
        A file is corrupt: bad gzip data (truncated, failed CRC), wrong magic number or
        image size, truncated or with trailing bytes, image and label counts that differ,
        or a label outside 0..9. The message names the file. A ``ValueError``.
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
    fastnn.errors.CorruptFileError
        Corrupt gzip data, a malformed or unexpected header, or a byte count that does
        not match the header. The message names the file. A ``ValueError``.
    """
    data = _decompress(Path(path).read_bytes(), path)
    if len(data) < 4:
        raise CorruptFileError(f"{path}: truncated IDX file ({len(data)} bytes, no header)")
    got = int.from_bytes(data[:4], "big")
    if magic is not None and got != magic:
        raise CorruptFileError(f"{path}: magic number is {got}, expected {magic}")
    if data[:2] != b"\0\0" or data[2] not in _IDX_DTYPES:
        raise CorruptFileError(f"{path}: not an IDX file (magic number {got})")
    dtype, ndim = _IDX_DTYPES[data[2]], data[3]
    start = 4 + 4 * ndim
    if len(data) < start:
        raise CorruptFileError(f"{path}: truncated IDX header ({len(data)} bytes)")
    shape = tuple(int.from_bytes(data[i : i + 4], "big") for i in range(4, start, 4))
    expected = math.prod(shape) * dtype.itemsize
    if len(data) - start != expected:
        problem = "truncated" if len(data) - start < expected else "has trailing bytes"
        raise CorruptFileError(
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
        raise CorruptFileError(f"{source}: corrupt gzip data ({exc})") from None


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


# ---------------------------------------------------------------------------------------
# Toy data sets, splitting and preprocessing

_XOR_CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
_XOR_LABELS = np.array([0, 1, 1, 0], dtype=np.int64)


def xor(n_samples=None, noise=0.0, seed=0):
    """The XOR problem: the corners of the unit square, labelled by XOR.

    Parameters
    ----------
    n_samples : int, optional
        Number of points. Default: the four corners ``[0, 0], [0, 1], [1, 0], [1, 1]``
        once each. Otherwise the rows cycle through the corners in that order, so all
        four appear (as evenly as possible) once ``n_samples >= 4``; rows are not
        shuffled.
    noise : float, default 0.0
        Standard deviation of the Gaussian noise added to every coordinate.
    seed : int, default 0
        Seed of ``numpy.random.default_rng`` (used only for the noise).

    Returns
    -------
    X : float32 (n, 2)
        The points.
    y : int64 (n,)
        ``x0 XOR x1`` of the corner each point was drawn from: 0 for [0, 0] and [1, 1],
        1 for [0, 1] and [1, 0].

    Raises
    ------
    ValueError
        ``n_samples`` is not an integer >= 1, or ``noise`` is negative or not finite.
    """
    n = 4 if n_samples is None else _check_int("n_samples", n_samples, 1)
    noise = _check_noise(noise)
    rng = np.random.default_rng(seed)
    corner = np.arange(n) % 4
    X = _XOR_CORNERS[corner] + noise * rng.standard_normal((n, 2))
    return X.astype(np.float32), _XOR_LABELS[corner]


def circles(n_samples=500, noise=0.1, factor=0.5, seed=0):
    """Two concentric circles: a binary problem no straight line separates.

    Parameters
    ----------
    n_samples : int, default 500
        Total number of points: ``ceil(n/2)`` on the outer circle, ``floor(n/2)`` on the
        inner one, each spread evenly by angle.
    noise : float, default 0.1
        Standard deviation of the Gaussian noise added to every coordinate.
    factor : float, default 0.5
        Radius of the inner circle (the outer one has radius 1), in [0, 1).
    seed : int, default 0
        Seed of ``numpy.random.default_rng`` (noise and row order).

    Returns
    -------
    X : float32 (n, 2)
        The points, rows shuffled.
    y : int64 (n,)
        0 for the outer circle, 1 for the inner one.

    Raises
    ------
    ValueError
        ``n_samples`` is not an integer >= 1, ``noise`` is negative or not finite, or
        ``factor`` is outside [0, 1).
    """
    n = _check_int("n_samples", n_samples, 1)
    noise = _check_noise(noise)
    if not (isinstance(factor, numbers.Real) and 0 <= factor < 1):
        raise HyperParameterError(f"factor must be a number in [0, 1), got {show(factor)}")
    n_outer = n - n // 2
    n_inner = n // 2
    parts = []
    for count, radius in ((n_outer, 1.0), (n_inner, float(factor))):
        angle = np.linspace(0, 2 * np.pi, count, endpoint=False)
        parts.append(radius * np.column_stack([np.cos(angle), np.sin(angle)]))
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n_outer, n_inner])
    return _noisy_shuffled(np.concatenate(parts), y, noise, np.random.default_rng(seed))


def moons(n_samples=500, noise=0.1, seed=0):
    """Two interleaving half circles, as scikit-learn's ``make_moons``.

    The upper moon is the half unit circle ``(cos t, sin t)``, t in [0, pi]; the lower
    one is ``(1 - cos t, 0.5 - sin t)``, the upper moon mirrored and shifted so that each
    reaches into the other's opening.

    Parameters
    ----------
    n_samples : int, default 500
        Total number of points: ``ceil(n/2)`` on the upper moon, ``floor(n/2)`` on the
        lower one (scikit-learn gives the extra point to the lower moon; here label 0
        gets it, as in :func:`circles`).
    noise : float, default 0.1
        Standard deviation of the Gaussian noise added to every coordinate.
    seed : int, default 0
        Seed of ``numpy.random.default_rng`` (noise and row order).

    Returns
    -------
    X : float32 (n, 2)
        The points, rows shuffled.
    y : int64 (n,)
        0 for the upper moon, 1 for the lower one.

    Raises
    ------
    ValueError
        ``n_samples`` is not an integer >= 1, or ``noise`` is negative or not finite.
    """
    n = _check_int("n_samples", n_samples, 1)
    noise = _check_noise(noise)
    n_upper = n - n // 2
    n_lower = n // 2
    t_upper = np.linspace(0, np.pi, n_upper)
    t_lower = np.linspace(0, np.pi, n_lower)
    upper = np.column_stack([np.cos(t_upper), np.sin(t_upper)])
    lower = np.column_stack([1 - np.cos(t_lower), 0.5 - np.sin(t_lower)])
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n_upper, n_lower])
    return _noisy_shuffled(np.concatenate([upper, lower]), y, noise, np.random.default_rng(seed))


def spirals(n_samples=500, n_classes=3, noise=0.2, seed=0):
    """Interleaved spiral arms, one per class (the CS231n spiral data).

    Arm k holds the points ``r * (sin t, cos t)`` with the radius r going from 0 to 1
    and the angle ``t = linspace(4k, 4(k + 1)) + noise * randn``: the noise perturbs the
    angle, not the coordinates, so every point keeps its radius.

    Parameters
    ----------
    n_samples : int, default 500
        Total number of points, split as evenly as possible: the first
        ``n_samples % n_classes`` classes get one extra point.
    n_classes : int, default 3
        Number of arms (and classes), >= 2.
    noise : float, default 0.2
        Standard deviation of the Gaussian noise added to each angle, in radians.
    seed : int, default 0
        Seed of ``numpy.random.default_rng`` (noise and row order).

    Returns
    -------
    X : float32 (n, 2)
        The points, rows shuffled, inside the unit disc.
    y : int64 (n,)
        The arm, in ``0 .. n_classes - 1``.

    Raises
    ------
    ValueError
        ``n_samples`` is not an integer >= 1, ``n_classes`` not an integer >= 2,
        ``n_samples < n_classes`` (a class would be empty), or ``noise`` is negative or
        not finite.
    """
    n = _check_int("n_samples", n_samples, 1)
    k = _check_int("n_classes", n_classes, 2)
    noise = _check_noise(noise)
    if n < k:
        raise HyperParameterError(
            f"n_samples={n} is fewer than n_classes={k}: every class needs a sample"
        )
    rng = np.random.default_rng(seed)
    counts = np.full(k, n // k)
    counts[: n % k] += 1
    y = np.repeat(np.arange(k, dtype=np.int64), counts)
    r = np.concatenate([np.linspace(0, 1, c) for c in counts])
    t = np.concatenate([np.linspace(4 * j, 4 * (j + 1), c) for j, c in enumerate(counts)])
    t += noise * rng.standard_normal(n)
    X = r[:, None] * np.column_stack([np.sin(t), np.cos(t)])
    order = rng.permutation(n)
    return X[order].astype(np.float32), y[order]


def train_test_split(X, y, test_size=0.2, seed=0, stratify=None):
    """Split samples into a training and a test set by a seeded shuffle.

    Parameters
    ----------
    X : array_like (n, ...)
        Inputs; the first axis indexes samples.
    y : array_like (n, ...)
        Targets: labels (n,), one-hot rows (n, C), regression targets of any shape.
    test_size : float, default 0.2
        Fraction of samples in the test set, in (0, 1). The test set holds
        ``ceil(test_size * n)`` samples; both sets must be non-empty.
    seed : int, default 0
        Seed of ``numpy.random.default_rng``.
    stratify : None, bool or array_like (n,), default None
        ``None``: stratify by ``y`` if it is a 1-D integer array (class labels), else
        split plainly. ``True``: stratify by ``y``, which must be 1-D. ``False``: a plain
        random split. An array: stratify by its values (any 1-D array of labels).
        Stratified, each class puts a share of its samples in the test set proportional
        to its size: the per-class counts are ``ceil(test_size * n) * n_class / n``
        rounded so they sum to exactly ``ceil(test_size * n)`` (largest remainders, ties
        broken at random).

    Returns
    -------
    X_train : (n - n_test, ...)
    X_test : (n_test, ...)
    y_train : (n - n_test, ...)
    y_test : (n_test, ...)
        Rows of ``X`` and ``y`` taken together in a shuffled order, with the input
        dtypes. Every sample is in exactly one of the two sets.

    Raises
    ------
    ValueError
        ``X``, ``y`` or ``stratify`` are 0-d or differ in length, ``stratify`` is not
        1-D, ``test_size`` is outside (0, 1), or it leaves a set empty.
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ShapeError(
            f"X and y need a samples axis, got shapes X {X.shape} and y {y.shape}"
        )
    n = len(X)
    if len(y) != n:
        raise ShapeError(f"X and y differ in length: {n} samples in X, {len(y)} in y")
    if not (isinstance(test_size, numbers.Real) and 0 < test_size < 1):
        raise HyperParameterError(
            f"test_size must be a number in (0, 1), got {show(test_size)}"
        )
    # round() first so that e.g. 0.7 * 10 = 7.000000000000001 means 7, not 8
    n_test = math.ceil(round(test_size * n, 9))
    if not 0 < n_test < n:
        empty = "test" if n_test == 0 else "training"
        raise HyperParameterError(
            f"test_size={show(test_size)} with {n} samples leaves the {empty} set empty "
            f"({n_test} of {n} samples in the test set)"
        )
    groups = _strata(stratify, y, n)
    rng = np.random.default_rng(seed)
    if groups is None:
        order = rng.permutation(n)
        test, train = order[:n_test], order[n_test:]
    else:
        test, train = _stratified_indices(groups, n_test, rng)
    return X[train], X[test], y[train], y[test]


def one_hot(labels, n_classes=None):
    """Encode integer class labels as one-hot rows.

    Parameters
    ----------
    labels : array_like (n,)
        Non-negative integers (an integer array, or floats holding whole numbers).
    n_classes : int, optional
        Number of columns, >= 1. Default: ``max(labels) + 1``.

    Returns
    -------
    float32 (n, n_classes)
        Row i is 1 in column ``labels[i]`` and 0 elsewhere; ``argmax(axis=1)`` recovers
        the labels.

    Raises
    ------
    ValueError
        ``labels`` is not 1-D or not numeric, a label is negative, not a whole number or
        not below ``n_classes`` (the message names the first such label and its index),
        ``n_classes`` is not an integer >= 1, or it is omitted and ``labels`` is empty.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ShapeError(f"labels must be 1-D (n,), got shape {labels.shape}")
    if labels.dtype.kind not in "iuf":
        raise LabelError(f"labels must be integers, got dtype {labels.dtype}")
    if n_classes is None:
        if labels.size == 0:
            raise ShapeError("cannot infer n_classes from empty labels; pass n_classes")
        top = labels.max()  # a bad (negative, NaN, inf) maximum is reported below
        n_classes = int(top) + 1 if np.isfinite(top) and top >= 0 else 1
    else:
        n_classes = _check_int("n_classes", n_classes, 1)
    whole = np.ones(labels.shape, dtype=bool)
    if labels.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(labels) & (labels == np.floor(labels))
    negative = labels < 0
    too_big = labels >= n_classes
    bad = ~whole | negative | too_big
    if bad.any():
        i = int(np.argmax(bad))
        if not whole[i]:
            reason = "not a whole number"
        elif negative[i]:
            reason = "negative"
        else:
            reason = f"not below n_classes={n_classes}"
        raise LabelError(f"label {show(labels[i])} at index {i} is {reason}")
    out = np.zeros((len(labels), n_classes), dtype=np.float32)
    out[np.arange(len(labels)), labels.astype(np.int64)] = 1
    return out


def standardize(X, mean=None, std=None):
    """Centre each feature and scale it to unit standard deviation.

    Fit on the training set, then pass its statistics for the test set::

        X_train, mean, std = standardize(X_train)
        X_test, _, _ = standardize(X_test, mean, std)

    A feature with zero standard deviation (constant in ``X``, or 0 in a given ``std``)
    is centred but not scaled: its std is taken as 1, and returned as 1, so it comes out
    as zeros instead of NaN (scikit-learn's ``StandardScaler`` does the same).

    Parameters
    ----------
    X : array_like (n, F)
        Samples by features.
    mean : array_like (F,), optional
        Per-feature mean to subtract. Default: the mean of ``X``.
    std : array_like (F,), optional
        Per-feature standard deviation to divide by, >= 0. Default: the population
        standard deviation (``ddof=0``) of ``X``.

    Returns
    -------
    X_standardized : float32 (n, F)
        ``(X - mean) / std``.
    mean : float32 (F,)
        The mean used.
    std : float32 (F,)
        The standard deviation used, with 1 for zero-variance features.

    Raises
    ------
    ValueError
        ``X`` is not 2-D or, with a statistic to compute, has no rows; ``mean`` or
        ``std`` is not shaped (F,) or not finite; ``std`` has a negative entry.
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ShapeError(f"X must be 2-D (n, F), got shape {X.shape}")
    n, f = X.shape
    if n == 0 and (mean is None or std is None):
        raise ShapeError("X has no samples to compute mean and std from")
    constant = (X == X[0]).all(axis=0) if n else np.zeros(f, dtype=bool)
    if mean is None:
        mean = X.mean(axis=0, dtype=np.float64)  # float32 sums drift over many samples
        mean[constant] = X[0, constant]  # exact, so a constant feature becomes exact zeros
    else:
        mean = _check_stat("mean", mean, f)
    out = X.astype(np.float32)
    out -= mean.astype(np.float32)
    if std is None:
        # from the centred float32 copy, so no float64 copy of X is made; the shift
        # term is ~0 unless a given mean differs from X's own
        shift = out.mean(axis=0, dtype=np.float64)
        var = np.square(out).mean(axis=0, dtype=np.float64) - shift**2
        std = np.sqrt(np.maximum(var, 0))
        std[constant] = 0  # rounding can leave a constant feature a tiny spread
    else:
        std = _check_stat("std", std, f)
        if (std < 0).any():
            i = int(np.argmax(std < 0))
            raise HyperParameterError(f"std must be >= 0, got {show(std[i])} for feature {i}")
    std = np.where(std == 0, 1, std).astype(np.float32)
    out /= std
    return out, mean.astype(np.float32), std


def _check_int(name, value, minimum):
    """``value`` as an int, or a ValueError naming ``name`` unless it is an int >= minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise HyperParameterError(f"{name} must be an integer >= {minimum}, got {show(value)}")
    return int(value)


def _check_noise(noise):
    if not (isinstance(noise, numbers.Real) and math.isfinite(noise) and noise >= 0):
        raise HyperParameterError(f"noise must be a finite number >= 0, got {show(noise)}")
    return float(noise)


def _check_stat(name, value, n_features):
    """A given mean or std as a float64 (F,) array, or a ValueError naming it."""
    value = np.asarray(value, dtype=np.float64)
    if value.shape != (n_features,):
        raise ShapeError(
            f"{name} must have shape ({n_features},) to match X, got {value.shape}"
        )
    if not np.isfinite(value).all():
        i = int(np.argmax(~np.isfinite(value)))
        raise NonFiniteError(f"{name} must be finite, got {show(value[i])} for feature {i}")
    return value


def _noisy_shuffled(X, y, noise, rng):
    """Add N(0, noise^2) to every coordinate, shuffle the rows: float32 X, int64 y."""
    X = X + noise * rng.standard_normal(X.shape)
    order = rng.permutation(len(X))
    return X[order].astype(np.float32), y[order]


def _strata(stratify, y, n):
    """Class index (n,) int64 to stratify by, or None for a plain split."""
    if stratify is None:
        if y.ndim != 1 or y.dtype.kind not in "iu":
            return None
        stratify = y
    elif stratify is False:
        return None
    elif stratify is True:
        if y.ndim != 1:
            raise ShapeError(f"stratify=True needs 1-D labels y, got shape {y.shape}")
        stratify = y
    stratify = np.asarray(stratify)
    if stratify.shape != (n,):
        raise ShapeError(
            f"stratify must be 1-D with one label per sample ({n},), "
            f"got shape {stratify.shape}"
        )
    return np.unique(stratify, return_inverse=True)[1].reshape(n)


def _stratified_indices(groups, n_test, rng):
    """Test and train indices with each group's test count proportional to its size."""
    counts = np.bincount(groups)
    quota = n_test * counts / counts.sum()
    take = np.floor(quota).astype(np.int64)
    # hand the remaining test slots to the largest remainders, ties in random order
    tie_break = rng.permutation(len(counts))
    by_remainder = tie_break[np.argsort(-(quota - take)[tie_break], kind="stable")]
    take[by_remainder[: n_test - take.sum()]] += 1
    test, train = [], []
    for g, k in enumerate(take):
        members = rng.permutation(np.flatnonzero(groups == g))
        test.append(members[:k])
        train.append(members[k:])
    return rng.permutation(np.concatenate(test)), rng.permutation(np.concatenate(train))
