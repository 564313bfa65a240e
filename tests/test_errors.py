"""Bad input at the public boundary: each mistake gets its own error class and a message
that names what was expected and what was given."""
import gzip
import pickle
import struct

import numpy as np
import pytest

import fastnn as fnn
from fastnn import errors
from fastnn.datasets import circles, one_hot, read_idx, train_test_split
from fastnn.errors import (CorruptFileError, DTypeError, HyperParameterError, LabelError,
                           ModelFileError, NonFiniteError, ShapeError, TrainingDivergedError,
                           UnknownNameError)

RNG = np.random.default_rng(0)
X = RNG.standard_normal((8, 5))
Y = np.array([0, 1, 2, 0, 1, 2, 0, 1])  # labels of the 3-class model
Y_BCE = RNG.integers(0, 2, (8, 2))
Y_MSE = RNG.standard_normal(8)


def cce(dtype="float64", backend="numpy"):
    return fnn.Sequential([fnn.Dense(5, 4, "relu"), fnn.Dense(4, 3, "softmax")], loss="cce",
                          seed=0, backend=backend, dtype=dtype)


def bce():
    return fnn.Sequential([fnn.Dense(5, 2, "sigmoid")], loss="bce", backend="numpy")


def mse():
    return fnn.Sequential([fnn.Dense(5, 1, "linear")], loss="mse", backend="numpy")


def fit(model, X, y, **options):
    return model.fit(X, y, verbose=0, **options)


def put(a, index, value):
    a = np.array(a, dtype=float)
    a[index] = value
    return a


class Opt:
    lr = 0.1


def built(optimizer, n_params=5):
    optimizer.build(n_params, np.float64)
    return optimizer


def idx_file(tmp, data):
    path = tmp / "file-idx1-ubyte"
    path.write_bytes(data)
    return path


LABELS = struct.pack(">II", 2049, 4) + bytes([1, 2, 3, 4])

