"""The fit loop: epochs of steps run in chunks (fastnn.epoch), validation, callbacks, History."""
import math
import sys
import time

import numpy as np

from fastnn.checks import positive_int
from fastnn.epoch import CHUNK, DriverSteps, StepByStep, unsupported
from fastnn.errors import DTypeError, HyperParameterError, TrainingDivergedError
from fastnn.schedulers import ReduceLROnPlateau


class History:
    """What fit measured, one entry per epoch.

    ``history["loss"]``, ``["accuracy"]`` (classifiers), ``["val_loss"]``,
    ``["val_accuracy"]`` (with validation data), ``["lr"]`` (the learning rate the epoch
    ran with) and ``["seconds"]`` (training time, without validation).
    """

    def __init__(self):
        self.history = {}
        self.epoch = []

    def append(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


def format_logs(epoch, epochs, logs):
    parts = [f"epoch {epoch + 1}/{epochs}"]
    parts += [f"{key} {value:.4g}" if key == "lr" else f"{key} {value:.4f}"
              for key, value in logs.items() if key != "seconds"]
    parts.append(f"{logs['seconds']:.2f}s")
    return "  ".join(parts)


def _progress(total, verbose, desc):
    """A tqdm bar when verbose is 1 and stdout is a terminal, else None."""
    if verbose != 1 or not sys.stdout.isatty():
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="batch", leave=False, file=sys.stdout)


def _validation(model, X, y, validation_data, validation_split):
    """(X_train, y_train, validation pair or None), the split seeded and stratified."""
    if validation_data is not None and validation_split:
        raise HyperParameterError("pass validation_data or validation_split, not both")
    if validation_data is not None:
        if len(validation_data) != 2:
            raise HyperParameterError("validation_data must be a pair (X_val, y_val)")
        return X, y, validation_data
    if not validation_split:
        return X, y, None
    if not 0.0 < validation_split < 1.0:
        raise HyperParameterError(
            f"Invalid validation_split: {validation_split!r} (must be in (0, 1))")
    from fastnn.datasets import train_test_split
    stratify = model.loss.hits is not None and np.asarray(y).ndim == 1  # classifiers
    X, X_val, y, y_val = train_test_split(X, y, test_size=validation_split, seed=model.seed,
                                          stratify=np.asarray(y) if stratify else False)
    return X, y, (X_val, y_val)


def _diverged(model, steps, epoch, first, done):
    """Raise for step `done` of the chunk from batch `first`: its loss was not finite, or
    its update made the parameters non-finite."""
    batch = first + done
    what = (f"loss became {steps.losses[done]}" if steps.failure == "loss"
            else "parameters became NaN or inf")
    raise TrainingDivergedError(
        f"{what} at epoch {epoch + 1}, batch {batch + 1}; the weights are those of the "
        f"last finite step. Try a smaller learning rate (now {model.optimizer.lr:g}), "
        f"clip_norm, or scaled inputs")


def fit(model, X, y, epochs=1, batch_size=32, validation_data=None, validation_split=0.0,
        callbacks=None, scheduler=None, shuffle=True, verbose=1, sample_weight=None):
    """Train `model` for up to `epochs` passes over (X, y); returns a `History`.

    validation_split holds out a seeded (stratified, for classifiers) fraction of X.
    callbacks: objects with on_epoch_end(epoch, logs) returning True to stop (see
    `fastnn.callbacks`). scheduler: stepped after every epoch (`fastnn.schedulers`);
    ReduceLROnPlateau gets val_loss, or loss without validation data.
    verbose: 0 silent, 1 progress bar (on a terminal) and a line per epoch, 2 a line per
    epoch. A non-finite loss, or an update that makes the parameters non-finite, stops
    training with TrainingDivergedError (a FloatingPointError) naming the epoch and batch;
    the weights are then those of the last finite step. sample_weight (N,): each batch's
    loss is the weighted mean (such fits run step by step, not in the driver kernel).

    Each epoch's steps run in chunks (``fastnn.epoch``): in the backend's compiled
    training loop when the model allows it (``kernels.driver.train_steps``), else one
    ``Sequential.train_step`` at a time; ``model.training_path()`` says which.
    """
    epochs = positive_int("epochs", epochs)
    batch_size = positive_int("batch_size", batch_size)
    if verbose not in (0, 1, 2):
        raise HyperParameterError(f"Invalid verbose: {verbose!r} (must be 0, 1 or 2)")
    callbacks = list(callbacks or [])
    for callback in callbacks:
        if not callable(getattr(callback, "on_epoch_end", None)):
            raise DTypeError(f"a callback needs an on_epoch_end(epoch, logs) method, "
                            f"got {type(callback).__name__}")
    if sample_weight is not None and validation_split:
        raise HyperParameterError("sample_weight cannot be split by validation_split: "
                                  "pass validation_data instead")
    X, y, validation = _validation(model, X, y, validation_data, validation_split)
    X, targets = model.prepare(X, y)
    weights = None if sample_weight is None else model.sample_weights(sample_weight, len(X))
    if validation is not None:
        validation = model.prepare(*validation)

    n_samples = len(X)
    rows = min(batch_size, n_samples)
    # sized once for the batches and the validation chunks, so nothing grows mid-fit
    model.allocate(max(rows, min(len(validation[0]), CHUNK)) if validation else rows)
    if weights is not None:
        steps = StepByStep(model, X, targets, rows, weights)
    else:
        steps = (StepByStep if unsupported(model) else DriverSteps)(model, X, targets, rows)
    n_batches = math.ceil(n_samples / rows)
    per_sample = targets.size // n_samples  # outputs scored per sample, for accuracy
    history = History()
    for callback in callbacks:
        getattr(callback, "on_train_begin", lambda m: None)(model)

    for epoch in range(epochs):
        bar = _progress(n_batches, verbose, f"epoch {epoch + 1}/{epochs}")
        lr = model.optimizer.lr
        start_time = time.perf_counter()
        order = model.rng.permutation(n_samples) if shuffle else np.arange(n_samples)
        total_loss, total_hits = 0.0, 0
        for first in range(0, n_batches, steps.chunk):
            count = min(steps.chunk, n_batches - first)
            done = steps.run(order, first, count)
            sizes = steps.batch_sizes(first, done)
            total_loss += math.fsum(steps.losses[:done] * sizes)
            total_hits += int(steps.hits[:done].sum())
            if done < count:
                if bar is not None:
                    bar.close()
                _diverged(model, steps, epoch, first, done)
            if bar is not None:
                bar.update(count)
        seconds = time.perf_counter() - start_time
        if bar is not None:
            bar.close()

        logs = {"loss": total_loss / n_samples}
        if model.loss.hits is not None:
            logs["accuracy"] = total_hits / (n_samples * per_sample)
        if validation is not None:
            for key, value in model.evaluate_prepared(*validation).items():
                logs["val_" + key] = value
        logs["lr"] = lr
        logs["seconds"] = seconds
        history.append(epoch, logs)
        if verbose:
            print(format_logs(epoch, epochs, logs), flush=True)
        if isinstance(scheduler, ReduceLROnPlateau):
            scheduler.step(logs.get("val_loss", logs["loss"]))
        elif scheduler is not None:
            scheduler.step()
        stop = [bool(callback.on_epoch_end(epoch, logs)) for callback in callbacks]
        if any(stop):
            break
    for callback in callbacks:
        getattr(callback, "on_train_end", lambda m: None)(model)
    return history
