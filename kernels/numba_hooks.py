"""Numba's compiler hooked: the faster cold start of ``fastnn.kernels.compile``'s default mode.

Everything here reaches into Numba's internals (cache locators, dispatch, call lowering,
the compiler pipeline) and is imported only on the Numba releases it was tested on
(``compile.TESTED_NUMBA``); the kernels compute the same without it.

* Each kernel is compiled once, as its own unit (`Kernel`) that other kernels call through
  a pointer, instead of Numba's default of linking every callee into its caller and
  optimizing it again there; small helpers are still linked (`Compiled`), so LLVM inlines
  them. Private kernels (a leading "_") get no Python entry.
* Literal arguments become constants before branch pruning (`KernelCompiler`), so only the
  branches a call can take are compiled: train_steps compiles the model's loss and
  optimizer, not all three of each, and dropout, penalties and clipping only for a model
  that has them.
* The cache is stamped with a hash of all the kernel modules and the flags
  (`kernels_stamp`), so no edit ever loads stale code, and processes sharing it lock each
  function's index while they read or write it (`SharedCache`).
* A kernel can run a hook before it compiles with nothing cached (`before_cold_compile`):
  train_steps's hook compiles half of its callees in a second process
  (``fastnn.kernels.cold_start``).
"""
import contextlib
import ctypes
import hashlib
import inspect
import os
from functools import partial
from pathlib import Path

import numpy as np
from llvmlite import binding as llvm
from llvmlite import ir
from numba.core import caching, cgutils, types
from numba.core import ir as numba_ir
from numba.core.caching import CacheImpl, FunctionCache
from numba.core.compiler import CompilerBase, DefaultPassBuilder
from numba.core.compiler_machinery import FunctionPass, register_pass
from numba.core.imputils import impl_ret_new_ref
from numba.core.registry import CPUDispatcher
from numba.core.untyped_passes import IRProcessing

from fastnn.kernels.flags import CACHE, KERNELS_DIR, OPTIONS, kernels_stamp

class _KernelsStamp:
    """A cache locator mixin: for the kernels' files only, the stamp of `kernels_stamp`."""

    @classmethod
    def from_function(cls, py_func, py_file):
        if Path(py_file).resolve().parent != KERNELS_DIR:
            return None  # someone else's function: Numba's own locators take it
        return super().from_function(py_func, py_file)

    def get_source_stamp(self):
        return STAMP

    def get_cache_path(self):
        # apart from plain Numba's files for the same functions (the plain mode's): each
        # mode would find the other's stamp stale and overwrite its files
        return os.path.join(super().get_cache_path(), "hooked")


STAMP = kernels_stamp()
# Numba's three folders, in Numba's order, ahead of Numba's own locators
_LOCATORS = [type(f"Kernels{base.__name__}", (_KernelsStamp, base), {})
             for base in (caching.UserProvidedCacheLocator, caching.InTreeCacheLocator,
                          caching.UserWideCacheLocator)]
if not any(issubclass(c, _KernelsStamp) for c in CacheImpl._locator_classes):
    CacheImpl._locator_classes[:0] = _LOCATORS


try:
    import fcntl
except ImportError:  # Windows: no file locks, and no cold start in two processes
    fcntl = None


class SharedCache(FunctionCache):
    """Numba's disk cache of one function, for processes that share it at the same time.

    Numba updates a function's index of signatures by reading it and writing it whole,
    and writes the index before the code it points to. Two processes compiling the same
    function at once (`fastnn.kernels.cold_start` makes two on purpose; pytest-xdist or two
    notebooks do it by chance) could lose each other's entries, give two signatures the
    same data file, or load an entry whose file is still a stale one. A save holds an
    exclusive lock on the function's lock file, a load a shared one.
    """

    @contextlib.contextmanager
    def _locked(self, exclusive):
        if fcntl is None:
            yield
            return
        path = self._cache_file._index_path + ".lock"
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield  # closing the file releases the lock

    def save_overload(self, sig, data):
        with self._locked(exclusive=True):
            super().save_overload(sig, data)

    def load_overload(self, sig, target_context):
        with self._locked(exclusive=False):
            return super().load_overload(sig, target_context)

    def has(self, sig, target_context):
        """Whether the disk holds code for the argument types `sig`."""
        key = self._index_key(sig, target_context.codegen())
        with self._locked(exclusive=False):
            return key in self._cache_file._load_index()


