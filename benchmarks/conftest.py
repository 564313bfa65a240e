import numpy as np
import pytest

from tests.conftest import mnist  # noqa: F401  (the real-MNIST fixture)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def warm(benchmark, f, *args, rounds=20, iterations=1):
    """Call f once (Numba compiles on first call), then time it."""
    f(*args)
    return benchmark.pedantic(f, args=args, rounds=rounds, iterations=iterations,
                              warmup_rounds=1)
