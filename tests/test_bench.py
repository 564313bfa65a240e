"""fastnn bench: workloads, the floor, the interleaved schedule, worker processes and
their environments, the tables, JSON and chart, on tiny synthetic workloads.

Behaviour only, never a wall-clock bound: which rows and columns come out, that numbers
are positive and finite, that every framework trains the same problem (same loss), that
a peer's process holds none of fastnn's settings, that missing peers are skipped.
"""
import json
import math
import os
import subprocess
import sys

import pytest

from fastnn.bench import (frameworks, harness, machine, report, run, startup,
                          workloads)
from fastnn.bench.cli import command_line
from fastnn.bench.workloads import Workload
from fastnn.cli import build_parser, main

TINY = Workload((784, 32, 10), 128, 512)
WORKER = str(frameworks.PEERS_DIR / "worker.py")


def positive(x):
    return isinstance(x, float) and math.isfinite(x) and x > 0


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """One tiny run of the whole comparison through the CLI, shared by the tests below."""
    path = tmp_path_factory.mktemp("bench") / "bench.json"
    argv = ["bench", "--synthetic", "--samples", "512", "--rounds", "1", "--model",
            "784-32-10", "--batch-sizes", "128", "--json", str(path)]
    assert main(argv) == 0
    return json.loads(path.read_text())


# ---- workloads and the floor -----------------------------------------------------------


def test_default_workloads_are_the_issues_set():
    assert [(w.model, w.batch_size, w.samples) for w in workloads.workloads()] == [
        ("784-128-64-10", 32, 60_000), ("784-128-64-10", 128, 60_000),
        ("784-128-64-10", 512, 60_000), ("784-1024-1024-10", 128, 10_000),
        ("784-256-256-256-256-10", 128, 10_000)]


def test_models_times_batch_sizes_and_a_samples_override():
    chosen = workloads.workloads([(784, 1024, 10), (784, 64, 10)], [32, 256])
    assert [(w.model, w.batch_size, w.samples) for w in chosen] == [
        ("784-1024-10", 32, 10_000), ("784-1024-10", 256, 10_000),
        ("784-64-10", 32, 60_000), ("784-64-10", 256, 60_000)]
    assert {w.samples for w in workloads.workloads(samples=512)} == {512}
    assert [w.batch_size for w in workloads.workloads(batch_sizes=[64])] == [64]


@pytest.mark.parametrize("text", ["784", "784-", "784-x-10", "784--10", "784-0-10", ""])
def test_bad_model_sizes_are_refused(text):
    with pytest.raises(ValueError, match="784-128-64-10|at least 1"):
        workloads.parse_model(text)


def test_flop_floor_of_the_mnist_mlp():
    assert workloads.flops_per_sample() == 454_400  # 218,368 forward + 218,368 dW + 17,664 dx
    assert workloads.flops_per_sample((4, 3, 2)) == 2 * 18 + 2 * 18 + 2 * 6
    mnist = Workload((784, 128, 64, 10), 128, 60_000)
    assert workloads.epoch_flops(mnist) == 454_400 * 60_000
    assert workloads.flop_floor(mnist, 1e12) == pytest.approx(0.027264)
    assert workloads.floor_fraction(0.054528, mnist, 1e12) == pytest.approx(0.5)


def test_products_are_the_step_s_matrix_products():
    w = Workload((784, 128, 10), 32, 1)
    assert workloads.products(w) == [(32, 784, 128, "nn"), (784, 32, 128, "tn"),
                                     (32, 128, 10, "nn"), (128, 32, 10, "tn"),
                                     (32, 10, 128, "nt")]
    for w in workloads.DEFAULT_WORKLOADS:  # the floor counts exactly these FLOPs
        step = sum(2 * m * k * n for m, k, n, _ in workloads.products(w))
        assert step == workloads.flops_per_sample(w.sizes) * w.batch_size


# ---- the schedule and the statistics ---------------------------------------------------


