import time

import numpy as np
import pytest

from fastnn import bench
from tests.conftest import mnist  # noqa: F401  (the real-MNIST fixture)

# Who is timed in the framework comparisons; one pytest-benchmark group per measurement.
FRAMEWORKS = [pytest.param(bench.NUMBA, id="numba"), pytest.param(bench.NUMPY, id="numpy"),
              pytest.param(bench.TORCH, id="torch")]


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def gemm_peak():
    """The best float32 GEMM rate (FLOP/s) of fastnn's and NumPy's matmul, measured once
    per run: the rate of the FLOP floor (see fastnn.bench)."""
    return bench.best_gemm(bench.gemm_rates(rounds=5))["gflops"] * 1e9


def available(framework):
    """Skip PyTorch's benchmarks cleanly when torch is not installed."""
    if framework == bench.TORCH:
        pytest.importorskip("torch")


def warm(benchmark, f, *args, rounds=20, iterations=1):
    """Call f once (Numba compiles on first call), let other thread pools fall asleep, then
    time it.

    OpenBLAS's threads (NumPy's matmul) spin for a while after each call; on 2 cores they
    starve the OpenMP threads of a Numba kernel timed right after, and the other way round.
    """
    f(*args)
    time.sleep(bench.QUIET)
    return benchmark.pedantic(f, args=args, rounds=rounds, iterations=iterations,
                              warmup_rounds=1)


def median(benchmark):
    """The median seconds of the benchmark just run (None under --benchmark-disable)."""
    return benchmark.stats.stats.median if benchmark.stats else None


NOTES = []  # lines derived from the medians, printed at the end of the run


def note(benchmark, line, **extra_info):
    """Store `extra_info` with the benchmark (--benchmark-json) and print `line` at the end."""
    benchmark.extra_info.update(extra_info)
    NOTES.append(f"{benchmark.group}: {line}")


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's tables
def pytest_terminal_summary(terminalreporter):
    if NOTES:
        terminalreporter.section("fastnn: FLOP floor, GEMM rates, peak RSS")
        for line in NOTES:
            terminalreporter.write_line(line)
