"""Register-blocked matrix products in pure Numba: the three GEMMs of a dense layer.

    matmul(out, scratch, a, b)      out (M, N) = a (M, K) · b (K, N)     forward:  x·W
    matmul_tn(out, scratch, a, b)   out (M, N) = a (K, M)ᵀ · b (K, N)    dW:       xᵀ·dz
    matmul_nt(out, scratch, a, b)   out (M, N) = a (M, K) · b (N, K)ᵀ    dx:       dz·Wᵀ

Their NumPy twin is the ``@`` operator (tests/test_gemm.py). They avoid BLAS on purpose:
OpenBLAS spins its own thread pool, which fights Numba's on two cores, and on this CPU it
is slower than the tile below on the MLP's shapes.

How it is fast (each point was measured; see the benchmark suite):
* The micro-kernel accumulates an MR × NR block of ``out`` in a stack buffer
  (`_stack_tile`, an LLVM alloca). Every index into it has a constant trip count, so LLVM
  keeps the whole block in 24 vector registers: per k, NR/lanes loads of b, MR broadcasts
  of a, 24 FMAs. Accumulating in a heap array or straight into ``out`` is ~4× slower, as
  LLVM cannot prove those do not alias the inputs.
* NR = 64 for both dtypes: a 16- or 32-long j loop is unrolled before it is vectorized
  and ends up scalar.
* The tiles start with a guard on negative offsets; without it the wrap-around of
  negative indices turns the vector loads of b into gathers (~25× slower).
* A last block of fewer than MR rows runs one row at a time (`_row_panel`), skipping
  zeros too (a batch of 128 is 21 blocks of 6 and one of 2). Fewer than NR leftover
  columns (a 10-class output) take a dot-product kernel over their transposed copy: one
  row at a time, accumulating along them, ran 4-5× slower (39 against 8 µs at batch 128).
* Threads split ``out``'s row blocks (``prange``): no reductions. Below SERIAL_FLOPS one
  thread is faster than waking the other.
* Zeros of A are skipped, not multiplied: when most of A is zero (`_mostly_zero`, e.g.
  MNIST's pixels, 81% zero), each row block first lists the k where its MR rows are not
  all zero (`_block_ks`: vectorized tests, then a branch-free compaction) and its tiles
  run over those k only. On a batch of 128 MNIST images that is 44% of the k of x·W and
  34% of those of xᵀ·dz: one thread, 250 → 130 µs and 250 → 120 µs. A zero test inside
  the tile made it 1.5× slower; on dense A the list is all k, for 0-4%.
  The one difference from a dense product: a zero of A times an inf or NaN of b adds
  nothing here instead of NaN (the trainer checks losses and weights for non-finite
  values on its own).
* aᵀ is read in place, never copied. The k list has at most KC entries, on the stack:
  longer K runs in chunks, accumulating into out.
* Allocation: none, given a scratch buffer of the arrays' dtype (`kernels.scratch`
  gives its size). A weight matrix's leftover columns (`matmul`) and its transpose
  (`matmul_nt`) are copied into it, and a narrow dWᵀ (`matmul_tn`) computed into it: at
  most the size of that weight matrix. Skipping zeros of aᵀ keeps one byte per group of
  MR columns and row of a (M/MR × K: 17 KB for MNIST's dW1 at batch 128, which grows
  with the batch), plus 8 rows of M bytes to find them. Given an empty scratch, they
  allocate what they need.
"""
import numba as nb
import numpy as np
from numba import config, prange
from numba.core import cgutils, types
from numba.extending import intrinsic

from fastnn.kernels import scratch as sizes
from fastnn.kernels.compile import jit, jit_parallel
from fastnn.kernels.scratch import MR32, MR64, NR, SWEEP_CHUNKS

SERIAL_FLOPS = 500_000   # below this many FLOPs a product runs on one thread
KC = 1024                # k values per chunk: the list of a row block's k is on the stack
ZERO_SAMPLE = 4096       # elements of A sampled to decide whether to skip its zeros
ZERO_SHARE = 2 / 3       # skip them when at least this share of the sample is zero
PARALLEL_SIZE = 131_072  # elements of aᵀ worth splitting its zero search among threads


