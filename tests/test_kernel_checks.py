"""The Numba kernels refuse arrays whose shapes disagree, before reading any of them.

Numba does not check bounds: a kernel called with a W of the wrong height, an index past
the end or an optimizer state of the wrong size would read or write outside its arrays.
Each kernel compares its arrays' shapes first and raises instead.
"""
import numpy as np
import pytest

from fastnn.kernels import RELU, numba_cpu
from fastnn.kernels.scratch import dense_scratch

f32 = np.float32


def a(*shape):
    return np.zeros(shape, f32)


BAD_CALLS = [
    pytest.param("dense_forward", (a(4, 3), a(0, 3), a(0), a(4, 5), a(6, 3), a(3), RELU, 0.0),
                 "dense_forward", id="forward-W-height"),
    pytest.param("dense_forward", (a(4, 3), a(0, 3), a(0), a(4, 5), a(5, 3), a(2), RELU, 0.0),
                 "dense_forward", id="forward-bias"),
    pytest.param("dense_forward", (a(5, 3), a(0, 3), a(0), a(4, 5), a(5, 3), a(3), RELU, 0.0),
                 "dense_forward", id="forward-out-rows"),
    pytest.param("dense_forward", (a(4, 3), a(2, 3), a(0), a(4, 5), a(5, 3), a(3), RELU, 0.0),
                 "dense_forward", id="forward-z-rows"),
    pytest.param("dense_backward", (a(4, 5), a(5, 3), a(3), a(4, 3), a(0), a(4, 5), a(5, 2),
                                    a(4, 3), a(0, 3), a(4, 3), RELU, 0.0, 0.0, 0.0),
                 "dense_backward", id="backward-W-width"),
    pytest.param("dense_backward", (a(4, 5), a(5, 3), a(3), a(4, 3), a(0), a(4, 5), a(5, 3),
                                    a(4, 3), a(0, 3), a(3, 3), RELU, 0.0, 0.0, 0.0),
                 "dense_backward", id="backward-dout-rows"),
    pytest.param("dense_backward", (a(3, 5), a(5, 3), a(3), a(4, 3), a(0), a(4, 5), a(5, 3),
                                    a(4, 3), a(0, 3), a(4, 3), RELU, 0.0, 0.0, 0.0),
                 "dense_backward", id="backward-dx-rows"),
    pytest.param("dense_backward", (a(4, 70), a(70, 3), a(3), a(4, 3),
                                    a(dense_scratch(4, 70, 3, 4) - 1), a(4, 70),
                                    a(70, 3), a(4, 3), a(0, 3), a(4, 3), RELU, 0.0, 0.0, 0.0),
                 "scratch", id="backward-scratch-too-small"),
    pytest.param("dense_backward", (a(4, 70), a(70, 3), a(3), a(4, 3), np.zeros(216), a(4, 70),
                                    a(70, 3), a(4, 3), a(0, 3), a(4, 3), RELU, 0.0, 0.0, 0.0),
                 "dtype", id="backward-scratch-float64"),
    pytest.param("dense_forward", (a(4, 70), a(0, 70), np.zeros(30), a(4, 5), a(5, 70), a(70),
                                   RELU, 0.0), "dtype", id="forward-scratch-float64"),
    pytest.param("softmax_cce", (a(4, 3), a(4, 3), np.zeros(3, np.int64), a(0)), "softmax_cce",
                 id="cce-labels"),
    pytest.param("sigmoid_bce", (a(4, 3), a(4, 3), a(4, 2), a(0)), "sigmoid_bce", id="bce-y"),
    pytest.param("mse", (a(4, 3), a(4, 3), a(4, 3), a(3)), "weights", id="mse-weights"),
    pytest.param("mse", (a(4, 2), a(4, 3), a(4, 3), a(0)), "mse", id="mse-dz"),
    pytest.param("argmax_hits", (a(4, 3), np.zeros(5, np.int64)), "argmax_hits",
                 id="hits-labels"),
    pytest.param("threshold_hits", (a(4, 3), a(3, 3)), "threshold_hits", id="hits-y"),
    pytest.param("gather_rows", (a(2, 3), a(5, 3), np.array([0, 1, 2])), "gather_rows",
                 id="gather-out-rows"),
    pytest.param("gather_rows", (a(2, 3), a(5, 3), np.array([0, 5])), "outside",
                 id="gather-index-past-the-end"),
    pytest.param("gather_rows", (a(2, 3), a(5, 3), np.array([-1, 0])), "outside",
                 id="gather-negative-index"),
    pytest.param("prefetch_rows", (a(5, 3), np.array([0, 5])), "outside",
                 id="prefetch-index-past-the-end"),
    pytest.param("dropout_forward", (a(4, 3), a(4, 3), a(4, 2), 0.5), "dropout_forward",
                 id="dropout-mask"),
    pytest.param("dropout_backward", (a(4, 3), a(3, 3), a(4, 3), 0.5), "dropout_backward",
                 id="dropout-dout"),
    pytest.param("sgd_step", (a(10), a(9), a(10), 0.1, 0.9, False, 1), "sgd_step",
                 id="sgd-velocity"),
    pytest.param("adam_step", (a(10), a(10), a(10), a(11), 1e-3, 0.9, 0.999, 1e-8, 0.0, 1),
                 "adam_step", id="adam-grads"),
    pytest.param("rmsprop_step", (a(10), a(3), a(10), 1e-3, 0.99, 1e-8, 1), "rmsprop_step",
                 id="rmsprop-state"),
]


@pytest.mark.parametrize("name, args, words", BAD_CALLS)
def test_a_kernel_refuses_shapes_that_disagree(name, args, words):
    with pytest.raises((ValueError, IndexError), match=words):
        getattr(numba_cpu, name)(*args)
