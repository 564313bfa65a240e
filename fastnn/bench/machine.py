"""What runs the benchmark: the CPU, its cores and features, and the frameworks' versions.

Nothing here imports a framework: versions come from the installed distributions'
metadata, CPU features from llvmlite (Numba's LLVM binding), which sets nothing.
"""
import datetime
import importlib.metadata
import os
import platform
from pathlib import Path

DISTRIBUTIONS = ("fastnn", "numpy", "numba", "llvmlite", "torch", "jax", "jaxlib")


def cpuinfo(field, text=None):
    """The first value of `field` in /proc/cpuinfo (or in `text`), or None."""
    if text is None:
        try:
            text = Path("/proc/cpuinfo").read_text()
        except OSError:
            return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == field:
            return value.strip()
    return None


def version(distribution):
    """The installed version of `distribution`, or None."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def logical_cpus():
    """The CPUs this process may run on (its affinity), else os.cpu_count()."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def load_average():
    """The 1-minute load average, or None where the system has none."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def describe():
    """The machine and versions, as plain JSON types."""
    text = None
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        pass
    text = text or ""
    cores = cpuinfo("cpu cores", text)
    now = datetime.datetime.now(datetime.timezone.utc)
    return {"date": now.strftime("%Y-%m-%d %H:%M UTC"),
            "cpu": cpuinfo("model name", text) or platform.processor() or platform.machine(),
            "cores": int(cores) if cores else None,  # physical, per socket
            "logical_cpus": logical_cpus(),
            "simd": [f for f in ("avx512f", "avx2", "fma")
                     if f in (cpuinfo("flags", text) or "").split()],
            "system": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(),
            "load": load_average(),
            "versions": {d: version(d) for d in DISTRIBUTIONS}}


def host_features():
    """{feature: enabled} of this CPU as LLVM names them (what Numba compiles for)."""
    import llvmlite.binding as llvm
    return dict(llvm.get_host_cpu_features())


def is_avx512(feature):
    """True for an LLVM feature that needs AVX-512 (avx512*, avx10.*, amx-avx512, evex512)."""
    return "avx512" in feature or feature.startswith("avx10") or feature == "evex512"


def avx2_features(features):
    """NUMBA_CPU_FEATURES for `features` ({name: enabled}) with every AVX-512 one off.

    "+name" for each enabled feature, "-name" for the others and for every AVX-512 one,
    in name order, comma-separated (LLVM's feature string).
    """
    return ",".join(("+" if on and not is_avx512(name) else "-") + name
                    for name, on in sorted(features.items()))
