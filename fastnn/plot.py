"""Pictures of training: learning curves, decision boundaries, MNIST predictions, confusion.

matplotlib is optional: importing this module needs only NumPy, and each picture function
imports matplotlib when called. Figures are built as `matplotlib.figure.Figure` on an Agg
canvas, never through pyplot, so nothing touches pyplot's global state or opens a window,
and a figure is freed like any other object once dropped.

Every picture function returns its Figure and, given `path`, also saves it there as a PNG.
"""
import math

import numpy as np

from fastnn.checks import positive_int, same_length

MISSING = ('matplotlib is needed for fastnn.plot: pip install -e ".[plot]" '
           '(or pip install matplotlib)')
DPI = 100
MAX_WRITTEN_CLASSES = 30  # above this, counts in confusion-matrix cells are unreadable


# ---- helpers -------------------------------------------------------------------------


def _figure(width, height):
    """A Figure of `width` x `height` inches on its own Agg canvas (no pyplot)."""
    try:
        import matplotlib  # noqa: F401  (first, so a blocked matplotlib fails here)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError(MISSING) from err
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _finish(fig, path):
    """Save `fig` as a PNG at `path` when given; return `fig`."""
    if path is not None:
        fig.savefig(path, format="png", dpi=DPI)
    return fig


def _labels(name, y):
    """Integer class labels (N,) from labels (N,), (N, 1) or one-hot rows (N, C)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    elif y.ndim == 2:
        y = y.argmax(axis=1)
    if y.ndim != 1:
        raise ValueError(f"{name} must hold class labels (N,) or one-hot rows (N, C), "
                         f"got shape {y.shape}")
    if y.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    if y.dtype.kind == "f" and not (np.isfinite(y).all() and (y == np.round(y)).all()):
        raise ValueError(f"{name} must hold integer class labels, got non-integer values")
    if (y < 0).any():
        raise ValueError(f"{name} must hold class labels ≥ 0, got {y.min()}")
    return y.astype(np.int64)


def _class_colors(n_classes):
    """(n_classes, 3) RGB colours: tab10, then tab20, then a continuous map."""
    from matplotlib import colormaps
    if n_classes <= 10:
        return colormaps["tab10"].colors[:n_classes]
    if n_classes <= 20:
        return colormaps["tab20"].colors[:n_classes]
    return colormaps["turbo"](np.linspace(0, 1, n_classes))[:, :3]


# ---- learning curves -----------------------------------------------------------------


def _curve_panels(logs, held_out="validation"):
    """[(title, [(key, label), ...])] for the panels that `logs` has data for."""
    panels = [("loss", [("loss", "train"), ("val_loss", held_out)]),
              ("accuracy", [("accuracy", "train"), ("val_accuracy", held_out)]),
              ("learning rate", [("lr", "lr")])]
    if len(set(logs.get("lr", ()))) <= 1:  # a constant learning rate is not worth a panel
        panels.pop()
    return [(title, [(key, label) for key, label in curves if logs.get(key)])
            for title, curves in panels
            if any(logs.get(key) for key, _ in curves)]


def history(history, path=None, held_out="validation"):
    """Loss, accuracy and learning-rate curves against the epoch, side by side.

    Parameters
    ----------
    history : History or dict
        What `Sequential.fit` returned, or its ``.history`` dict of per-epoch lists.
        The loss panel shows "loss" and "val_loss", the accuracy panel (when present)
        "accuracy" and "val_accuracy", and a learning-rate panel appears when "lr"
        changes from epoch to epoch.
    path : str or path-like, optional
        Where to save the figure as a PNG.
    held_out : str, default "validation"
        What the "val_*" curves are called: "test" when fit was given the test set.

    Returns
    -------
    matplotlib.figure.Figure
    """
    logs = getattr(history, "history", history)
    if not hasattr(logs, "get"):
        raise TypeError(f"history must be a History or its .history dict, "
                        f"got {type(history).__name__}")
    panels = _curve_panels(logs, held_out)
    if not panels:
        raise ValueError(f"history has none of loss, accuracy, lr; keys: {list(logs)}")
    fig = _figure(4.5 * len(panels), 3.6)
    for ax, (title, curves) in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels):
        _plot_curves(ax, logs, title, curves)
    fig.tight_layout()
    return _finish(fig, path)


def _plot_curves(ax, logs, title, curves):
    from matplotlib.ticker import MaxNLocator
    for key, label in curves:
        values = np.asarray(logs[key], dtype=float)
        epochs = np.arange(1, len(values) + 1)
        ax.plot(epochs, values, marker="o" if len(values) <= 30 else None, markersize=3,
                label=label)
    ax.set(title=title, xlabel="epoch", ylabel=title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if title == "learning rate":
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    else:
        ax.legend()
    ax.grid(alpha=0.3)


# ---- decision boundary ---------------------------------------------------------------


def _grid(X, resolution, margin=0.1):
    """(xs, ys) axis vectors of `resolution` points over X's range widened by `margin`."""
    low, high = X.min(axis=0), X.max(axis=0)
    pad = np.where(high > low, margin * (high - low), 1.0)
    return tuple(np.linspace(low[i] - pad[i], high[i] + pad[i], resolution) for i in (0, 1))


