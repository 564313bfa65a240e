"""The register-blocked GEMMs of the Numba backend against NumPy's @, on awkward shapes."""
import itertools

import numpy as np
import pytest

from kernels.gemm import matmul, matmul_nt, matmul_tn
from tests.conftest import TOLERANCE

DIMS = [1, 5, 6, 7, 13, 64, 65, 130]
SHAPES = [pytest.param(m, k, n, id=f"{m}x{k}x{n}")
          for m, k, n in itertools.product(DIMS, [1, 17, 129], DIMS)]


@pytest.mark.parametrize("m, k, n", SHAPES + [pytest.param(128, 784, 128, id="mnist")])
def test_products_match_numpy(m, k, n, dtype, rng):
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    expected = a @ b
    tol = dict(rtol=TOLERANCE[dtype]["rtol"] * 10, atol=TOLERANCE[dtype]["atol"] * 10 * k)
    for product, left, right in [(matmul, a, b), (matmul_tn, a.T.copy(), b),
                                 (matmul_nt, a, b.T.copy())]:
        out = np.full((m, n), np.nan, dtype)
        product(out, left, right)
        np.testing.assert_allclose(out, expected, **tol, err_msg=product.__name__)
