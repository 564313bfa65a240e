"""Learning-rate schedulers with PyTorch's semantics (``torch.optim.lr_scheduler``).

Step a scheduler once per epoch, after the epoch's optimizer steps::

    opt = fnn.SGD(lr=0.1)
    sched = StepLR(opt, step_size=30, gamma=0.1)     # opt.lr == sched.lr_at(0) == 0.1
    for epoch in range(100):
        ...                                          # train with opt.lr
        sched.step()                                 # opt.lr = sched.lr_at(epoch + 1)

A schedule is a pure ``lr_at(epoch)`` of ``base_lr`` (the optimizer's ``lr`` when the
scheduler was built), so ``step()`` only counts epochs and writes ``optimizer.lr``; no
rounding error builds up. ``ReduceLROnPlateau`` depends on the metrics it has seen, so it
has no ``lr_at``.

``state_dict()`` holds the scheduler's state only, as numbers (plus ``None``), so it goes
through ``json.dumps(..., allow_nan=False)``; hyper-parameters come from the constructor,
as with the optimizers. ``load_state_dict`` also writes the restored ``lr`` to the
optimizer, since fastnn optimizers have no state dict of their own.
"""
import math
import numbers

from fastnn.checks import option, show
from fastnn.errors import DTypeError, HyperParameterError

__all__ = ["Scheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau"]


def _invalid(name, value, must):
    return HyperParameterError(f"Invalid {name}: {show(value)} ({must})")


def _real(name, value, ok, must):
    """value as a float if it is a finite real number with ok(value), else an error."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or not ok(value)):
        raise _invalid(name, value, must)
    return float(value)


def _int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise _invalid(name, value, "must be a positive integer" if low == 1
                       else f"must be an integer ≥ {low}")
    return int(value)


def _optional_float(value):
    return None if value is None else float(value)


class Scheduler:
    """The shared parts: the optimizer's lr, the epoch count, get_last_lr and the state dict.

    Parameters
    ----------
    optimizer : object with a numeric ``lr`` attribute, such as ``fnn.SGD``
        Its ``lr`` at construction becomes ``base_lr``; the scheduler rewrites it.

    Attributes
    ----------
    base_lr : float
        The optimizer's learning rate when the scheduler was built.
    last_epoch : int
        Steps taken: 0 after construction, +1 per ``step()``.
    last_lr : float
        The learning rate last written to the optimizer.
    """

    # name -> converter: what state_dict holds and how load_state_dict reads it back
    _state = {"base_lr": float, "last_epoch": int, "last_lr": float}

    def __init__(self, optimizer):
        self._attach(optimizer)
        self._set_lr(self.lr_at(0))  # PyTorch's constructor also takes this initial step

    def _attach(self, optimizer):
        lr = getattr(optimizer, "lr", None)
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
            raise DTypeError(f"optimizer must have a numeric `lr` attribute, such as fnn.SGD(), "
                            f"got {type(optimizer).__name__} with lr={lr!r}")
        self.optimizer, self.base_lr, self.last_epoch = optimizer, float(lr), 0
        self.last_lr = self.base_lr

    def _set_lr(self, lr):
        self.optimizer.lr = self.last_lr = float(lr)

    def lr_at(self, epoch):
        """The learning rate at `epoch` (0 = before the first ``step()``), from base_lr."""
        raise NotImplementedError(f"{type(self).__name__} is not a pure schedule: no lr_at")

    def step(self):
        """End an epoch: advance last_epoch by one and write its lr to the optimizer."""
        self.last_epoch += 1
        self._set_lr(self.lr_at(self.last_epoch))

    def get_last_lr(self):
        """[lr]: the learning rate last written to the optimizer, as a one-element list."""
        return [self.last_lr]

    def state_dict(self):
        """The scheduler's state as a plain, JSON-serializable dict of numbers."""
        return {name: getattr(self, name) for name in self._state}

    def load_state_dict(self, state):
        """Restore a ``state_dict()`` and write its lr to the optimizer."""
        missing, unknown = set(self._state) - set(state), set(state) - set(self._state)
        if missing or unknown:
            raise HyperParameterError(f"Invalid state_dict for {type(self).__name__}: missing keys "
                             f"{sorted(missing)}, unknown keys {sorted(unknown)}")
        for name, convert in self._state.items():
            setattr(self, name, convert(state[name]))
        self._set_lr(self.last_lr)


