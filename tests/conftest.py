import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    """On a Numba release without the compiler hooks, plain mode is the only mode: ask for
    it, so that the test processes run with ``-W error`` do not stop at the warning that
    says so (this process has given it once)."""
    from fastnn.kernels.compile import tested_release
    if not tested_release():
        os.environ.setdefault("FASTNN_PLAIN_NUMBA", "1")


TOLERANCE = {  # numba kernel vs NumPy twin
    np.float32: dict(rtol=2e-5, atol=1e-5),  # float32 sums over K = 784 differ by ~1e-6
    np.float64: dict(rtol=1e-11, atol=1e-13),
}


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    return request.param


@pytest.fixture(params=["numpy", "numba"])
def backend(request):
    return request.param


@pytest.fixture
def jit():
    """Skips a test about compiled code under NUMBA_DISABLE_JIT=1."""
    from numba import config
    if config.DISABLE_JIT:
        pytest.skip("NUMBA_DISABLE_JIT=1: nothing is compiled")


@pytest.fixture
def hooks():
    """Skips a test of the compiler hooks (kernels.numba_hooks) where they are off: with
    NUMBA_DISABLE_JIT=1, FASTNN_PLAIN_NUMBA=1 or an untested Numba release."""
    from numba import config
    if config.DISABLE_JIT:
        pytest.skip("NUMBA_DISABLE_JIT=1: nothing is compiled")
    from fastnn.kernels.compile import HOOKED
    if not HOOKED:
        pytest.skip("plain Numba (FASTNN_PLAIN_NUMBA=1 or an untested release): no hooks")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def kernel(module, name):
    """The plain-Python function behind a kernel, also under NUMBA_DISABLE_JIT=1."""
    f = getattr(module, name)
    return getattr(f, "py_func", f)


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST arrays, from $FASTNN_DATA (or fastnn's cache folder); never
    downloaded."""
    from fastnn.datasets import MNISTNotFoundError, load_mnist
    try:
        return load_mnist(download=False)
    except MNISTNotFoundError as err:
        pytest.skip(f"real MNIST not available: {err}")


def numeric_gradients(model, loss_of, h=1e-6):
    """Central differences of loss_of(model) over every array of model.get_weights()."""
    weights = model.get_weights()
    gradients = []
    for k, w in enumerate(weights):
        numeric = np.zeros_like(w)
        for i in np.ndindex(w.shape):
            for sign in (1, -1):
                shifted = [v.copy() for v in weights]
                shifted[k][i] += sign * h
                model.set_weights(shifted)
                numeric[i] += sign * loss_of(model) / (2 * h)
        gradients.append(numeric)
    model.set_weights(weights)
    return gradients
