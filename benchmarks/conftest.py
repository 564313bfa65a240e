import time

import numpy as np
import pytest

from tests.conftest import mnist  # noqa: F401  (the real-MNIST fixture)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def warm(benchmark, f, *args, rounds=20, iterations=1):
    """Call f once (Numba compiles on first call), let other thread pools fall asleep, then
    time it.

    OpenBLAS's threads (NumPy's matmul) spin for a while after each call; on 2 cores they
    starve the OpenMP threads of a Numba kernel timed right after, and the other way round.
    """
    f(*args)
    time.sleep(0.3)
    return benchmark.pedantic(f, args=args, rounds=rounds, iterations=iterations,
                              warmup_rounds=1)
