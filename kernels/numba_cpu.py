"""The kernels of ``kernels.reference``, compiled by Numba: same names, same parameters.

Compiled lazily on first call (one specialization per dtype) and cached on disk. The
matrix products are the register-blocked tiles of ``kernels.gemm``, not BLAS.
Every constant is cast to the arrays' dtype so that float32 stays float32 and vectorizes.
Each kernel first checks that its arrays' shapes agree (a few integer comparisons), so a
wrong call raises ValueError instead of reading or writing out of bounds.
"""
import math
import sys
from functools import partial

import numpy as np

from llvmlite import ir
from numba import config, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from fastnn.kernels import (ELU, GELU, LEAKY_RELU, LINEAR, RELU, SIGMOID, SOFTMAX, TANH,
                            cold_start, driver, threads)
from fastnn.kernels.compile import HOOKED, jit, jit_parallel
from fastnn.kernels.reference import GELU_C, GELU_K
from fastnn.kernels.gemm import (matmul, matmul_nt, matmul_nt_scratch, matmul_scratch, matmul_tn,
                          matmul_tn_scratch)

threads.configure()  # the numba backend is being loaded: its thread settings, once

PARALLEL_MIN = 32_768  # elements; below this one thread beats waking the second


@jit(linked=True)
def _bias_activation(out, z, b, activation, alpha):
    """out (N, O) holds x·W; adds b, keeps z when it has rows, applies f in place."""
    n, o = out.shape
    t = out.dtype.type
    zero, one, half, alpha = t(0), t(1), t(0.5), t(alpha)
    for i in range(n):
        for j in range(o):
            out[i, j] += b[j]
    if z.shape[0] > 0:  # a loop: for z[...] = out Numba compiles a message for a shape
        # mismatch, with str() of ints and join (seconds of a cold start, once per ndim)
        for i in range(n):
            for j in range(o):
                z[i, j] = out[i, j]
    if activation == LINEAR:
        return
    if activation == SOFTMAX:
        for i in range(n):
            top = out[i, 0]
            for j in range(o):
                top = max(top, out[i, j])
            total = zero
            for j in range(o):
                out[i, j] = np.exp(out[i, j] - top)
                total += out[i, j]
            scale = one / total
            for j in range(o):
                out[i, j] *= scale
        return
    c, k = t(GELU_C), t(GELU_K)
    for i in range(n):
        for j in range(o):
            v = out[i, j]
            if activation == RELU:
                out[i, j] = max(v, zero)
            elif activation == SIGMOID:
                e = np.exp(-abs(v))
                r = one / (one + e)
                out[i, j] = r if v >= zero else e * r
            elif activation == TANH:
                out[i, j] = np.tanh(v)
            elif activation == LEAKY_RELU:
                out[i, j] = v if v > zero else alpha * v
            elif activation == ELU:
                out[i, j] = v if v > zero else alpha * np.expm1(v)
            elif activation == GELU:
                out[i, j] = half * v * (one + np.tanh(c * (v + k * v * v * v)))
            else:
                raise ValueError("unknown activation code")


@jit
def dense_forward(out, z, scratch, x, W, b, activation, alpha):
    """x (N, I), W (I, O), b (O,), out (N, O), z (N, O) or (0, O); scratch (S,).

    z = x·W + b;  out = f(z), f given by a code from ``kernels.ACTIVATIONS`` with
    parameter alpha (leaky_relu slope, elu scale). z is stored only when it has rows:
    gelu's derivative needs it (``kernels.NEEDS_Z``). scratch, of x's dtype, holds the
    product's copy of W's last columns: with
    S ≥ ``kernels.scratch.dense_scratch(N, I, O, itemsize)`` nothing is allocated; with
    S = 0 it allocates its own.
    """
    n, i = x.shape
    o = W.shape[1]
    if (W.shape[0] != i or b.shape[0] != o or out.shape != (n, o)
            or z.shape[1] != o or (z.shape[0] != 0 and z.shape[0] != n)):
        raise ValueError("dense_forward: shapes must be x (N, I), W (I, O), b (O,), "
                         "out (N, O), z (N, O) or (0, O)")
    if not scratch.dtype == x.dtype or (scratch.size != 0 and scratch.size < matmul_scratch(
            n, o, i, scratch.itemsize)):
        raise ValueError("dense_forward: scratch must have x's dtype and hold "
                         "fastnn.kernels.scratch.dense_scratch(N, I, O, itemsize) elements (or none)")
    matmul(out, scratch, x, W)
    _bias_activation(out, z, b, activation, alpha)


