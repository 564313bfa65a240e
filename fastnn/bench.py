"""How fast fastnn trains and predicts, beside its NumPy backend and PyTorch eager.

`fastnn bench` and the pytest-benchmark suite in ``benchmarks/`` share what is here: the
models (784-128-64-10, ReLU, softmax + cross-entropy, Adam 1e-3, float32, shuffled
mini-batches), the FLOP floor, the GEMM peak, start-up and peak-RSS measurements, and the
tables `fastnn bench` prints.

Fairness on a small machine: each framework is timed after ``QUIET`` seconds of sleep, so
the thread pool of whatever ran before (OpenBLAS, PyTorch's OpenMP, Numba's OpenMP) has
stopped spinning; the rounds of the frameworks being compared are interleaved, so a slow
phase of a shared machine hits them alike; PyTorch gets as many threads as Numba, and
the same OpenMP spin-wait (see `import_torch`).

Nothing here is imported by ``import fastnn``; NumPy's and PyTorch's modules, Numba's GEMM
and matplotlib are imported when first needed.
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ARCHITECTURE = (784, 128, 64, 10)
LEARNING_RATE = 1e-3
NUMBA, NUMPY, TORCH = "fastnn numba", "fastnn numpy", "pytorch"
FRAMEWORKS = (NUMBA, NUMPY, TORCH)
BATCH_SIZES = (32, 128, 512)
LATENCY_ROWS = (1, 32)
QUIET = 0.3  # seconds: longer than OpenBLAS's and OpenMP's spin-wait after a call
ROUND_SECONDS = 0.05  # a round of a quick call (predict, GEMM) repeats it this long

# (M, K, N) of out (M, N) = a (M, K) · b (K, N): square-ish ones, then the MLP's own
GEMM_SHAPES = ((512, 512, 512), (1024, 1024, 1024), (512, 784, 128), (128, 784, 128),
               (512, 128, 64), (2048, 784, 128))

# Seconds until the first training batch is done, in a fresh interpreter.
FIRST_BATCH = """\
import numpy as np
import fastnn as fnn
X = np.random.default_rng(0).random((128, 784), dtype=np.float32)
fnn.mlp([784, 128, 64, 10]).fit(X, np.arange(128) % 10, batch_size=128, verbose=0)
"""
IMPORT = "import fastnn"


# ---- arithmetic ------------------------------------------------------------------------


def flops_per_sample(sizes=ARCHITECTURE):
    """Matrix-product FLOPs to train on one sample: 454,400 for 784-128-64-10.

    Forward x·W and weight gradient xᵀ·dz cost 2·I·O each per layer; the input gradient
    dz·Wᵀ (2·I·O) is skipped for the first layer. Bias, activation, loss and optimizer
    work is not counted: the floor is the matrix products alone.
    """
    products = [i * o for i, o in zip(sizes, sizes[1:])]
    return 2 * sum(products) + 2 * sum(products) + 2 * sum(products[1:])


def flop_floor(samples, gemm_flops, sizes=ARCHITECTURE):
    """Seconds an epoch over `samples` needs at `gemm_flops` FLOP/s: no design beats it."""
    return flops_per_sample(sizes) * samples / gemm_flops


def floor_fraction(seconds, samples, gemm_flops, sizes=ARCHITECTURE):
    """flop_floor / seconds: the fraction of the GEMM peak an epoch of `seconds` reaches."""
    return flop_floor(samples, gemm_flops, sizes) / seconds


def floor_info(seconds, samples, gemm_flops, sizes=ARCHITECTURE):
    """The floor numbers of one epoch, as a flat dict (pytest-benchmark's extra_info)."""
    return {"epoch_gflop": flops_per_sample(sizes) * samples / 1e9,
            "gemm_peak_gflops": gemm_flops / 1e9,
            "floor_seconds": flop_floor(samples, gemm_flops, sizes),
            "floor_fraction": floor_fraction(seconds, samples, gemm_flops, sizes)}


# ---- timing ----------------------------------------------------------------------------


def quiet():
    """Sleep until other thread pools stop spinning (see the module docstring)."""
    time.sleep(QUIET)


def seconds_per_call(f, number=1):
    """Wall-clock seconds of one call of f(), averaged over `number` calls in a row."""
    start = time.perf_counter()
    for _ in range(number):
        f()
    return (time.perf_counter() - start) / number


def seconds_per_call_for(f, duration=None):
    """Seconds per call of f(), calling it again and again for `duration` seconds (default
    ``ROUND_SECONDS``; at least once).

    Bounded by time rather than by a count calibrated on one call, whose time may include
    waking a sleeping thread pool or a slow moment of the machine.
    """
    duration = ROUND_SECONDS if duration is None else duration
    calls, start = 0, time.perf_counter()
    while True:
        f()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= duration:
            return elapsed / calls


def compare(calls, rounds, number=None, statistic=statistics.median):
    """Median (or `statistic`) over `rounds` of the seconds per call of each callable in
    `calls`, a dict name → f.

    Each round times every callable, after `quiet()`, so a slow phase of the machine hits
    them alike: `number` calls in a row, or as many as fit in ``ROUND_SECONDS``.
    """
    times = {name: [] for name in calls}
    for _ in range(rounds):
        for name, f in calls.items():
            quiet()
            seconds = seconds_per_call(f, number) if number else seconds_per_call_for(f)
            times[name].append(seconds)
    return {name: statistic(t) for name, t in times.items()}


def timed(f):
    """Seconds one call of f() takes."""
    return seconds_per_call(f, 1)


# ---- frameworks ------------------------------------------------------------------------


def import_torch():
    """PyTorch, with as many threads as Numba; None when it is not installed.

    fastnn's thread settings are applied first: they set GOMP_SPINCOUNT (unless the user
    did), so PyTorch's OpenMP threads start with the same spin-wait as Numba's, whichever
    of the two a process happens to load first.
    """
    from fastnn.kernels import threads
    threads.configure()
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(numba_threads())
    return torch


def frameworks(skip=()):
    """{framework: "run", "skipped" or "not installed"} for every framework."""
    status = {name: "skipped" if name in skip else "run" for name in FRAMEWORKS}
    if status[TORCH] == "run" and import_torch() is None:
        status[TORCH] = "not installed"
    return status


def fastnn_model(backend, seed=0, sizes=ARCHITECTURE):
    """The benchmark MLP in fastnn on `backend` ("numba" or "numpy"), built."""
    import fastnn as fnn
    model = fnn.mlp(list(sizes), activation="relu", output="softmax", loss="cce",
                    optimizer=fnn.Adam(lr=LEARNING_RATE), seed=seed, backend=backend)
    model.build()
    return model


def torch_model(seed=0, sizes=ARCHITECTURE):
    """The same MLP as nn.Sequential of Linear and ReLU (the loss applies the softmax)."""
    torch = import_torch()
    torch.manual_seed(seed)
    layers = []
    for i, o in zip(sizes, sizes[1:]):
        layers += [torch.nn.Linear(i, o), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


class Trainer:
    """A model training on (X, y) in batches: `warm_up()` compiles, `epoch()` is timed."""

    def __init__(self, X, y, batch_size):
        self.X, self.y, self.batch_size = X, y, batch_size

    def train(self, n):
        """One epoch over the first n samples."""
        raise NotImplementedError

    def warm_up(self):
        """Two batches: Numba compiles (or loads its cache), PyTorch initializes."""
        self.train(min(len(self.X), 2 * self.batch_size))

    def epoch(self):
        """One epoch over all of X."""
        self.train(len(self.X))


class FastnnTrainer(Trainer):
    """fastnn's `model.fit`: one shuffled, silent epoch per call."""

    def __init__(self, backend, X, y, batch_size, seed=0):
        super().__init__(X, y, batch_size)
        self.model = fastnn_model(backend, seed)

    def train(self, n):
        self.model.fit(self.X[:n], self.y[:n], epochs=1, batch_size=self.batch_size,
                       verbose=0)


class TorchTrainer(Trainer):
    """PyTorch's usual eager loop: a fresh permutation per epoch, then per batch X[index],
    zero_grad, forward, CrossEntropyLoss, backward and torch.optim.Adam's step."""

    def __init__(self, X, y, batch_size, seed=0):
        super().__init__(X, y, batch_size)
        torch = import_torch()
        self.model = torch_model(seed)
        self.loss = torch.nn.CrossEntropyLoss()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LEARNING_RATE)
        self.X_t, self.y_t = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
        self.rng = np.random.default_rng(seed)

    def train(self, n):
        import torch
        order = torch.from_numpy(self.rng.permutation(n))
        for start in range(0, n, self.batch_size):
            index = order[start:start + self.batch_size]
            self.optimizer.zero_grad(set_to_none=True)
            self.loss(self.model(self.X_t[index]), self.y_t[index]).backward()
            self.optimizer.step()


def trainer(framework, X, y, batch_size, seed=0):
    """The `Trainer` of `framework` (one of FRAMEWORKS) on X (N, 784) float32, y (N,)."""
    if framework == TORCH:
        return TorchTrainer(X, y, batch_size, seed)
    return FastnnTrainer(backend_of(framework), X, y, batch_size, seed)


def backend_of(framework):
    """The backend of a fastnn framework: "fastnn numba" → "numba"."""
    return framework.split()[-1]


def predictor(framework, seed=0):
    """f(X) → class labels (N,): `model.predict`, or PyTorch's argmax under inference_mode."""
    if framework != TORCH:
        return fastnn_model(backend_of(framework), seed).predict
    torch = import_torch()
    model = torch_model(seed)

    def predict(X):
        with torch.inference_mode():
            return model(torch.from_numpy(X)).argmax(dim=1).numpy()
    return predict


# ---- data ------------------------------------------------------------------------------


def mnist(path=None, samples=None):
    """(X, y, X_test): MNIST as `fastnn.datasets.load_mnist(path)` finds it, X cut to
    its first `samples` rows."""
    from fastnn.datasets import load_mnist
    (X, y), (X_test, _) = load_mnist(path)
    return X[:samples], y[:samples], X_test


def synthetic(samples=60_000, test_samples=10_000, seed=0):
    """(X, y, X_test) shaped like MNIST, uniform random pixels: for quick checks.

    Times differ a little from MNIST's (which has whole columns of zeros to skip).
    """
    rng = np.random.default_rng(seed)
    X = rng.random((samples, ARCHITECTURE[0]), dtype=np.float32)
    y = rng.integers(0, ARCHITECTURE[-1], samples)
    return X, y, rng.random((test_samples, ARCHITECTURE[0]), dtype=np.float32)


# ---- measurements ----------------------------------------------------------------------


def gemm_rates(rounds=5, shapes=None, seed=0):
    """float32 GEMM rates: [{"impl", "shape", "gflops"}] for fastnn's and NumPy's matmul.

    fastnn's is `kernels.gemm.matmul` (register-blocked Numba tiles), NumPy's its BLAS.
    Each rate is that of the best round: a peak, what the machine does when nothing else
    is running. A higher rate makes the floor lower, and the fraction of it reported more
    conservative.
    """
    from fastnn.kernels import gemm
    from fastnn.kernels.scratch import matmul_scratch
    rng = np.random.default_rng(seed)
    rates = []
    for m, k, n in shapes or GEMM_SHAPES:
        a, b = rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)
        out = np.empty((m, n), np.float32)
        scratch = np.empty(matmul_scratch(m, n, k, 4), np.float32)
        products = {"fastnn": lambda: gemm.matmul(out, scratch, a, b),
                    "numpy": lambda: np.matmul(a, b, out=out)}
        for f in products.values():
            f()  # compile
        for impl, seconds in compare(products, rounds, statistic=min).items():
            rates.append({"impl": impl, "shape": [m, k, n],
                          "gflops": 2 * m * k * n / seconds / 1e9})
    return rates


