"""Every kernel in plain NumPy: the specification that the Numba kernels are tested against.

Nothing here is optimized; each function states its equation as directly as NumPy allows.
Shapes: ``N`` samples, ``I`` inputs, ``O`` outputs (``C`` classes), ``P`` parameters.
"""
import numpy as np

from kernels import LINEAR, RELU, SIGMOID, SOFTMAX, TANH


def _sigmoid(z):
    e = np.exp(-np.abs(z))  # never overflows, so no branch ever sees inf
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _activate(z, activation):
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
    raise ValueError("unknown activation code")


def _derivative(out, activation):
    """f'(z) written in terms of out = f(z)."""
    if activation == LINEAR:
        return np.ones_like(out)
    if activation == RELU:
        return (out > 0).astype(out.dtype)
    if activation == SIGMOID:
        return out * (1 - out)
    if activation == TANH:
        return 1 - out * out
    raise ValueError("softmax has no standalone backward: it is fused into the cce loss")


def dense_forward(out, x, W, b, activation):
    """x (N, I), W (I, O), b (O,), out (N, O).

    out = f(x·W + b), with f given by an activation code from ``kernels.ACTIVATIONS``.
    """
    out[...] = _activate(x @ W + b, activation)


def dense_backward(dx, dW, db, dz, x, W, out, dout, activation):
    """x (N, I), W (I, O), out (N, O), dout (N, O); dz (N, O), dW (I, O), db (O,), dx (N, I).

    dz = dout ⊙ f'(out);  dW = xᵀ·dz;  db = Σₙ dz;  dx = dz·Wᵀ.
    An empty dx (shape (0, I)) skips the input gradient, which the first layer never needs.
    """
    dz[...] = dout * _derivative(out, activation)
    dW[...] = x.T @ dz
    db[...] = dz.sum(axis=0)
    if dx.shape[0] > 0:
        dx[...] = dz @ W.T


def softmax_cce(dz, z, labels):
    """z (N, C) logits, labels (N,) integers in [0, C); dz (N, C). Returns the loss.

    loss = meanₙ(logΣⱼ exp zₙⱼ − zₙ,yₙ);  dz = (softmax(z) − onehot(y)) / N.
    """
    n = z.shape[0]
    rows = np.arange(n)
    shifted = z - z.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_p = shifted - log_sum
    dz[...] = np.exp(log_p)
    dz[rows, labels] -= 1
    dz /= n
    return -float(log_p[rows, labels].astype(np.float64).mean())


def sigmoid_bce(dz, z, y):
    """z (N, O) logits, y (N, O) targets in [0, 1]; dz (N, O). Returns the loss.

    loss = mean(max(z, 0) − z·y + log(1 + e^−|z|));  dz = (σ(z) − y) / (N·O).
    """
    loss = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    dz[...] = (_sigmoid(z) - y) / z.size
    return float(loss.astype(np.float64).mean())


def mse(dz, z, y):
    """z (N, O) predictions, y (N, O) targets; dz (N, O). Returns the loss.

    loss = mean((z − y)²);  dz = 2(z − y) / (N·O).
    """
    diff = z - y
    dz[...] = 2 * diff / z.size
    return float((diff.astype(np.float64) ** 2).mean())


def argmax_hits(z, labels):
    """z (N, C), labels (N,). Returns how many rows have argmax(zₙ) = yₙ."""
    return int((z.argmax(axis=1) == labels).sum())


def threshold_hits(z, y):
    """z (N, O) logits, y (N, O) 0/1 targets. Returns how many entries have (zₙⱼ > 0) = yₙⱼ."""
    return int(((z > 0) == (y > 0.5)).sum())


def gather_rows(out, x, index):
    """x (M, F), index (N,) integers in [0, M); out (N, F).  out = x[index]."""
    out[...] = x[index]


def sgd_step(params, velocity, grads, lr, momentum):
    """params, velocity, grads (P,).

    v = μ·v + g;  p = p − lr·v   (PyTorch's form; μ = 0 is plain SGD).
    """
    velocity *= momentum
    velocity += grads
    params -= lr * velocity


def adam_step(params, m, v, grads, lr, beta1, beta2, eps, step):
    """params, m, v, grads (P,); step t ≥ 1 counts the updates made, this one included.

    m = β₁m + (1−β₁)g;  v = β₂v + (1−β₂)g²;
    p = p − lr/(1−β₁ᵗ) · m / (√v / √(1−β₂ᵗ) + ε)   (PyTorch's Adam: ε after the root).
    """
    m[...] = beta1 * m + (1 - beta1) * grads
    v[...] = beta2 * v + (1 - beta2) * grads * grads
    bias1 = 1 - beta1**step
    bias2 = 1 - beta2**step
    params -= (lr / bias1) * m / (np.sqrt(v) / np.sqrt(bias2) + eps)
