"""Draw the pictures in docs/images/ with fastnn's own code.

    python docs/make_images.py                      # all three; the benchmark takes minutes
    python docs/make_images.py --skip-bench         # learning curves and mistakes only
    python docs/make_images.py --bench-json docs/images/benchmark.json   # chart from a saved run

- learning_curves.png: `fnn.plot.history` of 784-128-64-10 trained on MNIST as in
  examples/mnist.py (Adam 2e-3 with a cosine schedule, 10% of the training digits held
  out for validation);
- mistakes.png: `fnn.plot.mistakes` on the 10,000 test digits: the model's 25 most
  confident mistakes;
- benchmark.png: the bar chart of `fastnn bench`. By default this script runs
  ``fastnn bench --json OUT/benchmark.json --plot OUT/benchmark.png``
  (every batch size, 5 rounds: several minutes, and the numbers are this machine's);
  --bench-json PATH draws the chart from a saved ``fastnn bench --json`` run instead,
  and --skip-bench leaves it alone.

MNIST is read from --data, else $FASTNN_DATA, else ~/.cache/fastnn/mnist, and downloaded
there when missing (about 11 MB; --no-download fails instead).
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import fastnn as fnn

IMAGES = Path(__file__).resolve().parent / "images"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="make_images.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=IMAGES,
                        help="folder for the PNGs (default: docs/images)")
    parser.add_argument("--data", default=None, help="folder with the four MNIST IDX files "
                        "(default: $FASTNN_DATA, else ~/.cache/fastnn/mnist)")
    parser.add_argument("--no-download", action="store_true",
                        help="fail instead of downloading MNIST when it is missing")
    parser.add_argument("--epochs", type=int, default=10, help="(default: 10)")
    parser.add_argument("--samples", type=int, default=None,
                        help="train on the first N training digits only (quick runs)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the weights, shuffling and the validation split "
                             "(default: 0)")
    bench = parser.add_mutually_exclusive_group()
    bench.add_argument("--skip-bench", action="store_true",
                       help="do not draw benchmark.png")
    bench.add_argument("--bench-json", type=Path, default=None, metavar="PATH",
                       help="draw benchmark.png from this `fastnn bench --json` output "
                            "instead of running the benchmark")
    args = parser.parse_args(argv)
    if args.epochs < 1 or (args.samples is not None and args.samples < 1):
        parser.error("--epochs and --samples must be at least 1")
    return parser, args


def training_pictures(args):
    """Train 784-128-64-10 on MNIST; write learning_curves.png and mistakes.png."""
    (X, y), (X_test, y_test) = fnn.datasets.load_mnist(args.data,
                                                          download=not args.no_download)
    X, y = X[:args.samples], y[:args.samples]
    optimizer = fnn.Adam(lr=2e-3)
    model = fnn.mlp([784, 128, 64, 10], optimizer=optimizer, seed=args.seed)
    scheduler = fnn.CosineAnnealingLR(optimizer, T_max=args.epochs, eta_min=2e-5)
    start = time.perf_counter()
    history = model.fit(X, y, epochs=args.epochs, batch_size=128, validation_split=0.1,
                        scheduler=scheduler, verbose=0)
    test = model.evaluate(X_test, y_test)
    print(f"trained on {len(X)} MNIST digits for {args.epochs} epochs in "
          f"{time.perf_counter() - start:.1f} s: test accuracy {test['accuracy']:.4f}")
    fig = fnn.plot.history(history)
    fig.suptitle(f"MNIST 784-128-64-10, {len(X):,} training digits "
                 f"(10% held out for validation)", fontsize=10)
    fig.tight_layout()
    save(fig, args.out / "learning_curves.png")
    save(fnn.plot.mistakes(model, X_test, y_test, n=25), args.out / "mistakes.png")


def save(fig, path):
    fig.savefig(path, format="png", dpi=fig.dpi)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")


BENCH_KEYS = ("frameworks", "workloads")  # what the chart reads


def read_bench_json(parser, path):
    """The results saved by `fastnn bench --json PATH`; a parser error if they are not."""
    try:
        results = json.loads(path.read_text())
    except OSError as err:
        parser.error(f"--bench-json: cannot read {path}: {err.strerror}")
    except ValueError as err:
        parser.error(f"--bench-json: {path} is not JSON: {err}")
    if not (isinstance(results, dict) and all(key in results for key in BENCH_KEYS)):
        parser.error(f"--bench-json: {path} is not the output of `fastnn bench --json` "
                     f"(it needs the keys {', '.join(BENCH_KEYS)})")
    return results


def benchmark_picture(args, results):
    """Draw benchmark.png from `results`, or run `fastnn bench` for it (and its JSON)."""
    path = args.out / "benchmark.png"
    if results is not None:
        from fastnn.bench.plot import plot
        plot(results, path)
        print(f"wrote {path} from {args.bench_json}")
        return
    command = [sys.executable, "-m", "fastnn", "bench",
               "--json", str(args.out / "benchmark.json"), "--plot", str(path)]
    if args.data:
        command += ["--data", args.data]
    print("running: fastnn", " ".join(command[3:]), flush=True)
    if subprocess.run(command).returncode != 0:
        raise RuntimeError("fastnn bench failed (its error is above)")


def main(argv=None):
    parser, args = parse_args(argv)
    results = None if args.bench_json is None else read_bench_json(parser, args.bench_json)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        training_pictures(args)
        if not args.skip_bench:
            benchmark_picture(args, results)
    except (fnn.datasets.MNISTNotFoundError, RuntimeError) as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")


if __name__ == "__main__":
    main()
