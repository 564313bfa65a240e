"""Which kernel module runs: the ``backend=`` argument, else ``$FASTNN_BACKEND``, else numba.

The Numba module is imported only when first asked for, so ``import fastnn`` compiles
nothing and does not even import Numba.
"""
import importlib
import os

BACKENDS = {"numba": "kernels.numba_cpu", "numpy": "kernels.reference"}
DEFAULT = "numba"


def resolve(name=None):
    """The backend's name: `name`, else $FASTNN_BACKEND, else "numba"; checked."""
    name = name or os.environ.get("FASTNN_BACKEND") or DEFAULT
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {sorted(BACKENDS)}")
    return name


def load(name=None):
    """The kernel module of backend `name` (see `resolve`)."""
    return importlib.import_module(BACKENDS[resolve(name)])
