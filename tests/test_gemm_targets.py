"""The GEMM's register tile per target CPU, and the products compiled for AVX2 or run on
more threads than cores, in fresh processes, against NumPy."""
import os
import platform
import subprocess
import sys

import numba
import pytest

from fastnn.kernels.tiles import register_tile, target_features, vector_lanes
from tests.conftest import ROOT

X86 = platform.machine().lower() in ("x86_64", "amd64")


@pytest.mark.parametrize("features, machine, tile32, tile64, lanes32", [
    pytest.param({"avx2", "fma", "avx512f"}, "x86_64", (6, 64), (6, 32), 16, id="avx512"),
    pytest.param({"avx", "avx2", "fma"}, "x86_64", (4, 16), (4, 8), 8, id="avx2"),
    pytest.param({"sse2"}, "x86_64", (4, 8), (4, 4), 4, id="sse2"),
    pytest.param({"neon"}, "aarch64", (4, 8), (4, 4), 4, id="neon"),
    pytest.param({"avx512f"}, "aarch64", (4, 8), (4, 4), 4, id="x86-names-elsewhere"),
])
def test_the_tile_fits_the_target_registers(features, machine, tile32, tile64, lanes32):
    """MR·NR/L accumulators + NR/L loads of b + 1 broadcast fit the vector registers
    (32 with AVX-512 and NEON, 16 otherwise), and NR is a whole number of vectors."""
    for itemsize, tile in [(4, tile32), (8, tile64)]:
        mr, nr = register_tile(itemsize, features, machine)
        lanes = vector_lanes(itemsize, features, machine)
        assert (mr, nr) == tile
        registers = 32 if "avx512f" in features and machine == "x86_64" else 16
        assert nr % lanes == 0 and mr * nr // lanes + nr // lanes + 1 <= registers
    assert vector_lanes(4, features, machine) == lanes32


def avx2_environment(tmp_path):
    """Numba compiling for Haswell: the host's features without any AVX-512, in a cache
    folder of its own."""
    features = [f for f in sorted(target_features()) if not f.startswith("avx512")]
    return {**os.environ, "NUMBA_CPU_NAME": "haswell",
            "NUMBA_CPU_FEATURES": ",".join("+" + f for f in features),
            "NUMBA_CACHE_DIR": str(tmp_path)}


CHECK = """
import numpy as np
import fastnn as fnn
from fastnn.kernels.gemm import matmul, matmul_nt, matmul_tn
from fastnn.kernels.scratch import matmul_nt_scratch, matmul_scratch, matmul_tn_scratch
from fastnn.kernels.tiles import MR32, NR32
print("tile", MR32, NR32)
rng = np.random.default_rng(0)
for dtype, tol in [(np.float32, 1e-4), (np.float64, 1e-10)]:
    # (1030, 33, 1030): rows 4 KB apart, aᵀ copied first for xᵀ·dz
    for m, k, n in [(130, 300, 70), (7, 1030, 129), (128, 784, 10), (1, 17, 64), (1030, 33, 1030)]:
        a = rng.standard_normal((m, k)).astype(dtype)
        a[rng.random((m, k)) < 0.85] = 0  # the zero-skipping path too
        for left in (a, rng.standard_normal((m, k)).astype(dtype)):
            b = rng.standard_normal((k, n)).astype(dtype)
            expected = left @ b
            for product, x, y, size in [(matmul, left, b, matmul_scratch),
                                        (matmul_tn, left.T.copy(), b, matmul_tn_scratch),
                                        (matmul_nt, left, b.T.copy(), matmul_nt_scratch)]:
                out = np.full((m, n), np.nan, dtype)
                scratch = np.empty(size(m, n, k, np.dtype(dtype).itemsize), dtype)
                product(out, scratch, x, y)
                np.testing.assert_allclose(out, expected, rtol=tol, atol=tol * k)
X = rng.random((512, 784)).astype(np.float32)
X[X < 0.8] = 0
y = rng.integers(0, 10, 512)
weights = []
for backend in ("numpy", "numba"):
    model = fnn.mlp([784, 200, 70, 10], seed=3, backend=backend)
    model.fit(X, y, epochs=2, batch_size=128, verbose=0)
    weights.append(model.get_weights())
for w_numpy, w_numba in zip(*weights):
    np.testing.assert_allclose(w_numba, w_numpy, rtol=1e-3, atol=1e-4)
print("ok")
"""


def run_check(env):
    done = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="compiled kernels only")
@pytest.mark.skipif(not X86 or not {"avx2", "fma"} <= target_features(),
                    reason="needs an x86 CPU with AVX2 and FMA")
def test_products_and_training_compiled_for_avx2_match_numpy(tmp_path):
    """The GEMMs and a short training run, compiled for AVX2 (4 × 16 float32 tile), agree
    with NumPy's products and with the numpy backend."""
    stdout = run_check(avx2_environment(tmp_path))
    assert "tile 4 16" in stdout and stdout.strip().endswith("ok")


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="compiled kernels only")
def test_products_and_training_on_four_threads_match_numpy():
    """NUMBA_NUM_THREADS=4 (more threads than this machine may have cores: correctness
    only): more tasks per product, the same results."""
    stdout = run_check({**os.environ, "NUMBA_NUM_THREADS": "4"})
    assert stdout.strip().endswith("ok")
