"""How the Numba kernels are compiled: `jit`, in one of two modes chosen once per process.

* **hooked** (the default on the Numba releases the hooks were tested on, `TESTED_NUMBA`):
  kernels are built by ``fastnn.kernels.numba_hooks``, which reaches into Numba's
  internals for a faster cold start: each kernel compiled once and called through a
  pointer, ``constants=`` compiled for their values so only the branches a model takes
  compile, a cache stamped with every kernel file, a cold start in two processes.
* **plain**: Numba's public API only, ``numba.njit(cache=True)`` (``parallel=True`` for
  `jit_parallel`). ``constants=`` are ordinary arguments (every branch compiles), helpers
  and private kernels are ordinary njit functions. Training computes the same at the
  same speed; only a cold start (an empty cache) takes longer. Chosen on any other Numba
  release, with a RuntimeWarning, or silently when the environment asks for it:
  ``FASTNN_PLAIN_NUMBA=1`` (``0`` or unset: the default). Numba's own cache checks only
  a function's own file, not the kernels it inlines from others, so plain mode caches
  in a folder of its own per version of the kernels' sources (`plain_cache_folder`).

With NUMBA_DISABLE_JIT=1, `jit` returns the Python function itself and no mode applies.
The flags every kernel compiles with, and whether it is cached, are ``kernels.flags``'s.
"""
import os
import warnings
from functools import partial

import numba
from numba import config

from fastnn.kernels.flags import CACHE, KERNELS_DIR, OPTIONS, kernels_stamp

TESTED_NUMBA = ("0", "68")  # the release series (major, minor) the hooks were tested on
PLAIN_ENV = "FASTNN_PLAIN_NUMBA"


def tested_release(version=None):
    """Whether Numba `version` (default: the one imported) is one the hooks were tested on."""
    return tuple((version or numba.__version__).split(".")[:2]) == TESTED_NUMBA


def plain_mode():
    """Whether kernels compile with plain ``numba.njit``: asked for by $FASTNN_PLAIN_NUMBA=1
    (silently), or on an untested Numba release (with a RuntimeWarning)."""
    asked = os.environ.get(PLAIN_ENV, "").strip()
    if asked not in ("", "0", "1"):
        raise ValueError(f"${PLAIN_ENV} must be 0 or 1, not {asked!r}")
    if asked == "1":
        return True
    if not tested_release():
        warnings.warn(f"fastnn: Numba {numba.__version__} is not a release its compiler hooks "
                      f"were tested on ({'.'.join(TESTED_NUMBA)}.x): kernels compile with plain "
                      f"numba.njit (a slower first run; set {PLAIN_ENV}=1 to silence this)",
                      RuntimeWarning, stacklevel=3)
        return True
    return False


def plain_cache_folder():
    """The folder plain mode caches in: ``plain-<hash of kernels_stamp>`` under
    $NUMBA_CACHE_DIR, else the kernels' ``__pycache__``, else ~/.cache/fastnn; None when
    none can be written (Numba's own choice then stands)."""
    stamp = "plain-" + kernels_stamp()[:16]
    bases = ([config.CACHE_DIR] if config.CACHE_DIR else
             [KERNELS_DIR / "__pycache__", os.path.join(os.path.expanduser("~"), ".cache",
                                                        "fastnn")])
    for base in bases:
        folder = os.path.join(base, stamp)
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return folder
    return None


HOOKED = not config.DISABLE_JIT and not plain_mode()
if HOOKED:
    from fastnn.kernels import numba_hooks
PLAIN_CACHE = plain_cache_folder() if CACHE and not HOOKED and not config.DISABLE_JIT else None


def _plain(func, parallel, counted=True, inlined=False):
    """numba.njit, cached in `PLAIN_CACHE`: Numba picks a function's cache folder when it
    is decorated, from config.CACHE_DIR, which is set for that moment only."""
    saved = config.CACHE_DIR
    config.CACHE_DIR = PLAIN_CACHE or saved
    try:
        return numba.njit(func, cache=CACHE, parallel=parallel, **OPTIONS,
                          **_helper_options(counted, inlined))
    finally:
        config.CACHE_DIR = saved


def _helper_options(counted, inlined):
    """Numba's options for `jit`'s counted=False and inlined=True."""
    options = {} if counted else {"_nrt": False}
    if inlined:
        options["inline"] = "always"
    return options


def jit(func=None, *, linked=False, constants=(), parallel=False, counted=True,
        inlined=False):
    """Compile func with the flags of ``kernels.flags``, in this process's mode.

    linked: a small helper that Numba links into each caller, where LLVM inlines it (a
    loop body into a parallel chunk). One too large to inline (a GEMM tile) stays a call
    and is optimized again in every caller: better a kernel. Hooked, kernels (not
    linked) are compiled once and called through a pointer.
    constants: the parameters a hooked kernel compiles for the values it is called with
    from Python (ints or bools that stay the same through a fit).
    counted=False: a helper that only reads and writes the arrays it is given, compiled
    without Numba's reference counting (``_nrt=False``): each call would otherwise
    increment and decrement its arrays' counts atomically, on cache lines that all
    threads' calls share (a GEMM tile's call cost more than its FMAs). Such a helper
    cannot make arrays (``nb.carray``, slices it returns); it indexes pointers instead.
    inlined: a helper that Numba inlines into each caller before LLVM sees it
    (``inline="always"``), so that each call site is optimized, and its registers
    allocated, for what that caller passes.
    With NUMBA_DISABLE_JIT, func itself.
    """
    if func is None:
        return partial(jit, linked=linked, constants=constants, parallel=parallel,
                       counted=counted, inlined=inlined)
    if config.DISABLE_JIT:
        return func
    if not HOOKED:
        return _plain(func, parallel, counted, inlined)
    if linked:
        return numba_hooks.Compiled(func, parallel=parallel,
                                    **_helper_options(counted, inlined))
    return numba_hooks.Kernel(func, constants=constants, parallel=parallel,
                              **_helper_options(counted, inlined))


jit_parallel = partial(jit, parallel=True)
