"""How the Numba kernels are compiled: the one place that chooses the flags.

fastmath never includes "nnan" or "ninf", so NaN and inf checks stay true (but with
"nsz" and "reassoc" together, ``math.isfinite`` is folded to True: the kernels test
finiteness with comparisons, ``abs(x) < inf``). error_model="numpy" lets divisions
vectorize (no ZeroDivisionError checks).

Kernels are cached on disk where Numba finds a writable folder ($NUMBA_CACHE_DIR, the
package's ``__pycache__``, a per-user folder). With none writable — a read-only install,
a locked-down home — Numba would refuse to define them; they then compile anew in every
process, with a warning.
"""
import os
import warnings
from functools import partial

from numba import njit
from numba.core.caching import CacheImpl

FASTMATH = {"nsz", "arcp", "contract", "reassoc"}


def cache_possible(source=os.path.join(os.path.dirname(__file__), "numba_cpu.py")):
    """Whether Numba can cache functions defined in `source` in some writable folder."""
    def probe():
        pass
    return any(locator.from_function(probe, source) is not None
               for locator in CacheImpl._locator_classes)


CACHE = cache_possible()
if not CACHE:
    warnings.warn("fastnn: no writable folder for Numba's cache (NUMBA_CACHE_DIR, the "
                  "package's __pycache__, the user cache folder); kernels compile again in "
                  "every process. Set NUMBA_CACHE_DIR to a writable folder to cache them.",
                  RuntimeWarning, stacklevel=2)

OPTIONS = dict(cache=CACHE, nogil=True, fastmath=FASTMATH, error_model="numpy")

jit = partial(njit, **OPTIONS)
jit_parallel = partial(njit, parallel=True, **OPTIONS)
