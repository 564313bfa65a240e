"""docs/tutorial.ipynb: committed without outputs, and it runs from top to bottom.

The notebook runs in a fresh kernel of this interpreter (a kernelspec written to a temporary
JUPYTER_PATH), with FASTNN_TUTORIAL_SMALL=1 for a quick MNIST section. It uses real MNIST
from $FASTNN_DATA when set (never downloaded), else its
synthetic stand-in; a second run forces the stand-in.
"""
import json
import os
import sys

import pytest

from tests.conftest import ROOT
from tests.test_examples import mnist_folder

NOTEBOOK = ROOT / "docs" / "tutorial.ipynb"
KERNEL = "fastnn-tutorial"
TIMEOUT = 600  # seconds per cell: a hang fails the test instead of stalling the suite


def read_notebook():
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    return notebook


def test_committed_without_outputs():
    notebook = read_notebook()
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, "the tutorial has no code cells"
    for i, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"cell {i} has outputs: strip them (e.g. jupyter nbconvert "
                f"--clear-output --inplace docs/tutorial.ipynb)")
    assert set(notebook.metadata) <= {"kernelspec", "language_info"}, (
        f"unexpected notebook metadata: {sorted(notebook.metadata)}")


def execute(tmp_path, monkeypatch, data):
    """Run the notebook with $FASTNN_DATA = `data`; return it with its outputs."""
    if os.environ.get("NUMBA_DISABLE_JIT") == "1":
        # The numba backend then runs its kernels as plain Python: correct, but minutes
        # per MNIST epoch. The notebook's own cells (the NumPy twins) are not affected.
        pytest.skip("NUMBA_DISABLE_JIT=1: the notebook's MNIST section times compiled kernels")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")
    nbclient = pytest.importorskip("nbclient")
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "fastnn tutorial (test)", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("FASTNN_TUTORIAL_SMALL", "1")
    monkeypatch.setenv("FASTNN_DATA", data)
    # Figures become outputs even where the caller's MPLBACKEND says otherwise (e.g. Agg).
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = read_notebook()
    workdir = tmp_path / "work"
    workdir.mkdir()
    nbclient.NotebookClient(notebook, timeout=TIMEOUT, kernel_name=KERNEL,
                            resources={"metadata": {"path": str(workdir)}}).execute()
    assert not list(workdir.iterdir()), "the notebook wrote files"
    return notebook


def text_of(notebook):
    return "".join(output.get("text", "") for cell in notebook.cells
                   if cell.cell_type == "code" for output in cell.outputs)


def images(notebook):
    return [output for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.outputs if "image/png" in output.get("data", {})]


def test_runs_on_mnist(tmp_path, monkeypatch):
    data = mnist_folder()
    if data is None:
        pytest.skip("real MNIST not available: set FASTNN_DATA to the folder holding the MNIST IDX files")
    notebook = execute(tmp_path, monkeypatch, str(data))
    text = text_of(notebook)
    assert f"python: {sys.executable}\n" in text  # the kernel ran this interpreter
    assert "data: MNIST; training on 3000 digits, testing on 2000" in text
    assert "numba is" in text and "faster than numpy here" in text
    # network, XOR loss, two decision boundaries, learning curves, mistakes
    assert len(images(notebook)) == 6


def test_runs_on_the_stand_in_without_mnist(tmp_path, monkeypatch):
    empty = tmp_path / "no-mnist"
    empty.mkdir()
    notebook = execute(tmp_path, monkeypatch, str(empty))
    text = text_of(notebook)
    assert "data: SYNTHETIC stand-in digits (not MNIST)" in text
    assert "SYNTHETIC stand-in digits (not MNIST): test accuracy" in text
    assert len(images(notebook)) == 6
