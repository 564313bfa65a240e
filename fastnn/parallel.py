"""How many threads a fit may use when a sweep runs many fits at once.

A joblib or Dask worker runs several fits side by side; if each fit let Numba start one
thread per core, the cores would be oversubscribed. joblib's process workers need
nothing from us: joblib sets ``NUMBA_NUM_THREADS`` in each worker (its
``inner_max_num_threads``), which is Numba's default there. A Dask worker sets no such
variable, so a fit there takes its share of the worker's threads
(`threads_for_this_worker`).
"""
import sys
from contextlib import contextmanager


def dask_worker():
    """The ``distributed.Worker`` running the calling code, or None outside one.

    distributed is never imported here: code that runs in a Dask worker already has it.
    """
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        return distributed.get_worker()
    except ValueError:  # "No worker found": not called from a worker's task
        return None


def threads_for_this_worker():
    """Threads for one fit in this Dask worker, or None outside a Dask worker.

    A worker with ``nthreads`` threads (``threads_per_worker``) runs up to ``nthreads``
    tasks at once, so a fit gets ``nthreads // tasks executing now`` threads (at least
    1, at most Numba's ``NUMBA_NUM_THREADS``): a sweep's fits run one thread each, a
    lone fit uses the worker's threads.
    """
    worker = dask_worker()
    if worker is None:
        return None
    state = getattr(worker, "state", worker)  # WorkerState since distributed 2022.11
    share = state.nthreads // max(1, getattr(state, "executing_count", 1))
    import numba
    return max(1, min(share, numba.config.NUMBA_NUM_THREADS))


@contextmanager
def fit_threads(threads=None, backend="numba"):
    """Within the block, Numba kernels called from this thread use `threads` threads, or,
    when it is None, `threads_for_this_worker()` (outside a Dask worker: unchanged).

    Numba's thread count belongs to the calling thread, so fits in other threads of the
    same process keep their own. A model on another `backend` has no threads to set: the
    block runs unchanged (and Numba is not imported). Yields the count set, or None.
    """
    if backend != "numba":
        yield None
        return
    if threads is None:
        threads = threads_for_this_worker()
    if threads is None:
        yield None
        return
    import numba
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield threads
    finally:
        numba.set_num_threads(previous)
