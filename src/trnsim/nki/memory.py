"""Addressed memory: HBM, SBUF and PSUM storages with real addresses, capacity tracking and NaN fill.

Every automatically allocated on-chip tile gets ``(partition_offset, byte address)`` from a first-fit
allocator sized from the hardware catalog; it is released when the last Python reference to it goes away
(CPython refcounting, so a tile re-declared inside a loop body is multi-buffered like the NKI compiler does).
Over-subscription does not stop the run (the compiler would spill) but is reported as a warning and
in the peak-usage numbers; ``strict_memory=True`` turns it into an error. Explicitly placed tiles
(``address=``, direct allocation) share physical tiles instead (:mod:`trnsim.nki.placement`).
"""

from __future__ import annotations

import bisect
from collections import deque
import os
from math import prod
from typing import Any

import numpy as np

from trnsim.errors import TrnsimError
from trnsim.nki import dtypes as dt
from trnsim.nki.placement import Placements
from trnsim.nki.trace import AllocEvent, Buffer

SBUF_ALIGN = 32  # bytes; [assumed] allocation granule per partition
PSUM_ALIGN = 8
HBM_ALIGN = 64
MULTI_BUFFER_DEPTH = 2  # [assumed] buffers per declaration site (loop-body tiles are double-buffered)


class MemoryError_(TrnsimError):
    """Out of on-chip memory (strict mode) or an invalid explicit address."""


