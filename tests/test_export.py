"""Export: ONNX graphs run by onnxruntime, torch.nn.Sequential both ways, and the errors."""
import sys

import numpy as np
import pytest

import fastnn as fnn
from fastnn import export
from fastnn.errors import DTypeError, HyperParameterError, NonFiniteError
from tests.conftest import TOLERANCE

HIDDEN = ["linear", "relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu"]
HEADS = [  # (loss, output activation, outputs)
    pytest.param("cce", "softmax", 3, id="softmax-cce"),
    pytest.param("bce", "sigmoid", 1, id="sigmoid-bce-1"),
    pytest.param("bce", "sigmoid", 3, id="sigmoid-bce-3"),
    pytest.param("mse", "linear", 1, id="linear-mse-1"),
    pytest.param("mse", "linear", 2, id="linear-mse-2"),
]
ALPHA = {"leaky_relu": 0.2, "elu": 0.7}  # not the defaults, so a lost alpha shows


@pytest.fixture
def ort():
    pytest.importorskip("onnx")
    return pytest.importorskip("onnxruntime")


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def model_with(activation, loss, output, n_out, dtype, backend="numpy", seed=0):
    """4 → 6 → Dropout → 5 → n_out with random weights and biases (biases nonzero)."""
    model = fnn.Sequential([fnn.Dense(4, 6, activation, alpha=ALPHA.get(activation)),
                            fnn.Dropout(0.3),
                            fnn.Dense(6, 5, activation, alpha=ALPHA.get(activation)),
                            fnn.Dense(5, n_out, output)],
                           loss=loss, dtype=dtype, backend=backend, seed=seed)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 1, w.shape) for w in model.get_weights()])
    return model


def inputs(dtype, n=9, seed=1):
    return np.random.default_rng(seed).normal(0, 2, (n, 4)).astype(dtype)


def run_onnx(ort, path, X):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"input": X})))


# ---- ONNX ------------------------------------------------------------------------------

@pytest.mark.parametrize("loss, output, n_out", HEADS)
@pytest.mark.parametrize("activation", HIDDEN)
def test_onnx_matches_predict(ort, tmp_path, activation, loss, output, n_out, dtype):
    model = model_with(activation, loss, output, n_out, dtype)
    X = inputs(dtype)
    model.to_onnx(tmp_path / "m.onnx")
    got = run_onnx(ort, tmp_path / "m.onnx", X)
    if loss == "mse":
        assert list(got) == ["predictions"]
        assert got["predictions"].dtype == dtype
        np.testing.assert_allclose(got["predictions"], model.predict(X), **TOLERANCE[dtype])
        return
    assert list(got) == ["probabilities", "label"]
    assert got["probabilities"].dtype == dtype
    np.testing.assert_allclose(got["probabilities"], model.predict_proba(X),
                               **TOLERANCE[dtype])
    assert got["label"].dtype == np.int64
    assert got["label"].shape == model.predict(X).shape
    np.testing.assert_array_equal(got["label"], model.predict(X))


@pytest.mark.parametrize("opset", [13, 17, 20])
def test_onnx_opsets_compute_the_same_gelu(ort, tmp_path, opset, dtype):
    model = model_with("gelu", "cce", "softmax", 3, dtype)
    proto = export.to_onnx(model, tmp_path / "m.onnx", opset=opset)
    ops = {node.op_type for node in proto.graph.node}
    assert ("Gelu" in ops) == (opset >= 20 and dtype == np.float32)
    if "Gelu" in ops:
        gelu = next(node for node in proto.graph.node if node.op_type == "Gelu")
        assert gelu.attribute[0].name == "approximate" and gelu.attribute[0].s == b"tanh"
    assert proto.opset_import[0].version == opset
    X = inputs(dtype, n=50)
    got = run_onnx(ort, tmp_path / "m.onnx", X)
    np.testing.assert_allclose(got["probabilities"], model.predict_proba(X),
                               **TOLERANCE[dtype])


def test_onnx_graph_has_gemm_nodes_and_a_dynamic_batch(ort, tmp_path):
    model = model_with("relu", "cce", "softmax", 3, np.float32, backend="numba")
    proto = model.to_onnx(tmp_path / "m.onnx")
    assert proto.opset_import[0].version == export.ONNX_OPSET == 20
    assert [n.op_type for n in proto.graph.node if n.op_type == "Gemm"] == ["Gemm"] * 3
    assert not [n for n in proto.graph.node if n.op_type == "Dropout"]
    (inp,) = proto.graph.input
    assert inp.name == "input"
    dims = inp.type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 4
    for n in (1, 2000):  # beyond predict's 1024-row chunks too
        X = inputs(np.float32, n=n)
        got = run_onnx(ort, tmp_path / "m.onnx", X)
        np.testing.assert_allclose(got["probabilities"], model.predict_proba(X),
                                   **TOLERANCE[np.float32])


