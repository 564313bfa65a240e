"""The math of fastnn, written twice.

``kernels.reference`` states every kernel in plain NumPy: it is the specification and the
test oracle. ``kernels.numba_cpu`` has the same functions, with the same names and
parameters, compiled by Numba. A kernel writes its outputs (its first parameters) and
returns at most a scalar.

Activations are passed to kernels as the integer codes below, so that a jitted kernel
compiles once per dtype rather than once per activation name.
"""

LINEAR, RELU, SIGMOID, TANH, SOFTMAX = range(5)

ACTIVATIONS = {"linear": LINEAR, "relu": RELU, "sigmoid": SIGMOID, "tanh": TANH,
               "softmax": SOFTMAX}

KERNELS = (
    "dense_forward",
    "dense_backward",
    "softmax_cce",
    "sigmoid_bce",
    "mse",
    "argmax_hits",
    "threshold_hits",
    "gather_rows",
    "sgd_step",
    "adam_step",
)
