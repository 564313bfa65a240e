"""Sequential: a stack of layers over one flat parameter buffer, a loss and an optimizer."""
import numpy as np

from fastnn import backend as backends
from fastnn import losses
from fastnn.checks import as_features, positive_int, same_length
from fastnn.layers import Dense
from fastnn.optim import Adam, Optimizer

CHUNK = 1024  # rows per kernel call when predicting or evaluating


class Sequential:
    """A feed-forward network trained with a fused output-activation + loss.

    Parameters
    ----------
    layers : list of Dense, optional
        The layers in order; more can be appended with `add`.
    loss : {"cce", "bce", "mse"}
        Categorical cross-entropy (softmax output), binary cross-entropy (sigmoid output)
        or mean squared error (linear output).
    optimizer : Optimizer, optional
        Default `Adam()`.
    seed : int
        Seeds weight initialization and shuffling.
    backend : {"numba", "numpy"}, optional
        Default $FASTNN_BACKEND, else "numba".
    dtype : {"float32", "float64"}
    """

    def __init__(self, layers=None, loss="cce", optimizer=None, seed=0, backend=None,
                 dtype="float32"):
        self.layers = []
        for layer in layers or []:
            self.add(layer)
        self.loss = losses.get(loss)
        self.optimizer = Adam() if optimizer is None else optimizer
        if not isinstance(self.optimizer, Optimizer):
            raise TypeError(f"optimizer must be an fastnn optimizer such as fnn.Adam(), "
                            f"got {type(self.optimizer).__name__}")
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.backend = backends.resolve(backend)
        self.kernels = backends.load(self.backend)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")
        self.built = False

    def add(self, layer):
        if not isinstance(layer, Dense):
            raise TypeError(f"expected a layer such as fnn.Dense, got {type(layer).__name__}")
        self.layers.append(layer)
        self.built = False

    @property
    def n_inputs(self):
        return self.layers[0].in_features

    @property
    def n_outputs(self):
        return self.layers[-1].out_features

    def build(self):
        """Check the stack, lay all parameters out in one buffer, and initialize them."""
        if not self.layers:
            raise ValueError("the model has no layers")
        for a, b in zip(self.layers, self.layers[1:]):
            if a.out_features != b.in_features:
                raise ValueError(f"layer sizes do not chain: {a} outputs {a.out_features} "
                                 f"but {b} takes {b.in_features}")
        for layer in self.layers[:-1]:
            if layer.activation == "softmax":
                raise ValueError("softmax is only supported on the output layer")
        output = self.layers[-1].activation
        if output != self.loss.output:
            raise ValueError(f"loss {self.loss.name!r} is fused with a {self.loss.output!r} "
                             f"output layer, but the last layer's activation is {output!r}")
        n_params = sum(layer.n_params for layer in self.layers)
        self.params = np.zeros(n_params, self.dtype)
        self.grads = np.zeros(n_params, self.dtype)
        start = 0
        for layer in self.layers:
            stop = start + layer.n_params
            layer.bind(self.params[start:stop], self.grads[start:stop])
            layer.initialize(self.rng)
            start = stop
        self.optimizer.build(n_params, self.dtype)
        self.rows = 0
        self.built = True

    def allocate(self, rows):
        """Make sure the workspace holds `rows` samples; smaller batches use [:n] views."""
        if not self.built:
            self.build()
        if rows <= self.rows:
            return
        for layer in self.layers:
            layer.allocate(rows, self.dtype)
        self.x_buffer = np.empty((rows, self.n_inputs), self.dtype)
        self.no_dx = np.empty((0, self.n_inputs), self.dtype)
        self.rows = rows

    # ---- one batch; x and targets have n ≤ self.rows rows ------------------------------

    def forward(self, x, logits=False):
        """Run every layer on x (n, n_inputs); return the last layer's output view."""
        for layer in self.layers[:-1]:
            x = layer.forward(self.kernels, x)
        return self.layers[-1].forward(self.kernels, x, logits=logits)

    def backward(self, x, targets):
        """After forward(x, logits=True): fill self.grads; return the batch loss."""
        n, last = x.shape[0], self.layers[-1]
        loss = getattr(self.kernels, self.loss.kernel)(last.dout[:n], last.out[:n], targets)
        for i in range(len(self.layers) - 1, -1, -1):
            inputs = x if i == 0 else self.layers[i - 1].out[:n]
            dx = self.no_dx if i == 0 else self.layers[i - 1].dout[:n]
            self.layers[i].backward(self.kernels, inputs, dx, logits=(i == len(self.layers) - 1))
        return loss

    def hits(self, logits, targets):
        """Correct predictions in a batch (0 for regression)."""
        if self.loss.hits is None:
            return 0
        return getattr(self.kernels, self.loss.hits)(logits, targets)

    def train_step(self, x, targets):
        """One optimizer step on a batch; returns (loss, hits)."""
        logits = self.forward(x, logits=True)
        loss = self.backward(x, targets)
        hits = self.hits(logits, targets)
        self.optimizer.step(self.kernels, self.params, self.grads)
        return loss, hits

    # ---- the public API ----------------------------------------------------------------

    def fit(self, X, y, epochs=1, batch_size=32, validation_data=None, shuffle=True,
            verbose=1):
        """Train on X (N, n_inputs) and targets y; returns a `History`.

        y holds integer labels (N,) or one-hot rows for "cce", 0/1 values for "bce", and
        target values (N,) or (N, n_outputs) for "mse".
        """
        from fastnn.training import fit
        return fit(self, X, y, epochs=epochs, batch_size=batch_size,
                   validation_data=validation_data, shuffle=shuffle, verbose=verbose)

    def prepare(self, X, y):
        """Checked, converted (X, targets) for this model."""
        if not self.built:
            self.build()
        X = as_features(X, self.n_inputs, self.dtype)
        targets = self.loss.targets(y, self.n_outputs, self.dtype)
        same_length(X, targets)
        return X, targets

    def predict_proba(self, X):
        """Output-layer activations (N, n_outputs): probabilities for softmax/sigmoid."""
        if not self.built:
            self.build()
        X = as_features(X, self.n_inputs, self.dtype)
        self.allocate(min(len(X), CHUNK))
        result = np.empty((len(X), self.n_outputs), self.dtype)
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
        """{"loss": mean loss, "accuracy": fraction correct (classifiers only)}."""
        X, targets = self.prepare(X, y)
        return self.evaluate_prepared(X, targets)

    def evaluate_prepared(self, X, targets):
        self.allocate(min(len(X), CHUNK))
        last, total, hits = self.layers[-1], 0.0, 0
        for start in range(0, len(X), CHUNK):
            x, t = X[start:start + CHUNK], targets[start:start + CHUNK]
            logits = self.forward(x, logits=True)
            total += len(x) * getattr(self.kernels, self.loss.kernel)(
                last.dout[:len(x)], logits, t)
            hits += self.hits(logits, t)
        result = {"loss": total / len(X)}
        if self.loss.hits is not None:
            result["accuracy"] = hits / targets.size
        return result

    def compute_gradients(self, X, y):
        """(loss, grads) of the mean loss over all of X; grads align with get_weights()."""
        X, targets = self.prepare(X, y)
        self.allocate(len(X))
        self.forward(X, logits=True)
        loss = self.backward(X, targets)
        return loss, [g.copy() for layer in self.layers for g in (layer.dW, layer.db)]

    def get_weights(self):
        """[W1, b1, W2, b2, ...] as copies, each W shaped (in, out)."""
        if not self.built:
            self.build()
        return [p.copy() for layer in self.layers for p in (layer.W, layer.b)]

    def set_weights(self, weights):
        """Set parameters from a list shaped like get_weights()."""
        if not self.built:
            self.build()
        current = [p for layer in self.layers for p in (layer.W, layer.b)]
        if len(weights) != len(current):
            raise ValueError(f"expected {len(current)} arrays [W1, b1, ...], got {len(weights)}")
        new = []
        for i, (old, w) in enumerate(zip(current, weights)):
            w = np.asarray(w)
            if w.shape != old.shape:
                raise ValueError(f"weights[{i}] has shape {w.shape}, expected {old.shape}")
            if w.dtype.kind not in "biuf" or not np.isfinite(w).all():
                raise ValueError(f"weights[{i}] must be finite real numbers")
            new.append(w)
        for old, w in zip(current, new):
            old[...] = w

    def save(self, path):
        """Write architecture, weights and optimizer state to `path` (.npz), atomically."""
        from fastnn.io import save
        save(self, path)

    def __repr__(self):
        inner = ", ".join(map(repr, self.layers))
        return f"Sequential([{inner}], loss={self.loss.name!r}, backend={self.backend!r})"
