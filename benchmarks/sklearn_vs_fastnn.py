"""fastnn's MLPClassifier beside scikit-learn's: same hyper-parameters, MNIST, one table.

    FASTNN_DATA=/path/to/mnist python benchmarks/sklearn_vs_fastnn.py [--epochs 3]
        [--batch-sizes 32 128 512] [--rounds 1] [--threads N]

Each fit runs in its own process (a fresh interpreter: neither library's caches, threads
or memory carry over to the other), the libraries alternating, so that a change in the
machine's load falls on both. fastnn's kernels are compiled (or loaded from Numba's
cache) by a short warm-up fit before the timed one. Seconds per epoch is the fit's wall
time over its epochs; accuracy is on the 10,000 test images.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import warnings

LIBRARIES = {"fastnn": "fastnn.sklearn", "scikit-learn": "sklearn.neural_network"}


def run_one(library, batch_size, epochs):
    """Fit one MLPClassifier in this process; print a JSON line of the result."""
    import importlib

    from fastnn.datasets import load_mnist

    (X, y), (X_test, y_test) = load_mnist(download=False)
    MLPClassifier = importlib.import_module(LIBRARIES[library]).MLPClassifier
    params = dict(hidden_layer_sizes=(128, 64), solver="adam", batch_size=batch_size,
                  max_iter=epochs, n_iter_no_change=epochs + 1, random_state=0)
    if library == "fastnn":
        MLPClassifier(**{**params, "max_iter": 1}).fit(X[:2048], y[:2048])  # compile
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the ConvergenceWarning of a short fit
        start = time.perf_counter()
        clf = MLPClassifier(**params).fit(X, y)
        seconds = time.perf_counter() - start
    print(json.dumps({"library": library, "batch_size": batch_size,
                      "seconds_per_epoch": seconds / clf.n_iter_,
                      "accuracy": clf.score(X_test, y_test)}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128, 512])
    parser.add_argument("--rounds", type=int, default=1, help="fits per library and size")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for both: scikit-learn's BLAS and fastnn's Numba kernels "
                             "(default: each library's own setting)")
    parser.add_argument("--one", nargs=2, metavar=("LIBRARY", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        return run_one(args.one[0], int(args.one[1]), args.epochs)

    env = dict(os.environ)
    if args.threads:  # read by each library when the child process starts
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "NUMBA_NUM_THREADS"):
            env[name] = str(args.threads)
    results = {}
    for batch_size in args.batch_sizes:
        for _ in range(args.rounds):
            for library in LIBRARIES:
                command = [sys.executable, __file__, "--one", library, str(batch_size),
                           "--epochs", str(args.epochs)]
                done = subprocess.run(command, capture_output=True, text=True, env=env)
                if done.returncode:
                    sys.exit(f"{library} at batch {batch_size} failed:\n{done.stderr}")
                row = json.loads(done.stdout.strip().splitlines()[-1])
                results.setdefault((batch_size, library), []).append(row)

    threads = f"{args.threads} thread(s) each" if args.threads else "default threads"
    print(f"MNIST, MLPClassifier(hidden_layer_sizes=(128, 64), solver='adam'), "
          f"{args.epochs} epochs, {threads}; best of {args.rounds} fit(s) per cell\n")
    print("| batch | scikit-learn s/epoch | fastnn s/epoch | speed-up | "
          "scikit-learn accuracy | fastnn accuracy |")
    print("|---:|---:|---:|---:|---:|---:|")
    for batch_size in args.batch_sizes:
        sk = min(results[batch_size, "scikit-learn"], key=lambda r: r["seconds_per_epoch"])
        fn = min(results[batch_size, "fastnn"], key=lambda r: r["seconds_per_epoch"])
        print(f"| {batch_size} | {sk['seconds_per_epoch']:.3f} | {fn['seconds_per_epoch']:.3f} "
              f"| {sk['seconds_per_epoch'] / fn['seconds_per_epoch']:.1f}× "
              f"| {sk['accuracy']:.4f} | {fn['accuracy']:.4f} |")


if __name__ == "__main__":
    main()
