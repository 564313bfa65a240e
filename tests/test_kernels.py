"""Every Numba kernel against its NumPy twin: same signature, same outputs, same dtype."""
import inspect

import numpy as np
import pytest

from fastnn.kernels import ACTIVATIONS, NEEDS_Z, numba_cpu, reference
from fastnn.kernels.scratch import dense_scratch
from tests.conftest import TOLERANCE, kernel

SHAPES = [pytest.param(1, 1, 1, id="1x1x1"), pytest.param(1, 784, 10, id="batch1"),
          pytest.param(7, 13, 5, id="odd"), pytest.param(128, 784, 128, id="mnist")]
FORWARD = ["linear", "relu", "sigmoid", "tanh", "softmax", "leaky_relu", "elu", "gelu"]
BACKWARD = [a for a in FORWARD if a != "softmax"]
ALPHA = {"leaky_relu": 0.1, "elu": 1.3}  # the activations' parameter; ignored by the rest


def run_both(name, outputs, *inputs):
    """Run kernel `name` of both modules on copies of `outputs`; return both results."""
    results = []
    for module in (reference, numba_cpu):
        outs = [o.copy() for o in outputs]
        ret = getattr(module, name)(*outs, *inputs)
        results.append((outs, ret))
    return results


def assert_same(results, dtype):
    (ref_outs, ref_ret), (nb_outs, nb_ret) = results
    for ref, got in zip(ref_outs, nb_outs):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, ref, **TOLERANCE[dtype])
    if ref_ret is None:
        assert nb_ret is None
    else:
        assert nb_ret == pytest.approx(ref_ret, rel=TOLERANCE[dtype]["rtol"] * 10)


def defined_kernels(module):
    """The public functions `module` defines (compiled by Numba or not), by name."""
    return sorted(name for name, f in vars(module).items()
                  if not name.startswith("_") and callable(f) and not isinstance(f, type)
                  and getattr(getattr(f, "py_func", f), "__module__", "") == module.__name__)


# the loops, built from one source for both modules (kernels.driver)
KERNELS = defined_kernels(reference) + ["predict_rows", "training_loop"]


def test_the_twins_define_the_same_kernels():
    assert "adam_step" in KERNELS and "dense_forward" in KERNELS
    assert defined_kernels(numba_cpu) == defined_kernels(reference)


@pytest.mark.parametrize("name", KERNELS)
def test_twins_share_a_signature(name):
    assert (inspect.signature(kernel(numba_cpu, name))
            == inspect.signature(kernel(reference, name)))


def z_buffer(activation, n, o, dtype):
    """Where dense_forward keeps z: (n, o) for the activations that need it, else (0, o)."""
    return np.empty((n if ACTIVATIONS[activation] in NEEDS_Z else 0, o), dtype)


GUARD = 64


def scratch(sized, n, i, o, dtype, input_gradient=True):
    """(scratch, guard): the dense kernels' scratch, of dense_scratch's size and full of
    NaN (nothing may read it before writing it), or empty (the products allocate their
    own); then, right after it in memory, GUARD elements no kernel may write."""
    size = dense_scratch(n, i, o, np.dtype(dtype).itemsize, input_gradient) if sized else 0
    memory = np.full(size + GUARD, np.nan, dtype)
    memory[size:] = 7
    return memory[:size], memory[size:]


