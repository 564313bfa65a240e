"""Where a training step's time goes, measured inside the compiled loop (x86 only).

    FASTNN_DATA=… python benchmarks/step_profile.py 784-128-64-10 32 [samples] [epochs]

A copy of the driver's step for a ReLU MLP with softmax + cross-entropy and Adam, written
as one Numba loop over an epoch of shuffled MNIST batches that calls the same kernels
(``kernels.numba_cpu``) and reads the CPU's time-stamp counter between them. Timing each
kernel alone, again and again, keeps its data in cache and hides what the other kernels
of a step evict; timing from Python adds a microsecond per call. Prints the best epoch's
microseconds per step for each part: the batch gather, each layer's forward and backward
kernel, the loss, and the Adam update. It leaves out what the real driver adds (hits,
the loss check, progress); ``benchmarks/epoch_once.py`` times the real thing.
"""
import sys
import time

import numpy as np
from llvmlite import ir
from numba import njit, typed, types
from numba.extending import intrinsic

import fastnn as fnn
from fastnn.kernels import LINEAR, RELU, numba_cpu as k


@intrinsic
def _cycles(typingctx):
    """The time-stamp counter (llvm.readcyclecounter: rdtsc on x86)."""
    def codegen(context, builder, sig, args):
        fn = builder.module.declare_intrinsic("llvm.readcyclecounter",
                                              fnty=ir.FunctionType(ir.IntType(64), []))
        return builder.call(fn, [])
    return types.int64(), codegen


@njit
def epoch(T, order, X, y, x, labels, Ws, bs, dWs, dbs, outs, douts, dzs, no_z, no_dx,
          scratch, params, m, v, grads, first_step):
    """One epoch of steps over `order`; T[part] += the counter ticks each part took:
    0 gather, 1…L forward, L+1 loss, L+2…2L+1 backward (layer L first), 2L+2 update."""
    rows, layers = x.shape[0], len(Ws)
    steps = order.size // rows
    no_weights = params[:0]
    for s in range(steps):
        index = order[s * rows:(s + 1) * rows]
        t = _cycles()
        k.gather_rows(x, X, index)
        for r in range(rows):
            labels[r] = y[index[r]]
        if s + 1 < steps:
            k.prefetch_rows(X, order[(s + 1) * rows:(s + 2) * rows])
        now = _cycles()
        T[0] += now - t
        for i in range(layers):
            t = now
            k.dense_forward(outs[i], no_z[i], scratch, x if i == 0 else outs[i - 1], Ws[i],
                            bs[i], LINEAR if i == layers - 1 else RELU, 0.0)
            now = _cycles()
            T[1 + i] += now - t
        t = now
        k.softmax_cce(douts[layers - 1], outs[layers - 1], labels, no_weights)
        now = _cycles()
        T[layers + 1] += now - t
        for i in range(layers - 1, -1, -1):
            t = now
            k.dense_backward(no_dx if i == 0 else douts[i - 1], dWs[i], dbs[i], dzs[i],
                             scratch, x if i == 0 else outs[i - 1], Ws[i], outs[i], no_z[i],
                             douts[i], LINEAR if i == layers - 1 else RELU, 0.0, 0.0, 0.0)
            now = _cycles()
            T[2 * layers + 1 - i] += now - t
        t = now
        k.adam_step(params, m, v, grads, 1e-3, 0.9, 0.999, 1e-8, 0.0, first_step + s + 1)
        T[2 * layers + 2] += _cycles() - t
    return steps


def main(sizes, rows, samples, epochs):
    (X, y), _ = fnn.datasets.load_mnist(download=False)
    X, y = np.ascontiguousarray(X[:samples]), y[:samples].astype(np.int64)
    model = fnn.mlp(sizes, seed=0, optimizer=fnn.Adam(lr=1e-3))
    model.build()
    dense = model.dense_layers
    Ws, bs = typed.List([d.W for d in dense]), typed.List([d.b for d in dense])
    dWs, dbs = typed.List([d.dW for d in dense]), typed.List([d.db for d in dense])
    outs, douts, dzs = (typed.List([np.empty((rows, n), np.float32) for n in sizes[1:]])
                        for _ in range(3))
    no_z = typed.List([np.empty((0, n), np.float32) for n in sizes[1:]])
    scratch = np.empty(max(d.scratch_size(rows, 4, first=i == 0) for i, d in enumerate(dense)),
                       np.float32)
    x, labels = np.empty((rows, sizes[0]), np.float32), np.empty(rows, np.int64)
    no_dx = np.empty((0, sizes[0]), np.float32)
    opt = model.optimizer
    layers = len(dense)
    T = np.zeros(2 * layers + 3, np.int64)
    rng = np.random.default_rng(0)
    arguments = (X, y, x, labels, Ws, bs, dWs, dbs, outs, douts, dzs, no_z, no_dx, scratch,
                 model.params, opt.m, opt.v, model.grads)
    epoch(T, rng.permutation(samples)[:4 * rows], *arguments, 0)  # compile, warm up
    best, step = None, 0
    for _ in range(epochs):
        T[:] = 0
        start = time.perf_counter()
        steps = epoch(T, rng.permutation(samples), *arguments, step)
        seconds = time.perf_counter() - start
        step += steps
        if best is None or seconds < best[0]:
            best = (seconds, T.copy(), steps)
    seconds, T, steps = best
    per_tick = seconds / T.sum()  # the parts fill the epoch: calibrates the counter
    names = (["gather"] + [f"forward {i + 1}" for i in range(layers)] + ["loss"]
             + [f"backward {i}" for i in range(layers, 0, -1)] + ["adam"])
    print(f"{'-'.join(map(str, sizes))}, batch {rows}: best of {epochs} epochs "
          f"{seconds:.3f} s, {seconds / steps * 1e6:.0f} µs per step")
    for name, ticks in zip(names, T):
        print(f"  {name:12s} {ticks * per_tick / steps * 1e6:8.1f} µs")


if __name__ == "__main__":
    args = sys.argv[1:]
    main([int(s) for s in args[0].split("-")], int(args[1]),
         int(args[2]) if len(args) > 2 else 60_000, int(args[3]) if len(args) > 3 else 3)
