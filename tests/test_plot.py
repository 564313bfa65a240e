"""fastnn.plot: each picture is a readable PNG; confusion counts; matplotlib is optional."""
import importlib
import sys

import numpy as np
import pytest

import fastnn as fnn
from fastnn import plot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def mpl():
    return pytest.importorskip("matplotlib")


def assert_png(path, fig):
    """`path` is a non-empty PNG of `fig`'s size, read back as an RGBA image."""
    import matplotlib.image
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 1000
    image = matplotlib.image.imread(path)
    width, height = fig.get_size_inches() * fig.dpi
    assert image.shape == (round(height), round(width), 4)
    assert image[..., :3].std() > 0.05  # not a blank canvas


def separable(n=60, seed=0):
    """Two blobs far apart: label 0 around (-2, -2), label 1 around (2, 2)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = rng.normal(0, 0.5, (n, 2)) + np.where(y[:, None] == 1, 2.0, -2.0)
    return X.astype(np.float32), y


def trained(output):
    last = (fnn.Dense(8, 2, activation="softmax") if output == "softmax"
            else fnn.Dense(8, 1, activation="sigmoid"))
    model = fnn.Sequential([fnn.Dense(2, 8, activation="tanh"), last],
                           loss="cce" if output == "softmax" else "bce",
                           optimizer=fnn.Adam(lr=0.05), seed=0, backend="numpy")
    X, y = separable()
    model.fit(X, y, epochs=5, batch_size=16, verbose=0)
    return model, X, y


# ---- history --------------------------------------------------------------------------


def test_history_with_validation_and_lr(mpl, tmp_path):
    logs = {"loss": [1.0, 0.6, 0.4], "accuracy": [0.5, 0.8, 0.9],
            "val_loss": [1.1, 0.7, 0.5], "val_accuracy": [0.4, 0.7, 0.85],
            "seconds": [0.1, 0.1, 0.1], "lr": [1e-3, 5e-4, 2.5e-4]}
    fig = plot.history(logs, tmp_path / "history.png")
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy", "learning rate"]
    loss_ax = fig.axes[0]
    assert [line.get_label() for line in loss_ax.get_lines()] == ["train", "validation"]
    np.testing.assert_array_equal(loss_ax.get_lines()[0].get_xdata(), [1, 2, 3])
    assert_png(tmp_path / "history.png", fig)
    test = plot.history(logs, held_out="test")
    assert [line.get_label() for line in test.axes[0].get_lines()] == ["train", "test"]


def test_history_of_fit_without_validation(mpl, tmp_path):
    model, X, y = trained("softmax")
    result = model.fit(X, y, epochs=3, verbose=0)
    fig = plot.history(result, tmp_path / "fit.png")
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["train"]
    assert_png(tmp_path / "fit.png", fig)


def test_history_without_accuracy_and_without_path(mpl):
    fig = plot.history({"loss": [3.0, 2.0], "val_loss": [3.5, 2.5], "seconds": [1, 1]})
    assert [ax.get_title() for ax in fig.axes] == ["loss"]
    with pytest.raises(ValueError, match="none of loss"):
        plot.history({"seconds": [1.0]})


# ---- decision boundary ----------------------------------------------------------------


@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
def test_decision_boundary(mpl, tmp_path, output):
    model, X, y = trained(output)
    assert (model.predict(X) == y).mean() == 1.0  # the blobs are trivially separable
    fig = plot.decision_boundary(model, X, y, tmp_path / f"boundary_{output}.png",
                                 resolution=60)
    ax = fig.axes[0]
    regions = ax.get_images()[0].get_array()
    assert regions.shape == (60, 60, 3)
    assert not np.allclose(regions[0, 0], regions[-1, -1])  # both classes get a region
    assert len(ax.collections) >= 3  # boundary contour + one scatter per class
    assert_png(tmp_path / f"boundary_{output}.png", fig)


def test_decision_boundary_refuses_other_shapes(mpl):
    model, X, y = trained("softmax")
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        plot.decision_boundary(model, np.zeros((4, 3)), y[:4])
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        plot.decision_boundary(model, X[:, 0], y)


# ---- MNIST predictions ----------------------------------------------------------------


def test_mnist_predictions_marks_mistakes(mpl, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.random((30, 784), dtype=np.float32)
    model = fnn.Sequential([fnn.Dense(784, 10, activation="softmax")], loss="cce", seed=0,
                           backend="numpy")
    y = model.predict(X)
    y[::3] = (y[::3] + 1) % 10  # every third label disagrees with the model
    fig = plot.mnist_predictions(model, X, y, tmp_path / "mnist.png", n=12)

    axes = fig.axes
    assert len(axes) == 12  # 4 columns x 3 rows
    pred = model.predict(X)
    shown = [*range(0, 30, 3), 1, 2]  # the 10 mistakes first, then right ones
    for ax, i in zip(axes, shown):
        wrong = i % 3 == 0
        assert ax.get_title() == f"pred {pred[i]} / true {y[i]}"
        assert mpl.colors.same_color(ax.title.get_color(), "red" if wrong else "black")
        assert ax.spines["top"].get_visible() == wrong
        assert ax.get_images()[0].get_array().shape == (28, 28)
    assert fig.get_suptitle() == "10 of 30 wrong, mistakes first"
    assert_png(tmp_path / "mnist.png", fig)


def test_mnist_predictions_refuses_other_shapes(mpl):
    model = fnn.Sequential([fnn.Dense(784, 10, activation="softmax")], backend="numpy")
    with pytest.raises(ValueError, match="784"):
        plot.mnist_predictions(model, np.zeros((5, 100)), np.zeros(5, int))


# ---- confusion matrix -----------------------------------------------------------------


def test_confusion_counts_by_hand():
    y_true = [0, 0, 1, 1, 1, 2, 2, 0]
    y_pred = [0, 1, 1, 1, 0, 2, 1, 0]
    expected = np.array([[2, 1, 0],
                         [1, 2, 0],
                         [0, 1, 1]])
    counts = plot.confusion_counts(y_true, y_pred)
    assert counts.dtype == np.int64
    np.testing.assert_array_equal(counts, expected)
    wide = plot.confusion_counts(y_true, y_pred, n_classes=5)
    assert wide.shape == (5, 5) and wide.sum() == 8
    np.testing.assert_array_equal(wide[:3, :3], expected)


def test_confusion_counts_takes_one_hot_and_float_labels():
    y_true = np.eye(3)[[0, 2, 2]]
    np.testing.assert_array_equal(plot.confusion_counts(y_true, [0.0, 2.0, 1.0]),
                                  [[1, 0, 0], [0, 0, 0], [0, 1, 1]])


def test_confusion_counts_errors():
    with pytest.raises(ValueError, match="n_classes is 2"):
        plot.confusion_counts([0, 1, 2], [0, 1, 1], n_classes=2)
    with pytest.raises(ValueError, match="3 samples"):
        plot.confusion_counts([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="≥ 0"):
        plot.confusion_counts([0, -1], [0, 1])
    with pytest.raises(ValueError, match="integer"):
        plot.confusion_counts([0, 0.5], [0, 1])


def test_confusion_matrix(mpl, tmp_path):
    y_true = [0, 0, 1, 1, 1, 2, 2, 0]
    y_pred = [0, 1, 1, 1, 0, 2, 1, 0]
    fig = plot.confusion_matrix(y_true, y_pred, tmp_path / "confusion.png")
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted", "true")
    np.testing.assert_array_equal(ax.get_images()[0].get_array(),
                                  plot.confusion_counts(y_true, y_pred))
    assert [t.get_text() for t in ax.texts] == ["2", "1", "0", "1", "2", "0", "0", "1", "1"]
    assert_png(tmp_path / "confusion.png", fig)


# ---- matplotlib is optional -----------------------------------------------------------


def test_without_matplotlib(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.delitem(sys.modules, "fastnn.plot")
    fresh = importlib.import_module("fastnn.plot")  # importing needs no matplotlib
    model = fnn.Sequential([fnn.Dense(2, 2, activation="softmax")], backend="numpy")
    X, y = np.zeros((4, 2)), np.zeros(4, int)
    calls = [lambda: fresh.history({"loss": [1.0]}),
             lambda: fresh.decision_boundary(model, X, y),
             lambda: fresh.mnist_predictions(model, np.zeros((4, 784)), y),
             lambda: fresh.confusion_matrix(y, y)]
    for call in calls:
        with pytest.raises(ImportError) as err:
            call()
        assert str(err.value) == ('matplotlib is needed for fastnn.plot: '
                                  'pip install -e ".[plot]" (or pip install matplotlib)')
    np.testing.assert_array_equal(fresh.confusion_counts(y, y), [[4]])
    assert not list(tmp_path.iterdir())
