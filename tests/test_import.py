"""Start-up: importing fastnn compiles no kernel; kernels compile on first use."""
import subprocess
import sys

import pytest
from numba import config

from tests.conftest import ROOT

# In a fresh interpreter: import fastnn, then every kernels module (as the first fit
# would), and list each Numba dispatcher with how many signatures it has compiled.
LIST_DISPATCHERS = """
import importlib, pkgutil
import fastnn
from fastnn import kernels
from numba.core.dispatcher import Dispatcher
for info in pkgutil.iter_modules(kernels.__path__):
    module = importlib.import_module("fastnn.kernels." + info.name)
    for name, f in vars(module).items():
        if isinstance(f, Dispatcher) and f.__module__ == module.__name__:
            print(module.__name__, name, len(f.signatures))
"""


@pytest.mark.skipif(config.DISABLE_JIT, reason="no dispatchers with the JIT disabled")
def test_import_leaves_every_kernel_uncompiled():
    result = subprocess.run([sys.executable, "-c", LIST_DISPATCHERS], cwd=ROOT,
                            capture_output=True, text=True, check=True)
    rows = [line.split() for line in result.stdout.splitlines()]
    names = {(module, name) for module, name, _ in rows}
    assert {("fastnn.kernels.numba_cpu", "dense_forward"), ("fastnn.kernels.numba_cpu", "adam_step"),
            ("fastnn.kernels.gemm", "matmul")} <= names
    compiled = [f"{module}.{name}" for module, name, count in rows if count != "0"]
    assert compiled == []
