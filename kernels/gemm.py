"""Cache-blocked, packed matrix products in pure Numba: the three GEMMs of a dense layer.

    matmul(out, scratch, a, b)      out (M, N) = a (M, K) · b (K, N)     forward:  x·W
    matmul_tn(out, scratch, a, b)   out (M, N) = a (K, M)ᵀ · b (K, N)    dW:       xᵀ·dz
    matmul_nt(out, scratch, a, b)   out (M, N) = a (M, K) · b (N, K)ᵀ    dx:       dz·Wᵀ

Their NumPy twin is the ``@`` operator (tests/test_gemm.py). They avoid BLAS on purpose:
OpenBLAS spins its own thread pool, which fights Numba's on two cores.

The design is BLIS's (Van Zee & van de Geijn, "BLIS: A Framework for Rapidly
Instantiating BLAS Functionality", 2015), with A = a or aᵀ and B = b or bᵀ:
* The micro-kernel (`_tile`) accumulates an MR × NR block of ``out`` in a stack buffer
  (`_stack_tile`, an LLVM alloca) that LLVM keeps in vector registers: per k, NR/L loads
  of packed B, MR broadcasts of A, MR·NR/L FMAs. MR × NR depends on the dtype and on the
  CPU Numba compiles for (``kernels.tiles.register_tile``). Accumulating in a heap array
  or straight into ``out`` is several times slower: LLVM cannot prove those do not alias the inputs.
  The tile is a call (too large for LLVM to inline), so one call covers a row block's
  every panel of a b read in place, and the helpers skip Numba's reference counting
  (``counted=False``): per call, its atomic updates on counts both threads share cost
  more than a short K's FMAs. `_task`, `_tile` and `_row_tile` are kernels of their own,
  compiled once and called through a pointer: linked, LLVM optimized them again inside
  each caller, a quarter of a cold start.
* B is packed, KC rows × NR columns at a time, into a contiguous panel on the thread's
  stack (`_pack_panel`, zero-padded past N), then reused by every row block of a task
  while it sits in L1/L2. Unpacked, each row block streamed all of B from L3 again, with
  rows 4 KB apart that all fall in the same cache sets. Packing also does bᵀ's
  transpose (``matmul_nt``) and makes N's leftover columns a narrower store.
* A is read in place: its MR rows (or aᵀ's MR contiguous columns) per k are broadcasts.
  With AVX2's tile row of one cache line (`_one_line`), a dense b is packed even when
  small, and a dense aᵀ whose rows lie 4 KB or more apart (all in the same few cache
  sets, `_aliased`) is first copied row-major into the scratch (`_transpose`).
* Threads split ``out`` into tasks, a range of row blocks × a range of NR-column panels
  each: disjoint outputs, no reductions. About TASKS_PER_THREAD tasks per thread; the
  split along panels comes first when B is packed (each task packs its own copies) or
  is read in place but larger than an L2 (SHARE_BYTES: each task's share stays in its
  L2), along rows otherwise. Below SERIAL_FLOPS one thread is faster than waking the
  others.
* The tiles start with a guard on negative offsets; without it the wrap-around of
  negative indices turns vector loads into gathers.
* A last block of fewer than MR rows runs one row at a time (`_row_tile`): as fast per
  row as the full tile while FMA latency, not loads, bounds it.
* Zeros of A are skipped, not multiplied: when most of A is zero (`_mostly_zero`, e.g.
  MNIST's pixels, 81% zero), each task lists, per row block and chunk of KC, the k where
  its MR rows are not all zero (`_block_ks`: vectorized tests, then a branch-free
  compaction, into a stack buffer), and the tiles run over those k only; such an A reads
  b in place, row block by row block, so each list serves all of the task's panels. For
  aᵀ a first pass finds them (`_find_column_groups`). On dense A nothing is listed. The
  one difference from a dense product: a zero of A times an inf or NaN of B adds nothing
  here instead of NaN (the trainer checks losses and weights for non-finite values on
  its own).
* Allocation: none. ``matmul_tn`` takes a scratch buffer of the arrays' dtype for aᵀ's
  zero masks or its copy (`kernels.scratch` gives its size; given an empty one, it
  allocates); the others need none, but all three check it alike.
"""
from functools import partial

