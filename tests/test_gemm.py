"""The register-blocked GEMMs of the Numba backend against NumPy's @, on awkward shapes."""
import itertools

import numpy as np
import pytest

from fastnn.kernels.gemm import matmul, matmul_nt, matmul_tn
from fastnn.kernels.scratch import matmul_nt_scratch, matmul_scratch, matmul_tn_scratch
from tests.conftest import TOLERANCE

DIMS = [1, 5, 6, 7, 13, 64, 65, 130]
SHAPES = [pytest.param(m, k, n, id=f"{m}x{k}x{n}")
          for m, k, n in itertools.product(DIMS, [1, 17, 129], DIMS)]


SIZES = {matmul: matmul_scratch, matmul_tn: matmul_tn_scratch, matmul_nt: matmul_nt_scratch}
GUARD = 64  # elements after the scratch that no product may write


def scratches(product, m, k, n, dtype):
    """(scratch, guard) pairs: a scratch of the size kernels.scratch gives, full of NaN
    (nothing may read it before writing it), followed in memory by GUARD elements that
    must stay as they are; and an empty one (the product allocates its own)."""
    size = SIZES[product](m, n, k, np.dtype(dtype).itemsize)
    memory = np.full(size + GUARD, np.nan, dtype)
    memory[size:] = 7
    return [(memory[:size], memory[size:]), (np.empty(0, dtype), memory[size:])]


def assert_products_match(a, b, dtype):
    """matmul(a, b), matmul_tn(aᵀ, b) and matmul_nt(a, bᵀ) all equal a @ b, every element
    of out written (it starts as NaN), with and without a scratch, and nothing written
    past the scratch's end."""
    (m, k), n = a.shape, b.shape[1]
    expected = a @ b
    tol = dict(rtol=TOLERANCE[dtype]["rtol"] * 10, atol=TOLERANCE[dtype]["atol"] * 10 * k)
    for product, left, right in [(matmul, a, b), (matmul_tn, a.T.copy(), b),
                                 (matmul_nt, a, b.T.copy())]:
        for scratch, guard in scratches(product, m, k, n, dtype):
            out = np.full((m, n), np.nan, dtype)
            product(out, scratch, left, right)
            np.testing.assert_allclose(out, expected, **tol, err_msg=product.__name__)
            assert (guard == 7).all(), product.__name__


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
                                      (64, 3000, 10), (200, 784, 10), (6000, 24, 64)]])
def test_products_of_mostly_zero_operands_match_numpy(m, k, n, dtype, rng):
    """Mostly-zero operands take the path that skips all-zero columns of A (in chunks of
    KC along K): the same products."""
    a = sparse(rng, (m, k), dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    assert_products_match(a, b, dtype)
    assert_products_match(a, sparse(rng, (k, n), dtype), dtype)  # zero masks of b too


@pytest.mark.parametrize("product", [matmul, matmul_tn], ids=["matmul", "matmul_tn"])
def test_all_zero_and_empty_operands_give_zeros(product, dtype):
    """An all-zero A and an empty K both overwrite out with exact zeros."""
    for k in (0, 50, 1500):
        a = np.zeros((k, 20) if product is matmul_tn else (20, k), dtype)
        b = np.ones((k, 70), dtype)
        out = np.full((20, 70), np.nan, dtype)
        product(out, np.empty(0, dtype), a, b)
        assert (out == 0).all(), k


@pytest.mark.parametrize("product", [matmul, matmul_tn, matmul_nt],
                         ids=["matmul", "matmul_tn", "matmul_nt"])
def test_a_scratch_too_small_or_of_another_dtype_is_refused(product, jit):
    """One element short of what kernels.scratch gives (where it gives any), or float32
    for float64 arrays: ValueError, out untouched (the NumPy products of NUMBA_DISABLE_JIT need no scratch)."""
    m, k, n = 130, 40, 70
    for dtype, scratch_dtype, short in [(np.float32, np.float32, 1),
                                        (np.float64, np.float32, 0)]:
        a = np.zeros((k, m) if product is matmul_tn else (m, k), dtype)
        b = np.ones((n, k) if product is matmul_nt else (k, n), dtype)
        out = np.full((m, n), np.nan, dtype)
        size = SIZES[product](m, n, k, np.dtype(dtype).itemsize) - short
        if size < 0:
            continue  # a product that needs no scratch: none is too small
        with pytest.raises(ValueError, match="scratch"):
            product(out, np.empty(size, scratch_dtype), a, b)
        assert np.isnan(out).all()
