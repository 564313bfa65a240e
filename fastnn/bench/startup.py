"""Start-up and memory, each in a fresh interpreter: `import fastnn`, the first training
batch with an empty Numba cache (cold: everything compiles) and with the cache it filled
(warm), and the peak RSS of a command such as `fastnn train mnist --epochs 1`."""
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Seconds until the first training batch is done, in a fresh interpreter.
FIRST_BATCH = """\
import numpy as np
import fastnn as fnn
X = np.random.default_rng(0).random((128, 784), dtype=np.float32)
fnn.mlp([784, 128, 64, 10]).fit(X, np.arange(128) % 10, batch_size=128, verbose=0)
"""
IMPORT = "import fastnn"


def python_env(**variables):
    """os.environ plus `variables`, for a child interpreter that imports this fastnn."""
    env = dict(os.environ, **variables)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env


DONE = "fastnn-bench-done"  # the child's last line: this and the wall-clock time


def run_python(code, env):
    """Wall-clock seconds from starting `python -c code` in a fresh interpreter to the end
    of code: the interpreter's start-up included, its exit (a garbage collection of
    everything Numba built, 0.2–0.3 s) not. Raises on failure."""
    start = time.time()
    done = subprocess.run([sys.executable, "-c", f"{code}\nimport time\n"
                           f"print({DONE!r}, repr(time.time()))"],
                          env=env, check=True, capture_output=True, text=True)
    last = done.stdout.split()
    if len(last) < 2 or last[-2] != DONE:
        raise RuntimeError(f"the child did not reach the end of its code: {done.stdout!r}")
    return float(last[-1]) - start


def bench_startup(rounds=3, **variables):
    """Median seconds of: `import fastnn`; the first training batch with an empty Numba
    cache (cold); the same again with the cache it filled (warm). Each in a fresh
    interpreter, until its code is done (`run_python`: the interpreter's start included,
    its exit not). `variables` go to the children's environment.
    """
    times = {"import": [], "cold": [], "warm": []}
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="fastnn-bench-cache-") as cache:
            env = python_env(NUMBA_CACHE_DIR=cache, **variables)
            times["import"].append(run_python(IMPORT, env))
            times["cold"].append(run_python(FIRST_BATCH, env))
            times["warm"].append(run_python(FIRST_BATCH, env))
    return {what: statistics.median(t) for what, t in times.items()}


# Runs argv (its output discarded) and prints the child's peak RSS and wall seconds.
MEASURE_CHILD = """\
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
seconds = time.perf_counter() - start
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, seconds)
sys.exit(code)
"""


def peak_rss(argv, env=None):
    """(peak resident set size in bytes, wall seconds) of running `argv` to completion.

    A small interpreter starts `argv` and reads getrusage(RUSAGE_CHILDREN): a child's
    ru_maxrss includes what its parent had resident when it forked, so measured straight
    from a process holding NumPy, Numba and PyTorch it would report that process's size.
    """
    result = subprocess.run([sys.executable, "-c", MEASURE_CHILD, *argv], env=env,
                            capture_output=True, text=True)
    if result.returncode:
        raise subprocess.CalledProcessError(result.returncode, argv, result.stdout,
                                            result.stderr)
    maxrss, seconds = result.stdout.split()
    kilobyte = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS
    return int(maxrss) * kilobyte, float(seconds)


def train_mnist_argv(data=None, samples=None, epochs=1):
    """The command line of `fastnn train mnist` for one epoch, run by this interpreter."""
    argv = [sys.executable, "-m", "fastnn", "train", "mnist", "--epochs", str(epochs)]
    if data is not None:
        argv += ["--data", str(data)]
    if samples is not None:
        argv += ["--samples", str(samples)]
    return argv


def bench_memory(argv):
    """Peak RSS (MiB) and wall seconds of running `argv` (e.g. `train_mnist_argv()`).

    It runs twice and the second run is reported: the first fills Numba's cache with
    anything not compiled yet, whose compiling would add hundreds of MiB of LLVM's own.
    """
    peak_rss(argv, python_env())
    rss, seconds = peak_rss(argv, python_env())
    command = ["fastnn", *argv[3:]] if argv[1:3] == ["-m", "fastnn"] else argv
    return {"command": " ".join(command), "peak_rss_mib": rss / 2**20,
            "seconds": seconds}
