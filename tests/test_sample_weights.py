"""Sample weights in the loss kernels: twins agree, weights mean repetition, gradients check."""
import numpy as np
import pytest

import fastnn as fnn
from fastnn.kernels import numba_cpu, reference
from tests.conftest import TOLERANCE, numeric_gradients

LOSSES = ["softmax_cce", "sigmoid_bce", "mse"]


def problem(loss, n, o, dtype, rng, scale=1.0):
    z = (scale * rng.standard_normal((n, o))).astype(dtype)
    if loss == "softmax_cce":
        return z, rng.integers(0, o, n)
    if loss == "sigmoid_bce":
        return z, rng.integers(0, 2, (n, o)).astype(dtype)
    return z, rng.standard_normal((n, o)).astype(dtype)


def run(module, loss, z, targets, weights):
    dz = np.full_like(z, np.nan)
    value = getattr(module, loss)(dz, z, targets, weights)
    return dz, value


@pytest.mark.parametrize("scale", [1.0, 1e3], ids=["unit", "huge"])
@pytest.mark.parametrize("loss", LOSSES)
def test_weighted_twins_agree(loss, scale, dtype, rng):
    z, targets = problem(loss, 9, 4, dtype, rng, scale)
    weights = rng.uniform(0, 3, 9).astype(dtype)
    (ref_dz, ref), (dz, value) = (run(m, loss, z, targets, weights)
                                  for m in (reference, numba_cpu))
    assert dz.dtype == dtype and np.isfinite(value) and np.isfinite(dz).all()
    assert value == pytest.approx(ref, rel=TOLERANCE[dtype]["rtol"], abs=1e-5)
    np.testing.assert_allclose(dz, ref_dz, **TOLERANCE[dtype])


@pytest.mark.parametrize("module", [reference, numba_cpu], ids=["numpy", "numba"])
@pytest.mark.parametrize("loss", LOSSES)
def test_integer_weights_equal_repeated_rows(loss, module, rng):
    z, targets = problem(loss, 6, 3, np.float64, rng)
    counts = np.array([0, 1, 2, 3, 1, 1])
    dz, value = run(module, loss, z, targets, counts.astype(np.float64))
    rows = np.repeat(np.arange(6), counts)
    dz_rep, value_rep = run(module, loss, z[rows], targets[rows], np.empty(0))
    assert value == pytest.approx(value_rep, rel=1e-12)
    # a row repeated k times gets k times one copy's gradient
    summed = np.zeros_like(dz)
    np.add.at(summed, rows, dz_rep)
    np.testing.assert_allclose(dz, summed, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("module", [reference, numba_cpu], ids=["numpy", "numba"])
@pytest.mark.parametrize("loss", LOSSES)
def test_uniform_weights_equal_no_weights(loss, module, dtype, rng):
    z, targets = problem(loss, 7, 3, dtype, rng)
    dz, value = run(module, loss, z, targets, np.full(7, 2.5, dtype))
    dz0, value0 = run(module, loss, z, targets, np.empty(0, dtype))
    assert value == pytest.approx(value0, rel=TOLERANCE[dtype]["rtol"])
    np.testing.assert_allclose(dz, dz0, **TOLERANCE[dtype])


@pytest.mark.parametrize("module", [reference, numba_cpu], ids=["numpy", "numba"])
@pytest.mark.parametrize("loss", LOSSES)
def test_zero_total_weight_gives_no_loss_and_no_gradient(loss, module, rng):
    z, targets = problem(loss, 4, 3, np.float32, rng)
    dz, value = run(module, loss, z, targets, np.zeros(4, np.float32))
    assert value == 0 and not dz.any()


@pytest.mark.parametrize("module", [reference, numba_cpu], ids=["numpy", "numba"])
def test_weights_of_the_wrong_length_are_refused(module):
    z = np.zeros((4, 3))
    with pytest.raises(ValueError, match="weights"):
        module.mse(np.empty_like(z), z, z, np.ones(3))


@pytest.mark.parametrize("module", [reference, numba_cpu], ids=["numpy", "numba"])
@pytest.mark.parametrize("loss", LOSSES)
def test_weighted_dz_is_the_gradient_of_the_loss(loss, module, rng):
    z, targets = problem(loss, 5, 3, np.float64, rng)
    weights = rng.uniform(0.2, 2, 5)
    dz, _ = run(module, loss, z, targets, weights)
    h, numeric = 1e-6, np.zeros_like(z)
    for i in np.ndindex(z.shape):
        for sign in (1, -1):
            shifted = z.copy()
            shifted[i] += sign * h
            numeric[i] += sign * run(module, loss, shifted, targets, weights)[1] / (2 * h)
    np.testing.assert_allclose(dz, numeric, rtol=1e-6, atol=1e-9)


OUTPUT = {"cce": "softmax", "bce": "sigmoid", "mse": "linear"}


def weighted_problem(loss, rng, n=12):
    X = rng.normal(size=(n, 4))
    y = {"cce": rng.integers(0, 3, n), "bce": rng.integers(0, 2, (n, 3)),
         "mse": rng.normal(size=(n, 3))}[loss]
    return X, y, rng.uniform(0.1, 3, n)


@pytest.mark.parametrize("loss", list(OUTPUT))
def test_model_gradients_with_sample_weights_match_central_differences(loss, backend, rng):
    X, y, w = weighted_problem(loss, rng)
    model = fnn.Sequential([fnn.Dense(4, 5, "tanh", l2=1e-2), fnn.Dense(5, 3, OUTPUT[loss])],
                           loss=loss, backend=backend, dtype="float64")
    model.set_weights([rng.normal(0.1, 0.5, v.shape) for v in model.get_weights()])
    _, grads = model.compute_gradients(X, y, sample_weight=w)
    numeric = numeric_gradients(model, lambda m: m.compute_gradients(X, y, w)[0])
    for analytic, expected in zip(grads, numeric):
        np.testing.assert_allclose(analytic, expected, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("loss", list(OUTPUT))
def test_fit_with_integer_weights_equals_fit_on_repeated_rows(loss, backend, rng):
    """One full batch: weights 0/1/2 train exactly as dropping or doubling rows."""
    X, y, _ = weighted_problem(loss, rng)
    counts = rng.integers(0, 3, len(X))
    rows = np.repeat(np.arange(len(X)), counts)
    models = [fnn.mlp([4, 6, 3], output=OUTPUT[loss], loss=loss, backend=backend,
                      dtype="float64", optimizer=fnn.SGD(lr=0.1)) for _ in range(2)]
    models[0].fit(X, y, epochs=3, batch_size=len(X), sample_weight=counts, verbose=0)
    models[1].fit(X[rows], y[rows], epochs=3, batch_size=len(rows), verbose=0)
    np.testing.assert_allclose(models[0].params, models[1].params, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("weights, error", [(np.ones(3), "shape"), ([1, -1, 1, 1], "≥ 0"),
                                            ([1, np.nan, 1, 1], "finite"),
                                            (np.zeros(4), "sums to zero"),
                                            (["a"] * 4, "numbers")])
def test_bad_sample_weights_are_refused(weights, error):
    model = fnn.mlp([2, 3], backend="numpy")
    with pytest.raises((ValueError, TypeError), match=error):
        model.fit(np.zeros((4, 2)), [0, 1, 2, 0], sample_weight=weights, verbose=0)
