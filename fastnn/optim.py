"""Optimizers: state in flat arrays the size of the parameter buffer, one kernel call a step."""
import numpy as np


def _check_positive(name, value):
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"Invalid {name}: {value} (must be a positive number)")


def _check_fraction(name, value):
    if not 0.0 <= value < 1.0:
        raise ValueError(f"Invalid {name}: {value} (must be in [0, 1))")


class Optimizer:
    def build(self, n_params, dtype):
        """Allocate state for a flat buffer of n_params parameters."""
        self.step_count = 0

    def step(self, k, params, grads):
        """Update params (P,) in place from grads (P,) with one kernel call."""
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (PyTorch's form).

    v = momentum·v + g;  p = p − lr·v.
    """

    def __init__(self, lr=0.01, momentum=0.0):
        _check_positive("learning rate", lr)
        _check_fraction("momentum", momentum)
        self.lr, self.momentum = float(lr), float(momentum)

    def build(self, n_params, dtype):
        super().build(n_params, dtype)
        self.velocity = np.zeros(n_params, dtype)

    def step(self, k, params, grads):
        self.step_count += 1
        k.sgd_step(params, self.velocity, grads, self.lr, self.momentum)


class Adam(Optimizer):
    """Adam with bias correction, eps added after the square root (as PyTorch does).

    m = β₁m + (1−β₁)g;  v = β₂v + (1−β₂)g²;  p = p − lr·m̂ / (√v̂ + ε).
    """

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        _check_positive("learning rate", lr)
        _check_fraction("beta1", beta1)
        _check_fraction("beta2", beta2)
        _check_positive("eps", eps)
        self.lr, self.beta1, self.beta2, self.eps = float(lr), float(beta1), float(beta2), float(eps)

    def build(self, n_params, dtype):
        super().build(n_params, dtype)
        self.m = np.zeros(n_params, dtype)
        self.v = np.zeros(n_params, dtype)

    def step(self, k, params, grads):
        self.step_count += 1
        k.adam_step(params, self.m, self.v, grads, self.lr, self.beta1, self.beta2, self.eps,
                    self.step_count)
