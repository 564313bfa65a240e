"""Every kernel in plain NumPy: the specification that the Numba kernels are tested against.

Nothing here is optimized; each function states its equation as directly as NumPy allows.
Shapes: ``N`` samples, ``I`` inputs, ``O`` outputs (``C`` classes), ``P`` parameters.
"""
import math
import sys

import numpy as np

from fastnn.kernels import ELU, GELU, LEAKY_RELU, LINEAR, RELU, SIGMOID, SOFTMAX, TANH, driver

GELU_C = math.sqrt(2 / math.pi)  # gelu uses the tanh approximation (PyTorch approximate="tanh")
GELU_K = 0.044715


def _sigmoid(z):
    e = np.exp(-np.abs(z))  # never overflows, so no branch ever sees inf
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _activate(z, activation, alpha):
    if activation == LINEAR:
        return z
    if activation == RELU:
        return np.maximum(z, 0)
    if activation == SIGMOID:
        return _sigmoid(z)
    if activation == TANH:
        return np.tanh(z)
    if activation == SOFTMAX:
        return _softmax(z)
    if activation == LEAKY_RELU:
        return np.where(z > 0, z, alpha * z)
    if activation == ELU:
        return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0)))
    if activation == GELU:
        return 0.5 * z * (1 + np.tanh(GELU_C * (z + GELU_K * z**3)))
    raise ValueError("unknown activation code")


def _derivative(out, z, activation, alpha):
    """f'(z), written in terms of out = f(z) wherever the math allows."""
    if activation == LINEAR:
        return np.ones_like(out)
    if activation == RELU:
        return (out > 0).astype(out.dtype)
    if activation == SIGMOID:
        return out * (1 - out)
    if activation == TANH:
        return 1 - out * out
    if activation == LEAKY_RELU:
        return np.where(out > 0, 1, alpha).astype(out.dtype)
    if activation == ELU:
        return np.where(out > 0, 1, out + alpha).astype(out.dtype)
    if activation == GELU:
        t = np.tanh(GELU_C * (z + GELU_K * z**3))
        return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * GELU_C * (1 + 3 * GELU_K * z * z)
    raise ValueError("softmax has no standalone backward: it is fused into the cce loss")


def dense_forward(out, z, scratch, x, W, b, activation, alpha):
    """x (N, I), W (I, O), b (O,), out (N, O), z (N, O) or (0, O); scratch (S,).

    z = x·W + b;  out = f(z), f given by a code from ``kernels.ACTIVATIONS`` with
    parameter alpha (leaky_relu slope, elu scale). z is stored only when it has rows:
    gelu's derivative needs it (``kernels.NEEDS_Z``). scratch is room for the compiled
    kernel's copies, so that it allocates nothing (see dense_backward): unused here.
    """
    pre = x @ W + b
    if z.shape[0] > 0:
        z[...] = pre
    out[...] = _activate(pre, activation, alpha)


def dense_backward(dx, dW, db, dz, scratch, x, W, out, z, dout, activation, alpha, l1, l2):
    """x (N, I), W (I, O), out, z, dout (N, O); dz (N, O), dW (I, O), db (O,), dx (N, I);
    scratch (S,).

    dz = dout ⊙ f'(z);  dW = xᵀ·dz + l1·sign(W) + 2·l2·W;  db = Σₙ dz;  dx = dz·Wᵀ.
    An empty dx (shape (0, I)) skips the input gradient, which the first layer never needs.
    scratch is room for the compiled kernel's copy of Wᵀ and its zero masks, so that it
    allocates nothing: of x's dtype, S ≥ ``kernels.scratch.dense_scratch(N, I, O,
    itemsize)``, or 0 to let it allocate. The math needs none: this kernel leaves it alone.
    """
    dz[...] = dout * _derivative(out, z, activation, alpha)
    dW[...] = x.T @ dz + l1 * np.sign(W) + 2 * l2 * W
    db[...] = dz.sum(axis=0)
    if dx.shape[0] > 0:
        dx[...] = dz @ W.T


def _sample_weights(weights, n, dtype):
    """weights (N,), or uniform ones when empty; and 1 / their sum (0 when they sum to 0)."""
    if weights.shape[0] not in (0, n):
        raise ValueError("weights must be empty or hold one weight per row (N,)")
    w = np.ones(n, dtype) if weights.shape[0] == 0 else weights.astype(dtype)
    total = float(w.astype(np.float64).sum())
    return w, (1 / total if total > 0 else 0.0)


def softmax_cce(dz, z, labels, weights):
    """z (N, C) logits, labels (N,) integers in [0, C), weights (N,) or (0,); dz (N, C).
    Returns the loss.

    loss = Σₙ wₙ(logΣⱼ exp zₙⱼ − zₙ,yₙ) / Σₙ wₙ;  dz = wₙ(softmax(z) − onehot(y)) / Σₙ wₙ.
    Empty weights mean wₙ = 1 (the mean); weights summing to 0 give loss 0 and dz 0.
    """
    n = z.shape[0]
    rows = np.arange(n)
    w, inv_total = _sample_weights(weights, n, dz.dtype)
    shifted = z - z.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_p = shifted - log_sum
    dz[...] = np.exp(log_p)
    dz[rows, labels] -= 1
    dz *= (w * dz.dtype.type(inv_total))[:, None]
    return -float((log_p[rows, labels].astype(np.float64) * w).sum() * inv_total)


