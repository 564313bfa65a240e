"""IDX files, the format MNIST ships in (Fashion-MNIST, KMNIST and others use it too).

:func:`read_idx` and :func:`write_idx` handle one file, gzipped or raw.
:func:`load_idx_folder` reads a folder laid out as MNIST is: ``train-images-idx3-ubyte``
and ``train-labels-idx1-ubyte``, optionally ``t10k-images-idx3-ubyte`` and
``t10k-labels-idx1-ubyte``, each raw or gzipped (``.gz``), with any image size and
integer labels.
"""
import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from fastnn.errors import CorruptFileError, ShapeError

__all__ = ["read_idx", "write_idx", "load_idx_folder", "locate", "is_idx_folder"]

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

_IDX_CODES = {dtype.str[1:]: code for code, dtype in _IDX_DTYPES.items()}

#: The MNIST file names of each split: (images, labels).
TRAIN_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


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
    data = decompress(Path(path).read_bytes(), path)
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



def write_idx(path, array):
    """Write `array` as an IDX file; gzipped when `path` ends in ``.gz``.

    Parameters
    ----------
    path : str or os.PathLike
    array : array_like
        uint8, int8, int16, int32, float32 or float64, at least 1-D, e.g. images
        (n, 28, 28) uint8 or labels (n,) uint8.

    Raises
    ------
    fastnn.errors.ShapeError
        A 0-d array, or one with more than 255 dimensions.
    TypeError
        A dtype IDX cannot hold (int64, bool, strings, ...).
    """
    array = np.asarray(array)
    code = _IDX_CODES.get(array.dtype.str[1:])
    if code is None:
        kinds = ", ".join(np.dtype(d).name for d in _IDX_DTYPES.values())
        raise TypeError(f"IDX files hold {kinds}; got dtype {array.dtype}")
    if not 1 <= array.ndim <= 255:
        raise ShapeError(f"an IDX file holds an array of 1 to 255 dimensions, got {array.ndim}")
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        n.to_bytes(4, "big") for n in array.shape)
    data = header + array.astype(_IDX_DTYPES[code], copy=False).tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def locate(folder, name):
    """``folder/name`` or ``folder/name.gz``, whichever exists (raw first), else None."""
    for file in (folder / name, folder / f"{name}.gz"):
        if file.is_file():
            return file
    return None


def is_idx_folder(folder):
    """Whether `folder` holds MNIST-style training images and labels."""
    folder = Path(folder)
    return folder.is_dir() and all(locate(folder, name) for name in TRAIN_FILES)


def load_idx_folder(folder):
    """Read a folder of IDX files named as MNIST's: flat float32 images, int64 labels.

    Parameters
    ----------
    folder : str or os.PathLike
        Holds ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` and, optionally,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, raw or ``.gz``.

    Returns
    -------
    (X_train, y_train), test
        ``X`` float32 (n, pixels per image): uint8 images scaled to [0, 1], other types
        as they are; ``y`` int64 (n,). ``test`` is ``(X_test, y_test)``, or None without
        t10k files.

    Raises
    ------
    FileNotFoundError
        The training files are missing; the message names the folder and the files.
    fastnn.errors.CorruptFileError
        A damaged file, labels that are not integers or not 1-D, images and labels that
        differ in count, or test images of another size than the training ones.
    """
    folder = Path(folder)
    train = [locate(folder, name) for name in TRAIN_FILES]
    if not all(train):
        raise FileNotFoundError(f"{folder}: no MNIST-style IDX files (needs "
                                f"{TRAIN_FILES[0]} and {TRAIN_FILES[1]}, raw or .gz)")
    train = load_split(*train)
    test = [locate(folder, name) for name in TEST_FILES]
    if not all(test):
        return train, None
    test = load_split(*test)
    if test[0].shape[1] != train[0].shape[1]:
        raise CorruptFileError(f"{folder}: test images have {test[0].shape[1]} pixels, "
                               f"training images {train[0].shape[1]}")
    return train, test


def load_split(images_path, labels_path):
    """Images (n, ...) and labels (n,) from two IDX files: float32 (n, pixels), int64."""
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim < 2:
        raise CorruptFileError(f"{images_path}: images need at least 2 dimensions (n, ...), "
                               f"got shape {images.shape}")
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise CorruptFileError(f"{labels_path}: labels must be 1-D integers, got "
                               f"{labels.dtype.name} of shape {labels.shape}")
    if len(images) != len(labels):
        raise CorruptFileError(f"{images_path} has {len(images)} images but "
                               f"{labels_path} has {len(labels)} labels")
    x = images.reshape(len(images), -1)
    x = x / np.float32(255) if x.dtype == np.uint8 else x.astype(np.float32)
    return x, labels.astype(np.int64)


def decompress(data, source):
    """Gunzip ``data`` if it is gzip (by its magic bytes), else return it unchanged."""
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise CorruptFileError(f"{source}: corrupt gzip data ({exc})") from None

