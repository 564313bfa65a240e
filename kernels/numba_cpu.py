"""The kernels of ``kernels.reference``, compiled by Numba: same names, same parameters.

Compiled lazily on first call (one specialization per dtype) and cached on disk. The
matrix products are the register-blocked tiles of ``kernels.gemm``, not BLAS.
Every constant is cast to the arrays' dtype so that float32 stays float32 and vectorizes.
"""
import math

import numpy as np

from kernels import LINEAR, RELU, SIGMOID, SOFTMAX, TANH
from numba import prange

from kernels.compile import jit, jit_parallel
from kernels.gemm import matmul, matmul_nt, matmul_tn

PARALLEL_MIN = 32_768  # elements; below this one thread beats waking the second


@jit
def _bias_activation(out, b, activation):
    """out (N, O) holds x·W; adds b and applies f in place, one loop per activation."""
    n, o = out.shape
    zero = out.dtype.type(0)
    one = out.dtype.type(1)
    if activation == LINEAR:
        for i in range(n):
            for j in range(o):
                out[i, j] += b[j]
    elif activation == RELU:
        for i in range(n):
            for j in range(o):
                out[i, j] = max(out[i, j] + b[j], zero)
    elif activation == SIGMOID:
        for i in range(n):
            for j in range(o):
                z = out[i, j] + b[j]
                e = np.exp(-abs(z))
                r = one / (one + e)
                out[i, j] = r if z >= zero else e * r
    elif activation == TANH:
        for i in range(n):
            for j in range(o):
                out[i, j] = np.tanh(out[i, j] + b[j])
    elif activation == SOFTMAX:
        for i in range(n):
            top = out[i, 0] + b[0]
            for j in range(o):
                out[i, j] += b[j]
                top = max(top, out[i, j])
            total = zero
            for j in range(o):
                out[i, j] = np.exp(out[i, j] - top)
                total += out[i, j]
            scale = one / total
            for j in range(o):
                out[i, j] *= scale
    else:
        raise ValueError("unknown activation code")


@jit
def dense_forward(out, x, W, b, activation):
    """x (N, I), W (I, O), b (O,), out (N, O).

    out = f(x·W + b), with f given by an activation code from ``kernels.ACTIVATIONS``.
    """
    matmul(out, x, W)
    _bias_activation(out, b, activation)


@jit
def _times_derivative(dz, dout, out, activation):
    """dz = dout ⊙ f'(z), with f'(z) written in terms of out = f(z)."""
    n, o = dz.shape
    zero = dz.dtype.type(0)
    one = dz.dtype.type(1)
    if activation == LINEAR:
        for i in range(n):
            for j in range(o):
                dz[i, j] = dout[i, j]
    elif activation == RELU:
        for i in range(n):
            for j in range(o):
                dz[i, j] = dout[i, j] if out[i, j] > zero else zero
    elif activation == SIGMOID:
        for i in range(n):
            for j in range(o):
                dz[i, j] = dout[i, j] * out[i, j] * (one - out[i, j])
    elif activation == TANH:
        for i in range(n):
            for j in range(o):
                dz[i, j] = dout[i, j] * (one - out[i, j] * out[i, j])
    else:
        raise ValueError("softmax has no standalone backward: it is fused into the cce loss")


@jit
def dense_backward(dx, dW, db, dz, x, W, out, dout, activation):
    """x (N, I), W (I, O), out (N, O), dout (N, O); dz (N, O), dW (I, O), db (O,), dx (N, I).

    dz = dout ⊙ f'(out);  dW = xᵀ·dz;  db = Σₙ dz;  dx = dz·Wᵀ.
    An empty dx (shape (0, I)) skips the input gradient, which the first layer never needs.
    """
    _times_derivative(dz, dout, out, activation)
    matmul_tn(dW, x, dz)
    n, o = dz.shape
    db[:] = 0
    for i in range(n):
        for j in range(o):
            db[j] += dz[i, j]
    if dx.shape[0] > 0:
        matmul_nt(dx, dz, W)


@jit
def softmax_cce(dz, z, labels):
    """z (N, C) logits, labels (N,) integers in [0, C); dz (N, C). Returns the loss.

    loss = meanₙ(logΣⱼ exp zₙⱼ − zₙ,yₙ);  dz = (softmax(z) − onehot(y)) / N.
    """
    n, c = z.shape
    inv_n = dz.dtype.type(1 / n)
    loss = 0.0
    for i in range(n):
        label = labels[i]
        if label < 0 or label >= c:
            raise ValueError("label out of range")
        top = z[i, 0]
        for j in range(c):
            top = max(top, z[i, j])
        total = dz.dtype.type(0)
        for j in range(c):
            dz[i, j] = np.exp(z[i, j] - top)
            total += dz[i, j]
        log_total = np.log(total)
        scale = inv_n / total
        for j in range(c):
            dz[i, j] *= scale
        dz[i, label] -= inv_n
        loss += log_total - (z[i, label] - top)
    return loss / n


