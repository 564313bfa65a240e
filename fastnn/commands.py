"""What the fastnn subcommands do: read the data, train or load a model, report.

`fastnn.cli` parses the command line and turns errors into one line; each function here
takes the parsed arguments and returns the exit status.
"""
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fastnn.datasets import (DataSpec, load_idx_folder, load_mnist, read_csv, read_npz,
                             train_test_split)
from fastnn.datasets.idx import is_idx_folder
from fastnn.datasets.spec import guess_task
from fastnn.datasets.tabular import csv_columns
from fastnn.epoch import training_loop
from fastnn.errors import DataFileError, HyperParameterError

#: Roughly how long the first training run compiles the Numba kernels (two cores; the
#: measurement is in docs/performance.md).
COLD_START_SECONDS = 10
DEFAULT_TEST_SPLIT = 0.2  # for data that brings no test set


@dataclass
class Prepared:
    """Training data as the network takes it, and how it was made."""

    X: np.ndarray
    y: np.ndarray
    test: object          # (X_test, y_test) or None
    spec: DataSpec
    title: str            # what the header line calls the data
    held_out: str         # how the test set was made, for the header line


# ---- fastnn train ---------------------------------------------------------------------


def train(args):
    import fastnn as fnn

    say = print if args.verbose else _silent
    data = prepare_training_data(args)
    spec = data.spec
    classifier = spec.task == "classification"
    sizes = [data.X.shape[1], *args.hidden, spec.n_outputs]
    model = fnn.mlp(sizes, output="softmax" if classifier else "linear",
                    loss="cce" if classifier else "mse", optimizer=fnn.Adam(lr=args.lr),
                    seed=args.seed, backend=args.backend, dtype=args.dtype)
    model.data_spec = spec
    say(f"fastnn: {data.title} {'-'.join(map(str, sizes))}, {model.backend} backend, batch "
        f"{args.batch_size}, {args.epochs} epochs, {len(data.X)} training samples"
        f"{data.held_out}", flush=True)
    if args.verbose and kernels_need_compiling(model):
        say(f"fastnn: compiling kernels (first run only, about {COLD_START_SECONDS} s)…",
            flush=True)
    start = time.perf_counter()
    history = model.fit(data.X, data.y, epochs=args.epochs, batch_size=args.batch_size,
                        validation_data=data.test if args.plot else None,
                        verbose=args.verbose)
    total = time.perf_counter() - start
    name, (X, y) = ("test", data.test) if data.test is not None else ("train", (data.X, data.y))
    print(f"{result_line(model, X, y, name + ' ')}  ({total:.1f}s in total)")
    if args.save:
        model.save(args.save)
        print(f"saved to {args.save}")
    if args.plot:
        write_plots(args.plot, model, history, X, y, name, say)
    return 0


def _silent(*args, **kwargs):
    pass


def prepare_training_data(args):
    """The training (and test) data the arguments name, checked and encoded."""
    if args.dataset == "mnist":
        if args.test is not None or args.test_split is not None:
            raise HyperParameterError("mnist comes with its test set; --test and "
                                      "--test-split are for your own data")
        (X, y), test = load_mnist(args.data)
        return _images(args, "MNIST", X[:args.samples], y[:args.samples], test, "",
                       labels=np.arange(10))
    if args.data is not None:
        raise HyperParameterError("--data names the MNIST folder; give your own data as "
                                  f"the DATA argument (got {args.dataset!r} and --data)")
    path = Path(args.dataset)
    if path.is_dir():
        (X, y), test = load_idx_folder(path)
        X, y = X[:args.samples], y[:args.samples]
        held_out = ""
        if args.test is not None:
            test_train, test = load_idx_folder(args.test)
            test = test or test_train  # its t10k files, else its train files
            held_out = f", {len(test[0])} test samples from {args.test}"
        if test is None or args.test_split is not None:
            X, y, test, held_out = _split_arrays(args, X, y)
        return _images(args, path.name, X, y, test, held_out)
    table = read_table(path, target=args.target, need_target=True)
    table = table.rows(np.arange(min(args.samples or len(table.X), len(table.X))))
    task = args.task or guess_task(table.y)
    standardize = args.standardize is not False
    test_table, held_out = None, ""
    if args.test is not None:
        test_table = read_table(args.test, target=table.target, need_target=True,
                                features=table.features)
        held_out = f", {len(test_table.X)} test samples from {args.test}"
    else:
        fraction = DEFAULT_TEST_SPLIT if args.test_split is None else args.test_split
        if fraction:
            index = np.arange(len(table.X))
            train_at, test_at, _, _ = train_test_split(
                index, index, test_size=fraction, seed=args.seed,
                stratify=table.y if task == "classification" else False)
            table, test_table = table.rows(np.sort(train_at)), table.rows(np.sort(test_at))
            held_out = f", {len(test_table.X)} test samples ({fraction:.0%} held out)"
    spec, X, y = DataSpec.fit(table, task=task, standardize=standardize)
    test = None if test_table is None else (spec.inputs(test_table.X),
                                            spec.targets(test_table))
    what = (f"{len(spec.classes)} classes" if task == "classification" else "regression")
    return Prepared(X, y, test, spec, f"{path.name} → {table.target!r} ({what})", held_out)


