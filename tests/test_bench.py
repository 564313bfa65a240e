"""fastnn bench: what it measures, its tables, JSON and picture, on tiny synthetic data.

Behaviour only: which rows and columns come out, that numbers are positive and finite,
that missing PyTorch or matplotlib is reported. The pauses that keep timings fair and
the calibration of latency rounds are switched off, and the GEMMs are small, for speed.
"""
import copy
import json
import math
import subprocess
import sys

import pytest

from fastnn import bench
from fastnn.cli import main

SMALL_GEMMS = ((64, 64, 64), (128, 784, 128))
SAMPLES, TEST_SAMPLES, BATCH = 256, 64, 128


def quick(monkeypatch):
    monkeypatch.setattr(bench, "QUIET", 0.0)
    monkeypatch.setattr(bench, "ROUND_SECONDS", 0.0)  # one call per latency round
    monkeypatch.setattr(bench, "GEMM_SHAPES", SMALL_GEMMS)


@pytest.fixture(autouse=True)
def fast(monkeypatch):
    quick(monkeypatch)


@pytest.fixture(scope="module")
def results():
    """One small run of the whole comparison, shared by the tests below."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        quick(monkeypatch)
        X, y, X_test = bench.synthetic(SAMPLES, TEST_SAMPLES)
        return bench.run(X, y, X_test, batch_sizes=[BATCH], rounds=1, startup=False)


def positive(x):
    return isinstance(x, float) and math.isfinite(x) and x > 0


def test_flop_floor_of_the_mnist_mlp():
    assert bench.flops_per_sample() == 454_400  # 218,368 forward + 218,368 dW + 17,664 dx
    assert bench.flops_per_sample((4, 3, 2)) == 2 * 18 + 2 * 18 + 2 * 6
    assert bench.flop_floor(60_000, 1e12) == pytest.approx(0.027264)
    assert bench.floor_fraction(0.054528, 60_000, 1e12) == pytest.approx(0.5)
    info = bench.floor_info(0.054528, 60_000, 1e12)
    assert info["epoch_gflop"] == pytest.approx(27.264)
    assert info["floor_fraction"] == pytest.approx(0.5)


def test_compare_interleaves_rounds_and_counts_calls():
    calls = []
    medians = bench.compare({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                            rounds=3, number=2)
    assert calls == ["a", "a", "b", "b"] * 3
    assert set(medians) == {"a", "b"} and all(s >= 0 for s in medians.values())
    counted = []
    assert bench.seconds_per_call_for(lambda: counted.append(1), duration=0.0) >= 0
    assert counted == [1]


def test_results_cover_every_framework_and_measure(results):
    status = results["frameworks"]
    assert status[bench.NUMBA] == status[bench.NUMPY] == "run"
    assert status[bench.TORCH] in ("run", "not installed")
    (row,) = results["training"]
    assert row["batch_size"] == BATCH and row["samples"] == SAMPLES
    for name in bench.FRAMEWORKS:
        ran = status[name] == "run"
        assert positive(row["seconds"][name]) if ran else row["seconds"][name] is None
        assert positive(row["first_call"][name]) if ran else name not in row["first_call"]
    assert positive(row["floor_seconds"]) and positive(row["floor_fraction"])
    assert [(r["what"], r["rows"]) for r in results["inference"]] == [
        ("predict", TEST_SAMPLES), ("latency", 1), ("latency", 32)]
    for r in results["inference"]:
        assert all(positive(r["seconds"][f]) for f in bench.FRAMEWORKS if status[f] == "run")
    rates = results["gemm"]["rates"]
    assert sorted((r["impl"], tuple(r["shape"])) for r in rates) == sorted(
        (impl, s) for impl in ("fastnn", "numpy") for s in SMALL_GEMMS)
    assert all(positive(r["gflops"]) for r in rates)
    assert results["gemm"]["best"]["gflops"] == max(r["gflops"] for r in rates)
    assert results["startup"] is None and results["memory"] is None
    machine = results["machine"]
    assert machine["cores"] >= 1 and machine["threads"] >= 1 and machine["cpu"]
    assert machine["numpy"] and machine["numba"] and machine["fastnn"]


def test_report_has_the_rows_and_columns(results):
    text = bench.report(results)
    for heading in ["fastnn numba s/epoch", "fastnn numpy s/epoch", "PyTorch s/epoch",
                    "PyTorch / numba", "numpy / numba", "floor s", "floor fraction",
                    f"predict {TEST_SAMPLES} rows, ms", "latency 1 row(s), µs",
                    "latency 32 row(s), µs", "GEMM M×K×N", "64×64×64", "128×784×128",
                    "best float32 GEMM", "first fit call (two batches), fastnn numba",
                    "machine: "]:
        assert heading in text
    assert "cold start" not in text and "peak RSS" not in text  # not measured


def test_markdown_training_row_holds_the_numbers(results):
    lines = bench.report(results, markdown=True).splitlines()
    header = next(line for line in lines if line.startswith("| batch |"))
    row = lines[lines.index(header) + 2]
    cells = dict(zip(header.strip("| ").split(" | "), row.strip("| ").split(" | ")))
    seconds = results["training"][0]["seconds"]
    assert cells["batch"] == str(BATCH)
    assert float(cells["fastnn numba s/epoch"]) == pytest.approx(seconds[bench.NUMBA], abs=6e-4)
    numpy_ratio = seconds[bench.NUMPY] / seconds[bench.NUMBA]
    assert float(cells["numpy / numba"].rstrip("×")) == pytest.approx(numpy_ratio, abs=0.06)
    assert cells["floor fraction"].endswith("%")


def test_gemm_passes_merge_to_the_best_rate_of_each():
    def rates(fastnn, numpy):
        return [{"impl": "fastnn", "shape": [8, 8, 8], "gflops": fastnn},
                {"impl": "numpy", "shape": [8, 8, 8], "gflops": numpy}]
    merged = bench.merge_rates(rates(5.0, 7.0), rates(9.0, 1.0))
    assert sorted((r["impl"], r["gflops"]) for r in merged) == [("fastnn", 9.0), ("numpy", 7.0)]
    assert bench.best_gemm(merged)["gflops"] == 9.0


def test_report_flags_a_floor_fraction_above_one(results):
    slow_peak = copy.deepcopy(results)
    bench.add_floor(slow_peak["training"][0], gemm_flops=1.0)  # a floor of hours
    assert slow_peak["training"][0]["floor_fraction"] > 1
    assert "GEMM peak was measured in a slow phase" in bench.report(slow_peak)


def test_json_round_trips(results, tmp_path):
    path = tmp_path / "bench.json"
    bench.save_json(results, path)
    loaded = json.loads(path.read_text())
    assert loaded == results
    assert bench.report(loaded) == bench.report(results)


def test_plot_writes_a_png(results, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "bench.png"
    bench.plot(results, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_cli_bench_without_torch(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails
    path = tmp_path / "bench.json"
    argv = ["bench", "--synthetic", "--samples", str(SAMPLES), "--batch-sizes", str(BATCH),
            "--rounds", "1", "--skip-startup", "--skip-numpy", "--json", str(path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "not installed" in out and "skipped" in out
    training = next(line for line in out.splitlines() if line.startswith(str(BATCH)))
    assert training.split()[2:5] == ["skipped", "not", "installed"]
    results = json.loads(path.read_text())
    assert results["frameworks"] == {bench.NUMBA: "run", bench.NUMPY: "skipped",
                                     bench.TORCH: "not installed"}
    assert results["samples"] == SAMPLES and results["test_samples"] == SAMPLES
    assert positive(results["training"][0]["seconds"][bench.NUMBA])
    assert results["training"][0]["seconds"][bench.TORCH] is None


def test_cli_plot_without_matplotlib_fails_before_timing(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setattr(bench, "run", lambda *a, **k: pytest.fail("timed before failing"))
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--synthetic", "--plot", str(tmp_path / "b.png")])
    assert exit_info.value.code == 2
    assert "matplotlib is needed" in capsys.readouterr().err


def test_cli_rejects_a_zero_batch_size(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--batch-sizes", "0"])
    assert "must be at least 1" in capsys.readouterr().err


def test_startup_runs_fresh_interpreters():
    # the JIT is off in the children, so the "cold" start compiles nothing and is quick
    start = bench.bench_startup(rounds=1, NUMBA_DISABLE_JIT="1")
    assert set(start) == {"import", "cold", "warm"}
    assert all(positive(s) for s in start.values())


def test_peak_rss_of_one_child():
    grow = "import numpy as np; a = np.ones(64 * 2**20 // 8); a += 1"
    rss, seconds = bench.peak_rss([sys.executable, "-c", grow])
    assert rss >= 64 * 2**20 and positive(seconds)
    memory = bench.bench_memory([sys.executable, "-c", "pass"])
    assert positive(memory["peak_rss_mib"]) and memory["peak_rss_mib"] < rss / 2**20
    with pytest.raises(subprocess.CalledProcessError, match="exit status 3"):
        bench.peak_rss([sys.executable, "-c", "import sys; sys.exit(3)"])


def test_train_mnist_argv_is_the_cli_train_command():
    argv = bench.train_mnist_argv("/data/mnist", samples=500)
    assert argv[:5] == [sys.executable, "-m", "fastnn", "train", "mnist"]
    assert argv[argv.index("--epochs") + 1] == "1"
    assert argv[argv.index("--data") + 1] == "/data/mnist"
    assert argv[argv.index("--samples") + 1] == "500"
    assert "--data" not in bench.train_mnist_argv()
