"""Circles: a regularized classifier that stops training once validation stops improving.

Two noisy concentric circles (1000 points) make a binary problem that needs a curved
boundary. The example shows the habits that keep a model honest:

- a held-out test set (`fnn.datasets.train_test_split`) that training never sees;
- a validation set carved out of the training data by `fit(validation_split=0.2)`;
- regularization: `Dropout` between the hidden layers and an L2 penalty (`l2=`) on
  every Dense layer's weights;
- `fnn.EarlyStopping(monitor="val_loss", patience=..., restore_best=True)`: training
  ends once the validation loss has not improved for `patience` epochs, and the
  weights of the best epoch are put back;
- `fnn.plot.history` (learning curves) and `fnn.plot.decision_boundary`, saved as PNGs.

Run it with:  python examples/circles.py  [--epochs 300] [--patience 20] [--lr 0.01]
              [--dropout 0.1] [--l2 1e-4] [--hidden 32] [--seed 0]
It must reach a test accuracy of at least 0.97 (with noise 0.1 about 0.6% of points
lie past the gap between the circles, so ~0.99 is the best to expect; the default
settings reach 0.995-1.0 over seeds 0-9), or it exits with an error.
"""
import argparse
from pathlib import Path

import fastnn as fnn

MIN_TEST_ACCURACY = 0.97


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("example-output"),
                        help="folder for the pictures (default: ./example-output)")
    parser.add_argument("--hidden", type=int, default=32, help="units in each hidden layer")
    parser.add_argument("--dropout", type=float, default=0.1, help="dropout rate")
    parser.add_argument("--l2", type=float, default=1e-4, help="L2 penalty on the weights")
    parser.add_argument("--lr", type=float, default=0.01, help="Adam learning rate")
    parser.add_argument("--epochs", type=int, default=300, help="at most this many epochs")
    parser.add_argument("--patience", type=int, default=20,
                        help="epochs without a better val_loss before stopping")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0, help="seeds the weights, shuffling "
                        "and the validation split (the data set is fixed)")
    parser.add_argument("--backend", choices=["numba", "numpy"], default=None,
                        help="kernel backend (default: $FASTNN_BACKEND, else numba)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    X, y = fnn.datasets.circles(n_samples=1000, noise=0.1, seed=0)
    X_train, X_test, y_train, y_test = fnn.datasets.train_test_split(X, y, test_size=0.2,
                                                                     seed=0)
    h = args.hidden
    model = fnn.Sequential([fnn.Dense(2, h, activation="relu", l2=args.l2),
                            fnn.Dropout(args.dropout),
                            fnn.Dense(h, h, activation="relu", l2=args.l2),
                            fnn.Dropout(args.dropout),
                            fnn.Dense(h, 1, activation="sigmoid", l2=args.l2)],
                           loss="bce", optimizer=fnn.Adam(lr=args.lr), seed=args.seed,
                           backend=args.backend)
    model.summary()

    stopper = fnn.EarlyStopping(monitor="val_loss", patience=args.patience,
                                restore_best=True)
    history = model.fit(X_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                        validation_split=0.2, callbacks=[stopper], verbose=0)

    # EarlyStopping counts epochs from 0; print them from 1, as fit's log lines do.
    ran = len(history.epoch)
    best = stopper.best_epoch
    if stopper.stopped_epoch is None:
        print(f"ran all {ran} epochs without stopping early")
    else:
        print(f"stopped early after epoch {stopper.stopped_epoch + 1} of {args.epochs}: "
              f"val_loss had not improved since epoch {best + 1}")
    logs = history.history
    print(f"restored the weights of epoch {best + 1}: val_loss {logs['val_loss'][best]:.4f}, "
          f"val_accuracy {logs['val_accuracy'][best]:.4f}")

    test = model.evaluate(X_test, y_test)
    print(f"test loss {test['loss']:.4f}  test accuracy {test['accuracy']:.4f} "
          f"({len(X_test)} points never seen in training)")

    for name, draw in [("circles_history.png", lambda p: fnn.plot.history(history, p)),
                       ("circles_decision_boundary.png",
                        lambda p: fnn.plot.decision_boundary(model, X_test, y_test, p))]:
        draw(args.out / name)
        print(f"saved {args.out / name}")

    if test["accuracy"] < MIN_TEST_ACCURACY:
        raise SystemExit(f"test accuracy {test['accuracy']:.4f} is below "
                         f"{MIN_TEST_ACCURACY}")


if __name__ == "__main__":
    main()