def _split_arrays(args, X, y):
    fraction = DEFAULT_TEST_SPLIT if args.test_split is None else args.test_split
    if not fraction:
        return X, y, None, ""
    X, X_test, y, y_test = train_test_split(X, y, test_size=fraction, seed=args.seed)
    return X, y, (X_test, y_test), f", {len(X_test)} test samples ({fraction:.0%} held out)"


def _images(args, title, X, y, test, held_out, labels=None):
    """Image data (MNIST, an IDX folder): pixels in [0, 1], integer labels as classes
    (`labels`, default those in y)."""
    labels = np.unique(y) if labels is None else labels
    spec = DataSpec(task="classification", classes=np.array([str(v) for v in labels]),
                    source=title, n_samples=len(X))
    if args.standardize:  # off by default: the pixels are already in [0, 1]
        std = X.std(axis=0, dtype=np.float64)
        spec.mean, spec.std = X.mean(axis=0, dtype=np.float64), np.where(std > 0, std, 1.0)
        spec.standardized = True
        X = spec.inputs(X)
        test = None if test is None else (spec.inputs(test[0]), test[1])

    def encode(values, where):
        index = np.searchsorted(labels, values)
        unknown = (index >= len(labels)) | (labels[np.minimum(index, len(labels) - 1)] !=
                                            values)
        if unknown.any():
            i = int(np.argmax(unknown))
            raise DataFileError(f"{where}: label {values[i]} at index {i} is not among the "
                                f"training labels {', '.join(spec.classes)}")
        return index

    y = encode(y, title)
    if test is not None:
        test = (test[0], encode(test[1], f"{title} test set"))
    return Prepared(X, y, test, spec, title, held_out)