def _rows_for(dtype):
    return MR32 if dtype.bitwidth == 32 else MR64


@intrinsic
def _tile_rows(typingctx, arr):
    """MR for arr's dtype, as a compile-time constant."""
    mr = _rows_for(arr.dtype)

    def codegen(context, builder, sig, args):
        return context.get_constant(types.intp, mr)
    return types.intp(arr), codegen


@intrinsic
def _stack_tile(typingctx, arr):
    """Pointer to an MR × NR stack buffer (LLVM alloca) of arr's dtype."""
    dtype = arr.dtype
    size = _rows_for(dtype) * NR

    def codegen(context, builder, sig, args):
        ty = context.get_value_type(dtype)
        return cgutils.alloca_once(builder, ty, size=context.get_constant(types.intp, size))
    return types.CPointer(dtype)(arr), codegen


@intrinsic
def _stack_ks(typingctx, arr):
    """Pointer to a 2 × KC stack buffer of uint32: a row block's k indices and a mask."""
    def codegen(context, builder, sig, args):
        ty = context.get_value_type(types.uint32)
        return cgutils.alloca_once(builder, ty, size=context.get_constant(types.intp, 2 * KC))
    return types.CPointer(types.uint32)(arr), codegen


@jit(linked=True)
def _rows_nonzero(mask, a, i0, rows, k0, k1):
    """mask[k − k0] = whether a[i0:i0+rows, k] has a non-zero, for k0 ≤ k < k1; rows ≤ MR."""
    if i0 < 0 or k0 < 0 or rows < 1:
        return  # lets LLVM drop the negative-index wrap-around
    zero = a.dtype.type(0)
    last = rows - 1
    for k in range(k0, k1):  # vectorizes over k: MR contiguous streams
        u = np.uint64(k)  # unsigned: no wrap-around, so contiguous vector loads
        keep = False
        for r in range(_tile_rows(a)):  # a constant trip count: unrolled
            keep |= a[i0 + min(r, last), u] != zero  # a short block reads its last row again
        mask[k - k0] = keep


@jit(linked=True)
def _column_groups_nonzero(masks, a, row, k0, k1):
    """masks[g, k] = whether a[k, MR·g : MR·g + MR] has a non-zero, for the rows
    k0 ≤ k < k1 of a (K, M) and every whole group g of MR columns; row (M,) is scratch.

    One pass over a in memory order: per row, the non-zeros, then ORs of neighbours at
    growing distances until row[c] covers c … c+MR−1 (vector operations all). Reading
    MR-column groups down the rows instead, as the non-transposed case does, makes LLVM
    gather across rows: 5× slower.
    """
    mr = _tile_rows(a)
    m = a.shape[1]
    zero = a.dtype.type(0)
    if k0 < 0:
        return
    for k in range(k0, k1):
        for c in range(m):
            row[c] = a[k, c] != zero
        covered = 1
        while covered < mr:
            shift = min(covered, mr - covered)
            for c in range(m - shift):
                row[c] |= row[c + shift]
            covered += shift
        for g in range(masks.shape[0]):
            masks[g, k] = row[g * mr]


