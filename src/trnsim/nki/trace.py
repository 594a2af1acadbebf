"""KernelTrace: the record of every instruction an NKI kernel executed.

Produced by the NKI layer (functional or timing-only runs give the same trace) and consumed by the
NeuronCore timing model (:mod:`trnsim.neuroncore`). Operands are access patterns over addressed
memory, so dependencies (RAW, WAR, WAW) follow from overlapping regions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod
from typing import Any, Literal

Space = Literal["hbm", "shared_hbm", "private_hbm", "sbuf", "psum"]
Engine = Literal["tensor", "vector", "scalar", "gpsimd", "sync", "dma"]
ON_CHIP: frozenset[str] = frozenset({"sbuf", "psum"})


@dataclass(slots=True, frozen=True)
class Buffer:
    """One allocation. On-chip: ``partitions`` x ``bytes_per_partition`` at (partition_offset, address).
    HBM: ``partitions`` is 1 and ``bytes_per_partition`` is the whole size at byte ``address``."""

    id: int
    name: str
    space: Space
    dtype: str
    shape: tuple[int, ...]
    partitions: int
    bytes_per_partition: int
    partition_offset: int = 0
    address: int = 0


@dataclass(slots=True, frozen=True)
class Access:
    """An operand: a strided access pattern over a buffer.

    ``pattern`` lists ``(step, count)`` pairs in elements for the free dims (outermost first),
    starting at element ``offset`` within each partition (flat element offset for HBM).
    ``partition_start``/``partitions`` give the partition range (HBM: the outermost dim is folded
    into ``pattern`` and ``partitions`` is 1, unless the access was split by partition for DMA).
    """

    buffer: int
    space: Space
    dtype: str
    elem_bytes: int
    partition_start: int
    partitions: int
    offset: int
    pattern: tuple[tuple[int, int], ...]
    base_address: int = 0  # byte address of the buffer (within partition for on-chip)

    @property
    def elements_per_partition(self) -> int:
        return prod(c for _, c in self.pattern) if self.pattern else 1

    @property
    def elements(self) -> int:
        return self.partitions * self.elements_per_partition

    @property
    def bytes(self) -> int:
        return self.elements * self.elem_bytes

    @property
    def contiguous(self) -> bool:
        """Innermost dim has unit stride."""
        return not self.pattern or self.pattern[-1][0] == 1 or self.pattern[-1][1] == 1

    def byte_range(self) -> tuple[int, int]:
        """Conservative [lo, hi) byte addresses touched within a partition (flat for HBM)."""
        lo = hi = self.offset
        for step, count in self.pattern:
            span = step * (count - 1)
            if span >= 0:
                hi += span
            else:
                lo += span
        return (self.base_address + lo * self.elem_bytes, self.base_address + (hi + 1) * self.elem_bytes)

    def overlaps(self, other: "Access") -> bool:
        """True if both may touch the same bytes (same memory space, partitions and byte range overlap)."""
        if _space_group(self.space) != _space_group(other.space):
            return False
        if self.space in ON_CHIP:
            if self.partition_start >= other.partition_start + other.partitions:
                return False
            if other.partition_start >= self.partition_start + self.partitions:
                return False
        a0, a1 = self.byte_range()
        b0, b1 = other.byte_range()
        return a0 < b1 and b0 < a1


def _space_group(space: str) -> str:
    return "hbm" if space.endswith("hbm") else space


@dataclass(slots=True)
class Instruction:
    """One executed instruction (``engine`` runs it; ``dma`` instructions run on the DMA queues)."""

    index: int
    engine: Engine
    opcode: str
    inputs: tuple[Access, ...]
    outputs: tuple[Access, ...]
    attrs: dict[str, Any] = field(default_factory=dict)
    source: tuple[str, int] | None = None  # (file, line) in the kernel


@dataclass(slots=True)
class AllocEvent:
    """SBUF/PSUM allocation (+) or release (-) after instruction ``at`` (count of instructions so far)."""

    at: int
    buffer: int
    delta: int  # +1 allocate, -1 free
    source: tuple[str, int] | None = None


@dataclass
class KernelTrace:
    """Everything a kernel run did, in program order."""

    target: str  # "trn1" | "trn2" | "trn3"
    nc_version: int  # 2, 3, 4
    kernel: str = ""
    buffers: dict[int, Buffer] = field(default_factory=dict)
    instructions: list[Instruction] = field(default_factory=list)
    alloc_events: list[AllocEvent] = field(default_factory=list)
    timing_only: bool = False

    def add_buffer(self, buf: Buffer) -> None:
        self.buffers[buf.id] = buf

    def append(self, instr: Instruction) -> None:
        self.instructions.append(instr)

    def counts(self) -> dict[str, int]:
        """Instructions per opcode."""
        out: dict[str, int] = {}
        for ins in self.instructions:
            out[ins.opcode] = out.get(ins.opcode, 0) + 1
        return out
