"""fastnn.plot.mistakes: the wrong predictions, most confident first, and only those."""
import numpy as np
import pytest

import fastnn as fnn
from fastnn import plot
from tests.test_plot import assert_png


@pytest.fixture
def mpl():
    return pytest.importorskip("matplotlib")


def linear_classifier(n_inputs, n_classes=10, seed=0):
    return fnn.Sequential([fnn.Dense(n_inputs, n_classes, activation="softmax")], loss="cce",
                          seed=seed, backend="numpy")


def test_shows_only_mistakes_most_confident_first(mpl, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.random((40, 784), dtype=np.float32)
    model = linear_classifier(784)
    y = model.predict(X)
    wrong = np.arange(0, 40, 4)  # 10 mistakes
    y[wrong] = (y[wrong] + 1) % 10
    fig = plot.mistakes(model, X, y, tmp_path / "mistakes.png", n=6)

    proba = model.predict_proba(X)
    confidence = proba.max(axis=1)
    expected = wrong[np.argsort(-confidence[wrong], kind="stable")][:6]
    axes = fig.axes
    assert len(axes) == 6  # 3 columns x 2 rows
    pred = proba.argmax(axis=1)
    for ax, i in zip(axes, expected):
        assert ax.get_title() == f"pred {pred[i]} ({confidence[i]:.0%})\ntrue {y[i]}"
        np.testing.assert_array_equal(ax.get_images()[0].get_array(), X[i].reshape(28, 28))
    shown = [ax.get_images()[0].get_array() for ax in axes]
    assert all(not any(np.array_equal(s, X[i].reshape(28, 28)) for s in shown)
               for i in range(40) if i not in wrong)
    assert fig.get_suptitle() == "10 of 40 wrong (25.0%)\nthe 6 most confident mistakes"
    assert_png(tmp_path / "mistakes.png", fig)


def test_fewer_mistakes_than_n_leave_no_empty_cells_beyond_the_grid(mpl):
    X = np.random.default_rng(1).random((12, 784))
    model = linear_classifier(784)
    y = model.predict(X)
    y[[2, 5, 7, 9, 11]] = (y[[2, 5, 7, 9, 11]] + 3) % 10
    fig = plot.mistakes(model, X, y, n=25)
    assert len(fig.axes) == 6  # 5 mistakes in 3 columns x 2 rows; the last cell blank
    assert [ax.axison for ax in fig.axes] == [True] * 5 + [False]
    assert fig.get_suptitle().startswith("5 of 12 wrong")


def test_no_mistakes_says_so(mpl, tmp_path):
    X = np.random.default_rng(2).random((8, 784))
    model = linear_classifier(784)
    fig = plot.mistakes(model, X, model.predict(X), tmp_path / "none.png")
    assert not fig.axes
    assert [t.get_text() for t in fig.texts] == ["0 of 8 wrong (0.0%)"]
    assert (tmp_path / "none.png").stat().st_size > 0


def test_other_image_shapes_and_a_sigmoid_classifier(mpl):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(20, 8, 8))  # standardized pixels: the grey scale follows the data
    model = fnn.Sequential([fnn.Dense(64, 1, activation="sigmoid")], loss="bce",
                           backend="numpy")
    pred = model.predict(X.reshape(20, 64))
    y = 1 - pred  # every one wrong
    fig = plot.mistakes(model, X, y, n=4, image_shape=(8, 8))
    assert len(fig.axes) == 4
    image = fig.axes[0].get_images()[0]
    assert image.get_array().shape == (8, 8)
    assert image.get_clim() == (X.min(), X.max())


def test_refuses_what_it_cannot_draw(mpl):
    model = linear_classifier(784)
    with pytest.raises(ValueError, match=r"28x28 images as \(n, 784\)"):
        plot.mistakes(model, np.zeros((5, 100)), np.zeros(5, int))
    with pytest.raises(ValueError, match="X has 5 samples but y has 4"):
        plot.mistakes(model, np.zeros((5, 784)), np.zeros(4, int))
    regressor = fnn.Sequential([fnn.Dense(784, 1)], loss="mse", backend="numpy")
    with pytest.raises(ValueError, match="classifier, got loss 'mse'"):
        plot.mistakes(regressor, np.zeros((5, 784)), np.zeros(5, int))
    with pytest.raises(ValueError, match="Invalid n: 0"):
        plot.mistakes(model, np.zeros((5, 784)), np.zeros(5, int), n=0)
