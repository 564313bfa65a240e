"""Inference: predict on the 10k MNIST test images, and the latency of one predict call on
1 and on 32 rows; fastnn numba, fastnn numpy, PyTorch eager under inference_mode.

These run in pytest's process, so PyTorch shares it with Numba (and with the
GOMP_SPINCOUNT fastnn's kernels set); training is compared process by process in
test_peers.py.
"""
import numpy as np
import pytest

from benchmarks.conftest import warm
from fastnn.bench.workloads import MNIST_SIZES

FRAMEWORKS = ["numba", "numpy", "torch"]
LATENCY_ROWS = (1, 32)


def predictor(framework, seed=0):
    """f(X) → class labels (N,): `model.predict`, or PyTorch's argmax under inference_mode."""
    if framework != "torch":
        import fastnn as fnn
        model = fnn.mlp(list(MNIST_SIZES), seed=seed, backend=framework)
        model.build()
        return model.predict
    torch = pytest.importorskip("torch")
    torch.manual_seed(seed)
    layers = []
    for i, o in zip(MNIST_SIZES, MNIST_SIZES[1:]):
        layers += [torch.nn.Linear(i, o), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])

    def predict(X):
        with torch.inference_mode():
            return model(torch.from_numpy(X)).argmax(dim=1).numpy()
    return predict


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_predict_test_set(benchmark, mnist, framework):
    benchmark.group = "predict, 10k test images"
    _, (X_test, _) = mnist
    warm(benchmark, predictor(framework), X_test, rounds=10)


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("rows", LATENCY_ROWS)
def test_latency(benchmark, mnist, framework, rows):
    benchmark.group = f"latency, predict on {rows} row(s)"
    _, (X_test, _) = mnist
    x = np.ascontiguousarray(X_test[:rows])
    warm(benchmark, predictor(framework), x, rounds=100, iterations=10)
