"""The fastnn command: train on a slice of real MNIST, print progress, save a loadable model."""
import os
import subprocess
import sys

import numpy as np

import fastnn as fnn
from fastnn.cli import main
from tests.conftest import ROOT, SHARED_MNIST


def test_train_mnist_prints_epochs_and_saves(mnist, tmp_path, capsys):
    path = tmp_path / "mnist.npz"
    data = os.environ.get("FASTNN_DATA") or str(SHARED_MNIST)
    plots = tmp_path / "plots"
    argv = ["train", "mnist", "--epochs", "2", "--samples", "3000", "--hidden", "32",
            "--batch-size", "64", "--data", data, "--save", str(path)]
    try:
        import matplotlib  # noqa: F401
        argv += ["--plot", str(plots)]
    except ImportError:
        plots = None
    assert main(argv) == 0
    out = capsys.readouterr().out
    if plots is not None:
        for name in ("history.png", "predictions.png", "confusion.png"):
            assert (plots / name).stat().st_size > 1000
    assert "784-32-10" in out
    assert "epoch 2/2" in out and "accuracy" in out
    accuracy = float(out.split("test accuracy ")[1].split()[0])
    assert accuracy > 0.8
    _, (X_test, y_test) = mnist
    model = fnn.load(path)
    assert model.evaluate(X_test, y_test)["accuracy"] == accuracy
    assert np.mean(model.predict(X_test) == y_test) == accuracy


def test_python_dash_m_fastnn_shows_help():
    result = subprocess.run([sys.executable, "-m", "fastnn", "train", "--help"], cwd=ROOT,
                            capture_output=True, text=True, check=True)
    assert "--batch-size" in result.stdout and "--save" in result.stdout


def test_import_compiles_nothing():
    code = "import sys, fastnn; print('numba' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "False"
