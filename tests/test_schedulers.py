"""Learning-rate schedulers: step-by-step sequences, state dicts, errors, and torch parity."""
import json
import math

import numpy as np
import pytest

import fastnn as fnn
from fastnn.schedulers import (CosineAnnealingLR, ExponentialLR, ReduceLROnPlateau, StepLR)

# (1 + cos(π/4)) / 2 and (1 + cos(3π/4)) / 2: the cosine schedule a quarter and 3/4 down
C1, C3 = (1 + math.sqrt(0.5)) / 2, (1 - math.sqrt(0.5)) / 2


class Opt:
    """The smallest thing a scheduler drives: an object with an `lr`."""

    def __init__(self, lr=1.0):
        self.lr = lr


def lrs_over(sched, n_steps, metrics=None):
    """[get_last_lr() after construction, then after each step], checking optimizer.lr too."""
    out = [sched.get_last_lr()]
    for i in range(n_steps):
        sched.step() if metrics is None else sched.step(metrics[i])
        assert sched.optimizer.lr == sched.get_last_lr()[0]
        out.append(sched.get_last_lr())
    assert all(isinstance(lr, list) and len(lr) == 1 and type(lr[0]) is float for lr in out)
    return [lr[0] for lr in out]


@pytest.mark.parametrize("make, expected", [
    (lambda o: StepLR(o, step_size=2, gamma=0.5), [1, 1, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125]),
    (lambda o: StepLR(o, step_size=3), [1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01]),
    (lambda o: ExponentialLR(o, gamma=0.5), [1, 0.5, 0.25, 0.125, 0.0625, 0.03125]),
    (lambda o: ExponentialLR(o, gamma=2), [1, 2, 4, 8]),
    # past T_max the cosine climbs back: period 2·T_max, as PyTorch's step() does
    (lambda o: CosineAnnealingLR(o, T_max=4), [1, C1, 0.5, C3, 0, C3, 0.5, C1, 1, C1]),
    (lambda o: CosineAnnealingLR(o, T_max=2, eta_min=0.1), [1, 0.55, 0.1, 0.55, 1, 0.55]),
], ids=["step", "step-default-gamma", "exponential", "exponential-growth", "cosine",
        "cosine-eta-min"])
def test_schedule_sequence(make, expected):
    opt = Opt(1.0)
    sched = make(opt)
    assert sched.base_lr == 1.0 and sched.last_epoch == 0
    assert lrs_over(sched, len(expected) - 1) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert sched.last_epoch == len(expected) - 1
    assert [sched.lr_at(e) for e in range(len(expected))] == pytest.approx(expected, abs=1e-15)


def test_construction_sets_lr_at_0_and_lr_at_is_pure():
    opt = Opt(2)  # an int lr is read as a float
    sched = StepLR(opt, step_size=1, gamma=0.5)
    assert opt.lr == 2.0 and type(opt.lr) is float and sched.base_lr == 2.0
    assert sched.lr_at(3) == 0.25 and sched.last_epoch == 0 and opt.lr == 2.0
    opt.lr = 99.0  # someone else changed it: the schedule still runs from base_lr
    sched.step()
    assert opt.lr == 1.0 and sched.get_last_lr() == [1.0]


def test_real_sgd_follows_the_schedule():
    calls = []

    class Kernels:  # records the lr each optimizer step hands to its kernel
        @staticmethod
        def sgd_step(params, velocity, grads, lr, *flags):
            calls.append(lr)

    opt = fnn.SGD(lr=0.1)
    opt.build(3, np.float64)
    sched = ExponentialLR(opt, gamma=0.5)
    params, grads = np.zeros(3), np.ones(3)
    for lr in [0.1, 0.05, 0.025]:
        assert opt.lr == lr and type(opt.lr) is float and sched.get_last_lr() == [lr]
        opt.step(Kernels, params, grads)
        opt.step(Kernels, params, grads)
        sched.step()
    assert calls == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025] and opt.lr == 0.0125


