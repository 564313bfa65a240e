"""The model API: gradients against central differences, backends agreeing, and errors."""
import tracemalloc

import numpy as np
import pytest

import fastnn as fnn
from fastnn.epoch import DriverSteps
from tests.conftest import numeric_gradients

HIDDEN = ["linear", "relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu"]
OUTPUT = {"cce": "softmax", "bce": "sigmoid", "mse": "linear"}


def toy_problem(loss, n=16, n_in=5, n_out=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_in))
    if loss == "cce":
        y = rng.integers(0, n_out, n)
    elif loss == "bce":
        y = rng.integers(0, 2, (n, n_out))
    else:
        y = rng.standard_normal((n, n_out))
    return X, y


def small_model(loss, hidden="tanh", backend="numpy", dtype="float64", optimizer=None,
                n_in=5, n_out=3, seed=0, l1=0.0, l2=0.0):
    layers = [fnn.Dense(n_in, 6, activation=hidden, l1=l1, l2=l2),
              fnn.Dense(6, 4, activation=hidden, l1=l1, l2=l2),
              fnn.Dense(4, n_out, activation=OUTPUT[loss], l1=l1, l2=l2)]
    return fnn.Sequential(layers, loss=loss, optimizer=optimizer, seed=seed, backend=backend,
                          dtype=dtype)


@pytest.mark.parametrize("l1, l2", [(0.0, 0.0), (1e-2, 3e-2)], ids=["plain", "l1-l2"])
@pytest.mark.parametrize("loss", list(OUTPUT))
@pytest.mark.parametrize("hidden", HIDDEN)
def test_gradients_match_central_differences(hidden, loss, l1, l2, backend):
    X, y = toy_problem(loss)
    model = small_model(loss, hidden, backend, l1=l1, l2=l2)
    rng = np.random.default_rng(1)  # nonzero biases keep every ReLU away from its kink
    model.set_weights([rng.normal(0.1, 0.5, w.shape) for w in model.get_weights()])
    _, grads = model.compute_gradients(X, y)
    numeric = numeric_gradients(model, lambda m: m.evaluate(X, y)["loss"])
    for k, (analytic, expected) in enumerate(zip(grads, numeric)):
        np.testing.assert_allclose(analytic, expected, rtol=1e-5, atol=1e-8,
                                   err_msg=f"parameter {k}")


@pytest.mark.parametrize("optimizer", [lambda: fnn.SGD(lr=0.1, momentum=0.9),
                                       lambda: fnn.Adam(lr=1e-2)], ids=["sgd", "adam"])
@pytest.mark.parametrize("loss", list(OUTPUT))
def test_backends_train_to_the_same_weights(loss, optimizer, dtype):
    X, y = toy_problem(loss, n=50)
    models = [small_model(loss, "relu", b, dtype.__name__, optimizer()) for b in ("numpy", "numba")]
    histories = [m.fit(X, y, epochs=3, batch_size=8, verbose=0) for m in models]
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
    for a, b in zip(*(m.get_weights() for m in models)):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_allclose(b, a, **tol)
    np.testing.assert_allclose(histories[1].history["loss"], histories[0].history["loss"], **tol)


def test_training_reduces_the_loss(backend):
    X, _ = toy_problem("cce", n=200)
    y = (X[:, :3] @ np.array([[1.0, -1, 0], [0, 1, -1], [-1, 0, 1]])).argmax(axis=1)
    model = small_model("cce", "relu", backend, "float32", fnn.Adam(lr=1e-2))
    history = model.fit(X, y, epochs=30, batch_size=32, validation_data=(X, y), verbose=0)
    loss = history.history["loss"]
    assert loss[-1] < 0.5 * loss[0]
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr",
                                    "seconds"}
    assert len(history.epoch) == 30
    assert history.history["val_accuracy"][-1] == model.evaluate(X, y)["accuracy"]


def test_predictions_have_the_documented_shapes_and_dtype():
    X, y = toy_problem("cce")
    model = small_model("cce", backend="numba", dtype="float32")
    proba = model.predict_proba(X)
    assert proba.shape == (16, 3) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(model.predict(X), proba.argmax(axis=1))
    assert set(model.evaluate(X, y)) == {"loss", "accuracy"}

    bce = small_model("bce", n_out=1)
    assert bce.predict(X).shape == (16,)
    assert set(bce.predict(X)) <= {0, 1}
    mse = small_model("mse", n_out=2)
    assert mse.predict(X).shape == (16, 2)
    assert set(mse.evaluate(X, np.zeros((16, 2)))) == {"loss"}


