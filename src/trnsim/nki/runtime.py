"""Kernel execution: run contexts, ``jit``/``simulate``, ``run_kernel``/``run_file`` and trace recording.

A kernel runs eagerly as plain Python; every ``nki.isa`` call executes with NumPy (skipped in
timing-only runs) and appends an :class:`~trnsim.nki.trace.Instruction` to the run's KernelTrace.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import os
import runpy
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from trnsim.errors import TrnsimError
from trnsim.nki import dtypes as dt
from trnsim.nki.memory import Memory, Storage, new_array
from trnsim.nki.tensor import NkiTensor
from trnsim.nki.trace import KernelTrace

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
TARGETS = {"trn1": "trn1", "inf2": "trn1", "gen2": "trn1", "trn2": "trn2", "gen3": "trn2",
           "trn3": "trn3", "gen4": "trn3"}
_CORE_NAMES = {"trn1": "neuroncore-v2", "trn2": "neuroncore-v3", "trn3": "neuroncore-v4"}
_VERSIONS = {"trn1": 2, "trn2": 3, "trn3": 4}


class ShapeOnly:
    """A shapes-only kernel argument for timing-only runs: ``shape_only((4096, 8192), nl.bfloat16)``."""

    def __init__(self, shape: Any, dtype: Any = np.float32):
        self.shape = tuple(int(s) for s in shape)
        self.dtype = dt.canon(dtype)

    def __repr__(self) -> str:
        return f"shape_only({list(self.shape)}, {dt.name(self.dtype)})"


def shape_only(shape: Any, dtype: Any = np.float32) -> ShapeOnly:
    return ShapeOnly(shape, dtype)


class KernelError(TrnsimError):
    """A kernel-level problem (bad arguments, no active kernel, unknown target)."""


def normalize_target(target: str | None) -> str:
    t = (target or default_target()).lower()
    if t not in TARGETS:
        raise KernelError(f"unknown NKI target {target!r}", "use trn1, trn2 or trn3")
    return TARGETS[t]


_DEFAULTS: dict[str, Any] = {"target": None, "timing_only": False, "strict_memory": False}


def default_target() -> str:
    if _DEFAULTS["target"]:
        return _DEFAULTS["target"]
    env = os.environ.get("NEURON_PLATFORM_TARGET_OVERRIDE")
    return TARGETS.get(env.lower(), "trn2") if env else "trn2"


def load_target_core(target: str) -> Any:
    from trnsim.hardware import load_core

    errors = []
    for name in (target, _CORE_NAMES[target]):
        try:
            return load_core(name)
        except Exception as e:  # noqa: BLE001 - try the next spelling
            errors.append(e)
    raise KernelError(f"no hardware spec for NKI target {target} ({errors[-1]})",
                      "add its NeuronCore to the hardware catalog")


@dataclass
class KernelRun:
    """One kernel execution: ``outputs`` (NumPy arrays, or None in timing-only runs) and its ``trace``."""

    kernel: str
    target: str
    trace: KernelTrace
    outputs: Any = None
    warnings: list[str] = field(default_factory=list)
    peak_sbuf_bytes: int = 0  # per partition
    peak_psum_bytes: int = 0
    sbuf_capacity: int = 0
    psum_capacity: int = 0
    timing_only: bool = False
    grid: tuple[int, ...] = ()
    returned: Any = None  # what the kernel call handed back to its caller (zeros placeholders in timing-only runs)

    @property
    def output_list(self) -> list[Any]:
        o = self.outputs
        if o is None:
            return []
        return list(o) if isinstance(o, (tuple, list)) else [o]

    def engine_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for ins in self.trace.instructions:
            out[ins.engine] = out.get(ins.engine, 0) + 1
        return out


class RunContext:
    """State of one kernel run: target, memories, trace, warnings, SPMD program id."""

    def __init__(self, target: str, timing_only: bool, strict_memory: bool = False, kernel: str = ""):
        self.target = normalize_target(target)
        self.core = load_target_core(self.target)
        self.version = int(getattr(self.core, "version", _VERSIONS[self.target]))
        self.timing_only = bool(timing_only)
        self.trace = KernelTrace(target=self.target, nc_version=self.version, kernel=kernel,
                                 timing_only=self.timing_only)
        self._next_id = 0
        self.active = True
        self.warnings: list[str] = []
        self._warned: set[str] = set()
        self.program_id: tuple[int, ...] = (0,)
        self.grid: tuple[int, ...] = ()
        self.shared_outputs: list[Any] = []
        self.shared_index = 0
        self.accumulators: dict[str, Any] = {}  # Vector/Scalar reduce registers
        self.memory = Memory(self, self.core, strict_memory)
        t = self.core.tensor
        self.pmax = self.memory.pmax
        self.stationary_fmax = int(t.stationary_fmax)
        self.moving_fmax = int(t.moving_fmax)
        self.bank_bytes = self.memory.bank_bytes

    def next_buffer_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def source(self) -> tuple[str, int] | None:
        f = sys._getframe(1)
        while f is not None and f.f_code.co_filename.startswith(_PKG_DIR):
            f = f.f_back
        return (f.f_code.co_filename, f.f_lineno) if f is not None else None

    def where(self) -> str:
        src = self.source()
        return f"{os.path.basename(src[0])}:{src[1]}" if src else "<unknown>"

    def warn(self, msg: str) -> None:
        key = msg.split(" at ")[0] if "over-subscribed" not in msg else msg.split(" does not fit")[0]
        if key in self._warned or len(self.warnings) >= 50:
            return
        self._warned.add(key)
        self.warnings.append(msg)

    # ------------------------------------------------------------------ allocation
    def alloc(self, shape: Any, dtype: Any, space: str, name: str | None = None, fill: Any = None,
              address: Any = None) -> NkiTensor:
        shape = tuple(int(s) for s in shape)
        if space == "shared_hbm" and self.grid:
            # SPMD programs share their output allocations: the k-th one of every program is the same
            k = self.shared_index
            self.shared_index += 1
            if k < len(self.shared_outputs):
                t = self.shared_outputs[k]
                if t.shape == shape:
                    return t
        n = 1
        for s in shape:
            n *= s
        placed = address is not None and space in ("sbuf", "psum")  # data lives in the physical tile
        arr = None if placed else new_array(dtype, n, self.timing_only, fill)
        st = Storage(self, name or "", space, dtype, shape, arr, address)
        t = NkiTensor(st, shape, _contig_strides(shape), 0)
        if space == "shared_hbm" and self.grid:
            self.shared_outputs.append(t)
        return t

    def wrap_input(self, value: Any, name: str) -> Any:
        if isinstance(value, ShapeOnly):
            arr = None if self.timing_only else new_array(value.dtype, int(np.prod(value.shape)), False)
            st = Storage(self, name, "hbm", value.dtype, value.shape, arr)
            return NkiTensor(st, value.shape, _contig_strides(value.shape), 0)
        if isinstance(value, np.ndarray) or _is_torch(value):
            a = _to_numpy(value)
            if a.dtype == np.bool_:
                a = a.view(np.uint8)
            if a.dtype == np.float64:
                a = a.astype(np.float32)
            flat = None
            if not self.timing_only:
                flat = a.reshape(-1) if a.flags.c_contiguous else np.ascontiguousarray(a).reshape(-1)
            st = Storage(self, name, "hbm", a.dtype, a.shape, flat)
            return NkiTensor(st, tuple(a.shape), _contig_strides(a.shape), 0)
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, (np.ndarray, ShapeOnly)) for v in value):
            return type(value)(self.wrap_input(v, f"{name}{i}") for i, v in enumerate(value))
        return value


def _is_torch(v: Any) -> bool:
    return type(v).__module__.startswith("torch") and hasattr(v, "detach")


def _to_numpy(v: Any) -> np.ndarray:
    if isinstance(v, np.ndarray):
        return v
    x = v.detach().cpu()
    if str(x.dtype) == "torch.bfloat16":
        return x.float().numpy().astype(dt.bfloat16)
    return x.numpy()


def _contig_strides(shape: Iterable[int]) -> tuple[int, ...]:
    out = []
    acc = 1
    for s in reversed(tuple(shape)):
        out.append(acc)
        acc *= int(s)
    return tuple(reversed(out))


_STACK: list[RunContext] = []
_RECORDERS: list[list[KernelRun]] = []
_LAST: list[KernelRun] = []


def current() -> RunContext:
    if not _STACK:
        raise KernelError("NKI instruction called outside a kernel",
                          "call it from a @nki.jit kernel run with nki.simulate / trnsim.nki.run_kernel")
    return _STACK[-1]


def current_or_none() -> RunContext | None:
    return _STACK[-1] if _STACK else None


def last_run() -> KernelRun | None:
    return _LAST[-1] if _LAST else None


def _convert_outputs(ret: Any, timing_only: bool, placeholders: bool = False) -> Any:
    if isinstance(ret, NkiTensor):
        if timing_only:
            return np.zeros(ret.shape, dt.storage(ret.dtype)) if placeholders else None
        v = ret.np()
        return np.array(v, copy=True)
    if isinstance(ret, (tuple, list)):
        conv = [_convert_outputs(r, timing_only, placeholders) for r in ret]
        if timing_only and not placeholders:
            return None
        return tuple(conv)
    return ret


def execute(fn: Callable, args: tuple, kwargs: dict, target: str | None = None, timing_only: bool | None = None,
            grid: Any = None, strict_memory: bool | None = None, placeholders: bool = False) -> KernelRun:
    """Run ``fn`` as a kernel and return its :class:`KernelRun`."""
    timing_only = _DEFAULTS["timing_only"] if timing_only is None else timing_only
    strict_memory = _DEFAULTS["strict_memory"] if strict_memory is None else strict_memory
    name = getattr(fn, "__name__", "kernel")
    ctx = RunContext(target or default_target(), timing_only, strict_memory, kernel=name)
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        params = []
    _STACK.append(ctx)
    gc_was = gc.isenabled()
    gc.disable()  # the trace holds ~1e5 small objects; cyclic GC passes would dominate the run time
    try:
        wargs = [ctx.wrap_input(a, params[i] if i < len(params) else f"arg{i}") for i, a in enumerate(args)]
        wkw = {k: ctx.wrap_input(v, k) for k, v in kwargs.items()}
        grid_t = _grid_tuple(grid)
        ret = None
        if grid_t:
            ctx.grid = grid_t
            for pid in np.ndindex(*grid_t):
                ctx.program_id = tuple(int(i) for i in pid)
                ctx.shared_index = 0
                ret = fn(*wargs, **wkw)
        else:
            ret = fn(*wargs, **wkw)
        del wargs, wkw
        outputs = _convert_outputs(ret, ctx.timing_only, False)
        returned = _convert_outputs(ret, ctx.timing_only, True) if (placeholders and ctx.timing_only) else outputs
        del ret
    finally:
        _STACK.pop()
        if gc_was:
            gc.enable()
    ctx.active = False
    mem = ctx.memory
    run = KernelRun(kernel=name, target=ctx.target, trace=ctx.trace, outputs=outputs, warnings=ctx.warnings,
                    peak_sbuf_bytes=mem.sbuf.peak, peak_psum_bytes=mem.psum.peak,
                    sbuf_capacity=mem.sbuf.capacity, psum_capacity=mem.psum.capacity,
                    timing_only=ctx.timing_only, grid=ctx.grid)
    run.trace.kernel = name
    run.returned = returned
    for rec in _RECORDERS:
        rec.append(run)
    _LAST[:] = [run]
    return run


def _grid_tuple(grid: Any) -> tuple[int, ...]:
    if grid is None:
        return ()
    if isinstance(grid, (tuple, list)):
        out: list[int] = []
        for g in grid:
            out.append(max(1, int(getattr(g, "n", g))))  # old kernels launch kernel[0] meaning one program
        return tuple(out)
    return (max(1, int(getattr(grid, "n", grid))),)


def run_kernel(kernel_fn: Callable, *args: Any, target: str = "trn2", timing_only: bool = False, grid: Any = None,
               strict_memory: bool = False, **kwargs: Any) -> KernelRun:
    """Run an NKI kernel (a ``@nki.jit`` function or a plain function) on the CPU.

    Inputs are NumPy arrays, or :func:`~trnsim.nki.tensor.shape_only` placeholders in timing-only runs.
    """
    fn = getattr(kernel_fn, "func", kernel_fn)
    if grid is None and getattr(kernel_fn, "grid", None):
        grid = kernel_fn.grid
    return execute(fn, args, kwargs, target=target, timing_only=timing_only, grid=grid,
                   strict_memory=strict_memory)


# ---------------------------------------------------------------------- jit / simulate
class Kernel:
    """A ``@nki.jit`` kernel. Called with arrays outside a kernel it runs on the simulator and returns
    NumPy outputs; called from inside a kernel it is inlined. ``kernel[g0, g1]`` launches an SPMD grid."""

    def __init__(self, func: Callable, grid: tuple[int, ...] = (), **options: Any):
        self.func = getattr(func, "func", func)
        self.grid = grid
        self.options = options
        self.__name__ = getattr(self.func, "__name__", "kernel")
        self.__doc__ = getattr(self.func, "__doc__", None)
        self.__wrapped__ = self.func

    def __getitem__(self, grid: Any) -> "Kernel":
        return Kernel(self.func, _grid_tuple(grid), **self.options)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _STACK:
            return self.func(*args, **kwargs)
        run = execute(self.func, args, kwargs, grid=self.grid or None, placeholders=True)
        return run.returned

    def __repr__(self) -> str:
        return f"<nki kernel {self.__name__}>"


def jit(func: Callable | None = None, *args: Any, **options: Any) -> Any:
    """``@nki.jit`` / ``@nki.jit(mode=..., platform_target=...)``."""
    if func is None or not callable(func):
        return lambda f: Kernel(f, **options)
    return Kernel(func, **options)


def simulate(kernel: Any) -> Callable:
    """``nki.simulate(kernel)(*arrays)``: run on the CPU simulator, return NumPy outputs."""
    k = kernel if isinstance(kernel, Kernel) else Kernel(kernel)

    def _run(*args: Any, **kwargs: Any) -> Any:
        return execute(k.func, args, kwargs, grid=k.grid or None, placeholders=True).returned

    return _run


def simulate_kernel(kernel: Any, *args: Any, **kwargs: Any) -> Any:
    """Old API ``nki.simulate_kernel(kernel[grid], *args)``."""
    return simulate(kernel)(*args, **kwargs)


# ---------------------------------------------------------------------- run_file
@contextlib.contextmanager
def _numeric_checks_disabled(active: bool):
    """Timing-only script runs return zero placeholders, so the script's own NumPy checks are switched off."""
    if not active:
        yield
        return
    import numpy.testing as npt

    names = ("assert_allclose", "assert_array_equal", "assert_array_almost_equal", "assert_almost_equal",
             "assert_equal")
    saved_t = {n: getattr(npt, n) for n in names}
    saved_np = {n: getattr(np, n) for n in ("allclose", "array_equal")}
    for n in names:
        setattr(npt, n, lambda *a, **k: None)
    np.allclose = lambda *a, **k: True  # type: ignore[assignment]
    np.array_equal = lambda *a, **k: True  # type: ignore[assignment]
    try:
        yield
    finally:
        for n, f in saved_t.items():
            setattr(npt, n, f)
        for n, f in saved_np.items():
            setattr(np, n, f)


