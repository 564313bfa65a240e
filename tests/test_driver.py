"""The driver kernel (kernels.driver.train_steps) against the step-by-step path it replaces.

Both paths call the same kernels in the same order, so after the same steps they must hold
the same weights, optimizer state and history, within float32 rounding: for every activation, loss, optimizer,
penalty and dropout, on both backends, across chunk boundaries and a short last batch.
"""
import numpy as np
import pytest

import fastnn as fnn
from fastnn import epoch
from tests.conftest import TOLERANCE

HIDDEN = ["linear", "relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu"]
OPTIMIZERS = {
    "sgd": lambda: fnn.SGD(lr=0.05),
    "momentum": lambda: fnn.SGD(lr=0.05, momentum=0.9),
    "nesterov": lambda: fnn.SGD(lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda: fnn.Adam(lr=0.01),
    "adamw": lambda: fnn.AdamW(lr=0.01, weight_decay=0.1),
    "rmsprop": lambda: fnn.RMSprop(lr=0.01),
    "adam-clipped": lambda: fnn.Adam(lr=0.01, clip_norm=0.1),
}
OUTPUTS = {"cce": ("softmax", 3), "bce": ("sigmoid", 2), "mse": ("linear", 2)}


def problem(loss, n=150, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5))
    if loss == "cce":
        return X, rng.integers(0, 3, n)
    if loss == "bce":
        return X, (rng.random((n, 2)) < 0.5).astype(int)
    return X, rng.standard_normal((n, 2))


def train_both(loss="cce", hidden="relu", optimizer="adam", dropout=0.0, backend="numba",
               dtype="float32", epochs=2, batch_size=16, **dense):
    """Train the same model through the driver and step by step; return both models and
    histories."""
    X, y = problem(loss)
    output, n_out = OUTPUTS[loss]
    results = []
    for driver in (True, False):
        model = fnn.mlp([5, 8, 6, n_out], activation=hidden, output=output, loss=loss,
                        optimizer=OPTIMIZERS[optimizer](), seed=3, dropout=dropout,
                        backend=backend, dtype=dtype, driver=driver, **dense)
        history = model.fit(X, y, epochs=epochs, batch_size=batch_size, verbose=0)
        results.append((model, history))
    return results


def assert_same_training(results, dtype=np.float32):
    (fast, fast_history), (steps, steps_history) = results
    assert fast.training_path().startswith("driver kernel")
    assert steps.training_path().startswith("step by step")
    np.testing.assert_allclose(fast.params, steps.params, **TOLERANCE[dtype])
    np.testing.assert_allclose(fast.optimizer.state, steps.optimizer.state, **TOLERANCE[dtype])
    assert fast.optimizer.step_count == steps.optimizer.step_count
    for key, values in steps_history.history.items():
        if key != "seconds":
            np.testing.assert_allclose(fast_history.history[key], values, rtol=1e-5)


@pytest.mark.parametrize("hidden", HIDDEN)
def test_every_activation(hidden, backend):
    assert_same_training(train_both(hidden=hidden, backend=backend))


@pytest.mark.parametrize("loss", sorted(OUTPUTS))
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_every_loss_and_optimizer(loss, optimizer, backend):
    assert_same_training(train_both(loss=loss, optimizer=optimizer, backend=backend))


def test_dropout_penalties_and_float64(backend, dtype):
    results = train_both(dropout=0.3, l1=1e-3, l2=1e-2, backend=backend, dtype=dtype,
                         hidden="gelu")
    assert_same_training(results, dtype)


def test_many_chunks_and_a_short_last_batch(monkeypatch, backend):
    monkeypatch.setattr(epoch, "SAMPLES_PER_CHUNK", 40)  # 2 steps of 16 per chunk
    results = train_both(dropout=0.5, backend=backend, batch_size=16, epochs=3)
    assert 150 % 16 != 0
    assert_same_training(results)
    monkeypatch.undo()
    (one_chunk, _), _ = train_both(dropout=0.5, backend=backend, batch_size=16, epochs=3)
    np.testing.assert_array_equal(results[0][0].params, one_chunk.params)


