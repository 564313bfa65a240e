"""The best float32 GEMM rate of this machine at given shapes: fastnn's matmul or NumPy's.

It runs in a worker process with fastnn's environment (`python -m fastnn.bench.gemm_rates`,
shapes as JSON on stdin, rates as JSON on stdout), so the benchmark's own process never
loads Numba or a BLAS thread pool. The rate of each (implementation, shape) is its best
round: a peak. A higher rate makes the floor lower and the fraction of it reported more
conservative.
"""
import json
import sys
import time

import numpy as np

QUIET = 0.1          # seconds of sleep before each timing: the other pool stops spinning
ROUND_SECONDS = 0.05  # a round repeats the product at least this long

# (M, K, N) of out (M, N) = a (M, K) · b (K, N): square-ish ones, then the MLP's own
GEMM_SHAPES = ((512, 512, 512), (1024, 1024, 1024), (512, 784, 128), (128, 784, 128),
               (512, 128, 64), (2048, 784, 128))


def shape(mkn):
    """"512×784×128" for (512, 784, 128)."""
    return "×".join(map(str, mkn))


def seconds_per_call(f, duration=ROUND_SECONDS):
    """Seconds per call of f(), calling it again and again for `duration` (at least once)."""
    calls, start = 0, time.perf_counter()
    while True:
        f()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= duration:
            return elapsed / calls


def operands(m, k, n, kind, rng):
    """(out, a, b) for out (m, n) = a·b of `kind`: "nn" a (m, k), b (k, n); "tn" a is
    stored (k, m); "nt" b is stored (n, k)."""
    a_shape = (k, m) if kind == "tn" else (m, k)
    b_shape = (n, k) if kind == "nt" else (k, n)
    return (np.empty((m, n), np.float32), rng.random(a_shape, dtype=np.float32),
            rng.random(b_shape, dtype=np.float32))


def numpy_product(kind, out, a, b):
    a = a.T if kind == "tn" else a
    b = b.T if kind == "nt" else b
    return lambda: np.matmul(a, b, out=out)


def fastnn_product(kind, out, a, b):
    from fastnn.kernels import gemm, scratch
    name = {"nn": "matmul", "tn": "matmul_tn", "nt": "matmul_nt"}[kind]
    m, n = out.shape
    k = a.shape[0] if kind == "tn" else a.shape[1]
    work = np.empty(getattr(scratch, f"{name}_scratch")(m, n, k, 4), np.float32)
    product = getattr(gemm, name)
    return lambda: product(out, work, a, b)


def rates(shapes, rounds=2, seed=0):
    """[{"impl", "shape": [M, K, N], "kind", "gflops"}] for both products at each shape
    (M, K, N, kind), kind "nn" (a·b), "tn" (aᵀ·b) or "nt" (a·bᵀ); rounds interleaved."""
    rng = np.random.default_rng(seed)
    found = []
    for m, k, n, kind in shapes:
        out, a, b = operands(m, k, n, kind, rng)
        products = {"numpy": numpy_product(kind, out, a, b),
                    "fastnn": fastnn_product(kind, out, a, b)}
        best = dict.fromkeys(products, float("inf"))
        for f in products.values():
            f()  # compile, or load from Numba's cache
        for _ in range(rounds):
            for impl, f in products.items():
                time.sleep(QUIET)
                best[impl] = min(best[impl], seconds_per_call(f))
        found += [{"impl": impl, "shape": [m, k, n], "kind": kind,
                   "gflops": 2 * m * k * n / seconds / 1e9} for impl, seconds in best.items()]
    return found


def best_rate(found, shapes=None):
    """The fastest entry of `found`, among `shapes` ((M, K, N) or (M, K, N, kind)) if
    given."""
    if shapes is not None:
        keys = {tuple(s[:3]) for s in shapes}
        found = [r for r in found if tuple(r["shape"]) in keys]
    return max(found, key=lambda rate: rate["gflops"])


def merge(*passes):
    """The best rate of each (impl, shape, kind) over several `rates` passes."""
    best = {}
    for rate in (r for found in passes for r in found):
        key = rate["impl"], tuple(rate["shape"]), rate.get("kind", "nn")
        if key not in best or rate["gflops"] > best[key]["gflops"]:
            best[key] = rate
    return list(best.values())


def main():
    request = json.loads(sys.stdin.readline())
    shapes = [tuple(s) for s in request["shapes"]]
    print(json.dumps(rates(shapes, request.get("rounds", 2))))


if __name__ == "__main__":
    main()
