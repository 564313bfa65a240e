"""Preparing any data set: a seeded (stratified) train/test split, one-hot labels,
standardized features."""
import math
import numbers

import numpy as np

from fastnn.checks import show
from fastnn.errors import HyperParameterError, LabelError, NonFiniteError, ShapeError

__all__ = ["train_test_split", "one_hot", "standardize"]


def train_test_split(X, y, test_size=0.2, seed=0, stratify=None):
    """Split samples into a training and a test set by a seeded shuffle.

    Parameters
    ----------
    X : array_like (n, ...)
        Inputs; the first axis indexes samples.
    y : array_like (n, ...)
        Targets: labels (n,), one-hot rows (n, C), regression targets of any shape.
    test_size : float, default 0.2
        Fraction of samples in the test set, in (0, 1). The test set holds
        ``ceil(test_size * n)`` samples; both sets must be non-empty.
    seed : int, default 0
        Seed of ``numpy.random.default_rng``.
    stratify : None, bool or array_like (n,), default None
        ``None``: stratify by ``y`` if it is a 1-D integer array (class labels), else
        split plainly. ``True``: stratify by ``y``, which must be 1-D. ``False``: a plain
        random split. An array: stratify by its values (any 1-D array of labels).
        Stratified, each class puts a share of its samples in the test set proportional
        to its size: the per-class counts are ``ceil(test_size * n) * n_class / n``
        rounded so they sum to exactly ``ceil(test_size * n)`` (largest remainders, ties
        broken at random).

    Returns
    -------
    X_train : (n - n_test, ...)
    X_test : (n_test, ...)
    y_train : (n - n_test, ...)
    y_test : (n_test, ...)
        Rows of ``X`` and ``y`` taken together in a shuffled order, with the input
        dtypes. Every sample is in exactly one of the two sets.

    Raises
    ------
    ValueError
        ``X``, ``y`` or ``stratify`` are 0-d or differ in length, ``stratify`` is not
        1-D, ``test_size`` is outside (0, 1), or it leaves a set empty.
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ShapeError(
            f"X and y need a samples axis, got shapes X {X.shape} and y {y.shape}"
        )
    n = len(X)
    if len(y) != n:
        raise ShapeError(f"X and y differ in length: {n} samples in X, {len(y)} in y")
    if not (isinstance(test_size, numbers.Real) and 0 < test_size < 1):
        raise HyperParameterError(
            f"test_size must be a number in (0, 1), got {show(test_size)}"
        )
    # round() first so that e.g. 0.7 * 10 = 7.000000000000001 means 7, not 8
    n_test = math.ceil(round(test_size * n, 9))
    if not 0 < n_test < n:
        empty = "test" if n_test == 0 else "training"
        raise HyperParameterError(
            f"test_size={show(test_size)} with {n} samples leaves the {empty} set empty "
            f"({n_test} of {n} samples in the test set)"
        )
    groups = _strata(stratify, y, n)
    rng = np.random.default_rng(seed)
    if groups is None:
        order = rng.permutation(n)
        test, train = order[:n_test], order[n_test:]
    else:
        test, train = _stratified_indices(groups, n_test, rng)
    return X[train], X[test], y[train], y[test]


def one_hot(labels, n_classes=None):
    """Encode integer class labels as one-hot rows.

    Parameters
    ----------
    labels : array_like (n,)
        Non-negative integers (an integer array, or floats holding whole numbers).
    n_classes : int, optional
        Number of columns, >= 1. Default: ``max(labels) + 1``.

    Returns
    -------
    float32 (n, n_classes)
        Row i is 1 in column ``labels[i]`` and 0 elsewhere; ``argmax(axis=1)`` recovers
        the labels.

    Raises
    ------
    ValueError
        ``labels`` is not 1-D or not numeric, a label is negative, not a whole number or
        not below ``n_classes`` (the message names the first such label and its index),
        ``n_classes`` is not an integer >= 1, or it is omitted and ``labels`` is empty.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ShapeError(f"labels must be 1-D (n,), got shape {labels.shape}")
    if labels.dtype.kind not in "iuf":
        raise LabelError(f"labels must be integers, got dtype {labels.dtype}")
    if n_classes is None:
        if labels.size == 0:
            raise ShapeError("cannot infer n_classes from empty labels; pass n_classes")
        top = labels.max()  # a bad (negative, NaN, inf) maximum is reported below
        n_classes = int(top) + 1 if np.isfinite(top) and top >= 0 else 1
    else:
        n_classes = check_int("n_classes", n_classes, 1)
    whole = np.ones(labels.shape, dtype=bool)
    if labels.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(labels) & (labels == np.floor(labels))
    negative = labels < 0
    too_big = labels >= n_classes
    bad = ~whole | negative | too_big
    if bad.any():
        i = int(np.argmax(bad))
        if not whole[i]:
            reason = "not a whole number"
        elif negative[i]:
            reason = "negative"
        else:
            reason = f"not below n_classes={n_classes}"
        raise LabelError(f"label {show(labels[i])} at index {i} is {reason}")
    out = np.zeros((len(labels), n_classes), dtype=np.float32)
    out[np.arange(len(labels)), labels.astype(np.int64)] = 1
    return out


