"""How much scratch the compiled matrix products need: the tile sizes and the sums.

Plain Python without Numba, so that the model can size its scratch buffer before (or
without) importing the compiled kernels; ``kernels.gemm`` compiles the same functions to
check the buffer it is given. Sizes are in elements of the arrays' dtype, with `itemsize`
its bytes (4: float32, 8: float64).

What the scratch holds (``kernels.gemm`` explains why), for out (M, N) = A·B with A in
blocks of MR rows (``kernels.tiles``):

    matmul, matmul_nt  nothing: B's packed panels and the k lists that skip A's zeros
                       live on each thread's stack.
    matmul_tn  A = aᵀ with a (K, M): a mostly-zero a, one byte per group of MR columns
               and row of a (whether the group is all zero there), plus SWEEP_CHUNKS
               rows of M bytes to find them; a dense one, aᵀ copied (M × K elements).

The scratch must have the arrays' dtype: the sizes count its elements.
"""
from fastnn.kernels.tiles import KC32, KC64, MR32, MR64, NR32, NR64

SWEEP_CHUNKS = 8  # pieces of aᵀ's rows that the threads search for zeros


def tile(itemsize):
    """(MR, NR, KC) for elements of `itemsize` bytes."""
    return (MR32, NR32, KC32) if itemsize == 4 else (MR64, NR64, KC64)


# Each size is one self-contained function: kernels.gemm compiles them as they are.
def matmul_scratch(m, n, k, itemsize):
    """Elements matmul needs for out (m, n) = a·b with a (m, k), b (k, n): none."""
    return 0


def matmul_tn_scratch(m, n, k, itemsize):
    """Elements matmul_tn needs for out (m, n) = aᵀ·b with a (k, m), b (k, n)."""
    mr = MR32 if itemsize == 4 else MR64
    mask_bytes = (m // mr) * k + SWEEP_CHUNKS * m
    return max(-(-mask_bytes // itemsize), m * k)


def matmul_nt_scratch(m, n, k, itemsize):
    """Elements matmul_nt needs for out (m, n) = a·bᵀ with a (m, k), b (n, k): none."""
    return 0


def dense_scratch(rows, n_in, n_out, itemsize, input_gradient=True):
    """Elements dense_forward and dense_backward need for a batch of `rows` (without
    `input_gradient`, for a first layer, whose backward pass skips dx = dz·Wᵀ): their
    products run one after the other, so the most any of them needs."""
    return max(matmul_scratch(rows, n_out, n_in, itemsize),
               matmul_tn_scratch(n_in, n_out, rows, itemsize),
               matmul_nt_scratch(rows, n_in, n_out, itemsize) if input_gradient else 0)