def test_onnx_of_a_trained_saved_and_loaded_model(ort, tmp_path):
    """What `fastnn export MODEL.npz MODEL.onnx` runs: to_onnx(load(path), out)."""
    X, y = fnn.datasets.moons(200, noise=0.1, seed=0)
    model = fnn.mlp([2, 16, 2], activation="tanh", seed=0, backend="numpy")
    model.fit(X, y, epochs=3, verbose=0)
    model.save(tmp_path / "m.npz")
    export.to_onnx(fnn.load(tmp_path / "m.npz"), tmp_path / "m.onnx")
    got = run_onnx(ort, tmp_path / "m.onnx", X.astype(np.float32))
    np.testing.assert_array_equal(got["label"], model.predict(X))
    np.testing.assert_allclose(got["probabilities"], model.predict_proba(X),
                               **TOLERANCE[np.float32])


def test_onnx_untrained_model_is_built_first(ort, tmp_path):
    model = fnn.mlp([3, 4, 2], seed=5, backend="numpy")
    assert not model.built
    model.to_onnx(tmp_path / "m.onnx")
    X = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(run_onnx(ort, tmp_path / "m.onnx", X)["probabilities"],
                               model.predict_proba(X), **TOLERANCE[np.float32])


@pytest.mark.parametrize("opset", [12, 10_000, 20.0, "20", True])
def test_onnx_refuses_an_opset_it_cannot_write(ort, tmp_path, opset):
    model = fnn.mlp([3, 2], backend="numpy")
    with pytest.raises(HyperParameterError, match="Invalid opset"):
        model.to_onnx(tmp_path / "m.onnx", opset=opset)
    assert not (tmp_path / "m.onnx").exists()


def test_onnx_refuses_non_finite_weights(ort, tmp_path):
    model = fnn.mlp([3, 4, 2], backend="numpy")
    model.build()
    model.dense_layers[1].b[0] = np.nan
    with pytest.raises(NonFiniteError, match="b1 holds NaN"):
        model.to_onnx(tmp_path / "m.onnx")


def test_onnx_refuses_what_is_not_a_model(ort, tmp_path):
    with pytest.raises(DTypeError, match="expected a fastnn Sequential, got dict"):
        export.to_onnx({}, tmp_path / "m.onnx")


def test_onnx_missing_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now fails
    with pytest.raises(ImportError, match=r"pip install fastnn\[onnx\]"):
        fnn.mlp([3, 2]).to_onnx(tmp_path / "m.onnx")


# ---- to PyTorch ------------------------------------------------------------------------

@pytest.mark.parametrize("loss, output, n_out", HEADS)
@pytest.mark.parametrize("activation", HIDDEN)
def test_to_torch_matches_predict_proba(torch, activation, loss, output, n_out, dtype):
    model = model_with(activation, loss, output, n_out, dtype)
    module = model.to_torch()
    assert not module.training
    X = inputs(dtype)
    with torch.no_grad():
        got = module(torch.from_numpy(X)).numpy()
    assert got.dtype == dtype
    np.testing.assert_allclose(got, model.predict_proba(X), **TOLERANCE[dtype])


def test_to_torch_modules(torch):
    nn = torch.nn
    model = model_with("gelu", "cce", "softmax", 3, np.float64)
    module = model.to_torch()
    kinds = [type(m) for m in module]
    assert kinds == [nn.Linear, nn.GELU, nn.Dropout, nn.Linear, nn.GELU, nn.Linear,
                     nn.Softmax]
    assert module[1].approximate == "tanh" and module[2].p == 0.3 and module[6].dim == 1
    assert module[0].weight.shape == (6, 4) and module[0].weight.dtype == torch.float64
    np.testing.assert_array_equal(module[0].weight.detach().numpy(), model.get_weights()[0].T)
    leaky = model_with("leaky_relu", "mse", "linear", 1, np.float32).to_torch()
    assert leaky[1].negative_slope == pytest.approx(0.2) and type(leaky[-1]) is nn.Linear
    assert model_with("elu", "bce", "sigmoid", 1, np.float32).to_torch()[1].alpha == \
        pytest.approx(0.7)


def test_to_torch_missing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match="pip install torch"):
        fnn.mlp([3, 2]).to_torch()


# ---- from PyTorch ----------------------------------------------------------------------

def torch_stack(torch, activation, dtype=None):
    nn = torch.nn
    make = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
            "leaky_relu": lambda: nn.LeakyReLU(0.3), "elu": lambda: nn.ELU(0.6),
            "gelu": lambda: nn.GELU(approximate="tanh"), "linear": nn.Identity}[activation]
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8, dtype=dtype), make(), nn.Dropout(0.2),
                         nn.Linear(8, 6, bias=False, dtype=dtype), make(),
                         nn.Linear(6, 3, dtype=dtype)).eval()


@pytest.mark.parametrize("loss", ["cce", "bce", "mse"])
@pytest.mark.parametrize("activation", HIDDEN)
def test_from_torch_round_trip(torch, activation, loss, dtype):
    tdtype = getattr(torch, np.dtype(dtype).name)
    module = torch_stack(torch, activation, tdtype)
    model = fnn.from_torch(module, loss=loss)
    assert model.dtype == dtype and model.loss.name == loss
    X = inputs(dtype)
    with torch.no_grad():
        logits = module(torch.from_numpy(X))
        expected = {"cce": torch.softmax(logits, dim=1), "bce": torch.sigmoid(logits),
                    "mse": logits}[loss].numpy()
    np.testing.assert_allclose(model.predict_proba(X), expected, **TOLERANCE[dtype])
    back = model.to_torch()  # and back again: the same function
    with torch.no_grad():
        np.testing.assert_allclose(back(torch.from_numpy(X)).numpy(), expected,
                                   **TOLERANCE[dtype])


