"""Losses computed from the output layer's logits, fused with the output activation.

Each loss names the output activation it pairs with, the kernel that returns the loss and
fills dlogits in one call, and how it wants its targets.
"""
import numpy as np


class Loss:
    name = ""
    output = ""      # the activation of the output layer this loss is fused with
    kernel = ""      # the kernel that returns the loss and fills dz
    hits = None      # the kernel that counts correct predictions, None for regression

    def targets(self, y, n_outputs, dtype):
        """Check y and return it in the form the kernel wants."""
        raise NotImplementedError


class CategoricalCrossEntropy(Loss):
    """Softmax + cross-entropy; targets are integer labels (N,) or one-hot rows (N, C)."""

    name, output, kernel, hits = "cce", "softmax", "softmax_cce", "argmax_hits"

    def targets(self, y, n_outputs, dtype):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == n_outputs and n_outputs > 1:
            if not (np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all()):
                raise ValueError("cce targets of shape (N, C) must be one-hot rows")
            return y.argmax(axis=1).astype(np.int64)
        if y.ndim != 1:
            raise ValueError(f"cce targets must be integer labels (N,) or one-hot (N, "
                             f"{n_outputs}), got shape {y.shape}")
        if y.dtype.kind == "f":
            if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
                raise ValueError("cce labels must be integers")
        elif y.dtype.kind not in "iub":
            raise ValueError(f"cce labels must be integers, got dtype {y.dtype}")
        labels = y.astype(np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= n_outputs):
            bad = labels[(labels < 0) | (labels >= n_outputs)][0]
            raise ValueError(f"label {bad} out of range: the output layer has {n_outputs} "
                             f"classes, so labels must be in [0, {n_outputs - 1}]")
        return labels


class BinaryCrossEntropy(Loss):
    """Sigmoid + binary cross-entropy; targets are 0/1, shaped (N,) or (N, O)."""

    name, output, kernel, hits = "bce", "sigmoid", "sigmoid_bce", "threshold_hits"

    def targets(self, y, n_outputs, dtype):
        y = _as_matrix(y, n_outputs, dtype, self.name)
        if not np.isin(y, (0, 1)).all():
            raise ValueError("bce targets must be 0 or 1")
        return y


class MeanSquaredError(Loss):
    """Mean squared error over all outputs; targets shaped (N,) or (N, O)."""

    name, output, kernel, hits = "mse", "linear", "mse", None

    def targets(self, y, n_outputs, dtype):
        y = _as_matrix(y, n_outputs, dtype, self.name)
        if not np.all(np.isfinite(y)):
            raise ValueError("mse targets contain NaN or inf")
        return y


def _as_matrix(y, n_outputs, dtype, name):
    y = np.asarray(y)
    if y.ndim == 1 and n_outputs == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[1] != n_outputs:
        raise ValueError(f"{name} targets must have shape (N, {n_outputs}), got {y.shape}")
    return np.ascontiguousarray(y, dtype=dtype)


LOSSES = {cls.name: cls for cls in (CategoricalCrossEntropy, BinaryCrossEntropy,
                                     MeanSquaredError)}


def get(name):
    """The loss called `name` ("cce", "bce" or "mse")."""
    if isinstance(name, Loss):
        return name
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}")
    return LOSSES[name]()
