"""Sequential: a stack of layers over one flat parameter buffer, a loss and an optimizer."""
import math
from contextlib import contextmanager, nullcontext

import numpy as np

from fastnn import backend as backends
from fastnn import io, losses, optim, training
from fastnn.checks import (as_features, flag, integer, number, option, positive_int,
                           same_length, sample_weights)
from fastnn.epoch import CHUNK, buffers, describe, layer_table, unsupported
from fastnn.errors import DTypeError, HyperParameterError, NonFiniteError, ShapeError
from fastnn.layers import Dense, Dropout, Layer
from fastnn.optim import Adam
from fastnn.parallel import threads_for_this_worker


class Sequential:
    """A feed-forward network trained with a fused output-activation + loss.

    Parameters
    ----------
    layers : list of layers, optional
        `Dense` and `Dropout` layers in order; more can be appended with `add`. The first
        and last layers must be Dense.
    loss : {"cce", "bce", "mse"}
        Categorical cross-entropy (softmax output), binary cross-entropy (sigmoid output)
        or mean squared error (linear output). Keras's and PyTorch's names for these are
        accepted (`fastnn.losses.ALIASES`); a last layer the loss does not fuse with is
        refused here.
    optimizer : Optimizer, optional
        Default `Adam()`.
    seed : int
        Seeds weight initialization, shuffling, validation splits and dropout masks.
    backend : {"numba", "numpy"}, optional
        Default $FASTNN_BACKEND, else "numba".
    dtype : {"float32", "float64"}
    driver : bool
        Run fit's training steps in the backend's ``train_steps`` kernel (the whole loop
        in one call per chunk of steps) when the model allows it; False runs them step by
        step from Python. `training_path()` says which one runs.
    threads : int, optional
        How many threads this model's Numba kernels use in fit, predict and evaluate (at
        most NUMBA_NUM_THREADS); default Numba's setting, or in a Dask worker the share of
        its threads that `fastnn.parallel.threads_for_this_worker` gives. Results do not
        depend on it.
    """

    def __init__(self, layers=None, loss="cce", optimizer=None, seed=0, backend=None,
                 dtype="float32", driver=True, threads=None):
        self.layers = []
        for layer in layers or []:
            self.add(layer)
        self.loss = losses.get(loss)
        if self.layers and isinstance(self.layers[-1], Dense):  # refused here, not in fit
            losses.check_output(self.loss, self.layers[-1])
        self.optimizer = Adam() if optimizer is None else optim.get(optimizer)
        self.seed = integer("seed", seed, 0)
        self.rng = np.random.default_rng(seed)
        self.backend = backends.resolve(backend)
        self.kernels = backends.load(self.backend)
        dtype = np.dtype(dtype).name if isinstance(dtype, type) else dtype
        self.dtype = np.dtype(option("dtype", dtype, ("float32", "float64")))
        self.driver = flag("driver", driver)
        self.threads = None if threads is None else positive_int("threads", threads)
        if self.threads is not None and self.backend == "numba":
            import numba
            if self.threads > numba.config.NUMBA_NUM_THREADS:
                raise HyperParameterError(
                    f"Invalid threads: {self.threads} (Numba started "
                    f"{numba.config.NUMBA_NUM_THREADS}; set NUMBA_NUM_THREADS for more)")
        self.built = False

    def add(self, layer):
        """Append a layer (the model is rebuilt, with fresh weights, on next use)."""
        if not isinstance(layer, Layer):
            raise DTypeError(f"expected a layer such as fnn.Dense, got {type(layer).__name__}")
        self.layers.append(layer)
        self.built = False

    @property
    def dense_layers(self):
        return [layer for layer in self.layers if layer.trainable]

    @property
    def n_inputs(self):
        return self.layers[0].in_features

    @property
    def n_outputs(self):
        return self.layers[-1].out_features

    def build(self):
        """Check the stack, lay all parameters out in one buffer, and initialize them."""
        if not self.layers:
            raise ShapeError("the model has no layers")
        if not (isinstance(self.layers[0], Dense) and isinstance(self.layers[-1], Dense)):
            raise ShapeError("the first and the last layer must be Dense")
        size = None
        for layer in self.layers:
            size = layer.build(size)
            layer.rng = self.rng
        for layer in self.dense_layers[:-1]:
            if layer.activation == "softmax":
                raise HyperParameterError("softmax is only supported on the output layer")
        losses.check_output(self.loss, self.layers[-1])
        n_params = sum(layer.n_params for layer in self.layers)
        self.params = np.zeros(n_params, self.dtype)
        self.grads = np.zeros(n_params, self.dtype)
        self._bind_layers()
        for layer in self.layers:
            layer.initialize(self.rng)
        self.optimizer.build(n_params, self.dtype)
        self.rows = 0
        self.built = True

    def _bind_layers(self):
        """Make every layer's parameters and gradients views into the flat buffers."""
        start = 0
        for layer in self.layers:
            stop = start + layer.n_params
            layer.param_at = start
            layer.bind(self.params[start:stop], self.grads[start:stop])
            start = stop

    # Pickling keeps data only: the backend by name, the flat parameter, gradient and
    # optimizer buffers; views, the workspace and the kernel module are rebuilt.
    WORKSPACE = ("kernels", "work", "scratch", "x_buffer", "label_buffer", "y_buffer",
                 "no_dx", "no_weights", "inputs", "tables")

    def __getstate__(self):
        state = {k: v for k, v in self.__dict__.items() if k not in self.WORKSPACE}
        state["rows"] = 0  # the workspace is allocated again on first use
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.kernels = backends.load(self.backend)
        if self.built:
            self._bind_layers()

    def allocate(self, rows):
        """Make sure the workspace holds `rows` samples; smaller batches use [:n] views."""
        if not self.built:
            self.build()
        if rows <= self.rows:
            return
        size = 0
        for layer in self.layers:  # every layer's buffers, one after the other
            layer.work_at = {}
            for name, (n, width) in layer.buffers(rows).items():
                layer.work_at[name] = size
                size += n * width
        self.work = np.empty(size, self.dtype)
        for layer in self.layers:
            for name, shape in layer.buffers(rows).items():
                at = layer.work_at[name]
                setattr(layer, name, self.work[at:at + shape[0] * shape[1]].reshape(shape))
        itemsize = np.dtype(self.dtype).itemsize
        self.scratch = np.empty(max(layer.scratch_size(rows, itemsize, first=i == 0)
                                    for i, layer in enumerate(self.layers)), self.dtype)
        for layer in self.layers:  # one after the other: they can share it
            layer.scratch = self.scratch
        self.x_buffer = np.empty((rows, self.n_inputs), self.dtype)
        if self.loss.name == "cce":  # integer labels
            self.label_buffer = np.empty(rows, np.int64)
            self.y_buffer = np.empty((0, self.n_outputs), self.dtype)
        else:
            self.label_buffer = np.empty(0, np.int64)
            self.y_buffer = np.empty((rows, self.n_outputs), self.dtype)
        self.no_dx = np.empty((0, self.n_inputs), self.dtype)
        self.no_weights = np.empty(0, self.dtype)  # the loss kernels' "uniform weights"
        self.inputs = [None] * len(self.layers)  # what each layer got in the last forward
        self.rows = rows
        self.layer_table = layer_table(self)  # the layers, as the driver kernels read them

    # ---- one batch; x and targets have n ≤ self.rows rows ------------------------------

    def forward(self, x, training=False, logits=False):
        """Run every layer on x (n, n_inputs); return the last layer's output view."""
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            self.inputs[i] = x
            x = layer.forward(self.kernels, x, training, logits=logits and i == last)
        return x

    def backward(self, targets, weights=None):
        """After forward(x, training=True, logits=True): fill self.grads; return the loss
        (weighted by `weights` (n,), a mean over the samples when None)."""
        last = self.layers[-1]
        n = len(targets)
        loss = getattr(self.kernels, self.loss.kernel)(
            last.dout[:n], last.out[:n], targets, self.no_weights if weights is None else weights)
        for i in range(len(self.layers) - 1, -1, -1):
            dx = self.no_dx if i == 0 else self.layers[i - 1].dout[:n]
            self.layers[i].backward(self.kernels, self.inputs[i], dx,
                                    logits=i == len(self.layers) - 1)
        return loss + self.penalty()

    def penalty(self):
        """The layers' L1/L2 penalties, part of the reported loss."""
        return sum(layer.penalty(self.kernels) for layer in self.dense_layers)

    def hits(self, logits, targets):
        """Correct predictions in a batch (0 for regression)."""
        if self.loss.hits is None:
            return 0
        return getattr(self.kernels, self.loss.hits)(logits, targets)

    def train_step(self, x, targets, weights=None):
        """One optimizer step on a batch (sample `weights` (n,) or None); returns (loss, hits).

        A non-finite loss skips the update, so the weights stay the last finite ones.
        """
        logits = self.forward(x, training=True, logits=True)
        loss = self.backward(targets, weights)
        hits = self.hits(logits, targets)
        if math.isfinite(loss):
            self.optimizer.step(self.kernels, self.params, self.grads)
        return loss, hits

    def threads_in_use(self):
        """A context in which Numba kernels called from this Python thread use
        self.threads threads, else in a Dask worker its share of the worker's threads
        (Numba's setting is per calling thread)."""
        if self.backend != "numba":
            return nullcontext()
        threads = self.threads if self.threads is not None else threads_for_this_worker()
        return nullcontext() if threads is None else _numba_threads(threads)

    # ---- the public API ----------------------------------------------------------------

    def fit(self, X, y, epochs=1, batch_size=32, validation_data=None, validation_split=0.0,
            callbacks=None, scheduler=None, shuffle=True, verbose=1, sample_weight=None):
        """Train on X (N, n_inputs) and targets y (sample_weight (N,) optional); returns a
        `History`.

        y holds integer labels (N,) or one-hot rows for "cce", 0/1 values for "bce", and
        target values (N,) or (N, n_outputs) for "mse". See `fastnn.training.fit`.
        """
        with self.threads_in_use():
            return training.fit(self, X, y, epochs=epochs, batch_size=batch_size,
                                validation_data=validation_data,
                                validation_split=validation_split, callbacks=callbacks,
                                scheduler=scheduler, shuffle=shuffle, verbose=verbose,
                                sample_weight=sample_weight)

    def prepare(self, X, y):
        """Checked, converted (X, targets) for this model."""
        if not self.built:
            self.build()
        X = as_features(X, self.n_inputs, self.dtype, all_finite=self.kernels.all_finite)
        targets = self.loss.targets(y, self.n_outputs, self.dtype)
        same_length(X, targets)
        return X, targets

    def sample_weights(self, sample_weight, n):
        """sample_weight as a checked (n,) array of this model's dtype (`checks.sample_weights`)."""
        return sample_weights(sample_weight, n, self.dtype)

    def predict_proba(self, X):
        """Output-layer activations (N, n_outputs): probabilities for softmax/sigmoid."""
        if not self.built:
            self.build()
        X = as_features(X, self.n_inputs, self.dtype, all_finite=self.kernels.all_finite)
        self.allocate(min(len(X), CHUNK))
        result = np.empty((len(X), self.n_outputs), self.dtype)
        with self.threads_in_use():
            if unsupported(self) is None:  # the whole forward pass in one kernel call
                self.kernels.predict_rows(result, buffers(self), X, self.layer_table,
                                          self.rows)
                return result
            for start in range(0, len(X), CHUNK):
                x = X[start:start + CHUNK]
                result[start:start + len(x)] = self.forward(x)
        return result

    def predict(self, X):
        """Class labels (N,) for "cce"; 0/1 for "bce"; values for "mse" ((N,) if one output)."""
        out = self.predict_proba(X)
        if self.loss.name == "cce":
            return out.argmax(axis=1)
        if self.loss.name == "bce":
            out = (out > 0.5).astype(np.int64)
        return out[:, 0] if self.n_outputs == 1 else out

    def evaluate(self, X, y):
        """{"loss": mean loss + penalties, "accuracy": fraction correct (classifiers only)}."""
        X, targets = self.prepare(X, y)
        with self.threads_in_use():
            return self.evaluate_prepared(X, targets)

    def evaluate_prepared(self, X, targets):
        self.allocate(min(len(X), CHUNK))
        last, total, hits = self.layers[-1], 0.0, 0
        for start in range(0, len(X), CHUNK):
            x, t = X[start:start + CHUNK], targets[start:start + CHUNK]
            logits = self.forward(x, logits=True)
            total += len(x) * getattr(self.kernels, self.loss.kernel)(
                last.dout[:len(x)], logits, t, self.no_weights)
            hits += self.hits(logits, t)
        result = {"loss": total / len(X) + self.penalty()}
        if self.loss.hits is not None:
            result["accuracy"] = hits / targets.size
        return result

    def compute_gradients(self, X, y, sample_weight=None):
        """(loss, grads) of the mean (or `sample_weight`-weighted mean) loss over all of X,
        penalties included (dropout off); grads align with get_weights()."""
        X, targets = self.prepare(X, y)
        weights = None if sample_weight is None else self.sample_weights(sample_weight, len(X))
        self.allocate(len(X))
        with self.threads_in_use():
            self.forward(X, logits=True)
            loss = self.backward(targets, weights)
        return loss, [g.copy() for layer in self.dense_layers for g in (layer.dW, layer.db)]

    def set_l2(self, l2):
        """Give every Dense layer the L2 penalty l2·ΣW² (the driver's tables are redone)."""
        for layer in self.dense_layers:
            layer.l2 = number("l2", l2, low=0)
        self.rows = 0  # the tables hold the penalties: allocate lays them out again

    def get_weights(self):
        """[W1, b1, W2, b2, ...] as copies, each W shaped (in, out)."""
        if not self.built:
            self.build()
        return [p.copy() for layer in self.dense_layers for p in (layer.W, layer.b)]

    def set_weights(self, weights):
        """Set parameters from a list shaped like get_weights()."""
        if not self.built:
            self.build()
        current = [p for layer in self.dense_layers for p in (layer.W, layer.b)]
        if len(weights) != len(current):
            raise ShapeError(f"expected {len(current)} arrays [W1, b1, ...], got {len(weights)}")
        new = []
        for i, (old, w) in enumerate(zip(current, weights)):
            w = np.asarray(w)
            if w.shape != old.shape:
                raise ShapeError(f"weights[{i}] has shape {w.shape}, expected {old.shape}")
            if w.dtype.kind not in "biuf":
                raise DTypeError(f"weights[{i}] must hold real numbers, got dtype {w.dtype}")
            if not np.isfinite(w).all():
                raise NonFiniteError(f"weights[{i}] must be finite: it contains NaN or inf")
            new.append(w)
        for old, w in zip(current, new):
            old[...] = w

    def save(self, path):
        """Write architecture, weights and optimizer state to `path` (.npz), atomically."""
        io.save(self, path)

    def to_onnx(self, path, opset=None):
        """Write the model as an ONNX graph at `path`; see `fastnn.export.to_onnx`."""
        from fastnn.export import to_onnx
        return to_onnx(self, path, opset)

    def to_torch(self):
        """An equivalent torch.nn.Sequential; see `fastnn.export.to_torch`."""
        from fastnn.export import to_torch
        return to_torch(self)

    def summary(self, file=None):
        """Print the layers, their output shapes and parameter counts, and the totals."""
        if not self.built:
            self.build()
        rows = [("layer", "output shape", "params")]
        for layer in self.layers:
            rows.append((repr(layer), f"(None, {layer.out_features})", f"{layer.n_params:,}"))
        widths = [max(len(r[c]) for r in rows) for c in range(3)]
        line = "-" * (sum(widths) + 4)
        lines = [line]
        for i, row in enumerate(rows):
            lines.append(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}")
            if i == 0:
                lines.append(line)
        lines += [line, f"total parameters: {len(self.params):,} ({self.dtype.name}, "
                        f"{self.params.nbytes:,} bytes)",
                  f"loss: {self.loss.name} (fused with {self.loss.output})   "
                  f"optimizer: {self.optimizer!r}   backend: {self.backend}",
                  f"training path: {self.training_path()}"]
        print("\n".join(lines), file=file)

    def training_path(self):
        """Which code runs fit's steps and predict's forward pass (the driver kernels, or
        one kernel call per layer), and why."""
        return describe(self)

    def __repr__(self):
        inner = ", ".join(map(repr, self.layers))
        return f"Sequential([{inner}], loss={self.loss.name!r}, backend={self.backend!r})"


def load(path, backend=None):
    """The model that `Sequential.save` wrote to `path` (see `fastnn.io.load` for the
    checks and errors), on `backend` (default as for Sequential)."""
    return io.load(path, Sequential, backend)


@contextmanager
def _numba_threads(threads):
    import numba
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def mlp(sizes, activation="relu", output="softmax", loss="cce", optimizer=None, seed=0,
        dropout=0.0, backend=None, dtype="float32", driver=True, threads=None,
        **dense_options):
    """A Sequential of Dense layers from layer sizes, e.g. mlp([784, 128, 64, 10]).

    Hidden layers use `activation` (followed by Dropout(dropout) when dropout > 0), the
    last layer `output`; `dense_options` (init, l1, l2, alpha) go to every Dense layer.
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ShapeError(f"mlp needs at least an input and an output size, got {sizes}")
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        last = i == len(sizes) - 2
        layers.append(Dense(n_in, n_out, activation=output if last else activation,
                            **dense_options))
        if dropout and not last:
            layers.append(Dropout(dropout))
    return Sequential(layers, loss=loss, optimizer=optimizer, seed=seed, backend=backend,
                      dtype=dtype, driver=driver, threads=threads)
