"""Optimizers: state in flat arrays the size of the parameter buffer, one kernel call a step.

An optimizer class is all that describes it: its kernel's name (`kernel`), its state
arrays (`state_names`) and its kernel's hyper-parameters (`hyper`). One update is
``kernel(params, *state, grads, *hyper(), step)``, both from Python (`Optimizer.update`)
and in the compiled training loop (``kernels.driver``). A new optimizer is its class
here, its kernel in ``kernels.reference`` and ``kernels.numba_cpu``, and its tests.

Each matches PyTorch's update rule for the same hyper-parameters. ``clip_norm`` rescales
all gradients together when their global L2 norm exceeds it (PyTorch's clip_grad_norm_).
"""
import numpy as np

from fastnn.checks import flag, integer, known_name, number
from fastnn.errors import DTypeError, HyperParameterError, ShapeError


def _check(name, value, low=0.0, high=np.inf, low_open=True, high_open=False):
    """value as a float in the interval, else HyperParameterError naming it (see checks)."""
    return number(name, value, low, high, low_open, high_open)


class Optimizer:
    """The shared part: learning rate, gradient clipping, step count, state arrays."""

    kernel = ""       # the kernel of one update, in each kernel module
    state_names = ()  # flat arrays of the parameter buffer's size, zero at the start
    state = None      # (K, P) once built: the named arrays are its rows

    def __init__(self, lr, clip_norm=None):
        self.lr = _check("learning rate", lr, low_open=False)  # 0 is allowed, as in PyTorch
        self.clip_norm = None if clip_norm is None else _check("clip_norm", clip_norm)
        self.step_count = 0

    def hyper_parameters(self):
        """The constructor's arguments, for saving and for repr."""
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyper_parameters().items())
        return f"{type(self).__name__}({args})"

    def build(self, n_params, dtype):
        """Allocate zeroed state for a flat buffer of n_params parameters: one array
        `state` (K, P), whose rows are the named arrays (Adam: m, v)."""
        self.step_count = 0
        self.state = np.zeros((len(self.state_names), n_params), dtype)
        for name, row in zip(self.state_names, self.state):
            setattr(self, name, row)

    def __getstate__(self):  # the named rows are views of `state`: bound again on load
        return {k: v for k, v in self.__dict__.items() if k not in self.state_names}

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self.state is not None:
            for name, row in zip(self.state_names, self.state):
                setattr(self, name, row)

    def step(self, k, params, grads):
        """Update params (P,) in place from grads (P,)."""
        if self.clip_norm is not None:
            k.clip_grad_norm(grads, self.clip_norm)
        self.step_count += 1
        self.update(k, params, grads)

    def hyper(self):
        """The kernel's hyper-parameters, in the order of its parameters after grads."""
        raise NotImplementedError

    def update(self, k, params, grads):
        """One call of the optimizer's kernel from the kernel module `k`."""
        getattr(k, self.kernel)(params, *self.state, grads, *self.hyper(), self.step_count)

    def state_dict(self):
        """{"step_count": int, "lr": float, <state name>: array copy, ...}."""
        state = {"step_count": self.step_count, "lr": self.lr}
        state.update({name: getattr(self, name).copy() for name in self.state_names})
        return state

    def load_state_dict(self, state):
        """Restore what `state_dict` returned; arrays must match the built state's shapes."""
        keys = {"step_count", "lr", *self.state_names}
        if not isinstance(state, dict) or not keys <= set(state):
            given = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise HyperParameterError(f"Invalid state_dict for {type(self).__name__}: "
                                      f"expected the keys {sorted(keys)}, got {given}")
        if getattr(self, "state", None) is None:
            first = np.asarray(state[self.state_names[0]]) if self.state_names else np.zeros(0)
            self.build(first.size, first.dtype)
        for name in self.state_names:
            current = getattr(self, name)
            value = np.asarray(state[name])
            if value.shape != current.shape:
                raise ShapeError(f"optimizer state {name!r} has shape {value.shape}, "
                                 f"expected {current.shape}")
            current[...] = value
        self.step_count = integer("step_count", state["step_count"], 0)
        self.lr = _check("learning rate", state["lr"], low_open=False)


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, PyTorch's form.

    v = μ·v + g;  p = p − lr·v, or p = p − lr·(g + μ·v) with nesterov=True.
    """

    kernel, state_names = "sgd_step", ("velocity",)

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False, clip_norm=None):
        super().__init__(lr, clip_norm)
        self.momentum = _check("momentum", momentum, low_open=False, high=1.0, high_open=True)
        self.nesterov = flag("nesterov", nesterov)
        if self.nesterov and self.momentum == 0:
            raise HyperParameterError("Invalid nesterov: True (Nesterov momentum requires a "
                                      "momentum > 0, got momentum=0)")

    def hyper_parameters(self):
        return dict(lr=self.lr, momentum=self.momentum, nesterov=self.nesterov,
                    clip_norm=self.clip_norm)

    def hyper(self):
        return self.lr, self.momentum, self.nesterov


class Adam(Optimizer):
    """Adam with bias correction, eps added after the square root (as PyTorch does).

    m = β₁m + (1−β₁)g;  v = β₂v + (1−β₂)g²;  p = p − lr·m̂ / (√v̂ + ε).
    """

    kernel, state_names = "adam_step", ("m", "v")
    weight_decay = 0.0

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, clip_norm=None):
        super().__init__(lr, clip_norm)
        self.beta1 = _check("beta1", beta1, low_open=False, high=1.0, high_open=True)
        self.beta2 = _check("beta2", beta2, low_open=False, high=1.0, high_open=True)
        self.eps = _check("eps", eps)

    def hyper_parameters(self):
        return dict(lr=self.lr, beta1=self.beta1, beta2=self.beta2, eps=self.eps,
                    clip_norm=self.clip_norm)

    def hyper(self):
        return self.lr, self.beta1, self.beta2, self.eps, self.weight_decay


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter; PyTorch's AdamW).

    p = p·(1 − lr·weight_decay), then the Adam update.
    """

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2,
                 clip_norm=None):
        super().__init__(lr, beta1, beta2, eps, clip_norm)
        self.weight_decay = _check("weight_decay", weight_decay, low_open=False)

    def hyper_parameters(self):
        return {**super().hyper_parameters(), "weight_decay": self.weight_decay}


