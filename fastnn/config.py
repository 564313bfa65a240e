"""What fastnn runs on: versions, Numba's threads and cache, the default backend.

``fnn.show_config()`` prints it; ``config_info()`` returns it as a dict. Neither starts
Numba's thread pool nor compiles anything: what is not decided until the first parallel
kernel runs is reported as such.
"""
import importlib.util
import os
import platform
import sys

import numpy as np

from fastnn import backend

__version__ = "0.1.0"  # fastnn's (pyproject.toml says the same)
PROBE_MODULE = "fastnn.kernels.numba_cpu"  # whose cache location is reported


def config_info():
    """The configuration as an ordered dict of display name → value (str, int or bool).

    Keys: "fastnn", "python", "numpy", "numba" (versions), "threading layer" (Numba's
    layer in use, or "not started yet" with the configured choice), "threads" (Numba's
    current thread count once its pool runs, else the count it will start with),
    "NUMBA_NUM_THREADS" (the environment variable, or "unset"), "numba cache" (the folder
    the kernels compile into, or why there is none), "default backend" (what
    ``backend=None`` means here), "JIT disabled" (NUMBA_DISABLE_JIT).
    """
    import numba

    info = {
        "fastnn": __version__,
        "python": f"{platform.python_version()} ({sys.executable})",
        "numpy": np.__version__,
        "numba": numba.__version__,
    }
    try:
        layer = numba.threading_layer()
    except ValueError:  # raised until the numba backend loads (kernels.threads)
        layer = None
    if layer is None:
        info["threading layer"] = (f"not started yet (NUMBA_THREADING_LAYER="
                                   f"{numba.config.THREADING_LAYER!r})")
        info["threads"] = numba.config.NUMBA_NUM_THREADS
    else:
        info["threading layer"] = layer
        info["threads"] = numba.get_num_threads()  # the pool runs: this starts nothing
    info["NUMBA_NUM_THREADS"] = os.environ.get("NUMBA_NUM_THREADS", "unset")
    info["numba cache"] = cache_location()
    try:
        info["default backend"] = backend.resolve()
    except ValueError as err:  # a bad $FASTNN_BACKEND is worth showing, not a crash
        info["default backend"] = f"invalid: {err}"
    info["JIT disabled"] = bool(numba.config.DISABLE_JIT)
    return info


def cache_location():
    """The folder Numba caches the kernels in, found as Numba finds it, or why none.

    Numba tries $NUMBA_CACHE_DIR, then ``__pycache__`` beside the kernel module, then a
    per-user folder, and takes the first it can write to; with none writable, kernels
    compile anew in every process. Like Numba, this creates the folder it settles on.
    """
    from numba.core import caching

    spec = importlib.util.find_spec(PROBE_MODULE)
    if spec is None or spec.origin is None:
        return f"unknown: {PROBE_MODULE} not found"

    def probe():  # a stand-in function defined in the kernel module, for the locators
        pass

    locators = (caching.UserProvidedCacheLocator, caching.InTreeCacheLocator,
                caching.UserWideCacheLocator)
    for locator in locators:
        found = locator.from_function(probe, spec.origin)
        if found is not None:
            return found.get_cache_path()
    return "none writable: kernels compile in every process"


def show_config(file=None):
    """Print `config_info()`, one "name: value" line each, to `file` (default stdout)."""
    info = config_info()
    width = max(map(len, info))
    for name, value in info.items():
        print(f"{name + ':':<{width + 1}} {value}", file=file)
