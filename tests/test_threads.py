"""Threads and environment: separate models in parallel Python threads, bit-identical
results whatever the thread count, and what show_config reports."""
import io
import json
import os
import subprocess
import sys
import threading

import numba
import numpy as np
import pytest

import fastnn as fnn
from fastnn import config
from tests.conftest import ROOT

# Big enough with the JIT for the parallel GEMM and optimizer branches to run (the
# kernels go serial below ~500k FLOP or 32k elements); tiny without it, where every
# kernel is a Python loop and the thread count cannot matter anyway.
SIZES = [20, 6, 3] if numba.config.DISABLE_JIT else [784, 96, 10]
N, BATCH = (48, 16) if numba.config.DISABLE_JIT else (768, 128)


def data(seed):
    rng = np.random.default_rng(seed)
    X = rng.random((N, SIZES[0])).astype(np.float32)
    return X, rng.integers(0, SIZES[-1], N)


def new_model(seed, backend, **options):
    """Dropout, an L2 penalty and gradient clipping: every kernel a step can call."""
    return fnn.mlp(SIZES, activation="relu", output="softmax", loss="cce", dropout=0.1,
                   optimizer=fnn.Adam(lr=1e-3, clip_norm=1.0), l2=1e-4, seed=seed,
                   backend=backend, **options)


def train(seed, backend, **options):
    """Train a fresh model on its own data: (weights, history without timings, probs)."""
    X, y = data(seed)
    model = new_model(seed, backend, **options)
    history = model.fit(X, y, epochs=2, batch_size=BATCH, verbose=0, validation_data=(X, y))
    logs = {k: v for k, v in history.history.items() if k != "seconds"}
    return model.get_weights(), logs, model.predict_proba(X)


def assert_identical(a, b):
    (wa, ha, pa), (wb, hb, pb) = a, b
    assert ha == hb
    for x, y in zip(wa, wb):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(pa, pb)


def test_two_threads_train_separate_models_at_once(backend):
    seeds = [1, 2]
    sequential = [train(seed, backend) for seed in seeds]
    results, failures = {}, []
    start = threading.Barrier(len(seeds))

    def work(seed):
        try:
            start.wait()
            results[seed] = train(seed, backend)
        except BaseException as err:  # reported below: a thread's error is otherwise lost
            failures.append(err)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in seeds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    for seed, expected in zip(seeds, sequential):
        assert_identical(results[seed], expected)


def two_threads():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("Numba runs a single thread here (NUMBA_NUM_THREADS=1)")
    return 2


def with_numba_threads(count):
    previous = numba.get_num_threads()
    numba.set_num_threads(count)
    try:
        return train(7, "numba")
    finally:
        numba.set_num_threads(previous)


def test_one_or_two_numba_threads_give_bit_identical_training():
    assert_identical(with_numba_threads(1), with_numba_threads(two_threads()))


def test_one_or_two_threads_per_model_give_bit_identical_training():
    assert_identical(train(7, "numba", threads=1), train(7, "numba", threads=two_threads()))


# ---- show_config --------------------------------------------------------------------

KEYS = ["fastnn", "python", "numpy", "numba", "threading layer", "threads",
        "NUMBA_NUM_THREADS", "numba cache", "default backend", "JIT disabled"]


def test_show_config_prints_every_line_of_config_info():
    info = config.config_info()
    assert list(info) == KEYS
    assert info["fastnn"] == fnn.__version__ and info["numpy"] == np.__version__
    assert info["numba"] == numba.__version__
    assert info["JIT disabled"] is bool(numba.config.DISABLE_JIT)
    out = io.StringIO()
    fnn.show_config(file=out)
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == KEYS
    assert lines[3].split()[-1] == numba.__version__


def test_once_the_pool_runs_the_layer_and_thread_count_are_numbas():
    import fastnn.kernels.numba_cpu  # noqa: F401  starts the pool, as the first fit does
    info = config.config_info()
    assert info["threading layer"] == numba.threading_layer()
    assert info["threads"] == numba.get_num_threads()


REPORT = "import fastnn, json; print(json.dumps(fastnn.config.config_info()))"


def report(tmp_path, **env):
    """config_info() of a fresh interpreter with `env` added to a clean environment."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("NUMBA_NUM_THREADS", "FASTNN_BACKEND", "NUMBA_CACHE_DIR")}
    done = subprocess.run([sys.executable, "-c", REPORT], cwd=ROOT, capture_output=True,
                          text=True, env={**clean, **env}, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_fresh_process_reports_its_environment_without_starting_numba(tmp_path):
    info = report(tmp_path, NUMBA_NUM_THREADS="1", FASTNN_BACKEND="numpy",
                  NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    assert info["threading layer"].startswith("not started yet")
    assert info["threads"] == 1 and info["NUMBA_NUM_THREADS"] == "1"
    assert info["default backend"] == "numpy"
    assert info["numba cache"].startswith(str(tmp_path / "cache"))


def test_a_bad_backend_in_the_environment_is_reported_not_raised(tmp_path):
    info = report(tmp_path, FASTNN_BACKEND="cuda")
    assert info["default backend"].startswith("invalid: unknown backend 'cuda' in "
                                              "$FASTNN_BACKEND")
    assert info["NUMBA_NUM_THREADS"] == "unset"
