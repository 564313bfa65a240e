"""Sweeps on a Dask cluster: a real LocalCluster (a scheduler and 2 worker processes).

The searches run fastnn's estimators through joblib's Dask backend and must give the same
cv_results_ as the same search run serially; each fit in a worker uses its worker's share
of threads; an unreachable scheduler gives a one-line error.
"""
import logging
import socket
import subprocess
import sys

import numpy as np
import pytest

import fastnn as fnn
from fastnn.parallel import threads_for_this_worker
from tests.conftest import ROOT
from tests.test_examples import example_env

distributed = pytest.importorskip("distributed")
pytest.importorskip("sklearn")
pytestmark = [pytest.mark.filterwarnings("ignore:Stochastic Optimizer"),
              pytest.mark.filterwarnings("ignore:lbfgs failed to converge")]


@pytest.fixture(scope="module")
def client():
    """A Client of a LocalCluster: 2 worker processes with 1 thread each.

    The Numba kernels the workers run are compiled here first, so that the workers load
    them from Numba's file cache instead of each compiling them again.
    """
    warm_up()
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=logging.ERROR)
    with cluster, distributed.Client(cluster) as client:
        yield client


# ---- threads ---------------------------------------------------------------------------

class NumbaThreads:
    """A callback that records Numba's thread count while fit runs."""

    def __init__(self):
        self.seen = []

    def on_epoch_end(self, epoch, logs):
        import numba
        self.seen.append(numba.get_num_threads())
        return False


def fit_in_worker():
    """Run in a worker: (threads Numba had during a fit, threads after it, the share)."""
    import numba
    X, y = fnn.datasets.moons(64, seed=0)
    model = fnn.mlp([2, 8, 2], backend="numba", seed=0)
    probe = NumbaThreads()
    model.fit(X, y, epochs=2, callbacks=[probe], verbose=0)
    return probe.seen, numba.get_num_threads(), threads_for_this_worker()


def estimator_fit_in_worker(solver):
    """Run in a worker: Numba's thread counts each time the estimator's fit reached the
    training loop (adam) or the gradient (lbfgs)."""
    import numba

    from fastnn import model as model_module
    from fastnn.sklearn import MLPClassifier
    seen = []
    name = "fit" if solver == "adam" else "compute_gradients"
    original = getattr(model_module.Sequential, name)

    def recording(self, *args, **kwargs):
        with self.threads_in_use():
            seen.append(numba.get_num_threads())
        return original(self, *args, **kwargs)
    setattr(model_module.Sequential, name, recording)
    try:
        X, y = fnn.datasets.moons(64, seed=0)
        MLPClassifier((8,), solver=solver, max_iter=3, backend="numba").fit(X, y)
    finally:
        setattr(model_module.Sequential, name, original)
    return seen


def warm_up():
    from fastnn.sklearn import MLPClassifier
    fit_in_worker()
    X, y = fnn.datasets.moons(64, seed=0)
    for solver in ("adam", "lbfgs"):
        MLPClassifier((8,), solver=solver, max_iter=3, backend="numba").fit(X, y)


def test_a_fit_in_a_one_thread_worker_uses_one_numba_thread(client):
    import numba
    seen, after, share = client.submit(fit_in_worker, pure=False).result()
    assert seen == [1, 1]
    assert share == 1
    assert after == numba.config.NUMBA_NUM_THREADS  # the worker's own setting is restored


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_the_estimators_fit_in_a_one_thread_worker_uses_one_numba_thread(client, solver):
    seen = client.submit(estimator_fit_in_worker, solver, pure=False).result()
    assert seen and set(seen) == {1}


def test_outside_a_worker_nothing_changes():
    import numba
    assert threads_for_this_worker() is None
    model = fnn.mlp([2, 3, 2], backend="numba")
    before = numba.get_num_threads()
    with model.threads_in_use():
        assert numba.get_num_threads() == before
    model.threads = 1
    with model.threads_in_use():
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before


def threads_in_fit():
    import numba
    with fnn.mlp([2, 3, 2], backend="numba").threads_in_use():
        return numba.get_num_threads()


