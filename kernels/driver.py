"""The training loop over a run of mini-batches, written once for both kernel modules.

One step is what ``fastnn.Sequential.train_step`` does from Python: gather the batch,
call every layer's forward kernel, the fused loss kernel, every layer's backward kernel
in reverse, then one optimizer kernel over the flat parameter buffer. `train_steps` runs
many such steps in one call, so the Numba backend pays Python's call overhead once per
run of steps instead of a dozen times per step (at batch 32, an MNIST epoch is 1,875
steps). `predict_rows` runs the forward pass over many rows in one call the same way.

Read the reference step first: ``Sequential.train_step`` calls each kernel of
``kernels.reference`` from Python, one layer at a time. The compiled path of the same
step, top to bottom: ``Sequential.fit`` → ``fastnn.training.fit``
→ ``fastnn.epoch.DriverSteps.steps`` (a chunk of steps) → `train_steps` → `_forward` →
``k.dense_forward`` (``kernels.numba_cpu``: z = x·W + b, out = f(z)) →
``kernels.gemm.matmul``; then ``k.loss``, `_step_backward` → ``k.dense_backward``, and
``k.update``.

Every kernel is called through one name, ``k``: the kernel module a `Driver` builds these
functions over. ``Driver(kernels.reference)`` runs them as Python over the NumPy kernels;
``Driver(kernels.numba_cpu, jit)`` has Numba compile the same code over the Numba
kernels. For `train_steps`, ``k`` also names the model's own kernels, declared by its
loss and optimizer classes (``fastnn.losses``, ``fastnn.optim``):

    k.targets(batch, data, index)   the batch's targets: class labels, or target rows
    k.loss(dz, z, targets)          the loss kernel: returns the loss, fills dlogits
    k.hits(z, targets)              counts correct predictions (regression: none)
    k.update(params, *state, grads, *hyper, step)   the optimizer kernel

so each loss and optimizer gets a `train_steps` of its own (`Driver.training_loop`), and
nothing here names one.

Arguments come in named tuples (`Results`, `Model`, `Batch`, `Data`, `Optimizer`); the
layers are a record array of `LAYER`, read by field name (``layer.n_in``).
"""
import math
import types
from collections import namedtuple
from functools import partial

import numpy as np

from fastnn.kernels import LINEAR

DENSE, DROPOUT = 0, 1
LAYER = np.dtype([
    ("kind", np.int64),        # DENSE or DROPOUT
    ("n_in", np.int64),        # features in
    ("n_out", np.int64),       # features out
    ("w_at", np.int64),        # Dense: W (n_in, n_out) starts at params[w_at] (grads: dW)
    ("b_at", np.int64),        # Dense: b (n_out,) starts at params[b_at] (grads: db)
    ("activation", np.int64),  # Dense: a code of kernels.ACTIVATIONS
    ("alpha", np.float64),     # Dense: the activation's parameter
    ("l1", np.float64),        # Dense: L1 penalty on W
    ("l2", np.float64),        # Dense: L2 penalty on W
    ("mask_at", np.int64),     # Dropout: its first column in a step's block of masks
    ("rate", np.float64),      # Dropout: the fraction of inputs dropped
    ("out_at", np.int64),      # out (n, n_out) starts at work[out_at]
    ("dout_at", np.int64),     # dout (n, n_out) starts at work[dout_at]
    ("dz_at", np.int64),       # Dense: dz (n, n_out) starts at work[dz_at]
    ("keeps_z", np.bool_),     # Dense: whether z = x·W + b is kept (kernels.NEEDS_Z)
    ("z_at", np.int64),        # Dense, keeps_z: z (n, n_out) starts at work[z_at]
], align=True)