def read_table(path, target=None, need_target=False, features=None):
    """A CSV or .npz file as a `fastnn.datasets.tabular.Table`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        if target is None and need_target:
            columns = csv_columns(path)
            raise DataFileError(f"{path}: name the column to predict with --target COLUMN "
                                f"(the columns are {', '.join(columns) or 'none: empty file'})")
        return read_csv(path, target=target, features=features)
    if suffix == ".npz":
        table = read_npz(path, need_y=need_target)
        if features is not None and len(table.features) != len(features):
            raise DataFileError(f"{path}: X has {len(table.features)} columns, the model "
                                f"takes {len(features)}")
        return table
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    raise DataFileError(f"{path}: unknown data format {suffix or '(no suffix)'!r}: give a "
                        f".csv file with a header row, a .npz file with arrays X and y, or "
                        f"a folder of IDX files named as MNIST's")


def result_line(model, X, y, prefix=""):
    """"loss …  accuracy …" (classifiers) or "mse …  R² …" (regression, in the data's own
    units), each name after `prefix` ("test ")."""
    spec = getattr(model, "data_spec", None)
    if model.loss.hits is not None:
        result = model.evaluate(X, y)
        return f"{prefix}loss {result['loss']:.4f}  {prefix}accuracy {result['accuracy']:.4f}"
    predicted, truth = model.predict(X), np.asarray(y, dtype=np.float64)
    if spec is not None:
        predicted, truth = spec.outputs(predicted), spec.outputs(truth)
    mse, r2 = regression_scores(truth, predicted)
    return f"{prefix}mse {mse:.6g}  {prefix}R² {r2:.4f}"


def regression_scores(truth, predicted):
    """(mean squared error, R²); R² is 0 for constant targets predicted exactly."""
    truth = np.asarray(truth, dtype=np.float64).reshape(-1)
    residual = np.asarray(predicted, dtype=np.float64).reshape(-1) - truth
    mse = float(np.mean(residual ** 2))
    spread = float(np.mean((truth - truth.mean()) ** 2))
    return mse, 1.0 - mse / spread if spread > 0 else 0.0


def kernels_need_compiling(model):
    """Whether fit will compile the Numba kernels: nothing of train_steps is in Numba's
    disk cache yet. False when it cannot tell (then nothing is said)."""
    if model.backend != "numba":
        return False
    try:
        cache = training_loop(model)._cache  # Numba's public-in-practice cache object
        index = Path(cache._cache_path) / cache._cache_file._index_name
    except (AttributeError, ImportError):
        return False
    return not index.is_file()


def write_plots(folder, model, history, X, y, held_out, say):
    from fastnn import plot

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = ["history.png"]
    plot.history(history, folder / "history.png", held_out=held_out)
    if model.loss.hits is not None:
        if X.shape[1] == 784:  # 28x28 digits
            plot.mnist_predictions(model, X, y, folder / "predictions.png")
            written.append("predictions.png")
        plot.confusion_matrix(y, model.predict(X), folder / "confusion.png",
                              n_classes=model.n_outputs)
        written.append("confusion.png")
    say(f"plots written to {folder}/ ({', '.join(written)})")


# ---- fastnn predict / evaluate / info / export ---------------------------------------


def predict(args):
    import fastnn as fnn

    model = fnn.load(args.model, backend=args.backend)
    spec = getattr(model, "data_spec", None)
    X, _ = _inputs(model, spec, args.data, target=None)
    predicted = model.predict(X)
    labels = spec.outputs(predicted) if spec is not None else predicted
    header = (spec.target if spec is not None and spec.target else "prediction")
    rows = [header] + [_format(v) for v in np.asarray(labels).reshape(len(X), -1)]
    text = "\n".join(rows) + "\n"
    if args.output:
        Path(args.output).write_text(text)
        print(f"{len(X)} predictions written to {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def evaluate(args):
    import fastnn as fnn

    model = fnn.load(args.model, backend=args.backend)
    spec = getattr(model, "data_spec", None)
    target = args.target or (spec.target if spec is not None else None)
    X, y = _inputs(model, spec, args.data, target=target, need_target=True)
    print(f"{result_line(model, X, y)}  ({len(X)} samples)")
    return 0


def _inputs(model, spec, path, target, need_target=False):
    """(X, y) of the data file at `path`, as `model` takes them; y None without a target."""
    path = Path(path)
    if path.is_dir() and is_idx_folder(path):
        train, test = load_idx_folder(path)
        X, labels = test if test is not None else train
        if spec is not None and spec.standardized:
            X = spec.inputs(X)
        if spec is None:
            return X, labels
        index = {name: i for i, name in enumerate(spec.classes)}
        unknown = [v for v in labels if str(v) not in index]
        if unknown:
            raise DataFileError(f"{path}: label {unknown[0]} is not among the model's "
                                f"classes {', '.join(spec.classes)}")
        return X, np.array([index[str(v)] for v in labels], dtype=np.int64)
    features = None
    if spec is not None and spec.features and path.suffix.lower() == ".csv" \
            and spec.source.lower().endswith(".csv"):
        features = spec.features
    elif path.suffix.lower() == ".csv" and target is None and spec is not None \
            and spec.target in csv_columns(path):
        target = spec.target  # the file still has the target column: leave it out
    table = read_table(path, target=target, need_target=need_target, features=features)
    if table.X.shape[1] != model.n_inputs:
        raise DataFileError(f"{path}: {table.X.shape[1]} feature columns, the model takes "
                            f"{model.n_inputs}")
    if spec is None:
        y = None if table.y is None else table.y.astype(
            np.int64 if model.loss.hits is not None else np.float64)
        return table.X, y
    return spec.inputs(table.X), None if table.y is None or not need_target else \
        spec.targets(table)


def _format(values):
    return ",".join(f"{v:.6g}" if isinstance(v, (float, np.floating)) else str(v)
                    for v in values)


def info(args):
    import fastnn as fnn

    model = fnn.load(args.model, backend="numpy")  # reading it compiles nothing
    sizes = [model.n_inputs] + [layer.out_features for layer in model.dense_layers]
    lines = [f"{args.model}: {'-'.join(map(str, sizes))} network, {len(model.params):,} "
             f"parameters ({model.dtype.name})"]
    lines += [f"  {layer!r}" for layer in model.layers]
    lines.append(f"  loss {model.loss.name} (fused with {model.loss.output}), optimizer "
                 f"{model.optimizer!r}, {model.optimizer.step_count:,} steps taken")
    spec = getattr(model, "data_spec", None)
    if spec is None:
        lines.append("trained on: not recorded (saved without its data's description)")
    else:
        lines.append(f"trained on: {spec.source}, {spec.n_samples:,} samples")
        if spec.task == "classification":
            of = f" of {spec.target!r}" if spec.target else ""
            lines.append(f"  classification{of} into {len(spec.classes)} classes: "
                         f"{', '.join(_shorten(spec.classes))}")
        else:
            lines.append(f"  regression of {spec.target!r}")
        if spec.features:
            lines.append(f"  features ({len(spec.features)}): "
                         f"{', '.join(_shorten(spec.features))}")
        scaled = "yes, with the saved mean and std" if spec.standardized else "no"
        lines.append(f"  standardized: {scaled}")
    print("\n".join(lines))
    return 0


def _shorten(names, most=20):
    names = [str(name) for name in names]
    return names if len(names) <= most else names[:most] + [f"… ({len(names) - most} more)"]


def export(args):
    import fastnn as fnn
    from fastnn.export import to_onnx

    to_onnx(fnn.load(args.model), args.onnx)
    print(f"wrote {args.onnx}")
    return 0
