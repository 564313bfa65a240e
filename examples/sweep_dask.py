"""A hyper-parameter sweep of fastnn's MLPClassifier on a Dask cluster.

scikit-learn's GridSearchCV hands its fits to joblib; inside
``joblib.parallel_backend("dask")`` joblib sends them to the Dask cluster the Client is
connected to, so a sweep spreads over every worker of every machine. Each fit uses its
worker's share of threads (`fastnn.parallel.threads_for_this_worker`): with one thread
per worker, one Numba thread per fit.

Run it with:  python examples/sweep_dask.py              (a local cluster on this machine)
              python examples/sweep_dask.py --scheduler tcp://host:8786   (a running one)
              [--workers 2] [--threads-per-worker 1] [--timeout 10] [--max-iter 60]

On a real cluster every worker needs fastnn and scikit-learn installed. The search must
reach a cross-validated accuracy of at least 0.9 on three interleaved spirals, and its
best model a held-out accuracy of at least 0.9, or the script exits with an error.
"""
import argparse
import logging
import sys
import time
import warnings
from contextlib import ExitStack

import joblib
import numpy as np
from distributed import Client, LocalCluster
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score

import fastnn as fnn
from fastnn.sklearn import MLPClassifier

MIN_ACCURACY = 0.9
PROG = "sweep_dask.py"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="a running Dask scheduler, e.g. tcp://host:8786 (default: "
                             "start a local cluster)")
    parser.add_argument("--timeout", type=float, default=10,
                        help="seconds to wait for the scheduler (default: 10)")
    parser.add_argument("--workers", type=int, default=2,
                        help="local cluster: worker processes (default: 2)")
    parser.add_argument("--threads-per-worker", type=int, default=1,
                        help="local cluster: threads per worker (default: 1)")
    parser.add_argument("--max-iter", type=int, default=60, help="epochs per fit")
    return parser.parse_args(argv)


def connect(args, stack):
    """A Client of the scheduler at args.scheduler, else of a new local cluster; both
    close when `stack` (an ExitStack) does."""
    if args.scheduler is None:
        cluster = stack.enter_context(LocalCluster(
            n_workers=args.workers, threads_per_worker=args.threads_per_worker,
            dashboard_address=":0", silence_logs=logging.ERROR))
        return stack.enter_context(Client(cluster))
    try:
        return stack.enter_context(Client(args.scheduler, timeout=args.timeout))
    except ValueError as err:  # a malformed address
        fail(f"invalid scheduler address {args.scheduler!r}: {err}")
    except OSError:  # refused or timed out
        fail(f"cannot reach the Dask scheduler at {args.scheduler} within "
             f"{args.timeout:g} s: is it running, and is the address right?")


def fail(message):
    """Exit with status 2 and a one-line error, as argparse does."""
    print(f"{PROG}: error: {message}", file=sys.stderr)
    sys.exit(2)


def sweep(client, max_iter):
    """Grid-search on the cluster; returns (search, 5-fold scores of the best, test
    accuracy of the best)."""
    print(f"Dask cluster: {len(client.scheduler_info()['workers'])} workers, dashboard "
          f"{client.dashboard_link}")
    X, y = fnn.datasets.spirals(600, n_classes=3, noise=0.2, seed=0)
    X_train, X_test, y_train, y_test = fnn.datasets.train_test_split(X, y, test_size=0.25,
                                                                     seed=0, stratify=y)
    grid = {"hidden_layer_sizes": [(32,), (64, 32)], "learning_rate_init": [3e-3, 1e-2],
            "activation": ["relu", "tanh"]}
    search = GridSearchCV(MLPClassifier(max_iter=max_iter, random_state=0), grid, cv=3)
    start = time.perf_counter()
    # sweeps stop fits early on purpose; scikit-learn passes this filter on to the workers
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    with joblib.parallel_backend("dask"):
        search.fit(X_train, y_train)
        scores = cross_val_score(search.best_estimator_, X_train, y_train, cv=5)
    n_fits = len(search.cv_results_["params"]) * 3 + 1 + len(scores)
    print(f"{n_fits} fits in {time.perf_counter() - start:.1f} s")
    results = search.cv_results_
    for i in np.argsort(results["rank_test_score"], kind="stable"):
        print(f"  {results['rank_test_score'][i]:2d}  {results['mean_test_score'][i]:.3f}  "
              f"{results['params'][i]}")
    return search, scores, search.best_estimator_.score(X_test, y_test)


def main(argv=None):
    args = parse_args(argv)
    with ExitStack() as stack:
        client = connect(args, stack)
        search, scores, test_accuracy = sweep(client, args.max_iter)
    print(f"best {search.best_params_}: cross-validated {search.best_score_:.3f}, "
          f"5-fold {scores.mean():.3f} ± {scores.std():.3f}, held out {test_accuracy:.3f}")
    if min(search.best_score_, test_accuracy) < MIN_ACCURACY:
        fail(f"accuracy below {MIN_ACCURACY}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
