"""A cold start compiled in two processes (kernels.cold_start), and the cache they share
(kernels.numba_hooks.SharedCache): compiler hooks, skipped in plain mode."""
import ast
import subprocess
import sys

import numpy as np
import pytest

import fastnn as fnn
from fastnn.epoch import buffers, optimizer_state, uses
from tests.test_compile import run
from tests.test_driver import OUTPUTS, problem

OPTIMIZERS = {"sgd": fnn.SGD, "adam": fnn.Adam, "rmsprop": fnn.RMSprop}

FIT = """
import numpy as np
import fastnn as fnn
from numba.core import types
from fastnn.kernels import cold_start, numba_hooks
X = np.random.default_rng(0).random((64, 20), dtype=np.float32)
model = fnn.mlp([20, 70, 3], seed=0)
model.fit(X, np.arange(64) % 3, batch_size=32, verbose=0)
print(repr(model.params.sum()))
here, there = cold_start.halves(types.float32, "softmax_cce", "argmax_hits", True)
# a train_steps is named after its loss and optimizer kernels: train_steps__softmax_cce__…
print(sorted(name.split("__")[0] for (_, name), kernel in numba_hooks._KERNELS.items()
             if kernel._cache_misses))
print(sorted(name for name, _ in there))
"""


def test_the_child_compiles_its_half_and_leaves_a_complete_cache(hooks, tmp_path):
    from fastnn.kernels import cold_start
    if not cold_start.two_cores():
        pytest.skip("one CPU: the cold start compiles in one process")
    params, compiled, child_half = run(FIT, tmp_path)
    compiled, child_half = ast.literal_eval(compiled), ast.literal_eval(child_half)
    assert "train_steps" in compiled and "matmul" in compiled
    assert not set(compiled) & set(child_half)  # loaded from the child's cache, all of it
    # a warm start compiles nothing: no process lost another's entries in the index files
    assert run(FIT, tmp_path) == [params, "[]", str(sorted(child_half))]


CASES = [(loss, optimizer, "float32", {}) for loss in OUTPUTS for optimizer in OPTIMIZERS]
CASES += [("cce", "adam", "float64", {}), ("cce", "adam", "float32", dict(dropout=0.5)),
          ("mse", "sgd", "float32", dict(l2=0.01, clip_norm=1.0))]


@pytest.mark.parametrize("loss, optimizer, dtype, options", CASES)
def test_the_halves_are_the_kernels_the_driver_calls(hooks, loss, optimizer, dtype, options):
    """Each kernel and argument types that `halves` lists is one train_steps compiled:
    otherwise the cold start compiles something the driver does not use."""
    from numba.np.numpy_support import from_dtype

    from fastnn.kernels import cold_start, numba_cpu
    X, y = problem(loss, n=40)
    output, n_out = OUTPUTS[loss]
    clip = {"clip_norm": options.pop("clip_norm")} if "clip_norm" in options else {}
    model = fnn.mlp([5, 8, n_out], output=output, loss=loss, dtype=dtype,
                    optimizer=OPTIMIZERS[optimizer](lr=0.01, **clip), **options)
    model.fit(X, y, epochs=1, batch_size=16, verbose=0)
    update = cold_start.update_call(model.optimizer.kernel, buffers(model),
                                    optimizer_state(model.optimizer))
    here, there = cold_start.halves(from_dtype(np.dtype(dtype)), model.loss.kernel,
                                    model.loss.hits, model.loss.labels, *uses(model),
                                    update=update)
    names = [name for name, _ in here + there]
    assert len(set(names)) == len(names)
    for name, argument_types in here + there:
        assert argument_types in cold_start.callee(numba_cpu, name).overloads, name


FLAGS = ("softmax_cce", "argmax_hits", True, False, False, False)


def test_no_child_when_it_cannot_help(hooks, monkeypatch):
    from fastnn.kernels import cold_start
    monkeypatch.setattr(cold_start, "two_cores", lambda: False)
    assert cold_start.start_child(np.float32, FLAGS) is None
    monkeypatch.setattr(cold_start, "two_cores", lambda: True)
    monkeypatch.setattr(cold_start.sys, "executable", "/no/such/python")
    assert cold_start.start_child(np.float32, FLAGS) is None
    monkeypatch.setattr(cold_start, "CACHE", False)
    assert cold_start.start_child(np.float32, FLAGS) is None


def test_a_failing_child_is_reported():
    from fastnn.kernels import cold_start
    child = subprocess.Popen([sys.executable, "-c", "raise SystemExit('no such kernel')"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    with pytest.warns(RuntimeWarning, match="no such kernel"):
        cold_start.finish(child)


def twice(x):
    return 2.0 * x


def test_the_cache_locks_its_index_shared_to_load_exclusive_to_save(hooks, monkeypatch):
    from numba.core import types

    from fastnn.kernels import numba_hooks
    if not numba_hooks.CACHE or numba_hooks.fcntl is None:
        pytest.skip("no disk cache or no file locks here")
    fcntl, flock, calls = numba_hooks.fcntl, numba_hooks.fcntl.flock, []
    monkeypatch.setattr(fcntl, "flock", lambda file, operation: (
        calls.append((file.name, operation)), flock(file, operation)))
    compiled = numba_hooks.Compiled(twice)
    compiled._cache.flush()  # an empty index: the call below compiles and saves
    assert compiled(1.5) == 3.0
    assert compiled._cache.has((types.float64,), compiled.targetctx)
    lock = compiled._cache._cache_file._index_path + ".lock"
    assert calls == [(lock, fcntl.LOCK_SH), (lock, fcntl.LOCK_EX), (lock, fcntl.LOCK_SH)]
    assert numba_hooks.Compiled(twice)(2.5) == 5.0  # a fresh dispatcher loads it: shared
    assert calls[-1] == (lock, fcntl.LOCK_SH) and len(calls) == 4


def test_the_child_uses_this_process_s_cache_folder(hooks, monkeypatch, tmp_path):
    """A cache folder set in numba.config, not the environment, must reach the child:
    otherwise its half lands where this process does not look."""
    from numba import config

    from fastnn.kernels import cold_start
    started = []
    monkeypatch.setattr(cold_start, "two_cores", lambda: True)
    monkeypatch.setattr(cold_start, "CACHE", True)
    monkeypatch.setattr(cold_start.subprocess, "Popen",
                        lambda command, env, **options: started.append(env) or "child")
    monkeypatch.setattr(config, "CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    assert cold_start.start_child(np.float32, FLAGS) == "child"
    assert started[0]["NUMBA_CACHE_DIR"] == str(tmp_path)