Results = namedtuple("Results", "losses hits")
Results.__doc__ = "losses (S,) float64, hits (S,) int64: each step's loss and correct predictions."
Model = namedtuple("Model", "params grads work scratch")
Model.__doc__ = """params, grads (P,): the flat parameter buffer and its gradients; work: the
layers' flat workspace; scratch: the dense kernels' (``kernels.scratch.dense_scratch``)."""
Batch = namedtuple("Batch", "x labels y")
Batch.__doc__ = """The batch's buffers, R rows: x (R, I); labels (R,) int64 or y (R, O), as
the loss takes class labels or target rows (the other one empty)."""
Data = namedtuple("Data", "X labels Y order masks")
Data.__doc__ = """X (N, I), labels (N,) or Y (N, O): the training set (like Batch); order
(N,): this epoch's sample order; masks: uniform draws for the Dropout layers, each step's
block (n, Σ widths) in turn."""
Optimizer = namedtuple("Optimizer", "state hyper clip_norm")
Optimizer.__doc__ = """state: the optimizer's (P,) arrays (Adam: m, v); hyper: its kernel's
hyper-parameters, in order; clip_norm: the gradient clip, ≤ 0 for none."""

# A batch of rows up to this size is prefetched during the step before it; a larger one
# evicts the step's own data from L2 (docs/performance.md)
PREFETCH_BYTES = 131_072


def _matrix(flat, at, rows, cols):
    """The (rows, cols) C-ordered view of flat[at:at + rows·cols]."""
    return flat[at:at + rows * cols].reshape((rows, cols))


def _forward(model, masks, mask_at, x, layers, training, dropout):
    """Every layer's forward kernel on the batch x (n, I). Training: the last layer stops
    at logits, and with `dropout` Dropout masks are read from masks[mask_at:], n rows per
    layer. Not training: the last layer applies its activation and Dropout passes its
    input on. Returns the last layer's output (n, O), a view of model.work.
    """
    n = x.shape[0]
    last = layers.size - 1
    for i in range(layers.size):
        layer = layers[i]
        out = _matrix(model.work, layer.out_at, n, layer.n_out)
        if layer.kind == DENSE:
            W = _matrix(model.params, layer.w_at, layer.n_in, layer.n_out)
            b = model.params[layer.b_at:layer.b_at + layer.n_out]
            z = _matrix(model.work, layer.z_at, n if layer.keeps_z else 0, layer.n_out)
            activation = LINEAR if training and i == last else layer.activation
            # float(): a Python float, so the NumPy kernels compute as when called from Python
            k.dense_forward(out, z, model.scratch, x, W, b, activation, float(layer.alpha))
        elif training and dropout:
            mask = _matrix(masks, mask_at + n * layer.mask_at, n, layer.n_out)
            k.dropout_forward(out, x, mask, float(layer.rate))
        else:
            continue
        x = out
    return x


def _step_backward(model, masks, mask_at, x, layers, dropout, penalties):
    """Every layer's backward kernel, last to first, filling model.grads; the last
    layer's dout holds dlogits. x, masks, mask_at: as for `_forward`.

    Returns the layers' L1/L2 penalty on the weights the forward pass used (with
    `penalties`; without, there is none).
    """
    n = x.shape[0]
    last = layers.size - 1
    penalty = 0.0
    for i in range(last, -1, -1):
        layer = layers[i]
        dout = _matrix(model.work, layer.dout_at, n, layer.n_out)
        if i == 0:
            # no input gradient needed; not _matrix(work, 0, 0, …): literal 0s, one more compile
            x_in, dx = x, model.work[:0].reshape((0, layer.n_in))
        else:
            x_in = _matrix(model.work, layers[i - 1].out_at, n, layer.n_in)
            dx = _matrix(model.work, layers[i - 1].dout_at, n, layer.n_in)
        if layer.kind == DENSE:
            W = _matrix(model.params, layer.w_at, layer.n_in, layer.n_out)
            dW = _matrix(model.grads, layer.w_at, layer.n_in, layer.n_out)
            db = model.grads[layer.b_at:layer.b_at + layer.n_out]
            out = _matrix(model.work, layer.out_at, n, layer.n_out)
            z = _matrix(model.work, layer.z_at, n if layer.keeps_z else 0, layer.n_out)
            dz = _matrix(model.work, layer.dz_at, n, layer.n_out)
            activation = LINEAR if i == last else layer.activation
            l1, l2 = float(layer.l1), float(layer.l2)
            k.dense_backward(dx, dW, db, dz, model.scratch, x_in, W, out, z, dout, activation,
                             float(layer.alpha), l1, l2)
            if penalties and (l1 != 0 or l2 != 0):
                penalty += k.weight_penalty(W, l1, l2)
        elif dropout:
            mask = _matrix(masks, mask_at + n * layer.mask_at, n, layer.n_out)
            k.dropout_backward(dx, dout, mask, float(layer.rate))
    return penalty


