"""How the Numba kernels are compiled: the one place that chooses the flags.

fastmath never includes "nnan" or "ninf", so NaN and inf checks stay true (but with
"nsz" and "reassoc" together, ``math.isfinite`` is folded to True: the kernels test
finiteness with comparisons, ``abs(x) < inf``). error_model="numpy" lets divisions
vectorize (no ZeroDivisionError checks).

Kernels are cached on disk where Numba finds a writable folder ($NUMBA_CACHE_DIR, the
package's ``__pycache__``, a per-user folder), stamped with a hash of all the kernel
modules and the flags (`kernels_stamp`), so no edit ever loads stale code. With none writable — a read-only install,
a locked-down home — Numba would refuse to define them; they then compile anew in every
process, with a warning.
"""
import hashlib
import os
import warnings
from functools import partial
from pathlib import Path

from numba import njit
from numba.core import caching
from numba.core.caching import CacheImpl

FASTMATH = {"nsz", "arcp", "contract", "reassoc"}
KERNELS_DIR = Path(__file__).resolve().parent


def kernels_stamp():
    """A hash of every kernel module's source and of the compile flags.

    Numba stamps a cached function with its own file's hash only, yet a cached caller
    embeds its callees' machine code, and the flags are not part of the key at all:
    stamping every kernel with this hash recompiles them all when any of these change.
    """
    digest = hashlib.sha256(repr(sorted(FASTMATH)).encode())
    for path in sorted(KERNELS_DIR.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


class _KernelsStamp:
    """A cache locator mixin: for the kernels' files only, the stamp of `kernels_stamp`."""

    @classmethod
    def from_function(cls, py_func, py_file):
        if Path(py_file).resolve().parent != KERNELS_DIR:
            return None  # someone else's function: Numba's own locators take it
        return super().from_function(py_func, py_file)

    def get_source_stamp(self):
        return STAMP


STAMP = kernels_stamp()
# Numba's three folders, in Numba's order, ahead of Numba's own locators
_LOCATORS = [type(f"Kernels{base.__name__}", (_KernelsStamp, base), {})
             for base in (caching.UserProvidedCacheLocator, caching.InTreeCacheLocator,
                          caching.UserWideCacheLocator)]
if not any(issubclass(c, _KernelsStamp) for c in CacheImpl._locator_classes):
    CacheImpl._locator_classes[:0] = _LOCATORS


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