def test_rounds_interleave_frameworks_in_a_rotating_order():
    a, b = Workload((2, 2), 1, 1), Workload((3, 2), 1, 1)
    order = harness.schedule([a, b], ["fastnn", "torch", "jax"], rounds=3)
    assert order == [
        (0, a, "fastnn"), (0, a, "torch"), (0, a, "jax"),
        (0, b, "fastnn"), (0, b, "torch"), (0, b, "jax"),
        (1, a, "torch"), (1, a, "jax"), (1, a, "fastnn"),
        (1, b, "torch"), (1, b, "jax"), (1, b, "fastnn"),
        (2, a, "jax"), (2, a, "fastnn"), (2, a, "torch"),
        (2, b, "jax"), (2, b, "fastnn"), (2, b, "torch")]
    assert harness.schedule([a], [], rounds=2) == []


def test_summary_is_the_median_over_rounds_of_each_process_s_best():
    def process(epochs, warm_up):
        return {"best": min(epochs), "epochs": epochs, "losses": [2.0, 1.5],
                "warm_up": warm_up}
    summary = harness.summarize([process([3.0, 2.0], 9.0), process([1.0, 5.0], 1.0),
                                 process([4.0, 4.5], 2.0)])
    assert summary["seconds"] == 2.0 and summary["warm_up_seconds"] == 2.0
    assert summary["loss"] == 1.5 and len(summary["rounds"]) == 3


def test_gemm_passes_merge_to_the_best_rate_of_each():
    from fastnn.bench import gemm_rates

    def rates(fastnn, numpy):
        return [{"impl": "fastnn", "shape": [8, 8, 8], "kind": "nn", "gflops": fastnn},
                {"impl": "numpy", "shape": [8, 8, 8], "kind": "nn", "gflops": numpy},
                {"impl": "numpy", "shape": [9, 9, 9], "kind": "nn", "gflops": 99.0}]
    merged = gemm_rates.merge(rates(5.0, 7.0), rates(9.0, 1.0))
    assert sorted((r["impl"], r["gflops"]) for r in merged) == [
        ("fastnn", 9.0), ("numpy", 7.0), ("numpy", 99.0)]
    assert gemm_rates.best_rate(merged)["gflops"] == 99.0
    assert gemm_rates.best_rate(merged, [(8, 8, 8, "nn")])["gflops"] == 9.0


# ---- instruction sets and environments -------------------------------------------------


def test_avx2_features_turn_off_every_avx512_feature():
    features = {"avx2": True, "fma": True, "avx512f": True, "avx512vl": True,
                "amx-avx512": True, "avx10.1": True, "evex512": True, "sse4.2": True,
                "xop": False}
    text = machine.avx2_features(features)
    assert text == ("-amx-avx512,-avx10.1,+avx2,-avx512f,-avx512vl,-evex512,+fma,+sse4.2,"
                    "-xop")
    assert all(not part.startswith("+") for part in text.split(",") if "avx512" in part)


def test_avx2_settings_per_framework():
    settings = frameworks.isa_settings("fastnn", "avx2", features={"avx2": True,
                                                                   "avx512f": True})
    assert settings["NUMBA_CPU_NAME"] == "haswell"
    assert settings["NUMBA_CPU_FEATURES"] == "+avx2,-avx512f"
    assert settings["NUMBA_CACHE_DIR"] == frameworks.avx2_cache_dir()
    assert frameworks.isa_settings("torch", "avx2") == {
        "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ATEN_CPU_CAPABILITY": "avx2",
        "ONEDNN_MAX_CPU_ISA": "AVX2"}
    assert frameworks.isa_settings("jax", "avx2") == {"XLA_FLAGS": "--xla_cpu_max_isa=AVX2"}
    assert frameworks.isa_settings("jax", "avx2", xla_max_isa=False) == {}
    assert all(frameworks.isa_settings(name, "native") == {} for name in frameworks.FRAMEWORKS)
    native = frameworks.worker_env("fastnn", environ={"HOME": "/home/u"})
    assert "NUMBA_CACHE_DIR" not in native  # the AVX2 cache never mixes with the native one
    with pytest.raises(ValueError, match="unknown ISA 'avx512'"):
        frameworks.isa_settings("torch", "avx512")


