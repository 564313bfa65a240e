"""One MNIST training epoch (784-128-64-10, ReLU, softmax+CCE, Adam 1e-3, float32,
shuffled) at batch 32, 128 and 512: fastnn numba, fastnn numpy and PyTorch eager, one group
per batch size. extra_info holds the FLOP floor at the run's best GEMM rate and the
fraction of it each epoch reaches."""
import pytest

from benchmarks.conftest import FRAMEWORKS, available, median, note
from fastnn import bench


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("batch_size", bench.BATCH_SIZES)
def test_mnist_epoch(benchmark, mnist, gemm_peak, framework, batch_size):
    available(framework)
    benchmark.group = f"MNIST epoch, batch {batch_size}"
    (X, y), _ = mnist
    trainer = bench.trainer(framework, X, y, batch_size)
    trainer.warm_up()  # compile
    bench.quiet()
    slow = framework == bench.NUMPY and batch_size == 32  # seconds per epoch
    benchmark.pedantic(trainer.epoch, rounds=3 if slow else 5, warmup_rounds=0 if slow else 1)
    seconds = median(benchmark)
    if seconds:
        info = bench.floor_info(seconds, len(X), gemm_peak)
        note(benchmark, f"{framework} {seconds:.3f} s, {info['floor_fraction']:.0%} of the "
                        f"floor ({info['floor_seconds']:.3f} s at "
                        f"{info['gemm_peak_gflops']:.0f} GFLOP/s)", **info)
