"""MNIST loading: real data, path lookup, corrupt files and an offline download."""

import gzip
import hashlib
import os
import re
import struct
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from fastnn.datasets import idx, mnist
from fastnn.datasets import (MNISTNotFoundError, load_idx_folder, load_mnist, read_idx,
                             write_idx)

NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _real_dir():
    """Folder with the real files: $FASTNN_DATA (or its mnist/), or None."""
    env = os.environ.get("FASTNN_DATA")
    if not env:
        return None
    root = Path(env)
    for folder in (root, root / "mnist"):
        if all((folder / n).is_file() or (folder / f"{n}.gz").is_file() for n in NAMES):
            return folder
    return None


REAL_DIR = _real_dir()  # read before the autouse fixture clears FASTNN_DATA
needs_real = pytest.mark.skipif(REAL_DIR is None, reason="real MNIST files not found")


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No network, no FASTNN_DATA, and a throwaway cache for every test."""

    def no_network(*args, **kwargs):
        raise AssertionError("a test tried to use the network")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.delenv("FASTNN_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


def idx_bytes(arr, magic=None):
    """IDX encoding of a uint8 array; ``magic`` overrides the header's magic number."""
    arr = np.asarray(arr, dtype=np.uint8)
    magic = 0x0800 | arr.ndim if magic is None else magic
    return struct.pack(f">I{arr.ndim}I", magic, *arr.shape) + arr.tobytes()


def fake_mnist(n_train=5, n_test=3, seed=0):
    """Tiny MNIST-shaped arrays: {name: uint8 array}."""
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def write_mnist(folder, arrays=None, gz=True):
    """Write the four files into ``folder``; return the arrays written."""
    arrays = fake_mnist() if arrays is None else arrays
    folder.mkdir(parents=True, exist_ok=True)
    for name, arr in arrays.items():
        data = idx_bytes(arr)
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return arrays


def assert_matches(loaded, arrays):
    (x_train, y_train), (x_test, y_test) = loaded
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "t10k")):
        images = arrays[f"{split}-images-idx3-ubyte"]
        np.testing.assert_array_equal(x, images.reshape(len(images), 784) / np.float32(255))
        np.testing.assert_array_equal(y, arrays[f"{split}-labels-idx1-ubyte"])
        assert x.dtype == np.float32 and y.dtype == np.int64


def raises_naming(path, match=""):
    """pytest.raises(ValueError) whose message names ``path`` (and matches ``match``)."""
    return pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + match)


# Real data -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real():
    return load_mnist(REAL_DIR, download=False)


@needs_real
def test_real_shapes_dtypes_and_range(real):
    (x_train, y_train), (x_test, y_test) = real
    assert x_train.shape == (60000, 784) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 784) and y_test.shape == (10000,)
    for x, y in real:
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert x.flags.c_contiguous and x.flags.writeable
        assert x.min() == 0.0 and x.max() == 1.0


@needs_real
def test_real_label_counts(real):
    (_, y_train), (_, y_test) = real
    assert np.bincount(y_train, minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(y_test, minlength=10).tolist() == TEST_COUNTS


@needs_real
def test_real_files_match_checksum_table():
    for name in NAMES:
        file = idx.locate(REAL_DIR, name)
        mnist._check_sha256(idx.decompress(file.read_bytes(), file), name, file)


@needs_real
def test_real_via_fastnn_data_parent(monkeypatch, real):
    if REAL_DIR.name != "mnist":
        pytest.skip("real data folder is not named mnist/")
    monkeypatch.setenv("FASTNN_DATA", str(REAL_DIR.parent))
    (x_train, y_train), (x_test, y_test) = load_mnist(download=False)
    np.testing.assert_array_equal(y_train, real[0][1])
    np.testing.assert_array_equal(x_test, real[1][0])


# read_idx -------------------------------------------------------------------------------


def test_read_idx_raw_and_gzip_agree(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a").write_bytes(idx_bytes(arr))
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(arr)))
    for file in ("a", "a.gz"):
        out = read_idx(tmp_path / file)
        assert out.dtype == np.uint8
        np.testing.assert_array_equal(out, arr)


