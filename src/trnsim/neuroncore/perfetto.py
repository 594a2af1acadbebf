"""Chrome/Perfetto trace JSON: one track per engine and per DMA queue (opens in ui.perfetto.dev)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from trnsim.errors import TrnsimError
from trnsim.files import atomic_write

if TYPE_CHECKING:  # pragma: no cover
    from trnsim.neuroncore.profile import KernelProfile

_ORDER = {"tensor": 0, "vector": 1, "scalar": 2, "gpsimd": 3, "sync": 4}


def events(profile: "KernelProfile", pid: int = 1) -> list[dict]:
    """Trace events (``ph: X`` complete events, microseconds) plus track-name metadata."""
    tracks = sorted({e.track for e in profile.events}, key=lambda t: (_ORDER.get(t, 10), t))
    tid = {t: i + 1 for i, t in enumerate(tracks)}
    out: list[dict] = [{"ph": "M", "pid": pid, "name": "process_name",
                        "args": {"name": f"{profile.kernel or 'kernel'} on {profile.core} ({profile.target})"}}]
    for t, i in tid.items():
        out.append({"ph": "M", "pid": pid, "tid": i, "name": "thread_name", "args": {"name": t}})
        out.append({"ph": "M", "pid": pid, "tid": i, "name": "thread_sort_index", "args": {"sort_index": i}})
    last_end: dict[str, float] = {}
    instrs = profile.trace.instructions if profile.trace is not None else None
    for e in profile.events:
        start = max(e.start, last_end.get(e.track, 0.0))  # DMA transfers of one queue may overlap slightly
        end = max(e.end, start)
        last_end[e.track] = end
        args = {"index": e.index}
        if e.source:
            args["source"] = f"{e.source[0]}:{e.source[1]}"
        if instrs is not None and e.index < len(instrs):
            ins = instrs[e.index]
            args.update({k: v for k, v in ins.attrs.items() if isinstance(v, (int, float, str)) and v is not None})
            args["operands"] = " ".join(f"{a.space}[{a.partitions}x{a.elements_per_partition}]{a.dtype}"
                                        for a in ins.inputs) + " -> " + " ".join(
                f"{a.space}[{a.partitions}x{a.elements_per_partition}]{a.dtype}" for a in ins.outputs)
        out.append({"ph": "X", "pid": pid, "tid": tid[e.track], "name": e.name,
                    "ts": start * 1e6, "dur": (end - start) * 1e6, "args": args})
    return out


def write(profile: "KernelProfile | list[KernelProfile]", path: Path) -> Path:
    """Write one profile (or several, one Perfetto process each) to ``path``."""
    profs = profile if isinstance(profile, list) else [profile]
    evs: list[dict] = []
    for i, p in enumerate(profs):
        evs.extend(events(p, pid=i + 1))
    other = profs[0].summary() if len(profs) == 1 else {"kernels": [p.summary() for p in profs]}
    try:
        atomic_write(path, json.dumps({"traceEvents": evs, "displayTimeUnit": "ns", "otherData": other}, default=str))
    except OSError as e:
        raise TrnsimError(f"cannot write Perfetto trace {path}: {e.strerror}", "check the path") from None
    return path
