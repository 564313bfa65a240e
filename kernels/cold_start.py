"""A cold start on two cores: train_steps's heaviest callees compile in two processes.

With an empty cache, the first call of ``train_steps`` compiles about 40 functions one
after the other (Numba holds one compiler lock per process). When Numba has a disk cache
and this process a second core, `compile_callees` first compiles the callees listed by
`halves` in two processes at once: the first list here, the second in a child process
(``python -m fastnn.kernels.cold_start``) that leaves them in the shared cache.
``train_steps`` then compiles its own code and loads those callees from the cache like a
warm start. The two GEMM layouts, the most expensive functions, go one to each process;
the child ends with the backward pass, dense_backward by then finding here's matmul_nt in
the cache.

Nothing depends on it: a callee the child did not leave in the cache (it failed, it was
killed, `halves` no longer matches the driver's calls) is compiled here as before, and
the results are the same either way. The two processes share the cache's files safely
(``fastnn.kernels.numba_hooks.SharedCache``). It runs only with the compiler hooks
(``fastnn.kernels.compile.HOOKED``): the kernel module, named by its caller, is looked up
by name, so this module imports no kernels.
"""
import importlib
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
from numba import config
from numba.core import types
from numba.np.numpy_support import from_dtype

import fastnn
from fastnn.kernels import driver
from fastnn.kernels.flags import CACHE

try:
    import fcntl
except ImportError:  # Windows: no file locks to share the cache with
    fcntl = None

CONSTANTS = driver.CONSTANTS["train_steps"]  # loss, optimizer, dropout, penalties, clip
CHILD_SECONDS = 300  # the child's half takes seconds; this long, it is stuck: kill it
LOSS_KERNELS = {driver.CCE: ("softmax_cce", "argmax_hits"),
                driver.BCE: ("sigmoid_bce", "threshold_hits"),
                driver.MSE: ("mse",)}
OPTIMIZER_KERNELS = {driver.SGD: "sgd_step", driver.ADAM: "adam_step",
                     driver.RMSPROP: "rmsprop_step"}


def halves(dtype, loss, optimizer, dropout=False, penalties=False, clip=False):
    """train_steps's callees for parameters of `dtype` and its constant arguments (the
    loss and optimizer codes of ``kernels.driver``; whether the model has dropout,
    penalties, clipping), as (kernel name, argument types), in two lists of about equal
    compile time: (this process's, the child's).

    The argument types are those the driver calls the kernels with: C-ordered views of
    its flat buffers, int64 indices, Python floats.
    """
    matrix, vector = types.Array(dtype, 2, "C"), types.Array(dtype, 1, "C")
    indices = types.Array(types.int64, 1, "C")
    table, table_floats = types.Array(types.int64, 2, "C"), types.Array(types.float64, 2, "C")
    real, integer, literal = types.float64, types.int64, types.literal
    optimizers = {"sgd_step": (vector, vector, vector, real, real, types.boolean),
                  "adam_step": (vector,) * 4 + (real,) * 5 + (integer,),
                  "rmsprop_step": (vector, vector, vector, real, real, real)}
    losses = {"softmax_cce": (matrix, matrix, indices), "argmax_hits": (matrix, indices),
              "sigmoid_bce": (matrix,) * 3, "threshold_hits": (matrix,) * 2,
              "mse": (matrix,) * 3}
    layers = (integer, matrix, table, table_floats)  # mask_at, x, layers, layer_floats
    product = (matrix, vector, matrix, matrix)  # out, scratch, a, b
    here = [("matmul", product), ("matmul_nt", product),
            ("dense_forward", (matrix, matrix, vector, matrix, matrix, vector, integer, real))]
    here += [("dropout_forward", (matrix,) * 3 + (real,))] if dropout else []
    here += [("_forward", (vector,) * 4 + layers + (literal(True), literal(dropout))),
             ("gather_rows", (matrix, matrix, indices)), ("prefetch_rows", (matrix, indices)),
             (OPTIMIZER_KERNELS[optimizer], optimizers[OPTIMIZER_KERNELS[optimizer]])]
    there = [("matmul_tn", product)]
    there += [(name, losses[name]) for name in LOSS_KERNELS[loss]]
    there += [("dropout_backward", (matrix,) * 3 + (real,))] if dropout else []
    there += [("weight_penalty", (matrix, real, real))] if penalties else []
    there += [("clip_grad_norm", (vector, real))] if clip else []
    there += [("dense_backward", (matrix, matrix, vector, matrix, vector) + (matrix,) * 5
               + (integer,) + (real,) * 3),
              ("_step_backward", (vector,) * 5 + layers
               + (literal(dropout), literal(penalties)))]
    return here, there


