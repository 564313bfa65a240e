"""The benchmark's worker processes: worker.py and one trainer per framework.

They run as scripts, from their file paths (`fastnn.bench.frameworks.worker_argv`), never
imported from here: a peer's process then holds NumPy and the peer only.
"""
