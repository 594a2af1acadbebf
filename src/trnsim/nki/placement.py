"""Explicitly placed on-chip tiles (direct allocation): logical tiles share the physical tile they map to.

A *physical tile* is one rectangle of SBUF or PSUM: (start partition, partitions) x (byte address, bytes per
partition). Every logical tile placed on the same rectangle shares its bytes, so a tile re-declared at the
same address in the next loop iteration, or block ``i + N`` of a ``mod_alloc(num_free_tiles=(N,))`` tensor,
reads what the previous user wrote there, as on the hardware. Only a rectangle used for the first time starts
uninitialised (NaN filled). Rectangles that overlap without being equal stay byte-coherent: before each access
a tile copies the overlap from any overlapping tile written more recently.

Each logical tile keeps its own PSUM first-write state (a new logical tile starts a new accumulation group,
as the compiler does for a new tensor), and its own identity for the lifetime check: a logical tile that wrote
its physical tile and reads it again after another logical tile wrote there (or into an overlapping
rectangle) has lost its data, the "lifetime conflict" of the NKI direct allocation guide, and the run fails.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from trnsim.errors import TrnsimError
from trnsim.nki.trace import AllocEvent, Buffer


class LifetimeConflictError(TrnsimError):
    """Two directly allocated tiles that must be live at the same time share physical memory."""


class PhysTile:
    """One physical rectangle of SBUF/PSUM; ``array`` is its bytes, flat, row-major by partition."""

    __slots__ = ("id", "space", "p0", "parts", "byte", "nbytes", "array", "overlaps", "wclock", "synced",
                 "writers", "last", "last_name")

    def __init__(self, buf_id: int, space: str, p0: int, parts: int, byte: int, nbytes: int,
                 array: np.ndarray | None):
        self.id, self.space, self.p0, self.parts, self.byte, self.nbytes = buf_id, space, p0, parts, byte, nbytes
        self.array = array
        self.overlaps: list[PhysTile] = []
        self.wclock = 0  # clock of the last write
        self.synced = 0  # clock up to which overlapping writes were copied in
        self.writers: set[int] = set()  # logical tiles that have written here
        self.last: int | None = None  # logical tile (or overlapping writer) that wrote last
        self.last_name = ""

    def overlaps_rect(self, o: "PhysTile") -> bool:
        return (self.space == o.space and self.p0 < o.p0 + o.parts and o.p0 < self.p0 + self.parts
                and self.byte < o.byte + o.nbytes and o.byte < self.byte + self.nbytes)

    def where(self) -> str:
        return (f"{self.space} partitions {self.p0}..{self.p0 + self.parts - 1}, "
                f"bytes {self.byte}..{self.byte + self.nbytes - 1}")


class Placed:
    """What a placed logical :class:`~trnsim.nki.memory.Storage` points at (shared by its dtype aliases)."""

    __slots__ = ("phys", "key", "name")

    def __init__(self, phys: PhysTile, key: int, name: str):
        self.phys, self.key, self.name = phys, key, name


class Placements:
    """The physical tiles of one kernel run and the lifetime/coherence bookkeeping of their accesses."""

    def __init__(self, ctx: Any, memory: Any):
        self.ctx, self.memory = ctx, memory
        self.tiles: dict[tuple[str, int, int, int, int], PhysTile] = {}
        self.clock = 0
        self.active = False  # set once anything is placed: instruction hooks cost nothing before that

    def bind(self, st: Any, poff: int, byte: int) -> None:
        """Place logical storage ``st`` at (``poff``, ``byte``), sharing or creating the physical tile."""
        from trnsim.nki import dtypes as dt

        nbytes = st.fsize * st.elem_bytes
        key = (st.space, poff, st.partitions, byte, nbytes)
        ph = self.tiles.get(key)
        if ph is None:
            ph = self._new(key, st)
        st.array = None if ph.array is None else ph.array.view(dt.storage(st.dtype))
        st.placed = Placed(ph, st.id, st.name)
        st.partition_offset, st._address = poff, byte

    def _new(self, key: tuple[str, int, int, int, int], st: Any) -> PhysTile:
        from trnsim.nki.memory import new_array

        space, poff, parts, byte, nbytes = key
        ctx = self.ctx
        arr = new_array(st.dtype, st.partitions * st.fsize, ctx.timing_only)
        ph = PhysTile(ctx.next_buffer_id(), space, poff, parts, byte, nbytes,
                      None if arr is None else arr.view(np.uint8))
        for o in self.tiles.values():
            if ph.overlaps_rect(o):
                ph.overlaps.append(o)
                o.overlaps.append(ph)
        self.tiles[key] = ph
        self.active = True
        alloc = self.memory.sbuf if space == "sbuf" else self.memory.psum
        alloc.place_shared(byte, nbytes, ph.id)  # exact bytes: placements need not follow the allocator's granule
        ctx.trace.add_buffer(Buffer(ph.id, f"{space}@{poff}:{byte}", space, st.dtname, st.shape, parts, nbytes,
                                    poff, byte))
        ctx.trace.alloc_events.append(AllocEvent(len(ctx.trace.instructions), ph.id, +1, st.src))
        self._sync(ph)
        return ph

    # ------------------------------------------------------------------ instruction hook
    def touch(self, opcode: str, ins: Sequence[Any], outs: Sequence[Any]) -> None:
        """Called for every instruction before it executes: lifetime check on reads, coherence, writes."""
        for t in ins:
            p = getattr(t.storage, "placed", None)
            if p is not None:
                self._read(p, opcode)
        for t in outs:
            p = getattr(t.storage, "placed", None)
            if p is not None:
                self._write(p)

    def _read(self, p: Placed, opcode: str) -> None:
        ph = p.phys
        if ph.overlaps:
            self._sync(ph)
        if ph.last is not None and ph.last != p.key and p.key in ph.writers:
            ctx = self.ctx
            raise LifetimeConflictError(
                f"{opcode}: lifetime conflict: {p.name} is read after {ph.last_name} overwrote its "
                f"{ph.where()} at {ctx.where()}",
                "both must be live at once; give the tensor more physical tiles (num_free_tiles) or "
                "move one allocation")

    def _write(self, p: Placed) -> None:
        ph = p.phys
        if ph.overlaps:
            self._sync(ph)
        self.clock += 1
        ph.wclock = self.clock
        ph.writers.add(p.key)
        ph.last, ph.last_name = p.key, p.name
        for o in ph.overlaps:
            o.last, o.last_name = p.key, p.name

    def _sync(self, ph: PhysTile) -> None:
        """Copy into ``ph`` the overlap of every overlapping tile written after ``ph`` was last current."""
        since = max(ph.wclock, ph.synced)
        newer = sorted((o for o in ph.overlaps if o.wclock > since), key=lambda o: o.wclock)
        if newer and ph.array is not None:
            dst = ph.array.reshape(ph.parts, ph.nbytes)
            for o in newer:
                src = o.array.reshape(o.parts, o.nbytes)
                p0, p1 = max(ph.p0, o.p0), min(ph.p0 + ph.parts, o.p0 + o.parts)
                b0, b1 = max(ph.byte, o.byte), min(ph.byte + ph.nbytes, o.byte + o.nbytes)
                dst[p0 - ph.p0:p1 - ph.p0, b0 - ph.byte:b1 - ph.byte] = \
                    src[p0 - o.p0:p1 - o.p0, b0 - o.byte:b1 - o.byte]
        ph.synced = self.clock
