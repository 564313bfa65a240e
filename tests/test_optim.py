"""Optimizers step by step against their update rules written out here, and PyTorch."""
import numpy as np
import pytest

import fastnn as fnn
from fastnn.kernels import numba_cpu, reference

STEPS = 5


def rule_sgd(p, g, lr, momentum=0.0, nesterov=False, **_):
    v = np.zeros_like(p)
    for gt in g:
        v = momentum * v + gt
        p = p - lr * (gt + momentum * v if nesterov else v)
    return p


def rule_adam(p, g, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, **_):
    m, v = np.zeros_like(p), np.zeros_like(p)
    for t, gt in enumerate(g, start=1):
        p = p * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * gt
        v = beta2 * v + (1 - beta2) * gt**2
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


def rule_rmsprop(p, g, lr, alpha=0.99, eps=1e-8, **_):
    s = np.zeros_like(p)
    for gt in g:
        s = alpha * s + (1 - alpha) * gt**2
        p = p - lr * gt / (np.sqrt(s) + eps)
    return p


CASES = [
    pytest.param(fnn.SGD, dict(lr=0.1), rule_sgd, id="sgd"),
    pytest.param(fnn.SGD, dict(lr=0.1, momentum=0.9), rule_sgd, id="momentum"),
    pytest.param(fnn.SGD, dict(lr=0.1, momentum=0.9, nesterov=True), rule_sgd, id="nesterov"),
    pytest.param(fnn.Adam, dict(lr=0.01), rule_adam, id="adam"),
    pytest.param(fnn.AdamW, dict(lr=0.01, weight_decay=0.1), rule_adam, id="adamw"),
    pytest.param(fnn.RMSprop, dict(lr=0.01), rule_rmsprop, id="rmsprop"),
]


@pytest.mark.parametrize("optimizer, hyper, rule", CASES)
@pytest.mark.parametrize("k", [reference, numba_cpu], ids=["numpy", "numba"])
def test_steps_follow_the_update_rule(optimizer, hyper, rule, k):
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(50)
    grads = rng.standard_normal((STEPS, 50))
    opt = optimizer(**hyper)
    opt.build(50, np.float64)
    params = p0.copy()
    for g in grads:
        opt.step(k, params, g.copy())
    np.testing.assert_allclose(params, rule(p0, grads, **hyper), rtol=1e-12, atol=1e-14)
    assert opt.step_count == STEPS


def test_clip_norm_rescales_the_global_gradient():
    opt = fnn.SGD(lr=1.0, clip_norm=1.0)
    opt.build(2, np.float64)
    params, grads = np.zeros(2), np.array([3.0, 4.0])  # norm 5
    opt.step(numba_cpu, params, grads)
    np.testing.assert_allclose(params, -np.array([3.0, 4.0]) / (5 + 1e-6))


def test_state_dict_round_trip_continues_identically():
    rng = np.random.default_rng(1)
    grads = rng.standard_normal((6, 20))
    a, b = fnn.Adam(lr=0.01), fnn.Adam(lr=0.01)
    pa = rng.standard_normal(20)
    a.build(20, np.float64)
    for g in grads[:3]:
        a.step(reference, pa, g.copy())
    b.build(20, np.float64)
    b.load_state_dict(a.state_dict())
    pb = pa.copy()
    for g in grads[3:]:
        a.step(reference, pa, g.copy())
        b.step(reference, pb, g.copy())
    np.testing.assert_array_equal(pa, pb)
    assert b.step_count == 6


@pytest.mark.parametrize("build, message", [
    (lambda: fnn.SGD(lr=-0.1), "Invalid learning rate"),
    (lambda: fnn.SGD(lr=0.1, nesterov=True), "Nesterov"),
    (lambda: fnn.Adam(beta1=1.0), "Invalid beta1"),
    (lambda: fnn.AdamW(weight_decay=-1), "Invalid weight_decay"),
    (lambda: fnn.RMSprop(alpha=1.5), "Invalid alpha"),
    (lambda: fnn.Adam(clip_norm=0), "Invalid clip_norm"),
])
def test_bad_hyper_parameters(build, message):
    with pytest.raises(ValueError, match=message):
        build()


TORCH_CASES = [
    (fnn.SGD, dict(lr=0.1, momentum=0.9, nesterov=True), "SGD",
     dict(lr=0.1, momentum=0.9, nesterov=True)),
    (fnn.Adam, dict(lr=0.01), "Adam", dict(lr=0.01)),
    (fnn.AdamW, dict(lr=0.01, weight_decay=0.1), "AdamW", dict(lr=0.01, weight_decay=0.1)),
    (fnn.RMSprop, dict(lr=0.01), "RMSprop", dict(lr=0.01)),
]


@pytest.mark.parametrize("ours, hyper, theirs, torch_hyper", TORCH_CASES,
                         ids=[c[2] for c in TORCH_CASES])
def test_matches_torch_optim(ours, hyper, theirs, torch_hyper):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    p0, grads = rng.standard_normal(30), rng.standard_normal((STEPS, 30))
    tensor = torch.tensor(p0.copy(), requires_grad=True)
    torch_opt = getattr(torch.optim, theirs)([tensor], **torch_hyper)
    opt = ours(**hyper)
    opt.build(30, np.float64)
    params = p0.copy()
    for g in grads:
        tensor.grad = torch.tensor(g)
        torch_opt.step()
        opt.step(numba_cpu, params, g.copy())
    np.testing.assert_allclose(params, tensor.detach().numpy(), rtol=1e-10, atol=1e-12)
