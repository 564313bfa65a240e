"""The fit loop's features: schedules, early stopping, validation split, dropout, callbacks."""
import numpy as np
import pytest

import fastnn as fnn


def blobs(n=200, seed=0):
    """Two well separated Gaussian blobs: a problem any small network solves."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = rng.standard_normal((n, 2)) + 3 * y[:, None]
    return X, y


def classifier(backend="numba", optimizer=None, dropout=0.0, seed=0, **dense):
    return fnn.mlp([2, 16, 2], activation="relu", output="softmax", loss="cce",
                   optimizer=optimizer or fnn.Adam(lr=0.01), seed=seed, backend=backend,
                   dropout=dropout, **dense)


def test_scheduler_sets_the_learning_rate_of_each_epoch():
    X, y = blobs()
    model = classifier(optimizer=fnn.SGD(lr=0.1))
    history = model.fit(X, y, epochs=5, batch_size=50, verbose=0,
                        scheduler=fnn.StepLR(model.optimizer, step_size=2, gamma=0.5))
    assert history.history["lr"] == [0.1, 0.1, 0.05, 0.05, 0.025]
    assert model.optimizer.lr == 0.025  # epoch 5 of the schedule, ready for a next fit


def test_reduce_on_plateau_reads_the_validation_loss():
    X, y = blobs()
    model = classifier(optimizer=fnn.SGD(lr=1e-4))  # too small to improve 10% an epoch
    plateau = fnn.ReduceLROnPlateau(model.optimizer, factor=0.5, patience=0, threshold=0.1)
    history = model.fit(X, y, epochs=3, batch_size=50, validation_data=(X, y), verbose=0,
                        scheduler=plateau)
    assert history.history["lr"] == [1e-4, 1e-4, 5e-5]


def test_early_stopping_stops_and_restores_the_best_weights(capsys):
    X, y = blobs()
    model = classifier(optimizer=fnn.SGD(lr=1e-9))  # the loss stalls from the start
    stopper = fnn.EarlyStopping(monitor="loss", patience=2, min_delta=1e-3)
    history = model.fit(X, y, epochs=50, verbose=0, callbacks=[stopper])
    assert len(history.epoch) == 3 and stopper.stopped_epoch == 2 and stopper.best_epoch == 0
    np.testing.assert_array_equal(model.params, stopper.best_params)
    assert capsys.readouterr().out == (
        "early stopping: stopped after epoch 3: loss did not improve for 2 epochs; "
        f"restored the weights of epoch 1 (loss {history.history['loss'][0]:.4f})\n")


def test_early_stopping_is_silent_with_verbose_0(capsys):
    X, y = blobs()
    model = classifier(optimizer=fnn.SGD(lr=1e-9))
    stopper = fnn.EarlyStopping(monitor="loss", patience=2, min_delta=1e-3, verbose=0)
    model.fit(X, y, epochs=50, verbose=0, callbacks=[stopper])
    assert stopper.stopped_epoch == 2 and capsys.readouterr().out == ""


def test_early_stopping_keeps_training_while_improving_and_restores_the_best():
    X, y = blobs(seed=1)
    model = classifier(optimizer=fnn.Adam(lr=0.05))
    stopper = fnn.EarlyStopping(monitor="val_loss", patience=3, restore_best=True)
    history = model.fit(X, y, epochs=200, batch_size=20, validation_split=0.25, verbose=0,
                        callbacks=[stopper])
    losses = history.history["val_loss"]
    assert stopper.best_epoch == int(np.argmin(losses))
    assert len(losses) == stopper.best_epoch + 4 or len(losses) == 200
    X_train, X_val, y_train, y_val = fnn.datasets.train_test_split(X, y, test_size=0.25, seed=0)
    assert model.evaluate(X_val, y_val)["loss"] == pytest.approx(min(losses), rel=1e-6)


def test_early_stopping_names_a_missing_key():
    X, y = blobs()
    with pytest.raises(ValueError, match="val_loss.*not among"):
        classifier().fit(X, y, epochs=2, verbose=0, callbacks=[fnn.EarlyStopping()])


def test_validation_split_is_seeded_and_stratified():
    X, y = blobs(n=100)
    histories = [classifier().fit(X, y, epochs=1, validation_split=0.2, verbose=0)
                 for _ in range(2)]
    assert histories[0].history["val_loss"] == histories[1].history["val_loss"]
    _, _, _, y_val = fnn.datasets.train_test_split(X, y, test_size=0.2, seed=0)
    assert np.bincount(y_val).tolist() == [10, 10]
    with pytest.raises(ValueError, match="not both"):
        classifier().fit(X, y, validation_data=(X, y), validation_split=0.2, verbose=0)


def test_callbacks_are_called_each_epoch_and_can_stop():
    calls = []

    class StopAtTwo:
        def on_epoch_end(self, epoch, logs):
            calls.append((epoch, sorted(logs)))
            return epoch == 1

    X, y = blobs()
    history = classifier().fit(X, y, epochs=10, verbose=0, callbacks=[StopAtTwo()])
    assert len(history.epoch) == 2
    assert calls[0] == (0, ["accuracy", "loss", "lr", "seconds"])
    with pytest.raises(TypeError, match="on_epoch_end"):
        classifier().fit(X, y, verbose=0, callbacks=[object()])


def test_dropout_only_while_training_and_same_masks_on_both_backends():
    X, y = blobs()
    models = [classifier(backend, dropout=0.5) for backend in ("numpy", "numba")]
    for model in models:
        model.fit(X, y, epochs=3, batch_size=32, verbose=0)
    for a, b in zip(*(m.get_weights() for m in models)):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)
    model = classifier(dropout=0.5, driver=False)  # the step-by-step path keeps the masks
    model.fit(X, y, epochs=1, batch_size=len(X), verbose=0)
    dropout, hidden = model.layers[1], model.layers[0]
    assert isinstance(dropout, fnn.Dropout)
    dropped = dropout.mask < 0.5
    assert 0.4 < dropped.mean() < 0.6
    assert not dropout.out[dropped].any()
    np.testing.assert_allclose(dropout.out[~dropped], 2 * hidden.out[~dropped])
    np.testing.assert_array_equal(model.predict_proba(X), model.predict_proba(X))


def test_dropout_and_regularized_model_trains_and_reports_the_penalty():
    X, y = blobs()
    model = classifier(dropout=0.2, l2=1e-2)
    history = model.fit(X, y, epochs=20, batch_size=32, verbose=0)
    assert model.evaluate(X, y)["accuracy"] > 0.95
    plain = sum(1e-2 * (w**2).sum() for w in model.get_weights()[::2])
    data_loss = fnn.Sequential(
        [fnn.Dense(2, 16, "relu"), fnn.Dense(16, 2, "softmax")], seed=0)
    data_loss.set_weights(model.get_weights())
    assert model.evaluate(X, y)["loss"] == pytest.approx(
        data_loss.evaluate(X, y)["loss"] + plain, rel=1e-5)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_non_finite_loss_stops_and_keeps_the_last_finite_weights():
    X, y = blobs()
    model = fnn.mlp([2, 8, 1], activation="relu", output="linear", loss="mse",
                    optimizer=fnn.SGD(lr=10.0), seed=0)
    with pytest.raises(FloatingPointError, match=r"epoch \d+, batch \d+.*learning rate"):
        model.fit(X * 1e3, y, epochs=50, batch_size=10, verbose=0)
    assert np.isfinite(model.params).all()


def test_verbose_2_prints_one_line_per_epoch(capsys):
    X, y = blobs()
    classifier().fit(X, y, epochs=3, verbose=2, validation_data=(X, y))
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[2].startswith("epoch 3/3") and "val_accuracy" in lines[2]


def test_verbose_1_without_a_terminal_prints_lines_not_a_bar(capsys):
    X, y = blobs()
    classifier().fit(X, y, epochs=2, verbose=1)
    out = capsys.readouterr().out
    assert out.count("\n") == 2 and "\r" not in out


def test_mlp_add_and_summary(capsys):
    model = fnn.mlp([784, 128, 64, 10], activation="relu", output="softmax", dropout=0.1)
    assert [type(layer).__name__ for layer in model.layers] == [
        "Dense", "Dropout", "Dense", "Dropout", "Dense"]
    model.summary()
    out = capsys.readouterr().out
    assert "109,386" in out and "Dropout(0.1)" in out and "(None, 64)" in out
    grown = fnn.Sequential(loss="bce", optimizer=fnn.SGD(lr=0.1), seed=0)
    grown.add(fnn.Dense(2, 4, "tanh"))
    grown.add(fnn.Dense(4, 1, "sigmoid"))
    assert len(grown.get_weights()) == 4
    with pytest.raises(ValueError, match="at least"):
        fnn.mlp([10])


def test_save_load_round_trip_with_dropout_adamw_and_penalties(tmp_path):
    X, y = blobs()
    model = classifier(optimizer=fnn.AdamW(lr=0.01, weight_decay=0.05), dropout=0.3, l2=1e-3)
    model.fit(X, y, epochs=2, batch_size=32, verbose=0,
              scheduler=fnn.ExponentialLR(model.optimizer, gamma=0.5))
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = fnn.load(path)
    assert repr(loaded) == repr(model)
    assert loaded.optimizer.hyper_parameters() == model.optimizer.hyper_parameters()
    assert loaded.optimizer.lr == model.optimizer.lr == 0.0025
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.optimizer.v, model.optimizer.v)


def test_a_schedule_that_ends_at_zero_saves_and_loads(tmp_path):
    X, y = blobs()
    model = classifier(optimizer=fnn.Adam(lr=0.01))
    model.fit(X, y, epochs=4, verbose=0, scheduler=fnn.CosineAnnealingLR(model.optimizer, 4))
    assert model.optimizer.lr == 0.0
    model.save(tmp_path / "m.npz")
    assert fnn.load(tmp_path / "m.npz").optimizer.lr == 0.0


def test_validation_split_stratifies_binary_labels():
    from fastnn.training import _validation
    X, y = blobs(n=101)
    model = fnn.mlp([2, 4, 1], output="sigmoid", loss="bce", seed=0)
    _, y_train, (_, y_val) = _validation(model, X, y, None, 0.2)
    assert len(y_val) == 21 and abs(np.bincount(y_val)[0] - np.bincount(y_val)[1]) <= 1