@pytest.mark.parametrize("make", [
    lambda o: StepLR(o, step_size=3, gamma=0.3),
    lambda o: ExponentialLR(o, gamma=0.9),
    lambda o: CosineAnnealingLR(o, T_max=5, eta_min=0.01),
], ids=["step", "exponential", "cosine"])
def test_state_dict_round_trip_continues_the_sequence(make):
    full = lrs_over(make(Opt(0.5)), 12)
    first = make(Opt(0.5))
    lrs_over(first, 5)
    state = json.loads(json.dumps(first.state_dict(), allow_nan=False))
    assert state == {"base_lr": 0.5, "last_epoch": 5, "last_lr": full[5]}
    opt = Opt(123.0)  # a fresh optimizer: loading restores base_lr and its lr
    second = make(opt)
    second.load_state_dict(state)
    assert opt.lr == full[5] and second.get_last_lr() == [full[5]]
    assert lrs_over(second, 7) == full[5:]


def test_plateau_state_dict_round_trip_continues_the_sequence():
    metrics = [3, 2, 2, 2, 1, 1, 1, 1, 1, 0.5, 0.5, 0.5]
    make = lambda o: ReduceLROnPlateau(o, factor=0.5, patience=1, cooldown=1)  # noqa: E731
    full = lrs_over(make(Opt(1.0)), len(metrics), metrics)
    assert make(Opt(1.0)).state_dict()["best"] is None  # no ±inf in JSON
    first = make(Opt(1.0))
    lrs_over(first, 7, metrics)
    state = json.loads(json.dumps(first.state_dict(), allow_nan=False))
    assert state == {"base_lr": 1.0, "last_epoch": 7, "last_lr": 0.25, "best": 1.0,
                     "num_bad_epochs": 0, "cooldown_counter": 1}
    opt = Opt(1.0)
    second = make(opt)
    second.load_state_dict(state)
    assert opt.lr == 0.25
    assert lrs_over(second, len(metrics) - 7, metrics[7:]) == full[7:]


def test_load_state_dict_rejects_wrong_keys():
    sched = StepLR(Opt(), step_size=2)
    with pytest.raises(ValueError, match=r"missing keys \['last_lr'\], unknown keys \['x'\]"):
        sched.load_state_dict({"base_lr": 1.0, "last_epoch": 2, "x": 0})