def test_read_idx_big_endian_types(tmp_path):
    arr = np.array([[1, -2], [300, 70000]], dtype=">i4")
    (tmp_path / "a").write_bytes(struct.pack(">I2I", 0x0C02, 2, 2) + arr.tobytes())
    np.testing.assert_array_equal(read_idx(tmp_path / "a"), arr)


@pytest.mark.parametrize(
    "data, match",
    [
        pytest.param(b"\0\0", "truncated", id="no-header"),
        pytest.param(b"\x01\x02\x08\x01" + bytes(4), "not an IDX file", id="nonzero-lead"),
        pytest.param(b"\0\0\x07\x01" + bytes(4), "not an IDX file", id="unknown-type"),
        pytest.param(b"\0\0\x08\x03" + bytes(4), "truncated IDX header", id="short-dims"),
        pytest.param(idx_bytes(np.zeros(3)) + b"x", "trailing bytes", id="trailing"),
    ],
)
def test_read_idx_rejects_malformed(tmp_path, data, match):
    (tmp_path / "a").write_bytes(data)
    with raises_naming(tmp_path / "a", match):
        read_idx(tmp_path / "a")


# Local files and path lookup --------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "raw"])
def test_loads_gzip_or_raw(tmp_path, gz):
    arrays = write_mnist(tmp_path, gz=gz)
    assert_matches(load_mnist(tmp_path, download=False), arrays)


def test_fastnn_data_is_the_folder(monkeypatch, tmp_path):
    arrays = write_mnist(tmp_path / "here")
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path / "here"))
    assert_matches(load_mnist(download=False), arrays)


def test_fastnn_data_is_a_parent_with_mnist(monkeypatch, tmp_path):
    arrays = write_mnist(tmp_path / "mnist")
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path))
    assert_matches(load_mnist(download=False), arrays)


def test_path_argument_beats_fastnn_data(monkeypatch, tmp_path):
    arrays = write_mnist(tmp_path / "arg", fake_mnist(seed=1))
    write_mnist(tmp_path / "env", fake_mnist(seed=2))
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path / "env"))
    assert_matches(load_mnist(tmp_path / "arg", download=False), arrays)


def test_default_is_xdg_cache_then_home(monkeypatch, tmp_path):
    arrays = write_mnist(tmp_path / "xdg-cache" / "fastnn" / "mnist")
    assert_matches(load_mnist(download=False), arrays)
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert mnist._find_dir() == tmp_path / "home" / ".cache" / "fastnn" / "mnist"


def test_missing_without_download_names_folder_and_files(monkeypatch, tmp_path):
    monkeypatch.setattr(mnist, "_fetch", lambda url: pytest.fail("fetched " + url))
    with pytest.raises(MNISTNotFoundError) as info:
        load_mnist(tmp_path, download=False)
    assert isinstance(info.value, FileNotFoundError)
    message = str(info.value)
    assert str(tmp_path) in message
    assert all(name in message for name in NAMES)


# Corrupt files ----------------------------------------------------------------------------


def test_wrong_magic(tmp_path):
    arrays = write_mnist(tmp_path, gz=False)
    file = tmp_path / "train-images-idx3-ubyte"
    file.write_bytes(idx_bytes(arrays[file.name], magic=2049))
    with raises_naming(file, "magic number is 2049, expected 2051"):
        load_mnist(tmp_path, download=False)


