"""What is trained: model sizes, batch size and samples per epoch, and its FLOP floor.

Every framework trains the same workload: a ReLU MLP, softmax + cross-entropy, Adam
(lr 1e-3), float32, shuffled mini-batches, one epoch over the workload's samples.
"""
import re
from dataclasses import dataclass

LEARNING_RATE = 1e-3
MNIST_SIZES = (784, 128, 64, 10)
MNIST_SAMPLES = 60_000
WIDE_SAMPLES = 10_000  # wide models train on fewer samples so the default run stays short


@dataclass(frozen=True)
class Workload:
    """One model at one batch size, trained on its first `samples` rows per epoch."""

    sizes: tuple
    batch_size: int
    samples: int

    @property
    def model(self):
        return "-".join(map(str, self.sizes))

    @property
    def label(self):
        return f"{self.model}, batch {self.batch_size}"

    def as_dict(self):
        return {"sizes": list(self.sizes), "batch_size": self.batch_size,
                "samples": self.samples}


DEFAULT_WORKLOADS = (
    Workload(MNIST_SIZES, 32, MNIST_SAMPLES),
    Workload(MNIST_SIZES, 128, MNIST_SAMPLES),
    Workload(MNIST_SIZES, 512, MNIST_SAMPLES),
    Workload((784, 1024, 1024, 10), 128, WIDE_SAMPLES),
    Workload((784, 256, 256, 256, 256, 10), 128, WIDE_SAMPLES),
)


def parse_model(text):
    """Layer sizes from "784-1024-1024-10": a tuple of at least two positive integers."""
    if not re.fullmatch(r"\d+(-\d+)+", text.strip()):
        raise ValueError(f"a model is layer sizes joined by '-', like 784-128-64-10; "
                         f"got {text!r}")
    sizes = tuple(int(size) for size in text.split("-"))
    if min(sizes) < 1:
        raise ValueError(f"layer sizes must be at least 1, got {text!r}")
    return sizes


def workloads(models=None, batch_sizes=None, samples=None):
    """The workloads of `fastnn bench`: every model at every batch size.

    With neither models nor batch sizes given, DEFAULT_WORKLOADS. A model of at most 128
    units a layer trains on all 60,000 MNIST samples, a wider one on WIDE_SAMPLES;
    `samples` overrides both.
    """
    if not models and not batch_sizes:
        chosen = DEFAULT_WORKLOADS
    else:
        chosen = [Workload(sizes, batch, default_samples(sizes))
                  for sizes in models or [MNIST_SIZES] for batch in batch_sizes or [128]]
    if samples:
        chosen = [Workload(w.sizes, w.batch_size, samples) for w in chosen]
    return list(chosen)


def default_samples(sizes):
    return MNIST_SAMPLES if max(sizes[1:-1], default=0) <= 128 else WIDE_SAMPLES


def products(workload):
    """The matrix products of one training step: [(M, K, N, kind)], out (M, N).

    Per layer of I inputs and O outputs at batch B: the forward x·W (B, I, O, "nn"), the
    weight gradient xᵀ·dz (I, B, O, "tn") and, except for the first layer, the input
    gradient dz·Wᵀ (B, O, I, "nt").
    """
    b = workload.batch_size
    shapes = []
    for layer, (i, o) in enumerate(zip(workload.sizes, workload.sizes[1:])):
        shapes += [(b, i, o, "nn"), (i, b, o, "tn")]
        if layer:
            shapes.append((b, o, i, "nt"))
    return shapes


def flops_per_sample(sizes=MNIST_SIZES):
    """Matrix-product FLOPs to train on one sample: 454,400 for 784-128-64-10.

    Forward x·W and weight gradient xᵀ·dz cost 2·I·O each per layer; the input gradient
    dz·Wᵀ (2·I·O) is skipped for the first layer. Bias, activation, loss and optimizer
    work is not counted: the floor is the matrix products alone.
    """
    products = [i * o for i, o in zip(sizes, sizes[1:])]
    return 2 * sum(products) + 2 * sum(products) + 2 * sum(products[1:])


def epoch_flops(workload):
    """Matrix-product FLOPs of one epoch of `workload`."""
    return flops_per_sample(workload.sizes) * workload.samples


def flop_floor(workload, gemm_flops):
    """Seconds an epoch needs at `gemm_flops` FLOP/s: no design beats it."""
    return epoch_flops(workload) / gemm_flops


def floor_fraction(seconds, workload, gemm_flops):
    """flop_floor / seconds: the fraction of the GEMM rate an epoch of `seconds` reaches."""
    return flop_floor(workload, gemm_flops) / seconds