BATTERY = [
    # ---- fit: the inputs X -------------------------------------------------------------
    (lambda t: fit(cce(), X[:, :, None], Y), ShapeError, r"2-D \(samples, features\)", "X-3d"),
    (lambda t: fit(cce(), X[0], Y[:1]), ShapeError, r"X\.reshape\(1, -1\)", "X-one-sample-1d"),
    (lambda t: fit(cce(), X[:, :4], Y), ShapeError,
     "4 features per sample, but the first layer expects 5", "X-feature-count"),
    (lambda t: fit(cce(), X[:0], Y[:0]), ShapeError, "empty", "X-empty"),
    (lambda t: fit(cce(), X.astype(str), Y), DTypeError, "real numbers", "X-strings"),
    (lambda t: fit(cce(), X.astype(object), Y), DTypeError, "dtype object", "X-objects"),
    (lambda t: fit(cce(), X + 1j, Y), DTypeError, "complex", "X-complex"),
    (lambda t: fit(cce(), None, Y), DTypeError, "real numbers", "X-none"),
    (lambda t: fit(cce(), [[1, 2, 3, 4, 5], [1, 2]], Y[:2]), ShapeError, "ragged", "X-ragged"),
    (lambda t: fit(cce(), put(X, (2, 3), np.nan), Y), NonFiniteError,
     "nan at row 2, column 3", "X-nan"),
    (lambda t: fit(cce(), put(X, (0, 1), np.inf), Y), NonFiniteError,
     "inf at row 0, column 1", "X-inf"),
    (lambda t: fit(cce(), put(X, (7, 4), -np.inf), Y), NonFiniteError,
     "-inf at row 7, column 4", "X-minus-inf"),
    (lambda t: fit(cce("float32"), put(X, (1, 0), 1e300), Y), NonFiniteError,
     "1e[+]300 at row 1, column 0, which overflows float32", "X-overflows-float32"),
    (lambda t: fit(cce(), X, Y[:-1]), ShapeError, "X has 8 samples but y has 7", "X-y-lengths"),
    # ---- fit: the targets --------------------------------------------------------------
    (lambda t: fit(cce(), X, put(Y, 4, 3).astype(int)), LabelError,
     r"label 3 out of range \(index 4\).*3 classes.*\[0, 2\]", "cce-label-too-big"),
    (lambda t: fit(cce(), X, Y - 1), LabelError, "label -1 out of range", "cce-label-negative"),
    (lambda t: fit(cce(), X, put(Y, 2, 1.5)), LabelError,
     "must be integers 0..2; label 2 is 1.5", "cce-label-fractional"),
    (lambda t: fit(cce(), X, put(Y, 0, np.nan)), LabelError, "label 0 is nan", "cce-label-nan"),
    (lambda t: fit(cce(), X, put(Y, 5, 1e30)), LabelError, "out of range", "cce-label-1e30"),
    (lambda t: fit(cce(), X, Y.astype(str)), DTypeError, "cce targets must be numbers",
     "cce-label-strings"),
    (lambda t: fit(cce(), X, Y[:, None]), ShapeError, r"y\.ravel\(\)", "cce-label-column"),
    (lambda t: fit(cce(), X, Y[:, None, None]), ShapeError, r"integer labels \(N,\)",
     "cce-label-3d"),
    (lambda t: fit(cce(), X, put(one_hot(Y, 3), (1, 0), 1)), LabelError,
     r"one-hot rows; row 1 is \[1\.0, 1\.0, 0\.0\]", "cce-one-hot-two-ones"),
    (lambda t: fit(cce(), X, one_hot(Y, 3) * 0.5), LabelError, "one-hot rows; row 0",
     "cce-one-hot-halves"),
    (lambda t: fit(bce(), X, put(Y_BCE, (3, 1), 2)), LabelError,
     "bce targets must be 0 or 1; row 3, column 1 is 2", "bce-target-2"),
    (lambda t: fit(bce(), X, put(Y_BCE, (0, 0), np.nan)), LabelError, "0 or 1",
     "bce-target-nan"),
    (lambda t: fit(bce(), X, np.zeros((8, 3))), ShapeError,
     r"bce targets must have shape \(N, 2\), got \(8, 3\)", "bce-target-shape"),
    (lambda t: fit(mse(), X, put(Y_MSE, 6, np.inf)), NonFiniteError,
     "mse targets contain inf at row 6, column 0", "mse-target-inf"),
    (lambda t: fit(mse(), X, np.zeros((8, 2))), ShapeError, r"shape \(N, 1\)",
     "mse-target-shape"),
    (lambda t: fit(mse(), X, np.array(["a"] * 8)), DTypeError, "mse targets must be numbers",
     "mse-target-strings"),
    # ---- fit: its own arguments --------------------------------------------------------
    (lambda t: fit(cce(), X, Y, epochs=0), HyperParameterError,
     r"Invalid epochs: 0 \(must be a positive integer\)", "fit-epochs-0"),
    (lambda t: fit(cce(), X, Y, epochs=True), HyperParameterError, "Invalid epochs: True",
     "fit-epochs-bool"),
    (lambda t: fit(cce(), X, Y, batch_size=0), HyperParameterError, "Invalid batch_size: 0",
     "fit-batch-size-0"),
    (lambda t: fit(cce(), X, Y, batch_size=2.5), HyperParameterError,
     r"Invalid batch_size: 2\.5", "fit-batch-size-float"),
    (lambda t: fit(cce(), X, Y, validation_split=1.5), ValueError, "validation_split",
     "fit-validation-split"),
    (lambda t: cce().fit(X, Y, verbose=3), ValueError, "verbose", "fit-verbose"),
    (lambda t: fit(cce(), X, Y, callbacks=[object()]), TypeError, "on_epoch_end",
     "fit-callback-without-method"),
    (lambda t: fit(cce(), X, Y, callbacks=[fnn.EarlyStopping()]), HyperParameterError,
     "'val_loss', which is not among the epoch logs", "fit-early-stopping-no-validation"),
    (lambda t: fit(cce(), X, Y, validation_data=(X, Y),
                   callbacks=[fnn.EarlyStopping(monitor="val_los")]), HyperParameterError,
     "did you mean 'val_loss'", "fit-early-stopping-typo"),
    (lambda t: fit(cce(), X, Y, validation_data=(X[:, :4], Y)), ShapeError,
     "4 features per sample", "fit-validation-features"),
    (lambda t: fit(cce(), X, Y, validation_data=(X, Y + 5)), LabelError, "out of range",
     "fit-validation-labels"),
    # ---- predict, predict_proba, evaluate, compute_gradients ---------------------------
    (lambda t: cce().predict(X[:, :3]), ShapeError, "expects 5", "predict-features"),
    (lambda t: cce().predict(X.astype(str)), DTypeError, "real numbers", "predict-strings"),
    (lambda t: cce().predict(X[:0]), ShapeError, "empty", "predict-empty"),
    (lambda t: cce().predict_proba(put(X, (3, 3), np.nan)), NonFiniteError,
     "nan at row 3, column 3", "predict-proba-nan"),
    (lambda t: cce().predict_proba([[1, 2, 3]]), ShapeError, "3 features", "predict-proba-list"),
    (lambda t: cce().evaluate(X, Y + 1), LabelError, "label 3 out of range", "evaluate-labels"),
    (lambda t: cce().evaluate(X, Y[:3]), ShapeError, "8 samples but y has 3",
     "evaluate-lengths"),
    (lambda t: cce().evaluate(put(X, (0, 0), np.inf), Y), NonFiniteError, "inf at row 0",
     "evaluate-inf"),
    (lambda t: cce().compute_gradients(X, Y * 2), LabelError, "out of range",
     "gradients-labels"),
    (lambda t: cce().compute_gradients(put(X, (5, 2), np.nan), Y), NonFiniteError,
     "row 5, column 2", "gradients-nan"),
    (lambda t: cce().compute_gradients(np.hstack([X, X]), Y), ShapeError,
     "10 features per sample, but the first layer expects 5", "gradients-features"),
    # ---- set_weights -------------------------------------------------------------------
    (lambda t: cce().set_weights(cce().get_weights()[:2]), ShapeError, "expected 4 arrays",
     "set-weights-count"),
    (lambda t: cce().set_weights([np.zeros((2, 2))] + cce().get_weights()[1:]), ShapeError,
     "shape", "set-weights-shape"),
    (lambda t: cce().set_weights([put(w, 0, np.nan) if i == 1 else w
                                  for i, w in enumerate(cce().get_weights())]), NonFiniteError,
     "finite", "set-weights-nan"),
    # ---- layers and models -------------------------------------------------------------
    (lambda t: fnn.Dense(0, 3), HyperParameterError,
     r"Invalid Dense in_features: 0 \(must be a positive integer\)", "dense-in-0"),
    (lambda t: fnn.Dense(3, 2.5), HyperParameterError, "Invalid Dense out_features: 2.5",
     "dense-out-float"),
    (lambda t: fnn.Dense(True, 3), HyperParameterError, "in_features: True", "dense-in-bool"),
    (lambda t: fnn.Dense(3, 2, "relue"), UnknownNameError,
     "unknown activation 'relue'; did you mean 'relu'", "activation-typo"),
    (lambda t: fnn.Dense(3, 2, "swish"), UnknownNameError,
     "unknown activation 'swish'.*'gelu', 'leaky_relu'", "activation-unknown"),
    (lambda t: fnn.Dense(3, 2, None), DTypeError, "activation must be a name",
     "activation-none"),
    (lambda t: fnn.Dense(3, 2, init="he_norml"), UnknownNameError,
     "unknown init 'he_norml'; did you mean 'he_normal'", "init-typo"),
    (lambda t: fnn.Dense(3, 2, l2=-1), HyperParameterError,
     r"Invalid l2: -1 \(must be a number ≥ 0\)", "dense-l2-negative"),
    (lambda t: fnn.Dense(3, 2, l1=float("nan")), HyperParameterError, "Invalid l1: nan",
     "dense-l1-nan"),
    (lambda t: fnn.Dense(3, 2, "leaky_relu", alpha="0.1"), HyperParameterError,
     "Invalid alpha: '0.1'", "dense-alpha-string"),
    (lambda t: fnn.Dense(3, 2, init="normal", init_std=-0.1), HyperParameterError,
     "Invalid init_std: -0.1", "dense-init-std"),
    (lambda t: fnn.Dropout(1.0), HyperParameterError,
     r"Invalid dropout rate: 1\.0 \(must be in \[0, 1\)\)", "dropout-1"),
    (lambda t: fnn.Dropout(-0.1), HyperParameterError, "Invalid dropout rate: -0.1",
     "dropout-negative"),
    (lambda t: fnn.Dropout("0.5"), HyperParameterError, "Invalid dropout rate: '0.5'",
     "dropout-string"),
    (lambda t: fnn.Sequential([fnn.Dropout(0.5), fnn.Dense(5, 3, "softmax")]).predict(X),
     ValueError, "first and the last layer must be Dense", "dropout-first"),
    (lambda t: fnn.Sequential([fnn.Dense(5, 4), fnn.Dense(6, 3, "softmax")]).predict(X),
     ShapeError, "previous layer outputs 4 but Dense.* takes 6", "layers-do-not-chain"),
    (lambda t: fnn.Sequential([fnn.Dense(5, 3, "softmax")], loss="ce"), UnknownNameError,
     "unknown loss 'ce'; did you mean 'cce'", "loss-typo"),
    (lambda t: fnn.Sequential([fnn.Dense(5, 3, "softmax")], loss=5), DTypeError,
     "loss must be a name", "loss-not-a-name"),
    (lambda t: fnn.Sequential([fnn.Dense(5, 3, "softmax")], backend="numbaa"),
     UnknownNameError, "unknown backend 'numbaa'; did you mean 'numba'", "backend-typo"),
    (lambda t: fnn.optim.get("adamm"), UnknownNameError,
     "unknown optimizer 'adamm'; did you mean 'adam'", "optimizer-typo"),
    (lambda t: fnn.optim.get(0.1), DTypeError, "optimizer must be a fastnn optimizer",
     "optimizer-not-a-name"),
    # ---- optimizers --------------------------------------------------------------------
    (lambda t: fnn.SGD(lr=-1), HyperParameterError,
     r"Invalid learning rate: -1 \(must be a number ≥ 0\)", "sgd-lr-negative"),
    (lambda t: fnn.SGD(lr=float("nan")), HyperParameterError, "Invalid learning rate: nan",
     "sgd-lr-nan"),
    (lambda t: fnn.SGD(lr="0.1"), HyperParameterError, "Invalid learning rate: '0.1'",
     "sgd-lr-string"),
    (lambda t: fnn.SGD(momentum=1.0), HyperParameterError,
     r"Invalid momentum: 1\.0 \(must be in \[0, 1\)\)", "sgd-momentum-1"),
    (lambda t: fnn.SGD(nesterov=True), HyperParameterError, "Nesterov momentum requires",
     "sgd-nesterov-without-momentum"),
    (lambda t: fnn.SGD(momentum=0.9, nesterov="yes"), HyperParameterError,
     r"Invalid nesterov: 'yes' \(must be True or False\)", "sgd-nesterov-string"),
    (lambda t: fnn.Adam(beta1=1.0), HyperParameterError, r"Invalid beta1: 1\.0",
     "adam-beta1"),
    (lambda t: fnn.Adam(beta2=-0.1), HyperParameterError, "Invalid beta2: -0.1",
     "adam-beta2"),
    (lambda t: fnn.Adam(eps=0), HyperParameterError,
     r"Invalid eps: 0 \(must be a positive number\)", "adam-eps-0"),
    (lambda t: fnn.Adam(clip_norm=float("inf")), HyperParameterError, "Invalid clip_norm: inf",
     "adam-clip-inf"),
    (lambda t: fnn.AdamW(weight_decay=-1), HyperParameterError, "Invalid weight_decay: -1",
     "adamw-decay"),
    (lambda t: fnn.RMSprop(alpha=1.5), HyperParameterError, r"Invalid alpha: 1\.5",
     "rmsprop-alpha"),
    (lambda t: built(fnn.Adam()).load_state_dict({"lr": 0.1}), HyperParameterError,
     r"state_dict for Adam: expected the keys \['lr', 'm', 'step_count', 'v'\]",
     "optimizer-state-dict-keys"),
    (lambda t: built(fnn.SGD()).load_state_dict(
        {"lr": 0.1, "step_count": 1, "velocity": np.zeros(3)}), ShapeError,
     r"'velocity' has shape \(3,\), expected \(5,\)", "optimizer-state-dict-shape"),
    # ---- schedulers and callbacks ------------------------------------------------------
    (lambda t: fnn.StepLR(Opt(), step_size=0), HyperParameterError,
     r"Invalid step_size: 0 \(must be a positive integer\)", "steplr-step-size"),
    (lambda t: fnn.StepLR(Opt(), step_size=2, gamma=0), HyperParameterError,
     "Invalid gamma: 0", "steplr-gamma"),
    (lambda t: fnn.ExponentialLR(Opt(), gamma=np.float64(-0.5)), HyperParameterError,
     r"Invalid gamma: -0\.5 \(must be a positive number\)", "exponential-gamma-numpy"),
    (lambda t: fnn.CosineAnnealingLR(Opt(), T_max=0), HyperParameterError, "Invalid T_max: 0",
     "cosine-t-max"),
    (lambda t: fnn.ReduceLROnPlateau(Opt(), factor=1.0), HyperParameterError,
     r"Invalid factor: 1\.0 \(must be in \[0, 1\)\)", "plateau-factor"),
    (lambda t: fnn.ReduceLROnPlateau(Opt(), mode="mni"), HyperParameterError,
     "Invalid mode: 'mni' .*did you mean 'min'", "plateau-mode-typo"),
    (lambda t: fnn.ReduceLROnPlateau(Opt(), patience=-1), HyperParameterError,
     "Invalid patience: -1", "plateau-patience"),
    (lambda t: fnn.ReduceLROnPlateau(Opt()).step("low"), DTypeError,
     "needs the monitored value as a number, got str 'low'", "plateau-step-string"),
    (lambda t: fnn.StepLR(object(), step_size=1), DTypeError, "numeric `lr` attribute",
     "scheduler-optimizer-without-lr"),
    (lambda t: fnn.StepLR(Opt(), 1).load_state_dict({"base_lr": 1}), HyperParameterError,
     "missing keys", "scheduler-state-dict"),
    (lambda t: fnn.EarlyStopping(patience=-1), HyperParameterError,
     r"Invalid patience: -1 \(must be an integer ≥ 0\)", "early-stopping-patience"),
    (lambda t: fnn.EarlyStopping(patience=1.5), HyperParameterError, r"Invalid patience: 1\.5",
     "early-stopping-patience-float"),
    (lambda t: fnn.EarlyStopping(min_delta=-0.1), HyperParameterError,
     "Invalid min_delta: -0.1", "early-stopping-min-delta"),
    (lambda t: fnn.EarlyStopping(mode="maximum"), HyperParameterError,
     "Invalid mode: 'maximum' .*'auto', 'min' or 'max'", "early-stopping-mode"),
    (lambda t: fnn.EarlyStopping(monitor=None), HyperParameterError, "Invalid monitor: None",
     "early-stopping-monitor"),
    (lambda t: fnn.EarlyStopping(restore_best="no"), HyperParameterError,
     "Invalid restore_best: 'no'", "early-stopping-restore-best"),
    # ---- files -------------------------------------------------------------------------
    (lambda t: fnn.load(idx_file(t, b"not a model at all")), ModelFileError,
     "not a fastnn model file", "load-garbage"),
    (lambda t: fnn.load(idx_file(t, b"")), ModelFileError, "not a fastnn model file",
     "load-empty-file"),
    (lambda t: fnn.load(t / "missing.npz"), FileNotFoundError, "missing.npz", "load-missing"),
    (lambda t: fnn.load(idx_file(t, b"PK\x03\x04" + bytes(40))), ModelFileError,
     "damaged model file", "load-zip-header-only"),
    (lambda t: read_idx(idx_file(t, LABELS), magic=2051), CorruptFileError,
     "magic number is 2049, expected 2051", "idx-magic"),
    (lambda t: read_idx(idx_file(t, LABELS[:-1])), CorruptFileError,
     "truncated: header .* needs 4 data bytes, file has 3", "idx-truncated"),
    (lambda t: read_idx(idx_file(t, gzip.compress(LABELS)[:-6])), CorruptFileError,
     "corrupt gzip data", "idx-gzip-truncated"),
    # ---- data helpers ------------------------------------------------------------------
    (lambda t: one_hot([0, 5], 3), LabelError, "label 5 at index 1 is not below n_classes=3",
     "one-hot-label"),
    (lambda t: train_test_split(X, Y, test_size=1.5), HyperParameterError,
     r"test_size must be a number in \(0, 1\)", "split-test-size"),
    (lambda t: train_test_split(X, Y[:3]), ShapeError, "X and y differ in length",
     "split-lengths"),
    (lambda t: circles(noise=-1), HyperParameterError, "noise must be a finite number >= 0",
     "circles-noise"),
]


