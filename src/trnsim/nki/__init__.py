"""NKI-compatible kernel API over NumPy: run unmodified NKI kernels on the CPU with the hardware rules
enforced, recording a :class:`~trnsim.nki.trace.KernelTrace` of every instruction.

This package doubles as the ``nki`` module (see :func:`install`): ``nki.jit``, ``nki.simulate``,
``nki.language``, ``nki.isa``, ``nki.typing``.
"""

from __future__ import annotations

from typing import Any

from trnsim.nki import isa, language, typing  # noqa: F401
from trnsim.nki.install import install, installed, uninstall
from trnsim.nki.runtime import (Kernel, KernelRun, ShapeOnly, jit, last_run, run_file, run_kernel, shape_only,
                                simulate, simulate_kernel)
from trnsim.nki.tensor import NkiTensor
from trnsim.nki.trace import Access, AllocEvent, Buffer, Instruction, KernelTrace

__version__ = "0.6.0"
dtype = Any  # annotation alias used by kernels (``dtype: nki.dtype = nl.bfloat16``)


def baremetal(func: Any = None, **_opts: Any) -> Any:
    """Old-API decorator kept for convenience: runs on the simulator."""
    return jit(func) if func is not None else (lambda f: jit(f))


__all__ = [
    "Access", "AllocEvent", "Buffer", "Instruction", "Kernel", "KernelRun", "KernelTrace", "NkiTensor", "ShapeOnly",
    "install", "installed", "isa", "jit", "language", "last_run", "run_file", "run_kernel", "shape_only",
    "simulate", "simulate_kernel", "typing", "uninstall",
]