@jit(linked=True)
def _times_derivative(dz, dout, out, z, activation, alpha):
    """dz = dout ⊙ f'(z), with f'(z) written in terms of out = f(z) where the math allows."""
    n, o = dz.shape
    t = dz.dtype.type
    zero, one, half, alpha = t(0), t(1), t(0.5), t(alpha)
    if activation == SOFTMAX:
        raise ValueError("softmax has no standalone backward: it is fused into the cce loss")
    c, k = t(GELU_C), t(GELU_K)
    for i in range(n):
        for j in range(o):
            y, g = out[i, j], dout[i, j]
            if activation == LINEAR:
                dz[i, j] = g
            elif activation == RELU:
                dz[i, j] = g if y > zero else zero
            elif activation == SIGMOID:
                dz[i, j] = g * y * (one - y)
            elif activation == TANH:
                dz[i, j] = g * (one - y * y)
            elif activation == LEAKY_RELU:
                dz[i, j] = g if y > zero else g * alpha
            elif activation == ELU:
                dz[i, j] = g if y > zero else g * (y + alpha)
            elif activation == GELU:
                v = z[i, j]
                th = np.tanh(c * (v + k * v * v * v))
                dz[i, j] = g * (half * (one + th)
                                + half * v * (one - th * th) * c * (one + t(3) * k * v * v))
            else:
                raise ValueError("unknown activation code")


@jit
def dense_backward(dx, dW, db, dz, scratch, x, W, out, z, dout, activation, alpha, l1, l2):
    """x (N, I), W (I, O), out, z, dout (N, O); dz (N, O), dW (I, O), db (O,), dx (N, I);
    scratch (S,).

    dz = dout ⊙ f'(z);  dW = xᵀ·dz + l1·sign(W) + 2·l2·W;  db = Σₙ dz;  dx = dz·Wᵀ.
    An empty dx (shape (0, I)) skips the input gradient, which the first layer never needs.
    scratch, of x's dtype, holds the products' copy of Wᵀ and zero masks: with
    S ≥ ``kernels.scratch.dense_scratch(N, I, O, itemsize)`` (``input_gradient=False``
    when dx is empty) nothing is allocated; with S = 0 they allocate their own.
    """
    n, i = x.shape
    o = W.shape[1]
    if (W.shape[0] != i or dW.shape != W.shape or db.shape[0] != o or dz.shape != (n, o)
            or out.shape != (n, o) or dout.shape != (n, o) or dx.shape[1] != i
            or (dx.shape[0] != 0 and dx.shape[0] != n) or z.shape[1] != o
            or (z.shape[0] != 0 and z.shape[0] != n)):
        raise ValueError("dense_backward: shapes must be x, dx (N, I) or (0, I), W, dW (I, O), "
                         "db (O,), dz, out, dout (N, O), z (N, O) or (0, O)")
    need = matmul_tn_scratch(i, o, n, scratch.itemsize)
    if dx.shape[0] > 0:
        need = max(need, matmul_nt_scratch(n, i, o, scratch.itemsize))
    if not scratch.dtype == x.dtype or (scratch.size != 0 and scratch.size < need):
        raise ValueError("dense_backward: scratch must have x's dtype and hold "
                         "fastnn.kernels.scratch.dense_scratch(N, I, O, itemsize) elements (or none)")
    _times_derivative(dz, dout, out, z, activation, alpha)
    matmul_tn(dW, scratch, x, dz)
    if l1 != 0 or l2 != 0:
        _add_penalty_gradient(dW, W, l1, l2)
    n, o = dz.shape
    db[:] = 0
    for i in range(n):
        for j in range(o):
            db[j] += dz[i, j]
    if dx.shape[0] > 0:
        matmul_nt(dx, scratch, dz, W)


