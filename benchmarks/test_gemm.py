"""float32 GEMMs: fastnn's packed kernels.gemm products beside NumPy's BLAS, on
square-ish and the MLP's shapes (out = a·b), and the three products of a 1024-wide layer
at batch 128 (x·W, xᵀ·dz, dz·Wᵀ). extra_info holds GFLOP/s; the best rate of the run is
the FLOP floor's (see the gemm_peak fixture and fastnn.bench)."""
import numpy as np
import pytest

from benchmarks.conftest import median, note, warm
from fastnn import bench
from fastnn.kernels import scratch as S
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


def numpy_matmul_tn(out, scratch, a, b):
    np.matmul(a.T, b, out=out)


def numpy_matmul_nt(out, scratch, a, b):
    np.matmul(a, b.T, out=out)


def fastnn_matmul_tn(out, scratch, a, b):
    from fastnn.kernels import gemm
    gemm.matmul_tn(out, scratch, a, b)


def fastnn_matmul_nt(out, scratch, a, b):
    from fastnn.kernels import gemm
    gemm.matmul_nt(out, scratch, a, b)


WIDE, BATCH = 1024, 128
# The three products of a 1024-wide Dense layer at batch 128, each as (name, the
# arguments' shapes, out's shape, the scratch size, fastnn's and NumPy's product).
WIDE_PRODUCTS = [
    pytest.param("x·W 128x1024·1024x1024", (BATCH, WIDE), (WIDE, WIDE), (BATCH, WIDE),
                 S.matmul_scratch(BATCH, WIDE, WIDE, 4), fastnn_matmul, numpy_matmul,
                 id="forward"),
    pytest.param("xᵀ·dz (1024x128)ᵀ·128x1024", (BATCH, WIDE), (BATCH, WIDE), (WIDE, WIDE),
                 S.matmul_tn_scratch(WIDE, WIDE, BATCH, 4), fastnn_matmul_tn,
                 numpy_matmul_tn, id="dW"),
    pytest.param("dz·Wᵀ 128x1024·(1024x1024)ᵀ", (BATCH, WIDE), (WIDE, WIDE), (BATCH, WIDE),
                 S.matmul_nt_scratch(BATCH, WIDE, WIDE, 4), fastnn_matmul_nt,
                 numpy_matmul_nt, id="dx"),
]


@pytest.mark.parametrize("impl", ["numpy", "fastnn"])
@pytest.mark.parametrize("name, a_shape, b_shape, out_shape, size, fastnn, numpy",
                         WIDE_PRODUCTS)
def test_wide_layer_products(benchmark, impl, name, a_shape, b_shape, out_shape, size,
                             fastnn, numpy, rng):
    """The forward, dW and dx products of a 1024-wide layer at batch 128 (268 MFLOP each),
    fastnn's packed GEMMs beside NumPy's BLAS in one group per product."""
    benchmark.group = f"wide layer {name}"
    a, b = rng.random(a_shape, dtype=np.float32), rng.random(b_shape, dtype=np.float32)
    product = fastnn if impl == "fastnn" else numpy
    warm(benchmark, product, np.empty(out_shape, np.float32), np.empty(size, np.float32),
         a, b, rounds=30)
    if median(benchmark):
        gflops = 2 * BATCH * WIDE * WIDE / median(benchmark) / 1e9
        note(benchmark, f"{impl} {gflops:.0f} GFLOP/s", gflops=gflops)
