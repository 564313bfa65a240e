"""Layers: hyper-parameters, views into the model's flat buffers, and one kernel call each way.

A layer has ``build(n_inputs)``, ``bind(params, grads)``, ``initialize(rng)``,
``buffers(rows)``, ``forward(k, x, training)`` and ``backward(k, x, dx)``, where
``k`` is the kernel module of the model's backend. ``out`` and ``dout`` are the layer's
workspace (rows, out_features); a backward pass writes the gradient of its input into
``dx``, the previous layer's ``dout``.
"""
import numpy as np

from fastnn.checks import known_name, number, positive_int
from fastnn.errors import ShapeError, UnknownNameError
from fastnn.kernels import ACTIVATIONS, LINEAR, NEEDS_Z
from fastnn.kernels.scratch import dense_scratch

INITS = ("he", "he_normal", "he_uniform", "xavier", "xavier_uniform", "xavier_normal",
         "normal", "zeros")
RELU_FAMILY = ("relu", "leaky_relu", "elu", "gelu")
DEFAULT_ALPHA = {"leaky_relu": 0.01, "elu": 1.0}


def default_init(activation):
    """He for the ReLU family, Xavier/Glorot otherwise."""
    return "he" if activation in RELU_FAMILY else "xavier"


def draw_weights(rng, init, fan_in, fan_out, dtype, std=0.01):
    """A (fan_in, fan_out) weight matrix drawn from `rng` by the named scheme.

    he, he_normal: N(0, 2/fan_in);  he_uniform: U(±√(6/fan_in));
    xavier, xavier_uniform: U(±√(6/(fan_in+fan_out)));  xavier_normal: N(0, 2/(fan_in+fan_out));
    normal: N(0, std²);  zeros: 0.
    """
    shape = (fan_in, fan_out)
    if init in ("he", "he_normal"):
        w = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
    elif init == "he_uniform":
        limit = np.sqrt(6.0 / fan_in)
        w = rng.uniform(-limit, limit, shape)
    elif init in ("xavier", "xavier_uniform"):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        w = rng.uniform(-limit, limit, shape)
    elif init == "xavier_normal":
        w = rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), shape)
    elif init == "normal":
        w = rng.normal(0.0, std, shape)
    elif init == "zeros":
        w = np.zeros(shape)
    else:
        raise UnknownNameError("init", init, INITS)
    return w.astype(dtype)


class Layer:
    """What every layer has; parameter-free layers keep these defaults."""

    n_params = 0
    trainable = False
    # views into the model's buffers: not pickled, the model binds them again
    VIEWS = ("W", "b", "dW", "db", "out", "dout", "dz", "z", "mask", "scratch", "work_at")

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k not in self.VIEWS}

    def build(self, n_inputs):
        """Check the input size against the previous layer; return the output size."""
        return n_inputs

    def bind(self, params, grads):
        pass

    def initialize(self, rng):
        pass

    def penalty(self, k):
        return 0.0

    def buffers(self, rows):
        """The workspace for up to `rows` samples, {name: shape}: the model makes each a
        view into its flat workspace and sets it as an attribute."""
        shape = (rows, self.out_features)
        return {"out": shape, "dout": shape}

    def scratch_size(self, rows, itemsize, first):
        """Elements of scratch the layer's kernels need for `rows` samples (`first`: it is
        the model's first layer); the model gives every layer one buffer (``scratch``)
        of the largest size."""
        return 0


