"""What every Numba kernel compiles with, in both modes of ``fastnn.kernels.compile``.

fastmath never includes "nnan" or "ninf", so NaN and inf checks stay true (but with
"nsz" and "reassoc" together, ``math.isfinite`` is folded to True: the kernels test
finiteness with comparisons, ``abs(x) < inf``). error_model="numpy" lets divisions
vectorize (no ZeroDivisionError checks).

Kernels are cached on disk where Numba finds a writable folder ($NUMBA_CACHE_DIR, the
package's ``__pycache__``, a per-user folder). With none writable — a read-only install,
a locked-down home — Numba would refuse to define them; they then compile anew in every
process, with a warning (`CACHE` is False).
"""
import hashlib
import warnings
from pathlib import Path

import numba

FASTMATH = {"nsz", "arcp", "contract", "reassoc"}
OPTIONS = dict(nogil=True, fastmath=FASTMATH, error_model="numpy")
KERNELS_DIR = Path(__file__).resolve().parent


def kernels_stamp():
    """A hash of every kernel module's source and of the compile flags.

    Numba stamps a cached function with its own file's hash only, yet a cached caller
    embeds its linked helpers' machine code and calls kernels compiled for the signatures
    it was typed with, and the flags are not part of the key at all:
    stamping every kernel with this hash recompiles them all when any of these change.
    """
    digest = hashlib.sha256(repr(sorted(FASTMATH)).encode())
    for path in sorted(KERNELS_DIR.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def cache_possible():
    """Whether Numba finds a writable folder to cache this folder's functions in."""
    def probe():
        pass
    try:
        numba.njit(cache=True)(probe)  # Numba looks for the folder when caching is asked for
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return False
    return True


if numba.config.DISABLE_JIT:  # nothing compiles: nothing to cache
    CACHE = False
else:
    CACHE = cache_possible()
    if not CACHE:
        warnings.warn("fastnn: no writable folder for Numba's cache (NUMBA_CACHE_DIR, the "
                      "package's __pycache__, the user cache folder); kernels compile again "
                      "in every process. Set NUMBA_CACHE_DIR to a writable folder to cache "
                      "them.", RuntimeWarning, stacklevel=2)
