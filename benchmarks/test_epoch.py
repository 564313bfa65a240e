"""One MNIST training epoch (784-128-64-10, ReLU, softmax+CCE, Adam, float32): numba vs numpy."""
import time

import pytest

import fastnn as fnn


def mnist_model(backend):
    return fnn.Sequential([fnn.Dense(784, 128, "relu"), fnn.Dense(128, 64, "relu"),
                           fnn.Dense(64, 10, "softmax")],
                          loss="cce", optimizer=fnn.Adam(lr=1e-3), seed=0, backend=backend)


@pytest.mark.parametrize("batch_size", [128])
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_mnist_epoch(benchmark, mnist, backend, batch_size):
    benchmark.group = f"MNIST epoch, batch {batch_size}"
    (X, y), _ = mnist
    model = mnist_model(backend)
    model.fit(X[:1024], y[:1024], epochs=1, batch_size=batch_size, verbose=0)  # compile
    time.sleep(0.3)  # let the other backend's thread pool fall asleep (see conftest.warm)
    benchmark.pedantic(model.fit, args=(X, y), rounds=5, warmup_rounds=1,
                       kwargs=dict(epochs=1, batch_size=batch_size, verbose=0))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_mnist_predict(benchmark, mnist, backend):
    benchmark.group = "predict 10k test images"
    _, (X_test, _) = mnist
    model = mnist_model(backend)
    model.predict(X_test[:10])
    benchmark.pedantic(model.predict, args=(X_test,), rounds=10, warmup_rounds=1)