@pytest.mark.parametrize("call, error, message",
                         [pytest.param(*case[:3], id=case[3]) for case in BATTERY])
def test_bad_input_gets_its_error_class_and_a_message_that_names_the_problem(
        call, error, message, tmp_path):
    with pytest.raises(error, match=message) as info:
        call(tmp_path)
    if issubclass(error, errors.FastnnError):
        assert info.type is error  # the precise class, not just a built-in base
    assert isinstance(info.value, (ValueError, TypeError, OSError))


def test_the_battery_is_large():
    assert len(BATTERY) >= 60
    assert len({case[3] for case in BATTERY}) == len(BATTERY)  # ids are unique


@pytest.mark.parametrize("mutate, error, message", [
    pytest.param(lambda X: X[:, :4], ShapeError, "expects 5", id="features"),
    pytest.param(lambda X: put(X, (1, 1), np.nan), NonFiniteError, "row 1, column 1",
                 id="nan"),
    pytest.param(lambda X: X.astype(str), DTypeError, "real numbers", id="strings"),
])
def test_the_numba_backend_refuses_the_same_inputs_before_any_kernel(mutate, error, message):
    model = cce("float32", backend="numba")
    with pytest.raises(error, match=message):
        model.fit(mutate(X), Y, verbose=0)
    with pytest.raises(error, match=message):
        model.predict(mutate(X))