@jit
def sigmoid_bce(dz, z, y):
    """z (N, O) logits, y (N, O) targets in [0, 1]; dz (N, O). Returns the loss.

    loss = mean(max(z, 0) − z·y + log(1 + e^−|z|));  dz = (σ(z) − y) / (N·O).
    """
    n, o = z.shape
    zero = z.dtype.type(0)
    one = z.dtype.type(1)
    inv_size = z.dtype.type(1 / z.size)
    loss = 0.0
    for i in range(n):
        for j in range(o):
            zij = z[i, j]
            e = np.exp(-abs(zij))
            loss += max(zij, zero) - zij * y[i, j] + np.log1p(e)
            r = one / (one + e)
            sigma = r if zij >= zero else e * r
            dz[i, j] = (sigma - y[i, j]) * inv_size
    return loss / z.size


@jit
def mse(dz, z, y):
    """z (N, O) predictions, y (N, O) targets; dz (N, O). Returns the loss.

    loss = mean((z − y)²);  dz = 2(z − y) / (N·O).
    """
    n, o = z.shape
    scale = z.dtype.type(2 / z.size)
    loss = 0.0
    for i in range(n):
        for j in range(o):
            diff = z[i, j] - y[i, j]
            loss += float(diff) * float(diff)
            dz[i, j] = scale * diff
    return loss / z.size


@jit
def argmax_hits(z, labels):
    """z (N, C), labels (N,). Returns how many rows have argmax(zₙ) = yₙ."""
    hits = 0
    for i in range(z.shape[0]):
        if np.argmax(z[i]) == labels[i]:
            hits += 1
    return hits


@jit
def threshold_hits(z, y):
    """z (N, O) logits, y (N, O) 0/1 targets. Returns how many entries have (zₙⱼ > 0) = yₙⱼ."""
    hits = 0
    n, o = z.shape
    for i in range(n):
        for j in range(o):
            if (z[i, j] > 0) == (y[i, j] > 0.5):
                hits += 1
    return hits


@jit
def _chunks(size):
    """How many contiguous chunks to split `size` elements into: 1 when threads cost more.

    Parallel kernels hand each chunk to a serial helper as slices: a loop over
    range(lo, hi) would keep Numba's negative-index wrap-around and not vectorize.
    """
    return 1 if size < PARALLEL_MIN else 8


@jit_parallel
def gather_rows(out, x, index):
    """x (M, F), index (N,) integers in [0, M); out (N, F).  out = x[index]."""
    n = index.size
    chunks = _chunks(out.size)
    for c in prange(chunks):
        for r in range(c * n // chunks, (c + 1) * n // chunks):
            out[r] = x[index[r]]


@jit
def _sgd(params, velocity, grads, lr, momentum):
    for i in range(params.size):
        velocity[i] = momentum * velocity[i] + grads[i]
        params[i] -= lr * velocity[i]


@jit_parallel
def sgd_step(params, velocity, grads, lr, momentum):
    """params, velocity, grads (P,).

    v = μ·v + g;  p = p − lr·v   (PyTorch's form; μ = 0 is plain SGD).
    """
    t = params.dtype.type
    size, chunks = params.size, _chunks(params.size)
    for c in prange(chunks):
        lo, hi = c * size // chunks, (c + 1) * size // chunks
        _sgd(params[lo:hi], velocity[lo:hi], grads[lo:hi], t(lr), t(momentum))


@jit
def _adam(params, m, v, grads, step_size, inv_root_bias2, beta1, beta2, eps):
    one = params.dtype.type(1)
    for i in range(params.size):
        g = grads[i]
        m[i] = beta1 * m[i] + (one - beta1) * g
        v[i] = beta2 * v[i] + (one - beta2) * g * g
        params[i] -= step_size * m[i] / (np.sqrt(v[i]) * inv_root_bias2 + eps)


@jit_parallel
def adam_step(params, m, v, grads, lr, beta1, beta2, eps, step):
    """params, m, v, grads (P,); step t ≥ 1 counts the updates made, this one included.

    m = β₁m + (1−β₁)g;  v = β₂v + (1−β₂)g²;
    p = p − lr/(1−β₁ᵗ) · m / (√v / √(1−β₂ᵗ) + ε)   (PyTorch's Adam: ε after the root).
    """
    t = params.dtype.type
    step_size = t(lr / (1 - beta1**step))
    inv_root_bias2 = t(1 / math.sqrt(1 - beta2**step))
    size, chunks = params.size, _chunks(params.size)
    for c in prange(chunks):
        lo, hi = c * size // chunks, (c + 1) * size // chunks
        _adam(params[lo:hi], m[lo:hi], v[lo:hi], grads[lo:hi], step_size, inv_root_bias2,
              t(beta1), t(beta2), t(eps))
