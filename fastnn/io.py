"""Saving and loading models as .npz files: JSON architecture plus named arrays, no pickle.

Format (version 1): ``format_version`` (int64 scalar), ``architecture`` (a 0-d unicode
array holding JSON: layers with their constructor arguments, loss, optimizer type and
hyper-parameters, dtype, seed), ``W0, b0, W1, b1, ...`` for the Dense layers in order,
``optimizer.<name>`` for each optimizer state array, ``optimizer.step_count`` and
``optimizer.lr`` (the current learning rate, which a schedule may have changed).
A model trained on a data file (``model.data_spec``, a `fastnn.datasets.DataSpec`) also
has ``data.info`` (a 0-d unicode array holding JSON: task, source, target column,
feature names, sample count) and, as they apply, ``data.classes`` (unicode (C,), the
class names), ``data.mean`` and ``data.std`` (float64 (F,), the feature
standardization) and ``data.target_mean`` and ``data.target_std`` (float64 scalars).

`load` reads nothing it has not checked: it compares every array's header (name, shape,
dtype) with what the architecture implies before reading the array's data, so an object
array (a pickle) is refused without being unpickled, and a crafted header cannot make it
allocate more than the model itself needs.
"""
import json
import os
import tempfile
import zipfile
import zlib

import numpy as np

from fastnn import backend as backends
from fastnn.datasets.spec import DataSpec
from fastnn.errors import FastnnError, ModelFileError, NonFiniteError
from fastnn.layers import Dense, Dropout
from fastnn.optim import OPTIMIZERS

FORMAT_VERSION = 1
ZIP_MAGIC = b"PK\x03\x04"
MAX_ARCHITECTURE_CHARS = 1_000_000  # a 1000-layer architecture is about 200,000
ARCHITECTURE_KEYS = {"layers", "loss", "optimizer", "dtype", "seed"}


def _architecture(model):
    return {
        "layers": [{"type": type(layer).__name__, **layer.config()} for layer in model.layers],
        "loss": model.loss.name,
        "optimizer": {"type": type(model.optimizer).__name__,
                      **model.optimizer.hyper_parameters()},
        "dtype": model.dtype.name,
        "seed": model.seed,
    }


def _optimizer_state(opt):
    return {name: getattr(opt, name) for name in opt.state_names}


def save(model, path):
    """Write `model` to `path` atomically: a crash mid-write leaves any old file intact.

    The file is written to a temporary file in the same folder, flushed and fsynced, then
    renamed over `path` (and the folder fsynced, so the rename itself is durable). The
    name is used as given: no ".npz" is appended. Weights holding NaN or inf are refused
    (NonFiniteError), since `load` would refuse them. A new file gets mode 0644; an
    overwritten one keeps its mode.
    """
    if not model.built:
        model.build()
    arrays = {"format_version": np.int64(FORMAT_VERSION),
              "architecture": np.array(json.dumps(_architecture(model)))}
    for i, layer in enumerate(model.dense_layers):
        arrays[f"W{i}"], arrays[f"b{i}"] = layer.W, layer.b
    for name, value in _optimizer_state(model.optimizer).items():
        arrays[f"optimizer.{name}"] = value
    arrays["optimizer.step_count"] = np.int64(model.optimizer.step_count)
    arrays["optimizer.lr"] = np.float64(model.optimizer.lr)
    spec = getattr(model, "data_spec", None)
    if spec is not None:
        arrays.update({f"data.{name}": value for name, value in spec.to_arrays().items()})
    for name, value in arrays.items():
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise NonFiniteError(f"cannot save: {name} holds NaN or inf")

    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    mode = os.stat(path).st_mode & 0o777 if os.path.isfile(path) else 0o644
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".fastnn-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_folder(folder)