def best_gemm(rates):
    """The fastest entry of `gemm_rates`."""
    return max(rates, key=lambda rate: rate["gflops"])


def merge_rates(*passes):
    """The best rate of each (impl, shape) over several `gemm_rates` passes."""
    best = {}
    for rate in (r for rates in passes for r in rates):
        key = rate["impl"], tuple(rate["shape"])
        if key not in best or rate["gflops"] > best[key]["gflops"]:
            best[key] = rate
    return list(best.values())


def bench_training(X, y, batch_size, status, rounds, log=None):
    """Seconds per epoch of every framework that runs, at one batch size.

    Returns {"batch_size", "samples", "seconds": {framework: median or None},
    "first_call": {framework: seconds of the warm-up}}.
    """
    trainers = {name: trainer(name, X, y, batch_size) for name in FRAMEWORKS
                if status[name] == "run"}
    first_call = {}
    for name, t in trainers.items():
        quiet()
        first_call[name] = timed(t.warm_up)
    medians = compare({name: t.epoch for name, t in trainers.items()}, rounds, number=1)
    seconds = {name: medians.get(name) for name in FRAMEWORKS}
    row = {"batch_size": batch_size, "samples": len(X), "seconds": seconds,
           "first_call": first_call}
    if log:
        log(f"batch {batch_size}: " + ", ".join(
            f"{name} {s:.3f} s" for name, s in seconds.items() if s is not None))
    return row


