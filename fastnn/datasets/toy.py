"""Toy 2-D classification problems, small and seeded: XOR, circles, moons, spirals.

Each returns ``X`` float32 (n, 2) and ``y`` int64 (n,).
"""
import math
import numbers

import numpy as np

from fastnn.checks import show
from fastnn.datasets.preprocessing import check_int as _check_int
from fastnn.errors import HyperParameterError

__all__ = ["xor", "circles", "moons", "spirals"]

_XOR_CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
_XOR_LABELS = np.array([0, 1, 1, 0], dtype=np.int64)


def xor(n_samples=None, noise=0.0, seed=0):
    """The XOR problem: the corners of the unit square, labelled by XOR.

    Parameters
    ----------
    n_samples : int, optional
        Number of points. Default: the four corners ``[0, 0], [0, 1], [1, 0], [1, 1]``
        once each. Otherwise the rows cycle through the corners in that order, so all
        four appear (as evenly as possible) once ``n_samples >= 4``; rows are not
        shuffled.
    noise : float, default 0.0
        Standard deviation of the Gaussian noise added to every coordinate.
    seed : int, default 0
        Seed of ``numpy.random.default_rng`` (used only for the noise).

    Returns
    -------
    X : float32 (n, 2)
        The points.
    y : int64 (n,)
        ``x0 XOR x1`` of the corner each point was drawn from: 0 for [0, 0] and [1, 1],
        1 for [0, 1] and [1, 0].

    Raises
    ------
    ValueError
        ``n_samples`` is not an integer >= 1, or ``noise`` is negative or not finite.
    """
    n = 4 if n_samples is None else _check_int("n_samples", n_samples, 1)
    noise = _check_noise(noise)
    rng = np.random.default_rng(seed)
    corner = np.arange(n) % 4
    X = _XOR_CORNERS[corner] + noise * rng.standard_normal((n, 2))
    return X.astype(np.float32), _XOR_LABELS[corner]


def circles(n_samples=500, noise=0.1, factor=0.5, seed=0):
    """Two concentric circles: a binary problem no straight line separates.

    Parameters
    ----------
    n_samples : int, default 500
        Total number of points: ``ceil(n/2)`` on the outer circle, ``floor(n/2)`` on the
        inner one, each spread evenly by angle.
    noise : float, default 0.1
        Standard deviation of the Gaussian noise added to every coordinate.
    factor : float, default 0.5
        Radius of the inner circle (the outer one has radius 1), in [0, 1).
    seed : int, default 0
        Seed of ``numpy.random.default_rng`` (noise and row order).

    Returns
    -------
    X : float32 (n, 2)
        The points, rows shuffled.
    y : int64 (n,)
        0 for the outer circle, 1 for the inner one.

    Raises
    ------
    ValueError
        ``n_samples`` is not an integer >= 1, ``noise`` is negative or not finite, or
        ``factor`` is outside [0, 1).
    """
    n = _check_int("n_samples", n_samples, 1)
    noise = _check_noise(noise)
    if not (isinstance(factor, numbers.Real) and 0 <= factor < 1):
        raise HyperParameterError(f"factor must be a number in [0, 1), got {show(factor)}")
    n_outer = n - n // 2
    n_inner = n // 2
    parts = []
    for count, radius in ((n_outer, 1.0), (n_inner, float(factor))):
        angle = np.linspace(0, 2 * np.pi, count, endpoint=False)
        parts.append(radius * np.column_stack([np.cos(angle), np.sin(angle)]))
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n_outer, n_inner])
    return _noisy_shuffled(np.concatenate(parts), y, noise, np.random.default_rng(seed))