@jit(linked=True)
def _add_penalty_gradient(dW, W, l1, l2):
    """dW += l1·sign(W) + 2·l2·W."""
    t = dW.dtype.type
    zero, l1, l2_twice = t(0), t(l1), t(2 * l2)
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            w = W[i, j]
            l1_term = l1 if w > zero else (-l1 if w < zero else zero)
            dW[i, j] += l1_term + l2_twice * w


@jit
def weight_penalty(W, l1, l2):
    """W (I, O). Returns l1·Σ|W| + l2·ΣW²."""
    absolute, square = 0.0, 0.0
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            w = np.float64(W[i, j])
            absolute += abs(w)
            square += w * w
    return l1 * absolute + l2 * square


@jit
def dropout_forward(out, x, mask, rate):
    """x, mask, out (N, F); mask holds uniform draws in [0, 1).

    out = x ⊙ [mask ≥ rate] / (1 − rate)   (inverted dropout: no rescaling at test time).
    """
    if x.shape != out.shape or mask.shape != out.shape:
        raise ValueError("dropout_forward: out, x and mask must have the same shape")
    _dropout(out, x, mask, rate)


@jit
def dropout_backward(dx, dout, mask, rate):
    """dout, mask, dx (N, F).  dx = dout ⊙ [mask ≥ rate] / (1 − rate)."""
    if dout.shape != dx.shape or mask.shape != dx.shape:
        raise ValueError("dropout_backward: dx, dout and mask must have the same shape")
    _dropout(dx, dout, mask, rate)


@jit(linked=True)
def _dropout(out, x, mask, rate):
    t = out.dtype.type
    zero, scale, rate = t(0), t(1 / (1 - rate)), t(rate)
    n, f = out.shape
    for i in range(n):
        for j in range(f):
            out[i, j] = x[i, j] * scale if mask[i, j] >= rate else zero


@jit(linked=True)
def _inverse_weight_sum(weights, n):
    """1 / Σ weights (n when weights is empty: uniform), 0 when they sum to 0."""
    if weights.shape[0] == 0:
        return 1.0 / n if n > 0 else 0.0
    if weights.shape[0] != n:
        raise ValueError("weights must be empty or hold one weight per row (N,)")
    total = 0.0
    for i in range(n):
        total += weights[i]
    return 1.0 / total if total > 0 else 0.0


@jit
def softmax_cce(dz, z, labels, weights):
    """z (N, C) logits, labels (N,) integers in [0, C), weights (N,) or (0,); dz (N, C).
    Returns the loss.

    loss = Σₙ wₙ(logΣⱼ exp zₙⱼ − zₙ,yₙ) / Σₙ wₙ;  dz = wₙ(softmax(z) − onehot(y)) / Σₙ wₙ.
    Empty weights mean wₙ = 1 (the mean); weights summing to 0 give loss 0 and dz 0.
    """
    n, c = z.shape
    if dz.shape != z.shape or labels.shape[0] != n:
        raise ValueError("softmax_cce: shapes must be z, dz (N, C), labels (N,)")
    inv_total = _inverse_weight_sum(weights, n)
    uniform = weights.shape[0] == 0
    loss = 0.0
    for i in range(n):
        label = labels[i]
        if label < 0 or label >= c:
            raise ValueError("label out of range")
        w = 1.0 if uniform else float(weights[i])
        row_scale = dz.dtype.type(w * inv_total)
        top = z[i, 0]
        for j in range(c):
            top = max(top, z[i, j])
        total = dz.dtype.type(0)
        for j in range(c):
            dz[i, j] = np.exp(z[i, j] - top)
            total += dz[i, j]
        log_total = np.log(total)
        scale = row_scale / total
        for j in range(c):
            dz[i, j] *= scale
        dz[i, label] -= row_scale
        loss += w * (log_total - (z[i, label] - top))
    return loss * inv_total


