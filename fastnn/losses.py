"""Losses computed from the output layer's logits, fused with the output activation.

Each loss names the output activation it pairs with, the kernel that returns the loss and
fills dlogits in one call, the kernel that counts correct predictions, and how it wants
its targets. Both the step-by-step path (``Sequential.backward``) and the compiled
training loop (``kernels.driver``) call the kernels it names: a new loss is its class
here, its kernels in ``kernels.reference`` and ``kernels.numba_cpu``, and its tests.
"""
import numpy as np

from fastnn.checks import as_array, known_name, show
from fastnn.errors import (DTypeError, HyperParameterError, LabelError, NonFiniteError,
                           ShapeError, UnknownNameError)


class Loss:
    name = ""
    output = ""      # the activation of the output layer this loss is fused with
    kernel = ""      # the kernel that returns the loss and fills dz
    hits = None      # the kernel that counts correct predictions, None for regression
    labels = False   # whether the kernels take class labels (N,) rather than rows (N, O)

    def targets(self, y, n_outputs, dtype):
        """Check y and return it in the form the kernel wants.

        Raises DTypeError (not numbers), ShapeError (wrong shape) or LabelError /
        NonFiniteError (values the loss cannot take), each naming the first bad entry.
        """
        raise NotImplementedError


class CategoricalCrossEntropy(Loss):
    """Softmax + cross-entropy; targets are integer labels (N,) or one-hot rows (N, C)."""

    name, output, kernel, hits = "cce", "softmax", "softmax_cce", "argmax_hits"
    labels = True

    def targets(self, y, n_outputs, dtype):
        y = _numbers(y, self.name)
        if y.ndim == 2 and y.shape[1] == n_outputs and n_outputs > 1:
            bad = ~(np.isin(y, (0, 1)).all(axis=1) & (y.sum(axis=1) == 1))
            if bad.any():
                row = int(np.argmax(bad))
                raise LabelError(f"cce targets of shape (N, C) must be one-hot rows; row "
                                 f"{row} is {y[row].tolist()}")
            return y.argmax(axis=1).astype(np.int64)
        if y.ndim != 1:
            hint = "; for a column of labels use y.ravel()" if y.ndim == 2 and \
                y.shape[1] == 1 else ""
            raise ShapeError(f"cce targets must be integer labels (N,) or one-hot rows (N, "
                             f"{n_outputs}), got shape {y.shape}{hint}")
        if y.dtype.kind == "f":
            whole = np.isfinite(y) & (y == np.round(y))
            if not whole.all():
                i = int(np.argmax(~whole))
                raise LabelError(f"cce labels must be integers 0..{n_outputs - 1}; label "
                                 f"{i} is {show(y[i])}")
        outside = (y < 0) | (y >= n_outputs)  # checked before casting, so 1e30 stays big
        if outside.any():
            i = int(np.argmax(outside))
            raise LabelError(f"label {show(y[i])} out of range (index {i}): the output layer "
                             f"has {n_outputs} classes, so labels must be in "
                             f"[0, {n_outputs - 1}]")
        return y.astype(np.int64)


class BinaryCrossEntropy(Loss):
    """Sigmoid + binary cross-entropy; targets are 0/1, shaped (N,) or (N, O)."""

    name, output, kernel, hits = "bce", "sigmoid", "sigmoid_bce", "threshold_hits"

    def targets(self, y, n_outputs, dtype):
        y = _as_matrix(y, n_outputs, dtype, self.name)
        bad = ~np.isin(y, (0, 1))
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise LabelError(f"bce targets must be 0 or 1; row {row}, column {col} is "
                             f"{show(y[row, col])}")
        return y


class MeanSquaredError(Loss):
    """Mean squared error over all outputs; targets shaped (N,) or (N, O)."""

    name, output, kernel, hits = "mse", "linear", "mse", None

    def targets(self, y, n_outputs, dtype):
        y = _as_matrix(y, n_outputs, dtype, self.name)
        finite = np.isfinite(y)
        if not finite.all():
            row, col = np.argwhere(~finite)[0]
            raise NonFiniteError(f"mse targets contain {y[row, col]} at row {row}, column "
                                 f"{col}; targets must be finite")
        return y