def test_wrong_image_size(tmp_path):
    arrays = fake_mnist()
    arrays["t10k-images-idx3-ubyte"] = np.zeros((3, 27, 28), dtype=np.uint8)
    write_mnist(tmp_path, arrays)
    with raises_naming(tmp_path / "t10k-images-idx3-ubyte.gz", "27x28"):
        load_mnist(tmp_path, download=False)


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "raw"])
def test_truncated_file(tmp_path, gz):
    write_mnist(tmp_path, gz=False)
    raw = tmp_path / "train-images-idx3-ubyte"
    data = raw.read_bytes()[:-100]
    if gz:  # a complete gzip stream around truncated IDX content
        raw.unlink()
        file = raw.with_name(raw.name + ".gz")
        file.write_bytes(gzip.compress(data))
    else:
        file = raw
        file.write_bytes(data)
    with raises_naming(file, "truncated"):
        load_mnist(tmp_path, download=False)


@pytest.mark.parametrize("cut", [True, False], ids=["cut-stream", "garbage"])
def test_corrupt_gzip(tmp_path, cut):
    write_mnist(tmp_path)
    file = tmp_path / "t10k-labels-idx1-ubyte.gz"
    data = file.read_bytes()
    file.write_bytes(data[:-20] if cut else data[:10] + b"\xff" * 40)
    with raises_naming(file, "corrupt gzip"):
        load_mnist(tmp_path, download=False)


def test_label_out_of_range(tmp_path):
    arrays = fake_mnist()
    arrays["train-labels-idx1-ubyte"][3] = 10
    write_mnist(tmp_path, arrays)
    with raises_naming(tmp_path / "train-labels-idx1-ubyte.gz", "label 10 at index 3"):
        load_mnist(tmp_path, download=False)


def test_mismatched_counts(tmp_path):
    arrays = fake_mnist()
    arrays["t10k-labels-idx1-ubyte"] = arrays["t10k-labels-idx1-ubyte"][:-1]
    write_mnist(tmp_path, arrays)
    with raises_naming(tmp_path / "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path, download=False)


# Download, with _fetch monkeypatched: never the network -----------------------------------


@pytest.fixture
def server(monkeypatch):
    """Serve fake MNIST from every mirror; ``served[url] = bytes or exception`` overrides."""
    arrays = fake_mnist()
    monkeypatch.setattr(
        mnist,
        "SHA256",
        {name: hashlib.sha256(idx_bytes(arr)).hexdigest() for name, arr in arrays.items()},
    )
    served, fetched = {}, []

    def fetch(url):
        fetched.append(url)
        name = url.rsplit("/", 1)[1].removesuffix(".gz")
        body = served.get(url, gzip.compress(idx_bytes(arrays[name])))
        if isinstance(body, Exception):
            raise body
        return body

    monkeypatch.setattr(mnist, "_fetch", fetch)
    return arrays, served, fetched


def test_download_writes_and_loads(tmp_path, server):
    arrays, _, fetched = server
    folder = tmp_path / "new" / "mnist"
    assert_matches(load_mnist(folder), arrays)
    assert sorted(os.listdir(folder)) == sorted(f"{name}.gz" for name in NAMES)
    assert fetched == [mnist.MIRRORS[0] + f"{name}.gz" for name in NAMES]
    assert_matches(load_mnist(folder), arrays)  # second load reads the files
    assert len(fetched) == 4


def test_download_fetches_only_missing_files(tmp_path, server):
    arrays, _, fetched = server
    write_mnist(tmp_path, arrays)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    assert_matches(load_mnist(tmp_path), arrays)
    assert fetched == [mnist.MIRRORS[0] + "t10k-labels-idx1-ubyte.gz"]


def test_bad_checksum_is_rejected_and_leaves_no_file(tmp_path, server):
    _, served, _ = server
    wrong = gzip.compress(idx_bytes(np.ones((5, 28, 28))))
    for mirror in mnist.MIRRORS:
        served[mirror + "train-images-idx3-ubyte.gz"] = wrong
    with pytest.raises(MNISTNotFoundError, match="sha256"):
        load_mnist(tmp_path)
    assert "train-images-idx3-ubyte.gz" not in os.listdir(tmp_path)
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".part")]