@jit
def sigmoid_bce(dz, z, y, weights):
    """z (N, O) logits, y (N, O) targets in [0, 1], weights (N,) or (0,); dz (N, O).
    Returns the loss.

    loss = Σₙ wₙ Σⱼ(max(zₙⱼ, 0) − zₙⱼyₙⱼ + log(1 + e^−|zₙⱼ|)) / (O·Σₙ wₙ);
    dz = wₙ(σ(z) − y) / (O·Σₙ wₙ). Empty weights mean wₙ = 1 (the mean over all entries).
    """
    n, o = z.shape
    if dz.shape != z.shape or y.shape != z.shape:
        raise ValueError("sigmoid_bce: z, y and dz must have the same shape (N, O)")
    inv_total = _inverse_weight_sum(weights, n) / o
    uniform = weights.shape[0] == 0
    zero = z.dtype.type(0)
    one = z.dtype.type(1)
    loss = 0.0
    for i in range(n):
        w = 1.0 if uniform else float(weights[i])
        scale = dz.dtype.type(w * inv_total)
        row = 0.0
        for j in range(o):
            zij = z[i, j]
            e = np.exp(-abs(zij))
            row += max(zij, zero) - zij * y[i, j] + np.log1p(e)
            r = one / (one + e)
            sigma = r if zij >= zero else e * r
            dz[i, j] = (sigma - y[i, j]) * scale
        loss += w * row
    return loss * inv_total


@jit
def mse(dz, z, y, weights):
    """z (N, O) predictions, y (N, O) targets, weights (N,) or (0,); dz (N, O).
    Returns the loss.

    loss = Σₙ wₙ Σⱼ(zₙⱼ − yₙⱼ)² / (O·Σₙ wₙ);  dz = 2wₙ(z − y) / (O·Σₙ wₙ).
    Empty weights mean wₙ = 1 (the mean over all entries).
    """
    n, o = z.shape
    if dz.shape != z.shape or y.shape != z.shape:
        raise ValueError("mse: z, y and dz must have the same shape (N, O)")
    inv_total = _inverse_weight_sum(weights, n) / o
    uniform = weights.shape[0] == 0
    loss = 0.0
    for i in range(n):
        w = 1.0 if uniform else float(weights[i])
        scale = dz.dtype.type(2 * w * inv_total)
        row = 0.0
        for j in range(o):
            diff = z[i, j] - y[i, j]
            row += np.float64(diff) * np.float64(diff)
            dz[i, j] = scale * diff
        loss += w * row
    return loss * inv_total


@jit
def argmax_hits(z, labels):
    """z (N, C), labels (N,). Returns how many rows have argmax(zₙ) = yₙ."""
    if labels.shape[0] != z.shape[0] or z.shape[1] == 0:
        raise ValueError("argmax_hits: shapes must be z (N, C), labels (N,), C ≥ 1")
    hits = 0
    for i in range(z.shape[0]):
        best, top = 0, z[i, 0]
        for j in range(1, z.shape[1]):
            if top != top:  # np.argmax's rule: the first NaN is the maximum
                break
            if z[i, j] > top or z[i, j] != z[i, j]:
                best, top = j, z[i, j]
        hits += best == labels[i]
    return hits


@jit
def threshold_hits(z, y):
    """z (N, O) logits, y (N, O) 0/1 targets. Returns how many entries have (zₙⱼ > 0) = yₙⱼ."""
    if y.shape != z.shape:
        raise ValueError("threshold_hits: z and y must have the same shape (N, O)")
    hits = 0
    n, o = z.shape
    for i in range(n):
        for j in range(o):
            if (z[i, j] > 0) == (y[i, j] > 0.5):
                hits += 1
    return hits