def add_floor(row, gemm_flops):
    """Add "floor_seconds" and "floor_fraction" (of fastnn numba, or None) to a training
    row of `bench_training`."""
    row["floor_seconds"] = flop_floor(row["samples"], gemm_flops)
    numba_seconds = row["seconds"][NUMBA]
    row["floor_fraction"] = (floor_fraction(numba_seconds, row["samples"], gemm_flops)
                             if numba_seconds else None)
    return row


def bench_inference(X_test, status, rounds, latency_rows=LATENCY_ROWS):
    """Seconds per predict call: all of X_test, then each size in `latency_rows`.

    Returns [{"what": "predict" or "latency", "rows", "seconds": {framework: s or None}}].
    """
    predictors = {name: predictor(name) for name in FRAMEWORKS if status[name] == "run"}
    cases = [("predict", len(X_test))] + [("latency", n) for n in latency_rows]
    results = []
    for what, n in cases:
        x = np.ascontiguousarray(X_test[:n])
        calls = {name: (lambda p=p: p(x)) for name, p in predictors.items()}
        for f in calls.values():
            f()  # compile
        medians = compare(calls, rounds)
        results.append({"what": what, "rows": n,
                        "seconds": {name: medians.get(name) for name in FRAMEWORKS}})
    return results


def python_env(**variables):
    """os.environ plus `variables`, for a child interpreter that imports this fastnn."""
    env = dict(os.environ, **variables)
    root = str(Path(__file__).resolve().parents[1])
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


