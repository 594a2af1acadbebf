"""The event loop: engines as in-order instruction streams, DMA queues, memory dependencies.

An instruction starts when its engine is free and its operands are ready (RAW, WAR, WAW on
overlapping regions). A producer on another engine adds the semaphore latency; a RAW producer on
the same engine adds the dependent-instruction pipeline latency (static overhead + two SBUF access
starts). DMA transfers go through :class:`~trnsim.neuroncore.dma.DmaModel`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trnsim.neuroncore import costs
from trnsim.neuroncore.deps import DepTracker
from trnsim.neuroncore.dma import DmaModel
from trnsim.neuroncore.params import CoreParams
from trnsim.nki.trace import KernelTrace

COMPUTE = ("tensor", "vector", "scalar", "gpsimd", "sync")
DMA_OPS = frozenset({"dma_copy", "dma_transpose", "dma_compute", "load", "store", "load_transpose2d",
                     "sendrecv"})


@dataclass
class RawSchedule:
    """Per-instruction results of one simulation (parallel lists indexed like the trace)."""

    start: list[float] = field(default_factory=list)
    end: list[float] = field(default_factory=list)
    track: list[str] = field(default_factory=list)
    pred: list[int] = field(default_factory=list)
    flops: list[float] = field(default_factory=list)
    peak: list[float] = field(default_factory=list)
    transpose: list[bool] = field(default_factory=list)
    engine_busy: dict[str, float] = field(default_factory=dict)
    dma: DmaModel | None = None
    bytes: dict[str, list[float]] = field(default_factory=dict)  # level -> [read, write]


def is_dma(ins) -> bool:
    return ins.engine == "dma" or ins.opcode in DMA_OPS


# NC-v2 (N12): VectorE and GpSimdE cannot access SBUF at the same time; VectorE and ScalarE cannot
# access PSUM at the same time. NC-v3 lifts both restrictions.
_SHARED = {"sbuf": ("vector", "gpsimd"), "psum": ("vector", "scalar")}
_LEVEL = {"hbm": "hbm", "shared_hbm": "hbm", "private_hbm": "hbm", "sbuf": "sbuf", "psum": "psum"}


def _peak_key(dclass: str) -> str:
    return {"mx": "mxfp8", "int8": "fp8"}.get(dclass, dclass)


def run(trace: KernelTrace, p: CoreParams) -> RawSchedule:
    """Schedule every instruction of ``trace`` on the core described by ``p``."""
    hbm_written = {a.buffer for ins in trace.instructions for a in ins.outputs if a.space.endswith("hbm")}
    deps = DepTracker(hbm_written)
    dma = DmaModel(p)
    sem = p.latencies.get("semaphore", 0.0)
    dep_cycles = p.costs.get("static_overhead", 0.0) + 2 * p.costs.get("sbuf_access_start", 0.0)
    raw_same = {e: dep_cycles / p.clock[e] for e in COMPUTE}
    raw_same["tensor"] = 0.0  # PSUM accumulation chains are pipelined in TensorE (near-memory accumulate)
    free = {e: 0.0 for e in COMPUTE}
    last = {e: -1 for e in COMPUTE}
    busy = {e: 0.0 for e in COMPUTE}
    conflicts = p.version == 2  # N12: Vector/GpSimd share SBUF access, Vector/Scalar share PSUM access
    res_free = {"sbuf": 0.0, "psum": 0.0}
    res_last = {"sbuf": -1, "psum": -1}
    peak_bf16 = p.peak_flops.get("bf16", 1.0)
    last_stationary = None
    out = RawSchedule(dma=dma, bytes={"hbm": [0.0, 0.0], "sbuf": [0.0, 0.0], "psum": [0.0, 0.0]})
    S, E, T, P, F, K, X = out.start, out.end, out.track, out.pred, out.flops, out.peak, out.transpose
    nbytes = out.bytes
    epp: dict[tuple, int] = {}  # elements per partition by access pattern
    for ins in trace.instructions:
        idx = len(S)
        reads, writes = ins.inputs, ins.outputs
        for a in reads:
            n = epp.get(a.pattern)
            if n is None:
                n = epp[a.pattern] = a.elements_per_partition
            nbytes[_LEVEL[a.space]][0] += n * a.partitions * a.elem_bytes
        for a in writes:
            n = epp.get(a.pattern)
            if n is None:
                n = epp[a.pattern] = a.elements_per_partition
            nbytes[_LEVEL[a.space]][1] += n * a.partitions * a.elem_bytes
        flops, peak, transpose = 0.0, peak_bf16, False
        if is_dma(ins):
            rs, ws = deps.spans(reads), deps.spans(writes)
            ready, who = deps.ready(rs, ws, "dma", 0.0, 0.0)
            trig = ins.attrs.get("trigger_engine") or ins.attrs.get("trigger")
            if ins.attrs.get("dge_mode") == "hwdge" and p.dma_hwdge_issue and trig in free:
                ts = max(ready, free[trig])
                free[trig] = ts + p.dma_hwdge_issue
                busy[trig] += p.dma_hwdge_issue
                ready = free[trig]
            start, end, q, blocker = dma.run(ins, ready)
            track, pred = "dma:" + q, (blocker if blocker >= 0 else who)
            deps.record(rs, ws, end, idx, "dma")
        else:
            eng = ins.engine if ins.engine in free else "vector"
            rs, ws = deps.spans(reads), deps.spans(writes)
            ready, who = deps.ready(rs, ws, eng, raw_same[eng], sem)
            pred = who
            start = ready
            if free[eng] > start:
                start, pred = free[eng], last[eng]
            if eng == "tensor":
                st = ins.inputs[0] if ins.inputs else None
                key = (st.buffer, st.offset, st.partition_start, st.pattern) if st is not None else None
                cyc, flops, dclass = costs.matmul_cycles(ins, p, key != last_stationary)
                last_stationary = key
                transpose = bool(ins.attrs.get("is_transpose")) or ins.opcode == "nc_transpose"
                if flops:
                    peak = p.peak_flops.get(_peak_key(dclass), peak_bf16)
            else:
                cyc = costs.engine_cycles(ins, p, eng)
            dur = cyc / p.clock[eng]
            held: tuple[str, ...] = ()
            if conflicts:
                spaces = {a.space for a in reads} | {a.space for a in writes}
                held = tuple(r for r, engs in _SHARED.items() if r in spaces and eng in engs)
                for r in held:
                    if res_free[r] > start:
                        start, pred = res_free[r], res_last[r]
            end = start + dur
            free[eng], last[eng] = end, idx
            for r in held:
                res_free[r], res_last[r] = end, idx
            busy[eng] += dur
            track = eng
            deps.record(rs, ws, end, idx, eng)
        S.append(start)
        E.append(end)
        T.append(track)
        P.append(pred)
        F.append(flops)
        K.append(peak)
        X.append(transpose)
    out.engine_busy = busy
    return out