def test_joblib_process_workers_already_limit_numba():
    """joblib's loky workers start with NUMBA_NUM_THREADS = cores // n_jobs (unless it is
    set already), which a model without its own threads keeps."""
    import os

    import joblib
    expected = int(os.environ.get("NUMBA_NUM_THREADS") or max(1, joblib.cpu_count() // 2))
    got = joblib.Parallel(n_jobs=2, backend="loky")(
        joblib.delayed(threads_in_fit)() for _ in range(2))
    assert got == [expected] * 2


def test_a_two_thread_worker_shares_its_threads():
    """A lone task gets both threads of a 2-thread worker (capped by Numba's maximum)."""
    import numba
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                       dashboard_address=":0", silence_logs=logging.ERROR)
    with cluster, distributed.Client(cluster) as client:
        share = client.submit(threads_for_this_worker, pure=False).result()
    assert share == min(2, numba.config.NUMBA_NUM_THREADS)


# ---- searches: the same results on the cluster as serially ------------------------------

def small_problem():
    X, y = fnn.datasets.spirals(120, n_classes=3, noise=0.2, seed=0)
    return X, y


def estimator(**params):
    from fastnn.sklearn import MLPClassifier
    return MLPClassifier(max_iter=15, batch_size=16, random_state=0, backend="numpy",
                         **params)


def on_cluster(client, run):
    """run() under joblib's Dask backend, checking that its fits ran on the workers."""
    import joblib
    with distributed.get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
        result = run()
    assert tasks.data, "no task ran on the cluster"
    return result


RESULT_KEYS = ("params", "mean_test_score", "std_test_score", "rank_test_score",
               "split0_test_score", "split1_test_score", "split2_test_score")


def assert_same_results(a, b):
    assert a["params"] == b["params"]
    for key in RESULT_KEYS[1:]:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_grid_search_on_the_cluster_equals_serial(client):
    from sklearn.model_selection import GridSearchCV
    X, y = small_problem()
    grid = {"hidden_layer_sizes": [(8,), (16,)], "learning_rate_init": [1e-3, 1e-2]}

    def search():
        return GridSearchCV(estimator(), grid, cv=3).fit(X, y)
    serial = search()
    clustered = on_cluster(client, search)
    assert_same_results(clustered.cv_results_, serial.cv_results_)
    assert clustered.best_params_ == serial.best_params_
    np.testing.assert_array_equal(clustered.predict_proba(X), serial.predict_proba(X))


def test_randomized_search_and_cross_val_score_on_the_cluster(client):
    from sklearn.model_selection import RandomizedSearchCV, cross_val_score
    X, y = small_problem()
    space = {"hidden_layer_sizes": [(4,), (8,), (16,)], "alpha": [1e-4, 1e-3, 1e-2],
             "activation": ["relu", "tanh"]}

    def search():
        return RandomizedSearchCV(estimator(), space, n_iter=3, cv=3,
                                  random_state=1).fit(X, y)
    assert_same_results(on_cluster(client, search).cv_results_, search().cv_results_)

    def scores():
        return cross_val_score(estimator(hidden_layer_sizes=(8,)), X, y, cv=3)
    np.testing.assert_array_equal(on_cluster(client, scores), scores())


# ---- an unreachable cluster ------------------------------------------------------------

def unused_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_example(*args):
    return subprocess.run([sys.executable, str(ROOT / "examples" / "sweep_dask.py"), *args],
                          cwd=ROOT, env=example_env(), capture_output=True, text=True,
                          timeout=300)


def one_line_error(result):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_example_sweeps_on_a_local_cluster():
    result = run_example()  # its own checks: accuracies of at least 0.9
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Dask cluster: 2 workers" in result.stdout
    assert "30 fits in" in result.stdout and "best {" in result.stdout
    assert "Warning" not in result.stderr, result.stderr


def test_example_says_when_the_scheduler_cannot_be_reached():
    address = f"tcp://127.0.0.1:{unused_port()}"
    line = one_line_error(run_example("--scheduler", address, "--timeout", "2"))
    assert line == (f"sweep_dask.py: error: cannot reach the Dask scheduler at {address} "
                    f"within 2 s: is it running, and is the address right?")


def test_example_says_when_the_address_is_malformed():
    line = one_line_error(run_example("--scheduler", "tpc://127.0.0.1:8786"))
    assert line.startswith("sweep_dask.py: error: invalid scheduler address "
                           "'tpc://127.0.0.1:8786': unknown address scheme 'tpc'")
