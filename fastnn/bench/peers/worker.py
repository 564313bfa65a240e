"""A benchmark worker: one framework, one workload, in a process of its own.

    python worker.py TRAINER_FILE

TRAINER_FILE defines `Trainer(spec, X, y)` with `warm_up()`, `epoch()` → the epoch's
mean loss, and the attributes `version` and `threads`. The first line on stdin is the
spec (JSON: sizes, batch_size, samples, X and y as .npy paths, lr, seed, threads,
backend). The worker builds the trainer, warms it up (compiling whatever its framework
compiles) and reports; then each line "epoch" trains one timed epoch and reports; "quit"
or the end of stdin ends it. Reports are single lines: MARKER, then JSON.

It imports nothing of fastnn: run as a script, from the file's path, so that a peer's
process holds only NumPy and the peer.
"""
import sys

if sys.path and sys.path[0] == __import__("os").path.dirname(__file__):
    del sys.path[0]  # this folder's files are not modules for the frameworks to find

import importlib.util  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

import numpy as np  # noqa: E402

MARKER = "fastnn-bench-worker "


def report(**payload):
    print(MARKER + json.dumps(payload), flush=True)


def load_trainer(path):
    spec = importlib.util.spec_from_file_location("bench_trainer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Trainer


def main(trainer_file):
    spec = json.loads(sys.stdin.readline())
    try:
        start = time.perf_counter()
        Trainer = load_trainer(trainer_file)
        samples = spec["samples"]
        X, y = np.load(spec["X"])[:samples], np.load(spec["y"])[:samples]
        trainer = Trainer(spec, X, y)
        setup = time.perf_counter() - start
        start = time.perf_counter()
        trainer.warm_up()
        warm_up = time.perf_counter() - start
    except ImportError as err:
        report(error="not installed", detail=f"{type(err).__name__}: {err}")
        return 3
    except Exception as err:  # the parent records it and goes on with the others
        report(error=f"{type(err).__name__}: {err}", detail=traceback.format_exc())
        return 1
    report(version=trainer.version, threads=trainer.threads, setup_seconds=setup,
           warm_up_seconds=warm_up)
    for line in sys.stdin:
        command = line.strip()
        if command == "quit":
            break
        if command != "epoch":
            report(error=f"unknown command {command!r}")
            return 2
        start = time.perf_counter()
        loss = trainer.epoch()
        report(seconds=time.perf_counter() - start, loss=float(loss))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
