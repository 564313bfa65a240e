"""How the Numba kernels are compiled: the one place that chooses the flags.

fastmath never includes "nnan" or "ninf", so NaN and inf checks stay true;
error_model="numpy" lets divisions vectorize (no ZeroDivisionError checks).
"""
from functools import partial

from numba import njit

FASTMATH = {"nsz", "arcp", "contract", "reassoc"}
OPTIONS = dict(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")

jit = partial(njit, **OPTIONS)
jit_parallel = partial(njit, parallel=True, **OPTIONS)
