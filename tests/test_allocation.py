"""A training step allocates nothing: the driver's steps run in the model's buffers.

Numba counts its allocations when NUMBA_NRT_STATS=1 is set before it starts, so the fits
run in a child process. A fit allocates a few arrays per call of a kernel from Python
(Numba's handles for the arrays it is passed); a step, none: twelve steps allocate as
much as two.
"""
import os
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]

FITS = """
import numpy as np
from numba.core.runtime import rtsys
import fastnn as fnn
from fastnn.epoch import unsupported

def model(sizes, dtype, **options):
    m = fnn.mlp(sizes, dtype=dtype, seed=0, **options)
    m.build()
    return m

rng = np.random.default_rng(0)

def mostly_zero(rows, columns, dtype):
    return (rng.random((rows, columns)) * (rng.random((rows, columns)) > 0.8)).astype(dtype)

models = {
    # x·W1 and xᵀ·dz over mostly-zero pixels (zero masks, found by the threads in 8
    # pieces: 256 × 784 elements), dW3 of a 10-class output computed transposed, W's
    # leftover columns, W2ᵀ and W3ᵀ copied: MNIST's 784-128-64-10 at batch 256
    "mnist": (model([784, 128, 64, 10], np.float32, activation="relu", output="softmax",
                    loss="cce", optimizer=fnn.Adam(lr=1e-3)),
              mostly_zero(12 * 256, 784, np.float32), rng.integers(0, 10, 12 * 256), 256),
    # float64 tiles (zero masks of 3 columns), leftover columns (70 = 64 + 6), dropout,
    # penalties, clipping
    "float64": (model([30, 70, 3], np.float64, activation="gelu", output="sigmoid",
                      loss="bce", dropout=0.2, l2=1e-3,
                      optimizer=fnn.SGD(lr=0.1, momentum=0.9, clip_norm=1.0)),
                mostly_zero(12 * 32, 30, np.float64), rng.integers(0, 2, (12 * 32, 3)), 32),
}
for name, (m, X, y, rows) in models.items():
    def allocations(steps):
        before = rtsys.get_allocation_stats().alloc
        m.fit(X[:steps * rows], y[:steps * rows], epochs=1, batch_size=rows, verbose=0)
        return rtsys.get_allocation_stats().alloc - before
    assert unsupported(m) is None, name  # the driver runs the steps
    m.fit(X[:rows], y[:rows], epochs=1, batch_size=rows, verbose=0)  # compiles; starts NRT
    print(name, allocations(2), allocations(12))
"""


def test_a_training_step_allocates_nothing(jit):
    env = dict(os.environ, NUMBA_NRT_STATS="1", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-W", "error", "-c", FITS], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["mnist", "float64"]
    for line in lines:
        name, two, twelve = line.split()
        assert int(two) > 0, line  # the count works: a fit's calls do allocate
        assert int(twelve) == int(two), f"{name}: 10 more steps allocated more"