@jit(linked=True)
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
    if out.shape[0] != n or out.shape[1] != x.shape[1]:
        raise ValueError("gather_rows: shapes must be x (M, F), index (N,), out (N, F)")
    for r in range(n):
        if index[r] < 0 or index[r] >= x.shape[0]:
            raise IndexError("gather_rows: an index is outside [0, M)")
    chunks = _chunks(out.size)
    if chunks == 1:  # a parallel region, even of one chunk, waits for the other thread
        _gather(out, x, index)
        return
    for c in prange(chunks):
        lo, hi = c * n // chunks, (c + 1) * n // chunks
        _gather(out[lo:hi], x, index[lo:hi])


@jit(linked=True)
def _gather(out, x, index):
    # Element by element with unsigned indices: a plain copy loop. The row assignment
    # out[r] = x[index[r]] goes through Numba's generic slice machinery, which is slower.
    for r in range(index.size):
        src, dst = np.uint64(index[r]), np.uint64(r)
        for c in range(out.shape[1]):
            out[dst, np.uint64(c)] = x[src, np.uint64(c)]


@intrinsic
def _prefetch(typingctx, x, i, j):
    """Hint the CPU to load the cache line holding x[i, j] (llvm.prefetch: never faults)."""
    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        index = [context.cast(builder, v, t, types.intp) for v, t in zip(args[1:], sig.args[1:])]
        ptr = cgutils.get_item_pointer(context, builder, sig.args[0], ary, index,
                                       wraparound=False)
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
            "llvm.prefetch." + i8p.intrinsic_name)
        # read, keep in all cache levels, data cache
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()
    return types.void(x, i, j), codegen


if config.DISABLE_JIT:  # plain Python has no cache hints
    def _prefetch(x, i, j):  # noqa: F811
        pass