class RMSprop(Optimizer):
    """RMSprop, PyTorch's form (not centered, no momentum).

    s = α·s + (1−α)·g²;  p = p − lr·g / (√s + ε).
    """

    kernel, state_names = "rmsprop_step", ("square_avg",)

    def __init__(self, lr=1e-3, alpha=0.99, eps=1e-8, clip_norm=None):
        super().__init__(lr, clip_norm)
        self.alpha = _check("alpha", alpha, low_open=False, high=1.0, high_open=True)
        self.eps = _check("eps", eps)

    def hyper_parameters(self):
        return dict(lr=self.lr, alpha=self.alpha, eps=self.eps, clip_norm=self.clip_norm)

    def hyper(self):
        return self.lr, self.alpha, self.eps


OPTIMIZERS = {cls.__name__: cls for cls in (SGD, Adam, AdamW, RMSprop)}


def get(optimizer):
    """An optimizer from a fastnn optimizer (returned as is) or a name ("adam", "SGD", ...,
    case-insensitive, with default hyper-parameters)."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if not isinstance(optimizer, str):
        raise DTypeError(f"optimizer must be a fastnn optimizer such as fnn.Adam() or a name, "
                         f"got {type(optimizer).__name__}")
    by_lower = {name.lower(): cls for name, cls in OPTIMIZERS.items()}
    return by_lower[known_name("optimizer", optimizer.lower(), by_lower)]()
