"""Export: a model as an ONNX graph, or as a ``torch.nn.Sequential`` (`fastnn.from_torch`
brings one back).

Both packages are optional: ``pip install fastnn[onnx]`` for `to_onnx` (onnx, and
onnxruntime to run the file), PyTorch for `to_torch` and `from_torch`. They are imported
only when one of these functions is called.

What a converted model computes is what `Sequential.predict_proba` computes: the output
layer's activation is part of the graph (softmax probabilities, sigmoid probabilities, or
linear values). Dropout is the identity at inference, so the ONNX graph leaves it out.
"""
import numpy as np

from fastnn.errors import DTypeError, HyperParameterError, NonFiniteError
from fastnn.layers import Dropout

ONNX_OPSET = 20  # the first opset with Gelu(approximate="tanh"), fastnn's gelu
MIN_OPSET = 13  # Softmax over one axis, Squeeze's axes as an input
INPUT = "input"


def require_package(package, extra):
    try:
        return __import__(package)
    except ImportError as err:
        raise ImportError(f"this needs the optional package {package!r}: "
                          f"pip install {extra}") from err


# ---- ONNX ------------------------------------------------------------------------------

def to_onnx(model, path, opset=None):
    """Write `model` to `path` as an ONNX graph of Gemm and activation nodes.

    Parameters
    ----------
    model : Sequential
        Built or not (an unbuilt model is built, with its seeded initial weights).
    path : str or path-like
        Where to write the .onnx file.
    opset : int, optional
        ONNX opset of the default domain, from 13 to the newest that the installed onnx
        knows. Default 20, the first with ``Gelu(approximate="tanh")``; below 20, gelu is
        spelled with Mul, Add and Tanh (the same formula), so older runtimes can run it.

    Returns
    -------
    onnx.ModelProto
        The model written, checked by ``onnx.checker``.

    Notes
    -----
    The graph has one input, ``input`` of shape (batch, n_inputs) and the model's dtype
    (float32 or float64), with a dynamic batch dimension. Its outputs follow the loss:

    - "cce": ``probabilities`` (batch, C), as ``predict_proba``, and ``label`` (batch,)
      int64, as ``predict`` (the first largest probability);
    - "bce": ``probabilities`` (batch, O) and ``label`` int64 (probability > 0.5), shaped
      (batch,) when O = 1 and (batch, O) otherwise, as ``predict``;
    - "mse": ``predictions``, shaped as ``predict``: (batch,) when O = 1, else (batch, O).

    ONNX Runtime's CPU provider has no float64 LeakyRelu or Elu, and its float64 Gelu
    is only accurate to about 1e-7, so a float64 graph spells these three with primitive
    ops (Greater, Where, Exp, Mul, Add, Tanh).
    """
    onnx = require_package("onnx", "fastnn[onnx]")
    proto = onnx_model(model, opset)
    onnx.save_model(proto, str(path))
    return proto


def onnx_model(model, opset=None):
    """The ONNX graph of `to_onnx` as an ``onnx.ModelProto``, without writing a file."""
    onnx = require_package("onnx", "fastnn[onnx]")
    from onnx import helper

    from fastnn.config import __version__
    opset = _opset(onnx, opset)
    layers = _dense_layers(model)
    graph = _Graph(helper, model.dtype)
    x = INPUT
    for i, layer in enumerate(layers):
        x = graph.node("Gemm", [x, graph.constant(f"W{i}", layer.W),
                                graph.constant(f"b{i}", layer.b)], name=f"dense{i}")
        x = _onnx_activation(graph, x, layer, opset)
    outputs = _onnx_head(graph, x, model.loss.name, model.n_outputs)
    tensor_type = helper.np_dtype_to_tensor_dtype(model.dtype)
    g = helper.make_graph(
        graph.nodes, "fastnn", [helper.make_tensor_value_info(INPUT, tensor_type,
                                                              ["batch", model.n_inputs])],
        [helper.make_tensor_value_info(name, tensor_type if kind == "float" else
                                       onnx.TensorProto.INT64, shape)
         for name, kind, shape in outputs],
        initializer=graph.initializers)
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(g, opset_imports=opsets, producer_name="fastnn",
                              producer_version=__version__,
                              ir_version=helper.find_min_ir_version_for(opsets))
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _opset(onnx, opset):
    newest = onnx.defs.onnx_opset_version()
    if opset is None:
        return ONNX_OPSET
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) \
            or not MIN_OPSET <= opset <= newest:
        raise HyperParameterError(f"Invalid opset: {opset!r} (fastnn writes opsets "
                                  f"{MIN_OPSET} to {newest}, the newest this onnx knows)")
    return int(opset)


def _dense_layers(model):
    """The model's Dense layers (built), refusing non-finite weights as `save` does."""
    if not hasattr(model, "dense_layers"):  # duck-typed: the model module calls this one
        raise DTypeError(f"expected a fastnn Sequential, got {type(model).__name__}")
    if not model.built:
        model.build()
    layers = model.dense_layers
    for i, layer in enumerate(layers):
        for name, value in (("W", layer.W), ("b", layer.b)):
            if not np.isfinite(value).all():
                raise NonFiniteError(f"cannot export: {name}{i} holds NaN or inf")
    return layers


class _Graph:
    """ONNX nodes and initializers under construction, each output with a fresh name."""

    def __init__(self, helper, dtype):
        self.helper, self.dtype = helper, dtype
        self.nodes, self.initializers, self.names = [], [], set()

    def constant(self, name, value, dtype=None):
        """An initializer (of the model's dtype unless `dtype`); made once per name."""
        if name not in self.names:
            from onnx import numpy_helper
            value = np.asarray(value, self.dtype if dtype is None else dtype)
            self.initializers.append(numpy_helper.from_array(value, name))
            self.names.add(name)
        return name

    def node(self, op, inputs, name=None, out=None, **attributes):
        """Add an `op` node; returns its output's name (`out`, else a fresh one)."""
        name = name or f"{op.lower()}{len(self.nodes)}"
        out = out or name
        self.nodes.append(self.helper.make_node(op, inputs, [out], name=name, **attributes))
        return out