class Compiled(CPUDispatcher):
    """A Numba dispatcher compiled by `KernelCompiler`; without a Python entry if private.

    A function whose name starts with "_" is only called by other kernels: it is compiled
    without the C wrappers that let Python call it (a cold start compiles less), and calling it
    from Python raises TypeError instead of jumping to a missing wrapper.
    """

    def __init__(self, py_func, **options):
        self.private = py_func.__name__.startswith("_")
        super().__init__(py_func=py_func, locals={}, pipeline_class=KernelCompiler,
                         targetoptions=dict(nopython=True, boundscheck=None,
                                            no_cfunc_wrapper=True,
                                            no_cpython_wrapper=self.private,
                                            **OPTIONS, **options))
        if CACHE:
            self.enable_caching()

    def enable_caching(self):
        self._cache = SharedCache(self.py_func)

    def _compile_for_args(self, *args, **kws):
        if self.private:
            raise TypeError(f"{self.py_func.__qualname__} is compiled to be called by "
                            "other kernels only")
        return super()._compile_for_args(*args, **kws)

    def add_overload(self, cres):
        # What to load before this code (the kernels it calls through slots): Numba keeps
        # it in cres and, after a cache load, not in the library, where a caller linking
        # this helper inherits it from. Without it, a caller compiled over a helper loaded
        # from the cache was cached without its callees' loads: its next load called an
        # empty slot (a segfault).
        cres.library._reload_init.update(cres.reload_init or ())
        if self.private:  # no entry for Python calls: they reach _compile_for_args
            self.overloads[tuple(cres.signature.args)] = cres
        else:
            super().add_overload(cres)


class Kernel(Compiled):
    """A dispatcher whose compiled code other kernels call through a pointer.

    Numba links a callee's LLVM module into its caller and optimizes the whole again, at
    every level of the call tree: the GEMM tile was optimized and compiled to machine code
    about 8 times over for `train_steps`, most of a cold start. A kernel is compiled
    once; a call from another kernel loads its address from a slot (a global variable, one
    per kernel and signature) that this process fills when the kernel is compiled or loaded
    from the cache. A caller loaded from the cache first loads its callees (`reload_init`,
    which Numba runs before loading the caller's code). Calls are per layer or per tile,
    never per element: the epoch time is the same.

    `constants`: parameters compiled for their values when called from Python, as
    ``Literal[int]`` or ``Literal[bool]`` types (`KernelCompiler` then prunes the branches
    they rule out).
    `before_cold_compile`: None, or a function called with the arguments by name when a
    call from Python finds no code for them, compiled or on disk.

    A call with constants never matches a compiled signature in Numba's fast dispatch, so
    it takes Numba's slow path, which types every argument on every call. The compiled
    entry is kept by a key of what typing looks at (`_dispatch_key`), so only the first
    call with each key pays it.
    """

    def __init__(self, py_func, constants=(), **options):
        super().__init__(py_func, **options)
        self.parameters = list(inspect.signature(py_func).parameters)
        self.constants = {self.parameters.index(name) for name in constants}
        self.before_cold_compile = None
        self._entries = {}  # _dispatch_key → compiled entry point
        key = _key(py_func)
        if key in _KERNELS:
            raise ValueError(f"two kernels named {key}: their slots would collide")
        _KERNELS[key] = self

    def _compile_for_args(self, *args, **kws):
        # Numba's path from Python when no compiled signature matches the argument types
        # (always, for a constant: the compiled one is the literal type, the argument int)
        key = None if kws else _dispatch_key(args, self.constants)
        entry = self._entries.get(key)
        if entry is not None:
            return entry  # Numba's dispatcher calls it with the arguments
        args = [types.literal(a) if i in self.constants and not isinstance(a, types.Literal)
                else a for i, a in enumerate(args)]
        if self.before_cold_compile is not None and not self.cached(
                tuple(self.typeof_pyval(a) for a in args)):
            self.before_cold_compile(dict(zip(self.parameters, args)))
        entry = super()._compile_for_args(*args, **kws)
        if key is not None and self._literal_at_constants_only(entry):
            self._entries[key] = entry
        return entry

    def _literal_at_constants_only(self, entry):
        """Whether the signature `entry` was compiled for has literal types at the
        constants' positions only: Numba may make another argument literal (a callee that
        asks for its value), and then its value would have to be part of the key."""
        for signature, cres in self.overloads.items():
            if cres.entry_point is entry:
                return all(i in self.constants or not isinstance(t, types.Literal)
                           for i, t in enumerate(signature))
        return False

    def cached(self, argument_types):
        """Whether code for these argument types is in this process or the disk cache."""
        return argument_types in self.overloads or (
            isinstance(self._cache, SharedCache)
            and self._cache.has(argument_types, self.targetctx))

    def add_overload(self, cres):
        super().add_overload(cres)
        self.targetctx.remove_user_function(cres.entry_point)  # Numba's: link the module
        call = _call_through_slot(self, cres)
        self.targetctx.insert_func_defn([(call, cres.entry_point, call.signature)])


_KERNELS = {}  # (module, qualname) → Kernel: what a cached caller's reload_init loads
_SLOTS = {}    # symbol → ctypes pointer holding a compiled kernel's address


def _key(py_func):
    return py_func.__module__, py_func.__qualname__


