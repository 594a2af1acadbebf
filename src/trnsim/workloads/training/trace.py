"""Perfetto (Chrome trace-event JSON) of one training step: one track per pipeline stage and one per
communication stream (TP/CP/EP inline collectives per stage, pipeline send/recv, data-parallel
gradient reduce / parameter gather, optimizer). Open in https://ui.perfetto.dev."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trnsim.errors import TrnsimError

if TYPE_CHECKING:  # pragma: no cover
    from trnsim.workloads.training.step import TrainingResult


def trace_events(result: "TrainingResult") -> list[dict[str, Any]]:
    """Trace events (microseconds) of ``result``; runs the detailed schedule if it has no timeline."""
    tl = result.timeline
    if tl is None:
        from trnsim.parallel.schedule import simulate_pipeline

        st = result.stage_times
        tl = simulate_pipeline([s["fwd_s"] for s in st], [s["bwd_s"] for s in st],
                               result.plan.num_micro_batches, vpp=result.plan.vpp,
                               p2p=result.comm_detail.get("pp_p2p", 0.0))
    plan = result.plan
    us = 1e6
    ev: list[dict[str, Any]] = [{"name": "process_name", "ph": "M", "pid": 0,
                                 "args": {"name": f"{result.model} on {result.chips}x {result.chip} [{plan.label()}]"}}]
    tid_of: dict[str, int] = {}

    def tid(name: str) -> int:
        if name not in tid_of:
            tid_of[name] = len(tid_of) + 1
            ev.append({"name": "thread_name", "ph": "M", "pid": 0, "tid": tid_of[name], "args": {"name": name}})
            ev.append({"name": "thread_sort_index", "ph": "M", "pid": 0, "tid": tid_of[name],
                       "args": {"sort_index": tid_of[name]}})
        return tid_of[name]

    for r in range(plan.pp):
        tid(f"stage {r} compute")
        tid(f"stage {r} tp/cp/ep comm")
    st = result.stage_times
    for op in sorted(tl.ops, key=lambda o: (o.rank, o.start)):
        s = st[op.rank]
        comm = (s["fwd_comm_s"] if op.kind == "F" else s["bwd_comm_s"]) / plan.vpp
        dur = op.end - op.start
        name = f"{op.kind}{op.micro_batch}" + (f".c{op.chunk}" if plan.vpp > 1 else "")
        ev.append({"name": name, "cat": "fwd" if op.kind == "F" else "bwd", "ph": "X", "pid": 0,
                   "tid": tid(f"stage {op.rank} compute"), "ts": op.start * us, "dur": max(0.0, dur - comm) * us,
                   "args": {"micro_batch": op.micro_batch, "chunk": op.chunk}})
        if comm > 0:
            ev.append({"name": f"{name} collectives", "cat": "comm", "ph": "X", "pid": 0,
                       "tid": tid(f"stage {op.rank} tp/cp/ep comm"), "ts": (op.end - comm) * us, "dur": comm * us})
    p2p = result.comm_detail.get("pp_p2p", 0.0)
    if plan.pp > 1 and p2p > 0:
        t = tid("pipeline send/recv")
        for op in tl.ops:
            last = op.chunk * plan.pp + op.rank == plan.pp * plan.vpp - 1
            if (op.kind == "F" and not last) or (op.kind == "B" and op.chunk * plan.pp + op.rank > 0):
                ev.append({"name": f"{op.kind}{op.micro_batch} r{op.rank}", "cat": "p2p", "ph": "X", "pid": 0,
                           "tid": t, "ts": op.end * us, "dur": p2p * us})
    end = tl.total
    for r, s in enumerate(st):
        rend = tl.rank_end[r] if r < len(tl.rank_end) else end
        raw = s["dp_raw_s"]
        if raw > 0:
            ev.append({"name": "grad reduce / param gather", "cat": "dp", "ph": "X", "pid": 0,
                       "tid": tid(f"stage {r} data-parallel comm"), "ts": max(0.0, rend + s["dp_exposed_s"] - raw) * us,
                       "dur": raw * us, "args": {"exposed_s": s["dp_exposed_s"]}})
        ev.append({"name": "optimizer", "cat": "optimizer", "ph": "X", "pid": 0, "tid": tid(f"stage {r} compute"),
                   "ts": max(rend, end) * us + s["dp_exposed_s"] * us, "dur": s["optimizer_s"] * us})
    ov = result.breakdown.overhead
    if ov > 0:
        t_end = max(e["ts"] + e.get("dur", 0.0) for e in ev if e.get("ph") == "X")
        ev.append({"name": "step overhead (host)", "cat": "host", "ph": "X", "pid": 0, "tid": tid("host"),
                   "ts": t_end, "dur": ov * us})
    return ev


def write_trace(result: "TrainingResult", path: str | Path) -> Path:
    """Write the Perfetto/Chrome JSON trace of one step to ``path``."""
    from trnsim.files import atomic_write

    try:
        return atomic_write(path, json.dumps({"traceEvents": trace_events(result), "displayTimeUnit": "ms"}))
    except OSError as e:
        raise TrnsimError(f"cannot write trace {path}: {e.strerror}", "check the path") from None