def _onnx_activation(graph, z, layer, opset):
    """The nodes computing layer.activation of z; returns the output's name."""
    activation, alpha = layer.activation, layer.alpha
    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}
    if activation == "linear":
        return z
    if activation in simple:
        return graph.node(simple[activation], [z])
    if activation == "softmax":
        return graph.node("Softmax", [z], axis=1)
    native = graph.dtype == np.float32  # see to_onnx's Notes on float64
    if activation == "leaky_relu":
        if native:
            return graph.node("LeakyRelu", [z], alpha=float(alpha))
        negative = graph.node("Mul", [z, graph.constant(f"alpha_{alpha!r}", alpha)])
        return _where_positive(graph, z, negative)
    if activation == "elu":
        if native:
            return graph.node("Elu", [z], alpha=float(alpha))
        zero, one = graph.constant("zero", 0), graph.constant("one", 1)
        expm1 = graph.node("Sub", [graph.node("Exp", [graph.node("Min", [z, zero])]), one])
        negative = graph.node("Mul", [expm1, graph.constant(f"alpha_{alpha!r}", alpha)])
        return _where_positive(graph, z, negative)
    if activation == "gelu":
        if opset >= 20 and native:
            return graph.node("Gelu", [z], approximate="tanh")
        from fastnn.kernels.reference import GELU_C, GELU_K
        cube = graph.node("Mul", [graph.node("Mul", [z, z]), z])
        inner = graph.node("Add", [z, graph.node("Mul", [graph.constant("gelu_k", GELU_K),
                                                         cube])])
        t = graph.node("Tanh", [graph.node("Mul", [graph.constant("gelu_c", GELU_C), inner])])
        half_z = graph.node("Mul", [graph.constant("half", 0.5), z])
        return graph.node("Mul", [half_z, graph.node("Add", [graph.constant("one", 1), t])])
    raise HyperParameterError(f"no ONNX form for activation {activation!r}")


def _where_positive(graph, z, negative):
    """z where z > 0, else `negative`."""
    positive = graph.node("Greater", [z, graph.constant("zero", 0)])
    return graph.node("Where", [positive, z, negative])


def _onnx_head(graph, x, loss, n_outputs):
    """Name the outputs as `to_onnx` documents; returns [(name, kind, shape)]."""
    squeeze = n_outputs == 1

    def shaped(name, kind, value, node_name):
        if squeeze:
            axes = graph.constant("axis_1", [1], np.int64)
            graph.node("Squeeze", [value, axes], name=node_name, out=name)
            return name, kind, ["batch"]
        graph.node("Identity", [value], name=node_name, out=name)
        return name, kind, ["batch", n_outputs]

    if loss == "mse":
        return [shaped("predictions", "float", x, "predictions")]
    graph.node("Identity", [x], name="probabilities", out="probabilities")
    probabilities = ("probabilities", "float", ["batch", n_outputs])
    if loss == "cce":
        graph.node("ArgMax", ["probabilities"], name="label", out="label", axis=1,
                   keepdims=0)
        return [probabilities, ("label", "int", ["batch"])]
    above = graph.node("Greater", ["probabilities", graph.constant("threshold", 0.5)])
    from onnx import TensorProto
    labels = graph.node("Cast", [above], to=TensorProto.INT64)
    return [probabilities, shaped("label", "int", labels, "label")]


# ---- PyTorch ---------------------------------------------------------------------------

TORCH_DTYPES = ("float32", "float64")


def torch_activations(nn):
    """{fastnn activation: torch module class}."""
    return {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "softmax": nn.Softmax,
            "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "gelu": nn.GELU}


def to_torch(model):
    """An equivalent ``torch.nn.Sequential``, in eval mode, of the model's dtype.

    Each Dense becomes ``nn.Linear`` (weight = Wᵀ, since fastnn's W is (in, out) and
    torch's (out, in)) followed by its activation module — ``nn.GELU(approximate="tanh")``,
    ``nn.LeakyReLU(alpha)``, ``nn.ELU(alpha)``, ``nn.Softmax(dim=1)`` — none for
    "linear"; each Dropout becomes ``nn.Dropout(rate)``. The output activation is
    included, so the module returns what ``predict_proba`` returns; to train it in torch
    with ``nn.CrossEntropyLoss`` or ``nn.BCEWithLogitsLoss``, drop it (``module[:-1]``).
    """
    torch = require_package("torch", "torch")
    nn = torch.nn
    _dense_layers(model)  # builds, and refuses non-finite weights
    dtype = getattr(torch, model.dtype.name)
    modules = []
    for layer in model.layers:
        if isinstance(layer, Dropout):
            modules.append(nn.Dropout(layer.rate))
            continue
        linear = nn.Linear(layer.in_features, layer.out_features, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(layer.W.T)))
            linear.bias.copy_(torch.from_numpy(layer.b.copy()))
        modules.append(linear)
        activation = layer.activation
        if activation == "softmax":
            modules.append(nn.Softmax(dim=1))
        elif activation == "gelu":
            modules.append(nn.GELU(approximate="tanh"))
        elif activation == "leaky_relu":
            modules.append(nn.LeakyReLU(layer.alpha))
        elif activation == "elu":
            modules.append(nn.ELU(layer.alpha))
        elif activation != "linear":
            modules.append(torch_activations(nn)[activation]())
    return nn.Sequential(*modules).eval()