def test_an_unknown_backend_in_the_environment_says_where_it_came_from(monkeypatch):
    monkeypatch.setenv("FASTNN_BACKEND", "nmupy")
    with pytest.raises(UnknownNameError, match=r"'nmupy' in \$FASTNN_BACKEND; did you mean "
                                               r"'numpy'"):
        fnn.Sequential([fnn.Dense(5, 3, "softmax")])


def test_every_error_is_a_builtin_error_too():
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.FastnnError)
        if cls is not errors.FastnnError:
            assert issubclass(cls, (ValueError, TypeError, FloatingPointError)), name
    assert issubclass(TrainingDivergedError, FloatingPointError)
    assert fnn.errors is errors


def test_errors_survive_pickling_and_keep_their_hint():
    err = UnknownNameError("loss", "msse", ["cce", "bce", "mse"])
    assert err.suggestion == "mse"
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is UnknownNameError and str(copy) == str(err)
    diverged = pickle.loads(pickle.dumps(TrainingDivergedError("loss became nan")))
    assert str(diverged) == "loss became nan"


def test_a_name_far_from_every_choice_gets_no_hint():
    err = UnknownNameError("activation", "xyzzy", ["relu", "tanh"])
    assert err.suggestion is None and "did you mean" not in str(err)


def test_valid_inputs_in_other_forms_are_converted_not_refused():
    model = cce()
    lists = fit(model, X.tolist(), Y.tolist(), epochs=1)
    ints = fit(cce(), (X * 10).astype(np.int32), Y.astype(np.uint8), epochs=1)
    one_hot_float = fit(cce(), X, one_hot(Y, 3), epochs=1)
    whole_floats = fit(cce(), X, Y.astype(float), epochs=1)
    assert all(np.isfinite(h.history["loss"]).all()
               for h in (lists, ints, one_hot_float, whole_floats))
    assert one_hot_float.history["loss"] == whole_floats.history["loss"]
    assert fit(bce(), X, Y_BCE.astype(bool), epochs=1).history["loss"]


def test_finite_values_whose_sum_overflows_are_still_accepted():
    """The finite check sums X first (half the time of isfinite on MNIST); an overflowing
    sum of finite values must fall back to the element test, not be refused."""
    import warnings

    from fastnn.checks import as_features
    X = np.full((4, 3), 3e38, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(as_features(X, 3, np.float32), X)
    X[2, 1] = np.nan
    with pytest.raises(NonFiniteError, match="row 2, column 1"):
        as_features(X, 3, np.float32)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_small_input_is_tested_with_the_backends_kernel_and_the_error_names_where(
        backend, bad):
    from fastnn import backend as backends
    from fastnn.checks import SMALL, as_features
    all_finite = backends.load(backend).all_finite
    for rows in (1, 32, SMALL // 784):
        X = np.full((rows, 784), 3e38, np.float32)
        np.testing.assert_array_equal(as_features(X, 784, np.float32, all_finite=all_finite), X)
        X[rows - 1, 783] = bad
        with pytest.raises(NonFiniteError, match=f"row {rows - 1}, column 783"):
            as_features(X, 784, np.float32, all_finite=all_finite)
