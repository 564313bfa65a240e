"""Callbacks for `fit`: objects with ``on_epoch_end(epoch, logs) -> bool`` (True stops).

Optionally ``on_train_begin(model)`` and ``on_train_end(model)``.
"""
import difflib
import math

from fastnn.checks import flag, integer, number, option
from fastnn.errors import HyperParameterError


class EarlyStopping:
    """Stop when a monitored value has not improved for `patience` epochs.

    Parameters
    ----------
    monitor : str
        A key of the epoch logs: "val_loss", "loss", "val_accuracy", ...
    patience : int
        Training stops after this many epochs in a row without improvement (Keras's
        meaning: patience=0 stops at the first epoch that does not improve).
    min_delta : float
        The smallest change that counts as an improvement.
    restore_best : bool
        At the end of training, put back the weights of the best epoch.
    mode : {"auto", "min", "max"}
        "auto" maximizes accuracies and minimizes everything else.
    verbose : int
        ≥ 1: print one line when training stops early, and which epoch's weights were
        restored; 0: silent.
    """

    def __init__(self, monitor="val_loss", patience=10, min_delta=0.0, restore_best=True,
                 mode="auto", verbose=1):
        mode = option("mode", mode, ("auto", "min", "max"))
        if not isinstance(monitor, str) or not monitor:
            raise HyperParameterError(f"Invalid monitor: {monitor!r} (must be the name of an "
                                      f"epoch log such as 'val_loss')")
        self.monitor = monitor
        self.patience = integer("patience", patience, 0)
        self.min_delta = number("min_delta", min_delta, low=0)
        self.restore_best = flag("restore_best", restore_best)
        self.verbose = integer("verbose", verbose, 0)
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        self.mode = mode

    def on_train_begin(self, model):
        self.model = model
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch, self.best_params, self.wait = None, None, 0
        self.stopped_epoch = self.last_epoch = None

    def improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs):
        if self.monitor not in logs:
            close = difflib.get_close_matches(self.monitor, list(logs), n=1)
            if close:
                hint = f"; did you mean {close[0]!r}?"
            elif self.monitor.startswith("val_"):
                hint = "; pass validation data for val_* keys"
            else:
                hint = ""
            raise HyperParameterError(f"EarlyStopping monitors {self.monitor!r}, which is not "
                                      f"among the epoch logs {sorted(logs)}{hint}")
        value = logs[self.monitor]
        self.last_epoch = epoch
        if self.improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self.best_params = self.model.params.copy()
            return False
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, model):
        restored = self.restore_best and self.best_params is not None
        if restored:
            model.params[...] = self.best_params
        if self.verbose:
            message = self.report(restored)
            if message:
                print(message, flush=True)

    def report(self, restored):
        """One line: when training stopped and whose weights it kept, or None."""
        parts = []
        if self.stopped_epoch is not None:
            parts.append(f"stopped after epoch {self.stopped_epoch + 1}: {self.monitor} did "
                         f"not improve for {self.patience} epochs")
        if restored and self.best_epoch != self.last_epoch:
            parts.append(f"restored the weights of epoch {self.best_epoch + 1} "
                         f"({self.monitor} {self.best:.4f})")
        return "early stopping: " + "; ".join(parts) if parts else None
