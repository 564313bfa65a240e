"""How the kernels are compiled (kernels.compile): each kernel once, called through a slot;
only the model's loss and optimizer, and dropout, penalties and clipping only when the
model has them; a cached caller loads its callees first."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

FIT = """
import sys
import numpy as np
import fastnn as fnn
from kernels import gemm, numba_cpu
X = np.random.default_rng(0).random((64, 20), dtype=np.float32)
model = fnn.mlp([20, 70, 3], optimizer=fnn.Adam(lr=1e-2), seed=0)
model.fit(X, np.arange(64) % 3, batch_size=32, verbose=0)
print(repr(model.params.sum()))
compiled = {name for name in ("train_steps", "dense_forward", "adam_step", "sgd_step",
                              "rmsprop_step", "softmax_cce", "sigmoid_bce", "mse",
                              "dropout_forward", "weight_penalty", "clip_grad_norm")
            if getattr(numba_cpu, name).overloads}
print(sorted(compiled))
print(sorted(str(sig[-2]) for sig in gemm._gemm.overloads))  # a_transposed
"""


def run(code, cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-W", "error", "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_only_the_models_loss_and_optimizer_compile_and_the_cache_gives_the_same(jit,
                                                                                 tmp_path):
    params, compiled, layouts = run(FIT, tmp_path)
    assert compiled == "['adam_step', 'dense_forward', 'softmax_cce', 'train_steps']"
    assert layouts == "['Literal[bool](False)', 'Literal[bool](True)']"
    # a fresh process loads train_steps from the cache, which loads its callees first
    assert run(FIT, tmp_path) == [params, compiled, layouts]


def test_a_helper_is_not_callable_from_python(jit):
    from kernels import gemm
    a = np.ones((2, 2), np.float32)
    with pytest.raises(TypeError, match="called by other kernels only"):
        gemm._gemm(np.empty_like(a), a, a, False, np.empty(0, np.uint8))


def test_a_kernel_calls_another_without_embedding_its_code(jit):
    from kernels import numba_cpu
    x, W = np.ones((8, 70), np.float32), np.ones((70, 66), np.float32)
    out = np.empty((8, 66), np.float32)
    numba_cpu.dense_forward(out, out[:0], x, W, np.zeros(66, np.float32), 0, 0.0)
    assert np.all(out == 70)
    for library in (cres.library for cres in numba_cpu.dense_forward.overloads.values()):
        defined = [f.name for f in library._final_module.functions if not f.is_declaration]
        assert not any("matmul" in name or "_gemm" in name for name in defined)
