"""The examples in examples/: each runs as a script, passes its own checks, saves its PNGs.

Every example asserts its own result (accuracy, MSE, save/load round trip) and exits
non-zero when it fails, so a zero exit code is the test; here we also check the pictures.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fastnn.datasets import FILES
from tests.conftest import ROOT

TIMEOUT = 300  # seconds per example: a hang fails the test instead of stalling the suite


def example_env():
    env = dict(os.environ)
    # Under NUMBA_DISABLE_JIT=1 the numba backend runs its kernels as plain Python, far
    # too slow for whole training runs; the numpy backend does not use Numba at all, so
    # the examples run on it instead.
    if env.get("NUMBA_DISABLE_JIT") == "1":
        env["FASTNN_BACKEND"] = "numpy"
    return env


def run_example(name, out, *args):
    """Run examples/<name>.py from the repo root; return its stdout, failing on exit != 0."""
    command = [sys.executable, str(ROOT / "examples" / f"{name}.py"), "--out", str(out),
               *args]
    result = subprocess.run(command, cwd=ROOT, env=example_env(), capture_output=True,
                            text=True, timeout=TIMEOUT)
    assert result.returncode == 0, (f"{name}.py exited with {result.returncode}\n"
                                    f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}")
    return result.stdout


def assert_pngs(folder, *names):
    for name in names:
        path = folder / name
        assert path.is_file(), f"{name} was not saved"
        assert path.stat().st_size > 1000, f"{name} is nearly empty"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{name} is not a PNG"


def mnist_folder():
    """The folder holding the four MNIST files: $FASTNN_DATA (or its mnist/); None when
    unset or absent. The examples would download; tests never do."""
    env = os.environ.get("FASTNN_DATA")
    root = Path(env).expanduser().resolve() if env else None  # absolute: cwd=ROOT below
    candidates = [root, root / "mnist"] if env else []
    for folder in candidates:
        if all((folder / f).is_file() or (folder / f"{f}.gz").is_file() for f in FILES):
            return folder
    return None


def test_xor(tmp_path):
    out = run_example("xor", tmp_path)
    assert "accuracy 1.00" in out
    assert_pngs(tmp_path, "xor_decision_boundary.png")


def test_xor_exits_non_zero_when_its_result_is_missed(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "xor.py"), "--out",
                             str(tmp_path), "--epochs", "1"], cwd=ROOT, env=example_env(),
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode != 0
    assert "XOR not solved" in result.stderr


def test_circles(tmp_path):
    out = run_example("circles", tmp_path)
    assert "test accuracy" in out and ("stopped early after epoch" in out
                                       or "ran all" in out)
    assert_pngs(tmp_path, "circles_history.png", "circles_decision_boundary.png")


def test_regression(tmp_path):
    out = run_example("regression", tmp_path)
    assert "test MSE" in out
    assert_pngs(tmp_path, "regression_history.png", "regression_predictions.png")


def test_mnist_quick_run(tmp_path):
    folder = mnist_folder()
    if folder is None:
        pytest.skip("real MNIST not available: set FASTNN_DATA to the folder holding the MNIST IDX files")
    # A quick run on a subset: its documented bar is a test accuracy of 0.90.
    out = run_example("mnist", tmp_path, "--data", str(folder), "--samples", "10000",
                      "--epochs", "2")
    assert "bar is a test accuracy of 0.9" in out
    assert "predicts identically" in out
    assert_pngs(tmp_path, "mnist_history.png", "mnist_predictions.png",
                "mnist_confusion_matrix.png")
    assert (tmp_path / "mnist_model.npz").stat().st_size > 0