@jit
def prefetch_rows(x, index):
    """x (M, F), index (N,) integers in [0, M).  No effect: asks the CPU to start loading
    the rows x[index] into cache, for a `gather_rows` to come (the Numba twin hints the
    CPU; NumPy has no such hint)."""
    line = max(64 // x.itemsize, 1)
    for r in range(index.size):
        if index[r] < 0 or index[r] >= x.shape[0]:
            raise IndexError("prefetch_rows: an index is outside [0, M)")
    for r in range(index.size):
        for c in range(0, x.shape[1], line):
            _prefetch(x, index[r], c)


@jit(linked=True)
def _times_zero_sum(x):
    zero = x.dtype.type(0)
    total = zero
    for i in range(x.size):
        total += x[i] * zero  # NaN for NaN and ±inf, and sums that vectorize
    return total


@jit_parallel
def all_finite(x):
    """x (P,). Returns True when no element is NaN or ±inf."""
    size, chunks = x.size, _chunks(x.size)
    if chunks == 1:
        return _times_zero_sum(x) == 0
    total = x.dtype.type(0)
    for c in prange(chunks):  # a training set is tested at every fit: split it
        total += _times_zero_sum(x[c * size // chunks:(c + 1) * size // chunks])
    return total == 0


@jit
def clip_grad_norm(grads, max_norm):
    """grads (P,). Returns ‖g‖₂; g *= c where c = max_norm / (‖g‖₂ + 1e-6) is below 1.

    PyTorch's clip_grad_norm_ over all parameters at once.
    """
    total = 0.0
    for i in range(grads.size):
        total += np.float64(grads[i]) * np.float64(grads[i])
    norm = math.sqrt(total)
    scale = max_norm / (norm + 1e-6)
    if scale < 1:
        t = grads.dtype.type(scale)
        for i in range(grads.size):
            grads[i] *= t
    return norm


@jit(linked=True)
def _sgd(params, velocity, grads, lr, momentum, nesterov):
    for i in range(params.size):
        velocity[i] = momentum * velocity[i] + grads[i]
        step = grads[i] + momentum * velocity[i] if nesterov else velocity[i]
        params[i] -= lr * step


@jit_parallel
def sgd_step(params, velocity, grads, lr, momentum, nesterov, step):
    """params, velocity, grads (P,); step: as for every optimizer kernel (unused).

    v = μ·v + g;  p = p − lr·(g + μ·v) with Nesterov, else p = p − lr·v   (PyTorch's form;
    μ = 0 is plain SGD).
    """
    if velocity.size != params.size or grads.size != params.size:
        raise ValueError("sgd_step: params, velocity and grads must have the same size")
    t = params.dtype.type
    size, chunks = params.size, _chunks(params.size)
    if chunks == 1:
        _sgd(params, velocity, grads, t(lr), t(momentum), nesterov)
        return
    for c in prange(chunks):
        lo, hi = c * size // chunks, (c + 1) * size // chunks
        _sgd(params[lo:hi], velocity[lo:hi], grads[lo:hi], t(lr), t(momentum), nesterov)


@jit(linked=True)
def _adam(params, m, v, grads, decay, step_size, inv_root_bias2, beta1, beta2, eps):
    one = params.dtype.type(1)
    for i in range(params.size):
        g = grads[i]
        m[i] = beta1 * m[i] + (one - beta1) * g
        v[i] = beta2 * v[i] + (one - beta2) * g * g
        params[i] = params[i] * decay - step_size * m[i] / (np.sqrt(v[i]) * inv_root_bias2 + eps)


@jit_parallel
def adam_step(params, m, v, grads, lr, beta1, beta2, eps, weight_decay, step):
    """params, m, v, grads (P,); step t ≥ 1 counts the updates made, this one included.

    p = p·(1 − lr·λ)   (AdamW's decoupled weight decay; λ = 0 is Adam);
    m = β₁m + (1−β₁)g;  v = β₂v + (1−β₂)g²;
    p = p − lr/(1−β₁ᵗ) · m / (√v / √(1−β₂ᵗ) + ε)   (PyTorch's Adam: ε after the root).
    """
    if m.size != params.size or v.size != params.size or grads.size != params.size:
        raise ValueError("adam_step: params, m, v and grads must have the same size")
    t = params.dtype.type
    decay = t(1 - lr * weight_decay)
    step_size = t(lr / (1 - beta1**step))
    inv_root_bias2 = t(1 / math.sqrt(1 - beta2**step))
    size, chunks = params.size, _chunks(params.size)
    if chunks == 1:
        _adam(params, m, v, grads, decay, step_size, inv_root_bias2, t(beta1), t(beta2), t(eps))
        return
    for c in prange(chunks):
        lo, hi = c * size // chunks, (c + 1) * size // chunks
        _adam(params[lo:hi], m[lo:hi], v[lo:hi], grads[lo:hi], decay, step_size,
              inv_root_bias2, t(beta1), t(beta2), t(eps))


@jit(linked=True)
def _rmsprop(params, square_avg, grads, lr, alpha, eps):
    one = params.dtype.type(1)
    for i in range(params.size):
        g = grads[i]
        square_avg[i] = alpha * square_avg[i] + (one - alpha) * g * g
        params[i] -= lr * g / (np.sqrt(square_avg[i]) + eps)


@jit_parallel
def rmsprop_step(params, square_avg, grads, lr, alpha, eps, step):
    """params, square_avg, grads (P,); step: as for every optimizer kernel (unused).

    s = α·s + (1−α)·g²;  p = p − lr·g / (√s + ε)   (PyTorch's RMSprop, not centered).
    """
    if square_avg.size != params.size or grads.size != params.size:
        raise ValueError("rmsprop_step: params, square_avg and grads must have the same size")
    t = params.dtype.type
    size, chunks = params.size, _chunks(params.size)
    if chunks == 1:
        _rmsprop(params, square_avg, grads, t(lr), t(alpha), t(eps))
        return
    for c in prange(chunks):
        lo, hi = c * size // chunks, (c + 1) * size // chunks
        _rmsprop(params[lo:hi], square_avg[lo:hi], grads[lo:hi], t(lr), t(alpha), t(eps))


loops = driver.Driver(sys.modules[__name__], jit)  # the loops, compiled over the kernels above
predict_rows, training_loop = loops.predict_rows, loops.training_loop
if HOOKED:  # on two cores, a cold start compiles in two processes
    loops.before_cold_compile = partial(cold_start.compile_callees, sys.modules[__name__])