def test_a_model_the_driver_does_not_know_runs_step_by_step():
    class Doubling(fnn.Dense):
        """A user's layer: the driver cannot know what its kernels are."""

    model = fnn.Sequential([Doubling(5, 4, "relu"), fnn.Dense(4, 3, "softmax")])
    assert "step by step" in model.training_path() and "Doubling" in model.training_path()
    X, y = problem("cce")
    history = model.fit(X, y, epochs=2, verbose=0)
    assert history.history["loss"][1] < history.history["loss"][0]

    class MySGD(fnn.SGD):
        pass

    model = fnn.mlp([5, 3], output="softmax", optimizer=MySGD(lr=0.1))
    assert "MySGD" in model.training_path()


def test_summary_says_which_path_runs(capsys):
    fnn.mlp([5, 4, 3]).summary()
    assert "training path: driver kernel" in capsys.readouterr().out
    fnn.mlp([5, 4, 3], driver=False).summary()
    assert "training path: step by step" in capsys.readouterr().out


@pytest.mark.parametrize("driver", [True, False])
def test_a_diverging_loss_stops_at_the_same_batch_on_both_paths(driver, backend):
    X, y = problem("mse")
    model = fnn.mlp([5, 8, 2], activation="relu", output="linear", loss="mse",
                    optimizer=fnn.SGD(lr=50.0), seed=0, backend=backend, driver=driver)
    with pytest.raises(FloatingPointError, match=r"loss became .* at epoch \d+, batch \d+"):
        model.fit(X * 100, y, epochs=5, batch_size=10, verbose=0)
    assert np.isfinite(model.params).all()


def test_the_last_finite_weights_survive_an_update_that_overflows(backend):
    """An update that makes a weight infinite with a finite loss is found by replaying the
    chunk one step at a time; the weights are then those before that update."""
    X, y = problem("cce", n=32)
    model = fnn.mlp([5, 8, 3], seed=0, optimizer=fnn.SGD(lr=1e38), backend=backend)
    before = model.get_weights()
    with pytest.raises(FloatingPointError, match="parameters became NaN or inf at epoch 1, "
                                                 "batch 1"):
        model.fit(X * 1e3, y, epochs=1, batch_size=32, verbose=0)  # the loss stays finite
    for w, w0 in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, w0)
    assert model.optimizer.step_count == 0


def test_the_threads_setting_is_honoured_and_changes_no_bit(monkeypatch):
    import numba

    from fastnn.kernels import numba_cpu
    real, seen, results = numba_cpu.training_loop, [], []

    def spy(*kernels):
        def train_steps(*args):
            seen.append(numba.get_num_threads())
            return real(*kernels)(*args)
        return train_steps

    monkeypatch.setattr(numba_cpu, "training_loop", spy)
    X, y = problem("cce", n=600)
    for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
        model = fnn.mlp([5, 256, 3], seed=0, threads=threads)
        history = model.fit(X, y, epochs=2, batch_size=64, verbose=0)
        results.append((model.params.copy(), history.history["loss"]))
        assert seen[-1] == threads
    assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS  # restored after fit
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][1] == results[1][1]


def test_more_threads_than_numba_started_is_refused():
    import numba
    with pytest.raises(ValueError, match="threads"):
        fnn.mlp([5, 3], threads=numba.config.NUMBA_NUM_THREADS + 1)


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("loss", sorted(OUTPUTS))
def test_predict_in_one_kernel_call_equals_the_layer_by_layer_forward(hidden, loss, backend,
                                                                      monkeypatch):
    monkeypatch.setattr("fastnn.model.CHUNK", 64)  # several chunks of rows in one call
    X, _ = problem(loss)
    output, n_out = OUTPUTS[loss]
    results = []
    for driver in (True, False):
        model = fnn.mlp([5, 8, 6, n_out], activation=hidden, output=output, loss=loss,
                        seed=4, dropout=0.5, backend=backend, driver=driver)
        results.append(model.predict_proba(X))
    np.testing.assert_allclose(results[0], results[1], **TOLERANCE[np.float32])
    if output != "linear":
        assert np.all((results[0] >= 0) & (results[0] <= 1))


