"""Running a chunk of training steps: in one call of the driver kernel, or step by step.

``fit`` runs each epoch in chunks of steps, so that a progress bar still moves. A chunk
runs through the backend's ``train_steps`` (`DriverSteps`; ``kernels.driver``: the whole
loop of gather, forward, loss, backward and update inside one call) when the model is
made of fastnn's own layers, losses and optimizers; otherwise through
``Sequential.train_step`` (`StepByStep`), one Python call per layer and step. Here the
model becomes the driver's arguments: its layers a table of named fields
(`layer_table`), its buffers and optimizer named tuples (`buffers`, `optimizer_state`),
and its loss and optimizer the kernels they name (`training_loop`). Both fill the same
per-step losses and hits, and tests hold them to the same weights within float32
rounding: on MNIST they are bit-identical over full batches, while an epoch's shorter last
batch can differ in the last bit (the same kernel code, inlined into the driver, may be
vectorized differently under fastmath "reassoc").
"""
import math

import numpy as np

from fastnn.kernels import ACTIVATIONS, NEEDS_Z, driver
from fastnn.layers import Dense, Dropout
from fastnn.losses import LOSSES
from fastnn.optim import OPTIMIZERS

SAMPLES_PER_CHUNK = 16_384  # about 20 progress-bar updates per MNIST epoch
CHUNK = 1024  # rows per kernel call when predicting or evaluating


def unsupported(model):
    """Why the driver kernel cannot run `model`'s training steps, or None when it can."""
    if not model.driver:
        return "driver=False was asked for"
    for layer in model.layers:
        if type(layer) not in (Dense, Dropout):
            return f"the driver does not know the layer {type(layer).__name__}"
    if type(model.optimizer) not in OPTIMIZERS.values():  # a subclass may change update
        return f"the driver does not know the optimizer {type(model.optimizer).__name__}"
    if type(model.loss) not in LOSSES.values():
        return f"the driver does not know the loss {model.loss.name!r}"
    return None


def describe(model):
    """One line saying which path runs fit's steps, and why."""
    reason = unsupported(model)
    if reason is None:
        return (f"driver kernel (kernels.{model.kernels.__name__.split('.')[-1]}"
                f".training_loop)")
    return f"step by step (Sequential.train_step): {reason}"


def layer_table(model):
    """The driver's description of the layers: a (L,) record array of ``driver.LAYER``."""
    table = np.zeros(len(model.layers), driver.LAYER).view(np.recarray)
    mask_at = 0
    for row, layer in zip(table, model.layers):
        row.n_in, row.n_out = layer.in_features, layer.out_features
        row.out_at, row.dout_at = layer.work_at["out"], layer.work_at["dout"]
        if isinstance(layer, Dense):
            row.kind = driver.DENSE
            row.w_at, row.b_at = layer.param_at, layer.param_at + layer.W.size
            row.activation = ACTIVATIONS[layer.activation]
            row.alpha, row.l1, row.l2 = layer.alpha, layer.l1, layer.l2
            row.dz_at = layer.work_at["dz"]
            row.keeps_z = row.activation in NEEDS_Z
            row.z_at = layer.work_at["z"] if row.keeps_z else 0
        else:
            row.kind = driver.DROPOUT
            row.mask_at, row.rate = mask_at, layer.rate
            mask_at += layer.out_features
    return table


def uses(model):
    """(dropout, penalties, clip): whether `model` has Dropout layers, L1/L2 penalties and
    a gradient clip; the driver compiles the kernels of those it has only."""
    return (any(isinstance(layer, Dropout) for layer in model.layers),
            any(layer.l1 or layer.l2 for layer in model.dense_layers),
            bool(model.optimizer.clip_norm))


def training_loop(model):
    """The backend's ``train_steps`` over the kernels of `model`'s loss and optimizer."""
    loss = model.loss
    return model.kernels.training_loop(loss.kernel, loss.hits, loss.labels,
                                       model.optimizer.kernel)


def buffers(model):
    """The model's flat buffers, as the driver takes them."""
    return driver.Model(model.params, model.grads, model.work, model.scratch)


def optimizer_state(optimizer):
    """The optimizer's state arrays and hyper-parameters, as the driver takes them."""
    return driver.Optimizer(tuple(optimizer.state), optimizer.hyper(),
                            float(optimizer.clip_norm or 0.0))


