"""fastnn's trainer for the benchmark worker: `model.fit`, one shuffled epoch per call."""
import fastnn as fnn


class Trainer:
    def __init__(self, spec, X, y):
        self.X, self.y, self.batch_size = X, y, spec["batch_size"]
        self.model = fnn.mlp(spec["sizes"], activation="relu", output="softmax",
                             loss="cce", optimizer=fnn.Adam(lr=spec["lr"]),
                             seed=spec["seed"], backend=spec.get("backend") or "numba")
        self.model.build()
        self.version = fnn.__version__
        self.threads = None

    def warm_up(self):
        """Two batches: Numba compiles the kernels or loads them from its cache."""
        n = min(len(self.X), 2 * self.batch_size)
        self.model.fit(self.X[:n], self.y[:n], epochs=1, batch_size=self.batch_size,
                       verbose=0)
        if self.model.backend == "numba":
            import numba
            self.threads = numba.get_num_threads()

    def epoch(self):
        history = self.model.fit(self.X, self.y, epochs=1, batch_size=self.batch_size,
                                 verbose=0)
        return history.history["loss"][-1]
