"""The math of fastnn, written twice.

``kernels.reference`` states every kernel in plain NumPy: it is the specification and the
test oracle, and its public functions are the list of kernels. ``kernels.numba_cpu`` has the same functions, with the same names and
parameters, compiled by Numba. A kernel writes its outputs (its first parameters) and
returns at most a scalar.

An optimizer kernel is called as ``kernel(params, *state, grads, *hyper, step)``: its state
arrays, then its hyper-parameters in the order its class's ``hyper()`` gives them, then
the number of updates made, this one included (``fastnn.optim``).

Activations are passed to kernels as the integer codes below, so that a jitted kernel
compiles once per dtype rather than once per activation name.
"""

LINEAR, RELU, SIGMOID, TANH, SOFTMAX, LEAKY_RELU, ELU, GELU = range(8)

ACTIVATIONS = {"linear": LINEAR, "relu": RELU, "sigmoid": SIGMOID, "tanh": TANH,
               "softmax": SOFTMAX, "leaky_relu": LEAKY_RELU, "elu": ELU, "gelu": GELU}

NEEDS_Z = (GELU,)  # derivative not expressible through the output: keep z = x·W + b