@pytest.mark.parametrize("feature", ["dropout", "penalties", "clip"])
def test_the_driver_refuses_flags_that_leave_out_what_the_model_uses(feature, backend,
                                                                     monkeypatch):
    """train_steps compiles dropout, penalty and clipping kernels only when its flags say
    the model has them: flags that disagree with the tables are an error, not a model
    trained without its dropout."""
    options = {"dropout": dict(dropout=0.5), "penalties": dict(l2=0.01)}.get(feature, {})
    optimizer = fnn.Adam(lr=0.01, clip_norm=1.0) if feature == "clip" else fnn.Adam(lr=0.01)
    model = fnn.mlp([5, 8, 3], optimizer=optimizer, backend=backend, **options)
    flags = dict(zip(("dropout", "penalties", "clip"), epoch.uses(model)))
    assert flags[feature]
    flags[feature] = False
    monkeypatch.setattr(epoch, "uses", lambda model: tuple(flags.values()))
    with pytest.raises(ValueError, match="train_steps: "):
        model.fit(*problem("cce", n=32), epochs=1, batch_size=16, verbose=0)


def test_an_optimizer_is_declared_by_its_class_alone(backend, monkeypatch):
    """The driver, the step-by-step path and the cold start read an optimizer's kernel,
    state and hyper-parameters from its class: a new one needs no other change."""
    from fastnn import optim

    class RMSpropEps(optim.Optimizer):
        kernel, state_names = "rmsprop_step", ("square_avg",)

        def __init__(self, lr=0.01, eps=1e-3):
            super().__init__(lr)
            self.eps = eps

        def hyper(self):
            return self.lr, 0.9, self.eps

        def hyper_parameters(self):
            return dict(lr=self.lr, eps=self.eps)

    monkeypatch.setitem(optim.OPTIMIZERS, "RMSpropEps", RMSpropEps)
    X, y = problem("cce")
    results = []
    for driver in (True, False):
        model = fnn.mlp([5, 8, 3], seed=3, optimizer=RMSpropEps(), backend=backend,
                        driver=driver)
        results.append((model, model.fit(X, y, epochs=2, batch_size=16, verbose=0)))
    assert_same_training(results)
    assert results[0][0].optimizer.square_avg.any()


def test_the_layer_table_gives_each_field_one_meaning():
    from fastnn.kernels import driver
    model = fnn.Sequential([fnn.Dense(5, 4, "gelu", l2=0.1), fnn.Dropout(0.3),
                            fnn.Dense(4, 3, "softmax")])
    model.allocate(8)
    dense, dropout, out = model.layer_table
    assert (dense.kind, dense.n_in, dense.n_out, dense.w_at, dense.b_at) == (
        driver.DENSE, 5, 4, 0, 20)
    assert (out.kind, out.w_at, out.b_at) == (driver.DENSE, 24, 36)
    np.testing.assert_array_equal(model.params[dense.w_at:dense.b_at].reshape(5, 4),
                                  model.layers[0].W)
    np.testing.assert_array_equal(model.params[out.b_at:out.b_at + 3], model.layers[2].b)
    assert dense.keeps_z and not out.keeps_z and (dense.l1, dense.l2) == (0.0, 0.1)
    assert (dropout.kind, dropout.mask_at, dropout.rate) == (driver.DROPOUT, 0, 0.3)
    assert np.shares_memory(model.work, model.layers[1].out)
    assert model.work[dropout.out_at:].ctypes.data == model.layers[1].out.ctypes.data