def _dispatch_key(args, constants):
    """What Numba's typing of `args` depends on, cheaply: for an array (NumPy's own class,
    or its record array) its class, dtype, dimensions, layout flags, writeability and
    alignment; for a bool, a float or an int that fits in int64, its class; for a tuple
    (named or not), its class and the keys of its items; and the values of the
    `constants` positions. None for any other argument (then no shortcut is taken)."""
    key = []
    for i, a in enumerate(args):
        item = _argument_key(a, i in constants)
        if item is None:
            return None
        key.append(item)
    return tuple(key)


def _argument_key(a, constant):
    """One argument's part of `_dispatch_key`, or None."""
    if type(a) is np.ndarray or type(a) is np.recarray:
        flags = a.flags
        return (type(a), a.dtype, a.ndim, flags.c_contiguous, flags.f_contiguous,
                flags.writeable, flags.aligned)
    if type(a) in (bool, float) or (type(a) is int and -2**63 <= a < 2**63):
        return (type(a), a) if constant else type(a)
    if isinstance(a, tuple):  # a namedtuple's class is part of its Numba type
        items = tuple(_argument_key(item, False) for item in a)
        return None if None in items else (type(a), items)
    return None


def _slot(key, args):
    """The symbol of the slot for `key`'s specialization `args`, registered with LLVM."""
    digest = hashlib.sha256(repr((key, tuple(map(str, args)))).encode()).hexdigest()[:20]
    symbol = f"fastnn.kernel.{key[1]}.{digest}"
    if symbol not in _SLOTS:
        _SLOTS[symbol] = ctypes.c_void_p(0)
        llvm.add_symbol(symbol, ctypes.addressof(_SLOTS[symbol]))
    return symbol


def load_kernel(key, args):
    """Compile, or load from the cache, the kernel `key` for `args`: fills its slot."""
    _KERNELS[key].compile(args)


def _call_through_slot(kernel, cres):
    """Numba's lowering of a call to `cres`: through its slot, its module not linked in."""
    fndesc = cres.fndesc
    args = tuple(cres.signature.args)
    symbol = _slot(_key(kernel.py_func), args)
    _SLOTS[symbol].value = cres.library.get_pointer_to_function(fndesc.llvm_func_name)
    reload = partial(load_kernel, _key(kernel.py_func), args)

    def call(context, builder, sig, values):
        context.active_code_library._reload_init.add(reload)
        fnty = context.call_conv.get_function_type(fndesc.restype, fndesc.argtypes)
        module = builder.module
        slot = module.globals.get(symbol)
        if slot is None:
            slot = ir.GlobalVariable(module, ir.IntType(8).as_pointer(), name=symbol)
            slot.linkage = "external"
        callee = builder.bitcast(builder.load(slot), fnty.as_pointer())
        status, result = context.call_conv.call_function(builder, callee, fndesc.restype,
                                                         fndesc.argtypes, values)
        with cgutils.if_unlikely(builder, status.is_error):
            context.call_conv.return_status_propagate(builder, status)
        return impl_ret_new_ref(context, builder, fndesc.restype, result)

    call.signature = fndesc.argtypes
    return call


@register_pass(mutates_CFG=False, analysis_only=False)
class LiteralArgumentsAsConstants(FunctionPass):
    """An argument typed as a literal int or bool becomes that constant in the IR.

    Numba prunes a branch before typing only when its condition compares constants;
    a literal argument is not one, so both sides were typed, and every kernel called on
    the side not taken was compiled (train_steps compiled all three optimizers and all
    three losses; the GEMM both layouts of A in each specialization). With the constant,
    `if optimizer == ADAM` or `a[k, i] if a_transposed else a[i, k]` keeps one side.
    """
    _name = "fastnn_literal_arguments_as_constants"

    def __init__(self):
        FunctionPass.__init__(self)

    def run_pass(self, state):
        definitions = state.func_ir._definitions
        changed = False
        for block in state.func_ir.blocks.values():
            for statement in block.body:
                if not (isinstance(statement, numba_ir.Assign)
                        and isinstance(statement.value, numba_ir.Arg)):
                    continue
                argument = state.args[statement.value.index]
                if isinstance(argument, (types.IntegerLiteral, types.BooleanLiteral)):
                    constant = numba_ir.Const(argument.literal_value, statement.loc)
                    found = definitions[statement.target.name]
                    found[found.index(statement.value)] = constant
                    statement.value = constant
                    changed = True
        return changed


class KernelCompiler(CompilerBase):
    """Numba's nopython pipeline, plus `LiteralArgumentsAsConstants` before branch pruning."""

    def define_pipelines(self):
        pipeline = DefaultPassBuilder.define_nopython_pipeline(self.state)
        pipeline.add_pass_after(LiteralArgumentsAsConstants, IRProcessing)
        pipeline.finalize()
        return [pipeline]
