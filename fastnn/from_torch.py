"""Import: a fastnn model from a ``torch.nn.Sequential`` of Linear layers and activations.

PyTorch is optional and imported only when `from_torch` is called. `fastnn.export`
goes the other way.
"""
import numpy as np

from fastnn.errors import DTypeError, HyperParameterError
from fastnn.export import TORCH_DTYPES, require_package, torch_activations
from fastnn.layers import Dense, Dropout
from fastnn.model import Sequential


def from_torch(module, loss=None, **kwargs):
    """A fastnn Sequential with the layers and weights of a ``torch.nn.Sequential``.

    Parameters
    ----------
    module : torch.nn.Sequential
        ``nn.Linear`` layers, each followed by at most one activation — ``nn.ReLU``,
        ``nn.Sigmoid``, ``nn.Tanh``, ``nn.LeakyReLU``, ``nn.ELU``,
        ``nn.GELU(approximate="tanh")``, ``nn.Softmax(dim=1)`` (last only) — and
        ``nn.Dropout`` or ``nn.Identity`` anywhere after the first Linear. Anything else
        is refused, naming the module and its index.
    loss : {"cce", "bce", "mse"}, optional
        fastnn fuses the loss with the output activation. A module ending in Softmax
        (Sigmoid) needs "cce" ("bce"), the default then. A module ending in a Linear
        (logits) needs `loss`: "cce" adds the softmax that ``nn.CrossEntropyLoss``
        applies, "bce" the sigmoid of ``nn.BCEWithLogitsLoss``, "mse" keeps it linear.
    **kwargs
        Passed to `Sequential` (optimizer, seed, backend, dtype, driver, threads); dtype
        defaults to the module's (float32 or float64).

    Returns
    -------
    Sequential
        Built, holding the module's weights: its ``predict_proba`` equals the module's
        output (with the added softmax or sigmoid for logits).
    """
    torch = require_package("torch", "torch")
    nn = torch.nn
    if not isinstance(module, nn.Sequential):
        raise DTypeError(f"from_torch takes a torch.nn.Sequential, got "
                         f"{type(module).__name__}; {SUPPORTED}")
    children = list(module.children())
    specs, weights = [], []  # specs: ["dense", in, out, activation, alpha] or ["dropout", p]
    for i, child in enumerate(children):
        where = f"module {i} ({child!r})"
        if isinstance(child, nn.Linear):
            specs.append(["dense", child.in_features, child.out_features, "linear", None])
            W = child.weight.detach().cpu().numpy().T
            b = (np.zeros(child.out_features, W.dtype) if child.bias is None
                 else child.bias.detach().cpu().numpy())
            weights += [W, b]
            continue
        if not specs:
            raise HyperParameterError(f"{where} comes before the first Linear; the "
                                      f"first module must be nn.Linear. {SUPPORTED}")
        if isinstance(child, nn.Dropout):
            specs.append(["dropout", child.p])
        elif isinstance(child, nn.Identity):
            pass
        else:
            activation, alpha = _fastnn_activation(nn, child, where)
            last = specs[-1]
            if last[0] != "dense" or last[3] != "linear":
                raise HyperParameterError(f"{where} does not directly follow a Linear: "
                                          f"fastnn applies one activation per Linear. "
                                          f"{SUPPORTED}")
            last[3], last[4] = activation, alpha
    if not specs:
        raise HyperParameterError(f"the Sequential has no nn.Linear layers. {SUPPORTED}")
    loss = _loss_for(specs, loss)
    dtype = kwargs.pop("dtype", None) or str(weights[0].dtype)
    if str(dtype) not in TORCH_DTYPES:
        raise DTypeError(f"the module's parameters are {dtype}; fastnn computes in float32 "
                         f"or float64: pass dtype='float32' (or convert the module)")
    layers = [Dense(s[1], s[2], activation=s[3], alpha=s[4]) if s[0] == "dense"
              else Dropout(s[1]) for s in specs]
    model = Sequential(layers, loss=loss, dtype=dtype, **kwargs)
    model.set_weights(weights)
    return model


SUPPORTED = ("Supported: nn.Linear, each followed by at most one of nn.ReLU, nn.Sigmoid, "
             "nn.Tanh, nn.LeakyReLU, nn.ELU, nn.GELU(approximate='tanh'), "
             "nn.Softmax(dim=1) (last module only); nn.Dropout and nn.Identity.")


def _fastnn_activation(nn, child, where):
    """(fastnn activation name, alpha) of a torch activation module, else an error."""
    if isinstance(child, nn.GELU):
        if child.approximate != "tanh":
            raise HyperParameterError(
                f"{where}: fastnn's gelu is the tanh approximation; nn.GELU(approximate="
                f"{child.approximate!r}) computes another function. Use "
                f"nn.GELU(approximate='tanh').")
        return "gelu", None
    if isinstance(child, nn.Softmax):
        if child.dim not in (1, -1):
            raise HyperParameterError(f"{where}: fastnn's softmax runs over the features "
                                      f"(dim=1), not dim={child.dim}")
        return "softmax", None
    if isinstance(child, nn.LeakyReLU):
        return "leaky_relu", child.negative_slope
    if isinstance(child, nn.ELU):
        return "elu", child.alpha
    for name, cls in torch_activations(nn).items():
        if type(child) is cls:
            return name, None
    raise HyperParameterError(f"{where} has no fastnn equivalent. {SUPPORTED}")


def _loss_for(specs, loss):
    """The loss for a stack ending in specs[-1], adding the output activation it fuses
    with to a final linear layer (logits)."""
    from fastnn.losses import LOSSES
    last = specs[-1]
    if last[0] != "dense":
        raise HyperParameterError("the Sequential must end with nn.Linear or its output "
                                  "activation, not nn.Dropout")
    by_output = {cls.output: name for name, cls in LOSSES.items()}
    activation = last[3]
    if activation == "linear" and loss is None:
        raise HyperParameterError(
            "the Sequential ends in nn.Linear (logits): pass loss='cce' (adds the softmax "
            "of nn.CrossEntropyLoss), loss='bce' (the sigmoid of nn.BCEWithLogitsLoss) or "
            "loss='mse' (linear output)")
    if activation not in by_output:
        raise HyperParameterError(
            f"the Sequential ends in {activation!r}: fastnn's output layer is softmax "
            f"(loss 'cce'), sigmoid ('bce') or linear ('mse')")
    if loss is None:
        return by_output[activation]
    from fastnn.losses import get
    wanted = get(loss)
    if activation == "linear":
        last[3] = wanted.output
    elif activation != wanted.output:
        raise HyperParameterError(
            f"loss {wanted.name!r} is fused with a {wanted.output!r} output, but the "
            f"Sequential ends in {activation!r}")
    return wanted.name
