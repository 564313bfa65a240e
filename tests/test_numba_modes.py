"""The two modes of kernels.compile (hooked, plain numba.njit) and the thread settings of
kernels.threads, each checked in fresh processes."""
import os
import subprocess
import sys
import warnings

import numba
import numpy as np
import pytest

from tests.conftest import ROOT, TOLERANCE


def python(code, **env):
    """Run `code` in a fresh interpreter with `env` added; its stdout's lines."""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=900)
    assert done.returncode == 0, (done.returncode, done.stderr)
    return done.stdout.splitlines()


# ---- the mode ---------------------------------------------------------------------------

TRAIN = """
import numpy as np
import fastnn as fnn
from fastnn.kernels import compile
rng = np.random.default_rng(0)
X = rng.random((200, 12), dtype=np.float32)
model = fnn.mlp([12, 40, 3], dropout=0.2, l2=1e-3, seed=0,
                optimizer=fnn.Adam(lr=1e-2, clip_norm=1.0))
model.fit(X, rng.integers(0, 3, 200), epochs=2, batch_size=32, verbose=0)
np.savez({path!r}, *model.get_weights())
print(compile.HOOKED)
"""


def test_plain_numba_trains_to_the_hooked_modes_weights(jit, tmp_path):
    weights = {}
    for plain in ("0", "1"):
        path = tmp_path / f"plain{plain}.npz"
        hooked = python(TRAIN.format(path=str(path)), FASTNN_PLAIN_NUMBA=plain)
        if plain == "1":
            assert hooked == ["False"]
        with np.load(path) as saved:
            weights[plain] = [saved[name] for name in saved.files]
    assert len(weights["0"]) == len(weights["1"]) == 4
    for hooked, plain in zip(weights["0"], weights["1"]):
        np.testing.assert_allclose(plain, hooked, **TOLERANCE[np.float32])


def test_the_mode_follows_the_release_and_the_environment(monkeypatch):
    from fastnn.kernels import compile
    monkeypatch.delenv("FASTNN_PLAIN_NUMBA", raising=False)
    monkeypatch.setattr(numba, "__version__", "0.68.3")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert compile.plain_mode() is False
        monkeypatch.setenv("FASTNN_PLAIN_NUMBA", "1")
        assert compile.plain_mode() is True  # asked for: no warning
        monkeypatch.setattr(numba, "__version__", "0.71.0")
        assert compile.plain_mode() is True
    monkeypatch.setenv("FASTNN_PLAIN_NUMBA", "0")
    with pytest.warns(RuntimeWarning, match=r"Numba 0\.71\.0 .*FASTNN_PLAIN_NUMBA=1"):
        assert compile.plain_mode() is True
    monkeypatch.setenv("FASTNN_PLAIN_NUMBA", "yes")
    with pytest.raises(ValueError, match=r"\$FASTNN_PLAIN_NUMBA must be 0 or 1, not 'yes'"):
        compile.plain_mode()


UNTESTED_RELEASE = """
import warnings
warnings.simplefilter("always")  # every warning is recorded, repeats included
import numba
numba.__version__ = "0.99.0"  # a release the hooks were never tested on
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import importlib
    import numpy as np
    from fastnn.kernels import compile, numba_cpu
    importlib.import_module("fastnn.kernels.gemm")
    z = np.array([[1.0, 2.0, 3.0]])
    for _ in range(2):
        loss = numba_cpu.softmax_cce(np.empty_like(z), z, np.array([2]), z[0, :0])
print(compile.HOOKED, round(loss, 6))
for w in caught:
    print(w.category.__name__, w.message)
"""


def test_an_untested_release_warns_once_and_runs_plain_numba(jit, tmp_path):
    env = dict(FASTNN_PLAIN_NUMBA="0", NUMBA_CACHE_DIR=str(tmp_path))
    state, *warned = python(UNTESTED_RELEASE, **env)
    assert state == "False 0.407606"  # log(e¹ + e² + e³) − 3
    assert len(warned) == 1
    assert warned[0].startswith("RuntimeWarning fastnn: Numba 0.99.0 is not a release")
    assert "FASTNN_PLAIN_NUMBA=1" in warned[0]
    state, *warned = python(UNTESTED_RELEASE, **dict(env, FASTNN_PLAIN_NUMBA="1"))
    assert (state, warned) == ("False 0.407606", [])


# ---- the thread settings ----------------------------------------------------------------

THREADS = """
import os
import numba
def pool():
    try:
        return numba.threading_layer()
    except ValueError:  # Numba's answer until its pool starts
        return "not started"
import fastnn.kernels.gemm
print(pool(), os.environ.get("GOMP_SPINCOUNT"))
import fastnn.kernels.numba_cpu
print(pool(), os.environ.get("GOMP_SPINCOUNT"))
"""


def clean_environment(**env):
    names = ("GOMP_SPINCOUNT", "NUMBA_THREADING_LAYER")
    return {**{k: v for k, v in os.environ.items() if k not in names}, **env}


def run_threads(**env):
    done = subprocess.run([sys.executable, "-c", THREADS], cwd=ROOT, capture_output=True,
                          text=True, env=clean_environment(**env), timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_importing_the_gemm_sets_nothing_the_backend_configures_the_threads():
    imported, loaded = run_threads()
    assert imported == "not started None"
    layer, spin = loaded.split()
    assert layer in ("tbb", "omp", "workqueue") and spin == "3000"


def test_the_users_thread_settings_win():
    _, loaded = run_threads(GOMP_SPINCOUNT="50", NUMBA_THREADING_LAYER="workqueue")
    assert loaded == "workqueue 50"


def test_configure_runs_once():
    from fastnn.kernels import threads
    threads.configure()
    layer = numba.threading_layer()
    threads.configure()
    assert numba.threading_layer() == layer


# numba issue #8578: a process compiles dense_forward over a matmul loaded from the cache
# (in plain mode, its cached code then lacks the pool start of the parallel GEMM inside
# it); a third process calls that cached dense_forward first
CACHED_CALLER = """
import numpy as np
from fastnn.kernels import gemm, numba_cpu
x, W = np.ones((64, 200), np.float32), np.ones((200, 70), np.float32)
out = np.empty((64, 70), np.float32)
if {first}:
    gemm.matmul(out, np.empty(0, np.float32), x, W)
else:
    numba_cpu.dense_forward(out, out[:0], np.empty(0, np.float32), x, W,
                            np.zeros(70, np.float32), 0, 0.0)
print(bool(np.all(out == 200)))
"""


def test_a_cached_kernel_embedding_a_parallel_one_runs_first_in_a_process(jit, tmp_path):
    env = dict(NUMBA_CACHE_DIR=str(tmp_path))
    for first in (True, False, False):
        assert python(CACHED_CALLER.format(first=first), **env) == ["True"]


def test_plain_mode_caches_by_the_kernels_sources(tmp_path, jit):
    """Numba's plain cache checks only a function's own file: plain mode keeps a folder
    per hash of all kernel sources, so an edit to gemm.py never loads a stale caller."""
    folder, path, stamp = python("""
from fastnn.kernels import compile, numba_cpu
from fastnn.kernels.flags import kernels_stamp
print(compile.PLAIN_CACHE)
print(numba_cpu.dense_forward._cache._cache_path)
print(kernels_stamp()[:16])
""", FASTNN_PLAIN_NUMBA="1", NUMBA_CACHE_DIR=str(tmp_path))
    assert folder == str(tmp_path / f"plain-{stamp}")
    assert path.startswith(folder)
