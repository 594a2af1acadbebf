"""The old ``neuronxcc.nki`` API (value-returning ISA, ``nl.arange``/``mgrid``, masks, SPMD grids)."""

from __future__ import annotations

from typing import Any

from trnsim.nki import typing  # noqa: F401
from trnsim.nki.legacy import compiler, isa, language  # noqa: F401
from trnsim.nki.runtime import Kernel, _grid_tuple, execute, jit as _jit, simulate_kernel  # noqa: F401
from trnsim.nki.tensor import NkiTensor as tensor  # noqa: F401


def jit(func: Any = None, mode: str | None = None, **options: Any) -> Any:
    """``@nki.jit`` / ``@nki.jit(mode="simulation")``: every mode runs on the CPU simulator."""
    if func is None or not callable(func):
        return lambda f: Kernel(f, mode=mode, **options)
    return Kernel(func, mode=mode, **options)


def baremetal(func: Any = None, **options: Any) -> Any:
    return jit(func, mode="baremetal", **options)


class _Latency:
    """``benchmark_result.nc_latency``: the timing model's predicted latency (deterministic, so every
    percentile is the same value), in microseconds."""

    def __init__(self, us: float):
        self.us = us

    def get_latency_percentile(self, p: Any = 50) -> float:
        return self.us


class _BenchmarkResult:
    def __init__(self, profile: Any):
        self.profile = profile
        self.nc_latency = _Latency(profile.total_time * 1e6)


class BenchmarkKernel(Kernel):
    """Old ``@nki.benchmark``: runs the kernel shapes-only and predicts its latency with the NeuronCore
    timing model (:func:`trnsim.neuroncore.simulate`); outputs are zero placeholders."""

    benchmark_result: Any = None

    def __getitem__(self, grid: Any) -> "BenchmarkKernel":
        k = BenchmarkKernel(self.func, _grid_tuple(grid), **self.options)
        return k

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from trnsim.neuroncore import simulate as _timing

        run = execute(self.func, args, kwargs, grid=self.grid or None, timing_only=True, placeholders=True)
        self.benchmark_result = _BenchmarkResult(_timing(run.trace))
        return run.returned


def benchmark(func: Any = None, **options: Any) -> Any:
    if func is None or not callable(func):
        return lambda f: BenchmarkKernel(getattr(f, "func", f), mode="benchmark", **options)
    return BenchmarkKernel(getattr(func, "func", func), mode="benchmark", **options)


def profile(func: Any = None, **options: Any) -> Any:
    return jit(func, mode="profile", **options)


def trace(func: Any = None, **options: Any) -> Any:
    return jit(func, **options)