def test_float64_on_request_and_float32_by_default():
    assert all(w.dtype == np.float32 for w in small_model("cce", dtype="float32").get_weights())
    assert all(w.dtype == np.float64 for w in small_model("cce").get_weights())


def test_one_hot_labels_train_like_integer_labels():
    X, y = toy_problem("cce", n=40)
    models = [small_model("cce", "relu") for _ in range(2)]
    models[0].fit(X, y, epochs=2, batch_size=8, verbose=0)
    models[1].fit(X, np.eye(3)[y], epochs=2, batch_size=8, verbose=0)
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_array_equal(a, b)


def test_default_init_follows_the_activation():
    assert fnn.Dense(4, 4, activation="relu").init == "he"
    assert all(fnn.Dense(4, 4, activation=a).init == "xavier"
               for a in ("sigmoid", "tanh", "linear", "softmax"))
    W = fnn.Sequential([fnn.Dense(1000, 200, "relu"), fnn.Dense(200, 10, "softmax")],
                       seed=3).get_weights()
    assert np.std(W[0]) == pytest.approx(np.sqrt(2 / 1000), rel=0.05)
    assert np.abs(W[2]).max() <= np.sqrt(6 / 210)
    assert not W[1].any()


def test_same_seed_same_weights_and_history():
    X, y = toy_problem("cce", n=64)
    runs = [small_model("cce", "relu", "numba", "float32", seed=7) for _ in range(2)]
    hist = [m.fit(X, y, epochs=2, batch_size=16, verbose=0).history["loss"] for m in runs]
    assert hist[0] == hist[1]
    for a, b in zip(runs[0].get_weights(), runs[1].get_weights()):
        np.testing.assert_array_equal(a, b)


def test_set_weights_round_trip_and_shape_errors():
    model = small_model("cce")
    weights = [w + 1 for w in model.get_weights()]
    model.set_weights(weights)
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="shape"):
        model.set_weights([np.zeros((2, 2))] + weights[1:])
    with pytest.raises(ValueError, match="expected 6 arrays"):
        model.set_weights(weights[:2])


def test_backend_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("FASTNN_BACKEND", "numpy")
    assert small_model("cce", backend=None).backend == "numpy"
    assert small_model("cce", backend="numba").backend == "numba"
    monkeypatch.delenv("FASTNN_BACKEND")
    assert small_model("cce", backend=None).backend == "numba"


def test_no_batch_sized_allocation_in_the_training_step():
    X, y = toy_problem("cce", n=2048, n_in=64, n_out=10)
    model = fnn.Sequential([fnn.Dense(64, 256, "relu"), fnn.Dense(256, 10, "softmax")],
                           backend="numba")
    model.fit(X, y, epochs=1, batch_size=2048, verbose=0)  # compiles; sizes the workspace
    x, t = model.x_buffer, y.copy()
    model.train_step(x, t)  # the step-by-step path's kernels, compiled or loaded
    steps = DriverSteps(model, *model.prepare(X, y), rows=512)
    order = np.arange(len(X))
    steps.run(order, 0, 4)
    smallest_buffer = model.layers[-1].out.nbytes  # (2048, 10) float32: 80 KiB
    for train in (lambda: model.train_step(x, t), lambda: steps.run(order, 0, 4)):
        tracemalloc.start()
        before, _ = tracemalloc.get_traced_memory()
        for _ in range(5):
            train()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        # The GEMM's weight-sized scratch (kernels/gemm.py) is all there is: 2 × 10 KiB.
        assert peak - before < smallest_buffer / 2


BAD_INPUTS = [
    pytest.param(lambda X, y: (X[:, :4], y), ValueError, "4 features", id="feature-count"),
    pytest.param(lambda X, y: (X[:, :, None], y), ValueError, "2-D", id="3-d-input"),
    pytest.param(lambda X, y: (X[:0], y[:0]), ValueError, "empty", id="empty"),
    pytest.param(lambda X, y: (np.where(np.arange(5) == 2, np.nan, X), y), ValueError,
                 "nan at row 0, column 2", id="nan"),
    pytest.param(lambda X, y: (X, y[:-1]), ValueError, "16 samples but y has 15",
                 id="length-mismatch"),
    pytest.param(lambda X, y: (X, np.where(np.arange(16) == 3, 3, y)), ValueError,
                 r"label 3 out of range.*\[0, 2\]", id="label-too-big"),
    pytest.param(lambda X, y: (X, y - 1), ValueError, "out of range", id="negative-label"),
    pytest.param(lambda X, y: (X, y + 0.5), ValueError, "integers", id="fractional-label"),
    pytest.param(lambda X, y: (X.astype(str), y), TypeError, "real numbers", id="strings"),
]


