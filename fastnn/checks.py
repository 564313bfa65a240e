"""Checks at the public boundary: nothing malformed reaches a kernel."""
import numpy as np


def as_features(X, n_features, dtype, name="X"):
    """X as a C-contiguous (N, n_features) array of `dtype`, finite, with N ≥ 1."""
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {X.dtype}")
    if X.ndim == 1 and n_features == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples, features), got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty: it has no samples")
    if X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features per sample, but the first layer "
                         f"expects {n_features}")
    X = np.ascontiguousarray(X, dtype=dtype)
    if not np.isfinite(X).all():
        row, col = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(f"{name} contains {X[row, col]} at row {row}, column {col}; "
                         f"inputs must be finite")
    return X


def positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def same_length(X, y, names=("X", "y")):
    if len(X) != len(y):
        raise ValueError(f"{names[0]} has {len(X)} samples but {names[1]} has {len(y)}")
