"""Layers: hyper-parameters, views into the model's flat buffers, and one kernel call each way."""
import numpy as np

from kernels import ACTIVATIONS, LINEAR

INITS = ("he", "he_uniform", "xavier", "xavier_normal", "normal")


def default_init(activation):
    """He for ReLU, Xavier/Glorot otherwise."""
    return "he" if activation == "relu" else "xavier"


def draw_weights(rng, init, fan_in, fan_out, dtype):
    """A (fan_in, fan_out) weight matrix drawn from `rng` by the named scheme.

    he: N(0, 2/fan_in); he_uniform: U(±√(6/fan_in)); xavier: U(±√(6/(fan_in+fan_out)));
    xavier_normal: N(0, 2/(fan_in+fan_out)); normal: N(0, 0.01²).
    """
    shape = (fan_in, fan_out)
    if init == "he":
        w = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
    elif init == "he_uniform":
        limit = np.sqrt(6.0 / fan_in)
        w = rng.uniform(-limit, limit, shape)
    elif init == "xavier":
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        w = rng.uniform(-limit, limit, shape)
    elif init == "xavier_normal":
        w = rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), shape)
    elif init == "normal":
        w = rng.normal(0.0, 0.01, shape)
    else:
        raise ValueError(f"unknown init {init!r}; choose one of {INITS}")
    return w.astype(dtype)


class Dense:
    """A fully-connected layer: out = f(x·W + b).

    Parameters
    ----------
    in_features, out_features : int
        Sizes of the input and output; W has shape (in_features, out_features).
    activation : str
        One of "linear", "relu", "sigmoid", "tanh", "softmax" (softmax only as the output
        layer of a model trained with loss="cce").
    init : str, optional
        Weight initialization (see `draw_weights`); default He for relu, Xavier otherwise.
        Biases start at zero.
    """

    def __init__(self, in_features, out_features, activation="linear", init=None):
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Dense {name} must be a positive integer, got {value!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; "
                             f"choose one of {sorted(ACTIVATIONS)}")
        init = init or default_init(activation)
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; choose one of {INITS}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.activation = activation
        self.init = init

    def __repr__(self):
        return (f"Dense({self.in_features}, {self.out_features}, "
                f"activation={self.activation!r}, init={self.init!r})")

    @property
    def n_params(self):
        return self.in_features * self.out_features + self.out_features

    def bind(self, params, grads):
        """Make W, b, dW, db views into the model's flat buffers (each of n_params)."""
        i, o = self.in_features, self.out_features
        self.W, self.b = params[: i * o].reshape(i, o), params[i * o:]
        self.dW, self.db = grads[: i * o].reshape(i, o), grads[i * o:]

    def initialize(self, rng):
        self.W[...] = draw_weights(rng, self.init, self.in_features, self.out_features,
                                   self.W.dtype)
        self.b[...] = 0

    def allocate(self, rows, dtype):
        """Workspace for up to `rows` samples: activations, their gradient, and dz."""
        shape = (rows, self.out_features)
        self.out, self.dout, self.dz = (np.empty(shape, dtype) for _ in range(3))

    def forward(self, k, x, logits=False):
        """Fill self.out[:n] from x (n, in_features); `logits` skips the activation."""
        code = LINEAR if logits else ACTIVATIONS[self.activation]
        out = self.out[: x.shape[0]]
        k.dense_forward(out, x, self.W, self.b, code)
        return out

    def backward(self, k, x, dx, logits=False):
        """From self.dout[:n] fill dW, db and dx (dx may be empty: no input gradient)."""
        n = x.shape[0]
        code = LINEAR if logits else ACTIVATIONS[self.activation]
        k.dense_backward(dx, self.dW, self.db, self.dz[:n], x, self.W, self.out[:n],
                         self.dout[:n], code)
