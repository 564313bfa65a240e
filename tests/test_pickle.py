"""Pickling and deepcopy: state kept by name, training continues exactly after a round trip."""
import copy
import pickle

import numpy as np
import pytest

import fastnn as fnn


def toy(n=96, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    return X, y


def model_for(backend, optimizer, dropout=0.2, driver=True):
    return fnn.mlp([6, 16, 8, 3], dropout=dropout, optimizer=optimizer, seed=3,
                   backend=backend, driver=driver, l2=1e-3)


def round_trips():
    return [pytest.param(lambda m: pickle.loads(pickle.dumps(m)), id="pickle"),
            pytest.param(copy.deepcopy, id="deepcopy")]


@pytest.mark.parametrize("copy_of", round_trips())
def test_untrained_model_round_trips(backend, copy_of):
    model = model_for(backend, fnn.Adam())
    clone = copy_of(model)
    assert clone.kernels is model.kernels  # the backend's module, found again by name
    assert not clone.built
    X, _ = toy()
    np.testing.assert_array_equal(clone.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("copy_of", round_trips())
@pytest.mark.parametrize("optimizer", [lambda: fnn.Adam(lr=0.01),
                                       lambda: fnn.SGD(lr=0.05, momentum=0.9, nesterov=True),
                                       lambda: fnn.RMSprop(lr=0.01)],
                         ids=["adam", "sgd", "rmsprop"])
@pytest.mark.parametrize("driver", [True, False], ids=["driver", "step-by-step"])
def test_training_continues_exactly_after_a_round_trip(backend, copy_of, optimizer, driver):
    X, y = toy()
    a = model_for(backend, optimizer(), driver=driver)
    scheduler = fnn.StepLR(a.optimizer, step_size=1, gamma=0.5)
    a.fit(X, y, epochs=2, batch_size=20, scheduler=scheduler, verbose=0)
    b, b_scheduler = copy_of((a, scheduler))
    assert b_scheduler.optimizer is b.optimizer
    np.testing.assert_array_equal(b.predict_proba(X), a.predict_proba(X))
    assert b.optimizer.step_count == a.optimizer.step_count
    for name in a.optimizer.state_names:
        np.testing.assert_array_equal(getattr(b.optimizer, name), getattr(a.optimizer, name))
    assert b.rng.bit_generator.state == a.rng.bit_generator.state
    a.fit(X, y, epochs=1, batch_size=20, scheduler=scheduler, verbose=0)
    b.fit(X, y, epochs=1, batch_size=20, scheduler=b_scheduler, verbose=0)
    np.testing.assert_array_equal(b.params, a.params)
    np.testing.assert_array_equal(b.optimizer.state, a.optimizer.state)
    assert b.optimizer.lr == a.optimizer.lr == 0.125 * b_scheduler.base_lr


def test_the_copy_owns_its_buffers(backend):
    X, y = toy()
    a = model_for(backend, fnn.Adam())
    a.fit(X, y, epochs=1, verbose=0)
    b = pickle.loads(pickle.dumps(a))
    layer = b.dense_layers[0]
    assert np.shares_memory(layer.W, b.params) and not np.shares_memory(layer.W, a.params)
    assert np.shares_memory(b.optimizer.m, b.optimizer.state)
    before = a.params.copy()
    b.fit(X, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(a.params, before)


def test_pickle_holds_no_module_or_workspace(backend):
    X, y = toy()
    model = model_for(backend, fnn.Adam())
    model.fit(X, y, epochs=1, verbose=0)
    state = model.__getstate__()
    assert state["backend"] == backend and "kernels" not in state and "work" not in state
    assert all("W" not in layer.__getstate__() for layer in model.dense_layers)


@pytest.mark.parametrize("obj", [lambda: fnn.Dense(3, 4, activation="tanh"),
                                 lambda: fnn.Dropout(0.3), lambda: fnn.SGD(momentum=0.5),
                                 lambda: fnn.AdamW(), lambda: fnn.ReduceLROnPlateau(fnn.SGD()),
                                 lambda: fnn.CosineAnnealingLR(fnn.Adam(), T_max=5)],
                         ids=["dense", "dropout", "sgd", "adamw", "plateau", "cosine"])
def test_parts_pickle_on_their_own(obj):
    original = obj()
    clone = pickle.loads(pickle.dumps(original))
    assert type(clone) is type(original)
    if hasattr(original, "last_epoch"):  # a scheduler: its state, and its optimizer's lr
        assert clone.state_dict() == original.state_dict()
        assert clone.optimizer.lr == original.optimizer.lr
    else:
        assert repr(clone) == repr(original)
