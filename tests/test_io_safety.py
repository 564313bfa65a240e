"""Files: a crash mid-save loses nothing, loading never unpickles, damage is reported."""
import gzip
import json
import os
import pickle
import struct

import numpy as np
import pytest

import fastnn as fnn
from fastnn.datasets import load_mnist
from fastnn.errors import CorruptFileError, ModelFileError, NonFiniteError

X = np.random.default_rng(0).standard_normal((16, 5))
Y = np.arange(16) % 3


def model(seed=0, optimizer=None):
    return fnn.Sequential([fnn.Dense(5, 4, "relu"), fnn.Dropout(0.2),
                           fnn.Dense(4, 3, "softmax")], loss="cce", seed=seed,
                          optimizer=optimizer or fnn.Adam(lr=0.01), backend="numpy")


@pytest.fixture
def saved(tmp_path):
    """A trained model saved to tmp_path/model.npz: (path, model)."""
    m = model()
    m.fit(X, Y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "model.npz"
    m.save(path)
    return path, m


def arrays_of(path):
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def rewrite(path, **changes):
    """Rewrite the .npz at `path` with arrays replaced (a value) or removed (None)."""
    arrays = arrays_of(path)
    for name, value in changes.items():
        name = name.replace("__", ".")  # optimizer__m -> optimizer.m
        if value is None:
            del arrays[name]
        else:
            arrays[name] = value
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def architecture(path, edit):
    """Rewrite the architecture JSON at `path` through edit(dict)."""
    arch = json.loads(str(arrays_of(path)["architecture"]))
    edit(arch)
    rewrite(path, architecture=np.array(json.dumps(arch)))


def no_temp_files(folder):
    return not [p.name for p in folder.iterdir() if p.name.startswith(".fastnn-")]


def assert_same_weights(a, b):
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


# ---- atomic save ------------------------------------------------------------------------

class Crash(Exception):
    pass


def crash_in_savez(f, **arrays):
    f.write(b"PK\x03\x04 half an archive")  # something written, then the crash
    raise Crash("disk full")


def crash(*args, **kwargs):
    raise Crash("power cut")


def interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("target, replacement", [
    pytest.param(np, ("savez", crash_in_savez), id="while-writing"),
    pytest.param(os, ("fsync", crash), id="at-fsync"),
    pytest.param(os, ("replace", crash), id="at-rename"),
    pytest.param(np, ("savez", interrupt), id="ctrl-c"),
])
def test_a_crash_during_save_leaves_the_old_file_loadable(saved, monkeypatch, target,
                                                          replacement):
    path, old = saved
    before = path.read_bytes()
    newer = model(seed=1)
    newer.fit(X, Y, epochs=3, verbose=0)
    monkeypatch.setattr(target, *replacement)
    with pytest.raises((Crash, KeyboardInterrupt)):
        newer.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert_same_weights(fnn.load(path), old)
    assert no_temp_files(path.parent)


def test_a_crash_saving_a_new_file_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(np, "savez", crash_in_savez)
    with pytest.raises(Crash):
        model().save(tmp_path / "new.npz")
    assert list(tmp_path.iterdir()) == []


def test_save_writes_exactly_the_path_given_and_keeps_its_mode(tmp_path):
    path = tmp_path / "weights.bin"  # no .npz appended
    m = model()
    m.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["weights.bin"]
    assert path.stat().st_mode & 0o777 == 0o644
    path.chmod(0o600)
    m.save(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert_same_weights(fnn.load(path), m)


def test_save_refuses_non_finite_weights_and_keeps_the_old_file(saved):
    path, old = saved
    broken = model()
    broken.build()
    broken.dense_layers[0].W[2, 1] = np.inf  # set_weights would refuse it: write directly
    with pytest.raises(NonFiniteError, match="W0 holds NaN or inf"):
        broken.save(path)
    assert_same_weights(fnn.load(path), old)
    assert no_temp_files(path.parent)


# ---- no pickle, ever --------------------------------------------------------------------

class Payload:
    """Unpickling this creates `marker`: proof that code from the file ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def payload(marker):
    return np.array([Payload(marker)], dtype=object)


def assert_refused_without_running(path, marker, message):
    with pytest.raises(ModelFileError, match=message):
        fnn.load(path)
    assert not marker.exists()


@pytest.mark.parametrize("name", ["W0", "architecture", "format_version", "optimizer__m",
                                  "evil"])
def test_a_pickle_payload_inside_the_npz_is_refused_without_running(saved, tmp_path, name):
    path, _ = saved
    marker = tmp_path / f"pwned-{name}"
    arrays = arrays_of(path)
    arrays[name.replace("__", ".")] = payload(marker)
    with open(path, "wb") as f:
        np.savez(f, **arrays)  # np.savez pickles object arrays as it writes them
    assert not marker.exists()
    message = "unexpected arrays" if name == "evil" else "object"
    assert_refused_without_running(path, marker, message)
    # the payload is live: NumPy with pickles allowed runs it
    with np.load(path, allow_pickle=True) as data:
        data[name.replace("__", ".")]
    assert marker.exists()


@pytest.mark.parametrize("write", [
    pytest.param(lambda f, obj: pickle.dump(obj, f), id="plain-pickle"),
    pytest.param(lambda f, obj: np.save(f, np.array([obj], dtype=object)), id="npy-object"),
])
def test_a_pickle_file_in_place_of_a_model_is_refused_without_running(tmp_path, write):
    path, marker = tmp_path / "model.npz", tmp_path / "pwned"
    with open(path, "wb") as f:
        write(f, Payload(marker))
    assert_refused_without_running(path, marker, "not a fastnn model file")


# ---- anything else that is not exactly what save wrote ----------------------------------

BROKEN = [
    pytest.param(lambda p: rewrite(p, format_version=np.int64(2)),
                 "format version 2; this fastnn reads version 1", id="version-2"),
    pytest.param(lambda p: rewrite(p, format_version=np.array("1")),
                 "format_version is str", id="version-string"),
    pytest.param(lambda p: rewrite(p, format_version=None), "missing array 'format_version'",
                 id="version-missing"),
    pytest.param(lambda p: rewrite(p, W1=None), "missing array 'W1'", id="missing-W1"),
    pytest.param(lambda p: rewrite(p, optimizer__v=None), "missing array 'optimizer.v'",
                 id="missing-optimizer-state"),
    pytest.param(lambda p: rewrite(p, architecture=None), "missing array 'architecture'",
                 id="missing-architecture"),
    pytest.param(lambda p: rewrite(p, extra=np.zeros(3)), r"unexpected arrays \['extra'\]",
                 id="extra-array"),
    pytest.param(lambda p: rewrite(p, W0=np.zeros((4, 5), np.float32)),
                 r"'W0' is float32\[4, 5\], the architecture needs float32\[5, 4\]",
                 id="W0-transposed"),
    pytest.param(lambda p: rewrite(p, b1=np.zeros(4, np.float32)),
                 r"'b1' is float32\[4\], the architecture needs float32\[3\]", id="b1-length"),
    pytest.param(lambda p: rewrite(p, W0=np.zeros((5, 4), np.float64)),
                 r"'W0' is float64\[5, 4\], the architecture needs float32\[5, 4\]",
                 id="W0-float64"),
    pytest.param(lambda p: rewrite(p, W0=np.zeros((5, 4), np.int32)),
                 r"'W0' is int32\[5, 4\]", id="W0-int32"),
    pytest.param(lambda p: rewrite(p, optimizer__m=np.zeros(7, np.float32)),
                 r"'optimizer.m' is float32\[7\]", id="optimizer-state-length"),
    pytest.param(lambda p: rewrite(p, optimizer__step_count=np.float64(3)),
                 r"'optimizer.step_count' is float64\[\]", id="step-count-float"),
    pytest.param(lambda p: rewrite(p, optimizer__step_count=np.int64(-1)),
                 "step_count is -1", id="step-count-negative"),
    pytest.param(lambda p: rewrite(p, optimizer__lr=np.float64(-0.1)),
                 "optimizer.lr is -0.1", id="lr-negative"),
    pytest.param(lambda p: rewrite(p, b0=np.array([0, np.nan, 0, 0], np.float32)),
                 "'b0' holds NaN or inf", id="b0-nan"),
    pytest.param(lambda p: rewrite(p, architecture=np.array("{not json")), "not JSON",
                 id="architecture-not-json"),
    pytest.param(lambda p: rewrite(p, architecture=np.array(b"{}")),
                 "architecture is bytes", id="architecture-bytes"),
    pytest.param(lambda p: architecture(p, lambda a: a.pop("seed")),
                 r"expected the keys \['dtype', 'layers', 'loss', 'optimizer', 'seed'\]",
                 id="architecture-key-missing"),
    pytest.param(lambda p: architecture(p, lambda a: a["layers"][0].update(type="Conv2D")),
                 "layer 0 is 'Conv2D'", id="unknown-layer"),
    pytest.param(lambda p: architecture(p, lambda a: a["layers"][0].update(in_features=-5)),
                 r"layer 0 \(Dense\): Invalid Dense in_features: -5", id="bad-layer-size"),
    pytest.param(lambda p: architecture(p, lambda a: a["layers"][0].update(kernel="x")),
                 r"layer 0 \(Dense\): .*kernel", id="unknown-layer-argument"),
    pytest.param(lambda p: architecture(p, lambda a: a["layers"][2].update(in_features=5)),
                 r"'W1' is float32\[4, 3\], the architecture needs float32\[5, 3\]",
                 id="layers-do-not-chain"),
    pytest.param(lambda p: architecture(p, lambda a: a["optimizer"].update(type="Lion")),
                 "optimizer is 'Lion'", id="unknown-optimizer"),
    pytest.param(lambda p: architecture(p, lambda a: a["optimizer"].update(beta1=2.0)),
                 "Invalid beta1: 2.0", id="bad-optimizer-argument"),
    pytest.param(lambda p: architecture(p, lambda a: a.update(loss="hinge")),
                 "unknown loss 'hinge'", id="unknown-loss"),
    pytest.param(lambda p: architecture(p, lambda a: a.update(dtype="float16")),
                 "float16", id="unsupported-dtype"),
    pytest.param(lambda p: architecture(p, lambda a: a["layers"].clear()),
                 "'layers' must be a non-empty list", id="no-layers"),
    pytest.param(lambda p: p.write_bytes(os.urandom(64)), "not a fastnn model file",
                 id="garbage-bytes"),
    pytest.param(lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
                 "damaged model file", id="truncated-half"),
    pytest.param(lambda p: p.write_bytes(p.read_bytes()[:-10]), "damaged model file",
                 id="truncated-end"),
]


@pytest.mark.parametrize("damage, message", BROKEN)
def test_a_file_that_is_not_exactly_what_save_wrote_is_refused(saved, damage, message):
    path, _ = saved
    damage(path)
    with pytest.raises(ModelFileError, match=message) as info:
        fnn.load(path)
    assert str(path) in str(info.value)


def test_a_flipped_byte_in_the_weights_fails_the_crc_check(saved):
    path, m = saved
    raw = bytearray(path.read_bytes())
    data = m.get_weights()[0].tobytes()  # savez stores arrays uncompressed
    at = raw.index(data) + len(data) // 2
    raw[at] ^= 0x40
    path.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="damaged model file.*CRC"):
        fnn.load(path)


def test_big_endian_arrays_load_as_the_same_numbers(saved):
    path, m = saved
    rewrite(path, W0=m.get_weights()[0].astype(">f4"))
    assert_same_weights(fnn.load(path), m)


def test_the_round_trip_keeps_weights_and_optimizer_state(saved):
    path, m = saved
    loaded = fnn.load(path)
    assert_same_weights(loaded, m)
    np.testing.assert_array_equal(loaded.optimizer.v, m.optimizer.v)
    assert loaded.optimizer.step_count == m.optimizer.step_count == 4


# ---- IDX files --------------------------------------------------------------------------

IMAGES, LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"


def idx(arr, magic=None):
    arr = np.asarray(arr, np.uint8)
    return struct.pack(f">I{arr.ndim}I", magic or 0x0800 | arr.ndim, *arr.shape) + arr.tobytes()


def write_mnist(folder, gz, **damaged):
    """Four small, valid IDX files in `folder`, some replaced by damaged(bytes) -> bytes."""
    rng = np.random.default_rng(0)
    files = {IMAGES: idx(rng.integers(0, 256, (3, 28, 28))), LABELS: idx([1, 2, 3]),
             TEST_IMAGES: idx(rng.integers(0, 256, (2, 28, 28))), TEST_LABELS: idx([4, 5])}
    for name, data in files.items():
        key = name.replace("-", "_")
        if gz:
            data = gzip.compress(data)
        if key in damaged:
            data = damaged[key](data)
        (folder / (name + (".gz" if gz else ""))).write_bytes(data)


def flip_crc(data):
    """A gzip member whose CRC-32 trailer no longer matches its content."""
    return data[:-8] + bytes([data[-8] ^ 0xFF]) + data[-7:]


def flip_deflate(data):
    """A gzip member with a byte of its compressed stream changed."""
    raw = bytearray(data)
    raw[len(raw) // 2] ^= 0xFF
    return bytes(raw)


IDX_DAMAGE = [
    pytest.param(True, "train_images_idx3_ubyte", lambda d: d[: len(d) // 2],
                 IMAGES + ".gz", "corrupt gzip data", id="gz-truncated"),
    pytest.param(True, "train_labels_idx1_ubyte", flip_crc, LABELS + ".gz",
                 "corrupt gzip data.*CRC", id="gz-bad-crc"),
    pytest.param(True, "t10k_images_idx3_ubyte", flip_deflate, TEST_IMAGES + ".gz",
                 "corrupt gzip data", id="gz-bad-stream"),
    pytest.param(True, "t10k_labels_idx1_ubyte",
                 lambda d: gzip.compress(gzip.decompress(d)[:-1]), TEST_LABELS + ".gz",
                 "truncated: header .* needs 2 data bytes, file has 1", id="gz-short-data"),
    pytest.param(False, "train_images_idx3_ubyte", lambda d: d[:-100], IMAGES,
                 "truncated: header .* needs 2352 data bytes, file has 2252", id="raw-truncated"),
    pytest.param(False, "train_labels_idx1_ubyte", lambda d: d + b"\0", LABELS,
                 "has trailing bytes", id="raw-trailing-bytes"),
    pytest.param(False, "train_images_idx3_ubyte", lambda d: d[:6], IMAGES,
                 "truncated IDX header", id="raw-truncated-header"),
    pytest.param(False, "t10k_labels_idx1_ubyte", lambda d: d[:2], TEST_LABELS,
                 "truncated IDX file", id="raw-no-header"),
    pytest.param(False, "train_labels_idx1_ubyte", lambda d: idx([1, 2, 3], magic=2051)[:11],
                 LABELS, "magic number is 2051, expected 2049", id="raw-bad-magic"),
    pytest.param(False, "t10k_images_idx3_ubyte", lambda d: b"\x89PNG" + d[4:], TEST_IMAGES,
                 "magic number", id="raw-not-idx"),
    pytest.param(False, "train_labels_idx1_ubyte", lambda d: idx([1, 2, 30]), LABELS,
                 "label 30 at index 2 is not in 0..9", id="raw-label-30"),
    pytest.param(False, "train_labels_idx1_ubyte", lambda d: idx([1, 2]), IMAGES,
                 "3 images but .* has 2 labels", id="raw-count-mismatch"),
]


@pytest.mark.parametrize("gz, which, damage, named, message", IDX_DAMAGE)
def test_a_damaged_idx_file_is_reported_by_name(tmp_path, gz, which, damage, named, message):
    write_mnist(tmp_path, gz, **{which: damage})
    with pytest.raises(CorruptFileError, match=message) as info:
        load_mnist(tmp_path, download=False)
    assert str(tmp_path / named) in str(info.value)


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_intact_small_idx_files_load(tmp_path, gz):
    write_mnist(tmp_path, gz)
    (x, y), (x_test, y_test) = load_mnist(tmp_path, download=False)
    assert x.shape == (3, 784) and y.tolist() == [1, 2, 3] and y_test.tolist() == [4, 5]
