"""How many threads a fit may use when a sweep runs many fits at once.

A joblib or Dask worker runs several fits side by side; if each fit let Numba start one
thread per core, the cores would be oversubscribed. joblib's process workers need
nothing from us: joblib sets ``NUMBA_NUM_THREADS`` in each worker (its
``inner_max_num_threads``), which is Numba's default there. A Dask worker sets no such
variable, so there a model without its own ``threads`` runs its kernels on its share of
the worker's threads (`threads_for_this_worker`, read by `Sequential.threads_in_use`).
"""
import sys


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
