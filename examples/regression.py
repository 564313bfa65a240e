"""Regression: fit y = sin(3x) + noise with a linear output, MSE and a step-decayed lr.

A network with a linear output and `loss="mse"` learns a real-valued function from 1000
noisy samples of y = sin(3x) + ε, x uniform in [-2, 2], ε ~ N(0, 0.1²). The example
shows:

- standardizing inputs *and* targets with `fnn.datasets.standardize`, using the
  training set's mean and std for the test set too, and undoing it for the predictions;
- a 1-64-64-1 tanh network whose last layer is `activation="linear"`, as "mse" needs;
- `fnn.StepLR(optimizer, step_size, gamma)`: the learning rate is multiplied by gamma
  every step_size epochs, so training takes big steps first and fine ones at the end;
- `fnn.plot.history` (its learning-rate panel shows the steps) and a plot of the
  predictions against the truth, drawn with matplotlib's Figure + FigureCanvasAgg.

The noise puts a floor under the test MSE: the best possible model, sin(3x) itself,
scores Var(ε) = 0.01, while predicting the mean of y scores Var(y) ≈ 0.5.

Run it with:  python examples/regression.py  [--epochs 200] [--lr 0.005]
              [--step-size 80] [--gamma 0.3] [--hidden 64] [--seed 0]
It must reach a test MSE below 0.05 (the defaults give 0.012-0.022 over seeds 0-29),
or it exits with an error.
"""
import argparse
from pathlib import Path

import numpy as np

import fastnn as fnn

NOISE = 0.1
MAX_TEST_MSE = 0.05  # five times the noise floor of NOISE² = 0.01; Var(y) is about 0.5


def make_data(n_samples=1000, seed=0):
    """x (n, 1) uniform in [-2, 2] and y = sin(3x) + N(0, NOISE²), both (n, 1) float32."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, (n_samples, 1))
    y = np.sin(3.0 * x) + NOISE * rng.standard_normal((n_samples, 1))
    return x.astype(np.float32), y.astype(np.float32)


def plot_predictions(model, x_test, y_test, x_mean, x_std, y_mean, y_std, path):
    """The test points, the true curve and the model's curve, saved as a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    grid = np.linspace(-2.0, 2.0, 400, dtype=np.float32)[:, None]
    z, _, _ = fnn.datasets.standardize(grid, x_mean, x_std)
    curve = model.predict(z) * y_std[0] + y_mean[0]

    fig = Figure(figsize=(7, 4.2), dpi=100)
    FigureCanvasAgg(fig)  # draws on an Agg canvas: no pyplot, no window
    ax = fig.subplots()
    ax.scatter(x_test[:, 0], y_test[:, 0], s=10, color="0.6", label="test data")
    ax.plot(grid[:, 0], np.sin(3.0 * grid[:, 0]), color="k", lw=1.5, ls="--",
            label="truth: sin(3x)")
    ax.plot(grid[:, 0], curve, color="tab:red", lw=2, label="network")
    ax.set(xlabel="x", ylabel="y", title="predictions vs truth")
    ax.legend(loc="lower left", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, format="png")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("example-output"),
                        help="folder for the pictures (default: ./example-output)")
    parser.add_argument("--hidden", type=int, default=64, help="units in each hidden layer")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--lr", type=float, default=0.005, help="initial Adam learning rate")
    parser.add_argument("--step-size", type=int, default=80,
                        help="StepLR: epochs between learning-rate drops")
    parser.add_argument("--gamma", type=float, default=0.3,
                        help="StepLR: the factor of each drop")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0, help="seeds the weights, shuffling "
                        "and the validation split (the data set is fixed)")
    parser.add_argument("--backend", choices=["numba", "numpy"], default=None,
                        help="kernel backend (default: $FASTNN_BACKEND, else numba)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    x, y = make_data()
    x_train, x_test, y_train, y_test = fnn.datasets.train_test_split(x, y, test_size=0.2,
                                                                     seed=0)
    # Statistics from the training set only; the test set is scaled with the same ones.
    x_train_s, x_mean, x_std = fnn.datasets.standardize(x_train)
    x_test_s, _, _ = fnn.datasets.standardize(x_test, x_mean, x_std)
    y_train_s, y_mean, y_std = fnn.datasets.standardize(y_train)

    h = args.hidden
    optimizer = fnn.Adam(lr=args.lr)
    model = fnn.Sequential([fnn.Dense(1, h, activation="tanh"),
                            fnn.Dense(h, h, activation="tanh"),
                            fnn.Dense(h, 1, activation="linear")],
                           loss="mse", optimizer=optimizer, seed=args.seed,
                           backend=args.backend)
    scheduler = fnn.StepLR(optimizer, step_size=args.step_size, gamma=args.gamma)
    model.summary()

    history = model.fit(x_train_s, y_train_s, epochs=args.epochs, batch_size=args.batch_size,
                        validation_split=0.2, scheduler=scheduler, verbose=0)
    logs = history.history
    print(f"learning rate: {logs['lr'][0]:g} at epoch 1, {logs['lr'][-1]:g} at epoch "
          f"{args.epochs}")
    print(f"final train loss {logs['loss'][-1]:.4f}, val loss {logs['val_loss'][-1]:.4f} "
          f"(in standardized units)")

    # Back to the original units of y before measuring the error.
    prediction = model.predict(x_test_s) * y_std[0] + y_mean[0]
    test_mse = float(np.mean((prediction - y_test[:, 0]) ** 2))
    variance = float(np.var(y_test))
    print(f"test MSE {test_mse:.4f}   (noise floor {NOISE**2:.4f}, Var(y) {variance:.4f}, "
          f"R² {1 - test_mse / variance:.3f})")

    path = args.out / "regression_history.png"
    fnn.plot.history(history, path)
    print(f"saved {path}")
    path = args.out / "regression_predictions.png"
    plot_predictions(model, x_test, y_test, x_mean, x_std, y_mean, y_std, path)
    print(f"saved {path}")

    if not test_mse < min(MAX_TEST_MSE, 0.1 * variance):
        raise SystemExit(f"test MSE {test_mse:.4f} is not below {MAX_TEST_MSE} "
                         f"(and a tenth of Var(y) = {variance:.4f})")


if __name__ == "__main__":
    main()