def test_bad_checksum_falls_back_to_next_mirror(tmp_path, server):
    arrays, served, fetched = server
    first = mnist.MIRRORS[0] + "t10k-images-idx3-ubyte.gz"
    served[first] = b"not gzip, not MNIST"
    assert_matches(load_mnist(tmp_path), arrays)
    assert fetched.count(first) == 1
    assert mnist.MIRRORS[1] + "t10k-images-idx3-ubyte.gz" in fetched


def test_all_mirrors_failing_gives_offline_message(tmp_path, server):
    _, served, _ = server
    for mirror in mnist.MIRRORS:
        for name in NAMES:
            served[mirror + f"{name}.gz"] = urllib.error.URLError("no route to host")
    with pytest.raises(MNISTNotFoundError) as info:
        load_mnist(tmp_path)
    message = str(info.value)
    assert "offline" in message and "no route to host" in message
    assert str(tmp_path) in message
    assert f"missing from {tmp_path}: {', '.join(NAMES)}" in message
    assert os.listdir(tmp_path) == []


def test_failed_write_leaves_no_temp_file(tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        mnist._write_atomic(tmp_path / "f.gz", b"data")
    assert os.listdir(tmp_path) == []


def test_fetch_uses_urlopen_with_timeout(monkeypatch):
    class Response:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self):
            return b"payload"

    calls = []
    monkeypatch.setattr(
        urllib.request, "urlopen", lambda req, timeout: calls.append((req, timeout)) or Response()
    )
    assert mnist._fetch("https://example.invalid/x.gz") == b"payload"
    (request, timeout), = calls
    assert request.full_url == "https://example.invalid/x.gz" and timeout > 0


def test_path_argument_may_be_a_parent_with_mnist_as_fastnn_data_may(tmp_path):
    arrays = write_mnist(tmp_path / "mnist")
    assert_matches(load_mnist(tmp_path, download=False), arrays)


def test_missing_error_carries_folder_and_files(tmp_path):
    with pytest.raises(MNISTNotFoundError) as info:
        load_mnist(tmp_path, download=False)
    assert info.value.folder == tmp_path and info.value.missing == list(NAMES)
    assert info.value.reasons == []


# Any IDX file, any folder of them in MNIST's layout ---------------------------------------


@pytest.mark.parametrize("dtype", ["u1", "i1", ">i2", ">i4", ">f4", ">f8", "<f8", "<i4"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_write_idx_round_trips(tmp_path, dtype, suffix):
    array = (np.arange(24) - 5).reshape(2, 3, 4).astype(dtype)
    write_idx(tmp_path / f"a{suffix}", array)
    back = read_idx(tmp_path / f"a{suffix}")
    assert back.shape == array.shape and back.dtype.str[1:] == np.dtype(dtype).str[1:]
    np.testing.assert_array_equal(back, array)


def test_write_idx_refuses_what_idx_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match="got dtype int64"):
        write_idx(tmp_path / "a", np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="1 to 255 dimensions"):
        write_idx(tmp_path / "a", np.uint8(3))


def test_load_idx_folder_takes_any_image_size_and_labels(tmp_path):
    images = np.arange(5 * 4 * 3, dtype=np.uint8).reshape(5, 4, 3)
    labels = np.array([3, 7, 7, 12, 3], np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    (X, y), test = load_idx_folder(tmp_path)
    assert test is None and X.dtype == np.float32 and X.shape == (5, 12)
    np.testing.assert_allclose(X, images.reshape(5, 12) / 255, rtol=1e-6)
    np.testing.assert_array_equal(y, labels)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images[:2])
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels[:2])
    assert load_idx_folder(tmp_path)[1][0].shape == (2, 12)


def test_load_idx_folder_names_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_idx_folder(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((5, 2, 2), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with raises_naming(tmp_path / "train-labels-idx1-ubyte", "has 4 labels"):
        load_idx_folder(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(5, np.float32))
    with raises_naming(tmp_path / "train-labels-idx1-ubyte", "labels must be 1-D integers"):
        load_idx_folder(tmp_path)
