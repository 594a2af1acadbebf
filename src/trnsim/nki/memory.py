"""Addressed memory: HBM, SBUF and PSUM storages with real addresses, capacity tracking and NaN fill.

Every on-chip tile gets ``(partition_offset, byte address)`` from a first-fit allocator sized from the
hardware catalog; it is released when the last Python reference to it goes away (CPython refcounting,
so a tile re-declared inside a loop body is multi-buffered exactly like the NKI compiler does).
Over-subscription does not stop the run (the compiler would spill) but is reported as a warning and
in the peak-usage numbers; ``strict_memory=True`` turns it into an error.
"""

from __future__ import annotations

import bisect
from math import prod
from typing import Any

import numpy as np

from trnsim.errors import TrnsimError
from trnsim.nki import dtypes as dt
from trnsim.nki.trace import AllocEvent, Buffer

SBUF_ALIGN = 32  # bytes; [assumed] allocation granule per partition
PSUM_ALIGN = 8
HBM_ALIGN = 64


class MemoryError_(TrnsimError):
    """Out of on-chip memory (strict mode) or an invalid explicit address."""


class Allocator:
    """First-fit byte-range allocator over one partition's address space (same range on all partitions)."""

    def __init__(self, space: str, capacity: int, align: int, bank: int | None = None):
        self.space, self.capacity, self.align, self.bank = space, capacity, align, bank
        self.blocks: list[tuple[int, int, int]] = []  # sorted (start, end, buffer id)
        self.used = 0
        self.peak = 0
        self.peak_end = 0
        self.oversubscribed = 0  # number of allocations that did not fit

    def _fits(self, start: int, size: int) -> int:
        if self.bank and size <= self.bank and (start // self.bank) != ((start + size - 1) // self.bank):
            return (start // self.bank + 1) * self.bank  # do not straddle a PSUM bank
        return start

    def alloc(self, size: int, buf_id: int) -> tuple[int, bool]:
        size = max(self.align, -(-size // self.align) * self.align)
        start = 0
        if self.bank and size > self.bank:
            size = -(-size // self.bank) * self.bank
        for s, e, _ in self.blocks:
            start = self._fits(start, size)
            if start + size <= s:
                break
            start = max(start, -(-e // self.align) * self.align)
        start = self._fits(start, size)
        fits = start + size <= self.capacity
        bisect.insort(self.blocks, (start, start + size, buf_id))
        self.used += size
        self.peak = max(self.peak, self.used)
        self.peak_end = max(self.peak_end, start + size)
        if not fits:
            self.oversubscribed += 1
        return start, fits

    def place(self, start: int, size: int, buf_id: int) -> None:
        bisect.insort(self.blocks, (start, start + size, buf_id))
        self.used += size
        self.peak = max(self.peak, self.used)
        self.peak_end = max(self.peak_end, start + size)

    def free(self, buf_id: int) -> None:
        for i, (s, e, b) in enumerate(self.blocks):
            if b == buf_id:
                del self.blocks[i]
                self.used -= e - s
                return


class Storage:
    """One allocation. ``array`` is flat (``partitions * free`` elements for on-chip, row-major) or
    ``None`` in timing-only runs. ``written`` (PSUM, functional runs) tracks the matmul first-write rule."""

    __slots__ = ("id", "name", "space", "dtype", "shape", "array", "fsize", "partitions", "address",
                 "partition_offset", "written", "ctx", "elem_bytes", "dtname", "__weakref__")

    def __init__(self, ctx: Any, name: str, space: str, dtype: Any, shape: tuple[int, ...],
                 array: np.ndarray | None, address: tuple[int, int] | None = None):
        self.ctx = ctx
        self.id = ctx.next_buffer_id()
        self.name = name or f"{space}{self.id}"
        self.space = space
        self.dtype = dt.canon(dtype)
        self.dtname = dt.name(self.dtype)
        self.elem_bytes = dt.itemsize(self.dtype)
        self.shape = tuple(int(s) for s in shape)
        self.array = array
        self.written = None
        on_chip = space in ("sbuf", "psum")
        if on_chip:
            self.partitions = self.shape[0] if self.shape else 1
            self.fsize = prod(self.shape[1:])
        else:
            self.partitions = 1
            self.fsize = prod(self.shape)
        self.partition_offset = 0
        self.address = 0
        ctx.memory.allocate(self, address)
        if on_chip:
            bpp = self.fsize * self.elem_bytes
        else:
            bpp = self.fsize * self.elem_bytes
        ctx.trace.add_buffer(Buffer(self.id, self.name, space, self.dtname, self.shape, self.partitions,
                                    bpp, self.partition_offset, self.address))

    def __del__(self) -> None:
        ctx = self.ctx
        if ctx is not None and ctx.active and self.space in ("sbuf", "psum"):
            try:
                ctx.memory.release(self)
            except Exception:  # pragma: no cover - never raise from __del__
                pass


class Memory:
    """All memories of one NeuronCore for one kernel run."""

    def __init__(self, ctx: Any, core: Any, strict: bool = False):
        self.ctx = ctx
        self.strict = strict
        self.pmax = int(core.sbuf.partitions)
        sbuf_bytes = int(core.sbuf.bytes_per_partition.si)
        self.bank_bytes = int(core.psum.bank_bytes_per_partition.si)
        self.banks = int(core.psum.banks)
        self.psum_partitions = int(core.psum.partitions)
        self.sbuf = Allocator("sbuf", sbuf_bytes, SBUF_ALIGN)
        self.psum = Allocator("psum", self.bank_bytes * self.banks, PSUM_ALIGN, bank=self.bank_bytes)
        self.hbm_next = 0
        self.hbm_bytes = 0

    def allocate(self, st: Storage, address: tuple[int, int] | None) -> None:
        ctx = self.ctx
        if st.space in ("sbuf", "psum"):
            alloc = self.sbuf if st.space == "sbuf" else self.psum
            limit = self.pmax if st.space == "sbuf" else self.psum_partitions
            size = st.fsize * st.elem_bytes
            if address is not None:
                poff, byte = int(address[0]), int(address[1])
                if poff + st.partitions > limit or byte + size > alloc.capacity:
                    raise MemoryError_(f"nl.ndarray: {st.space} address ({poff}, {byte}) + shape {st.shape} "
                                       f"exceeds {limit} partitions x {alloc.capacity} bytes at {ctx.where()}")
                if st.space == "psum" and byte % self.bank_bytes:
                    raise MemoryError_(f"nl.ndarray: PSUM address {byte} must start at a bank "
                                       f"({self.bank_bytes} B) at {ctx.where()}")
                st.partition_offset, st.address = poff, byte
                alloc.place(byte, size, st.id)
            else:
                st.address, fits = alloc.alloc(size, st.id)
                if not fits:
                    msg = (f"{st.space} over-subscribed: tile {st.name} {list(st.shape)} {st.dtname} "
                           f"({size} B/partition) does not fit, {alloc.used - size} of {alloc.capacity} "
                           f"B/partition in use at {ctx.where()}")
                    if self.strict:
                        raise MemoryError_(msg, "free or shrink live tiles, or run without strict_memory")
                    ctx.warn(msg)
            ctx.trace.alloc_events.append(AllocEvent(len(ctx.trace.instructions), st.id, +1, ctx.source()))
        else:
            st.address = self.hbm_next
            nbytes = st.fsize * st.elem_bytes
            self.hbm_next += -(-max(nbytes, 1) // HBM_ALIGN) * HBM_ALIGN
            self.hbm_bytes += nbytes

    def release(self, st: Storage) -> None:
        (self.sbuf if st.space == "sbuf" else self.psum).free(st.id)
        ctx = self.ctx
        ctx.trace.alloc_events.append(AllocEvent(len(ctx.trace.instructions), st.id, -1, None))


def new_array(dtype: Any, n: int, timing_only: bool, fill: Any = None) -> np.ndarray | None:
    """A flat storage array of ``n`` elements filled with the uninitialised sentinel (or ``fill``)."""
    if timing_only:
        return None
    sdt = dt.storage(dtype)
    value = dt.sentinel(dtype) if fill is None else fill
    if sdt.kind in "iu" and isinstance(value, float) and np.isnan(value):
        value = 4
    return np.full(n, value, dtype=sdt)
