"""float32 GEMM out = a·b: fastnn's register-blocked kernels.gemm.matmul beside NumPy's
BLAS, on square-ish and the MLP's shapes. extra_info holds GFLOP/s; the best rate of the
run is the FLOP floor's (see the gemm_peak fixture and fastnn.bench)."""
import numpy as np
import pytest

from benchmarks.conftest import median, note, warm
from fastnn import bench
from fastnn.kernels.scratch import matmul_scratch


def numpy_matmul(out, scratch, a, b):
    np.matmul(a, b, out=out)


def fastnn_matmul(out, scratch, a, b):
    from fastnn.kernels import gemm
    gemm.matmul(out, scratch, a, b)


@pytest.mark.parametrize("product", [pytest.param(numpy_matmul, id="numpy"),
                                     pytest.param(fastnn_matmul, id="fastnn")])
@pytest.mark.parametrize("m, k, n", bench.GEMM_SHAPES,
                         ids=[bench.shape(s).replace("×", "x") for s in bench.GEMM_SHAPES])
def test_gemm(benchmark, product, m, k, n, rng):
    benchmark.group = f"GEMM {m}x{k}x{n} ({2 * m * k * n / 1e6:.1f} MFLOP)"
    a, b = rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)
    scratch = np.empty(matmul_scratch(m, n, k, 4), np.float32)
    warm(benchmark, product, np.empty((m, n), np.float32), scratch, a, b, rounds=50)
    if median(benchmark):
        gflops = 2 * m * k * n / median(benchmark) / 1e9
        note(benchmark, f"{product.__name__.split('_')[0]} {gflops:.0f} GFLOP/s", gflops=gflops)
