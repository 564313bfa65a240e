"""How the benchmark times: worker processes, the interleaved schedule, best-of and medians.

A measurement is one worker process: it warms up (compiles), then trains `epochs` timed
epochs, of which the fastest counts (best-of). A round measures every framework once on
a workload, in an order that rotates from round to round, so a slow phase of a shared
machine and whatever ran just before hit every framework alike. The median over rounds
is reported.
"""
import json
import os
import statistics
import subprocess
import tempfile

from fastnn.bench import frameworks

MARKER = "fastnn-bench-worker "  # as in peers/worker.py, which imports nothing of fastnn
TIMEOUT = 3600  # seconds a worker may take for one reply before it is given up on


class WorkerError(RuntimeError):
    """A worker failed; `not_installed` tells whether its framework could not be imported."""

    def __init__(self, message, not_installed=False):
        super().__init__(message)
        self.not_installed = not_installed


def schedule(workloads, names, rounds):
    """[(round, workload, framework)] in the order they run.

    Round r runs each workload with every framework, the frameworks' order rotated by r:
    (a, b, c), then (b, c, a), then (c, a, b), ...
    """
    names = list(names)
    order = []
    for r in range(rounds):
        turn = names[r % len(names):] + names[:r % len(names)] if names else []
        order += [(r, w, name) for w in workloads for name in turn]
    return order


class Worker:
    """A framework's worker process, started and warmed up: `epoch()` trains one epoch.

    `spec` goes to the worker (see peers/worker.py); `env` and `cpus` (an affinity, or
    None) to its process. Use it as a context manager, which ends the process.
    """

    def __init__(self, argv, spec, env, cpus=None):
        self.stderr = tempfile.TemporaryFile(mode="w+")
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self.stderr, env=env, text=True,
                                        preexec_fn=pin)
        try:
            self.ready = self.ask(json.dumps(spec))
        except BaseException:
            self.close()
            raise

    def ask(self, line):
        """Send `line`, return the worker's next report (a dict)."""
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        for text in self.process.stdout:
            if text.startswith(MARKER):
                reply = json.loads(text[len(MARKER):])
                if "error" in reply:
                    raise WorkerError(f"{reply['error']}\n{reply.get('detail', '')}".strip(),
                                      not_installed=reply["error"] == "not installed")
                return reply
        self.process.wait(timeout=TIMEOUT)
        self.stderr.seek(0)
        tail = "\n".join(self.stderr.read().splitlines()[-15:])
        raise WorkerError(f"the worker exited with status {self.process.returncode}:\n{tail}")

    def epoch(self):
        """One timed epoch: {"seconds", "loss"}, as the worker measured it."""
        return self.ask("epoch")

    def close(self):
        if self.process.poll() is None:
            try:
                self.process.stdin.write("quit\n")
                self.process.stdin.close()
                self.process.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def spec(workload, paths, seed=0, threads=None, backend=None):
    """What a worker is told to train (see peers/worker.py)."""
    from fastnn.bench.workloads import LEARNING_RATE
    return {**workload.as_dict(), "X": paths["X"], "y": paths["y"], "lr": LEARNING_RATE,
            "seed": seed, "threads": threads, "backend": backend}


def measure(name, workload, paths, epochs=2, threads=None, isa="native", **isa_options):
    """One process of framework `name` on `workload`: warm-up, then `epochs` epochs.

    Returns {"best", "epochs", "losses", "warm_up", "setup", "version", "threads"}.
    """
    backend = "numpy" if name == "fastnn-numpy" else None
    env = frameworks.worker_env(name, threads, isa, **isa_options)
    with Worker(frameworks.worker_argv(name), spec(workload, paths, threads=threads,
                                                   backend=backend),
                env, frameworks.affinity(threads)) as worker:
        runs = [worker.epoch() for _ in range(epochs)]
    seconds = [run["seconds"] for run in runs]
    return {"best": min(seconds), "epochs": seconds, "losses": [run["loss"] for run in runs],
            "warm_up": worker.ready["warm_up_seconds"],
            "setup": worker.ready["setup_seconds"], "version": worker.ready["version"],
            "threads": worker.ready["threads"]}


def summarize(measurements):
    """Medians over rounds of a framework's measurements on one workload."""
    return {"seconds": statistics.median(m["best"] for m in measurements),
            "warm_up_seconds": statistics.median(m["warm_up"] for m in measurements),
            "loss": measurements[-1]["losses"][-1], "rounds": measurements}