@pytest.mark.parametrize("mutate, error, message", BAD_INPUTS)
def test_bad_inputs_get_clear_errors(mutate, error, message):
    X, y = toy_problem("cce")
    Xb, yb = mutate(X, y)
    model = small_model("cce", backend="numba")
    with pytest.raises(error, match=message):
        model.fit(Xb, yb, verbose=0)


@pytest.mark.parametrize("build, message", [
    (lambda: fnn.Sequential([fnn.Dense(3, 2, "relu")], loss="cce").build(), "'softmax'"),
    (lambda: fnn.Sequential([fnn.Dense(3, 2, "softmax")], loss="mse").build(), "'linear'"),
    (lambda: fnn.Sequential([fnn.Dense(3, 4), fnn.Dense(5, 2, "softmax")]).build(), "chain"),
    (lambda: fnn.Sequential([fnn.Dense(3, 4, "softmax"), fnn.Dense(4, 2, "softmax")]).build(),
     "output layer"),
    (lambda: fnn.Sequential([fnn.Dense(3, 2, "softmax")], loss="hinge"), "unknown loss"),
    (lambda: fnn.Dense(3, 2, activation="swish"), "unknown activation"),
    (lambda: fnn.Dense(3, 0), "positive integer"),
    (lambda: fnn.Dense(3, 2, init="orthogonal"), "unknown init"),
    (lambda: fnn.Sequential([fnn.Dense(3, 2, "softmax")], backend="cuda"), "unknown backend"),
    (lambda: fnn.Adam(lr=-1), "Invalid learning rate"),
    (lambda: fnn.SGD(lr=0.1, momentum=1.5), "Invalid momentum"),
])
def test_bad_configurations_get_clear_errors(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_diverging_training_stops_with_a_clear_error():
    X, y = toy_problem("mse", n=64)
    model = small_model("mse", "linear", "numba", "float32", fnn.SGD(lr=1e3))
    with pytest.raises(FloatingPointError, match="epoch 1, batch .*learning rate"):
        model.fit(X * 1e3, y, epochs=5, batch_size=8, verbose=0)


def test_save_and_load_round_trip(tmp_path):
    X, y = toy_problem("cce", n=64)
    model = small_model("cce", "relu", "numba", "float32")
    model.fit(X, y, epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = fnn.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.optimizer.m, model.optimizer.m)
    assert loaded.optimizer.step_count == model.optimizer.step_count == 8
    assert not list(tmp_path.glob(".fastnn-*"))  # no temporary file left behind


def test_mnist_subset_reaches_94_percent(mnist):
    (X, y), (X_test, y_test) = mnist
    model = fnn.Sequential([fnn.Dense(784, 64, "relu"), fnn.Dense(64, 10, "softmax")],
                           loss="cce", optimizer=fnn.Adam(lr=1e-3), seed=0)
    model.fit(X[:20_000], y[:20_000], epochs=4, batch_size=64, verbose=0)
    assert model.evaluate(X_test, y_test)["accuracy"] >= 0.94


def test_gradients_with_dropout_are_those_of_the_model_without_it(backend):
    X, y = toy_problem("cce")
    with_dropout = fnn.Sequential([fnn.Dense(5, 6, "tanh"), fnn.Dropout(0.5),
                                   fnn.Dense(6, 3, "softmax")], backend=backend,
                                  dtype="float64")
    with_dropout.fit(X, y, epochs=1, batch_size=4, verbose=0)  # leaves masks behind
    plain = fnn.Sequential([fnn.Dense(5, 6, "tanh"), fnn.Dense(6, 3, "softmax")],
                           backend=backend, dtype="float64")
    plain.set_weights(with_dropout.get_weights())
    loss, grads = with_dropout.compute_gradients(X, y)
    expected_loss, expected = plain.compute_gradients(X, y)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-15)
