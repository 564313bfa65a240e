"""`fastnn bench`: its options, and the run they ask for.

`fastnn.cli` hooks these in: `add_parser(commands)` and `main(args, parser)`. Only
argparse is imported up front, so the `fastnn` command starts fast.
"""
import argparse
import shlex
import sys

from fastnn.argtypes import positive_int

DESCRIPTION = """\
Train the same ReLU MLPs (softmax + cross-entropy, Adam 1e-3, float32, shuffled batches)
with fastnn, PyTorch (eager) and JAX (the epoch jitted with lax.scan), each in its own
process with its own default settings, rounds interleaved; print the median seconds per
epoch, fastnn against the faster peer, and the fraction of the FLOP floor fastnn reaches.
Frameworks that are not installed are skipped with a note. Default workloads: MNIST
784-128-64-10 at batch 32, 128 and 512 (60,000 samples), 784-1024-1024-10 and
784-256-256-256-256-10 at batch 128 (10,000 samples: wide models train on fewer)."""


def model_sizes(text):
    """argparse type: layer sizes such as 784-1024-1024-10."""
    from fastnn.bench.workloads import parse_model
    try:
        return parse_model(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_parser(commands):
    from fastnn.bench.frameworks import DEFAULT_FRAMEWORKS, FRAMEWORKS, ISAS
    bench = commands.add_parser(
        "bench", help="time training against PyTorch and JAX, each in its own process",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    bench.add_argument("--model", type=model_sizes, action="append", metavar="SIZES",
                       help="layer sizes, e.g. 784-1024-1024-10; repeat for several "
                            "(default: the workloads above)")
    bench.add_argument("--batch-sizes", type=positive_int, nargs="+", metavar="N",
                       help="batch sizes for every --model (default: the workloads above, "
                            "or 128)")
    bench.add_argument("--samples", type=positive_int, default=None,
                       help="train every workload on the first N samples per epoch")
    bench.add_argument("--rounds", type=positive_int, default=3,
                       help="processes per framework and workload, interleaved; medians "
                            "are reported (default: 3)")
    bench.add_argument("--epochs", type=positive_int, default=2,
                       help="timed epochs per process, the fastest counts (default: 2)")
    bench.add_argument("--frameworks", nargs="+", choices=list(FRAMEWORKS),
                       default=list(DEFAULT_FRAMEWORKS), metavar="NAME",
                       help=f"who to time, from {', '.join(FRAMEWORKS)} (default: "
                            f"{' '.join(DEFAULT_FRAMEWORKS)})")
    bench.add_argument("--threads", type=positive_int, default=None,
                       help="threads for every framework (default: each one's own: all "
                            "CPUs)")
    bench.add_argument("--isa", choices=ISAS, default="native",
                       help="instruction set: native, or avx2 to compile fastnn for AVX2 "
                            "and cap the peers at AVX2 (default: native)")
    bench.add_argument("--data", default=None,
                       help="folder with the MNIST IDX files (default: $FASTNN_DATA or cache)")
    bench.add_argument("--synthetic", action="store_true",
                       help="random data shaped like the models' inputs instead of MNIST")
    bench.add_argument("--startup", action="store_true",
                       help="also time fastnn's import, cold and warm start")
    bench.add_argument("--markdown", action="store_true",
                       help="print GitHub markdown (as in docs/performance.md)")
    bench.add_argument("--json", metavar="PATH", default=None,
                       help="also write the raw results as JSON to PATH")
    bench.add_argument("--plot", metavar="PATH", default=None,
                       help="also draw a PNG bar chart at PATH (needs matplotlib)")
    return bench


def command_line(args):
    """The `fastnn bench` command that asks for what `args` holds (for the report)."""
    from fastnn.bench.frameworks import DEFAULT_FRAMEWORKS
    words = ["fastnn", "bench"]
    for sizes in args.model or []:
        words += ["--model", "-".join(map(str, sizes))]
    if args.batch_sizes:
        words += ["--batch-sizes", *map(str, args.batch_sizes)]
    for option, value, default in [("--samples", args.samples, None),
                                   ("--rounds", args.rounds, 3), ("--epochs", args.epochs, 2),
                                   ("--threads", args.threads, None),
                                   ("--isa", args.isa, "native"),
                                   ("--data", args.data, None)]:
        if value != default:
            words += [option, str(value)]
    if list(args.frameworks) != list(DEFAULT_FRAMEWORKS):
        words += ["--frameworks", *args.frameworks]
    words += [flag for flag, on in [("--synthetic", args.synthetic),
                                    ("--startup", args.startup),
                                    ("--markdown", args.markdown)] if on]
    return shlex.join(words)


def load_data(args, chosen):
    """(X, y, name) for the workloads: MNIST, or random data with --synthetic."""
    from fastnn.bench import data
    if args.synthetic:
        X, y = data.synthetic(max(w.samples for w in chosen), chosen[0].sizes[0],
                              min(w.sizes[-1] for w in chosen))
        return X, y, "synthetic (uniform random inputs and labels)"
    X, y = data.mnist(args.data)
    return X, y, "MNIST training images"


def main(args, parser):
    from fastnn.bench import plot, report, run, workloads
    if args.plot:
        try:
            plot.require_matplotlib()
        except ImportError as err:
            parser.error(str(err))  # before minutes of timing, not after
    chosen = workloads.workloads(args.model, args.batch_sizes, args.samples)
    X, y, name = load_data(args, chosen)
    try:
        results = run.run(chosen, X, y, args.frameworks, args.rounds, args.epochs,
                          args.threads, args.isa, name, command_line(args), args.startup,
                          log=lambda message: print(message, file=sys.stderr, flush=True))
    except ValueError as err:
        parser.error(str(err))
    print(report.report(results, markdown=args.markdown))
    if args.json:
        run.save_json(results, args.json)
        print(f"\nresults written to {args.json}")
    if args.plot:
        plot.plot(results, args.plot)
        print(f"\nbar chart written to {args.plot}")
    return 0