class Steps:
    """Runs chunks of training steps over (X, targets) in batches of `rows` samples.

    `run(order, first, count)` makes up to `count` steps on batches first, first + 1, …
    of `order` and returns how many made a finite update, leaving each step's loss and
    hits in `losses` and `hits`. Fewer than `count` means the next step's `failure`: a
    non-finite "loss", or an update that made the "parameters" non-finite; the parameters
    and optimizer state are then those of the last finite step.
    """

    def __init__(self, model, X, targets, rows):
        self.model, self.X, self.targets, self.rows = model, X, targets, rows
        self.chunk = max(1, SAMPLES_PER_CHUNK // rows)
        self.losses = np.zeros(self.chunk)
        self.hits = np.zeros(self.chunk, np.int64)
        self.saved_params = np.empty_like(model.params)
        self.saved_state = np.empty_like(model.optimizer.state)

    def batch_sizes(self, first, count):
        """Samples in each of the batches first … first + count − 1."""
        starts = (first + np.arange(count)) * self.rows
        return np.minimum(self.rows, len(self.X) - starts)

    def run(self, order, first, count):
        self.save()
        done = self.steps(order, first, count, 0)
        self.failure = "loss" if done < count else None
        if self.model.kernels.all_finite(self.model.params):
            return done
        # a step made the parameters non-finite with a finite loss (a ReLU hides a NaN
        # weight): replay the chunk one step at a time, deterministically, to find it
        self.restore()
        for s in range(done):
            self.save()
            if self.steps(order, first + s, 1, s, replay=True) == 0:
                return s
            if not self.model.kernels.all_finite(self.model.params):
                self.restore()
                self.failure = "parameters"
                return s
        raise AssertionError("replaying the chunk gave other parameters")

    def save(self):
        np.copyto(self.saved_params, self.model.params)
        np.copyto(self.saved_state, self.model.optimizer.state)
        self.saved_steps = self.model.optimizer.step_count
        self.saved_rng = self.model.rng.bit_generator.state

    def restore(self):
        np.copyto(self.model.params, self.saved_params)
        np.copyto(self.model.optimizer.state, self.saved_state)
        self.model.optimizer.step_count = self.saved_steps
        self.model.rng.bit_generator.state = self.saved_rng

    def steps(self, order, first, count, at, replay=False):
        """Steps on batches first … first + count − 1, results in losses[at:at + count]."""
        raise NotImplementedError


class StepByStep(Steps):
    """Each step through Sequential.train_step: one Python call per layer and kernel.

    weights: sample weights (N,) in the model's dtype, or None for a plain mean.
    """

    def __init__(self, model, X, targets, rows, weights=None):
        super().__init__(model, X, targets, rows)
        self.weights = weights
        self.batch_weights = None if weights is None else np.empty(rows, model.dtype)

    def steps(self, order, first, count, at, replay=False):
        model = self.model
        labels = model.loss.name == "cce"
        for s, n in enumerate(self.batch_sizes(first, count)):
            start = (first + s) * self.rows
            index = order[start:start + n]
            x = model.x_buffer[:n]
            t = model.label_buffer[:n] if labels else model.y_buffer[:n]
            model.kernels.gather_rows(x, self.X, index)
            np.take(self.targets, index, axis=0, out=t, mode="clip")  # "clip": unbuffered
            w = None
            if self.weights is not None:
                w = self.batch_weights[:n]
                np.take(self.weights, index, out=w, mode="clip")
            loss, hits = model.train_step(x, t, w)
            self.losses[at + s], self.hits[at + s] = loss, hits
            if not math.isfinite(loss):
                return s
        return count


class DriverSteps(Steps):
    """All steps of a chunk in one call of the backend's ``train_steps``, over the kernels
    of the model's loss and optimizer (`training_loop`)."""

    def __init__(self, model, X, targets, rows):
        super().__init__(model, X, targets, rows)
        self.mask_width = sum(layer.out_features for layer in model.layers
                              if isinstance(layer, Dropout))
        self.masks = np.empty(self.chunk * rows * self.mask_width, model.dtype)
        if model.loss.labels:
            self.labels, self.Y = targets, np.empty((0, model.n_outputs), model.dtype)
        else:
            self.labels, self.Y = np.empty(0, np.int64), targets
        self.train_steps = training_loop(model)

    def steps(self, order, first, count, at, replay=False):
        model, rows = self.model, self.rows
        if not replay:  # a replayed step reuses the masks its chunk drew
            samples = int(self.batch_sizes(first, count).sum())
            masks = self.masks[:samples * self.mask_width]
            model.rng.random(out=masks, dtype=masks.dtype)
        optimizer = model.optimizer
        done = self.train_steps(
            driver.Results(self.losses[at:at + count], self.hits[at:at + count]),
            buffers(model),
            driver.Batch(model.x_buffer[:rows], model.label_buffer, model.y_buffer),
            driver.Data(self.X, self.labels, self.Y, order,
                        self.masks[at * rows * self.mask_width:]),
            model.layer_table,
            optimizer_state(optimizer),
            first, optimizer.step_count, *uses(model))
        optimizer.step_count += done
        return done