def _confidence(model, points):
    """Probability of the predicted class for each point, from predict_proba."""
    proba = model.predict_proba(points)
    if proba.shape[1] == 1:  # sigmoid: P(1) in one column
        return np.maximum(proba[:, 0], 1 - proba[:, 0])
    return proba.max(axis=1)


def _region_image(labels, confidence, colors):
    """RGB image: each cell its predicted class's colour, paler where the model is unsure."""
    n_classes = len(colors)
    chance = 1 / n_classes
    strength = 0.15 + 0.45 * np.clip((confidence - chance) / (1 - chance), 0, 1)
    rgb = np.asarray(colors)[labels]
    return 1 - strength[..., None] * (1 - rgb)


def decision_boundary(model, X, y, path=None, resolution=200):
    """Predicted class regions of a 2-input classifier, with the data on top.

    The plane over X's range (plus a 10% margin) is coloured by `model.predict`; the
    shade deepens with the predicted class's probability (`model.predict_proba`), and
    black lines mark where the predicted class changes. Points are coloured by true label.

    Parameters
    ----------
    model : Sequential
        A trained classifier with 2 inputs: softmax ("cce") or sigmoid ("bce", 1 output).
    X : array_like (N, 2)
    y : array_like (N,) or (N, C)
        Class labels, or one-hot rows.
    path : str or path-like, optional
        Where to save the figure as a PNG.
    resolution : int
        Grid points per axis.

    Returns
    -------
    matplotlib.figure.Figure
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2 or len(X) == 0:
        raise ValueError(f"decision_boundary needs 2-D inputs: X must be (n, 2), "
                         f"got shape {X.shape}")
    y = _labels("y", y)
    same_length(X, y)
    resolution = positive_int("resolution", resolution)
    _check_classifier("decision_boundary", model)
    fig = _figure(5.5, 5)  # first: without matplotlib, fail before predicting
    xs, ys = _grid(X, resolution)
    points = np.column_stack([a.ravel() for a in np.meshgrid(xs, ys)])
    labels = model.predict(points).reshape(resolution, resolution)
    confidence = _confidence(model, points).reshape(resolution, resolution)
    n_classes = max(model.n_outputs, 2, int(y.max()) + 1)
    colors = _class_colors(n_classes)

    ax = fig.subplots()
    ax.imshow(_region_image(labels, confidence, colors), origin="lower", aspect="auto",
              extent=(xs[0], xs[-1], ys[0], ys[-1]), interpolation="nearest")
    if labels.min() != labels.max():
        ax.contour(xs, ys, labels, levels=np.arange(n_classes - 1) + 0.5, colors="k",
                   linewidths=0.8)
    for c in np.unique(y):
        ax.scatter(*X[y == c].T, color=colors[c], edgecolors="k", linewidths=0.5, s=22,
                   label=f"class {c}")
    ax.set(xlabel="x[0]", ylabel="x[1]", title="decision boundary")
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return _finish(fig, path)


# ---- MNIST predictions ---------------------------------------------------------------


def mnist_predictions(model, X, y, path=None, n=25):
    """`n` digits in a square-ish grid, mistakes first, each titled "pred P / true T".

    The grid shows the digits the model gets wrong, in order, then right ones to fill it.
    Mistakes get a red title and a red frame; the figure title counts them over all of X.

    Parameters
    ----------
    model : Sequential
        A 784-input classifier.
    X : array_like (N, 784) or (N, 28, 28)
        Pixel rows, in [0, 1] or [0, 255].
    y : array_like (N,) or (N, 10)
        True labels, or one-hot rows.
    path : str or path-like, optional
        Where to save the figure as a PNG.
    n : int
        How many digits to show (at most N).

    Returns
    -------
    matplotlib.figure.Figure
    """
    X = np.asarray(X)
    if X.ndim == 3 and X.shape[1:] == (28, 28):
        X = X.reshape(len(X), 784)
    if X.ndim != 2 or X.shape[1] != 784 or len(X) == 0:
        raise ValueError(f"X must hold 28x28 digits as (n, 784) or (n, 28, 28), "
                         f"got shape {X.shape}")
    y = _labels("y", y)
    same_length(X, y)
    n = min(positive_int("n", n), len(X))
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    fig = _figure(1.25 * cols, 1.35 * rows + 0.4)
    pred = model.predict(X)
    wrong = pred != y
    shown = np.concatenate([np.flatnonzero(wrong), np.flatnonzero(~wrong)])[:n]
    X, y, pred = X[shown], y[shown], pred[shown]
    vmax = 1.0 if X.max() <= 1 else 255.0

    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, x, p, t in zip(axes, X, pred, y):
        _digit(ax, x.reshape(28, 28), p, t, vmax)
    for ax in axes[n:]:
        ax.set_axis_off()
    fig.suptitle(f"{int(wrong.sum())} of {len(wrong)} wrong, mistakes first")
    fig.tight_layout()
    return _finish(fig, path)


def _digit(ax, image, pred, true, vmax):
    """One digit, titled "pred P / true T"; red title and frame when P != T."""
    wrong = pred != true
    ax.imshow(image, cmap="gray", vmin=0, vmax=vmax, interpolation="nearest")
    ax.set_title(f"pred {pred} / true {true}", fontsize=8, color="red" if wrong else "black")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(bool(wrong))
        spine.set(color="red", linewidth=2.5)


# ---- confusion matrix ----------------------------------------------------------------


def confusion_counts(y_true, y_pred, n_classes=None):
    """Counts of (true, predicted) label pairs; needs only NumPy.

    Parameters
    ----------
    y_true, y_pred : array_like (N,) or (N, C)
        Class labels, or one-hot rows.
    n_classes : int, optional
        Default: one more than the largest label seen.

    Returns
    -------
    ndarray of int64 (C, C)
        ``counts[t, p]`` is how many samples of true class t were predicted as p.
    """
    y_true, y_pred = _labels("y_true", y_true), _labels("y_pred", y_pred)
    same_length(y_true, y_pred, names=("y_true", "y_pred"))
    seen = int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    if n_classes is None:
        n_classes = seen
    elif positive_int("n_classes", n_classes) < seen:
        raise ValueError(f"labels go up to {seen - 1}, but n_classes is {n_classes}")
    flat = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes).astype(np.int64)


def confusion_matrix(y_true, y_pred, path=None, n_classes=None):
    """The confusion matrix as an image, counts written in the cells.

    Rows are true classes, columns predicted ones (as in `confusion_counts`); counts are
    written in the cells for up to 30 classes.

    Parameters
    ----------
    y_true, y_pred : array_like (N,) or (N, C)
        Class labels, or one-hot rows.
    path : str or path-like, optional
        Where to save the figure as a PNG.
    n_classes : int, optional
        Default: one more than the largest label seen.

    Returns
    -------
    matplotlib.figure.Figure
    """
    counts = confusion_counts(y_true, y_pred, n_classes)
    n_classes = len(counts)
    side = min(max(4.0, 0.5 * n_classes + 2.0), 14.0)
    fig = _figure(side + 1.0, side)
    ax = fig.subplots()
    from matplotlib.ticker import MaxNLocator
    image = ax.imshow(counts, cmap="Blues", vmin=0, interpolation="nearest")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, ticks=MaxNLocator(integer=True))
    if n_classes <= MAX_WRITTEN_CLASSES:
        _write_counts(ax, counts)
        ax.set_xticks(np.arange(n_classes))
        ax.set_yticks(np.arange(n_classes))
    total = counts.sum()
    accuracy = np.trace(counts) / total if total else float("nan")
    ax.set(xlabel="predicted", ylabel="true", title=f"accuracy {accuracy:.3f} (n={total})")
    fig.tight_layout()
    return _finish(fig, path)


def _write_counts(ax, counts):
    """Each count in its cell, white on dark cells so it stays readable."""
    dark = counts > counts.max() / 2
    size = 9 if len(counts) <= 12 else 6
    for (t, p), count in np.ndenumerate(counts):
        ax.text(p, t, str(count), ha="center", va="center", fontsize=size,
                color="white" if dark[t, p] else "black")


# ---- mistakes --------------------------------------------------------------------------


def mistakes(model, X, y, path=None, n=25, image_shape=(28, 28)):
    """The misclassified images in a grid, the model's most confident mistakes first.

    Each image is titled with the predicted class, its probability and the true class;
    the figure title counts the mistakes among all N images.

    Parameters
    ----------
    model : Sequential
        A trained classifier: softmax ("cce") or a single sigmoid ("bce").
    X : array_like (N, H·W) or (N, H, W)
        Images as pixel rows, e.g. MNIST's (N, 784).
    y : array_like (N,) or (N, C)
        True labels, or one-hot rows.
    path : str or path-like, optional
        Where to save the figure as a PNG.
    n : int
        Show at most this many mistakes.
    image_shape : (int, int)
        (H, W) of one image; H·W must equal X's row length.

    Returns
    -------
    matplotlib.figure.Figure
    """
    height, width = (positive_int("image_shape[0]", image_shape[0]),
                     positive_int("image_shape[1]", image_shape[1]))
    X = np.asarray(X)
    if X.ndim == 3 and X.shape[1:] == (height, width):
        X = X.reshape(len(X), height * width)
    if X.ndim != 2 or X.shape[1] != height * width or len(X) == 0:
        raise ValueError(f"X must hold {height}x{width} images as (n, {height * width}) or "
                         f"(n, {height}, {width}), got shape {X.shape}")
    y = _labels("y", y)
    same_length(X, y)
    n = positive_int("n", n)
    _check_classifier("mistakes", model)
    fig = _figure(1.25, 1.0)  # first: without matplotlib, fail before predicting
    pred = model.predict(X)
    confidence = _confidence(model, X)
    wrong = np.flatnonzero(pred != y)
    shown = wrong[np.argsort(-confidence[wrong], kind="stable")][:n]
    summary = f"{len(wrong)} of {len(X)} wrong ({len(wrong) / len(X):.1%})"
    if len(shown) == 0:
        fig.set_size_inches(4, 1)
        fig.text(0.5, 0.5, summary, ha="center", va="center")
        return _finish(fig, path)

    cols = min(len(shown), math.ceil(math.sqrt(len(shown))))
    rows = math.ceil(len(shown) / cols)
    fig.set_size_inches(1.25 * cols, 1.45 * rows + 0.5)
    low, high = _pixel_range(X)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, i in zip(axes, shown):
        ax.imshow(X[i].reshape(height, width), cmap="gray", vmin=low, vmax=high,
                  interpolation="nearest")
        ax.set_title(f"pred {pred[i]} ({confidence[i]:.0%})\ntrue {y[i]}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(shown):]:
        ax.set_axis_off()
    most = "the most confident mistake" if len(shown) == 1 else (
        f"the {len(shown)} most confident mistakes")
    fig.suptitle(f"{summary}; {most}" if cols >= 4 else f"{summary}\n{most}", fontsize=10)
    fig.tight_layout()
    return _finish(fig, path)


def _pixel_range(X):
    """(low, high) for the grey scale: [0, 1] or [0, 255] when the pixels fit, else theirs."""
    low, high = float(X.min()), float(X.max())
    if low >= 0 and high <= 1:
        return 0.0, 1.0
    if low >= 0 and high <= 255:
        return 0.0, 255.0
    return low, high


def _check_classifier(what, model):
    """ValueError unless `model` is a softmax or single-sigmoid classifier."""
    loss = model.loss.name
    if not (loss == "cce" or (loss == "bce" and model.n_outputs == 1)):
        raise ValueError(f"{what} needs a softmax or single-sigmoid classifier, "
                         f"got loss {loss!r} with {model.n_outputs} outputs")