# ---- the machine -----------------------------------------------------------------------


def cpuinfo(field):
    """The first value of `field` in /proc/cpuinfo, or None."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == field:
                return value.strip()
    except OSError:
        pass
    return None


def numba_threads():
    import numba
    return numba.get_num_threads()


def threading_layer():
    """Numba's threading layer, once a parallel kernel has run."""
    import numba
    if numba.config.DISABLE_JIT:
        return "none (JIT disabled)"
    try:
        return numba.threading_layer()
    except ValueError:
        return "not started"


def machine():
    """What ran the benchmark: CPU, cores, memory, SIMD, threading, versions."""
    import numba

    import fastnn
    flags = set((cpuinfo("flags") or "").split())
    torch = sys.modules.get("torch")
    memory = None
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    return {"cpu": cpuinfo("model name") or platform.processor() or platform.machine(),
            "cores": os.cpu_count(), "memory_gib": memory,
            "simd": [f for f in ("avx512f", "avx2", "fma") if f in flags],
            "threading_layer": threading_layer(), "threads": numba_threads(),
            "system": platform.system(), "python": platform.python_version(),
            "numpy": np.__version__, "numba": numba.__version__,
            "torch": getattr(torch, "__version__", None), "fastnn": fastnn.__version__}


# ---- the whole comparison --------------------------------------------------------------


def run(X, y, X_test, batch_sizes=BATCH_SIZES, rounds=5, skip=(), startup=True,
        memory_argv=None, log=None):
    """Everything `fastnn bench` reports, as a dict of plain JSON types.

    X (N, 784) float32 and y (N,) train; X_test (M, 784) is predicted. `skip` names
    frameworks not to run. startup: time import, cold and warm start in fresh
    interpreters (min(rounds, 3) times each). memory_argv: a command whose peak RSS to
    report (see `train_mnist_argv`), or None.

    GEMM rates are measured before the training epochs and again after inference; the
    floor uses the best, so a slow phase of a shared machine does not lower the peak.
    """
    log = log or (lambda message: None)
    load = [os.getloadavg()[0]] if hasattr(os, "getloadavg") else []
    status = frameworks(skip)
    results = {"architecture": list(ARCHITECTURE), "rounds": rounds, "samples": len(X),
               "test_samples": len(X_test), "frameworks": status}
    log("GEMM peak ...")
    first_pass = gemm_rates(rounds)
    results["training"] = [bench_training(X, y, b, status, rounds, log) for b in batch_sizes]
    log("inference ...")
    results["inference"] = bench_inference(X_test, status, rounds)
    log("GEMM peak, again ...")
    rates = merge_rates(first_pass, gemm_rates(rounds))
    best = best_gemm(rates)
    results["gemm"] = {"rates": rates, "best": best}
    log(f"best GEMM {best['gflops']:.0f} GFLOP/s ({best['impl']}, {shape(best['shape'])})")
    for row in results["training"]:
        add_floor(row, best["gflops"] * 1e9)
    results["startup"] = results["memory"] = None
    if startup:
        log("start-up (a cold start compiles everything) ...")
        results["startup"] = bench_startup(min(rounds, 3))
    if memory_argv is not None:
        log("peak RSS ...")
        results["memory"] = bench_memory(memory_argv)
    results["machine"] = machine()
    if load:
        results["machine"]["load"] = load + [os.getloadavg()[0]]
    return results


