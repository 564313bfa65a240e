import time

import numpy as np
import pytest

from fastnn import bench
from tests.conftest import mnist  # noqa: F401  (the real-MNIST fixture)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def gemm_rates_of_run():
    """f(workload) → the best float32 GEMM rate (FLOP/s) of fastnn's and NumPy's matmul at
    the workload's shapes, measured once per shape and run in a worker with fastnn's
    settings: the rate of the FLOP floor (see fastnn.bench.gemm_rates)."""
    from fastnn.bench import gemm_rates, run, workloads
    measured = {}

    def rate(workload):
        shapes = workloads.products(workload)
        missing = [s for s in shapes if s not in measured]
        if missing:
            measured.update(zip(missing, _per_shape(run.gemm_pass(missing), missing)))
        return gemm_rates.best_rate([r for s in shapes for r in measured[s]])["gflops"] * 1e9
    return rate


def _per_shape(rates, shapes):
    return [[r for r in rates if (*r["shape"], r["kind"]) == tuple(s)] for s in shapes]


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
