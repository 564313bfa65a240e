"""The ``fastnn`` command: ``fastnn train mnist [options]``, ``fastnn bench [options]``."""
import argparse
import sys
import time


def build_parser():
    parser = argparse.ArgumentParser(prog="fastnn", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a model")
    train.add_argument("dataset", choices=["mnist"])
    train.add_argument("--epochs", type=int, default=10)
    train.add_argument("--batch-size", type=int, default=128)
    train.add_argument("--hidden", type=int, nargs="+", default=[128, 64],
                       help="hidden layer sizes (default: 128 64)")
    train.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    train.add_argument("--backend", choices=["numba", "numpy"], default=None,
                       help="kernel backend (default: $FASTNN_BACKEND or numba)")
    train.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--data", default=None,
                       help="folder with the MNIST IDX files (default: $FASTNN_DATA or cache)")
    train.add_argument("--samples", type=int, default=None,
                       help="train on the first N training images only (quick runs)")
    train.add_argument("--save", metavar="PATH", default=None, help="save the model (.npz)")
    train.add_argument("--plot", metavar="DIR", default=None,
                       help="write training curves and a predictions grid (PNG) to DIR")
    train.add_argument("--verbose", type=int, choices=[0, 1, 2], default=1)
    add_bench_parser(commands)
    return parser


def positive_int(text):
    """argparse type: an integer ≥ 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_bench_parser(commands):
    from fastnn.bench.cli import add_parser
    add_parser(commands)


def train_mnist(args):
    import fastnn as fnn

    (X, y), (X_test, y_test) = fnn.datasets.load_mnist(args.data)
    X, y = X[:args.samples], y[:args.samples]
    sizes = [X.shape[1], *args.hidden]
    layers = [fnn.Dense(i, o, activation="relu") for i, o in zip(sizes, sizes[1:])]
    layers.append(fnn.Dense(sizes[-1], 10, activation="softmax"))
    model = fnn.Sequential(layers, loss="cce", optimizer=fnn.Adam(lr=args.lr),
                           seed=args.seed, backend=args.backend, dtype=args.dtype)
    arch = "-".join(map(str, sizes + [10]))
    print(f"fastnn: MNIST {arch}, {model.backend} backend, batch {args.batch_size}, "
          f"{args.epochs} epochs, {len(X)} training samples", flush=True)
    start = time.perf_counter()
    history = model.fit(X, y, epochs=args.epochs, batch_size=args.batch_size,
                        validation_data=(X_test, y_test) if args.plot else None,
                        verbose=args.verbose or 2)
    total = time.perf_counter() - start
    test = model.evaluate(X_test, y_test)
    print(f"test loss {test['loss']:.4f}  test accuracy {test['accuracy']:.4f}  "
          f"({total:.1f}s in total)")
    if args.save:
        model.save(args.save)
        print(f"saved to {args.save}")
    if args.plot:
        write_plots(args.plot, model, history, X_test, y_test)
    return 0


def write_plots(folder, model, history, X_test, y_test):
    from pathlib import Path

    from fastnn import plot
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    plot.history(history, folder / "history.png")
    plot.mnist_predictions(model, X_test, y_test, folder / "predictions.png")
    plot.confusion_matrix(y_test, model.predict(X_test), folder / "confusion.png")
    print(f"plots written to {folder}/ (history.png, predictions.png, confusion.png)")


def run_bench(args, parser):
    from fastnn.bench.cli import main
    return main(args, parser)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "train":
        return train_mnist(args)
    if args.command == "bench":
        return run_bench(args, parser)
    return 2


if __name__ == "__main__":
    sys.exit(main())
