"""The fastnn command: parse the command line, call the API, print one-line errors.

``fastnn train``, ``predict``, ``evaluate``, ``info`` and ``export`` are in
`fastnn.commands`; ``fastnn bench`` in `fastnn.bench`.
"""
import argparse
import sys

from fastnn.argtypes import fraction, non_negative_int, positive_float, positive_int
from fastnn.datasets import MNISTNotFoundError
from fastnn.errors import FastnnError

DESCRIPTION = """Fully-connected neural networks on fused CPU kernels.
Train on MNIST or on your own data (CSV, .npz, a folder of IDX files), then predict,
evaluate, inspect or export the saved model. Run fastnn COMMAND --help for a command's
options."""

EPILOG = """examples:
  fastnn train mnist --epochs 5 --save mnist.npz
  fastnn train iris.csv --target species --save iris.npz
  fastnn predict iris.npz new_flowers.csv --output predictions.csv
  fastnn evaluate iris.npz test.csv
  fastnn info iris.npz"""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none to show."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


class TopHelpFormatter(HelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Keeps the line breaks of the examples."""


def build_parser():
    parser = argparse.ArgumentParser(prog="fastnn", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=TopHelpFormatter)
    parser.add_argument("--debug", action="store_true",
                        help="show the Python traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the Python traceback of an error")
    add_train_parser(commands, debug)
    add_model_parsers(commands, debug)
    add_bench_parser(commands)
    return parser


def add_train_parser(commands, debug):
    train = commands.add_parser(
        "train", parents=[debug], formatter_class=HelpFormatter,
        help="train a model on MNIST or on your own data",
        description="Train a multilayer perceptron (ReLU hidden layers, Adam) on MNIST or "
                    "on your own data and report its test loss and accuracy (R² for "
                    "regression).")
    train.add_argument("dataset", metavar="DATA",
                       help="mnist; a CSV file with a header row (numeric features, "
                            "--target names the column to predict); a .npz file with arrays "
                            "X (samples, features) and y; or a folder of IDX files named as "
                            "MNIST's (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                            "optionally t10k-*; raw or .gz)")
    train.add_argument("--target", metavar="COLUMN",
                       help="the CSV column to predict (text or integers: classification; "
                            "other numbers: regression)")
    train.add_argument("--task", choices=["classification", "regression"],
                       help="override the task guessed from the target column")
    held_out = train.add_mutually_exclusive_group()
    held_out.add_argument("--test", metavar="PATH",
                          help="test data in the same format (same columns)")
    held_out.add_argument("--test-split", type=fraction, metavar="FRACTION",
                          help="hold out this fraction of DATA as the test set; 0 for none "
                               "(default: 0.2 when DATA brings no test set)")
    train.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=None,
                       help="scale each feature to mean 0 and std 1, with the training "
                            "set's statistics, saved with the model (default: on for CSV "
                            "and .npz, off for images)")
    train.add_argument("--hidden", type=positive_int, nargs="+", default=[128, 64],
                       metavar="N", help="hidden layer sizes")
    train.add_argument("--epochs", type=positive_int, default=10, help="passes over the data")
    train.add_argument("--batch-size", type=positive_int, default=128, help="samples per step")
    train.add_argument("--lr", type=positive_float, default=1e-3, help="Adam learning rate")
    train.add_argument("--backend", choices=["numba", "numpy"], default=None,
                       help="kernel backend (default: $FASTNN_BACKEND or numba)")
    train.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                       help="parameter and data type")
    train.add_argument("--seed", type=non_negative_int, default=0,
                       help="seeds the weights, the shuffling and the test split")
    train.add_argument("--data", metavar="DIR", default=None,
                       help="for mnist: the folder with its IDX files, or a parent holding "
                            "mnist/ (default: $FASTNN_DATA, else ~/.cache/fastnn/mnist, "
                            "downloading what is missing)")
    train.add_argument("--samples", type=positive_int, default=None,
                       help="train on the first N training samples only (quick runs)")
    train.add_argument("--save", metavar="PATH", default=None,
                       help="save the model, with its class names and preprocessing (.npz)")
    train.add_argument("--plot", metavar="DIR", default=None,
                       help="write training curves, a confusion matrix and, for digits, "
                            "a grid of predictions (mistakes first) as PNG files to DIR")
    train.add_argument("--verbose", type=int, choices=[0, 1, 2], default=1,
                       help="0: only the result; 1: a line per epoch (and a progress bar "
                            "on a terminal); 2: a line per epoch")


def add_model_parsers(commands, debug):
    def command(name, model_help, **texts):
        parser = commands.add_parser(name, parents=[debug], formatter_class=HelpFormatter,
                                     **texts)
        parser.add_argument("model", metavar="MODEL", help=model_help)
        return parser

    def backend_option(parser):
        parser.add_argument("--backend", choices=["numba", "numpy"], default=None,
                            help="kernel backend (default: $FASTNN_BACKEND or numba)")

    saved = "a model saved by fastnn train --save"
    predict = command("predict", saved, help="predict with a saved model",
                      description="Print (or write) one prediction per row of DATA, in the "
                                  "original labels, with the preprocessing saved in MODEL.")
    predict.add_argument("data", metavar="DATA",
                         help="a CSV file with the model's feature columns (others are "
                              "ignored), a .npz file with X, or an IDX folder")
    predict.add_argument("--output", metavar="PATH", default=None,
                         help="write the predictions to PATH (one per line, with a header) "
                              "instead of printing them")
    backend_option(predict)

    evaluate = command("evaluate", saved,
                       help="loss and accuracy (or R²) of a saved model on labelled data",
                       description="Print the loss and accuracy (classification) or the mean "
                                   "squared error and R² (regression) of MODEL on DATA.")
    evaluate.add_argument("data", metavar="DATA",
                          help="a CSV file with the feature and target columns, a .npz file "
                               "with X and y, or an IDX folder")
    evaluate.add_argument("--target", metavar="COLUMN", default=None,
                          help="the CSV column holding the truth (default: the one the "
                               "model was trained on)")
    backend_option(evaluate)

    command("info", "a model saved by fastnn",
            help="a saved model's architecture and what it was trained on")
    export = command("export", "a model saved by fastnn (.npz)",
                     help="convert a saved model to ONNX")
    export.add_argument("onnx", metavar="ONNX", help="the ONNX file to write")


def add_bench_parser(commands):
    from fastnn.bench.cli import add_parser
    add_parser(commands)


def run_bench(args, parser):
    from fastnn.bench.cli import main
    return main(args, parser)


def one_line(err):
    """An error as one line: its message with line breaks folded, the file named."""
    if isinstance(err, MNISTNotFoundError):
        failed = "; the download failed (offline?)" if err.reasons else ""
        return (f"MNIST files missing from {err.folder} ({', '.join(err.missing)}){failed}: "
                f"place the four IDX files (raw or .gz) there, or point --data or "
                f"FASTNN_DATA at the folder that holds them")
    if isinstance(err, OSError) and err.filename and err.strerror:
        return f"{err.filename}: {err.strerror}"
    return "; ".join(line.strip() for line in str(err).splitlines() if line.strip()) or \
        type(err).__name__


def run(args, parser):
    from fastnn import commands

    if args.command == "bench":
        return run_bench(args, parser)
    return getattr(commands, args.command)(args)


def main(argv=None):
    """Run the fastnn command; returns the exit status (2 for an error, after one line)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run(args, parser)
    except (FastnnError, ValueError, OSError, ImportError) as err:
        if args.debug:
            raise
        print(f"fastnn: error: {one_line(err)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
