"""Enumerations of ``nki.isa`` (engine, reduce_cmd, dge_mode, oob_mode, matmul_perf_mode, nc_version)."""

from __future__ import annotations

from enum import Enum


class engine(Enum):
    tensor = "tensor"
    vector = "vector"
    scalar = "scalar"
    act = "scalar"
    gpsimd = "gpsimd"
    pool = "gpsimd"
    dma = "dma"
    sync = "sync"
    unknown = "unknown"


class dma_engine(Enum):
    dma = "dma"
    gpsimd_dma = "gpsimd_dma"


class reduce_cmd(Enum):
    idle = "idle"
    reset = "reset"
    reduce = "reduce"
    reset_reduce = "reset_reduce"
    load_reduce = "load_reduce"


class dge_mode(Enum):
    unknown = "unknown"
    none = "none"
    swdge = "swdge"
    hwdge = "hwdge"


class oob_mode(Enum):
    error = "error"
    skip = "skip"


class matmul_perf_mode(Enum):
    none = "none"
    double_row = "double_row"
    double_row_gen3 = "double_row"


class nc_version(Enum):
    gen2 = 2
    gen3 = 3
    gen4 = 4


def value(x, default=None):
    """The plain value of an enum member (or of a string/None)."""
    if x is None:
        return default
    return x.value if isinstance(x, Enum) else x