@pytest.mark.parametrize("make, message", [
    (lambda o: StepLR(o, step_size=0), "Invalid step_size: 0 (must be a positive integer)"),
    (lambda o: StepLR(o, step_size=1.5), "Invalid step_size: 1.5"),
    (lambda o: StepLR(o, step_size=True), "Invalid step_size: True"),
    (lambda o: StepLR(o, step_size=2, gamma=-1), "Invalid gamma: -1 (must be a positive number)"),
    (lambda o: StepLR(o, step_size=2, gamma=0), "Invalid gamma: 0"),
    (lambda o: ExponentialLR(o, gamma=float("nan")), "Invalid gamma: nan"),
    (lambda o: ExponentialLR(o, gamma="0.9"), "Invalid gamma: '0.9'"),
    (lambda o: CosineAnnealingLR(o, T_max=0), "Invalid T_max: 0"),
    (lambda o: CosineAnnealingLR(o, T_max=10, eta_min=-0.1), "Invalid eta_min: -0.1"),
    (lambda o: CosineAnnealingLR(o, T_max=10, eta_min=float("inf")), "Invalid eta_min: inf"),
    (lambda o: ReduceLROnPlateau(o, mode="median"),
     "Invalid mode: 'median' (must be 'min' or 'max')"),
    (lambda o: ReduceLROnPlateau(o, factor=1.0), "Invalid factor: 1.0 (must be in [0, 1))"),
    (lambda o: ReduceLROnPlateau(o, factor=-0.5), "Invalid factor: -0.5"),
    (lambda o: ReduceLROnPlateau(o, patience=-1),
     "Invalid patience: -1 (must be an integer ≥ 0)"),
    (lambda o: ReduceLROnPlateau(o, threshold=-1e-4), "Invalid threshold: -0.0001"),
    (lambda o: ReduceLROnPlateau(o, threshold_mode="pct"),
     "Invalid threshold_mode: 'pct' (must be 'rel' or 'abs')"),
    (lambda o: ReduceLROnPlateau(o, cooldown=0.5), "Invalid cooldown: 0.5"),
    (lambda o: ReduceLROnPlateau(o, min_lr=-1), "Invalid min_lr: -1"),
    (lambda o: ReduceLROnPlateau(o, eps=-1e-8), "Invalid eps: -1e-08"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_bad_hyper_parameters_raise_value_error(make, message):
    opt = Opt(0.3)
    with pytest.raises(ValueError) as err:
        make(opt)
    assert str(err.value).startswith(message)
    assert opt.lr == 0.3  # a refused scheduler leaves the optimizer alone


@pytest.mark.parametrize("opt", [object(), Opt(None), Opt("0.1"), Opt(True)],
                         ids=["no-lr", "none", "str", "bool"])
@pytest.mark.parametrize("cls, kwargs", [
    (StepLR, {"step_size": 1}), (ExponentialLR, {"gamma": 0.9}),
    (CosineAnnealingLR, {"T_max": 3}), (ReduceLROnPlateau, {}),
], ids=lambda v: getattr(v, "__name__", ""))
def test_optimizer_without_numeric_lr_raises_type_error(opt, cls, kwargs):
    with pytest.raises(TypeError, match="numeric `lr` attribute"):
        cls(opt, **kwargs)


def test_plateau_has_no_lr_at():
    with pytest.raises(NotImplementedError, match="ReduceLROnPlateau is not a pure schedule"):
        ReduceLROnPlateau(Opt()).lr_at(1)


# ReduceLROnPlateau: lrs_over gives [lr at construction, then lr after each step(metric)]

def test_plateau_reduces_after_patience_plus_one_bad_epochs():
    opt = Opt(1.0)
    sched = ReduceLROnPlateau(opt, factor=0.5, patience=2)
    assert opt.lr == 1.0 and sched.best is None
    metrics = [10, 9, 9, 9, 9, 9, 9, 9]
    assert lrs_over(sched, 8, metrics) == [1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25]
    assert sched.best == 9 and sched.num_bad_epochs == 0 and sched.last_epoch == 8


def test_plateau_improvement_resets_patience():
    sched = ReduceLROnPlateau(Opt(1.0), factor=0.5, patience=2)
    bad = []
    for metric in [5, 6, 6, 4, 6, 6, 6]:
        sched.step(metric)
        bad.append(sched.num_bad_epochs)
    assert bad == [0, 1, 2, 0, 1, 2, 0]
    assert sched.get_last_lr() == [0.5] and sched.best == 4


def test_plateau_threshold_rel_needs_a_relative_improvement():
    sched = ReduceLROnPlateau(Opt(1.0), threshold=0.1, patience=5)  # better: < best·0.9
    for metric, best in [(10, 10), (9.5, 10), (9.0, 10), (8.9, 8.9)]:
        sched.step(metric)
        assert sched.best == best


def test_plateau_threshold_abs():
    sched = ReduceLROnPlateau(Opt(1.0), factor=0.5, patience=0, threshold=0.1,
                              threshold_mode="abs")  # better: < best − 0.1
    assert lrs_over(sched, 4, [10, 9.95, 9.85, 9.8]) == [1, 1, 0.5, 0.5, 0.25]
    assert sched.best == 9.85  # 9.95 is not below 10 − 0.1, nor 9.8 below 9.85 − 0.1


def test_plateau_mode_max():
    sched = ReduceLROnPlateau(Opt(1.0), mode="max", factor=0.5, patience=1)
    metrics = [0.5, 0.6, 0.6, 0.6, 0.7, 0.7, 0.7]
    assert lrs_over(sched, 7, metrics) == [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25]
    assert sched.best == 0.7


def test_plateau_cooldown_ignores_bad_epochs():
    sched = ReduceLROnPlateau(Opt(1.0), factor=0.5, patience=0, cooldown=2)
    lrs, counters = [], []
    for metric in [1, 2, 2, 2, 2, 2]:
        sched.step(metric)
        lrs.append(sched.get_last_lr()[0])
        counters.append((sched.cooldown_counter, sched.num_bad_epochs))
    assert lrs == [1, 0.5, 0.5, 0.5, 0.25, 0.25]  # reduce, 2 quiet epochs, reduce
    assert counters == [(0, 0), (2, 0), (1, 0), (0, 0), (2, 0), (1, 0)]


def test_plateau_min_lr_floor_and_eps():
    sched = ReduceLROnPlateau(Opt(1.0), factor=0.1, patience=0, min_lr=0.05)
    assert lrs_over(sched, 4, [1, 2, 2, 2]) == [1, 1, 0.1, 0.05, 0.05]
    # a reduction smaller than eps is skipped: 1.5e-8 → 0.75e-8 changes lr by < 1e-8
    assert lrs_over(ReduceLROnPlateau(Opt(1.5e-8), factor=0.5, patience=0), 2, [1, 2]) == [
        1.5e-8, 1.5e-8, 1.5e-8]
    assert lrs_over(ReduceLROnPlateau(Opt(1.5e-8), factor=0.5, patience=0, eps=0), 2,
                    [1, 2]) == [1.5e-8, 1.5e-8, 0.75e-8]


def test_plateau_accepts_numpy_metrics_and_nan_is_never_better():
    sched = ReduceLROnPlateau(Opt(1.0), patience=0)
    sched.step(np.float32(2.0))
    assert sched.best == 2.0 and type(sched.best) is float
    sched.step(float("nan"))
    assert sched.best == 2.0 and sched.get_last_lr() == [0.1]


# Against torch.optim.lr_scheduler, 30 epochs each (skipped without torch)

PLATEAU_METRICS = [5, 4, 4.2, 3.9, 3.9, 3.9, 3.9, 3.8, 3.85, 3.9, 3.95, 4, 3.7, 3.7, 3.7,
                   3.7, 3.7, 2, 2.0001, 2.1, 2.2, 2.3, 1.9999, 1.99, 1.99, 1.99, 1.99, 1.99,
                   1.99, 1.99]


@pytest.mark.parametrize("name, kwargs", [
    ("StepLR", dict(step_size=4, gamma=0.7)),
    ("StepLR", dict(step_size=1)),
    ("ExponentialLR", dict(gamma=0.93)),
    ("CosineAnnealingLR", dict(T_max=10)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.013)),
    ("ReduceLROnPlateau", dict()),
    ("ReduceLROnPlateau", dict(factor=0.5, patience=1, cooldown=2, min_lr=0.01)),
    ("ReduceLROnPlateau", dict(factor=0.3, patience=0, threshold=0.05, threshold_mode="abs")),
    ("ReduceLROnPlateau", dict(mode="max", factor=0.5, patience=2, threshold=0.01)),
    ("ReduceLROnPlateau", dict(mode="max", factor=0.5, patience=0, threshold_mode="abs",
                               eps=0.02)),
], ids=lambda v: v if isinstance(v, str) else ",".join(f"{k}={x}" for k, x in v.items()))
def test_matches_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    import fastnn.schedulers
    opt = Opt(0.1)
    ours = getattr(fastnn.schedulers, name)(opt, **kwargs)
    torch_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    theirs = getattr(torch.optim.lr_scheduler, name)(torch_opt, **kwargs)
    plateau = name == "ReduceLROnPlateau"
    metrics = [-m if kwargs.get("mode") == "max" else m for m in PLATEAU_METRICS]
    assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)
    for epoch in range(1, 31):
        torch_opt.step()  # keeps torch's "scheduler before optimizer" warning quiet
        ours.step(metrics[epoch - 1]) if plateau else ours.step()
        theirs.step(metrics[epoch - 1]) if plateau else theirs.step()
        assert ours.last_epoch == theirs.last_epoch == epoch
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12, abs=1e-15)
        assert opt.lr == pytest.approx(torch_opt.param_groups[0]["lr"], rel=1e-12, abs=1e-15)
        if plateau:
            best = math.inf if kwargs.get("mode", "min") == "min" else -math.inf
            assert (best if ours.best is None else ours.best) == theirs.best
            assert ours.num_bad_epochs == theirs.num_bad_epochs
            assert ours.cooldown_counter == theirs.cooldown_counter
        else:
            assert ours.lr_at(epoch) == pytest.approx(theirs._get_closed_form_lr()[0], rel=1e-15)