@jit_parallel
def _find_column_groups(masks, a, rows):
    """`_column_groups_nonzero` over all rows of a, split among the threads when large;
    rows (SWEEP_CHUNKS·M,) is their scratch."""
    k_len, m = a.shape
    chunks = 1 if a.size < PARALLEL_SIZE else SWEEP_CHUNKS
    if chunks == 1:  # k0 = 0·k_len, not 0: a literal 0 would compile a second signature
        _column_groups_nonzero(masks, a, rows[:m], 0 * k_len, k_len)
        return
    for c in prange(chunks):
        _column_groups_nonzero(masks, a, rows[c * m:(c + 1) * m], c * k_len // chunks,
                               (c + 1) * k_len // chunks)


@jit(linked=True)
def _compact(ks, mask, k0, k1):
    """ks[:n] = the k in [k0, k1) with mask[k − k0] set, in order; returns n."""
    n_k = 0
    for k in range(k0, k1):
        ks[n_k] = k
        n_k += mask[k - k0]  # branch-free: a k that is not kept is overwritten by the next
    return n_k


@jit(linked=True)
def _block_ks(ks, mask, masks, a, block, k0, k1, a_transposed, skip_zeros):
    """Write to ks the k in [k0, k1) that row block `block` of A (a, or aᵀ) multiplies, in
    order: all of them, or when skip_zeros only those where its MR rows are not all zero
    (aᵀ: as `_column_groups_nonzero` found them in masks). Returns how many. mask is
    scratch, as long as ks."""
    if not skip_zeros:
        for k in range(k0, k1):
            ks[k - k0] = k
        return k1 - k0
    if a_transposed:
        return _compact(ks, masks[block, k0:k1], k0, k1)
    i0 = block * _tile_rows(a)
    _rows_nonzero(mask, a, i0, min(_tile_rows(a), a.shape[0] - i0), k0, k1)
    return _compact(ks, mask, k0, k1)


@jit(linked=True)
def _tile(out, a, b, i0, j0, ks, n_k, a_transposed, accumulate):
    """out[i0:i0+MR, j0:j0+NR] (+)= A[i0:i0+MR, ks] · b[ks, j0:j0+NR], A = a or aᵀ, over
    the first n_k of ks; += when accumulate.

    A must have all MR rows (a last, shorter block goes to `_row_panel`).
    """
    mr = _tile_rows(a)
    if i0 < 0 or j0 < 0:
        return  # lets LLVM drop the negative-index wrap-around: contiguous vector loads
    acc = nb.carray(_stack_tile(a), (mr, NR))
    zero = a.dtype.type(0)
    for r in range(mr):
        for j in range(NR):
            acc[r, j] = zero
    for p in range(n_k):
        k = ks[p]  # unsigned: no wrap-around either
        for r in range(mr):
            ar = a[k, i0 + r] if a_transposed else a[i0 + r, k]  # a literal: folded away
            for j in range(NR):
                acc[r, j] += ar * b[k, j0 + j]
    if accumulate:
        for r in range(mr):
            for j in range(NR):
                out[i0 + r, j0 + j] += acc[r, j]
    else:
        for r in range(mr):
            for j in range(NR):
                out[i0 + r, j0 + j] = acc[r, j]


@jit(linked=True)
def _row_panel(out, a, b, i, j0, ks, n_k, a_transposed, accumulate):
    """out[i, j0:j0+NR] (+)= A[i, ks] · b[ks, j0:j0+NR]: one row, for a last block of fewer
    than MR rows (a full tile would compute MR rows to keep one: batch 1 ran 6× slower)."""
    if i < 0 or j0 < 0:
        return
    acc = nb.carray(_stack_tile(a), (NR,))
    zero = a.dtype.type(0)
    for j in range(NR):
        acc[j] = zero
    for p in range(n_k):
        k = ks[p]
        ai = a[k, i] if a_transposed else a[i, k]
        for j in range(NR):
            acc[j] += ai * b[k, j0 + j]
    if accumulate:
        for j in range(NR):
            out[i, j0 + j] += acc[j]
    else:
        for j in range(NR):
            out[i, j0 + j] = acc[j]


@jit(linked=True)
def _dot_columns(out, a, bt, r0, r1, c0):
    """out[r0:r1, c0:c0+C] = a[r0:r1] · btᵀ, with a (M, K), bt (C, K): dot products along K.

    A 2 × 2 block of sums, each vectorized along K; for the few (< NR) leftover columns.
    """
    n_cols, k_len = bt.shape
    if r0 < 0 or c0 < 0:
        return
    zero = a.dtype.type(0)
    for i in range(r0, r1, 2):
        i1 = min(i + 1, r1 - 1)  # an odd last row is computed twice
        for c in range(0, n_cols, 2):
            c1 = min(c + 1, n_cols - 1)
            s00 = s01 = s10 = s11 = zero
            for k in range(k_len):
                a0, a1, b0, b1 = a[i, k], a[i1, k], bt[c, k], bt[c1, k]
                s00 += a0 * b0
                s01 += a0 * b1
                s10 += a1 * b0
                s11 += a1 * b1
            out[i, c0 + c], out[i1, c0 + c] = s00, s10
            out[i, c0 + c1], out[i1, c0 + c1] = s01, s11


@jit(linked=True)
def _axpy_columns(out, a, b, r0, r1, c0):
    """out[r0:r1, c0:] = a[:, r0:r1]ᵀ · b[:, c0:], with a (K, M): for leftover columns of aᵀb."""
    n_cols, n_rows = out.shape[1] - c0, r1 - r0
    if r0 < 0 or c0 < 0 or n_rows <= 0 or n_cols <= 0:
        return
    acc = nb.carray(_stack_tile(a), (NR, _tile_rows(a)))  # n_cols < NR, n_rows ≤ MR
    for c in range(n_cols):
        for i in range(n_rows):
            acc[c, i] = 0
    for k in range(a.shape[0]):
        for c in range(n_cols):
            bkc = b[k, c0 + c]
            for i in range(n_rows):
                acc[c, i] += bkc * a[k, r0 + i]
    for i in range(n_rows):
        for c in range(n_cols):
            out[r0 + i, c0 + c] = acc[c, i]


@jit
def _row_block(out, a, b, bt, masks, block, a_transposed, skip_zeros):
    """Rows [MR·block, MR·block + MR) of out = A·b; bt holds b's leftover columns transposed.

    KC values of k at a time, the tiles run over the k that `_block_ks` lists: all of
    them, or with skip_zeros those where the block's rows of A are not all zero.
    """
    m, n = out.shape
    mr = _tile_rows(a)
    panels = n // NR
    i0 = block * mr
    rows = min(mr, m - i0)
    k_len = b.shape[0]
    scratch = nb.carray(_stack_ks(a), (2, KC))
    ks, mask = scratch[0], scratch[1]
    for k0 in range(0, max(k_len, 1), KC):  # once at least: K = 0 writes zeros
        n_k = _block_ks(ks, mask, masks, a, block, k0, min(k0 + KC, k_len), a_transposed,
                        skip_zeros and (rows == mr or not a_transposed))
        for p in range(panels):
            j0 = p * NR
            if rows == mr:
                _tile(out, a, b, i0, j0, ks, n_k, a_transposed, k0 > 0)
            else:
                for i in range(i0, i0 + rows):
                    _row_panel(out, a, b, i, j0, ks, n_k, a_transposed, k0 > 0)
    if panels * NR < n:
        if a_transposed:
            _axpy_columns(out, a, b, i0, i0 + rows, panels * NR)
        else:
            _dot_columns(out, a, bt, i0, i0 + rows, panels * NR)


@jit(linked=True)
def _mostly_zero(a):
    """Whether at least ZERO_SHARE of a's first ZERO_SAMPLE elements (in memory) are zero:
    then skipping A's all-zero columns is worth building the list of those left."""
    flat = a.reshape(a.size)
    n = min(a.size, ZERO_SAMPLE)
    zeros = 0
    for t in range(n):
        zeros += flat[t] == 0
    return zeros >= ZERO_SHARE * n and n > 0


@jit_parallel
def _gemm(out, a, b, bt, a_transposed, spare):
    """out = A·b with A = a or aᵀ; row blocks run on all threads unless the work is small.
    bt: b's leftover columns, transposed (A = a); spare (bytes): room for aᵀ's zero masks
    and the rows that find them."""
    m, n = out.shape
    k_len = b.shape[0]
    blocks = (m + _tile_rows(a) - 1) // _tile_rows(a)
    skip_zeros = _mostly_zero(a)
    groups = m // _tile_rows(a) if skip_zeros and a_transposed else 0
    if a_transposed and groups:  # a literal first: x·W does not compile the sweep
        if spare.size < groups * k_len + SWEEP_CHUNKS * m:
            raise ValueError("matmul_tn: no room for the zero masks in the scratch")
        masks = spare[:groups * k_len].reshape((groups, k_len))
        _find_column_groups(masks, a, spare[groups * k_len:])
    else:
        masks = spare[:0].reshape((0, k_len))
    if 2.0 * m * n * k_len < SERIAL_FLOPS:
        for block in range(blocks):
            _row_block(out, a, b, bt, masks, block, a_transposed, skip_zeros)
    else:
        for block in prange(blocks):  # the prange index is unsigned: one signature, int64
            _row_block(out, a, b, bt, masks, np.int64(block), a_transposed, skip_zeros)


# compiled, to check the scratch given
matmul_scratch = jit(linked=True)(sizes.matmul_scratch)
matmul_tn_scratch = jit(linked=True)(sizes.matmul_tn_scratch)
matmul_nt_scratch = jit(linked=True)(sizes.matmul_nt_scratch)


@jit(linked=True)
def _scratch(scratch, size, out, a, b):
    """scratch[:size], or a new array of `size` elements when scratch is empty; raises
    unless the arrays share a dtype (the sizes count elements of it)."""
    if not (scratch.dtype == out.dtype == a.dtype == b.dtype):
        raise ValueError("matmul: out, scratch, a and b must have the same dtype")
    if scratch.size >= size:
        return scratch[:size]
    if scratch.size == 0:
        return np.empty(size, scratch.dtype)
    raise ValueError("matmul: scratch is smaller than kernels.scratch gives (pass one at "
                     "least that large, or an empty one)")


@jit(linked=True)
def _transpose(t, a):
    """t = aᵀ, with t (C, R) and a (R, C). (A loop: np.ascontiguousarray(a.T) takes Numba
    0.3 s more to compile.)"""
    rows, cols = a.shape
    for i in range(rows):
        for j in range(cols):
            t[j, i] = a[i, j]


@jit
def matmul(out, scratch, a, b):
    """a (M, K), b (K, N), out (M, N), scratch (S,) or empty.  out = a·b.

    The fewer than NR leftover columns of b (a 10-class output) are copied transposed
    into the scratch, for dot products: S ≥ `kernels.scratch.matmul_scratch`, or empty
    for a new one.
    """
    k_len, n = b.shape
    c0 = (n // NR) * NR
    need = matmul_scratch(out.shape[0], n, k_len, out.itemsize)
    bt = _scratch(scratch, need, out, a, b).reshape((n - c0, k_len))
    _transpose(bt, b[:, c0:])
    _gemm(out, a, b, bt, False, scratch[:0].view(np.uint8))


@jit
def matmul_tn(out, scratch, a, b):
    """a (K, M), b (K, N), out (M, N), scratch (S,) or empty.  out = aᵀ·b.

    The scratch holds aᵀ's zero masks and the rows that find them: S ≥
    `kernels.scratch.matmul_tn_scratch`, or empty for a new one. With N < NR ≤ M (dW of
    a 10-class output layer) the tile runs along M instead: outᵀ = bᵀ·a is computed into
    the scratch, then transposed into out.
    """
    m, n = out.shape
    k_len = a.shape[0]
    work = _scratch(scratch, matmul_tn_scratch(m, n, k_len, out.itemsize), out, a, b)
    no_columns = b[:0, :0]
    if n < NR <= m:
        out_t = work[:n * m].reshape((n, m))
        _gemm(out_t, b, a, no_columns, True, work[n * m:].view(np.uint8))
        _transpose(out, out_t)
    else:
        _gemm(out, a, b, no_columns, True, work.view(np.uint8))


@jit
def matmul_nt(out, scratch, a, b):
    """a (M, K), b (N, K), out (M, N), scratch (S,) or empty.  out = a·bᵀ.

    bᵀ's full panels are copied into the scratch (b is a weight matrix: small): S ≥
    `kernels.scratch.matmul_nt_scratch`, or empty for a new one. Leftover columns are dot
    products with b's rows as they are.
    """
    n, k_len = b.shape
    c0 = (n // NR) * NR
    need = matmul_nt_scratch(out.shape[0], n, k_len, out.itemsize)
    bt = _scratch(scratch, need, out, a, b).reshape((k_len, c0))
    _transpose(bt, b[:c0])
    _gemm(out, a, bt, b[c0:], False, scratch[:0].view(np.uint8))


if config.DISABLE_JIT:  # the register tile is a compiler intrinsic: plain Python uses NumPy
    def matmul(out, scratch, a, b):  # noqa: F811
        np.matmul(a, b, out=out)

    def matmul_tn(out, scratch, a, b):  # noqa: F811
        np.matmul(a.T, b, out=out)

    def matmul_nt(out, scratch, a, b):  # noqa: F811
        np.matmul(a, b.T, out=out)