def save_json(results, path):
    """Write `results` to `path` as JSON."""
    Path(path).write_text(json.dumps(results, indent=2) + "\n")


# ---- tables ----------------------------------------------------------------------------

NAMES = {NUMBA: "fastnn numba", NUMPY: "fastnn numpy", TORCH: "PyTorch"}


def shape(mkn):
    return "×".join(map(str, mkn))


def ratio(a, b):
    return f"{a / b:.1f}×" if a and b else "–"


def cell(value, status, fmt):
    """`value` formatted, or why there is none ("skipped", "not installed")."""
    if value is None:
        return status if status != "run" else "–"
    return fmt.format(value)


def render(header, rows, markdown=False, numeric=True):
    """A table: GitHub markdown, or plain text with aligned columns.

    The first column is left-aligned; the others right-aligned when `numeric`.
    """
    if markdown:
        rule = " ---: |" if numeric else " --- |"
        lines = ["| " + " | ".join(header) + " |", "| --- |" + rule * (len(header) - 1)]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
    widths = [max(len(row[c]) for row in [header] + rows) for c in range(len(header))]

    def line(row):
        return "  ".join(v.rjust(w) if c and numeric else v.ljust(w)
                         for c, (v, w) in enumerate(zip(row, widths))).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def training_table(results, markdown=False):
    """Seconds per epoch per batch size, the ratios, the FLOP floor and its fraction."""
    status = results["frameworks"]
    header = ["batch", *(f"{NAMES[f]} s/epoch" for f in FRAMEWORKS), "PyTorch / numba",
              "numpy / numba", "floor s", "floor fraction"]
    rows = []
    for row in results["training"]:
        s = row["seconds"]
        rows.append([str(row["batch_size"]),
                     *(cell(s[f], status[f], "{:.3f}") for f in FRAMEWORKS),
                     ratio(s[TORCH], s[NUMBA]), ratio(s[NUMPY], s[NUMBA]),
                     f"{row['floor_seconds']:.3f}",
                     cell(row["floor_fraction"], status[NUMBA], "{:.0%}")])
    return render(header, rows, markdown)


def inference_table(results, markdown=False):
    """predict on the test set (ms) and small-batch latency (µs)."""
    status = results["frameworks"]
    header = ["inference", *(NAMES[f] for f in FRAMEWORKS), "PyTorch / numba"]
    rows = []
    for row in results["inference"]:
        s = row["seconds"]
        if row["what"] == "predict":
            label, scale, fmt = f"predict {row['rows']:,} rows, ms", 1e3, "{:.2f}"
        else:
            label, scale, fmt = f"latency {row['rows']} row(s), µs", 1e6, "{:.0f}"
        rows.append([label, *(cell(s[f] and s[f] * scale, status[f], fmt) for f in FRAMEWORKS),
                     ratio(s[TORCH], s[NUMBA])])
    return render(header, rows, markdown)


def gemm_table(results, markdown=False):
    """GFLOP/s of fastnn's and NumPy's float32 matmul by shape; the best one is the peak."""
    rates = {(r["impl"], tuple(r["shape"])): r["gflops"] for r in results["gemm"]["rates"]}
    shapes = list(dict.fromkeys(s for _, s in rates))
    rows = [[shape(s), *(f"{rates[impl, s]:.0f}" for impl in ("fastnn", "numpy"))]
            for s in shapes]
    header = ["GEMM M×K×N", "fastnn GFLOP/s (best round)", "numpy GFLOP/s (best round)"]
    return render(header, rows, markdown)