def _fsync_folder(folder):
    """Make a rename in `folder` durable; a no-op where folders cannot be opened (Windows)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load(path, sequential, backend=None):
    """Read a model written by `save` as a `sequential` (``fastnn.Sequential``, which
    ``fastnn.load`` passes: this module reads files and imports no model); refuse
    anything that is not exactly that format.

    Raises
    ------
    FileNotFoundError, PermissionError
        The file cannot be opened.
    fastnn.errors.ModelFileError
        Anything else: not a zip file, damaged (truncated, bad CRC), an unsupported
        format version, an invalid architecture, a missing or unexpected array, an array
        whose shape or dtype does not match the architecture (object arrays included:
        nothing is unpickled), or weights holding NaN or inf. The message names the
        file and the problem.
    """
    backend = backends.resolve(backend)  # a bad backend is the caller's error, not the file's
    path = os.fspath(path)
    with open(path, "rb") as f:
        head = f.read(4)
        if head != ZIP_MAGIC:
            raise ModelFileError(f"{path}: not a fastnn model file (a .npz file starts with "
                                 f"{ZIP_MAGIC!r}, this one with {head!r})")
        f.seek(0)
        try:
            with np.load(f, allow_pickle=False) as data:
                return _read(path, data, sequential, backend)
        except ModelFileError:
            raise
        except (FastnnError, ValueError, OSError, EOFError, zipfile.BadZipFile,
                zlib.error) as err:
            raise ModelFileError(f"{path}: damaged model file ({type(err).__name__}: "
                                 f"{err})") from None


def _read(path, data, sequential, backend):
    """The model in the open .npz `data`, every header checked before any data is read."""
    members = {}
    for member in data.zip.namelist():
        if not member.endswith(".npy"):
            raise ModelFileError(f"{path}: unexpected member {member!r} (not a .npy array)")
        members[member[:-4]] = member

    def header(name):
        """(shape, dtype) of array `name` from its .npy header, without reading its data."""
        if name not in members:
            raise ModelFileError(f"{path}: missing array {name!r}")
        with data.zip.open(members[name]) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ModelFileError(f"{path}: array {name!r} has unsupported .npy version "
                                     f"{version}")
        return shape, dtype

    def check(name, shape, dtype):
        """Refuse array `name` unless its header shows `shape` and `dtype`."""
        got_shape, got_dtype = header(name)
        dtype = np.dtype(dtype)
        # compare kind and size, not byte order: a big-endian file is converted on reading
        if got_shape != shape or got_dtype.str[1:] != dtype.str[1:]:
            raise ModelFileError(f"{path}: array {name!r} is {_describe(got_dtype, got_shape)}, "
                                 f"the architecture needs {_describe(dtype, shape)}")

    def take(name):
        """The data of array `name` (its header already checked), refused if not finite."""
        value = data[name]
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise ModelFileError(f"{path}: array {name!r} holds NaN or inf")
        return value

    shape, dtype = header("format_version")
    if shape != () or dtype.kind not in "iu":
        raise ModelFileError(f"{path}: format_version is {_describe(dtype, shape)}, expected "
                             f"an integer scalar")
    version = int(data["format_version"])
    if version != FORMAT_VERSION:
        raise ModelFileError(f"{path}: format version {version}; this fastnn reads version "
                             f"{FORMAT_VERSION}")
    shape, dtype = header("architecture")
    if shape != () or dtype.kind != "U" or dtype.itemsize // 4 > MAX_ARCHITECTURE_CHARS:
        raise ModelFileError(f"{path}: architecture is {_describe(dtype, shape)}, expected a "
                             f"JSON string")
    model = _model(path, str(data["architecture"]), sequential, backend)

    expected = {}
    n_params = 0
    for i, layer in enumerate(model.dense_layers):
        expected[f"W{i}"] = ((layer.in_features, layer.out_features), model.dtype)
        expected[f"b{i}"] = ((layer.out_features,), model.dtype)
        n_params += layer.n_params
    for name in model.optimizer.state_names:
        expected[f"optimizer.{name}"] = ((n_params,), model.dtype)
    expected["optimizer.step_count"] = ((), np.int64)
    expected["optimizer.lr"] = ((), np.float64)
    dense = model.dense_layers
    layout = DataSpec.array_layout(dense[0].in_features, dense[-1].out_features) if dense \
        else {}
    data_names = {name for name in members if name[5:] in layout and name[:5] == "data."}
    unexpected = set(members) - set(expected) - data_names - {"format_version",
                                                              "architecture"}
    if unexpected:
        raise ModelFileError(f"{path}: unexpected arrays {sorted(unexpected)}; a fastnn model "
                             f"file holds only {sorted(expected)} besides format_version and "
                             f"architecture")
    for name, (shape, dtype) in expected.items():  # every header, before allocating
        check(name, shape, dtype)
    for name in data_names:
        shape, kind = layout[name[5:]]
        got_shape, got_dtype = header(name)
        too_long = kind == "U" and got_dtype.itemsize // 4 > MAX_ARCHITECTURE_CHARS
        if got_shape != shape or got_dtype.kind != kind or too_long or \
                (kind == "f" and got_dtype.itemsize != 8):
            raise ModelFileError(f"{path}: array {name!r} is {_describe(got_dtype, got_shape)}, "
                                 f"expected {'unicode' if kind == 'U' else 'float64'}"
                                 f"{list(shape)}")

    try:
        model.build()  # the layer sizes must chain, the output suit the loss
    except (TypeError, ValueError) as err:
        raise ModelFileError(f"{path}: invalid architecture ({err})") from None
    for i, layer in enumerate(model.dense_layers):
        layer.W[...] = take(f"W{i}")
        layer.b[...] = take(f"b{i}")
    for name, value in _optimizer_state(model.optimizer).items():
        value[...] = take(f"optimizer.{name}")
    step_count = int(take("optimizer.step_count"))
    if step_count < 0:
        raise ModelFileError(f"{path}: optimizer.step_count is {step_count}, expected ≥ 0")
    model.optimizer.step_count = step_count
    lr = float(take("optimizer.lr"))
    if not lr >= 0:
        raise ModelFileError(f"{path}: optimizer.lr is {lr}, expected a number ≥ 0")
    model.optimizer.lr = lr
    if data_names:
        try:
            model.data_spec = DataSpec.from_arrays(
                {name[5:]: take(name) for name in data_names}, model.n_inputs,
                model.n_outputs)
        except ValueError as err:
            raise ModelFileError(f"{path}: invalid data arrays ({err})") from None
    return model


def _model(path, text, sequential, backend):
    """An unbuilt `sequential` from the architecture JSON, every field checked."""

    def invalid(problem):
        return ModelFileError(f"{path}: invalid architecture: {problem}")

    try:
        arch = json.loads(text)
    except json.JSONDecodeError as err:
        raise invalid(f"not JSON ({err})") from None
    if not isinstance(arch, dict) or set(arch) != ARCHITECTURE_KEYS:
        keys = sorted(arch) if isinstance(arch, dict) else type(arch).__name__
        raise invalid(f"expected the keys {sorted(ARCHITECTURE_KEYS)}, got {keys}")
    if not isinstance(arch["layers"], list) or not arch["layers"]:
        raise invalid("'layers' must be a non-empty list")
    layer_types = {"Dense": Dense, "Dropout": Dropout}
    layers = []
    for i, spec in enumerate(arch["layers"]):
        if not isinstance(spec, dict) or spec.get("type") not in layer_types:
            kind = spec.get("type") if isinstance(spec, dict) else spec
            raise invalid(f"layer {i} is {kind!r}, expected one of {sorted(layer_types)}")
        args = {k: v for k, v in spec.items() if k != "type"}
        try:
            layers.append(layer_types[spec["type"]](**args))
        except (TypeError, ValueError) as err:
            raise invalid(f"layer {i} ({spec['type']}): {err}") from None
    spec = arch["optimizer"]
    if not isinstance(spec, dict) or spec.get("type") not in OPTIMIZERS:
        kind = spec.get("type") if isinstance(spec, dict) else spec
        raise invalid(f"optimizer is {kind!r}, expected one of {sorted(OPTIMIZERS)}")
    try:
        optimizer = OPTIMIZERS[spec["type"]](**{k: v for k, v in spec.items() if k != "type"})
        return sequential(layers, loss=arch["loss"], optimizer=optimizer, seed=arch["seed"],
                          backend=backend, dtype=arch["dtype"])
    except (TypeError, ValueError) as err:
        raise invalid(str(err)) from None


def _describe(dtype, shape):
    return f"{dtype.name if dtype.kind != 'V' else dtype}{list(shape)}"
