"""Which kernel module runs: the ``backend=`` argument, else ``$FASTNN_BACKEND``, else numba.

The Numba module is imported only when first asked for, so ``import fastnn`` compiles
nothing and does not even import Numba.
"""
import importlib
import os

from fastnn.checks import known_name

BACKENDS = {"numba": "fastnn.kernels.numba_cpu", "numpy": "fastnn.kernels.reference"}
DEFAULT = "numba"


def resolve(name=None):
    """The backend's name: `name`, else $FASTNN_BACKEND, else "numba".

    An unknown name raises `fastnn.errors.UnknownNameError` (a ValueError), saying
    whether it came from the argument or the environment.
    """
    if name:
        return known_name("backend", name, BACKENDS)
    env = os.environ.get("FASTNN_BACKEND")
    if env:
        return known_name("backend", env, BACKENDS, context=" in $FASTNN_BACKEND")
    return DEFAULT


def load(name=None):
    """The kernel module of backend `name` (see `resolve`)."""
    return importlib.import_module(BACKENDS[resolve(name)])
