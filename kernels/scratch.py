"""How much scratch the compiled matrix products need: the tile sizes and the sums.

Plain Python without Numba, so that the model can size its scratch buffer before (or
without) importing the compiled kernels; ``kernels.gemm`` compiles the same functions to
check the buffer it is given. Sizes are in elements of the arrays' dtype, with `itemsize`
its bytes (4: float32, 8: float64).

What the scratch holds (``kernels.gemm`` explains why):

    matmul     out (M, N) = a·b, b (K, N):  b's fewer than NR leftover columns,
               transposed: (N mod NR)·K elements.
    matmul_tn  out (M, N) = aᵀ·b, a (K, M):  one byte per group of MR columns of a and
               row of a (the k where the group is not all zero), plus SWEEP_CHUNKS rows
               of M bytes to find them; with N < NR ≤ M, the product is computed
               transposed into N·M elements first, and the zero masks are those of b.
    matmul_nt  out (M, N) = a·bᵀ, b (N, K):  bᵀ's whole panels of NR columns.

The scratch must have the arrays' dtype: the sizes count its elements.
"""

NR = 64           # columns of the register tile: 4 zmm of float32, 8 of float64
MR32 = 6          # rows for float32: 6 × 4 = 24 zmm accumulators
MR64 = 3          # rows for float64: 3 × 8 = 24 zmm accumulators
SWEEP_CHUNKS = 8  # pieces of aᵀ's rows that the threads search for zeros


def matmul_scratch(m, n, k, itemsize):
    """Elements matmul needs for out (m, n) = a·b with a (m, k), b (k, n)."""
    return (n % NR) * k


def matmul_tn_scratch(m, n, k, itemsize):
    """Elements matmul_tn needs for out (m, n) = aᵀ·b with a (k, m), b (k, n)."""
    floats = 0
    if n < NR <= m:  # outᵀ = bᵀ·a, computed first, then copied: the zero masks are b's
        floats, m = n * m, n
    mask_bytes = (m // (MR32 if itemsize == 4 else MR64)) * k + SWEEP_CHUNKS * m
    return floats + -(-mask_bytes // itemsize)


def matmul_nt_scratch(m, n, k, itemsize):
    """Elements matmul_nt needs for out (m, n) = a·bᵀ with a (m, k), b (n, k)."""
    return (n // NR) * NR * k


def dense_scratch(rows, n_in, n_out, itemsize, input_gradient=True):
    """Elements dense_forward and dense_backward need for a batch of `rows` (without
    `input_gradient`, for a first layer, whose backward pass skips dx = dz·Wᵀ): their
    products run one after the other, so the most any of them needs."""
    return max(matmul_scratch(rows, n_out, n_in, itemsize),
               matmul_tn_scratch(n_in, n_out, rows, itemsize),
               matmul_nt_scratch(rows, n_in, n_out, itemsize) if input_gradient else 0)