def _numbers(y, name):
    """y as an array of real numbers (bool, int, float), else DTypeError."""
    y = as_array(y, f"{name} targets")
    if y.dtype.kind not in "biuf":
        raise DTypeError(f"{name} targets must be numbers, got dtype {y.dtype}")
    return y


def _as_matrix(y, n_outputs, dtype, name):
    y = _numbers(y, name)
    if y.ndim == 1 and n_outputs == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[1] != n_outputs:
        raise ShapeError(f"{name} targets must have shape (N, {n_outputs}), got {y.shape}")
    return np.ascontiguousarray(y, dtype=dtype)


LOSSES = {cls.name: cls for cls in (CategoricalCrossEntropy, BinaryCrossEntropy,
                                     MeanSquaredError)}

#: Keras's and PyTorch's names (matched in any case): str → the fastnn loss that means the
#: same with the same output layer; tuple → refused, with the reason and the fastnn way.
ALIASES = {
    "categorical_crossentropy": "cce",
    "sparse_categorical_crossentropy": "cce",
    "binary_crossentropy": "bce",
    "bceloss": "bce",  # PyTorch's BCELoss takes probabilities: a sigmoid output layer
    "mean_squared_error": "mse",
    "mseloss": "mse",
    "crossentropyloss": ("PyTorch's CrossEntropyLoss takes logits (no softmax layer); "
                         "fastnn's loss='cce' takes a softmax output layer and fuses the two "
                         "(same math, stable): use activation='softmax' with loss='cce'",),
    "bcewithlogitsloss": ("PyTorch's BCEWithLogitsLoss takes logits (no sigmoid layer); "
                          "fastnn's loss='bce' takes a sigmoid output layer and fuses the two "
                          "(same math, stable): use activation='sigmoid' with loss='bce'",),
    "nllloss": ("PyTorch's NLLLoss takes log-probabilities from a LogSoftmax layer; use a "
                "softmax output layer with loss='cce', which fuses them",),
    "categorical_crossentropy_from_logits": ("use a softmax output layer with loss='cce', "
                                             "which takes the logits internally",),
}


def get(name):
    """The loss called `name` ("cce", "bce", "mse" or an alias in `ALIASES`), or `name`
    itself if it is a Loss."""
    if isinstance(name, Loss):
        return name
    if isinstance(name, str) and name.lower() in ALIASES:
        alias = ALIASES[name.lower()]
        if isinstance(alias, tuple):
            raise UnknownNameError("loss", name, LOSSES, context=f": {alias[0]};")
        name = alias
    elif isinstance(name, str) and name.lower() in LOSSES:
        name = name.lower()
    return LOSSES[known_name("loss", name, LOSSES)]()


#: The loss each output activation fuses with.
FUSES_WITH = {cls.output: cls.name for cls in LOSSES.values()}


def check_output(loss, layer):
    """Refuse an output layer `loss` is not fused with, saying what to change."""
    activation = layer.activation
    if activation != loss.output:
        if activation in FUSES_WITH:
            fix = (f"use activation={loss.output!r} on the last layer, or "
                   f"loss={FUSES_WITH[activation]!r} for a {activation} output")
        else:
            fix = (f"use activation={loss.output!r} on the last layer (no loss fuses with "
                   f"{activation!r})")
        raise HyperParameterError(f"loss {loss.name!r} is fused with a {loss.output!r} output "
                                  f"layer, but the last layer's activation is "
                                  f"{activation!r}: {fix}")
    if activation == "softmax" and layer.out_features == 1:
        raise HyperParameterError("a softmax over 1 unit always outputs 1; binary labels: "
                                  "use a sigmoid output with loss='bce' (or 2 softmax units "
                                  "with loss='cce')")
