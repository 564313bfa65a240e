"""fastnn against PyTorch and JAX, one pytest-benchmark group per workload: the same
comparisons as `fastnn bench` (fastnn.bench.workloads.DEFAULT_WORKLOADS).

Each framework trains in a worker process of its own, with its own default settings
(fastnn.bench.harness.Worker): it warms up (compiles) when started, then every round
asks it for one epoch; the time is the round trip, of which the pipe is microseconds.
A peer that is not installed is skipped. extra_info holds the FLOP floor at the best GEMM
rate of the run and the fraction of it each epoch reaches.
"""
import pytest

from benchmarks.conftest import median, note
from fastnn.bench import data, frameworks, harness, workloads

PEERS = [pytest.param(name, id=name) for name in frameworks.DEFAULT_FRAMEWORKS]
WORKLOADS = [pytest.param(w, id=f"{w.model}-b{w.batch_size}")
             for w in workloads.DEFAULT_WORKLOADS]


@pytest.fixture(scope="session")
def mnist_files(mnist, tmp_path_factory):
    """The MNIST training set as the .npy files the workers read."""
    (X, y), _ = mnist
    return data.save(tmp_path_factory.mktemp("mnist"), X, y)


@pytest.mark.parametrize("framework", PEERS)
@pytest.mark.parametrize("workload", WORKLOADS)
def test_epoch(benchmark, mnist_files, gemm_rates_of_run, framework, workload):
    if not frameworks.installed(framework):
        pytest.skip(f"{frameworks.FRAMEWORKS[framework].label} is not installed")
    benchmark.group = f"epoch {workload.label}, {workload.samples:,} samples"
    with harness.Worker(frameworks.worker_argv(framework),
                        harness.spec(workload, mnist_files),
                        frameworks.worker_env(framework)) as worker:
        benchmark.pedantic(worker.epoch, rounds=3, warmup_rounds=1)
    seconds = median(benchmark)
    if seconds:
        rate = gemm_rates_of_run(workload)
        floor = workloads.flop_floor(workload, rate)
        note(benchmark, f"{framework} {seconds:.3f} s, {floor / seconds:.0%} of the floor "
                        f"({floor:.3f} s at {rate / 1e9:.0f} GFLOP/s)",
             floor_seconds=floor, floor_fraction=floor / seconds,
             gemm_gflops=rate / 1e9, warm_up_seconds=worker.ready["warm_up_seconds"])
