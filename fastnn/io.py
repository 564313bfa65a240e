"""Saving and loading models as .npz files: JSON architecture plus named arrays, no pickle.

Format (version 1): ``format_version`` (int64 scalar), ``architecture`` (a 0-d unicode
array holding JSON: layers with their constructor arguments, loss, optimizer type and
hyper-parameters, dtype, seed), ``W0, b0, W1, b1, ...`` for the Dense layers in order,
``optimizer.<name>`` for each optimizer state array, ``optimizer.step_count`` and
``optimizer.lr`` (the current learning rate, which a schedule may have changed).
"""
import json
import os
import tempfile

import numpy as np

FORMAT_VERSION = 1


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
    """Write `model` to `path` atomically: a crash mid-write leaves any old file intact."""
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

    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".fastnn-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def load(path, backend=None):
    """Read a model written by `save`; refuses anything that is not exactly that format."""
    from fastnn.layers import Dense, Dropout
    from fastnn.model import Sequential
    from fastnn.optim import OPTIMIZERS

    try:
        data = np.load(path, allow_pickle=False)
        arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError) as err:
        raise ValueError(f"{path}: not a readable fastnn .npz file ({err})") from err
    version = arrays.get("format_version")
    if version is None or version.shape != () or int(version) != FORMAT_VERSION:
        raise ValueError(f"{path}: unsupported format version {version!r}, "
                         f"expected {FORMAT_VERSION}")
    try:
        arch = json.loads(str(arrays["architecture"]))
        layer_types = {"Dense": Dense, "Dropout": Dropout}
        layers = [layer_types[spec.pop("type")](**spec) for spec in map(dict, arch["layers"])]
        opt_spec = dict(arch["optimizer"])
        optimizer = OPTIMIZERS[opt_spec.pop("type")](**opt_spec)
        model = Sequential(layers, loss=arch["loss"], optimizer=optimizer,
                           seed=arch["seed"], backend=backend, dtype=arch["dtype"])
        model.build()
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: invalid architecture ({err})") from err

    def take(name, like):
        if name not in arrays:
            raise ValueError(f"{path}: missing array {name!r}")
        value = arrays[name]
        if value.shape != like.shape or value.dtype != like.dtype:
            raise ValueError(f"{path}: array {name!r} is {value.dtype}{list(value.shape)}, "
                             f"expected {like.dtype}{list(like.shape)}")
        return value

    for i, layer in enumerate(model.dense_layers):
        layer.W[...] = take(f"W{i}", layer.W)
        layer.b[...] = take(f"b{i}", layer.b)
    for name, value in _optimizer_state(model.optimizer).items():
        value[...] = take(f"optimizer.{name}", value)
    model.optimizer.step_count = int(take("optimizer.step_count", np.int64(0)))
    model.optimizer.lr = float(take("optimizer.lr", np.float64(0)))
    if not np.isfinite(model.params).all():
        raise ValueError(f"{path}: weights contain NaN or inf")
    return model