import numba as nb
import numpy as np
from llvmlite import ir
from numba import config, prange
from numba.core import cgutils, types
from numba.extending import intrinsic

from fastnn.kernels import scratch as sizes
from fastnn.kernels.compile import jit, jit_parallel
from fastnn.kernels.scratch import SWEEP_CHUNKS
from fastnn.kernels.tiles import LANES32, LANES64

SERIAL_FLOPS = 500_000   # below this many FLOPs a product runs on one thread
TASKS_PER_THREAD = 2     # tasks each thread gets at least, to even out unequal ones
PACK_ROWS = 48           # rows of out below which a task reads b in place, unpacked
PACK_BYTES = 1 << 23     # and b this small: on Zen 4 (1 MB L2) packing 4 MB cost more than it saved
SHARE_BYTES = 1 << 20    # a b read in place larger than this is split among the tasks by panels
LINE_BYTES = 64          # a cache line
PAGE_BYTES = 4096        # rows this far apart or more put their lines in a few cache sets
ZERO_SAMPLE = 4096       # elements of A sampled to decide whether to skip its zeros
ZERO_SHARE = 2 / 3       # skip them when at least this share of the sample is zero
PARALLEL_SIZE = 131_072  # elements of aᵀ worth splitting its zero search among threads
TRANSPOSE_COLUMNS = 256  # a dense aᵀ is copied row by row first for a b this wide: its M·K
# copies cost little beside the product's 2·M·K·N FLOPs


helper = partial(jit, linked=True, counted=False)  # reads and writes arrays it is given


def _tile_of(dtype):
    """(MR, NR, KC, L) for a Numba dtype: the register tile, panel depth, vector lanes."""
    if dtype.bitwidth == 32:
        return sizes.tile(4) + (LANES32,)
    return sizes.tile(8) + (LANES64,)


def _tile_constant(index, what):
    """An intrinsic giving entry `index` of `_tile_of(arr.dtype)` (`what`) as a compile-time
    constant, so loops over it have constant trip counts."""
    @intrinsic
    def constant(typingctx, arr):
        value = _tile_of(arr.dtype)[index]

        def codegen(context, builder, sig, args):
            return context.get_constant(types.intp, value)
        return types.intp(arr), codegen
    constant.__doc__ = f"{what} for arr's dtype, as a compile-time constant."
    return constant


_tile_rows = _tile_constant(0, "MR")
_tile_cols = _tile_constant(1, "NR")
_panel_depth = _tile_constant(2, "KC")
_lanes = _tile_constant(3, "L, the elements in one vector register,")


@intrinsic
def _threads(typingctx):
    """The number of threads parallel regions use now (``numba.get_num_threads()``, which
    reaches it through a ctypes pointer that keeps its caller out of the cache)."""
    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(cgutils.intp_t, []),
                                            "get_num_threads")  # the threading layer's
        return builder.call(fn, [])
    return types.intp(), codegen


def _alloca(context, builder, dtype, size):
    buffer = cgutils.alloca_once(builder, context.get_value_type(dtype),
                                 size=context.get_constant(types.intp, size))
    buffer.align = 64  # whole cache lines, aligned vector loads
    return buffer


def _stack_buffer(elements, what, dtype=None):
    """An intrinsic (arr) giving a pointer to a stack buffer (LLVM alloca) of
    elements(MR, NR, KC) elements of arr's dtype (or of `dtype`): `what`."""
    @intrinsic
    def stack(typingctx, arr):
        mr, nr, kc, _ = _tile_of(arr.dtype)
        item = dtype or arr.dtype

        def codegen(context, builder, sig, args):
            return _alloca(context, builder, item, elements(mr, nr, kc))
        return types.CPointer(item)(arr), codegen
    stack.__doc__ = f"Pointer to {what} on the stack."
    return stack


