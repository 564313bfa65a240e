"""Inference: predict on the 10k MNIST test images, and the latency of one predict call on
1 and on 32 rows; fastnn numba, fastnn numpy, PyTorch eager under inference_mode."""
import numpy as np
import pytest

from benchmarks.conftest import FRAMEWORKS, available, warm
from fastnn import bench


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_predict_test_set(benchmark, mnist, framework):
    available(framework)
    benchmark.group = "predict, 10k test images"
    _, (X_test, _) = mnist
    warm(benchmark, bench.predictor(framework), X_test, rounds=10)


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("rows", bench.LATENCY_ROWS)
def test_latency(benchmark, mnist, framework, rows):
    available(framework)
    benchmark.group = f"latency, predict on {rows} row(s)"
    _, (X_test, _) = mnist
    x = np.ascontiguousarray(X_test[:rows])
    warm(benchmark, bench.predictor(framework), x, rounds=100, iterations=10)