class ScriptCheckFailed(TrnsimError):
    """The kernel script's own correctness check failed."""


def run_file(path: str, target: str = "trn2", timing_only: bool = False, strict_memory: bool = False,
             argv: list[str] | None = None) -> list[KernelRun]:
    """Execute an unmodified NKI kernel script as ``__main__`` and return every kernel run it made."""
    from trnsim.nki.install import installed

    path = os.path.abspath(path)
    if not os.path.exists(path):
        raise KernelError(f"kernel file not found: {path}")
    runs: list[KernelRun] = []
    saved = dict(_DEFAULTS)
    old_argv, old_path = sys.argv, list(sys.path)
    _DEFAULTS.update(target=normalize_target(target), timing_only=timing_only, strict_memory=strict_memory)
    _RECORDERS.append(runs)
    sys.argv = [path] + list(argv or [])
    sys.path.insert(0, os.path.dirname(path))
    try:
        with installed(), _numeric_checks_disabled(timing_only):
            try:
                runpy.run_path(path, run_name="__main__")
            except AssertionError as e:
                if not timing_only:
                    msg = " ".join(str(e).split())[:200] or "assertion failed"
                    raise ScriptCheckFailed(f"{os.path.basename(path)}: check failed: {msg}") from e
            except SystemExit as e:
                if e.code not in (None, 0):
                    raise KernelError(f"{os.path.basename(path)} exited with status {e.code}") from e
    finally:
        _RECORDERS.remove(runs)
        _DEFAULTS.update(saved)
        sys.argv = old_argv
        sys.path[:] = old_path
    return runs
