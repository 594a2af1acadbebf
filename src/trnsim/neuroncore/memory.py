"""SBUF and PSUM capacity: peak live bytes per partition and PSUM banks from the trace's AllocEvents."""

from __future__ import annotations

from dataclasses import dataclass

from trnsim.neuroncore.params import CoreParams
from trnsim.nki.trace import KernelTrace


@dataclass(frozen=True)
class MemoryPeak:
    space: str
    peak_bytes: float          # per partition, sum of live tiles
    high_water: float          # per partition, highest address + size of a live tile
    capacity: float            # per partition
    at: int                    # instruction count when the peak was reached
    source: tuple[str, int] | None

    @property
    def over(self) -> bool:
        return max(self.peak_bytes, self.high_water) > self.capacity

    def warning(self) -> str:
        where = f"{self.source[0]}:{self.source[1]}" if self.source else f"instruction {self.at}"
        return (f"{self.space.upper()} over capacity: {max(self.peak_bytes, self.high_water):,.0f} B/partition live "
                f"(capacity {self.capacity:,.0f}) at {where}; the compiler would spill")


def peaks(trace: KernelTrace, p: CoreParams) -> dict[str, MemoryPeak]:
    """Peak live SBUF and PSUM usage (per partition) over the kernel."""
    caps = {"sbuf": p.sbuf_bytes_per_partition, "psum": p.psum_banks * p.psum_bank_bytes}
    live: dict[str, dict[int, tuple[float, float]]] = {"sbuf": {}, "psum": {}}
    used = {"sbuf": 0.0, "psum": 0.0}
    best: dict[str, tuple[float, float, int, tuple | None]] = {s: (0.0, 0.0, 0, None) for s in caps}
    src_of = {i: ins.source for i, ins in enumerate(trace.instructions)}
    events = trace.alloc_events
    if not events:  # hand-built traces: every on-chip buffer live for the whole kernel
        from trnsim.nki.trace import AllocEvent
        events = [AllocEvent(0, b.id, +1) for b in trace.buffers.values() if b.space in caps]
    for ev in events:
        buf = trace.buffers.get(ev.buffer)
        if buf is None or buf.space not in caps:
            continue
        s = buf.space
        size = float(buf.bytes_per_partition)
        if ev.delta > 0:
            live[s][buf.id] = (buf.address, size)
            used[s] += size
            hw = max(a + z for a, z in live[s].values())
            if used[s] > best[s][0] or hw > best[s][1]:
                src = ev.source or src_of.get(ev.at)
                best[s] = (max(used[s], best[s][0]), max(hw, best[s][1]), ev.at, src)
        elif buf.id in live[s]:
            used[s] -= live[s].pop(buf.id)[1]
    return {s: MemoryPeak(s, best[s][0], best[s][1], caps[s], best[s][2], best[s][3]) for s in caps}
