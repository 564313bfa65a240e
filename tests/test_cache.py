"""Numba's disk cache: no writable folder degrades to compiling in-process, with a warning."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

NO_FOLDER = """
import warnings
from numba.core import caching
def unwritable(self):
    raise OSError("read-only file system")
caching._CacheLocator.ensure_cache_path = unwritable  # every folder Numba tries
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from fastnn.kernels import compile, numba_cpu
import numpy as np
assert compile.CACHE is False
assert any("no writable folder for Numba's cache" in str(w.message) for w in caught), caught
z = np.array([[1.0, 2.0, 3.0]])
loss = numba_cpu.softmax_cce(np.empty_like(z), z, np.array([2]), z[0, :0])
print(round(loss, 6))
"""


def test_no_writable_cache_folder_warns_and_still_computes():
    done = subprocess.run([sys.executable, "-c", NO_FOLDER], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0.407606"  # log(e¹ + e² + e³) − 3


def test_a_writable_folder_is_found_here():
    from fastnn.kernels import compile
    assert compile.cache_possible()


def test_the_cache_stamp_covers_every_kernel_file_and_the_flags(tmp_path, monkeypatch):
    """A cached caller embeds its callees' code: editing any kernel file, or the flags,
    must invalidate every cached kernel."""
    from fastnn.kernels import compile
    for path in compile.KERNELS_DIR.glob("*.py"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(compile, "KERNELS_DIR", tmp_path)
    stamp = compile.kernels_stamp()
    assert stamp == compile.STAMP
    gemm = tmp_path / "gemm.py"
    gemm.write_text(gemm.read_text() + "\n# an edit\n")
    edited = compile.kernels_stamp()
    assert edited != stamp
    monkeypatch.setattr(compile, "FASTMATH", compile.FASTMATH | {"nnan"})
    assert compile.kernels_stamp() not in (stamp, edited)


def test_kernels_are_cached_under_that_stamp():
    import numpy as np

    from fastnn.kernels import compile, numba_cpu
    if not hasattr(numba_cpu.all_finite, "_cache"):
        pytest.skip("NUMBA_DISABLE_JIT=1: plain Python, nothing to cache")
    numba_cpu.all_finite(np.ones(3))
    locator = numba_cpu.all_finite._cache._impl.locator
    assert isinstance(locator, compile._KernelsStamp)
    assert locator.get_source_stamp() == compile.STAMP
