"""How the kernels are compiled (kernels.compile). Hooked (kernels.numba_hooks): each
kernel once, called through a slot; only the model's loss and optimizer, and dropout,
penalties and clipping only when the model has them. In both modes: a cached caller loads
its callees first; plain mode trains to the same weights; an untested Numba release
warns once."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastnn as fnn

ROOT = Path(__file__).resolve().parents[1]

FIT = """
import sys
import numpy as np
import fastnn as fnn
from fastnn.kernels import gemm, numba_cpu
X = np.random.default_rng(0).random((64, 20), dtype=np.float32)
model = fnn.mlp([20, 70, 3], optimizer=fnn.Adam(lr=1e-2), seed=0)
model.fit(X, np.arange(64) % 3, batch_size=32, verbose=0)
print(repr(model.params.sum()))
from fastnn.epoch import training_loop
compiled = {name for name in ("dense_forward", "adam_step", "sgd_step",
                              "rmsprop_step", "softmax_cce", "sigmoid_bce", "mse",
                              "dropout_forward", "weight_penalty", "clip_grad_norm")
            if getattr(numba_cpu, name).overloads}
compiled |= {"train_steps"} if training_loop(model).overloads else set()
print(sorted(compiled))
print(sorted(",".join(map(str, sig[3:5])) for sig in gemm._gemm.overloads))  # aᵀ? bᵀ?
"""


def run(code, cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-W", "error", "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_only_the_models_loss_and_optimizer_compile_and_the_cache_gives_the_same(hooks,
                                                                                 tmp_path):
    params, compiled, layouts = run(FIT, tmp_path)
    assert compiled == "['adam_step', 'dense_forward', 'softmax_cce', 'train_steps']"
    literal = "Literal[bool]({})".format  # x·W, dz·Wᵀ and xᵀ·dz: three products
    assert layouts == repr(sorted(f"{literal(a)},{literal(b)}" for a, b in
                                  [(False, False), (False, True), (True, False)]))
    # a fresh process loads train_steps from the cache, which loads its callees first
    assert run(FIT, tmp_path) == [params, compiled, layouts]


def test_a_helper_is_not_callable_from_python(hooks):
    from fastnn.kernels import gemm
    a = np.ones((2, 2), np.float32)
    with pytest.raises(TypeError, match="called by other kernels only"):
        gemm._gemm(np.empty_like(a), a, a, a[:0], False, np.empty(0, np.uint8))


FORWARD = """
import numpy as np
from fastnn.kernels import numba_cpu
x, W = np.ones((8, 70), np.float32), np.ones((70, 66), np.float32)
out = np.empty((8, 66), np.float32)
numba_cpu.dense_forward(out, out[:0], np.empty(0, np.float32), x, W,
                        np.zeros(66, np.float32), 0, 0.0)
print(bool(np.all(out == 70)))
for cres in numba_cpu.dense_forward.overloads.values():
    print(*[f.name for f in cres.library._final_module.functions if not f.is_declaration])
"""


def test_a_kernel_calls_another_without_embedding_its_code(hooks, tmp_path):
    """dense_forward's own code, compiled (an empty cache: a library loaded from the cache
    defines nothing), does not contain the GEMM it calls."""
    right, defined = run(FORWARD, tmp_path)
    assert right == "True"
    # Numba's mangled names: kernels.gemm.matmul is …4gemm6matmulB…
    assert "9numba_cpu13dense_forwardB" in defined
    assert not re.search(r"4gemm(6matmul|9matmul_tn|9matmul_nt|5_gemm)B", defined)


CALLS_THROUGH_A_HELPER = """
from fastnn.kernels.compile import jit

@jit
def kernel(x):
    x[0] += 1.0

@jit(linked=True)
def helper(x):  # linked into its callers; calls `kernel` through its slot
    kernel(x)

@jit
def first(x):
    helper(x)

@jit
def second(x):
    helper(x)
    x[1] += 1.0
"""


def test_a_caller_compiled_over_a_cached_helper_loads_the_helpers_callees(jit, tmp_path):
    """One process caches `first` and the helper it links; the next compiles `second`
    over the helper loaded from the cache; a third loads `second` from the cache. It must
    first load the kernel the helper calls: its slot was left empty (a segfault) when a
    helper loaded from the cache passed on no loads to its callers."""
    (tmp_path / "through_helper.py").write_text(CALLS_THROUGH_A_HELPER)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join([str(ROOT), str(tmp_path)]))
    for name in ("first", "second", "second"):
        done = subprocess.run(
            [sys.executable, "-W", "error", "-c",
             f"import numpy as np, through_helper\nx = np.zeros(2)\n"
             f"through_helper.{name}(x)\nprint(x.tolist())"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, (name, done.returncode, done.stderr)
        assert done.stdout.split("\n")[0] == ("[1.0, 0.0]" if name == "first" else "[1.0, 1.0]")


def test_the_dispatch_key_tells_apart_what_typing_tells_apart(hooks):
    from fastnn.kernels.numba_hooks import _dispatch_key
    a = np.zeros((4, 3), np.float32)
    readonly = a.copy()
    readonly.flags.writeable = False
    keys = [_dispatch_key(args, {1}) for args in [
        (a, 0), (a, 1), (a.astype(np.float64), 0), (a.T, 0), (a[:, :2], 0), (readonly, 0),
        (a[0], 0), (a, True)]]
    assert len(set(keys)) == len(keys)
    assert _dispatch_key((a.copy(), 0), {1}) == keys[0]  # same kinds, other values
    assert _dispatch_key((a, 5), set()) == _dispatch_key((a, 6), set())  # not a constant
    assert _dispatch_key((a, 2**63), set()) is None  # typed uint64: Numba's path decides
    assert _dispatch_key((a, np.int64(3)), set()) is None


def test_a_call_with_constants_types_its_arguments_once(hooks, monkeypatch):
    """train_steps has constants, so every call from Python takes Numba's slow path; the
    second call with the same kinds of arguments reuses the first one's entry."""
    model = fnn.mlp([6, 5, 3], seed=0)
    X = np.random.default_rng(0).random((40, 6), dtype=np.float32)
    model.fit(X, np.arange(40) % 3, batch_size=8, verbose=0)
    from fastnn.epoch import training_loop, unsupported
    train_steps = training_loop(model)
    assert unsupported(model) is None and train_steps._entries  # the driver ran
    typed = []
    original = train_steps.typeof_pyval
    monkeypatch.setattr(train_steps, "typeof_pyval",
                        lambda value: typed.append(value) or original(value))
    before = model.get_weights()
    model.fit(X, np.arange(40) % 3, batch_size=8, verbose=0)
    assert typed == []
    assert not np.array_equal(model.get_weights()[0], before[0])  # it trained


def test_an_argument_numba_makes_literal_keeps_its_value_in_the_dispatch(jit):
    """A callee may ask for an argument's value (numba.literally): Numba then compiles the
    kernel for that value, and the next call with another value must not reuse it."""
    from numba import literally

    from fastnn.kernels.compile import jit as kernel

    @kernel
    def value_of(x, n):
        return literally(n) + x[0] * 0

    x = np.zeros(1)
    assert [value_of(x, 1), value_of(x, 2), value_of(x, 1)] == [1, 2, 1]