@pytest.mark.parametrize("activation", FORWARD)
@pytest.mark.parametrize("n, i, o", SHAPES)
@pytest.mark.parametrize("sized", [True, False], ids=["scratch", "no-scratch"])
def test_dense_forward(activation, n, i, o, sized, dtype, rng):
    x = rng.standard_normal((n, i)).astype(dtype)
    W = (rng.standard_normal((i, o)) / np.sqrt(i)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    outputs = [np.empty((n, o), dtype), z_buffer(activation, n, o, dtype)]
    work, guard = scratch(sized, n, i, o, dtype)
    results = run_both("dense_forward", outputs, work, x, W, b, ACTIVATIONS[activation],
                       ALPHA.get(activation, 0.0))
    assert_same(results, dtype)
    assert (guard == 7).all()


@pytest.mark.parametrize("l1, l2", [(0.0, 0.0), (1e-3, 1e-2)], ids=["plain", "l1-l2"])
@pytest.mark.parametrize("activation", BACKWARD)
@pytest.mark.parametrize("n, i, o", SHAPES)
@pytest.mark.parametrize("with_dx", [True, False], ids=["dx", "no-dx"])
@pytest.mark.parametrize("sized", [True, False], ids=["scratch", "no-scratch"])
def test_dense_backward(activation, n, i, o, with_dx, l1, l2, sized, dtype, rng):
    x = rng.standard_normal((n, i)).astype(dtype)
    W = (rng.standard_normal((i, o)) / np.sqrt(i)).astype(dtype)
    out, z = np.empty((n, o), dtype), np.empty((n, o), dtype)
    alpha = ALPHA.get(activation, 0.0)
    reference.dense_forward(out, z, np.empty(0, dtype), x, W, np.zeros(o, dtype),
                            ACTIVATIONS[activation], alpha)
    dout = rng.standard_normal((n, o)).astype(dtype)
    dx = np.empty((n if with_dx else 0, i), dtype)
    outputs = [dx, np.empty((i, o), dtype), np.empty(o, dtype), np.empty((n, o), dtype)]
    work, guard = scratch(sized, n, i, o, dtype, input_gradient=with_dx)
    results = run_both("dense_backward", outputs, work, x, W, out, z, dout,
                       ACTIVATIONS[activation], alpha, l1, l2)
    assert_same(results, dtype)
    assert (guard == 7).all()


def test_softmax_has_no_standalone_backward():
    z = np.ones((2, 3))
    for module in (reference, numba_cpu):
        with pytest.raises(ValueError, match="fused"):
            module.dense_backward(np.empty((2, 3)), np.empty((3, 3)), np.empty(3),
                                  np.empty((2, 3)), np.empty(0), z, np.eye(3), z, z, z,
                                  ACTIVATIONS["softmax"], 0.0, 0.0, 0.0)


def logits(rng, n, c, dtype, scale):
    return (scale * rng.standard_normal((n, c))).astype(dtype)


@pytest.mark.parametrize("scale", [1.0, 1e3], ids=["unit", "huge"])
@pytest.mark.parametrize("n, c", [(1, 10), (7, 3), (128, 10)])
def test_softmax_cce(n, c, scale, dtype, rng):
    z = logits(rng, n, c, dtype, scale)
    labels = rng.integers(0, c, n)
    results = run_both("softmax_cce", [np.empty((n, c), dtype)], z, labels, np.empty(0, dtype))
    assert_same(results, dtype)
    (dz,), loss = results[1]
    assert np.isfinite(loss) and np.all(np.isfinite(dz))
    np.testing.assert_allclose(dz.sum(axis=1), 0, atol=1e-6)


@pytest.mark.parametrize("scale", [1.0, 1e3], ids=["unit", "huge"])
@pytest.mark.parametrize("n, o", [(1, 1), (7, 3), (128, 1)])
def test_sigmoid_bce(n, o, scale, dtype, rng):
    z = logits(rng, n, o, dtype, scale)
    y = rng.integers(0, 2, (n, o)).astype(dtype)
    results = run_both("sigmoid_bce", [np.empty((n, o), dtype)], z, y, np.empty(0, dtype))
    assert_same(results, dtype)
    (dz,), loss = results[1]
    assert np.isfinite(loss) and np.all(np.isfinite(dz))


@pytest.mark.parametrize("n, o", [(1, 1), (7, 3), (128, 10)])
def test_mse(n, o, dtype, rng):
    z = rng.standard_normal((n, o)).astype(dtype)
    y = rng.standard_normal((n, o)).astype(dtype)
    assert_same(run_both("mse", [np.empty((n, o), dtype)], z, y, np.empty(0, dtype)), dtype)


@pytest.mark.parametrize("n, c", [(1, 10), (7, 3), (128, 10)])
def test_argmax_hits(n, c, dtype, rng):
    z = rng.standard_normal((n, c)).astype(dtype)
    labels = rng.integers(0, c, n)
    labels[: n // 2] = z[: n // 2].argmax(axis=1)
    hits = [module.argmax_hits(z, labels) for module in (reference, numba_cpu)]
    assert hits[0] == hits[1] >= n // 2


def test_argmax_hits_breaks_ties_and_nans_as_numpy(dtype):
    """The first of equal maxima counts; a NaN counts as the maximum (np.argmax's rule)."""
    nan = np.nan
    z = np.array([[1, 3, 3], [2, 2, 2], [nan, 5, 1], [1, nan, 9], [0, 1, nan]], dtype)
    for label in range(3):
        labels = np.full(len(z), label, np.int64)
        assert (numba_cpu.argmax_hits(z, labels) == reference.argmax_hits(z, labels)
                == int((z.argmax(axis=1) == label).sum()))


@pytest.mark.parametrize("n, o", [(1, 1), (7, 3), (128, 1)])
def test_threshold_hits(n, o, dtype, rng):
    z = rng.standard_normal((n, o)).astype(dtype)
    y = rng.integers(0, 2, (n, o)).astype(dtype)
    hits = [module.threshold_hits(z, y) for module in (reference, numba_cpu)]
    assert hits[0] == hits[1] == int(((z > 0) == (y == 1)).sum())


@pytest.mark.parametrize("nesterov", [False, True], ids=["classic", "nesterov"])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("p", [1, 13, 101_770])
def test_sgd_step(p, momentum, nesterov, dtype, rng):
    params, velocity, grads = (rng.standard_normal(p).astype(dtype) for _ in range(3))
    results = run_both("sgd_step", [params, velocity], grads, 0.1, momentum, nesterov, 1)
    assert_same(results, dtype)


@pytest.mark.parametrize("weight_decay", [0.0, 0.01], ids=["adam", "adamw"])
@pytest.mark.parametrize("step", [1, 2, 1000])
@pytest.mark.parametrize("p", [1, 13, 101_770])
def test_adam_step(p, step, weight_decay, dtype, rng):
    params, m, grads = (rng.standard_normal(p).astype(dtype) for _ in range(3))
    v = rng.random(p).astype(dtype)
    results = run_both("adam_step", [params, m, v], grads, 1e-3, 0.9, 0.999, 1e-8,
                       weight_decay, step)
    assert_same(results, dtype)


@pytest.mark.parametrize("p", [1, 13, 101_770])
def test_rmsprop_step(p, dtype, rng):
    params, grads = (rng.standard_normal(p).astype(dtype) for _ in range(2))
    square_avg = rng.random(p).astype(dtype)
    assert_same(run_both("rmsprop_step", [params, square_avg], grads, 1e-2, 0.99, 1e-8, 1),
                dtype)


@pytest.mark.parametrize("max_norm", [0.5, 1e9], ids=["clipped", "unclipped"])
@pytest.mark.parametrize("p", [1, 13, 101_770])
def test_clip_grad_norm(p, max_norm, dtype, rng):
    grads = rng.standard_normal(p).astype(dtype)
    results = run_both("clip_grad_norm", [grads], max_norm)
    assert_same(results, dtype)
    (clipped,), norm = results[1]
    assert norm == pytest.approx(np.linalg.norm(grads.astype(np.float64)), rel=1e-6)
    assert np.linalg.norm(clipped) <= min(max_norm, norm) * (1 + 1e-5)


@pytest.mark.parametrize("n, i, o", [(1, 1, 1), (7, 13, 5), (784, 128, 1)])
def test_weight_penalty(n, i, o, dtype, rng):
    W = rng.standard_normal((i, o)).astype(dtype)
    values = [module.weight_penalty(W, 1e-3, 1e-2) for module in (reference, numba_cpu)]
    assert values[1] == pytest.approx(values[0], rel=1e-9)
    assert values[0] == pytest.approx(1e-3 * np.abs(W).sum() + 1e-2 * (W.astype(float)**2).sum(),
                                      rel=1e-6)


@pytest.mark.parametrize("rate", [0.0, 0.2, 0.9])
@pytest.mark.parametrize("n, f", [(1, 1), (7, 13), (128, 128)])
def test_dropout(n, f, rate, dtype, rng):
    x, dout = (rng.standard_normal((n, f)).astype(dtype) for _ in range(2))
    mask = rng.random((n, f)).astype(dtype)
    assert_same(run_both("dropout_forward", [np.empty((n, f), dtype)], x, mask, rate), dtype)
    assert_same(run_both("dropout_backward", [np.empty((n, f), dtype)], dout, mask, rate), dtype)
    (out,), _ = run_both("dropout_forward", [np.empty((n, f), dtype)], x, mask, rate)[1]
    kept = mask >= rate
    np.testing.assert_allclose(out[kept], x[kept] / (1 - rate), rtol=1e-6)
    assert not out[~kept].any()


@pytest.mark.parametrize("n, m, f", [(1, 1, 1), (7, 13, 5), (128, 60000, 784)])
def test_gather_rows(n, m, f, dtype, rng):
    x = rng.standard_normal((m, f)).astype(dtype)
    index = rng.integers(0, m, n)
    outputs = [np.empty((n, f), dtype) for _ in range(2)]
    for module, out in zip((reference, numba_cpu), outputs):
        module.gather_rows(out, x, index)
    np.testing.assert_array_equal(outputs[1], outputs[0])


def test_prefetch_rows_changes_nothing(dtype, rng):
    """A cache hint: it reads no data into any output and leaves x as it was."""
    x = rng.standard_normal((50, 784)).astype(dtype)
    before = x.copy()
    for module in (reference, numba_cpu):
        assert module.prefetch_rows(x, rng.integers(0, 50, 32)) is None
        module.prefetch_rows(x, np.empty(0, np.int64))
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("share", [0, 0.37, 1])
@pytest.mark.parametrize("size", [100, 100_003], ids=["serial", "split-among-threads"])
def test_all_finite_finds_one_bad_value(bad, share, size, dtype):
    x = np.linspace(-3, 3, size).astype(dtype)
    at = min(int(share * size), size - 1)
    for module in (reference, numba_cpu):
        assert module.all_finite(x) is True or module.all_finite(x) == True  # noqa: E712
        y = x.copy()
        y[at] = bad
        assert not module.all_finite(y)
