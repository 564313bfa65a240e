"""Who is compared, and the environment each one's worker process starts with.

Each framework runs in its own process, in its own default configuration. The workers
start from the user's environment with every variable that tunes a framework's threads
or instruction set removed (`TUNING_PREFIXES`, fastnn's own GOMP_SPINCOUNT among them),
then get only what is given to all alike: a thread count (`--threads`, default: none set,
so each uses every CPU it may run on) and an instruction-set cap (`--isa avx2`), each set
the way that framework's users set it.
"""
import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from fastnn.bench import machine

PEERS_DIR = Path(__file__).resolve().parent / "peers"
ROOT = Path(__file__).resolve().parents[2]  # the folder holding the fastnn package

# Variables that tune a framework's threads, spin-waits or instruction set.
TUNING_PREFIXES = ("GOMP_", "OMP_", "KMP_", "MKL_", "OPENBLAS_", "BLIS_", "NUMBA_", "XLA_",
                   "ATEN_", "ONEDNN_", "DNNL_", "TF_", "FASTNN_")
ISAS = ("native", "avx2")


@dataclass(frozen=True)
class Framework:
    """A framework as the benchmark runs it: its worker script and how to cap it."""

    name: str           # on the command line and in the JSON
    label: str          # in tables
    module: str         # its import name: installed when this is found
    distribution: str   # whose version is reported
    script: str         # the worker's file in peers/
    is_fastnn: bool = False


FRAMEWORKS = {f.name: f for f in (
    Framework("fastnn", "fastnn", "fastnn", "fastnn", "fastnn_mlp.py", is_fastnn=True),
    Framework("torch", "PyTorch", "torch", "torch", "torch_mlp.py"),
    Framework("jax", "JAX", "jax", "jax", "jax_mlp.py"),
    Framework("fastnn-numpy", "fastnn numpy", "fastnn", "fastnn", "fastnn_mlp.py",
              is_fastnn=True),
)}
DEFAULT_FRAMEWORKS = ("fastnn", "torch", "jax")


def installed(framework):
    """True when `framework`'s package can be imported by the workers (not imported here)."""
    return importlib.util.find_spec(FRAMEWORKS[framework].module) is not None


def clean_environ(environ=None):
    """`environ` (default os.environ) without the variables of TUNING_PREFIXES."""
    environ = os.environ if environ is None else environ
    return {k: v for k, v in environ.items() if not k.startswith(TUNING_PREFIXES)}


def avx2_cache_dir():
    """Numba's cache for fastnn compiled for AVX2, apart from the native one."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return str(Path(base) / "fastnn" / "bench-numba-avx2")


def xla_supports_max_isa():
    """True when the installed jaxlib accepts XLA_FLAGS=--xla_cpu_max_isa=AVX2 (XLA
    aborts on a flag it does not know, so a child process tries it)."""
    code = "import jax.numpy as jnp; jnp.ones(2).sum().block_until_ready()"
    env = dict(clean_environ(), XLA_FLAGS="--xla_cpu_max_isa=AVX2")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True)
    return done.returncode == 0


def isa_settings(framework, isa, features=None, xla_max_isa=True):
    """The variables that keep `framework` within `isa` ("native": none).

    fastnn: Numba compiles for Haswell with the host's features minus every AVX-512 one
    (`features`, default: this CPU's), into a cache of its own; NumPy's OpenBLAS (the
    floor's GEMM rates) runs its Haswell kernels. PyTorch: MKL, ATen's
    kernels and oneDNN capped at AVX2. JAX: XLA's code generation capped at AVX2, when
    the installed jaxlib knows the flag (`xla_max_isa`).
    """
    if isa == "native":
        return {}
    if isa != "avx2":
        raise ValueError(f"unknown ISA {isa!r}: choose from {', '.join(ISAS)}")
    if FRAMEWORKS[framework].is_fastnn:
        features = machine.host_features() if features is None else features
        return {"NUMBA_CPU_NAME": "haswell",
                "NUMBA_CPU_FEATURES": machine.avx2_features(features),
                "NUMBA_CACHE_DIR": avx2_cache_dir(),
                "OPENBLAS_CORETYPE": "Haswell"}  # NumPy's BLAS, in the floor's GEMM rates
    if framework == "torch":
        return {"MKL_ENABLE_INSTRUCTIONS": "AVX2", "ATEN_CPU_CAPABILITY": "avx2",
                "ONEDNN_MAX_CPU_ISA": "AVX2"}
    if framework == "jax" and xla_max_isa:
        return {"XLA_FLAGS": "--xla_cpu_max_isa=AVX2"}
    return {}


def thread_settings(framework, threads):
    """The variables that give `framework` `threads` threads (None: its default).

    fastnn: NUMBA_NUM_THREADS (and OPENBLAS_NUM_THREADS for NumPy's matmul in the
    floor's GEMM rates). PyTorch calls torch.set_num_threads in its worker, and
    every worker is also pinned to `threads` CPUs (`affinity`), which is how JAX's
    thread pools are sized.
    """
    if threads and FRAMEWORKS[framework].is_fastnn:
        return {"NUMBA_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads)}
    return {}


def worker_env(framework, threads=None, isa="native", environ=None, **isa_options):
    """The complete environment of `framework`'s worker process."""
    env = clean_environ(environ)
    if FRAMEWORKS[framework].is_fastnn:  # the fastnn being benchmarked, not another one
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(thread_settings(framework, threads))
    env.update(isa_settings(framework, isa, **isa_options))
    return env


def affinity(threads):
    """The CPUs a worker given `threads` threads is pinned to (None: no pinning)."""
    if not threads or not hasattr(os, "sched_getaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if threads > len(cpus):
        raise ValueError(f"--threads {threads}: this process may run on {len(cpus)} CPUs")
    return cpus[:threads]


def worker_argv(framework):
    """The command line of `framework`'s worker: its script run by this interpreter."""
    return [sys.executable, str(PEERS_DIR / "worker.py"),
            str(PEERS_DIR / FRAMEWORKS[framework].script)]
