"""The fastnn command, run as users run it (python -m fastnn) on files the tests write."""
import csv
import gzip
import os
import subprocess
import sys

import numpy as np
import pytest

import fastnn as fnn
from fastnn.cli import main
from fastnn.datasets import mnist as mnist_module
from fastnn.datasets import write_idx
from tests.conftest import ROOT

FAST = ["--backend", "numpy", "--hidden", "16", "--batch-size", "16"]


def fastnn(*args, env=None):
    """Run ``python -m fastnn ARGS``; the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "fastnn", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900,
                          env={**os.environ, **(env or {})})


def ok(*args, **kwargs):
    result = fastnn(*args, **kwargs)
    assert result.returncode == 0, result.stderr
    return result.stdout


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def blobs(n=240, seed=0):
    """Three well separated clusters in 2-D, labelled by colour name, and a noise column."""
    rng = np.random.default_rng(seed)
    names = np.array(["blue", "green", "red"])
    label = rng.integers(0, 3, n)
    centres = np.array([[-4.0, 0.0], [4.0, 0.0], [0.0, 5.0]])
    X = centres[label] + rng.normal(size=(n, 2))
    X = np.column_stack([X, rng.normal(size=n)])
    return X, names[label]


@pytest.fixture
def colours(tmp_path):
    X, labels = blobs()
    rows = [[f"{a:.4f}", f"{b:.4f}", f"{c:.4f}", name] for (a, b, c), name in zip(X, labels)]
    return write_csv(tmp_path / "colours.csv", ["x", "y", "noise", "colour"], rows), labels


# ---- your own data: train, save, predict, evaluate, info ----------------------------------


def test_csv_round_trip_with_string_labels(colours, tmp_path):
    path, labels = colours
    model_path = tmp_path / "model.npz"
    out = ok("train", path, "--target", "colour", "--epochs", "30", "--save", model_path,
             *FAST)
    assert "colours.csv → 'colour' (3 classes) 3-16-3" in out
    assert "192 training samples, 48 test samples (20% held out)" in out
    accuracy = float(out.split("test accuracy ")[1].split()[0])
    assert accuracy > 0.9
    assert f"saved to {model_path}" in out

    with np.load(model_path, allow_pickle=False) as saved:  # nothing pickled
        assert saved["data.classes"].tolist() == ["blue", "green", "red"]
        assert saved["data.mean"].shape == saved["data.std"].shape == (3,)
        assert '"target": "colour"' in str(saved["data.info"])

    printed = ok("predict", model_path, path, "--backend", "numpy").splitlines()
    assert printed[0] == "colour" and len(printed) == len(labels) + 1
    assert np.mean(np.array(printed[1:]) == labels) > 0.9
    written = tmp_path / "predictions.csv"
    assert ok("predict", model_path, path, "--output", written, "--backend", "numpy") == \
        f"{len(labels)} predictions written to {written}\n"
    assert written.read_text().splitlines() == printed

    evaluated = ok("evaluate", model_path, path, "--backend", "numpy")
    assert evaluated.startswith("loss ") and f"({len(labels)} samples)" in evaluated
    assert float(evaluated.split("accuracy ")[1].split()[0]) > 0.9
    model = fnn.load(model_path, backend="numpy")
    assert model.data_spec.classes.tolist() == ["blue", "green", "red"]

    info = ok("info", model_path)
    assert "3-16-3 network" in info and "Dense(3, 16, activation='relu'" in info
    assert "trained on: " in info and "colours.csv, 192 samples" in info
    assert "classification of 'colour' into 3 classes: blue, green, red" in info
    assert "features (3): x, y, noise" in info and "standardized: yes" in info


def test_predict_takes_columns_by_name_without_the_target(colours, tmp_path):
    path, labels = colours
    model_path = tmp_path / "model.npz"
    ok("train", path, "--target", "colour", "--epochs", "30", "--save", model_path, *FAST)
    with open(path) as f:
        rows = list(csv.reader(f))
    reordered = write_csv(tmp_path / "new.csv", ["noise", "y", "x"],
                          [[r[2], r[1], r[0]] for r in rows[1:]])
    same = ok("predict", model_path, reordered, "--backend", "numpy")
    assert same == ok("predict", model_path, path, "--backend", "numpy")


def test_regression_from_csv(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2))
    price = 1000 + 300 * X[:, 0] - 200 * X[:, 1]  # far from mean 0 std 1: standardized
    rows = [[f"{a:.4f}", f"{b:.4f}", f"{p:.3f}"] for (a, b), p in zip(X, price)]
    path = write_csv(tmp_path / "houses.csv", ["size", "age", "price"], rows)
    model_path = tmp_path / "houses.npz"
    out = ok("train", path, "--target", "price", "--epochs", "60", "--lr", "0.01",
             "--save", model_path, *FAST)
    assert "(regression)" in out and "2-16-1" in out
    assert float(out.split("test R² ")[1].split()[0]) > 0.95
    evaluated = ok("evaluate", model_path, path, "--backend", "numpy")
    assert evaluated.startswith("mse ") and float(evaluated.split("R² ")[1].split()[0]) > 0.95
    predicted = ok("predict", model_path, path, "--backend", "numpy").splitlines()
    assert predicted[0] == "price"
    assert np.abs(np.array(predicted[1:], dtype=float) - price).mean() < 60
    assert "regression of 'price'" in ok("info", model_path)


def test_task_overrides_the_guess(tmp_path):
    rows = [[i % 7, i % 3] for i in range(60)]  # integer targets: classification by default
    path = write_csv(tmp_path / "ints.csv", ["a", "t"], rows)
    assert "(3 classes)" in ok("train", path, "--target", "t", "--epochs", "1", *FAST)
    assert "(regression)" in ok("train", path, "--target", "t", "--task", "regression",
                                "--epochs", "1", *FAST)


def test_npz_and_a_separate_test_file(tmp_path):
    X, labels = blobs(seed=2)
    y = np.searchsorted(["blue", "green", "red"], labels)
    np.savez(tmp_path / "train.npz", X=X[:200], y=y[:200])
    np.savez(tmp_path / "test.npz", X=X[200:], y=y[200:])
    model_path = tmp_path / "m.npz"
    out = ok("train", tmp_path / "train.npz", "--test", tmp_path / "test.npz", "--epochs",
             "30", "--save", model_path, *FAST)
    assert "200 training samples, 40 test samples from" in out
    assert float(out.split("test accuracy ")[1].split()[0]) > 0.9
    printed = ok("predict", model_path, tmp_path / "test.npz", "--backend", "numpy")
    assert printed.splitlines()[0] == "y"
    assert np.mean(np.array(printed.splitlines()[1:], dtype=int) == y[200:]) > 0.9
    assert "accuracy" in ok("evaluate", model_path, tmp_path / "test.npz", "--backend",
                            "numpy")


def test_idx_folder_in_mnists_format(tmp_path):
    rng = np.random.default_rng(3)
    folder = tmp_path / "digits"
    folder.mkdir()
    for split, n in (("train", 300), ("t10k", 60)):
        labels = rng.integers(0, 4, n).astype(np.uint8)
        images = np.zeros((n, 6, 6), np.uint8)
        images[np.arange(n), labels, labels] = 255  # each class lights its own pixel
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte", labels)
    model_path = tmp_path / "digits.npz"
    out = ok("train", folder, "--epochs", "20", "--save", model_path, *FAST)
    assert "digits 36-16-4" in out and "300 training samples" in out
    assert float(out.split("test accuracy ")[1].split()[0]) > 0.9
    assert float(ok("evaluate", model_path, folder, "--backend", "numpy")
                 .split("accuracy ")[1].split()[0]) > 0.9
    assert len(ok("predict", model_path, folder, "--backend", "numpy").splitlines()) == 61
    other = tmp_path / "other"
    other.mkdir()
    for kind in ("images-idx3-ubyte.gz", "labels-idx1-ubyte"):
        (other / f"train-{kind}").write_bytes((folder / f"t10k-{kind}").read_bytes())
    out = ok("train", folder, "--test", other, "--epochs", "1", *FAST)
    assert f"300 training samples, 60 test samples from {other}" in out


def test_verbose_0_prints_only_the_result(colours):
    path, _ = colours
    out = ok("train", path, "--target", "colour", "--epochs", "3", "--verbose", "0", *FAST)
    assert len(out.splitlines()) == 1 and out.startswith("test loss ")


def test_verbose_1_prints_a_header_and_every_epoch(colours):
    path, _ = colours
    out = ok("train", path, "--target", "colour", "--epochs", "3", *FAST).splitlines()
    assert out[0].startswith("fastnn: colours.csv")
    assert [line.split()[1] for line in out[1:4]] == ["1/3", "2/3", "3/3"]


# ---- bad files: one line naming the file, the row and the column, exit status 2 ------------


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("fastnn: error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.mark.parametrize("text, fragments", [
    pytest.param("a,b,t\n1,2,x\n3,hello,y\n", ["row 2 (line 3), column 'b': 'hello' is not "
                                                "a number", "numeric"], id="non-numeric"),
    pytest.param("a,b,t\n1,2,x\n3,,y\n", ["row 2 (line 3), column 'b' is empty",
                                          "fill or drop rows with missing values"],
                 id="empty-cell"),
    pytest.param("a,b,t\n1,NA,x\n", ["row 1 (line 2), column 'b' holds 'NA', a missing value",
                                     "fill or drop rows"], id="NA"),
    pytest.param("a,b,t\n1,2,x\n3,4,\n", ["row 2 (line 3), column 't' (the target) is empty"],
                 id="missing-target"),
    pytest.param("a,b,t\n1,2,x\n3,4\n", ["row 2 (line 3) has 2 fields, but the header has 3"],
                 id="ragged-short"),
    pytest.param("a,b,t\n1,2,x,9\n", ["row 1 (line 2) has 4 fields"], id="ragged-long"),
    pytest.param("a,b,target\n1,2,x\n", ["no target column 't'", "a, b, target"],
                 id="no-target-column"),
    pytest.param("", ["empty file"], id="empty-file"),
    pytest.param("a,b,t\n", ["no data rows after the header"], id="header-only"),
    pytest.param("a,b,t\n1,inf,x\n", ["row 1 (line 2), column 'b': 'inf' is not a finite"],
                 id="inf"),
    pytest.param("a,a,t\n1,2,x\n", ["column name 'a' appears twice"], id="duplicate-name"),
    pytest.param("a,b,t\n1,2,x\n3,4,x\n", ["holds one class ('x')"], id="one-class"),
])
def test_bad_csv_files(tmp_path, text, fragments):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    assert_one_line_error(fastnn("train", path, "--target", "t", *FAST), str(path),
                          *fragments)


def test_regression_target_that_is_not_a_number(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("a,t\n1,2.5\n2,3.5\n3,cheap\n")
    assert_one_line_error(fastnn("train", path, "--target", "t", "--task", "regression",
                                 "--test-split", "0", *FAST),
                          str(path), "row 3 (line 4), column 't': 'cheap' is not a number")


def test_csv_without_target_option(tmp_path):
    path = write_csv(tmp_path / "d.csv", ["a", "label"], [[1, "x"]])
    assert_one_line_error(fastnn("train", path), "--target COLUMN", "a, label")


@pytest.mark.parametrize("arrays, fragments", [
    pytest.param(dict(X=np.ones((4, 2))), ["no array 'y'", "np.savez"], id="no-y"),
    pytest.param(dict(X=np.array([[1.0, np.nan]]), y=np.array([0])),
                 ["X holds nan at row 0, column 1", "fill or drop rows"], id="nan"),
    pytest.param(dict(X=np.ones(4), y=np.zeros(4)), ["X must be a 2-D array"], id="1-d"),
    pytest.param(dict(X=np.ones((4, 2)), y=np.zeros(3)), ["y must be 1-D with one target"],
                 id="lengths"),
    pytest.param(dict(X=np.array([[object()]]), y=np.zeros(1)), ["Object arrays"],
                 id="pickled"),
])
def test_bad_npz_files(tmp_path, arrays, fragments):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    assert_one_line_error(fastnn("train", path, *FAST), str(path), *fragments)


def test_missing_and_unknown_files(tmp_path):
    assert_one_line_error(fastnn("train", tmp_path / "nope.csv", "--target", "t"),
                          "nope.csv", "No such file")
    (tmp_path / "data.txt").write_text("1 2 3\n")
    assert_one_line_error(fastnn("train", tmp_path / "data.txt"),
                          "unknown data format '.txt'")
    assert_one_line_error(fastnn("predict", tmp_path / "nope.npz", tmp_path / "data.txt"),
                          "nope.npz: No such file")


def test_saved_model_refuses_data_without_its_columns_or_classes(colours, tmp_path):
    path, _ = colours
    model_path = tmp_path / "model.npz"
    ok("train", path, "--target", "colour", "--epochs", "1", "--save", model_path, *FAST)
    other = write_csv(tmp_path / "other.csv", ["x", "y", "colour"], [[1, 2, "blue"]])
    assert_one_line_error(fastnn("predict", model_path, other, "--backend", "numpy"),
                          "no column 'noise'", "x, y, noise")
    purple = write_csv(tmp_path / "purple.csv", ["x", "y", "noise", "colour"],
                       [[1, 2, 3, "blue"], [1, 2, 3, "purple"]])
    assert_one_line_error(fastnn("evaluate", model_path, purple, "--backend", "numpy"),
                          "row 2 (line 3), column 'colour'", "label 'purple' is not one of",
                          "blue, green, red")


# ---- a command line that behaves -----------------------------------------------------------


def test_bad_option_values_are_usage_errors():
    result = fastnn("train", "mnist", "--epochs", "-1")
    assert result.returncode == 2 and "--epochs: must be at least 1" in result.stderr
    result = fastnn("train", "x.csv", "--test-split", "1.5")
    assert result.returncode == 2 and "must be in [0, 1)" in result.stderr


def test_debug_shows_the_traceback(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,t\nx,1\n")
    result = fastnn("train", path, "--target", "t", "--debug")
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "DataFileError" in result.stderr
    assert "Traceback" in fastnn("--debug", "train", path, "--target", "t").stderr


def test_help_shows_defaults_in_plain_text():
    top = ok("--help")
    assert "``" not in top and "train" in top and "predict" in top
    train = ok("train", "--help")
    assert "(default: 10)" in train and "(default: 128)" in train
    assert "(default: [128, 64])" in train and "(default: None)" not in train
    assert "``" not in train and "--no-standardize" in train


def test_mnist_missing_offline_is_one_line_naming_data_and_fastnn_data(monkeypatch,
                                                                          tmp_path, capsys):
    def offline(url):
        raise OSError("network is unreachable")
    monkeypatch.setattr(mnist_module, "_fetch", offline)
    assert main(["train", "mnist", "--data", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert err.startswith(f"fastnn: error: MNIST files missing from {tmp_path / 'none'}")
    assert "offline" in err and "--data" in err and "FASTNN_DATA" in err


def fake_mnist(folder, n_train=300, n_test=60, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n, dtype=np.uint8) % 10
        images = rng.integers(0, 30, (n, 28, 28)).astype(np.uint8)
        images[np.arange(n), 2 * labels + 3, 2 * labels + 3] = 255
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels)


def test_data_accepts_a_parent_holding_mnist_as_fastnn_data_does(tmp_path):
    fake_mnist(tmp_path / "data" / "mnist")
    args = ["train", "mnist", "--epochs", "1", "--verbose", "0", *FAST]
    by_option = ok(*args, "--data", tmp_path / "data")
    by_env = ok(*args, env={"FASTNN_DATA": str(tmp_path / "data")})
    assert by_option.startswith("test loss ")
    assert by_option.split("(")[0] == by_env.split("(")[0]


def test_plot_labels_the_test_set(tmp_path):
    pytest.importorskip("matplotlib")
    fake_mnist(tmp_path / "mnist")
    plots = tmp_path / "plots"
    out = ok("train", "mnist", "--data", tmp_path, "--epochs", "2", "--plot", plots, *FAST)
    assert "plots written to" in out
    for name in ("history.png", "predictions.png", "confusion.png"):
        assert (plots / name).stat().st_size > 1000


def test_cold_start_says_kernels_are_compiling_once(colours, tmp_path, jit):
    path, _ = colours
    cache = {"NUMBA_CACHE_DIR": str(tmp_path / "numba-cache"), "FASTNN_BACKEND": "numba"}
    args = ["train", path, "--target", "colour", "--epochs", "1", "--hidden", "8"]
    first = ok(*args, env=cache)
    assert "compiling kernels (first run only, about" in first
    assert "compiling" not in ok(*args, env=cache)
    assert "compiling" not in ok(*args, "--verbose", "0", env={
        **cache, "NUMBA_CACHE_DIR": str(tmp_path / "other-cache")}).split("test loss")[0]


def test_export_writes_onnx(colours, tmp_path):
    pytest.importorskip("fastnn.export")
    path, _ = colours
    model_path = tmp_path / "model.npz"
    ok("train", path, "--target", "colour", "--epochs", "1", "--save", model_path, *FAST)
    assert ok("export", model_path, tmp_path / "model.onnx") == \
        f"wrote {tmp_path / 'model.onnx'}\n"
    assert (tmp_path / "model.onnx").stat().st_size > 100


# ---- MNIST as before -----------------------------------------------------------------------


def test_train_mnist_prints_epochs_and_saves(mnist, tmp_path, capsys):
    path = tmp_path / "mnist.npz"
    data = os.environ.get("FASTNN_DATA")
    plots = tmp_path / "plots"
    argv = ["train", "mnist", "--epochs", "2", "--samples", "3000", "--hidden", "32",
            "--batch-size", "64", "--save", str(path)] + (["--data", data] if data else [])
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
    assert model.data_spec.classes.tolist() == [str(d) for d in range(10)]


def test_python_dash_m_fastnn_shows_help():
    result = subprocess.run([sys.executable, "-m", "fastnn", "train", "--help"], cwd=ROOT,
                            capture_output=True, text=True, check=True)
    assert "--batch-size" in result.stdout and "--save" in result.stdout


def test_import_compiles_nothing():
    code = "import sys, fastnn; print('numba' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "False"


def test_gzip_is_not_needed_by_name(tmp_path):
    """write_idx compresses by suffix; read_idx recognises gzip by content."""
    write_idx(tmp_path / "a.gz", np.arange(6, dtype=np.uint8).reshape(2, 3))
    assert gzip.decompress((tmp_path / "a.gz").read_bytes())[:4] == b"\0\0\x08\x02"
    (tmp_path / "b").write_bytes((tmp_path / "a.gz").read_bytes())
    np.testing.assert_array_equal(fnn.datasets.read_idx(tmp_path / "b"),
                                  [[0, 1, 2], [3, 4, 5]])
