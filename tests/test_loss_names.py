"""A loss and an output layer that do not fuse are refused when the model is built, with
the fix; other libraries' loss names are accepted or pointed to fastnn's."""
import pytest

import fastnn as fnn
from fastnn.errors import HyperParameterError, UnknownNameError


@pytest.mark.parametrize("build, message", [
    pytest.param(lambda: fnn.mlp([4, 16, 1]), "binary labels: use a sigmoid output with "
                 "loss='bce'", id="one-unit-softmax"),
    pytest.param(lambda: fnn.Sequential([fnn.Dense(4, 3, "relu")], loss="cce"),
                 "activation is 'relu': use activation='softmax' on the last layer",
                 id="relu-cce"),
    pytest.param(lambda: fnn.mlp([4, 1], output="sigmoid"),
                 "use activation='softmax' on the last layer, or loss='bce' for a sigmoid",
                 id="sigmoid-cce"),
    pytest.param(lambda: fnn.mlp([4, 1], output="linear", loss="bce"),
                 "use activation='sigmoid' on the last layer, or loss='mse' for a linear",
                 id="linear-bce"),
    pytest.param(lambda: fnn.mlp([4, 3], loss="mse"),
                 "use activation='linear' on the last layer, or loss='cce' for a softmax",
                 id="softmax-mse"),
])
def test_unfused_output_is_refused_at_construction(build, message):
    with pytest.raises(HyperParameterError, match=message):
        build()


@pytest.mark.parametrize("alias, name, output", [
    ("categorical_crossentropy", "cce", "softmax"),
    ("sparse_categorical_crossentropy", "cce", "softmax"),
    ("binary_crossentropy", "bce", "sigmoid"),
    ("BCELoss", "bce", "sigmoid"),
    ("mean_squared_error", "mse", "linear"),
    ("MSELoss", "mse", "linear"),
    ("MSE", "mse", "linear"),
])
def test_keras_and_pytorch_names_are_aliases(alias, name, output):
    model = fnn.mlp([4, 2], output=output, loss=alias)
    assert model.loss.name == name


@pytest.mark.parametrize("alias, message", [
    ("CrossEntropyLoss", "takes logits .*loss='cce' takes a softmax output layer and fuses"),
    ("BCEWithLogitsLoss", "takes logits .*loss='bce' takes a sigmoid output layer"),
    ("NLLLoss", "log-probabilities .*loss='cce'"),
])
def test_names_that_mean_logits_point_to_the_fused_loss(alias, message):
    with pytest.raises(UnknownNameError, match=message):
        fnn.mlp([4, 3], loss=alias)
