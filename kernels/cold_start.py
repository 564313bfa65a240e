"""A cold start on two cores: train_steps's heaviest callees compile in two processes.

With an empty cache, the first call of ``train_steps`` compiles about 40 functions one
after the other (Numba holds one compiler lock per process). When Numba has a disk cache
and this process a second core, `compile_callees` first compiles the callees listed by
`halves` in two processes at once: the first list here, the second in a child process
(`CHILD`) that leaves them in the shared cache. ``train_steps``
then compiles its own code and loads those callees from the cache like a warm start.
The two GEMM layouts, the most expensive functions, go one to each process; the child
ends with the backward pass, dense_backward by then finding here's matmul_nt in the
cache.

Nothing depends on it: a callee the child did not leave in the cache (it failed, it was
killed, `halves` no longer matches the driver's calls) is compiled here as before, and
the results are the same either way. The two processes share the cache's files safely
(``fastnn.kernels.numba_hooks.SharedCache``). It runs only with the compiler hooks
(``fastnn.kernels.compile.HOOKED``).
"""
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
from numba import config, typeof
from numba.core import types
from numba.np.numpy_support import from_dtype

from fastnn.kernels import driver
from fastnn.kernels.flags import CACHE

try:
    import fcntl
except ImportError:  # Windows: no file locks to share the cache with
    fcntl = None

CONSTANTS = driver.CONSTANTS["train_steps"]  # dropout, penalties, clip
CHILD_SECONDS = 300  # the child's half takes seconds; this long, it is stuck: kill it
# the child: the kernel module imported by name, so that its functions keep their names
CHILD = ("import sys; from fastnn.kernels import cold_start, numba_cpu; "
         "cold_start.main(numba_cpu, *sys.argv[1:])")


def halves(dtype, loss, hits, labels, dropout=False, penalties=False, clip=False,
           update=None):
    """train_steps's callees, as (kernel name, argument types), in two lists of about
    equal compile time: (this process's, the child's).

    dtype: the parameters' Numba type. loss, hits, labels: the model's loss kernel, its
    hits kernel (None: none) and whether it takes class labels (`Driver.training_loop`).
    dropout, penalties, clip: train_steps's constants. update: (the optimizer kernel's
    name, its argument types), in this process's list; None leaves it out (the child
    has no optimizer to compile).

    The argument types are those the driver calls the kernels with: C-ordered views of
    its flat buffers, its named tuples, int64 indices, Python floats.
    """
    matrix, vector = types.Array(dtype, 2, "C"), types.Array(dtype, 1, "C")
    indices = types.Array(types.int64, 1, "C")
    layers = types.Array(from_dtype(driver.LAYER), 1, "C")
    model = types.NamedUniTuple(vector, len(driver.Model._fields), driver.Model)
    real, integer, literal = types.float64, types.int64, types.literal
    targets = indices if labels else matrix
    product = (matrix, vector, matrix, matrix)  # out, scratch, a, b
    here = [("matmul", product), ("matmul_nt", product),
            ("dense_forward", (matrix, matrix, vector, matrix, matrix, vector, integer, real))]
    here += [("dropout_forward", (matrix,) * 3 + (real,))] if dropout else []
    here += [("_forward", (model, vector, integer, matrix, layers, literal(True),
                           literal(dropout))),
             ("gather_rows", (matrix, matrix, indices)), ("prefetch_rows", (matrix, indices))]
    here += [update] if update is not None else []
    there = [("matmul_tn", product), (loss, (matrix, matrix, targets, vector))]  # vector:
    # the empty sample weights
    there += [(hits, (matrix, targets))] if hits else []
    there += [("dropout_backward", (matrix,) * 3 + (real,))] if dropout else []
    there += [("weight_penalty", (matrix, real, real))] if penalties else []
    there += [("clip_grad_norm", (vector, real))] if clip else []
    there += [("dense_backward", (matrix, matrix, vector, matrix, vector) + (matrix,) * 5
               + (integer,) + (real,) * 3),
              ("_step_backward", (model, vector, integer, matrix, layers, literal(dropout),
                                  literal(penalties)))]
    return here, there


def update_call(optimizer, model, state):
    """(the optimizer kernel `optimizer`, the argument types train_steps calls it with:
    params, *state, grads, *hyper, step), for its arguments `model` and `optimizer`
    (``driver.Model``, ``driver.Optimizer``)."""
    vector = typeof(model.params)
    state, hyper = typeof(state.state), typeof(state.hyper)
    return optimizer, (vector, *state, vector, *hyper, types.int64)


def callee(kernels, name):
    """The compiled function `name` of the kernel module `kernels` or of its driver."""
    return kernels.loops.scope.get(name) or getattr(kernels, name)


def compile_all(kernels, signatures):
    """Compile each (kernel name, argument types) of `kernels`, or load it from the cache."""
    for name, argument_types in signatures:
        callee(kernels, name).compile(argument_types)


def all_cached(kernels, signatures):
    """Whether every (kernel name, argument types) is compiled or in the disk cache."""
    return all(callee(kernels, name).cached(argument_types)
               for name, argument_types in signatures)


def two_cores():
    """Whether this process may run on at least two CPUs."""
    try:
        return len(os.sched_getaffinity(0)) >= 2
    except AttributeError:  # macOS, Windows
        return (os.cpu_count() or 1) >= 2


def start_child(dtype, flags):
    """The child process compiling `halves`' second list, or None when it cannot help (no
    disk cache to share, no file locks, a single core) or cannot start (an embedded
    interpreter without a Python executable). flags: `halves`' arguments after dtype,
    without update."""
    if not CACHE or fcntl is None or not two_cores() or not sys.executable:
        return None
    # the folder this process imported fastnn from, first: the child imports the same one
    root = str(Path(sys.modules["fastnn"].__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH")
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + path if path else root)
    if config.CACHE_DIR:  # also when set in numba.config rather than the environment
        env["NUMBA_CACHE_DIR"] = config.CACHE_DIR
    try:
        return subprocess.Popen(
            [sys.executable, "-c", CHILD, np.dtype(dtype).name,
             *("" if f is None else f if isinstance(f, str) else str(int(f)) for f in flags)],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
    except OSError:
        return None


def compile_callees(kernels, key, arguments):
    """Before a train_steps of `kernels` (a kernel module) compiles for `arguments` (its
    arguments by name, the constants as literal types): its callees in two processes,
    when a second one can help; returns when both are done. key: (loss, hits, labels,
    optimizer), its kernels (`Driver.training_loop`)."""
    loss, hits, labels, optimizer = key
    dtype = arguments["model"].params.dtype
    flags = (loss, hits, labels, *(arguments[name].literal_value for name in CONSTANTS))
    here, there = halves(from_dtype(dtype), *flags, update=update_call(
        optimizer, arguments["model"], arguments["optimizer"]))
    child = None if all_cached(kernels, there) else start_child(dtype, flags)
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


def main(kernels, dtype_name, loss, hits, labels, *flags):
    """The child: compile the second list of `halves` into the disk cache."""
    _, there = halves(from_dtype(np.dtype(dtype_name)), loss, hits or None, labels == "1",
                      *(flag == "1" for flag in flags))
    compile_all(kernels, there)