_stack_tile = _stack_buffer(lambda mr, nr, kc: mr * nr, "the MR × NR tile of out, of arr's dtype")
_stack_panel = _stack_buffer(lambda mr, nr, kc: kc * nr, "a KC × NR packed panel of B")
_stack_a_rows = _stack_buffer(lambda mr, nr, kc: kc * mr,
                              "a KC × MR row block of a, copied k by k")
_stack_mask = _stack_buffer(lambda mr, nr, kc: 2 * kc,
                            "2 × KC uint32: one chunk's k list and mask", types.uint32)


def _row_vectors(context, builder, arrtype, arr, row, col0, vector):
    """LLVM pointer to arr[row, col0] (a 2-D array whose rows are contiguous), as a
    pointer to `vector`s (of arr's dtype, but for calls that fail before they get here)."""
    array = context.make_array(arrtype)(context, builder, arr)
    row_stride = builder.sdiv(cgutils.unpack_tuple(builder, array.strides, 2)[0],
                              ir.Constant(ir.IntType(64), arrtype.dtype.bitwidth // 8))
    start = builder.add(builder.mul(row, row_stride), col0)
    return builder.bitcast(builder.gep(array.data, [start]), vector.as_pointer())


def _tile_row(builder, acc_p, r, nr, vector):
    """LLVM pointer to row r of the MR × NR tile buffer, as a pointer to vectors."""
    start = builder.mul(r, ir.Constant(ir.IntType(64), nr))
    return builder.bitcast(builder.gep(acc_p, [start]), vector.as_pointer())


def _fma_intrinsic(whole_row):
    """An intrinsic (acc, r, ar, src, row, col0): acc[r, :W] += ar · src[row, col0 : col0+W]
    for the MR × NR tile buffer and a 2-D src whose rows are contiguous (a packed panel,
    or b itself), as W/L vector FMAs: W = NR when `whole_row`, else W = L (one vector,
    for a narrow output such as 10 classes). Written as LLVM vectors: a j loop of 16 or
    32 is unrolled before LLVM's loop vectorizer sees it, and the unrolled sums stay
    scalar."""
    @intrinsic
    def fma_row(typingctx, acc, r, ar, src, row, col0):
        dtype = acc.dtype
        _, nr, _, lanes = _tile_of(dtype)
        vectors = nr // lanes if whole_row else 1

        def codegen(context, builder, sig, args):
            acc_p, r_v, a_v, src_v, row_v, col_v = args
            vector = ir.VectorType(context.get_value_type(dtype), lanes)
            index = partial(ir.Constant, ir.IntType(64))
            b_row = _row_vectors(context, builder, sig.args[3], src_v, row_v, col_v, vector)
            row = _tile_row(builder, acc_p, r_v, nr, vector)
            one = builder.insert_element(ir.Constant(vector, ir.Undefined), a_v, index(0))
            splat = builder.shuffle_vector(one, ir.Constant(vector, ir.Undefined),
                                           ir.Constant(ir.VectorType(ir.IntType(32), lanes),
                                                       [0] * lanes))
            fma = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(vector, [vector] * 3),
                f"llvm.fma.v{lanes}f{dtype.bitwidth}")
            align = lanes * (dtype.bitwidth // 8)
            for v in range(vectors):
                b = builder.load(builder.gep(b_row, [index(v)]), align=dtype.bitwidth // 8)
                slot = builder.gep(row, [index(v)])
                builder.store(builder.call(fma, [splat, b, builder.load(slot, align=align)]),
                              slot, align=align)
            return context.get_dummy_value()
        sig = types.void(types.CPointer(dtype), types.int64, dtype, src, types.int64,
                         types.int64)
        return sig, codegen
    return fma_row


@intrinsic
def _store_row(typingctx, acc, r, out, row, col0, accumulate):
    """out[row, col0 : col0+NR] = acc[r, :NR], plus out's own values when accumulate: NR/L
    vector loads and stores. Written as a loop, the unrolled j loop of AVX2's 16 floats
    stayed scalar, 64 loads and stores per tile, which cost more than a short K's FMAs.
    (An out of another float dtype, in a branch a mismatched call never reaches, converts.)"""
    dtype = acc.dtype
    if not isinstance(out.dtype, types.Float):
        return None
    _, nr, _, lanes = _tile_of(dtype)

    def codegen(context, builder, sig, args):
        acc_p, r_v, out_v, row_v, col_v, accumulate_v = args
        vector = ir.VectorType(context.get_value_type(dtype), lanes)
        out_vector = ir.VectorType(context.get_value_type(out.dtype), lanes)
        convert = (builder.fpext if out.dtype.bitwidth > dtype.bitwidth else
                   builder.fptrunc if out.dtype.bitwidth < dtype.bitwidth else None)
        index = partial(ir.Constant, ir.IntType(64))
        target = _row_vectors(context, builder, sig.args[2], out_v, row_v, col_v, out_vector)
        source = _tile_row(builder, acc_p, r_v, nr, vector)
        align, item = lanes * (dtype.bitwidth // 8), out.dtype.bitwidth // 8
        with builder.if_else(accumulate_v) as (adding, storing):
            for branch, add in ((adding, True), (storing, False)):
                with branch:
                    for v in range(nr // lanes):
                        slot = builder.gep(target, [index(v)])
                        value = builder.load(builder.gep(source, [index(v)]), align=align)
                        if convert:
                            value = convert(value, out_vector)
                        if add:
                            value = builder.fadd(builder.load(slot, align=item), value)
                        builder.store(value, slot, align=item)
        return context.get_dummy_value()
    sig = types.void(types.CPointer(dtype), types.int64, out, types.int64, types.int64,
                     types.boolean)
    return sig, codegen


_fma_row = _fma_intrinsic(whole_row=True)
_fma_vector = _fma_intrinsic(whole_row=False)


@intrinsic
def _rows_contiguous(typingctx, arr):
    """Whether arr's layout keeps each row contiguous (C order), as a constant."""
    def codegen(context, builder, sig, args):
        return context.get_constant(types.boolean, arr.layout == "C")
    return types.boolean(arr), codegen


@helper
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


@helper
def _column_groups_nonzero(masks, a, row, k0, k1):
    """masks[g, k] = whether a[k, MR·g : MR·g + MR] has a non-zero, for the rows
    k0 ≤ k < k1 of a (K, M) and every whole group g of MR columns; row (M,) is scratch.

    One pass over a in memory order: per row, the non-zeros, then ORs of neighbours at
    growing distances until row[c] covers c … c+MR−1 (vector operations all). Reading
    MR-column groups down the rows instead, as the non-transposed case does, makes LLVM
    gather across rows, several times slower.
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


@helper
def _compact(ks, mask, k0, k1):
    """ks[:n] = the offsets k − k0, k in [k0, k1), with mask[k − k0] set, in order;
    returns n."""
    n_k = 0
    for k in range(k0, k1):
        ks[n_k] = k - k0
        n_k += mask[k - k0]  # branch-free: a k that is not kept is overwritten by the next
    return n_k


@helper
def _block_ks(ks, mask, masks, a, block, k0, k1, a_transposed):
    """ks[:n] = the offsets k − k0, k in [k0, k1), where row block `block` of A (a, or aᵀ)
    has a non-zero among its MR rows (aᵀ: as `_column_groups_nonzero` found them in masks;
    a short last block of aᵀ lists all); returns n. mask is scratch, as long as ks."""
    mr = _tile_rows(a)
    m = a.shape[1] if a_transposed else a.shape[0]
    i0 = block * mr
    if not a_transposed:
        _rows_nonzero(mask, a, i0, min(mr, m - i0), k0, k1)
        return _compact(ks, mask, k0, k1)
    if m - i0 >= mr:
        return _compact(ks, masks[block, k0:k1], k0, k1)
    for k in range(k0, k1):
        ks[k - k0] = k - k0
    return k1 - k0


@helper
def _pack_panel(panel, b, k0, depth, j0, cols, b_transposed):
    """panel[:depth] = B[k0:k0+depth, j0:j0+NR] with B = b or bᵀ, zeros past `cols`."""
    nr = _tile_cols(b)
    zero = b.dtype.type(0)
    if k0 < 0 or j0 < 0:
        return
    if b_transposed:  # b (N, K): its rows become the panel's columns
        for j in range(cols):
            for kk in range(depth):
                panel[kk, j] = b[j0 + j, k0 + kk]
        for j in range(cols, nr):
            for kk in range(depth):
                panel[kk, j] = zero
    elif cols == nr:
        for kk in range(depth):
            for j in range(nr):  # a constant trip count: whole vectors
                panel[kk, j] = b[k0 + kk, j0 + j]
    else:
        for kk in range(depth):
            for j in range(nr):
                panel[kk, j] = b[k0 + kk, j0 + j] if j < cols else zero


@jit(linked=True, counted=False, inlined=True)
def _panel(tile, out, a, src, row0, col0, ks, n_k, skip, i0, j0, k0, width, a_transposed,
           accumulate, a_rows, copied):
    """`_tile` for one panel, width ≤ NR columns; a's rows from a_rows when `copied`."""
    mr, nr = _tile_rows(a), _tile_cols(a)
    zero = a.dtype.type(0)
    for t in range(mr * nr):
        tile[t] = zero
    if width > _lanes(a) and copied:
        for p in range(n_k):
            kk = ks[p] if skip else p
            for r in range(mr):
                _fma_row(tile, r, a_rows[p, r], src, row0 + kk, col0)
    elif width > _lanes(a):
        for p in range(n_k):
            kk = ks[p] if skip else p
            k = k0 + kk
            for r in range(mr):  # a constant trip count: unrolled
                ar = a[k, i0 + r] if a_transposed else a[i0 + r, k]  # a literal: folded
                _fma_row(tile, r, ar, src, row0 + kk, col0)
    else:  # one vector wide
        for p in range(n_k):
            kk = ks[p] if skip else p
            k = k0 + kk
            for r in range(mr):
                ar = a[k, i0 + r] if a_transposed else a[i0 + r, k]
                _fma_vector(tile, r, ar, src, row0 + kk, col0)
    if width == nr and _rows_contiguous(out):
        for r in range(mr):
            _store_row(tile, r, out, i0 + r, j0, accumulate)
    else:
        for r in range(mr):
            for j in range(width):
                acc = tile[r * nr + j]
                out[i0 + r, j0 + j] = out[i0 + r, j0 + j] + acc if accumulate else acc


@jit(counted=False)
def _tile(out, a, src, row0, col0, ks, n_k, skip, i0, j0, k0, cols, a_transposed,
          accumulate, a_rows):
    """out[i0:i0+MR, j0:j0+cols] (+)= A[i0:i0+MR, k0 + kk] · src[row0 + kk, col0:col0+cols]
    summed over kk in ks[:n_k] when skip, else over kk < n_k; A = a or aᵀ, all MR rows
    present; src is B's packed panel (row0 = col0 = 0, cols ≤ NR) or b (row0 = k0,
    col0 = j0, cols a multiple of NR). An MR × NR tile at a time (`_panel`): one call
    covers all of a row block's panels of b, a call's arguments cost as much as a short
    K's FMAs. The one-panel case is a copy of its own: inside the panel loop, LLVM
    spilled a's MR row offsets and reloaded them every k. With AVX2's one-line tile rows
    (`_one_line`) and several panels, a's MR rows are first copied, k by k, into a_rows
    (KC × MR) for the same reason. (With AVX-512's 32 registers the copy cost more
    than it saved.)"""
    mr, nr = _tile_rows(a), _tile_cols(a)
    if i0 < 0 or j0 < 0 or k0 < 0:
        return  # lets LLVM drop the negative-index wrap-around: contiguous vector loads
    tile = _stack_tile(a)  # acc[r, j] is tile[r·NR + j]
    if cols <= nr:
        _panel(tile, out, a, src, row0, col0, ks, n_k, skip, i0, j0, k0, cols, a_transposed,
               accumulate, a_rows, False)
        return
    copied = not a_transposed and _one_line(a)
    if copied:
        for p in range(n_k):
            k = k0 + (ks[p] if skip else p)
            for r in range(mr):
                a_rows[p, r] = a[i0 + r, k]
    for c0 in range(0, cols, nr):
        _panel(tile, out, a, src, row0, col0 + c0, ks, n_k, skip, i0, j0 + c0, k0, nr,
               a_transposed, accumulate, a_rows, copied)


@jit(counted=False)
def _row_tile(out, a, src, row0, col0, ks, n_k, skip, i, j0, k0, cols, a_transposed,
              accumulate):
    """`_tile` for the one row i: a last block of fewer than MR rows."""
    nr = _tile_cols(a)
    if i < 0 or j0 < 0 or k0 < 0:
        return
    tile = _stack_tile(a)
    zero = a.dtype.type(0)
    for c0 in range(0, cols, nr):
        width = min(nr, cols - c0)
        for j in range(nr):
            tile[j] = zero
        for p in range(n_k):
            kk = ks[p] if skip else p
            ai = a[k0 + kk, i] if a_transposed else a[i, k0 + kk]
            if width > _lanes(a):
                _fma_row(tile, 0, ai, src, row0 + kk, col0 + c0)
            else:
                _fma_vector(tile, 0, ai, src, row0 + kk, col0 + c0)
        for j in range(width):
            out[i, j0 + c0 + j] = out[i, j0 + c0 + j] + tile[j] if accumulate else tile[j]


@jit
def _task(out, a, b, masks, skip, first, last, p0, p1, a_transposed, b_transposed):
    """Row blocks [first, last) × column panels [p0, p1) of out = A·B.

    B's rows are read in place (block by block, each block's k list made once for all
    its panels), or, when `_packs` says so, packed a KC × NR panel at a time onto the
    stack and reused by every row block (panel by panel).
    """
    mr, nr, kc = _tile_rows(a), _tile_cols(a), _panel_depth(a)
    m, n = out.shape
    k_len = b.shape[1] if b_transposed else b.shape[0]
    lists = nb.carray(_stack_mask(a), (2, kc))
    ks, mask = lists[0], lists[1]
    panel = nb.carray(_stack_panel(a), (kc, nr))
    a_rows = nb.carray(_stack_a_rows(a), (kc, mr))
    packs = _packs(b, skip, min(m, last * mr) - first * mr, b_transposed)
    start = 0 * m  # a panel's first row and column: a literal 0 would compile the tiles again
    for k0 in range(0, max(k_len, 1), kc):  # once at least: K = 0 writes zeros
        depth = min(kc, k_len - k0)
        if not packs:
            whole = max(p0, min(p1, n // nr))  # panels [p0, whole) are NR wide
            for block in range(first, last):
                n_k = _block_ks(ks, mask, masks, a, block, k0, k0 + depth,
                                a_transposed) if skip else depth
                if whole > p0:
                    j0 = p0 * nr
                    _rows(out, a, b, k0, j0, ks, n_k, skip, block * mr, j0, k0,
                          (whole - p0) * nr, a_transposed, k0 > 0, a_rows)
                for p in range(whole, p1):  # too narrow to read in place: a panel of its own
                    j0 = p * nr
                    cols = n - j0
                    _pack_panel(panel, b, k0, depth, j0, cols, b_transposed)
                    _rows(out, a, panel, start, start, ks, n_k, skip, block * mr, j0, k0, cols,
                          a_transposed, k0 > 0, a_rows)
            continue
        for p in range(p0, p1):
            j0 = p * nr
            cols = min(nr, n - j0)
            _pack_panel(panel, b, k0, depth, j0, cols, b_transposed)
            for block in range(first, last):
                n_k = _block_ks(ks, mask, masks, a, block, k0, k0 + depth,
                                a_transposed) if skip else depth
                _rows(out, a, panel, start, start, ks, n_k, skip, block * mr, j0, k0, cols,
                      a_transposed, k0 > 0, a_rows)


@helper
def _one_line(arr):
    """Whether a tile row of arr's dtype is one cache line (AVX2's 16 floats): read in
    place, each k then costs a line of its own, and K such lines of b spread over few
    cache sets; packed, they are one contiguous panel that stays in L1."""
    return _tile_cols(arr) * arr.itemsize <= LINE_BYTES


@helper
def _aliased(arr):
    """Whether, with `_one_line` tile rows, arr's rows lie PAGE_BYTES apart or more
    (1024-wide float32 layers): then the lines read all fall in the same few cache sets."""
    return _one_line(arr) and arr.shape[1] * arr.itemsize >= PAGE_BYTES


@helper
def _packs(b, skip, rows, b_transposed):
    """Whether a task of `rows` rows packs B: always for bᵀ (or b with strided rows);
    otherwise only for PACK_ROWS rows or more of a dense A, and with `_one_line` tile
    rows or a b over PACK_BYTES. A mostly-zero A reads only some rows of b, and on Zen 4
    (1 MB L2) packing a 4 MB b cost more than it saved with 64-float tile rows."""
    if b_transposed or not _rows_contiguous(b):
        return True
    return not skip and rows >= PACK_ROWS and (_one_line(b) or b.size * b.itemsize > PACK_BYTES)


@helper
def _rows(out, a, src, row0, col0, ks, n_k, skip, i0, j0, k0, cols, a_transposed,
          accumulate, a_rows):
    """Row block i0 … i0+MR of out (fewer at the end of M): `_tile`, or `_row_tile` row by
    row for a short last block."""
    m = out.shape[0]
    if m - i0 >= _tile_rows(a):
        _tile(out, a, src, row0, col0, ks, n_k, skip, i0, j0, k0, cols, a_transposed,
              accumulate, a_rows)
    else:
        for i in range(i0, m):
            _row_tile(out, a, src, row0, col0, ks, n_k, skip, i, j0, k0, cols, a_transposed,
                      accumulate)


@helper
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
def _gemm(out, a, b, a_transposed, b_transposed, spare):
    """out = A·B with A = a or aᵀ, B = b or bᵀ; tasks run on all threads unless the work
    is small. spare (bytes): room for aᵀ's zero masks."""
    mr, nr = _tile_rows(a), _tile_cols(a)
    m, n = out.shape
    k_len = b.shape[1] if b_transposed else b.shape[0]
    blocks = (m + mr - 1) // mr
    panels = (n + nr - 1) // nr
    skip = _mostly_zero(a)
    groups = m // mr if skip and a_transposed else 0
    if a_transposed and groups:  # a literal first: x·W does not compile the sweep
        if spare.size < groups * k_len + SWEEP_CHUNKS * m:
            raise ValueError("matmul_tn: no room for the zero masks in the scratch")
        masks = spare[:groups * k_len].reshape((groups, k_len))
        _find_column_groups(masks, a, spare[groups * k_len:])
    else:
        masks = spare[:0].reshape((0, k_len))
    if 2.0 * m * n * k_len < SERIAL_FLOPS:
        _task(out, a, b, masks, skip, 0 * blocks, blocks, 0 * panels, panels, a_transposed,
              b_transposed)
        return
    # Tasks: row groups × panel groups, about TASKS_PER_THREAD per thread; the split
    # that reuses more comes first: panels when B is packed, or when b, read in place,
    # is larger than an L2 (each task's share of it then stays in L2 across its row
    # blocks, instead of all of b streaming from L3 again for each), else row blocks.
    target = TASKS_PER_THREAD * _threads()
    if _packs(b, skip, m, b_transposed) or b.size * b.itemsize > SHARE_BYTES:
        panel_groups = min(panels, target)
        row_groups = min(blocks, (target + panel_groups - 1) // panel_groups)
    else:
        row_groups = min(blocks, target)
        panel_groups = min(panels, (target + row_groups - 1) // row_groups)
    for task in prange(row_groups * panel_groups):
        t = np.int64(task)  # the prange index is unsigned: one signature, int64
        g, h = t // panel_groups, t % panel_groups
        _task(out, a, b, masks, skip, g * blocks // row_groups,
              (g + 1) * blocks // row_groups, h * panels // panel_groups,
              (h + 1) * panels // panel_groups, a_transposed, b_transposed)


@helper
def _transpose_rows(at, a, i0, i1):
    """at[i0:i1] = aᵀ[i0:i1] for a (K, M): contiguous reads of a's rows, and the rows of
    at being written stay in L1 across k."""
    if i0 < 0:
        return
    for k in range(a.shape[0]):
        u = np.uint64(k)
        for i in range(i0, i1):
            at[i, u] = a[u, i]


@jit_parallel
def _transpose(at, a):
    """at (M, K) = aᵀ for a (K, M), its rows split among the threads when large."""
    m = at.shape[0]
    chunks = 1 if a.size < PARALLEL_SIZE else max(SWEEP_CHUNKS, m // 128)
    if chunks == 1:
        _transpose_rows(at, a, 0 * m, m)
        return
    for c in prange(chunks):
        _transpose_rows(at, a, c * m // chunks, (c + 1) * m // chunks)


@helper
def _transposes(a, n):
    """Whether matmul_tn copies a dense, `_aliased` a first (for a b of n ≥
    TRANSPOSE_COLUMNS columns): then each of B's panels reads A's rows in memory order,
    instead of MR values out of each of K rows of a that share a few cache sets."""
    return n >= TRANSPOSE_COLUMNS and _aliased(a) and not _mostly_zero(a)


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


@jit
def matmul(out, scratch, a, b):
    """a (M, K), b (K, N), out (M, N), scratch (S,) or empty.  out = a·b.

    It needs no scratch (S ≥ `kernels.scratch.matmul_scratch`, 0): the product's buffers
    are on the threads' stacks.
    """
    k_len, n = b.shape
    work = _scratch(scratch, matmul_scratch(out.shape[0], n, k_len, out.itemsize), out, a, b)
    _gemm(out, a, b, False, False, work.view(np.uint8))


@jit
def matmul_tn(out, scratch, a, b):
    """a (K, M), b (K, N), out (M, N), scratch (S,) or empty.  out = aᵀ·b.

    The scratch holds aᵀ's zero masks, or for a dense a and a wide b a copy of aᵀ:
    S ≥ `kernels.scratch.matmul_tn_scratch`, or empty for a new one.
    """
    m, n = out.shape
    k_len = a.shape[0]
    work = _scratch(scratch, matmul_tn_scratch(m, n, k_len, out.itemsize), out, a, b)
    if _transposes(a, n):
        at = work[:m * k_len].reshape((m, k_len))
        _transpose(at, a)
        _gemm(out, at, b, False, False, work[:0].view(np.uint8))
    else:
        _gemm(out, a, b, True, False, work.view(np.uint8))


@jit
def matmul_nt(out, scratch, a, b):
    """a (M, K), b (N, K), out (M, N), scratch (S,) or empty.  out = a·bᵀ.

    bᵀ is never formed: its panels are packed from b's rows. It needs no scratch (S ≥
    `kernels.scratch.matmul_nt_scratch`, 0).
    """
    n, k_len = b.shape
    need = matmul_nt_scratch(out.shape[0], n, k_len, out.itemsize)
    _gemm(out, a, b, False, True, _scratch(scratch, need, out, a, b).view(np.uint8))


if config.DISABLE_JIT:  # the register tile is a compiler intrinsic: plain Python uses NumPy
    def matmul(out, scratch, a, b):  # noqa: F811
        np.matmul(a, b, out=out)

    def matmul_tn(out, scratch, a, b):  # noqa: F811
        np.matmul(a.T, b, out=out)

    def matmul_nt(out, scratch, a, b):  # noqa: F811
        np.matmul(a, b.T, out=out)
