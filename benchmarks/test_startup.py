"""Start-up, each in a fresh interpreter: `import fastnn` (compiles nothing); the first
training batch with an empty Numba cache (cold: everything compiles) and with the cache
that filled (warm). And the peak RSS of `fastnn train mnist --epochs 1` (extra_info)."""
import itertools
import os

from benchmarks.conftest import note
from fastnn import bench


def test_import(benchmark, tmp_path):
    benchmark.group = "start-up: import fastnn"
    env = bench.python_env(NUMBA_CACHE_DIR=str(tmp_path))
    benchmark.pedantic(bench.run_python, args=(bench.IMPORT, env), rounds=5)


def test_cold_start(benchmark, tmp_path):
    benchmark.group = "start-up: first batch done"
    caches = itertools.count()

    def empty_cache():
        cache = tmp_path / f"cache{next(caches)}"
        return (bench.FIRST_BATCH, bench.python_env(NUMBA_CACHE_DIR=str(cache))), {}
    benchmark.pedantic(bench.run_python, setup=empty_cache, rounds=2)


def test_warm_start(benchmark, tmp_path):
    benchmark.group = "start-up: first batch done"
    env = bench.python_env(NUMBA_CACHE_DIR=str(tmp_path))
    bench.run_python(bench.FIRST_BATCH, env)  # fills the cache
    benchmark.pedantic(bench.run_python, args=(bench.FIRST_BATCH, env), rounds=5)


def test_peak_rss_of_train_mnist(benchmark, mnist):
    benchmark.group = "fastnn train mnist --epochs 1"
    argv = bench.train_mnist_argv(os.environ.get("FASTNN_DATA"))
    memory = {}
    benchmark.pedantic(lambda: memory.update(bench.bench_memory(argv)), rounds=1)
    note(benchmark, f"peak RSS {memory['peak_rss_mib']:.0f} MiB", **memory)