def sigmoid_bce(dz, z, y, weights):
    """z (N, O) logits, y (N, O) targets in [0, 1], weights (N,) or (0,); dz (N, O).
    Returns the loss.

    loss = Σₙ wₙ Σⱼ(max(zₙⱼ, 0) − zₙⱼyₙⱼ + log(1 + e^−|zₙⱼ|)) / (O·Σₙ wₙ);
    dz = wₙ(σ(z) − y) / (O·Σₙ wₙ). Empty weights mean wₙ = 1 (the mean over all entries).
    """
    w, inv_total = _sample_weights(weights, z.shape[0], dz.dtype)
    scale = w * dz.dtype.type(inv_total / z.shape[1])
    loss = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    dz[...] = (_sigmoid(z) - y) * scale[:, None]
    return float((loss.astype(np.float64).sum(axis=1) * w).sum() * inv_total / z.shape[1])


def mse(dz, z, y, weights):
    """z (N, O) predictions, y (N, O) targets, weights (N,) or (0,); dz (N, O).
    Returns the loss.

    loss = Σₙ wₙ Σⱼ(zₙⱼ − yₙⱼ)² / (O·Σₙ wₙ);  dz = 2wₙ(z − y) / (O·Σₙ wₙ).
    Empty weights mean wₙ = 1 (the mean over all entries).
    """
    w, inv_total = _sample_weights(weights, z.shape[0], dz.dtype)
    scale = w * dz.dtype.type(2 * inv_total / z.shape[1])
    diff = z - y
    dz[...] = diff * scale[:, None]
    return float(((diff.astype(np.float64) ** 2).sum(axis=1) * w).sum() * inv_total
                 / z.shape[1])


def argmax_hits(z, labels):
    """z (N, C), labels (N,). Returns how many rows have argmax(zₙ) = yₙ."""
    return int((z.argmax(axis=1) == labels).sum())


def threshold_hits(z, y):
    """z (N, O) logits, y (N, O) 0/1 targets. Returns how many entries have (zₙⱼ > 0) = yₙⱼ."""
    return int(((z > 0) == (y > 0.5)).sum())


def gather_rows(out, x, index):
    """x (M, F), index (N,) integers in [0, M); out (N, F).  out = x[index]."""
    out[...] = x[index]


def prefetch_rows(x, index):
    """x (M, F), index (N,) integers in [0, M).  No effect: asks the CPU to start loading
    the rows x[index] into cache, for a `gather_rows` to come (the Numba twin hints the
    CPU; NumPy has no such hint)."""


def weight_penalty(W, l1, l2):
    """W (I, O). Returns l1·Σ|W| + l2·ΣW²."""
    W = W.astype(np.float64)
    return float(l1 * np.abs(W).sum() + l2 * (W * W).sum())


def dropout_forward(out, x, mask, rate):
    """x, mask, out (N, F); mask holds uniform draws in [0, 1).

    out = x ⊙ [mask ≥ rate] / (1 − rate)   (inverted dropout: no rescaling at test time).
    """
    out[...] = np.where(mask >= rate, x / (1 - rate), 0)


def dropout_backward(dx, dout, mask, rate):
    """dout, mask, dx (N, F).  dx = dout ⊙ [mask ≥ rate] / (1 − rate)."""
    dx[...] = np.where(mask >= rate, dout / (1 - rate), 0)


def all_finite(x):
    """x (P,). Returns True when no element is NaN or ±inf."""
    return bool(np.isfinite(x).all())


def clip_grad_norm(grads, max_norm):
    """grads (P,). Returns ‖g‖₂; g *= c where c = max_norm / (‖g‖₂ + 1e-6) is below 1.

    PyTorch's clip_grad_norm_ over all parameters at once.
    """
    norm = float(np.sqrt((grads.astype(np.float64) ** 2).sum()))
    scale = max_norm / (norm + 1e-6)
    if scale < 1:
        grads *= scale
    return norm


def sgd_step(params, velocity, grads, lr, momentum, nesterov, step):
    """params, velocity, grads (P,); step: as for every optimizer kernel (unused).

    v = μ·v + g;  p = p − lr·(g + μ·v) with Nesterov, else p = p − lr·v   (PyTorch's form;
    μ = 0 is plain SGD).
    """
    velocity *= momentum
    velocity += grads
    params -= lr * (grads + momentum * velocity if nesterov else velocity)


def adam_step(params, m, v, grads, lr, beta1, beta2, eps, weight_decay, step):
    """params, m, v, grads (P,); step t ≥ 1 counts the updates made, this one included.

    p = p·(1 − lr·λ)   (AdamW's decoupled weight decay; λ = 0 is Adam);
    m = β₁m + (1−β₁)g;  v = β₂v + (1−β₂)g²;
    p = p − lr/(1−β₁ᵗ) · m / (√v / √(1−β₂ᵗ) + ε)   (PyTorch's Adam: ε after the root).
    """
    params *= 1 - lr * weight_decay
    m[...] = beta1 * m + (1 - beta1) * grads
    v[...] = beta2 * v + (1 - beta2) * grads * grads
    bias1 = 1 - beta1**step
    bias2 = 1 - beta2**step
    params -= (lr / bias1) * m / (np.sqrt(v) / np.sqrt(bias2) + eps)


def rmsprop_step(params, square_avg, grads, lr, alpha, eps, step):
    """params, square_avg, grads (P,); step: as for every optimizer kernel (unused).

    s = α·s + (1−α)·g²;  p = p − lr·g / (√s + ε)   (PyTorch's RMSprop, not centered).
    """
    square_avg[...] = alpha * square_avg + (1 - alpha) * grads * grads
    params -= lr * grads / (np.sqrt(square_avg) + eps)


loops = driver.Driver(sys.modules[__name__])  # the loops, run as Python over the kernels above
predict_rows, training_loop = loops.predict_rows, loops.training_loop