class StepLR(Scheduler):
    """Decay the learning rate by gamma every step_size epochs.

    lr = base_lr · gamma ** (epoch // step_size).
    """

    def __init__(self, optimizer, step_size, gamma=0.1):
        self.step_size = _int("step_size", step_size, 1)
        self.gamma = _real("gamma", gamma, lambda g: g > 0, "must be a positive number")
        super().__init__(optimizer)

    def lr_at(self, epoch):
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(Scheduler):
    """Decay the learning rate by gamma every epoch.

    lr = base_lr · gamma ** epoch.
    """

    def __init__(self, optimizer, gamma):
        self.gamma = _real("gamma", gamma, lambda g: g > 0, "must be a positive number")
        super().__init__(optimizer)

    def lr_at(self, epoch):
        return self.base_lr * self.gamma ** epoch


class CosineAnnealingLR(Scheduler):
    """Anneal the learning rate from base_lr to eta_min along half a cosine over T_max epochs.

    lr = eta_min + (base_lr − eta_min) · (1 + cos(π · epoch / T_max)) / 2.

    This is PyTorch's closed form (``_get_closed_form_lr``). PyTorch's ``step()`` uses a
    recursive form of the same curve and, like the closed form, does not stop at T_max: the
    lr climbs back to base_lr at 2·T_max and repeats with period 2·T_max (no warm restart).
    The two agree to rounding error; stop stepping at T_max to hold the lr at eta_min.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0):
        self.T_max = _int("T_max", T_max, 1)
        self.eta_min = _real("eta_min", eta_min, lambda e: e >= 0, "must be a number ≥ 0")
        super().__init__(optimizer)

    def lr_at(self, epoch):
        cos = math.cos(math.pi * epoch / self.T_max)
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + cos) / 2


class ReduceLROnPlateau(Scheduler):
    """Reduce the learning rate by `factor` once a metric stops improving for `patience` epochs.

    Each ``step(metric)`` compares the metric with the best so far: in mode "min" it
    improves if metric < best·(1 − threshold) ("rel") or metric < best − threshold ("abs");
    mode "max" mirrors it. An improvement records the new best and resets the count of bad
    epochs. After more than `patience` bad epochs, lr becomes max(lr·factor, min_lr) (only if
    that lowers it by more than eps), and the next `cooldown` epochs count no bad epochs.

    Parameters
    ----------
    mode : {"min", "max"}
    factor : float in [0, 1)
    patience, cooldown : int ≥ 0
    threshold : float ≥ 0
    threshold_mode : {"rel", "abs"}
    min_lr, eps : float ≥ 0

    ``best`` is None until a metric improves on the starting ±infinity, so the state dict
    stays plain JSON.
    """

    _state = {**Scheduler._state, "best": _optional_float, "num_bad_epochs": int,
              "cooldown_counter": int}

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
        self.mode = option("mode", mode, ("min", "max"))
        self.factor = _real("factor", factor, lambda f: 0 <= f < 1, "must be in [0, 1)")
        self.patience = _int("patience", patience, 0)
        self.threshold = _real("threshold", threshold, lambda t: t >= 0, "must be a number ≥ 0")
        self.threshold_mode = option("threshold_mode", threshold_mode, ("rel", "abs"))
        self.cooldown = _int("cooldown", cooldown, 0)
        self.min_lr = _real("min_lr", min_lr, lambda m: m >= 0, "must be a number ≥ 0")
        self.eps = _real("eps", eps, lambda e: e >= 0, "must be a number ≥ 0")
        self._attach(optimizer)  # like PyTorch, leaves the optimizer's lr as it is
        self.best, self.num_bad_epochs, self.cooldown_counter = None, 0, 0

    def _is_better(self, metric):
        rel = self.threshold_mode == "rel"
        if self.mode == "min":
            best = math.inf if self.best is None else self.best
            return metric < (best * (1.0 - self.threshold) if rel else best - self.threshold)
        best = -math.inf if self.best is None else self.best
        return metric > (best * (1.0 + self.threshold) if rel else best + self.threshold)

    def step(self, metric):
        """End an epoch whose monitored value (e.g. validation loss) was `metric`.

        A NaN metric counts as an epoch without improvement, as in PyTorch.
        """
        try:
            metric = float(metric)
        except (TypeError, ValueError):
            raise DTypeError(f"ReduceLROnPlateau.step needs the monitored value as a number, "
                             f"got {type(metric).__name__} {show(metric)}") from None
        self.last_epoch += 1
        if self._is_better(metric):
            self.best, self.num_bad_epochs = metric, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during cooldown do not count
        if self.num_bad_epochs > self.patience:
            lr = float(self.optimizer.lr)
            new_lr = max(lr * self.factor, self.min_lr)
            if lr - new_lr > self.eps:
                self.optimizer.lr = new_lr
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self.last_lr = float(self.optimizer.lr)
