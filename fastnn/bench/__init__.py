"""How fast fastnn trains, beside PyTorch and JAX: `fastnn bench` and benchmarks/.

One job a module, imported in this order (none imports a later one):

    workloads   what is trained: model sizes, batch, samples; the FLOP floor
    data        MNIST or random arrays, saved for the workers
    machine     CPU, cores, features (llvmlite), versions (package metadata)
    frameworks  who is compared; each worker's environment (threads, instruction set)
    gemm_rates  the best GEMM rate at given shapes (runs in a worker with fastnn)
    peers/      the worker script and one trainer per framework; they import nothing
                of fastnn but the fastnn trainer, so each framework's process is its own
    harness     worker processes, the interleaved schedule, best-of and medians
    run         the whole comparison, as plain JSON
    report      the tables, as text or markdown
    plot        the chart
    startup     import, cold and warm start and peak RSS, in fresh interpreters
    cli         the `fastnn bench` options

Importing fastnn.bench imports no framework, not even Numba.
"""
from fastnn.bench.gemm_rates import GEMM_SHAPES, QUIET, shape
from fastnn.bench.startup import (FIRST_BATCH, IMPORT, bench_memory, bench_startup,
                                  peak_rss, python_env, run_python, train_mnist_argv)

__all__ = ["GEMM_SHAPES", "QUIET", "shape", "FIRST_BATCH", "IMPORT", "bench_memory",
           "bench_startup", "peak_rss", "python_env", "run_python", "train_mnist_argv"]