def moons(n_samples=500, noise=0.1, seed=0):
    """Two interleaving half circles, as scikit-learn's ``make_moons``.

    The upper moon is the half unit circle ``(cos t, sin t)``, t in [0, pi]; the lower
    one is ``(1 - cos t, 0.5 - sin t)``, the upper moon mirrored and shifted so that each
    reaches into the other's opening.

    Parameters
    ----------
    n_samples : int, default 500
        Total number of points: ``ceil(n/2)`` on the upper moon, ``floor(n/2)`` on the
        lower one (scikit-learn gives the extra point to the lower moon; here label 0
        gets it, as in :func:`circles`).
    noise : float, default 0.1
        Standard deviation of the Gaussian noise added to every coordinate.
    seed : int, default 0
        Seed of ``numpy.random.default_rng`` (noise and row order).

    Returns
    -------
    X : float32 (n, 2)
        The points, rows shuffled.
    y : int64 (n,)
        0 for the upper moon, 1 for the lower one.

    Raises
    ------
    ValueError
        ``n_samples`` is not an integer >= 1, or ``noise`` is negative or not finite.
    """
    n = _check_int("n_samples", n_samples, 1)
    noise = _check_noise(noise)
    n_upper = n - n // 2
    n_lower = n // 2
    t_upper = np.linspace(0, np.pi, n_upper)
    t_lower = np.linspace(0, np.pi, n_lower)
    upper = np.column_stack([np.cos(t_upper), np.sin(t_upper)])
    lower = np.column_stack([1 - np.cos(t_lower), 0.5 - np.sin(t_lower)])
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n_upper, n_lower])
    return _noisy_shuffled(np.concatenate([upper, lower]), y, noise, np.random.default_rng(seed))


def spirals(n_samples=500, n_classes=3, noise=0.2, seed=0):
    """Interleaved spiral arms, one per class (the CS231n spiral data).

    Arm k holds the points ``r * (sin t, cos t)`` with the radius r going from 0 to 1
    and the angle ``t = linspace(4k, 4(k + 1)) + noise * randn``: the noise perturbs the
    angle, not the coordinates, so every point keeps its radius.

    Parameters
    ----------
    n_samples : int, default 500
        Total number of points, split as evenly as possible: the first
        ``n_samples % n_classes`` classes get one extra point.
    n_classes : int, default 3
        Number of arms (and classes), >= 2.
    noise : float, default 0.2
        Standard deviation of the Gaussian noise added to each angle, in radians.
    seed : int, default 0
        Seed of ``numpy.random.default_rng`` (noise and row order).

    Returns
    -------
    X : float32 (n, 2)
        The points, rows shuffled, inside the unit disc.
    y : int64 (n,)
        The arm, in ``0 .. n_classes - 1``.

    Raises
    ------
    ValueError
        ``n_samples`` is not an integer >= 1, ``n_classes`` not an integer >= 2,
        ``n_samples < n_classes`` (a class would be empty), or ``noise`` is negative or
        not finite.
    """
    n = _check_int("n_samples", n_samples, 1)
    k = _check_int("n_classes", n_classes, 2)
    noise = _check_noise(noise)
    if n < k:
        raise HyperParameterError(
            f"n_samples={n} is fewer than n_classes={k}: every class needs a sample"
        )
    rng = np.random.default_rng(seed)
    counts = np.full(k, n // k)
    counts[: n % k] += 1
    y = np.repeat(np.arange(k, dtype=np.int64), counts)
    r = np.concatenate([np.linspace(0, 1, c) for c in counts])
    t = np.concatenate([np.linspace(4 * j, 4 * (j + 1), c) for j, c in enumerate(counts)])
    t += noise * rng.standard_normal(n)
    X = r[:, None] * np.column_stack([np.sin(t), np.cos(t)])
    order = rng.permutation(n)
    return X[order].astype(np.float32), y[order]


def _check_noise(noise):
    if not (isinstance(noise, numbers.Real) and math.isfinite(noise) and noise >= 0):
        raise HyperParameterError(f"noise must be a finite number >= 0, got {show(noise)}")
    return float(noise)


def _noisy_shuffled(X, y, noise, rng):
    """Add N(0, noise^2) to every coordinate, shuffle the rows: float32 X, int64 y."""
    X = X + noise * rng.standard_normal(X.shape)
    order = rng.permutation(len(X))
    return X[order].astype(np.float32), y[order]


