"""Each kernel at MNIST sizes (batch 128, 784-128-64-10): Numba vs its NumPy twin.

The matrix products alone are in test_gemm.py."""
import numpy as np
import pytest

from benchmarks.conftest import warm
from fastnn.kernels import ACTIVATIONS, numba_cpu, reference
from fastnn.kernels.scratch import dense_scratch

BACKENDS = [pytest.param(reference, id="numpy"), pytest.param(numba_cpu, id="numba")]
N, SIZES = 128, [(784, 128), (128, 64), (64, 10)]
P = sum(i * o + o for i, o in SIZES)  # 109,386 parameters


@pytest.mark.parametrize("k", BACKENDS)
@pytest.mark.parametrize("i, o", SIZES, ids=[f"{i}x{o}" for i, o in SIZES])
def test_dense_forward_relu(benchmark, k, i, o, rng):
    benchmark.group = f"dense_forward relu {N}x{i}x{o}"
    x, W, b = (rng.random(s, dtype=np.float32) for s in [(N, i), (i, o), o])
    warm(benchmark, k.dense_forward, np.empty((N, o), np.float32), np.empty((0, o), np.float32),
         np.empty(dense_scratch(N, i, o, 4), np.float32), x, W, b, ACTIVATIONS["relu"], 0.0)


@pytest.mark.parametrize("k", BACKENDS)
@pytest.mark.parametrize("i, o", SIZES, ids=[f"{i}x{o}" for i, o in SIZES])
def test_dense_backward_relu(benchmark, k, i, o, rng):
    benchmark.group = f"dense_backward relu {N}x{i}x{o}"
    x, W, out, dout = (rng.random(s, dtype=np.float32) for s in [(N, i), (i, o), (N, o), (N, o)])
    dx = np.empty((N if i != 784 else 0, i), np.float32)  # the first layer skips dx
    scratch = np.empty(dense_scratch(N, i, o, 4), np.float32)
    warm(benchmark, k.dense_backward, dx, np.empty((i, o), np.float32),
         np.empty(o, np.float32), np.empty((N, o), np.float32), scratch, x, W, out,
         np.empty((0, o), np.float32), dout, ACTIVATIONS["relu"], 0.0, 0.0, 0.0)


@pytest.mark.parametrize("k", BACKENDS)
def test_softmax_cce(benchmark, k, rng):
    benchmark.group = f"softmax_cce {N}x10"
    z = rng.standard_normal((N, 10)).astype(np.float32)
    warm(benchmark, k.softmax_cce, np.empty_like(z), z, rng.integers(0, 10, N), z[0, :0])


@pytest.mark.parametrize("k", BACKENDS)
def test_adam_step(benchmark, k, rng):
    benchmark.group = f"adam_step P={P}"
    params, m, v, grads = (rng.random(P, dtype=np.float32) for _ in range(4))
    warm(benchmark, k.adam_step, params, m, v, grads, 1e-3, 0.9, 0.999, 1e-8, 0.0, 1)


@pytest.mark.parametrize("k", BACKENDS)
def test_sgd_step(benchmark, k, rng):
    benchmark.group = f"sgd_step P={P}"
    params, velocity, grads = (rng.random(P, dtype=np.float32) for _ in range(3))
    warm(benchmark, k.sgd_step, params, velocity, grads, 0.01, 0.9, False, 1)


@pytest.mark.parametrize("k", BACKENDS)
def test_sigmoid_bce(benchmark, k, rng):
    benchmark.group = f"sigmoid_bce {N}x10"
    z = rng.standard_normal((N, 10)).astype(np.float32)
    y = rng.integers(0, 2, (N, 10)).astype(np.float32)
    warm(benchmark, k.sigmoid_bce, np.empty_like(z), z, y, z[0, :0])


@pytest.mark.parametrize("k", BACKENDS)
def test_mse(benchmark, k, rng):
    benchmark.group = f"mse {N}x10"
    z, y = (rng.standard_normal((N, 10)).astype(np.float32) for _ in range(2))
    warm(benchmark, k.mse, np.empty_like(z), z, y, z[0, :0])


@pytest.mark.parametrize("k", BACKENDS)
def test_argmax_hits(benchmark, k, rng):
    benchmark.group = f"argmax_hits {N}x10"
    z = rng.standard_normal((N, 10)).astype(np.float32)
    warm(benchmark, k.argmax_hits, z, rng.integers(0, 10, N))


@pytest.mark.parametrize("k", BACKENDS)
def test_threshold_hits(benchmark, k, rng):
    benchmark.group = f"threshold_hits {N}x10"
    z = rng.standard_normal((N, 10)).astype(np.float32)
    warm(benchmark, k.threshold_hits, z, rng.integers(0, 2, (N, 10)).astype(np.float32))


@pytest.fixture(scope="module")
def images():
    """An MNIST-sized training array (60,000 x 784 float32) to gather batches from."""
    return np.random.default_rng(0).random((60_000, 784), dtype=np.float32)


@pytest.mark.parametrize("k", BACKENDS)
def test_gather_rows(benchmark, k, rng, images):
    benchmark.group = f"gather_rows {N} of 60000x784"
    index = rng.permutation(len(images))[:N]
    warm(benchmark, k.gather_rows, np.empty((N, 784), np.float32), images, index)


@pytest.mark.parametrize("k", BACKENDS)
def test_weight_penalty(benchmark, k, rng):
    benchmark.group = "weight_penalty 784x128"
    warm(benchmark, k.weight_penalty, rng.random((784, 128), dtype=np.float32), 1e-5, 1e-4)


@pytest.mark.parametrize("k", BACKENDS)
def test_dropout_forward(benchmark, k, rng):
    benchmark.group = f"dropout_forward {N}x128"
    x, mask = (rng.random((N, 128), dtype=np.float32) for _ in range(2))
    warm(benchmark, k.dropout_forward, np.empty_like(x), x, mask, 0.2)


@pytest.mark.parametrize("k", BACKENDS)
def test_dropout_backward(benchmark, k, rng):
    benchmark.group = f"dropout_backward {N}x128"
    dout, mask = (rng.random((N, 128), dtype=np.float32) for _ in range(2))
    warm(benchmark, k.dropout_backward, np.empty_like(dout), dout, mask, 0.2)


@pytest.mark.parametrize("k", BACKENDS)
def test_clip_grad_norm(benchmark, k, rng):
    benchmark.group = f"clip_grad_norm P={P}"
    grads = rng.random(P, dtype=np.float32)
    warm(benchmark, k.clip_grad_norm, grads, 1e9)  # no scaling: the same work every round


@pytest.mark.parametrize("k", BACKENDS)
def test_rmsprop_step(benchmark, k, rng):
    benchmark.group = f"rmsprop_step P={P}"
    params, square_avg, grads = (rng.random(P, dtype=np.float32) for _ in range(3))
    warm(benchmark, k.rmsprop_step, params, square_avg, grads, 1e-3, 0.99, 1e-8, 1)
