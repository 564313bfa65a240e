"""A diverging run stops cleanly: a clear error naming where, and finite weights kept."""
import numpy as np
import pytest

import fastnn as fnn
from fastnn.errors import TrainingDivergedError


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning",
                            "ignore:invalid value:RuntimeWarning")
def test_a_diverging_run_stops_cleanly_naming_epoch_and_batch(backend):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((64, 4)) * 1e3
    y = rng.standard_normal(64)
    model = fnn.mlp([4, 8, 1], activation="relu", output="linear", loss="mse",
                    optimizer=fnn.SGD(lr=1e6), backend=backend, seed=0)
    with pytest.raises(TrainingDivergedError, match=r"epoch \d+, batch \d+") as info:
        model.fit(X, y, epochs=3, batch_size=8, verbose=0)
    assert isinstance(info.value, FloatingPointError)  # what code written before catches
    assert "learning rate" in str(info.value)  # the suggested cause
    assert all(np.isfinite(w).all() for w in model.get_weights())
