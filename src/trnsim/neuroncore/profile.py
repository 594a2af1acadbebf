"""KernelProfile: what a kernel developer reads off the hardware profiler, from a simulated schedule."""

from __future__ import annotations

import json as _json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from trnsim.neuroncore.engine import RawSchedule
from trnsim.neuroncore.memory import MemoryPeak
from trnsim.neuroncore.params import CoreParams
from trnsim.nki.trace import KernelTrace


@dataclass(slots=True)
class TimelineEvent:
    """One executed instruction on its track (engine or ``dma:<queue>``), times in seconds."""

    index: int
    track: str
    name: str
    start: float
    end: float
    source: tuple[str, int] | None = None

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Contributor:
    """Time the critical path spends in one (track, instruction, source line)."""

    track: str
    name: str
    source: str
    time: float
    count: int


@dataclass
class DmaStats:
    transfers: int = 0
    bytes: float = 0.0
    small_transfers: int = 0
    engine_busy_pct: list[float] = field(default_factory=list)
    queues: dict[str, dict[str, float]] = field(default_factory=dict)
    achieved_bandwidth: float = 0.0     # bytes/s over the kernel
    peak_bandwidth: float = 0.0         # engines x effective per-engine rate

    @property
    def mean_transfer_bytes(self) -> float:
        return self.bytes / self.transfers if self.transfers else 0.0


@dataclass
class KernelProfile:
    """Timing of one kernel run on one NeuronCore."""

    kernel: str
    target: str
    core: str
    total_time: float
    instructions: int
    engine_busy: dict[str, float]             # seconds per engine
    flops: float                              # TensorE FLOPs including transposes (hardware)
    model_flops: float                        # TensorE FLOPs without transposes
    hfu: float
    mfu: float
    peak_flops: float                         # bf16 TensorE peak of the core
    bytes: dict[str, dict[str, float]]        # level -> {"read", "write"}
    mbu: float
    memory_bandwidth: float                   # bytes/s the MBU is measured against
    dma: DmaStats
    critical_path: list[Contributor]
    critical_path_time: float
    memory: dict[str, MemoryPeak]
    events: list[TimelineEvent] = field(repr=False, default_factory=list)
    warnings: list[str] = field(default_factory=list)
    trace: KernelTrace | None = field(repr=False, default=None)

    @property
    def busy_pct(self) -> dict[str, float]:
        t = self.total_time or 1.0
        return {e: 100.0 * b / t for e, b in self.engine_busy.items()}

    @property
    def achieved_flops(self) -> float:
        return self.flops / self.total_time if self.total_time else 0.0

    def summary(self) -> dict[str, Any]:
        """A JSON-ready dict (no per-instruction events)."""
        return {
            "kernel": self.kernel, "target": self.target, "core": self.core,
            "total_time_s": self.total_time, "instructions": self.instructions,
            "engine_busy_pct": self.busy_pct, "achieved_flops": self.achieved_flops,
            "hfu": self.hfu, "mfu": self.mfu, "peak_flops_bf16": self.peak_flops,
            "bytes": self.bytes, "mbu": self.mbu, "memory_bandwidth": self.memory_bandwidth,
            "dma": {**asdict(self.dma), "mean_transfer_bytes": self.dma.mean_transfer_bytes},
            "critical_path_s": self.critical_path_time,
            "critical_path_top": [asdict(c) for c in self.critical_path],
            "memory": {k: {**asdict(v), "over": v.over} for k, v in self.memory.items()},
            "warnings": list(self.warnings),
        }

    def to_json(self) -> str:
        return _json.dumps(self.summary(), indent=2, default=str)

    def to_perfetto(self, path: str | Path) -> Path:
        from trnsim.neuroncore.perfetto import write

        return write(self, Path(path))


_BASENAME: dict[str, str] = {}


