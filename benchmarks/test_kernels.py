"""Each kernel at MNIST sizes (batch 128, 784-128-64-10): Numba vs its NumPy twin."""
import numpy as np
import pytest

from benchmarks.conftest import warm
from kernels import ACTIVATIONS, gemm, numba_cpu, reference

BACKENDS = [pytest.param(reference, id="numpy"), pytest.param(numba_cpu, id="numba")]
N, SIZES = 128, [(784, 128), (128, 64), (64, 10)]
P = sum(i * o + o for i, o in SIZES)  # 109,386 parameters


@pytest.mark.parametrize("k", BACKENDS)
@pytest.mark.parametrize("i, o", SIZES, ids=[f"{i}x{o}" for i, o in SIZES])
def test_dense_forward_relu(benchmark, k, i, o, rng):
    benchmark.group = f"dense_forward relu {N}x{i}x{o}"
    x, W, b = (rng.random(s, dtype=np.float32) for s in [(N, i), (i, o), o])
    warm(benchmark, k.dense_forward, np.empty((N, o), np.float32), np.empty((0, o), np.float32),
         x, W, b, ACTIVATIONS["relu"], 0.0)


@pytest.mark.parametrize("k", BACKENDS)
@pytest.mark.parametrize("i, o", SIZES, ids=[f"{i}x{o}" for i, o in SIZES])
def test_dense_backward_relu(benchmark, k, i, o, rng):
    benchmark.group = f"dense_backward relu {N}x{i}x{o}"
    x, W, out, dout = (rng.random(s, dtype=np.float32) for s in [(N, i), (i, o), (N, o), (N, o)])
    dx = np.empty((N if i != 784 else 0, i), np.float32)  # the first layer skips dx
    warm(benchmark, k.dense_backward, dx, np.empty((i, o), np.float32),
         np.empty(o, np.float32), np.empty((N, o), np.float32), x, W, out,
         np.empty((0, o), np.float32), dout, ACTIVATIONS["relu"], 0.0, 0.0, 0.0)


@pytest.mark.parametrize("k", BACKENDS)
def test_softmax_cce(benchmark, k, rng):
    benchmark.group = f"softmax_cce {N}x10"
    z = rng.standard_normal((N, 10)).astype(np.float32)
    warm(benchmark, k.softmax_cce, np.empty_like(z), z, rng.integers(0, 10, N))


@pytest.mark.parametrize("k", BACKENDS)
def test_adam_step(benchmark, k, rng):
    benchmark.group = f"adam_step P={P}"
    params, m, v, grads = (rng.random(P, dtype=np.float32) for _ in range(4))
    warm(benchmark, k.adam_step, params, m, v, grads, 1e-3, 0.9, 0.999, 1e-8, 0.0, 1)


@pytest.mark.parametrize("k", BACKENDS)
def test_sgd_step(benchmark, k, rng):
    benchmark.group = f"sgd_step P={P}"
    params, velocity, grads = (rng.random(P, dtype=np.float32) for _ in range(3))
    warm(benchmark, k.sgd_step, params, velocity, grads, 0.01, 0.9, False)


def numpy_matmul(out, a, b):
    np.matmul(a, b, out=out)


@pytest.mark.parametrize("product", [pytest.param(numpy_matmul, id="numpy"),
                                     pytest.param(gemm.matmul, id="numba")])
def test_gemm_peak(benchmark, product, rng):
    """The first layer's x·W (25.7 MFLOP): GFLOP/s = 25.7e-3 / seconds."""
    benchmark.group = f"x·W {N}x784x128 (25.7 MFLOP)"
    a, b = rng.random((N, 784), dtype=np.float32), rng.random((784, 128), dtype=np.float32)
    warm(benchmark, product, np.empty((N, 128), np.float32), a, b, rounds=50)
