"""The register tile and the cache blocks of the matrix products, for the CPU Numba targets.

Plain Python (``kernels.scratch`` sizes buffers from it without importing Numba). The
target is what Numba compiles for: ``NUMBA_CPU_FEATURES`` when set, else the host's
features as LLVM reports them (Numba's own rule; ``NUMBA_CPU_NAME`` alone keeps the
host's features).
"""
import os
import platform

PANEL_BYTES = 262_144  # a packed KC × NR panel of b: on the stack, and at home in L2


def target_features():
    """The set of CPU features ("avx2", "avx512f", …) that Numba compiles for."""
    features = os.environ.get("NUMBA_CPU_FEATURES")
    if features is None:
        from llvmlite import binding as llvm
        features = llvm.get_host_cpu_features().flatten()
    return {f[1:] for f in features.split(",") if f.startswith("+")}


def register_tile(itemsize, features=None, machine=None):
    """(MR, NR): rows and columns of the block of ``out`` kept in vector registers.

    Per k the micro-kernel loads NR/L vectors of packed b (L lanes per vector),
    broadcasts MR values of a, and does MR·NR/L fused multiply-adds into MR·NR/L
    accumulators. All of them, plus the b vectors and a broadcast, must fit the register
    file, and MR·NR/L independent accumulators must cover the FMA latency × throughput.

    * AVX-512 (32 zmm): float32 6 × 64 (L = 16: 24 accumulators + 4 b + 1 broadcast = 29),
      float64 6 × 32 (L = 8: the same 24 + 4 + 1).
    * AVX2 + FMA (16 ymm): float32 4 × 16 (L = 8: 8 + 2 + 4 = 14), float64 4 × 8 (L = 4).
      LLVM loads all MR broadcasts of a k before its FMAs, so they count too: BLIS's
      6 × 16 needs 12 + 2 + 6 = 20, and LLVM kept 4 of its accumulators on the stack,
      storing and reloading them every k (twice as slow on MNIST's sparse x·W1).
    * Anything else, e.g. SSE2 (16 xmm) or aarch64 NEON (32 of 128 bits), L = 4 floats:
      float32 4 × 8 (8 + 2 + 1 = 11), float64 4 × 4 (L = 2: 8 + 2 + 1).
    """
    features = target_features() if features is None else features
    machine = platform.machine().lower() if machine is None else machine
    x86 = machine in ("x86_64", "amd64", "i386", "i686")
    if x86 and "avx512f" in features:
        return (6, 64) if itemsize == 4 else (6, 32)
    if x86 and {"avx2", "fma"} <= features:
        return (4, 16) if itemsize == 4 else (4, 8)
    return (4, 8) if itemsize == 4 else (4, 4)


def vector_lanes(itemsize, features=None, machine=None):
    """L: elements of `itemsize` bytes in one vector register (zmm 64, ymm 32, else 16 bytes)."""
    features = target_features() if features is None else features
    machine = platform.machine().lower() if machine is None else machine
    x86 = machine in ("x86_64", "amd64", "i386", "i686")
    width = 64 if x86 and "avx512f" in features else 32 if x86 and "avx2" in features else 16
    return width // itemsize


def panel_depth(itemsize, nr):
    """KC: rows of b in one packed KC × NR panel (PANEL_BYTES at most, 64 at least)."""
    return max(64, PANEL_BYTES // (nr * itemsize))


MR32, NR32 = register_tile(4)
MR64, NR64 = register_tile(8)
KC32, KC64 = panel_depth(4, NR32), panel_depth(8, NR64)
LANES32, LANES64 = vector_lanes(4), vector_lanes(8)