def _labels_of(batch, data, index):
    """The batch's class labels: labels[r] = data.labels[index[r]], in batch.labels."""
    labels = batch.labels[:index.size]
    for r in range(index.size):
        labels[r] = data.labels[index[r]]
    return labels


def _rows_of(batch, data, index):
    """The batch's target rows: y = data.Y[index], in batch.y."""
    y = batch.y[:index.size]
    k.gather_rows(y, data.Y, index)
    return y


def _no_hits(z, targets):
    """A regression loss has no correct predictions to count."""
    return 0


def _mask_width(layers, optimizer, dropout, penalties, clip):
    """Σ of the Dropout layers' widths; ValueError if the layers or the optimizer use
    dropout, a penalty or a clip that the flags leave out (their kernels are compiled out)."""
    width = 0
    for i in range(layers.size):
        layer = layers[i]
        if layer.kind == DROPOUT:
            width += layer.n_out
        penalized = layer.l1 != 0 or layer.l2 != 0
        if (layer.kind == DROPOUT and not dropout) or (penalized and not penalties):
            raise ValueError("train_steps: the layers use dropout or a penalty that its "
                             "arguments say they do not")
    if optimizer.clip_norm > 0 and not clip:
        raise ValueError("train_steps: the optimizer asks for clipping that clip=False "
                         "leaves out")
    return width


def train_steps(results, model, batch, data, layers, optimizer, first, step, dropout,
                penalties, clip):
    """Run up to S = results.losses.size optimizer steps; return how many were made.

    results `Results`: each step's loss (penalties included) and hits, written here.
    model `Model`, batch `Batch`, data `Data`, optimizer `Optimizer`: see their docs.
    layers (L,) `LAYER` records.
    first: step s uses batch b = first + s, the samples data.order[b·R:(b+1)·R].
    step: updates made before this call.
    dropout, penalties, clip: whether the model has Dropout layers, L1/L2 penalties, a
    gradient clip; a False one is neither compiled nor run (ValueError if the layers or
    the optimizer disagree).

    A step whose loss is not finite makes no update and ends the run: the parameters stay
    those of the last finite step.
    """
    losses, hits = results
    rows = batch.x.shape[0]
    mask_width = _mask_width(layers, optimizer, dropout, penalties, clip)
    mask_at = 0 * mask_width  # int64 from the start: from `mask_at = 0`, Numba compiled
    # _forward and _step_backward twice, for Literal[int](0) and for int64
    last = layers[layers.size - 1]
    uniform = model.params[:0]  # empty sample weights: the loss is a plain mean (weighted
    # fits run step by step, fastnn.epoch.StepByStep)
    prefetch = rows * data.X.shape[1] * data.X.itemsize <= PREFETCH_BYTES
    for s in range(losses.size):
        start = (first + s) * rows
        index = data.order[start:start + rows]
        n = index.size
        x = batch.x[:n]
        k.gather_rows(x, data.X, index)
        if prefetch and s + 1 < losses.size:  # the next batch loads while this one computes
            k.prefetch_rows(data.X, data.order[start + rows:start + 2 * rows])
        logits = _forward(model, data.masks, mask_at, x, layers, True, dropout)
        dlogits = _matrix(model.work, last.dout_at, n, last.n_out)
        targets = k.targets(batch, data, index)
        value = k.loss(dlogits, logits, targets, uniform)
        hits[s] = k.hits(logits, targets)
        value += _step_backward(model, data.masks, mask_at, x, layers, dropout, penalties)
        losses[s] = value
        if not abs(value) < math.inf:  # math.isfinite is always True under fastmath nsz+reassoc
            return s
        if clip and optimizer.clip_norm > 0:
            k.clip_grad_norm(model.grads, optimizer.clip_norm)
        k.update(model.params, *optimizer.state, model.grads, *optimizer.hyper, step + s + 1)
        mask_at += n * mask_width
    return losses.size


