"""Numba's thread pool and OpenMP's spin-wait: set once, when the numba backend is first used.

`configure` is called by ``fastnn.kernels.numba_cpu`` as it loads (which is how
``fastnn.backend`` loads the numba backend), never by importing a building block such as
``kernels.gemm``. It does three things, each only if nothing has decided it already:

* GOMP_SPINCOUNT=3000: libgomp's default spin-wait makes every parallel region wait a
  whole time slice for a descheduled thread when another process wants a core; spinning
  briefly, then sleeping, costs nothing measurable on an idle machine. It takes effect
  only if OpenMP is not loaded yet, and never overrides the user's setting.
* a thread-safe threading layer (TBB or OpenMP): Numba's fallback, workqueue, aborts the
  process when two Python threads run parallel kernels at once. The fallback is taken
  only when neither is installed, and $NUMBA_THREADING_LAYER always wins.
* it starts Numba's thread pool: a kernel loaded from the cache whose code embeds a
  parallel kernel does not start the pool that code needs (numba issue #8578).
"""
import os

import numba
from numba import config

SPIN_COUNT = "3000"

_configured = False


def configure():
    """Apply the settings above, once per process; later calls do nothing."""
    global _configured
    if _configured:
        return
    os.environ.setdefault("GOMP_SPINCOUNT", SPIN_COUNT)
    if "NUMBA_THREADING_LAYER" not in os.environ:
        config.THREADING_LAYER = "threadsafe"
    try:
        numba.get_num_threads()  # public API; starts the pool
    except ValueError:  # no TBB, no OpenMP: workqueue
        config.THREADING_LAYER = "default"
        numba.get_num_threads()
    _configured = True
