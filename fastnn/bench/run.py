"""The whole comparison: data, GEMM rates, the interleaved rounds, results as plain JSON."""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from fastnn.bench import data, frameworks, gemm_rates, harness, machine, workloads

NOT_INSTALLED = "not installed"


def gemm_pass(shapes, threads=None, isa="native"):
    """One pass of `gemm_rates.rates` over `shapes`, in a worker with fastnn's settings."""
    env = frameworks.worker_env("fastnn", threads, isa)
    cpus = frameworks.affinity(threads)
    request = json.dumps({"shapes": [list(s) for s in shapes]})
    done = subprocess.run([sys.executable, "-m", "fastnn.bench.gemm_rates"], input=request,
                          capture_output=True, text=True, env=env,
                          preexec_fn=(lambda: os.sched_setaffinity(0, cpus))
                          if cpus else None)
    if done.returncode:
        raise RuntimeError(f"measuring GEMM rates failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def all_products(chosen):
    """The distinct matrix products of the workloads' training steps."""
    return list(dict.fromkeys(p for w in chosen for p in workloads.products(w)))


def run(chosen, X, y, names=frameworks.DEFAULT_FRAMEWORKS, rounds=3, epochs=2,
        threads=None, isa="native", data_name="MNIST", command=None, startup=False,
        log=None):
    """Everything `fastnn bench` reports, as a dict of plain JSON types.

    chosen: the workloads; X (N, I) float32 and y (N,) their data. names: frameworks
    to compare (see `frameworks.FRAMEWORKS`); one not installed is skipped with a note.
    Each (workload, framework) runs in `rounds` worker processes, interleaved (see
    `harness.schedule`); each reports the best of `epochs` epochs after its warm-up.
    GEMM rates for the floor are measured before the rounds and after; the best counts.
    """
    log = log or (lambda message: None)
    data.check_fits(X, y, chosen)
    load_at_start = machine.load_average()
    status = {n: "run" if frameworks.installed(n) else NOT_INSTALLED for n in names}
    notes = [f"{frameworks.FRAMEWORKS[n].label} is not installed: skipped"
             for n in names if status[n] == NOT_INSTALLED]
    isa_options = {}
    if isa == "avx2" and status.get("jax") == "run":
        isa_options["xla_max_isa"] = frameworks.xla_supports_max_isa()
        if not isa_options["xla_max_isa"]:
            notes.append("JAX: this jaxlib does not know --xla_cpu_max_isa, so it runs "
                         "with the CPU's full instruction set")
    cells = {(w, n): [] for w in chosen for n in names}
    errors = {}
    with tempfile.TemporaryDirectory(prefix="fastnn-bench-") as folder:
        paths = data.save(folder, X, y)
        shapes = all_products(chosen)
        log(f"GEMM rates at {len(shapes)} shapes ...")
        first = gemm_pass(shapes, threads, isa)
        running = [n for n in names if status[n] == "run"]
        for r, w, name in harness.schedule(chosen, running, rounds):
            if status[name] != "run" or (w, name) in errors:
                continue
            try:
                m = harness.measure(name, w, paths, epochs, threads, isa,
                                    **(isa_options if name == "jax" else {}))
            except harness.WorkerError as err:
                if err.not_installed:
                    status[name] = NOT_INSTALLED
                    notes.append(f"{frameworks.FRAMEWORKS[name].label} could not be "
                                 f"imported: skipped ({str(err).splitlines()[-1]})")
                else:
                    errors[w, name] = str(err).splitlines()[0]
                    notes.append(f"{frameworks.FRAMEWORKS[name].label} failed on "
                                 f"{w.label}: {errors[w, name]}")
                log(notes[-1])
                continue
            cells[w, name].append(m)
            log(f"round {r + 1}/{rounds}, {w.label}: {name} {m['best']:.3f} s/epoch "
                f"(warm-up {m['warm_up']:.1f} s)")
        log("GEMM rates, again ...")
        rates = gemm_rates.merge(first, gemm_pass(shapes, threads, isa))
    versions = {}
    for (w, name), measured in cells.items():
        if measured:
            versions[name] = measured[0]["version"]
    described = machine.describe()
    described["load"] = [load_at_start, described["load"]]
    if (load_at_start or 0) > described["logical_cpus"] / 2:  # before any worker ran
        notes.append(f"the machine was busy (load average {load_at_start:.1f} on "
                     f"{described['logical_cpus']} CPUs): other processes took CPU time "
                     f"from the workers, and frameworks whose threads spin-wait (PyTorch's "
                     f"OpenMP by default) lose the most; rerun on a quiet machine")
    return {
        "command": command,
        "settings": {"rounds": rounds, "epochs_per_process": epochs,
                     "threads": threads, "isa": isa, "data": data_name},
        "machine": described,
        "frameworks": {n: {"status": status[n], "version": versions.get(n)} for n in names},
        "notes": notes,
        "gemm_rates": rates,
        "workloads": [workload_result(w, names, cells, errors, rates) for w in chosen],
        "startup": startup_result(threads, isa, rounds) if startup else None,
    }


def workload_result(w, names, cells, errors, rates):
    """One workload's row: its floor, and each framework's medians (or why none)."""
    best = gemm_rates.best_rate(rates, workloads.products(w))
    floor = workloads.flop_floor(w, best["gflops"] * 1e9)
    results = {}
    for name in names:
        if cells[w, name]:
            summary = harness.summarize(cells[w, name])
            summary["floor_fraction"] = floor / summary["seconds"]
            summary["threads"] = cells[w, name][0]["threads"]
            results[name] = summary
        elif (w, name) in errors:
            results[name] = {"error": errors[w, name]}
    return {**w.as_dict(), "label": w.label, "epoch_gflop": workloads.epoch_flops(w) / 1e9,
            "gemm": best, "floor_seconds": floor, "results": results}


def startup_result(threads, isa, rounds):
    """fastnn's import, cold and warm start (see `startup.bench_startup`)."""
    from fastnn.bench import startup
    variables = {k: v for k, v in frameworks.worker_env("fastnn", threads, isa).items()
                 if k.startswith(("NUMBA_NUM", "NUMBA_CPU"))}
    return startup.bench_startup(min(rounds, 3), **variables)


def save_json(results, path):
    """Write `results` to `path` as JSON."""
    Path(path).write_text(json.dumps(results, indent=2) + "\n")
