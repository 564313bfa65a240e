"""Properties of the kernels over arbitrary shapes and values (hypothesis), both backends.

Softmax rows sum to 1 and do not change when a constant is added to the logits; the
activations and losses stay finite for logits up to ±1e4; each Numba kernel equals its
NumPy twin. Parity uses the suite's tolerance plus the rounding a dot product may
legitimately differ by when its terms cancel: 2·(K+1)·eps·(|x|·|W| + |b|), because the
two backends sum in different orders (and the Numba one contracts to FMA).
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fastnn.kernels import ACTIVATIONS, NEEDS_Z, numba_cpu, reference
from tests.conftest import TOLERANCE

# The dtype and backend fixtures are constants per test, so sharing them across the
# examples of one test is safe.
PROPERTY = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
MODULES = {"numpy": reference, "numba": numba_cpu}
LIPSCHITZ = {"linear": 1.0, "relu": 1.0, "leaky_relu": 1.0, "elu": 1.0, "gelu": 1.2,
             "sigmoid": 0.25, "tanh": 1.0, "softmax": 1.0}
ALPHA = 1.3  # leaky_relu's slope and elu's scale: any α > 1 makes those Lipschitz-α


def values(dtype, limit):
    """Finite floats of `dtype` in [-limit, limit], zeros and the limits included."""
    width = np.dtype(dtype).itemsize * 8
    return st.floats(-limit, limit, allow_nan=False, allow_infinity=False, width=width)


def matrix(data, dtype, shape, limit):
    return data.draw(arrays(dtype, shape, elements=values(dtype, limit)))


def sizes(data, rows=8, cols=12):
    return (data.draw(st.integers(1, rows), label="n"),
            data.draw(st.integers(1, cols), label="columns"))


def z_buffer(activation, n, o, dtype):
    return np.empty((n if ACTIVATIONS[activation] in NEEDS_Z else 0, o), dtype)


def forward(module, activation, x, W, b):
    n, o = x.shape[0], W.shape[1]
    out = np.empty((n, o), x.dtype)
    module.dense_forward(out, z_buffer(activation, n, o, x.dtype), np.empty(0, x.dtype), x, W,
                         b, ACTIVATIONS[activation], ALPHA)
    return out


def identity_forward(module, activation, logits, shift=0.0):
    """f(logits + shift) through dense_forward with W = I: x·I is exact in any order."""
    c = logits.shape[1]
    b = np.full(c, shift, logits.dtype)
    return forward(module, activation, logits, np.eye(c, dtype=logits.dtype), b)


def eps(dtype):
    return float(np.finfo(dtype).eps)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@PROPERTY
@given(data=st.data())
def test_dense_forward_equals_its_twin(activation, dtype, data):
    n, i = sizes(data)
    o = data.draw(st.integers(1, 12), label="o")
    x = matrix(data, dtype, (n, i), 100)
    W = matrix(data, dtype, (i, o), 10)
    b = matrix(data, dtype, (o,), 100)
    ref, got = (forward(m, activation, x, W, b) for m in (reference, numba_cpu))
    scale = np.abs(x).astype(float) @ np.abs(W).astype(float) + np.abs(b)
    slack = 2 * (i + 1) * eps(dtype) * scale  # what summation order may change in z
    if activation == "softmax":  # every probability of a row moves with every z of it
        slack = 2 * slack.max(axis=1, keepdims=True)
    bound = LIPSCHITZ[activation] * ALPHA * slack
    tol = TOLERANCE[dtype]
    assert got.dtype == dtype
    assert np.all(np.abs(got - ref) <= tol["rtol"] * np.abs(ref) + tol["atol"] + bound)


def assert_loss_twins_agree(name, z, targets, loss_atol, dz_atol):
    """Run loss kernel `name` of both modules; the losses and the dz must agree."""
    results = []
    for module in (reference, numba_cpu):
        dz = np.empty_like(z)
        results.append((dz, getattr(module, name)(dz, z, targets, z[:0, 0])))
    (ref_dz, ref_loss), (dz, loss) = results
    rtol = TOLERANCE[z.dtype.type]["rtol"]
    assert loss == pytest.approx(ref_loss, rel=rtol, abs=loss_atol)
    np.testing.assert_allclose(dz, ref_dz, rtol=rtol, atol=dz_atol)


@PROPERTY
@given(data=st.data())
def test_softmax_cce_equals_its_twin(dtype, data):
    n, c = sizes(data)
    z = matrix(data, dtype, (n, c), 1e4)
    labels = data.draw(arrays(np.int64, n, elements=st.integers(0, c - 1)))
    atol = TOLERANCE[dtype]["atol"]
    assert_loss_twins_agree("softmax_cce", z, labels,
                            atol + 4 * eps(dtype) * float(np.abs(z).max()), atol / n)


@PROPERTY
@given(data=st.data())
def test_sigmoid_bce_equals_its_twin(dtype, data):
    n, o = sizes(data)
    z = matrix(data, dtype, (n, o), 1e4)
    y = data.draw(arrays(dtype, (n, o), elements=st.floats(0, 1, width=8 * z.itemsize)))
    atol = TOLERANCE[dtype]["atol"]
    assert_loss_twins_agree("sigmoid_bce", z, y,
                            atol + 4 * eps(dtype) * float(np.abs(z).max()), atol / z.size)


@PROPERTY
@given(data=st.data())
def test_mse_equals_its_twin(dtype, data):
    n, o = sizes(data)
    z, y = matrix(data, dtype, (n, o), 1e4), matrix(data, dtype, (n, o), 1e4)
    atol = TOLERANCE[dtype]["atol"]
    assert_loss_twins_agree("mse", z, y, atol, atol / z.size)


@PROPERTY
@given(data=st.data())
def test_softmax_rows_sum_to_one(backend, dtype, data):
    logits = matrix(data, dtype, sizes(data), 1e4)
    p = identity_forward(MODULES[backend], "softmax", logits)
    assert np.all((p >= 0) & (p <= 1))
    rows = p.astype(np.float64).sum(axis=1)
    np.testing.assert_allclose(rows, 1, atol=4 * p.shape[1] * eps(dtype))


@PROPERTY
@given(data=st.data())
def test_softmax_is_shift_invariant(backend, dtype, data):
    logits = matrix(data, dtype, sizes(data), 100)
    shift = data.draw(values(dtype, 100), label="shift")
    module = MODULES[backend]
    p, shifted = identity_forward(module, "softmax", logits), \
        identity_forward(module, "softmax", logits, shift)
    # logits + shift rounds each logit by up to eps·|logit + shift|; p moves by at most
    # twice the largest such change in its row
    moved = 2 * eps(dtype) * (np.abs(logits).max() + abs(shift))
    np.testing.assert_allclose(shifted, p, rtol=0, atol=moved + TOLERANCE[dtype]["atol"])


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "softmax", "gelu", "elu"])
@PROPERTY
@given(data=st.data())
def test_activations_stay_finite_for_logits_up_to_1e4(activation, backend, dtype, data):
    logits = matrix(data, dtype, sizes(data), 1e4)
    out = identity_forward(MODULES[backend], activation, logits)
    assert np.isfinite(out).all()
    if activation in ("sigmoid", "softmax"):
        assert np.all((out >= 0) & (out <= 1))
    if activation == "tanh":
        assert np.all(np.abs(out) <= 1)


@pytest.mark.parametrize("loss", ["softmax_cce", "sigmoid_bce", "mse"])
@PROPERTY
@given(data=st.data())
def test_losses_stay_finite_for_logits_up_to_1e4(loss, backend, dtype, data):
    n, c = sizes(data)
    z = matrix(data, dtype, (n, c), 1e4)
    if loss == "softmax_cce":
        target = data.draw(arrays(np.int64, n, elements=st.integers(0, c - 1)))
    else:
        target = data.draw(arrays(dtype, (n, c), elements=st.sampled_from([0.0, 1.0])))
    dz = np.empty_like(z)
    value = getattr(MODULES[backend], loss)(dz, z, target, z[:0, 0])
    assert np.isfinite(value) and value >= 0
    assert np.isfinite(dz).all()
