"""Checks at the public boundary: nothing malformed reaches a kernel.

Every check raises a class from `fastnn.errors` with a message that names the argument,
what it must be, and what was given.
"""
import difflib
import math
import numbers

import numpy as np

from fastnn.errors import (DTypeError, HyperParameterError, NonFiniteError, ShapeError,
                           UnknownNameError)


def show(value):
    """repr for messages, NumPy scalars shown as plain numbers (5, not np.int64(5))."""
    return repr(value.item() if isinstance(value, np.generic) else value)


SMALL = 65_536  # elements: below this, as_features tests each one for finiteness


def as_array(values, name):
    """np.asarray(values), with ragged nested lists reported as a ShapeError."""
    try:
        return np.asarray(values)
    except ValueError as err:  # NumPy refuses inhomogeneous nested sequences
        raise ShapeError(f"{name} is ragged: its rows have different lengths ({err})") from None


def as_features(X, n_features, dtype, name="X", all_finite=None):
    """X as a C-contiguous (N, n_features) array of `dtype`, finite, with N ≥ 1.

    Lists and integer or boolean arrays are converted; strings, objects and complex
    numbers are refused (DTypeError), as are a wrong shape or feature count, no samples
    (ShapeError) and NaN or inf (NonFiniteError, naming the row and column of the first).
    all_finite: the backend's kernel of that name, to test X with (one pass, split among
    the threads; NumPy's mask allocates, its sum is serial); by default, NumPy.
    """
    X = as_array(X, name)
    if X.dtype.kind not in "biuf":
        raise DTypeError(f"{name} must hold real numbers, got dtype {X.dtype}"
                         + (" (complex numbers are not supported)" if X.dtype.kind == "c"
                            else ""))
    if X.ndim == 1 and n_features == 1:
        X = X[:, None]
    if X.ndim != 2:
        hint = (f"; for a single sample use {name}.reshape(1, -1)"
                if X.ndim == 1 and len(X) == n_features else "")
        raise ShapeError(f"{name} must be 2-D (samples, features), got shape {X.shape}{hint}")
    if X.shape[0] == 0:
        raise ShapeError(f"{name} is empty: it has no samples")
    if X.shape[1] != n_features:
        raise ShapeError(f"{name} has {X.shape[1]} features per sample, but the first layer "
                         f"expects {n_features}")
    given = X
    if X.dtype != dtype or not X.flags.c_contiguous:
        with np.errstate(over="ignore"):  # an overflow is reported below, with its position
            X = np.ascontiguousarray(X, dtype=dtype)
    if all_finite is not None:
        if all_finite(X.reshape(-1)):
            return X
    elif X.size <= SMALL:  # a test of each costs less than entering np.errstate
        if np.isfinite(X).all():
            return X
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(X.sum()):  # NaN or ±inf anywhere makes the sum non-finite
                return X
    finite = np.isfinite(X)  # a NaN or inf, or finite values whose sum overflows
    if not finite.all():
        row, col = np.argwhere(~finite)[0]
        value = given[row, col]
        if np.isfinite(value):  # finite as given, but too large for dtype
            raise NonFiniteError(f"{name} contains {show(value)} at row {row}, column {col}, "
                                 f"which overflows {np.dtype(dtype).name}; scale the inputs")
        raise NonFiniteError(f"{name} contains {X[row, col]} at row {row}, column {col}; "
                             f"inputs must be finite")
    return X


def same_length(X, y, names=("X", "y")):
    """Refuse inputs and targets with different sample counts (ShapeError)."""
    if len(X) != len(y):
        raise ShapeError(f"{names[0]} has {len(X)} samples but {names[1]} has {len(y)}")


def sample_weights(values, n, dtype):
    """values as a C-contiguous (n,) array of `dtype`: numbers, finite, ≥ 0, not all 0."""
    w = as_array(values, "sample_weight")
    if w.dtype.kind not in "biuf":
        raise DTypeError(f"sample_weight must hold numbers, got dtype {w.dtype}")
    if w.shape != (n,):
        raise ShapeError(f"sample_weight must have shape ({n},), one weight per sample, "
                         f"got {w.shape}")
    if not np.isfinite(w).all():
        i = int(np.argmax(~np.isfinite(w)))
        raise NonFiniteError(f"sample_weight must be finite; weight {i} is {show(w[i])}")
    if (w < 0).any():
        i = int(np.argmax(w < 0))
        raise HyperParameterError(f"Invalid sample_weight: weight {i} is {show(w[i])} "
                                  f"(must be ≥ 0)")
    if n and not w.any():
        raise HyperParameterError("sample_weight sums to zero: every weight is 0, so no sample "
                                  "would count")
    return np.ascontiguousarray(w, dtype)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _interval(low, high, low_open, high_open):
    if high == math.inf:
        if low == 0 and low_open:
            return "a positive number"
        return f"a number {'>' if low_open else '≥'} {low:g}"
    return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def number(name, value, low=-math.inf, high=math.inf, low_open=False, high_open=False):
    """`value` as a float if it is a finite real number in the interval, else an error.

    The interval is [low, high] with either end open on request; the message states it:
    ``Invalid momentum: 1.5 (must be in [0, 1))``.
    """
    ok = _is_real(value) and math.isfinite(value)
    ok = ok and (value > low if low_open else value >= low)
    ok = ok and (value < high if high_open else value <= high)
    if not ok:
        raise HyperParameterError(f"Invalid {name}: {show(value)} (must be "
                                  f"{_interval(low, high, low_open, high_open)})")
    return float(value)


def integer(name, value, low=0):
    """`value` as an int if it is an integer (not a bool) ≥ low, else an error."""
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral)
            or value < low):
        must = "a positive integer" if low == 1 else f"an integer ≥ {low}"
        raise HyperParameterError(f"Invalid {name}: {show(value)} (must be {must})")
    return int(value)


def positive_int(name, value):
    """`value` as an int ≥ 1 (batch sizes, epochs, layer sizes), else HyperParameterError."""
    return integer(name, value, 1)


def flag(name, value):
    """`value` as a bool; True, False (or NumPy's) only, so a string like "False" is refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise HyperParameterError(f"Invalid {name}: {show(value)} (must be True or False)")
    return bool(value)


def option(name, value, choices):
    """`value` if it is one of a few `choices` (a mode, say), else HyperParameterError."""
    if isinstance(value, str) and value in choices:
        return value
    close = difflib.get_close_matches(value, choices, n=1) if isinstance(value, str) else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    names = [repr(choice) for choice in choices]
    listed = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
    raise HyperParameterError(f"Invalid {name}: {show(value)} (must be {listed}){hint}")


def known_name(kind, value, choices, context=""):
    """`value` if it names one of `choices` (an activation, a loss, ...).

    A string that is not among them raises UnknownNameError with a "did you mean" hint;
    anything else, DTypeError.
    """
    if not isinstance(value, str):
        raise DTypeError(f"{kind} must be a name, one of {sorted(choices)}, got "
                         f"{type(value).__name__} {show(value)}")
    if value not in choices:
        raise UnknownNameError(kind, value, choices, context)
    return value
