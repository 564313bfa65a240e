"""One measurement in a process of its own: warm up, then print the best of two timed
epochs of fastnn on MNIST ($FASTNN_DATA), in seconds.

    python benchmarks/epoch_once.py 784-128-64-10 128 60000     # sizes, batch, samples

To compare two versions of fastnn, run it alternately with each checkout's interpreter
and take the median of a few processes each (docs/performance.md, "Before and after").
"""
import sys
import time

import fastnn as fnn


def main(sizes, batch, samples):
    (X, y), _ = fnn.datasets.load_mnist(download=False)
    X, y = X[:samples], y[:samples]
    model = fnn.mlp(sizes, seed=0, optimizer=fnn.Adam(lr=1e-3))
    model.fit(X[:2 * batch], y[:2 * batch], epochs=1, batch_size=batch, verbose=0)  # compile
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        model.fit(X, y, epochs=1, batch_size=batch, verbose=0)
        best = min(best, time.perf_counter() - start)
    return best


if __name__ == "__main__":
    sizes, batch, samples = sys.argv[1:4]
    print(f"{main([int(s) for s in sizes.split('-')], int(batch), int(samples)):.4f}")
