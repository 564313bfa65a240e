"""Numba's disk cache: no writable folder degrades to compiling in-process, with a warning;
hooked, every kernel is stamped with a hash of all kernel files and the flags."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

NO_FOLDER = """
import warnings
from numba.core import caching
def unwritable(self):
    raise OSError("read-only file system")
caching._CacheLocator.ensure_cache_path = unwritable  # every folder Numba tries
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from fastnn.kernels import flags, numba_cpu
import numpy as np
assert flags.CACHE is False
assert any("no writable folder for Numba's cache" in str(w.message) for w in caught), caught
z = np.array([[1.0, 2.0, 3.0]])
loss = numba_cpu.softmax_cce(np.empty_like(z), z, np.array([2]), z[0, :0])
print(round(loss, 6))
"""


def test_no_writable_cache_folder_warns_and_still_computes(jit):
    done = subprocess.run([sys.executable, "-c", NO_FOLDER], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0.407606"  # log(e¹ + e² + e³) − 3


def test_a_writable_folder_is_found_here(jit):
    from fastnn.kernels import flags
    assert flags.cache_possible()


def test_the_cache_stamp_covers_every_kernel_file_and_the_flags(hooks, tmp_path,
                                                                monkeypatch):
    """A cached caller embeds its callees' code: editing any kernel file, or the flags,
    must invalidate every cached kernel."""
    from fastnn.kernels import flags, numba_hooks
    for path in flags.KERNELS_DIR.glob("*.py"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(flags, "KERNELS_DIR", tmp_path)
    stamp = flags.kernels_stamp()
    assert stamp == numba_hooks.STAMP
    gemm = tmp_path / "gemm.py"
    gemm.write_text(gemm.read_text() + "\n# an edit\n")
    edited = flags.kernels_stamp()
    assert edited != stamp
    monkeypatch.setattr(flags, "FASTMATH", flags.FASTMATH | {"nnan"})
    assert flags.kernels_stamp() not in (stamp, edited)


def test_kernels_are_cached_under_that_stamp(hooks):
    import numpy as np

    from fastnn.kernels import numba_cpu, numba_hooks
    numba_cpu.all_finite(np.ones(3))
    locator = numba_cpu.all_finite._cache._impl.locator
    assert isinstance(locator, numba_hooks._KernelsStamp)
    assert locator.get_source_stamp() == numba_hooks.STAMP