def test_host_features_come_from_llvm():
    features = machine.host_features()
    assert features and all(isinstance(on, bool) for on in features.values())
    assert "avx512f" not in machine.avx2_features(features).replace("-avx512f", "")


OURS = {"GOMP_SPINCOUNT": "3000", "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1", "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false",
        "FASTNN_BACKEND": "numpy", "NUMBA_THREADING_LAYER": "omp"}


def test_worker_environments_drop_every_tuning_variable():
    environ = {"HOME": "/home/u", "PATH": "/bin", **OURS}
    for name in frameworks.FRAMEWORKS:
        env = frameworks.worker_env(name, environ=environ)
        assert env["HOME"] == "/home/u" and env["PATH"] == "/bin"
        assert not set(OURS) & set(env)
    torch_env = frameworks.worker_env("torch", threads=2, environ=environ)
    assert not set(OURS) & set(torch_env)
    assert frameworks.worker_env("fastnn", threads=2, environ=environ)["NUMBA_NUM_THREADS"] == "2"
    assert frameworks.affinity(None) is None


TRAINER = '''\
import json, os
class Trainer:
    def __init__(self, spec, X, y):
        self.version = json.dumps(dict(os.environ))
        self.threads = len(X)
    def warm_up(self):
        pass
    def epoch(self):
        return 1.5
'''


def test_a_peer_process_holds_none_of_fastnn_s_settings(tmp_path, monkeypatch):
    from fastnn.kernels import gemm  # noqa: F401  (sets GOMP_SPINCOUNT in this process)
    for key, value in OURS.items():
        monkeypatch.setenv(key, value)
    trainer = tmp_path / "trainer.py"
    trainer.write_text(TRAINER)
    paths = _data(tmp_path)
    env = frameworks.worker_env("jax")
    with harness.Worker([sys.executable, WORKER, str(trainer)],
                        harness.spec(TINY, paths), env) as worker:
        seen = json.loads(worker.ready["version"])
        assert worker.ready["threads"] == TINY.samples
        assert worker.epoch()["loss"] == 1.5
    assert not set(OURS) & set(seen)
    assert not [key for key in seen if key.startswith(frameworks.TUNING_PREFIXES)]


def _data(folder):
    from fastnn.bench import data
    return data.save(folder, *data.synthetic(TINY.samples, 784, 10))


def test_a_missing_framework_is_reported_as_not_installed(tmp_path):
    trainer = tmp_path / "trainer.py"
    trainer.write_text("import not_a_framework_fastnn_knows\n")
    with pytest.raises(harness.WorkerError, match="not installed") as err:
        harness.Worker([sys.executable, WORKER, str(trainer)],
                       harness.spec(TINY, _data(tmp_path)), frameworks.worker_env("jax"))
    assert err.value.not_installed
    trainer.write_text("raise RuntimeError('broken build')\n")
    with pytest.raises(harness.WorkerError, match="broken build") as err:
        harness.Worker([sys.executable, WORKER, str(trainer)],
                       harness.spec(TINY, _data(tmp_path)), frameworks.worker_env("jax"))
    assert not err.value.not_installed