class Allocator:
    """First-fit byte-range allocator over one partition's address space (same range on all partitions).

    ``used``/``peak`` count live tiles only; blocks kept for multi-buffering (retired) still occupy their
    range until they are reused by the same declaration site or evicted under pressure."""

    def __init__(self, space: str, capacity: int, align: int, bank: int | None = None):
        self.space, self.capacity, self.align, self.bank = space, capacity, align, bank
        self.blocks: list[tuple[int, int, int]] = []  # sorted (start, end, buffer id); retired ids < 0
        self.used = 0
        self.peak = 0
        self.oversubscribed = 0

    def size_of(self, size: int) -> int:
        size = max(self.align, -(-size // self.align) * self.align)
        if self.bank and size > self.bank:
            size = -(-size // self.bank) * self.bank
        return size

    def _fits(self, start: int, size: int) -> int:
        if self.bank and size <= self.bank and (start // self.bank) != ((start + size - 1) // self.bank):
            return (start // self.bank + 1) * self.bank  # do not straddle a PSUM bank
        return start

    def find(self, size: int) -> int | None:
        """First-fit start for an (already rounded) size, or None when it does not fit."""
        align = self.bank if (self.bank and size > self.bank) else self.align
        start = 0
        for s, e, _ in self.blocks:
            start = self._fits(start, size)
            if start + size <= s:
                break
            start = max(start, -(-e // align) * align)
        start = self._fits(start, size)
        return start if start + size <= self.capacity else None

    def end(self) -> int:
        return max((e for _, e, _ in self.blocks), default=0)

    def place(self, start: int, size: int, buf_id: int, live: bool = True) -> None:
        bisect.insort(self.blocks, (start, start + size, buf_id))
        if live:
            self.used += size
            self.peak = max(self.peak, self.used)

    def place_shared(self, start: int, size: int, buf_id: int) -> None:
        """Record a directly placed range; only the bytes no other block covers yet count as used (placed
        tiles on other partitions at the same bytes, or overlapping placements, share them)."""
        end, covered, cursor = start + size, 0, start
        for s, e, _ in self.blocks:  # sorted by start
            if e <= cursor or s >= end:
                continue
            lo = max(s, cursor)
            covered += max(0, min(e, end) - lo)
            cursor = max(cursor, min(e, end))
        self.place(start, size, buf_id, live=False)
        self.used += size - covered
        self.peak = max(self.peak, self.used)

    def _index(self, buf_id: int) -> int:
        for i, (_, _, b) in enumerate(self.blocks):
            if b == buf_id:
                return i
        return -1

    def free(self, buf_id: int, live: bool = True) -> None:
        i = self._index(buf_id)
        if i >= 0:
            s, e, _ = self.blocks.pop(i)
            if live:
                self.used -= e - s

    def retire(self, buf_id: int, new_id: int) -> tuple[int, int] | None:
        """A live block stops being live but keeps its range under ``new_id``; returns (start, size)."""
        i = self._index(buf_id)
        if i < 0:
            return None
        s, e, _ = self.blocks[i]
        self.blocks[i] = (s, e, new_id)
        self.used -= e - s
        return s, e - s

    def revive(self, old_id: int, buf_id: int) -> None:
        i = self._index(old_id)
        s, e, _ = self.blocks[i]
        self.blocks[i] = (s, e, buf_id)
        self.used += e - s
        self.peak = max(self.peak, self.used)


class Storage:
    """One allocation. ``array`` is flat (``partitions * free`` elements for on-chip, row-major) or
    ``None`` in timing-only runs. ``written`` (PSUM, functional runs) tracks the matmul first-write rule.

    On-chip storages get their address at first use (the first instruction that touches them), so a tile
    re-declared in a loop body reuses the space of the previous iteration's tile, which Python has released
    by then; a tile that is never used is never allocated."""

    __slots__ = ("id", "name", "space", "dtype", "shape", "array", "fsize", "partitions", "_address",
                 "partition_offset", "written", "ctx", "elem_bytes", "dtname", "src", "allocated",
                 "placed", "__weakref__")

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
        self.allocated = False
        self.placed = None  # a placement.Placed when explicitly placed
        on_chip = space in ("sbuf", "psum")
        if on_chip:
            self.partitions = self.shape[0] if self.shape else 1
            self.fsize = prod(self.shape[1:])
            self.src = ctx.source()
        else:
            self.partitions = 1
            self.fsize = prod(self.shape)
            self.src = None
        self.partition_offset = 0
        self._address = 0
        if not on_chip or address is not None:
            self._allocate(address)

    @classmethod
    def alias(cls, st: "Storage", dtype: Any) -> "Storage":
        """The same bytes reinterpreted as ``dtype`` (another item size changes the innermost dim)."""
        new = cls.__new__(cls)
        d = dt.canon(dtype)
        eb = dt.itemsize(d)
        nbytes = st.fsize * st.elem_bytes
        if nbytes % eb:
            raise MemoryError_(f"view({dt.name(d)}): {nbytes} bytes per partition of {st.name} are not a "
                               f"multiple of {eb}")
        ctx = st.ctx
        addr = st.address  # allocates the original if needed
        new.ctx, new.id, new.name, new.space = None, ctx.next_buffer_id(), f"{st.name}.view", st.space
        new.dtype, new.dtname, new.elem_bytes = d, dt.name(d), eb
        last = st.shape[-1] * st.elem_bytes // eb if st.shape and (st.shape[-1] * st.elem_bytes) % eb == 0 \
            else nbytes // eb
        new.shape = tuple(st.shape[:-1]) + (last,) if st.shape else (nbytes // eb,)
        new.array = None if st.array is None else st.array.view(dt.storage(d))
        new.written, new.allocated, new.src, new.placed = None, True, st.src, st.placed
        new.partitions, new.fsize = st.partitions, nbytes // eb
        new.partition_offset, new._address = st.partition_offset, addr
        ctx.trace.add_buffer(Buffer(new.id, new.name, new.space, new.dtname, new.shape, new.partitions,
                                    nbytes, new.partition_offset, addr))
        return new

    def _allocate(self, address: tuple[int, int] | None = None) -> None:
        self.allocated = True
        ctx = self.ctx
        ctx.memory.allocate(self, address)
        ctx.trace.add_buffer(Buffer(self.id, self.name, self.space, self.dtname, self.shape, self.partitions,
                                    self.fsize * self.elem_bytes, self.partition_offset, self._address))

    @property
    def address(self) -> int:
        if not self.allocated:
            self._allocate()
        return self._address

    def __del__(self) -> None:
        ctx = self.ctx
        if ctx is not None and ctx.active and self.allocated and self.space in ("sbuf", "psum"):
            try:
                ctx.memory.release(self)
            except Exception:  # pragma: no cover - never raise from __del__
                pass


class Memory:
    """All memories of one NeuronCore for one kernel run.

    Multi-buffering: a tile released by Python keeps its range for its declaration site (source line);
    the site reuses its oldest kept range once it holds ``MULTI_BUFFER_DEPTH`` of them, so a tile
    declared in a loop body rotates through that many buffers like the compiler's allocation. Kept
    ranges are evicted when a new tile would not fit otherwise."""

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
        self.rings: dict[str, dict[Any, deque]] = {"sbuf": {}, "psum": {}}
        self.hbm_next = 0
        self.hbm_bytes = 0
        self.placements = Placements(ctx, self)

    def _evict(self, space: str) -> None:
        alloc = self.sbuf if space == "sbuf" else self.psum
        for ring in self.rings[space].values():
            while ring:
                rid, _, _ = ring.popleft()
                alloc.free(rid, live=False)

    def allocate(self, st: "Storage", address: tuple[int, int] | None) -> None:
        ctx = self.ctx
        if st.space in ("sbuf", "psum"):
            alloc = self.sbuf if st.space == "sbuf" else self.psum
            limit = self.pmax if st.space == "sbuf" else self.psum_partitions
            raw = st.fsize * st.elem_bytes
            if address is not None:
                poff, byte = int(address[0]), int(address[1])
                if poff < 0 or byte < 0 or poff + st.partitions > limit or byte + raw > alloc.capacity:
                    raise MemoryError_(f"nl.ndarray: {st.space} address ({poff}, {byte}) + shape {st.shape} "
                                       f"exceeds {limit} partitions x {alloc.capacity} bytes at {ctx.where()}")
                if st.space == "psum" and byte % self.bank_bytes:
                    raise MemoryError_(f"nl.ndarray: PSUM address {byte} must start at a bank "
                                       f"({self.bank_bytes} B) at {ctx.where()}")
                self.placements.bind(st, poff, byte)  # the physical tile carries the allocation event
                return
            self._auto(st, alloc, raw)
            ctx.trace.alloc_events.append(AllocEvent(len(ctx.trace.instructions), st.id, +1, st.src))
        else:
            st._address = self.hbm_next
            nbytes = st.fsize * st.elem_bytes
            self.hbm_next += -(-max(nbytes, 1) // HBM_ALIGN) * HBM_ALIGN
            self.hbm_bytes += nbytes

    def _auto(self, st: "Storage", alloc: Allocator, raw: int) -> None:
        size = alloc.size_of(raw)
        ring = self.rings[st.space].setdefault(st.src, deque())
        if len(ring) >= MULTI_BUFFER_DEPTH:
            rid, rstart, rsize = ring.popleft()
            if rsize >= size:
                alloc.revive(rid, st.id)
                st._address = rstart
                return
            alloc.free(rid, live=False)
        start = alloc.find(size)
        if start is None:
            self._evict(st.space)
            start = alloc.find(size)
        if start is None:
            start = max(alloc.end(), alloc.capacity)
            alloc.oversubscribed += 1
            where = f"{os.path.basename(st.src[0])}:{st.src[1]}" if st.src else self.ctx.where()
            msg = (f"{st.space} over-subscribed: tile {list(st.shape)} {st.dtname} ({raw} B/partition) "
                   f"declared at {where} does not fit, {alloc.used} of {alloc.capacity} B/partition live")
            if self.strict:
                raise MemoryError_(msg, "free or shrink live tiles, or run without strict_memory")
            self.ctx.warn(msg)
        alloc.place(start, size, st.id)
        st._address = start

    def release(self, st: "Storage") -> None:
        if st.placed is not None:  # physical tiles outlive their logical tiles
            return
        alloc = self.sbuf if st.space == "sbuf" else self.psum
        kept = alloc.retire(st.id, -1 - st.id)
        if kept is not None:
            self.rings[st.space].setdefault(st.src, deque()).append((-1 - st.id, kept[0], kept[1]))
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