class Dense(Layer):
    """A fully-connected layer: out = f(x·W + b).

    Parameters
    ----------
    in_features, out_features : int
        Sizes of the input and output; W has shape (in_features, out_features).
    activation : str
        "linear", "relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", or "softmax"
        (output layer of a "cce" model only).
    init : str, optional
        Weight initialization (see `draw_weights`); default He for the ReLU family,
        Xavier otherwise. Biases start at zero.
    l1, l2 : float
        Penalties l1·Σ|W| + l2·ΣW² on the weights, added to the loss and its gradient.
    alpha : float, optional
        The activation's parameter: leaky_relu's negative slope (default 0.01), elu's
        scale (default 1.0).
    init_std : float
        Standard deviation of init="normal".
    """

    trainable = True

    def __init__(self, in_features, out_features, activation="linear", init=None, l1=0.0,
                 l2=0.0, alpha=None, init_std=0.01):
        self.in_features = positive_int("Dense in_features", in_features)
        self.out_features = positive_int("Dense out_features", out_features)
        self.activation = known_name("activation", activation, ACTIVATIONS)
        self.init = known_name("init", default_init(activation) if init is None else init,
                               INITS)
        self.l1, self.l2 = number("l1", l1, low=0), number("l2", l2, low=0)
        self.alpha = number("alpha", DEFAULT_ALPHA.get(activation, 0.0)
                            if alpha is None else alpha, low=0)
        self.init_std = number("init_std", init_std, low=0)

    def __repr__(self):
        extras = "".join(f", {name}={getattr(self, name)!r}" for name in ("l1", "l2")
                         if getattr(self, name))
        return (f"Dense({self.in_features}, {self.out_features}, "
                f"activation={self.activation!r}, init={self.init!r}{extras})")

    def config(self):
        """The constructor's arguments, for saving."""
        return dict(in_features=self.in_features, out_features=self.out_features,
                    activation=self.activation, init=self.init, l1=self.l1, l2=self.l2,
                    alpha=self.alpha, init_std=self.init_std)

    @property
    def n_params(self):
        return self.in_features * self.out_features + self.out_features

    def build(self, n_inputs):
        if n_inputs is not None and n_inputs != self.in_features:
            raise ShapeError(f"layer sizes do not chain: the previous layer outputs "
                             f"{n_inputs} but {self} takes {self.in_features}")
        return self.out_features

    def bind(self, params, grads):
        """Make W, b, dW, db views into the model's flat buffers (each of n_params)."""
        i, o = self.in_features, self.out_features
        self.W, self.b = params[: i * o].reshape(i, o), params[i * o:]
        self.dW, self.db = grads[: i * o].reshape(i, o), grads[i * o:]

    def initialize(self, rng):
        self.W[...] = draw_weights(rng, self.init, self.in_features, self.out_features,
                                   self.W.dtype, self.init_std)
        self.b[...] = 0

    def buffers(self, rows):
        """out, dout, dz, and z where f' needs it (else z has no rows)."""
        z_rows = rows if ACTIVATIONS[self.activation] in NEEDS_Z else 0
        return {**super().buffers(rows), "dz": (rows, self.out_features),
                "z": (z_rows, self.out_features)}

    def scratch_size(self, rows, itemsize, first):
        return dense_scratch(rows, self.in_features, self.out_features, itemsize,
                             input_gradient=not first)  # the first layer has no dx

    def penalty(self, k):
        if not (self.l1 or self.l2):
            return 0.0
        return k.weight_penalty(self.W, self.l1, self.l2)

    def _code(self, logits):
        return LINEAR if logits else ACTIVATIONS[self.activation]

    def forward(self, k, x, training=False, logits=False):
        """Fill out[:n] from x (n, in_features); `logits` skips the activation."""
        n = x.shape[0]
        out = self.out[:n]
        k.dense_forward(out, self.z[:n], self.scratch, x, self.W, self.b, self._code(logits),
                        self.alpha)
        return out

    def backward(self, k, x, dx, logits=False):
        """From dout[:n] fill dW, db and dx (dx may be empty: no input gradient)."""
        n = x.shape[0]
        k.dense_backward(dx, self.dW, self.db, self.dz[:n], self.scratch, x, self.W,
                         self.out[:n], self.z[:n], self.dout[:n], self._code(logits),
                         self.alpha, self.l1, self.l2)


class Dropout(Layer):
    """Inverted dropout: while training, zero each input with probability `rate` and scale
    the rest by 1/(1 − rate); at inference, pass inputs through unchanged.

    Masks are drawn from the model's seeded generator, never inside a kernel, so both
    backends drop the same units.
    """

    def __init__(self, rate):
        self.rate = number("dropout rate", rate, low=0, high=1, high_open=True)
        self.rng = None

    def __repr__(self):
        return f"Dropout({self.rate})"

    def config(self):
        return dict(rate=self.rate)

    def build(self, n_inputs):
        if n_inputs is None:
            raise ShapeError("Dropout cannot be the first layer: its size comes from the "
                             "layer before it")
        self.in_features = self.out_features = n_inputs
        return n_inputs

    def buffers(self, rows):
        return {**super().buffers(rows), "mask": (rows, self.out_features)}

    def forward(self, k, x, training=False, logits=False):
        self.active = training  # backward must undo what forward did
        if not training:
            return x
        n = x.shape[0]
        mask, out = self.mask[:n], self.out[:n]
        self.rng.random(out=mask, dtype=mask.dtype)
        k.dropout_forward(out, x, mask, self.rate)
        return out

    def backward(self, k, x, dx, logits=False):
        n = x.shape[0]
        if not self.active:
            dx[...] = self.dout[:n]
            return
        k.dropout_backward(dx, self.dout[:n], self.mask[:n], self.rate)
