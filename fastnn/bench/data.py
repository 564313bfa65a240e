"""The training data every framework reads: MNIST or random MNIST-shaped arrays, written
once as .npy files for the worker processes to load."""
from pathlib import Path

import numpy as np


def mnist(path=None, samples=None):
    """(X, y): the MNIST training set as `fastnn.datasets.load_mnist(path)` finds it,
    cut to its first `samples` rows. X (N, 784) float32 in [0, 1], y (N,) int64."""
    from fastnn.datasets import load_mnist
    (X, y), _ = load_mnist(path)
    return X[:samples], y[:samples]


def synthetic(samples, features=784, classes=10, seed=0):
    """(X, y) of uniform random pixels and labels: for quick checks without MNIST files.

    Times differ a little from MNIST's, whose many zero pixels fastnn skips.
    """
    rng = np.random.default_rng(seed)
    X = rng.random((samples, features), dtype=np.float32)
    return X, rng.integers(0, classes, samples)


def check_fits(X, y, workloads):
    """Raise ValueError unless every workload's input size, classes and samples fit."""
    classes = int(y.max()) + 1
    for w in workloads:
        if w.sizes[0] != X.shape[1]:
            raise ValueError(f"model {w.model} takes {w.sizes[0]} inputs but the data has "
                             f"{X.shape[1]} features")
        if w.sizes[-1] < classes:
            raise ValueError(f"model {w.model} has {w.sizes[-1]} outputs but the data has "
                             f"{classes} classes")
        if w.samples > len(X):
            raise ValueError(f"workload {w.label} wants {w.samples} samples but the data "
                             f"has {len(X)}")


def save(folder, X, y):
    """Write X.npy and y.npy (float32, int64) into `folder`; return their paths."""
    folder = Path(folder)
    paths = {"X": str(folder / "X.npy"), "y": str(folder / "y.npy")}
    np.save(paths["X"], np.ascontiguousarray(X, dtype=np.float32))
    np.save(paths["y"], np.asarray(y, dtype=np.int64))
    return paths