def other_table(results, markdown=False):
    """The GEMM peak, first fit calls (compile or cache load), start-up and memory."""
    best = results["gemm"]["best"]
    rows = [["best float32 GEMM (the floor's rate)",
             f"{best['gflops']:.0f} GFLOP/s ({best['impl']}, {shape(best['shape'])})"]]
    first = results["training"][0]["first_call"] if results["training"] else {}
    for name, seconds in first.items():
        rows.append([f"first fit call (two batches), {NAMES[name]}", f"{seconds:.2f} s"])
    if results["startup"]:
        start = results["startup"]
        rows += [["import fastnn (fresh interpreter)", f"{start['import']:.2f} s"],
                 ["cold start: first batch done, empty Numba cache", f"{start['cold']:.2f} s"],
                 ["warm start: first batch done, cache filled", f"{start['warm']:.2f} s"]]
    if results["memory"]:
        memory = results["memory"]
        rows.append([f"peak RSS of `{memory['command']}`",
                     f"{memory['peak_rss_mib']:.0f} MiB (ran {memory['seconds']:.1f} s)"])
    return render(["measure", "value"], rows, markdown, numeric=False)


def machine_line(info):
    """One line naming the machine and the versions."""
    memory = f", {info['memory_gib']:.0f} GiB" if info["memory_gib"] else ""
    simd = f" ({', '.join(info['simd'])})" if info["simd"] else ""
    torch = f", torch {info['torch']}" if info["torch"] else ""
    load = info.get("load")
    load = f"; load average {load[0]:.1f} at the start, {load[1]:.1f} at the end" if load else ""
    return (f"{info['cpu']}{simd}, {info['cores']} cores{memory}, {info['system']}; "
            f"Python {info['python']}, numpy {info['numpy']}, numba {info['numba']} "
            f"({info['threading_layer']}, {info['threads']} threads){torch}, "
            f"fastnn {info['fastnn']}{load}")


def report(results, markdown=False):
    """The tables `fastnn bench` prints."""
    title = (f"MNIST {'-'.join(map(str, results['architecture']))}, ReLU, softmax + CCE, "
             f"Adam, float32: {results['samples']:,} training samples, "
             f"{results['test_samples']:,} test samples, median of {results['rounds']} rounds")
    parts = [title, training_table(results, markdown), inference_table(results, markdown),
             gemm_table(results, markdown), other_table(results, markdown),
             "machine: " + machine_line(results["machine"])]
    if any((row["floor_fraction"] or 0) > 1 for row in results["training"]):
        parts.insert(2, "note: a floor fraction above 100% means the GEMM peak was measured "
                        "in a slow phase of the machine: run again")
    return "\n\n".join(parts)


# ---- the picture -----------------------------------------------------------------------

PLOT_MISSING = ('matplotlib is needed for --plot: pip install -e ".[plot]" '
                '(or pip install matplotlib)')


def require_matplotlib():
    """Raise ImportError with an install hint when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    except ImportError as err:
        raise ImportError(PLOT_MISSING) from err


def plot(results, path):
    """A PNG at `path`: seconds per epoch by batch size, and inference times (log scale)."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(11, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    train, infer = fig.subplots(1, 2)
    names = [f for f in FRAMEWORKS if results["frameworks"][f] == "run"]
    width = 0.8 / max(len(names), 1)
    _bars(train, [str(r["batch_size"]) for r in results["training"]],
          [[r["seconds"][f] for r in results["training"]] for f in names], names, width)
    train.set(title="one MNIST epoch", xlabel="batch size", ylabel="seconds")
    labels = [f"predict {r['rows']:,}" if r["what"] == "predict" else f"{r['rows']} row(s)"
              for r in results["inference"]]
    _bars(infer, labels, [[r["seconds"][f] * 1e3 for r in results["inference"]]
                          for f in names], names, width)
    infer.set(title="inference, one predict call", ylabel="milliseconds (log)", yscale="log")
    infer.legend()
    fig.tight_layout()
    fig.savefig(path, format="png")
    return fig


def _bars(ax, groups, values, names, width):
    """Grouped bars: values[framework][group]."""
    x = np.arange(len(groups))
    for i, (name, heights) in enumerate(zip(names, values)):
        ax.bar(x + (i - (len(names) - 1) / 2) * width, heights, width, label=NAMES[name])
    ax.set_xticks(x, groups)