def _src(s: tuple[str, int] | None) -> str:
    if not s:
        return "?"
    name = _BASENAME.get(s[0])
    if name is None:
        name = _BASENAME[s[0]] = Path(s[0]).name
    return f"{name}:{s[1]}"


def critical_path(trace: KernelTrace, raw: RawSchedule, top: int = 10) -> tuple[float, list[Contributor]]:
    """Walk back from the last instruction to finish along the instruction that delayed each start."""
    if not raw.end:
        return 0.0, []
    i = max(range(len(raw.end)), key=raw.end.__getitem__)
    agg: dict[tuple[str, str, str], list[float]] = {}
    total = raw.end[i]
    seen = 0
    while i >= 0 and seen < len(raw.end):
        ins = trace.instructions[i]
        key = (raw.track[i], ins.opcode, _src(ins.source))
        a = agg.setdefault(key, [0.0, 0])
        a[0] += raw.end[i] - raw.start[i]
        a[1] += 1
        j = raw.pred[i]
        if j >= i:
            break
        before = raw.end[j] if j >= 0 else 0.0
        if raw.start[i] > before:  # semaphore / DMA issue latency not hidden by other work
            w = agg.setdefault((raw.track[i], "wait (latency)", _src(ins.source)), [0.0, 0])
            w[0] += raw.start[i] - before
            w[1] += 1
        i = j
        seen += 1
    items = sorted((Contributor(k[0], k[1], k[2], v[0], int(v[1])) for k, v in agg.items()),
                   key=lambda c: -c.time)
    return total, items[:top]


def build(trace: KernelTrace, p: CoreParams, raw: RawSchedule, mem: dict[str, MemoryPeak]) -> KernelProfile:
    total = max(raw.end) if raw.end else 0.0
    flops = sum(raw.flops)
    model = sum(f for f, t in zip(raw.flops, raw.transpose) if not t)
    hfu = sum(f / k for f, k in zip(raw.flops, raw.peak)) / total if total else 0.0
    mfu = sum(f / k for f, k, t in zip(raw.flops, raw.peak, raw.transpose) if not t) / total if total else 0.0
    dma = raw.dma
    dma_peak = p.dma_engine_bw * p.dma_engines
    membw = min(dma_peak, p.hbm_bandwidth)
    hbm = raw.bytes["hbm"]
    busy = dict(raw.engine_busy)
    busy["dma"] = max(dma.busy()) if dma.busy() else 0.0
    stats = DmaStats(
        transfers=dma.transfers, bytes=dma.bytes, small_transfers=dma.small,
        engine_busy_pct=[100.0 * b / total if total else 0.0 for b in dma.busy()],
        queues={q: dict(v) for q, v in dma.queues.items()},
        achieved_bandwidth=dma.bytes / total if total else 0.0, peak_bandwidth=dma_peak,
    )
    cp_time, cp = critical_path(trace, raw)
    events = [TimelineEvent(i, raw.track[i], ins.opcode, raw.start[i], raw.end[i], ins.source)
              for i, ins in enumerate(trace.instructions)]
    warnings = [m.warning() for m in mem.values() if m.over]
    if dma.small:
        warnings.append(f"{dma.small} of {dma.transfers} DMA transfers move < 2 KiB per partition "
                        "(below the recommended minimum payload; DMA is overhead-bound under 256 B)")
    return KernelProfile(
        kernel=trace.kernel, target=trace.target, core=p.name, total_time=total,
        instructions=len(trace.instructions), engine_busy=busy, flops=flops, model_flops=model,
        hfu=hfu, mfu=mfu, peak_flops=p.peak_flops.get("bf16", 0.0),
        bytes={k: {"read": v[0], "write": v[1]} for k, v in raw.bytes.items()},
        mbu=(hbm[0] + hbm[1]) / total / membw if total and membw else 0.0, memory_bandwidth=membw,
        dma=stats, critical_path=cp, critical_path_time=cp_time, memory=mem, events=events,
        warnings=warnings, trace=trace,
    )
