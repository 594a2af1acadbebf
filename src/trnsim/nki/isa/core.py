"""Shared machinery of the instruction set: operand checks, trace recording, NumPy read/write helpers."""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from trnsim.errors import TrnsimError
from trnsim.nki import dtypes as dt
from trnsim.nki import runtime
from trnsim.nki.isa.enums import value as enum_value
from trnsim.nki.tensor import NkiTensor
from trnsim.nki.trace import Instruction

MAX_FREE_ELEMS = 65536  # free-dim sizes are uint16 in the instruction encoding (docs §1.3)
PSUM_FP32_BYTES = 4


class IsaError(TrnsimError):
    """An instruction broke a hardware rule (shape, memory, engine or dtype)."""


class OutOfBoundsError(IsaError, IndexError):
    """A runtime (indirect) index outside its tensor."""

    def __str__(self) -> str:
        return self.args[0]


def fail(instr: str, msg: str, exc: type = IsaError) -> None:
    c = runtime.current_or_none()
    where = c.where() if c is not None else "<no kernel>"
    raise exc(f"{instr}: {msg} at {where}")


# hook for the legacy (value-returning) API: materialises deferred matmul results
MATERIALIZE: Any = None


def tensor(x: Any, instr: str, role: str) -> NkiTensor:
    if isinstance(x, NkiTensor):
        return x
    if MATERIALIZE is not None:
        y = MATERIALIZE(x)
        if isinstance(y, NkiTensor):
            return y
    fail(instr, f"{role} must be a tensor, got {type(x).__name__}")
    raise AssertionError  # unreachable


def on_chip(t: NkiTensor, instr: str, role: str, spaces: Sequence[str] = ("sbuf", "psum")) -> None:
    if t.storage.space not in spaces:
        fail(instr, f"{role} must be in {'/'.join(s.upper() for s in spaces)}, got {t.storage.space} "
                    f"tensor {t.name} {list(t.shape)}")


def tile(t: NkiTensor, instr: str, role: str, c: Any) -> None:
    """An on-chip operand: partition dim first, <= pmax partitions, stride-1 partitions, free size limits."""
    st = t.storage
    if not t.shape:
        fail(instr, f"{role} {t.name} is a scalar, expected a tile")
    p = t.shape[0]
    if p > c.pmax:
        fail(instr, f"{role} partition dim {p} > {c.pmax} (tile rule TC#1) in shape {list(t.shape)}")
    if p > 1 and t.strides[0] not in (st.fsize, 0):
        fail(instr, f"{role} {t.name} {list(t.shape)}: the first dim must be the partition dim "
                    f"(layout rule LC#2); permute/transpose the tile instead")
    if len(t.shape) > 1:
        fsize = st.fsize or 1
        for n, s in zip(t.shape[1:], t.strides[1:]):
            if n > 1 and abs(s) * (n - 1) >= fsize and s % fsize == 0:
                fail(instr, f"{role} {t.name} {list(t.shape)}: free dims may not step across partitions")
        free = t.free_size
        limit = MAX_FREE_ELEMS if st.space == "sbuf" else (c.bank_bytes * c.memory.banks) // PSUM_FP32_BYTES
        if free > limit:
            fail(instr, f"{role} free size {free} > {limit} elements per partition from {st.space.upper()}")


def psum_written(t: NkiTensor) -> np.ndarray:
    st = t.storage
    if st.written is None:
        st.written = np.zeros(st.array.size, dtype=np.bool_)
    return np.ndarray(t.shape, np.bool_, st.written, t.offset, t.strides)


def record(c: Any, engine: str, opcode: str, ins: Sequence[NkiTensor], outs: Sequence[NkiTensor],
           attrs: dict[str, Any]) -> Instruction:
    if c.memory.placements.active:  # direct allocation: lifetime check and physical-tile coherence
        c.memory.placements.touch(opcode, ins, outs)
    tr = c.trace
    instr = Instruction(len(tr.instructions), engine, opcode, tuple([t.access() for t in ins]),
                        tuple([t.access() for t in outs]), attrs, c.source())
    tr.instructions.append(instr)
    return instr


def get(t: NkiTensor) -> np.ndarray:
    """Values of a tile as the engines compute them (fp32; integers stay integers)."""
    v = t.np()
    if v.dtype == np.float32 or v.dtype.kind in "iu":
        return v
    return v.astype(np.float32)


def put(dst: NkiTensor, values: Any) -> None:
    out = dst.np()
    v = np.asarray(values)
    if v.shape != out.shape:
        v = v.reshape(out.shape) if v.size == out.size else np.broadcast_to(v, out.shape)
    out[...] = dt.cast(v, dst.dtype)
    if dst.storage.space == "psum" and dst.storage.written is not None:
        psum_written(dst)[...] = False


def same_tiles(instr: str, a: NkiTensor, b: NkiTensor, ra: str, rb: str) -> None:
    if a.shape[0] != b.shape[0] or a.free_size != b.free_size:
        fail(instr, f"{ra} shape {list(a.shape)} does not match {rb} shape {list(b.shape)}")


def scalar_or_vector(x: Any, t: NkiTensor, instr: str, role: str, c: Any) -> tuple[Any, NkiTensor | None]:
    """A scalar operand: Python number, or a per-partition ``[P, 1]`` tile (returned as a tensor input)."""
    if x is None:
        return None, None
    if isinstance(x, (int, float, np.number, bool)):
        return x, None
    x = tensor(x, instr, role)
    tile(x, instr, role, c)
    if x.shape[0] not in (t.shape[0], 1) or x.free_size != 1:
        fail(instr, f"{role} must be a scalar or a [{t.shape[0]}, 1] per-partition vector, got {list(x.shape)}")
    return x, x


def vec_value(x: Any, partitions: int, ndim: int) -> Any:
    if isinstance(x, NkiTensor):
        v = get(x).reshape(x.shape[0], *([1] * (ndim - 1)))
        return v
    return x


def engine_of(engine: Any, default: str) -> str:
    e = enum_value(engine, "unknown")
    if e in (None, "unknown"):
        return default
    return {"act": "scalar", "pool": "gpsimd"}.get(e, e)


def check_engine(instr: str, engine: str, tensors: Sequence[NkiTensor], c: Any) -> None:
    if engine == "gpsimd":
        for t in tensors:
            if t.storage.space == "psum":
                fail(instr, f"GpSimd engine cannot access PSUM (tensor {t.name} {list(t.shape)})")


def dtname(x: Any) -> str:
    return dt.name(x)


def basename(path: str) -> str:
    return os.path.basename(path)
