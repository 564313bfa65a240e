"""The register-blocked GEMMs of the Numba backend against NumPy's @, on awkward shapes."""
import itertools

import numpy as np
import pytest

from kernels.gemm import matmul, matmul_nt, matmul_tn
from kernels.scratch import matmul_nt_scratch, matmul_scratch, matmul_tn_scratch
from tests.conftest import TOLERANCE

DIMS = [1, 5, 6, 7, 13, 64, 65, 130]
SHAPES = [pytest.param(m, k, n, id=f"{m}x{k}x{n}")
          for m, k, n in itertools.product(DIMS, [1, 17, 129], DIMS)]


SIZES = {matmul: lambda m, n, k, itemsize: matmul_scratch(m, n, k),
         matmul_tn: matmul_tn_scratch,
         matmul_nt: lambda m, n, k, itemsize: matmul_nt_scratch(m, n, k)}


def scratches(product, m, k, n, dtype):
    """A scratch of the size kernels.scratch gives, full of NaN (nothing may read it
    before writing it), and an empty one (the product allocates its own)."""
    size = SIZES[product](m, n, k, np.dtype(dtype).itemsize)
    return [np.full(size, np.nan, dtype), np.empty(0, dtype)]


def assert_products_match(a, b, dtype):
    """matmul(a, b), matmul_tn(aᵀ, b) and matmul_nt(a, bᵀ) all equal a @ b, every element
    of out written (it starts as NaN), with and without a scratch."""
    (m, k), n = a.shape, b.shape[1]
    expected = a @ b
    tol = dict(rtol=TOLERANCE[dtype]["rtol"] * 10, atol=TOLERANCE[dtype]["atol"] * 10 * k)
    for product, left, right in [(matmul, a, b), (matmul_tn, a.T.copy(), b),
                                 (matmul_nt, a, b.T.copy())]:
        for scratch in scratches(product, m, k, n, dtype):
            out = np.full((m, n), np.nan, dtype)
            product(out, left, right, scratch)
            np.testing.assert_allclose(out, expected, **tol, err_msg=product.__name__)


@pytest.mark.parametrize("m, k, n", SHAPES + [pytest.param(128, 784, 128, id="mnist")])
def test_products_match_numpy(m, k, n, dtype, rng):
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    assert_products_match(a, b, dtype)


def sparse(rng, shape, dtype, zero_share=0.85):
    """A matrix most of whose entries are zero, with some all-zero rows and columns (like
    MNIST's images: a border no image uses, blank strokes)."""
    a = rng.standard_normal(shape).astype(dtype)
    a[rng.random(shape) < zero_share] = 0
    a[:, ::7] = 0
    a[::5] = 0
    return a


@pytest.mark.parametrize("m, k, n", [pytest.param(*s, id="x".join(map(str, s))) for s in
                                     [(128, 784, 128), (512, 784, 70), (13, 65, 70),
                                      (6, 2100, 64), (7, 1025, 129), (130, 1, 64),
                                      (64, 3000, 10)]])
def test_products_of_mostly_zero_operands_match_numpy(m, k, n, dtype, rng):
    """Mostly-zero operands take the path that skips all-zero columns of A (in chunks of
    KC along K): the same products."""
    a = sparse(rng, (m, k), dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    assert_products_match(a, b, dtype)


@pytest.mark.parametrize("product", [matmul, matmul_tn], ids=["matmul", "matmul_tn"])
def test_all_zero_and_empty_operands_give_zeros(product, dtype):
    """An all-zero A and an empty K both overwrite out with exact zeros."""
    for k in (0, 50, 1500):
        a = np.zeros((k, 20) if product is matmul_tn else (20, k), dtype)
        b = np.ones((k, 70), dtype)
        out = np.full((20, 70), np.nan, dtype)
        product(out, a, b, np.empty(0, dtype))
        assert (out == 0).all(), k


@pytest.mark.parametrize("product", [matmul, matmul_tn, matmul_nt],
                         ids=["matmul", "matmul_tn", "matmul_nt"])
def test_a_scratch_too_small_is_refused(product, jit):
    """One element short of what kernels.scratch gives: ValueError, out untouched (the
    NumPy products of NUMBA_DISABLE_JIT need no scratch)."""
    (m, k, n), dtype = (130, 40, 70), np.float32
    a = np.zeros((k, m) if product is matmul_tn else (m, k), dtype)
    b = np.ones((n, k) if product is matmul_nt else (k, n), dtype)
    out = np.full((m, n), np.nan, dtype)
    with pytest.raises(ValueError, match="scratch"):
        product(out, a, b, np.empty(SIZES[product](m, n, k, 4) - 1, dtype))
    assert np.isnan(out).all()