def predict_rows(out, model, X, layers, rows):
    """out (N, O): the model's outputs (the last layer's activation) for X (N, I), `rows`
    samples at a time through model.work; Dropout passes its input on."""
    for start in range(0, X.shape[0], rows):
        x = X[start:start + rows]
        out[start:start + x.shape[0]] = _forward(model, model.params[:0], 0, x, layers,
                                                 False, False)


# Linked into their callers (inlined). _forward and _step_backward are kernels of their
# own, so that a cold start compiles them in parallel (kernels.cold_start)
HELPERS = (_matrix, _labels_of, _rows_of, _no_hits, _mask_width)
# Arguments that stay the same through a model's fit: compiled for their values, so that
# train_steps compiles the kernels of dropout, penalties and clipping only when the model
# has them
CONSTANTS = {"train_steps": ("dropout", "penalties", "clip")}


class Driver:
    """The functions above over one kernel module `kernels`, each wrapped by `jit`
    (``kernels.compile.jit``, told which are helpers and which constants they have; None:
    plain Python).

    `predict_rows` is one function; `training_loop(loss, hits, labels, optimizer)` gives
    the `train_steps` over a model's own kernels.
    """

    def __init__(self, kernels, jit=None):
        self.kernels, self.jit = kernels, jit
        self.scope = dict(globals(), k=kernels)  # LAYER, DENSE, LINEAR, math, …
        for f in HELPERS + (_forward, _step_backward, predict_rows):
            self.scope[f.__name__] = self._define(f, self.scope, f.__name__)
        self.predict_rows = self.scope["predict_rows"]
        self._loops = {}
        # None, or a function of (training_loop's key, the arguments by name) that a
        # compiled train_steps calls when it finds nothing compiled or cached for them
        self.before_cold_compile = None

    def _define(self, f, scope, qualname):
        """f's code over the globals `scope`, compiled by self.jit when there is one."""
        g = types.FunctionType(f.__code__, scope, f.__name__, f.__defaults__)
        g.__doc__, g.__qualname__ = f.__doc__, qualname
        if self.jit is None:
            return g
        return self.jit(g, linked=f in HELPERS, constants=CONSTANTS.get(f.__name__, ()))

    def training_loop(self, loss, hits, labels, optimizer):
        """`train_steps` over the kernels named `loss` (returns the loss, fills dlogits),
        `hits` (counts correct predictions; None: none) and `optimizer`; `labels`: whether
        the loss takes class labels (else target rows). Built on the first call, then
        kept.
        """
        key = (loss, hits, labels, optimizer)
        if key not in self._loops:
            k = types.ModuleType(f"{self.kernels.__name__}.train_steps")
            vars(k).update((name, f) for name, f in vars(self.kernels).items()
                           if not name.startswith("__"))
            k.loss = getattr(self.kernels, loss)
            k.hits = getattr(self.kernels, hits) if hits else self.scope["_no_hits"]
            k.targets = self.scope["_labels_of" if labels else "_rows_of"]
            k.update = getattr(self.kernels, optimizer)
            # a name of its own for each: Numba's disk cache and kernels.compile key by it
            name = "__".join(("train_steps", loss, hits or "no_hits",
                              "labels" if labels else "rows", optimizer))
            loop = self._define(train_steps, dict(self.scope, k=k), name)
            if self.before_cold_compile is not None:
                loop.before_cold_compile = partial(self.before_cold_compile, key)
            self._loops[key] = loop
        return self._loops[key]