def compile_all(kernels, signatures):
    """Compile each (kernel name, argument types) of the module named `kernels`, or load
    it from the cache."""
    module = importlib.import_module(kernels)
    for name, argument_types in signatures:
        getattr(module, name).compile(argument_types)


def all_cached(kernels, signatures):
    """Whether every (kernel name, argument types) of the module named `kernels` is
    compiled or in the disk cache."""
    module = importlib.import_module(kernels)
    return all(getattr(module, name).cached(argument_types)
               for name, argument_types in signatures)


def two_cores():
    """Whether this process may run on at least two CPUs."""
    try:
        return len(os.sched_getaffinity(0)) >= 2
    except AttributeError:  # macOS, Windows
        return (os.cpu_count() or 1) >= 2


def start_child(kernels, dtype, constants):
    """The child process compiling `halves`' second list of the module named `kernels`,
    or None when it cannot help (no disk cache to share, no file locks, a single core) or
    cannot start (an embedded interpreter without a Python executable)."""
    if not CACHE or fcntl is None or not two_cores() or not sys.executable:
        return None
    # the folder this process imported fastnn from, first: the child imports the same one
    root = str(Path(fastnn.__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH")
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + path if path else root)
    if config.CACHE_DIR:  # also when set in numba.config rather than the environment
        env["NUMBA_CACHE_DIR"] = config.CACHE_DIR
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "fastnn.kernels.cold_start", kernels,
             np.dtype(dtype).name, *(str(int(c)) for c in constants)],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
    except OSError:
        return None


def compile_callees(kernels, arguments):
    """Before train_steps of the module named `kernels` compiles for `arguments` (its
    arguments by name): its callees in two processes, when a second one can help; returns
    when both are done."""
    dtype = arguments["params"].dtype
    constants = [arguments[name].literal_value for name in CONSTANTS]
    here, there = halves(from_dtype(dtype), *constants)
    child = None if all_cached(kernels, there) else start_child(kernels, dtype, constants)
    if child is None:
        return
    try:
        compile_all(kernels, here)
    except BaseException:
        child.kill()
        child.communicate()
        raise
    finish(child)


def finish(child):
    """Wait for the child; warn if it failed (what it did not compile compiles here)."""
    try:
        _, errors = child.communicate(timeout=CHILD_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        _, errors = child.communicate()
        errors = f"no result after {CHILD_SECONDS} s"
    if child.returncode != 0:
        last = errors.strip().splitlines()[-1:] or [f"exit status {child.returncode}"]
        warnings.warn(f"fastnn: the process compiling half of the kernels failed "
                      f"({last[0]}); they compile in this process instead",
                      RuntimeWarning, stacklevel=3)


def main(kernels, dtype_name, loss, optimizer, *flags):
    """The child: compile the second list of `halves` of the module named `kernels` into
    the disk cache."""
    _, there = halves(from_dtype(np.dtype(dtype_name)), int(loss), int(optimizer),
                      *(flag == "1" for flag in flags))
    compile_all(kernels, there)


if __name__ == "__main__":
    main(*sys.argv[1:])