def test_from_torch_output_activation_sets_the_loss(torch, backend):
    nn = torch.nn
    torch.manual_seed(1)
    for last, loss in [(nn.Softmax(dim=1), "cce"), (nn.Softmax(dim=-1), "cce"),
                       (nn.Sigmoid(), "bce")]:
        module = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3), last)
        model = fnn.from_torch(module, backend=backend, seed=3)
        assert model.loss.name == loss and model.backend == backend and model.seed == 3
        X = inputs(np.float32)
        with torch.no_grad():
            np.testing.assert_allclose(model.predict_proba(X),
                                       module(torch.from_numpy(X)).numpy(),
                                       **TOLERANCE[np.float32])


def test_from_torch_model_trains_on(torch):
    X, y = fnn.datasets.moons(300, noise=0.1, seed=0)
    module = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(),
                                 torch.nn.Linear(16, 2))
    model = fnn.from_torch(module, loss="cce", backend="numpy", optimizer=fnn.Adam(lr=0.01))
    before = model.evaluate(X, y)["loss"]
    model.fit(X, y, epochs=20, verbose=0)
    assert model.evaluate(X, y)["loss"] < before


def test_from_torch_float64_module_to_float32_model(torch):
    module = torch_stack(torch, "relu", torch.float64)
    model = fnn.from_torch(module, loss="mse", dtype="float32")
    assert model.dtype == np.float32
    X = inputs(np.float64)
    with torch.no_grad():
        expected = module(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(model.predict_proba(X), expected, **TOLERANCE[np.float32])


def refusal_cases(nn):
    """(module, loss, error, message) for modules from_torch must refuse."""
    class Net(nn.Module):
        def forward(self, x):
            return x
    seq = nn.Sequential
    return [
        (Net(), "mse", DTypeError, "from_torch takes a torch.nn.Sequential, got Net"),
        (nn.ModuleList([nn.Linear(2, 2)]), "mse", DTypeError, "got ModuleList"),
        (seq(nn.Linear(2, 3), nn.Conv1d(1, 1, 1), nn.Linear(3, 2)), "mse",
         HyperParameterError, r"module 1 \(Conv1d.*no fastnn equivalent.*Supported: "
                              r"nn\.Linear"),
        (seq(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 4), nn.Softplus(), nn.Linear(4, 2)),
         "mse", HyperParameterError, r"module 3 \(Softplus.*no fastnn equivalent"),
        (seq(nn.Linear(2, 3), nn.GELU(), nn.Linear(3, 2)), "mse", HyperParameterError,
         r"module 1 .*tanh approximation.*approximate='none'"),
        (seq(nn.Linear(2, 3), nn.Softmax(dim=0)), None, HyperParameterError,
         r"module 1 .*not dim=0"),
        (seq(nn.ReLU(), nn.Linear(2, 2)), "mse", HyperParameterError,
         r"module 0 \(ReLU\(\)\) comes before the first Linear"),
        (seq(nn.Linear(2, 3), nn.ReLU(), nn.Tanh(), nn.Linear(3, 2)), "mse",
         HyperParameterError, r"module 2 \(Tanh\(\)\) does not directly follow a Linear"),
        (seq(nn.Linear(2, 3), nn.Dropout(0.1), nn.ReLU(), nn.Linear(3, 2)), "mse",
         HyperParameterError, r"module 2 \(ReLU\(\)\) does not directly follow"),
        (seq(nn.Linear(2, 3), nn.ReLU()), "mse", HyperParameterError,
         r"ends in 'relu'.*softmax \(loss 'cce'\), sigmoid"),
        (seq(nn.Linear(2, 3), nn.Dropout(0.5)), "mse", HyperParameterError,
         "must end with nn.Linear"),
        (seq(nn.Linear(2, 3)), None, HyperParameterError,
         r"ends in nn.Linear \(logits\): pass loss='cce'"),
        (seq(), "mse", HyperParameterError, "no nn.Linear layers"),
        (seq(nn.Linear(2, 3), nn.Sigmoid()), "cce", HyperParameterError,
         "loss 'cce' is fused with a 'softmax' output, but the Sequential ends in 'sigmoid'"),
        (seq(nn.Linear(2, 3), nn.Linear(3, 2)), "ce", fnn.errors.UnknownNameError,
         "unknown loss 'ce'"),
        (seq(nn.Linear(2, 3).half()), "mse", DTypeError, "parameters are float16"),
    ]


def test_from_torch_refuses_clearly(torch):
    for module, loss, error, message in refusal_cases(torch.nn):
        with pytest.raises(error, match=message):
            fnn.from_torch(module, loss=loss)
