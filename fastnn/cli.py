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
    bench = commands.add_parser(
        "bench", help="time MNIST training and inference: numba vs numpy backend vs PyTorch",
        description="Train 784-128-64-10 (ReLU, softmax + CCE, Adam, float32) for one "
                    "epoch per round with fastnn's numba and numpy backends and PyTorch "
                    "eager, interleaved; print median seconds, ratios, the FLOP floor, "
                    "inference times, start-up and peak RSS.")
    bench.add_argument("--batch-sizes", type=positive_int, nargs="+", default=[32, 128, 512],
                       metavar="N", help="batch sizes to train with (default: 32 128 512)")
    bench.add_argument("--rounds", type=positive_int, default=5,
                       help="timed rounds per measurement; medians are reported (default: 5)")
    bench.add_argument("--samples", type=positive_int, default=None,
                       help="train on the first N training images only (quick runs)")
    bench.add_argument("--data", default=None,
                       help="folder with the MNIST IDX files (default: $FASTNN_DATA or cache)")
    bench.add_argument("--synthetic", action="store_true",
                       help="random MNIST-shaped data instead of MNIST (no files needed; "
                            "--samples rows, as many test rows up to 10,000)")
    bench.add_argument("--skip-torch", action="store_true", help="do not time PyTorch")
    bench.add_argument("--skip-numpy", action="store_true",
                       help="do not time fastnn's numpy backend")
    bench.add_argument("--skip-startup", action="store_true",
                       help="skip the subprocess measurements: import, cold and warm start, "
                            "peak RSS")
    bench.add_argument("--markdown", action="store_true",
                       help="print the tables as GitHub markdown (as in the README)")
    bench.add_argument("--json", metavar="PATH", default=None,
                       help="also write the results as JSON to PATH")
    bench.add_argument("--plot", metavar="PATH", default=None,
                       help="also draw a PNG bar chart at PATH (needs matplotlib)")


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
    from fastnn import bench

    if args.plot:
        try:
            bench.require_matplotlib()
        except ImportError as err:
            parser.error(str(err))  # before minutes of timing, not after
    if args.synthetic:
        samples = args.samples or 60_000
        X, y, X_test = bench.synthetic(samples, min(samples, 10_000))
    else:
        X, y, X_test = bench.mnist(args.data, args.samples)
    skip = [name for name, flag in [(bench.TORCH, args.skip_torch),
                                    (bench.NUMPY, args.skip_numpy)] if flag]
    memory = None
    if not (args.skip_startup or args.synthetic):
        memory = bench.train_mnist_argv(args.data, args.samples)
    results = bench.run(X, y, X_test, batch_sizes=args.batch_sizes, rounds=args.rounds,
                        skip=skip, startup=not args.skip_startup, memory_argv=memory,
                        log=lambda message: print(message, file=sys.stderr, flush=True))
    print(bench.report(results, markdown=args.markdown))
    if args.json:
        bench.save_json(results, args.json)
        print(f"results written to {args.json}")
    if args.plot:
        bench.plot(results, args.plot)
        print(f"bar chart written to {args.plot}")
    return 0


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