def test_missing_peers_are_skipped_cleanly(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(frameworks, "installed", lambda name: name == "fastnn")
    path = tmp_path / "b.json"
    assert main(["bench", "--synthetic", "--samples", "256", "--rounds", "1",
                 "--model", "784-16-10", "--batch-sizes", "128", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "PyTorch is not installed: skipped" in out and "JAX is not installed" in out
    row = next(line for line in out.splitlines() if line.startswith("784-16-10"))
    assert row.split()[5:9] == ["not", "installed", "not", "installed"]
    saved = json.loads(path.read_text())
    assert {n: f["status"] for n, f in saved["frameworks"].items()} == {
        "fastnn": "run", "torch": "not installed", "jax": "not installed"}
    assert set(saved["workloads"][0]["results"]) == {"fastnn"}


# ---- a whole run ----------------------------------------------------------------------


def test_every_installed_framework_trains_the_same_problem(results):
    (row,) = results["workloads"]
    assert (row["sizes"], row["batch_size"], row["samples"]) == ([784, 32, 10], 128, 512)
    ran = [n for n, f in results["frameworks"].items() if f["status"] == "run"]
    assert "fastnn" in ran and set(ran) == set(row["results"])
    for name in ran:
        r = row["results"][name]
        assert positive(r["seconds"]) and positive(r["warm_up_seconds"])
        assert r["threads"] >= 1 and len(r["rounds"]) == 1
        assert r["floor_fraction"] == pytest.approx(row["floor_seconds"] / r["seconds"])
        assert len(r["rounds"][0]["epochs"]) == 2
        assert r["seconds"] == min(r["rounds"][0]["epochs"])
        assert abs(r["loss"] - math.log(10)) < 0.15  # random labels: about ln 10
    assert positive(row["floor_seconds"]) and positive(row["gemm"]["gflops"])
    assert {r["impl"] for r in results["gemm_rates"]} == {"fastnn", "numpy"}
    assert results["machine"]["versions"]["numpy"]
    assert results["command"].startswith("fastnn bench --model 784-32-10")


def test_markdown_is_self_contained(results):
    text = report.report(results, markdown=True)
    for fact in ["- date: ", "- command: `fastnn bench", "- machine: ", "logical CPUs",
                 "load average",
                 "- versions: Python", "fastnn ", "Numba ", "PyTorch ", "JAX ",
                 "- threads: ", "- instruction set: native", "- timing: ", "- floor: "]:
        assert fact in text
    header = next(line for line in text.splitlines() if line.startswith("| model, batch |"))
    columns = header.strip("| ").split(" | ")
    assert columns[:3] == ["model, batch", "samples", "fastnn s/epoch"]
    assert columns[-4:] == ["fastnn vs the faster peer", "GEMM GFLOP/s", "floor s",
                            "fastnn floor fraction"]
    row = text.splitlines()[text.splitlines().index(header) + 2]
    cells = dict(zip(columns, row.strip("| ").split(" | ")))
    fastnn = results["workloads"][0]["results"]["fastnn"]
    assert float(cells["fastnn s/epoch"]) == pytest.approx(fastnn["seconds"], rel=0.01)
    assert cells["fastnn floor fraction"] == f"{fastnn['floor_fraction']:.0%}"


def _row(fastnn, torch=None, jax=None, status=None):
    results = {name: {"seconds": s, "warm_up_seconds": 1.0, "floor_fraction": 0.1 / s}
               for name, s in [("fastnn", fastnn), ("torch", torch), ("jax", jax)] if s}
    return {"label": "784-10, batch 1", "samples": 1000, "gemm": {"gflops": 100.0},
            "floor_seconds": 0.1, "results": results}


@pytest.mark.parametrize("torch, jax, text", [(0.5, 0.4, "2.00× faster"),
                                              (0.1, 0.2, "2.00× slower"),
                                              (0.201, None, "even"), (None, None, "–")])
def test_fastnn_against_the_faster_peer(torch, jax, text):
    assert report.versus(0.2, report.faster_peer(_row(0.2, torch, jax))
                         and report.faster_peer(_row(0.2, torch, jax))[1]) == text


def test_text_table_with_a_failed_and_a_missing_peer():
    row = _row(0.2, 0.5)
    row["results"]["jax"] = {"error": "RuntimeError: out of memory"}
    results = {"frameworks": {"fastnn": {"status": "run"}, "torch": {"status": "run"},
                              "jax": {"status": "run"}, "fastnn-numpy": {
                                  "status": "not installed"}},
               "workloads": [row]}
    lines = report.training_table(results).splitlines()
    assert lines[2].split()[3:] == ["1,000", "0.200", "0.500", "failed", "not", "installed",
                                    "2.50×", "faster", "100", "0.100", "50%"]
    assert report.seconds(0.00412) == "0.00412" and report.seconds(7.371) == "7.37"
    assert report.seconds(123.4) == "123"


def test_json_round_trips(results, tmp_path):
    path = tmp_path / "again.json"
    run.save_json(results, path)
    assert json.loads(path.read_text()) == results
    assert report.report(json.loads(path.read_text())) == report.report(results)


def test_plot_writes_a_png(results, tmp_path):
    pytest.importorskip("matplotlib")
    from fastnn.bench import plot
    path = tmp_path / "bench.png"
    plot.plot(results, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


# ---- the command line ------------------------------------------------------------------


def test_command_line_names_what_was_asked():
    args = build_parser().parse_args(
        ["bench", "--model", "784-1024-1024-10", "--model", "784-64-10", "--batch-sizes",
         "64", "128", "--isa", "avx2", "--rounds", "5", "--markdown"])
    assert command_line(args) == ("fastnn bench --model 784-1024-1024-10 --model 784-64-10 "
                                  "--batch-sizes 64 128 --rounds 5 --isa avx2 --markdown")
    assert command_line(build_parser().parse_args(["bench"])) == "fastnn bench"


def test_cli_plot_without_matplotlib_fails_before_timing(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setattr(run, "run", lambda *a, **k: pytest.fail("timed before failing"))
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--synthetic", "--plot", str(tmp_path / "b.png")])
    assert exit_info.value.code == 2
    assert "matplotlib is needed" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--batch-sizes", "0"], "must be at least 1"),
    (["--model", "784-x-10"], "layer sizes joined by '-'"),
    (["--isa", "sse2"], "invalid choice"),
    (["--frameworks", "tensorflow"], "invalid choice"),
    (["--synthetic", "--model", "784-10", "--model", "100-10"], "takes 100 inputs"),
])
def test_cli_refuses_bad_options(argv, message, monkeypatch, capsys):
    monkeypatch.setattr(run, "gemm_pass", lambda *a: pytest.fail("timed before failing"))
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


# ---- start-up and memory ---------------------------------------------------------------


def test_startup_runs_fresh_interpreters():
    # the JIT is off in the children, so the "cold" start compiles nothing and is quick
    start = startup.bench_startup(rounds=1, NUMBA_DISABLE_JIT="1")
    assert set(start) == {"import", "cold", "warm"}
    assert all(positive(s) for s in start.values())


def test_peak_rss_of_one_child():
    grow = "import numpy as np; a = np.ones(64 * 2**20 // 8); a += 1"
    rss, seconds = startup.peak_rss([sys.executable, "-c", grow])
    assert rss >= 64 * 2**20 and positive(seconds)
    memory = startup.bench_memory([sys.executable, "-c", "pass"])
    assert positive(memory["peak_rss_mib"]) and memory["peak_rss_mib"] < rss / 2**20
    with pytest.raises(subprocess.CalledProcessError, match="exit status 3"):
        startup.peak_rss([sys.executable, "-c", "import sys; sys.exit(3)"])


def test_train_mnist_argv_is_the_cli_train_command():
    argv = startup.train_mnist_argv("/data/mnist", samples=500)
    assert argv[:5] == [sys.executable, "-m", "fastnn", "train", "mnist"]
    assert argv[argv.index("--epochs") + 1] == "1"
    assert argv[argv.index("--data") + 1] == "/data/mnist"
    assert argv[argv.index("--samples") + 1] == "500"
    assert "--data" not in startup.train_mnist_argv()


def test_importing_the_bench_package_imports_no_framework():
    code = ("import sys, fastnn.bench, fastnn.bench.run, fastnn.bench.cli; "
            "print(sorted(m for m in ('numba', 'torch', 'jax', 'matplotlib') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ), check=True)
    assert done.stdout.strip() == "[]"
