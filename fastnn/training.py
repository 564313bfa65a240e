"""The fit loop: batches gathered into preallocated buffers, one train step each, History."""
import math
import sys
import time

import numpy as np

from fastnn.checks import positive_int


class History:
    """What fit measured, one entry per epoch.

    ``history["loss"]``, ``["accuracy"]`` (classifiers), ``["val_loss"]``,
    ``["val_accuracy"]`` (with validation data) and ``["seconds"]`` (training time).
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
    parts += [f"{key} {value:.4f}" for key, value in logs.items() if key != "seconds"]
    parts.append(f"{logs['seconds']:.2f}s")
    return "  ".join(parts)


def _progress(total, verbose, desc):
    """A tqdm bar when verbose is 1 and stdout is a terminal, else None."""
    if verbose != 1 or not sys.stdout.isatty():
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="batch", leave=False, file=sys.stdout)


def fit(model, X, y, epochs=1, batch_size=32, validation_data=None, shuffle=True, verbose=1):
    """Train `model` for `epochs` passes over (X, y); see `Sequential.fit`."""
    epochs = positive_int("epochs", epochs)
    batch_size = positive_int("batch_size", batch_size)
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
    X, targets = model.prepare(X, y)
    validation = None
    if validation_data is not None:
        if len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (X_val, y_val)")
        validation = model.prepare(*validation_data)

    n_samples = len(X)
    rows = min(batch_size, n_samples)
    model.allocate(rows)
    x_buffer = model.x_buffer
    t_buffer = np.empty((rows,) + targets.shape[1:], targets.dtype)
    per_sample = targets.size // n_samples  # outputs scored per sample, for accuracy
    history = History()

    for epoch in range(epochs):
        bar = _progress(math.ceil(n_samples / rows), verbose, f"epoch {epoch + 1}/{epochs}")
        start_time = time.perf_counter()
        order = model.rng.permutation(n_samples) if shuffle else np.arange(n_samples)
        total_loss, total_hits = 0.0, 0
        for batch, start in enumerate(range(0, n_samples, rows)):
            index = order[start:start + rows]
            n = len(index)
            x, t = x_buffer[:n], t_buffer[:n]
            model.kernels.gather_rows(x, X, index)
            np.take(targets, index, axis=0, out=t, mode="clip")  # "clip": out unbuffered
            loss, hits = model.train_step(x, t)
            if not math.isfinite(loss):
                raise FloatingPointError(
                    f"loss became {loss} at epoch {epoch + 1}, batch {batch + 1}; "
                    f"try a smaller learning rate or scale the inputs")
            total_loss += loss * n
            total_hits += hits
            if bar is not None:
                bar.update()
        seconds = time.perf_counter() - start_time
        if bar is not None:
            bar.close()

        logs = {"loss": total_loss / n_samples}
        if model.loss.hits is not None:
            logs["accuracy"] = total_hits / (n_samples * per_sample)
        if validation is not None:
            for key, value in model.evaluate_prepared(*validation).items():
                logs["val_" + key] = value
        logs["seconds"] = seconds
        history.append(epoch, logs)
        if verbose:
            print(format_logs(epoch, epochs, logs), flush=True)
    return history
