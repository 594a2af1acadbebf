"""The old ``neuronxcc.nki`` API (value-returning ISA, ``nl.arange``/``mgrid``, masks, SPMD grids)."""

from __future__ import annotations

from typing import Any

from trnsim.nki import typing  # noqa: F401
from trnsim.nki.legacy import compiler, isa, language  # noqa: F401
from trnsim.nki.runtime import Kernel, jit as _jit, simulate_kernel  # noqa: F401
from trnsim.nki.tensor import NkiTensor as tensor  # noqa: F401


def jit(func: Any = None, mode: str | None = None, **options: Any) -> Any:
    """``@nki.jit`` / ``@nki.jit(mode="simulation")``: every mode runs on the CPU simulator."""
    if func is None or not callable(func):
        return lambda f: Kernel(f, mode=mode, **options)
    return Kernel(func, mode=mode, **options)


def baremetal(func: Any = None, **options: Any) -> Any:
    return jit(func, mode="baremetal", **options)


def benchmark(func: Any = None, **options: Any) -> Any:
    return jit(func, mode="benchmark", **options)


def profile(func: Any = None, **options: Any) -> Any:
    return jit(func, mode="profile", **options)


def trace(func: Any = None, **options: Any) -> Any:
    return jit(func, **options)