def standardize(X, mean=None, std=None):
    """Centre each feature and scale it to unit standard deviation.

    Fit on the training set, then pass its statistics for the test set::

        X_train, mean, std = standardize(X_train)
        X_test, _, _ = standardize(X_test, mean, std)

    A feature with zero standard deviation (constant in ``X``, or 0 in a given ``std``)
    is centred but not scaled: its std is taken as 1, and returned as 1, so it comes out
    as zeros instead of NaN (scikit-learn's ``StandardScaler`` does the same).

    Parameters
    ----------
    X : array_like (n, F)
        Samples by features.
    mean : array_like (F,), optional
        Per-feature mean to subtract. Default: the mean of ``X``.
    std : array_like (F,), optional
        Per-feature standard deviation to divide by, >= 0. Default: the population
        standard deviation (``ddof=0``) of ``X``.

    Returns
    -------
    X_standardized : float32 (n, F)
        ``(X - mean) / std``.
    mean : float32 (F,)
        The mean used.
    std : float32 (F,)
        The standard deviation used, with 1 for zero-variance features.

    Raises
    ------
    ValueError
        ``X`` is not 2-D or, with a statistic to compute, has no rows; ``mean`` or
        ``std`` is not shaped (F,) or not finite; ``std`` has a negative entry.
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ShapeError(f"X must be 2-D (n, F), got shape {X.shape}")
    n, f = X.shape
    if n == 0 and (mean is None or std is None):
        raise ShapeError("X has no samples to compute mean and std from")
    constant = (X == X[0]).all(axis=0) if n else np.zeros(f, dtype=bool)
    if mean is None:
        mean = X.mean(axis=0, dtype=np.float64)  # float32 sums drift over many samples
        mean[constant] = X[0, constant]  # exact, so a constant feature becomes exact zeros
    else:
        mean = _check_stat("mean", mean, f)
    out = X.astype(np.float32)
    out -= mean.astype(np.float32)
    if std is None:
        # from the centred float32 copy, so no float64 copy of X is made; the shift
        # term is ~0 unless a given mean differs from X's own
        shift = out.mean(axis=0, dtype=np.float64)
        var = np.square(out).mean(axis=0, dtype=np.float64) - shift**2
        std = np.sqrt(np.maximum(var, 0))
        std[constant] = 0  # rounding can leave a constant feature a tiny spread
    else:
        std = _check_stat("std", std, f)
        if (std < 0).any():
            i = int(np.argmax(std < 0))
            raise HyperParameterError(f"std must be >= 0, got {show(std[i])} for feature {i}")
    std = np.where(std == 0, 1, std).astype(np.float32)
    out /= std
    return out, mean.astype(np.float32), std


def check_int(name, value, minimum):
    """``value`` as an int, or a ValueError naming ``name`` unless it is an int >= minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise HyperParameterError(f"{name} must be an integer >= {minimum}, got {show(value)}")
    return int(value)


def _check_stat(name, value, n_features):
    """A given mean or std as a float64 (F,) array, or a ValueError naming it."""
    value = np.asarray(value, dtype=np.float64)
    if value.shape != (n_features,):
        raise ShapeError(
            f"{name} must have shape ({n_features},) to match X, got {value.shape}"
        )
    if not np.isfinite(value).all():
        i = int(np.argmax(~np.isfinite(value)))
        raise NonFiniteError(f"{name} must be finite, got {show(value[i])} for feature {i}")
    return value


def _strata(stratify, y, n):
    """Class index (n,) int64 to stratify by, or None for a plain split."""
    if stratify is None:
        if y.ndim != 1 or y.dtype.kind not in "iu":
            return None
        stratify = y
    elif stratify is False:
        return None
    elif stratify is True:
        if y.ndim != 1:
            raise ShapeError(f"stratify=True needs 1-D labels y, got shape {y.shape}")
        stratify = y
    stratify = np.asarray(stratify)
    if stratify.shape != (n,):
        raise ShapeError(
            f"stratify must be 1-D with one label per sample ({n},), "
            f"got shape {stratify.shape}"
        )
    return np.unique(stratify, return_inverse=True)[1].reshape(n)


def _stratified_indices(groups, n_test, rng):
    """Test and train indices with each group's test count proportional to its size."""
    counts = np.bincount(groups)
    quota = n_test * counts / counts.sum()
    take = np.floor(quota).astype(np.int64)
    # hand the remaining test slots to the largest remainders, ties in random order
    tie_break = rng.permutation(len(counts))
    by_remainder = tie_break[np.argsort(-(quota - take)[tie_break], kind="stable")]
    take[by_remainder[: n_test - take.sum()]] += 1
    test, train = [], []
    for g, k in enumerate(take):
        members = rng.permutation(np.flatnonzero(groups == g))
        test.append(members[:k])
        train.append(members[k:])
    return rng.permutation(np.concatenate(test)), rng.permutation(np.concatenate(train))
