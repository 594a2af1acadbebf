"""ServingResult: throughput, latency percentiles, KV utilisation and goodput of one simulated run."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trnsim.errors import TrnsimError
from trnsim.files import atomic_write


@dataclass(frozen=True)
class SLO:
    """Latency objectives (seconds); a request meets the SLO when it meets every one given."""

    ttft: float | None = None
    tpot: float | None = None
    e2e: float | None = None

    def describe(self) -> str:
        parts = [f"{k}<={v * 1e3:g}ms" for k, v in (("TTFT", self.ttft), ("TPOT", self.tpot), ("E2E", self.e2e))
                 if v is not None]
        return ", ".join(parts) or "none"


def _stats(x: np.ndarray) -> dict[str, float]:
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"mean": math.nan, "p50": math.nan, "p90": math.nan, "p99": math.nan, "max": math.nan}
    p50, p90, p99 = np.percentile(x, [50, 90, 99])
    return {"mean": float(x.mean()), "p50": float(p50), "p90": float(p90), "p99": float(p99), "max": float(x.max())}


@dataclass
class ServingResult:
    """Plain result object. Times in seconds; throughputs per second over the run's makespan
    (first arrival to last completion)."""

    model: str
    system: str
    deployment: str
    workload: str
    chips: float
    num_requests: int
    completed: int
    duration: float
    requests_per_s: float
    input_tokens_per_s: float
    output_tokens_per_s: float
    ttft: dict[str, float]
    tpot: dict[str, float]
    itl: dict[str, float]
    e2e: dict[str, float]
    queue: dict[str, float]
    kv_utilisation: dict[str, float]
    kv_series: list[tuple[float, float]]
    slo: SLO
    goodput_requests_per_s: float
    slo_attainment: float
    preemptions: int
    prefill_tokens: int
    cached_prompt_tokens: int
    iterations: int
    events: int
    kv_transfer_s: float
    memory: dict[str, Any]
    wall_seconds: float
    method: str = "event"
    per_request: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    batches: list[tuple] | None = field(default=None, repr=False)

    @property
    def total_tokens_per_s(self) -> float:
        return self.input_tokens_per_s + self.output_tokens_per_s

    @property
    def output_tokens_per_s_per_chip(self) -> float:
        return self.output_tokens_per_s / self.chips if self.chips else math.nan

    @property
    def requests_per_wall_s(self) -> float:
        return self.num_requests / self.wall_seconds if self.wall_seconds > 0 else math.inf

    def goodput(self, slo: SLO) -> tuple[float, float]:
        """(requests/s meeting ``slo``, fraction meeting it) for another SLO, from the per-request data."""
        pr = self.per_request
        ok = np.isfinite(pr["e2e"])
        for key, lim in (("ttft", slo.ttft), ("tpot", slo.tpot), ("e2e", slo.e2e)):
            if lim is not None:
                v = pr[key]
                ok &= ~(v > lim)  # nan TPOT (osl=1) passes
        n = int(ok.sum())
        return (n / self.duration if self.duration > 0 else 0.0), (n / len(ok) if len(ok) else 0.0)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe dict (NaN -> None)."""
        return _clean(self._dict())

    def _dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "system": self.system, "deployment": self.deployment, "workload": self.workload,
            "method": self.method, "chips": self.chips, "num_requests": self.num_requests,
            "completed": self.completed, "duration_s": self.duration,
            "throughput": {
                "requests_per_s": self.requests_per_s, "input_tokens_per_s": self.input_tokens_per_s,
                "output_tokens_per_s": self.output_tokens_per_s, "total_tokens_per_s": self.total_tokens_per_s,
                "output_tokens_per_s_per_chip": self.output_tokens_per_s_per_chip,
                "requests_per_s_per_chip": self.requests_per_s / self.chips if self.chips else math.nan,
            },
            "ttft_s": self.ttft, "tpot_s": self.tpot, "itl_s": self.itl, "e2e_s": self.e2e,
            "queue_s": self.queue, "kv_utilisation": self.kv_utilisation,
            "slo": {"ttft_s": self.slo.ttft, "tpot_s": self.slo.tpot, "e2e_s": self.slo.e2e},
            "goodput_requests_per_s": self.goodput_requests_per_s, "slo_attainment": self.slo_attainment,
            "preemptions": self.preemptions, "prefill_tokens": self.prefill_tokens,
            "cached_prompt_tokens": self.cached_prompt_tokens, "iterations": self.iterations,
            "events": self.events, "kv_transfer_s": self.kv_transfer_s, "memory": self.memory,
            "wall_seconds": self.wall_seconds,
            "kv_series": [[t, u] for t, u in self.kv_series],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=_nan_safe)

    def summary_rows(self) -> list[tuple[str, str]]:
        ms = lambda d, k: f"{d[k] * 1e3:,.1f}"  # noqa: E731
        rows = [
            ("requests completed", f"{self.completed}/{self.num_requests} in {self.duration:,.2f} s simulated"),
            ("throughput", f"{self.requests_per_s:,.3f} req/s, {self.input_tokens_per_s:,.0f} in tok/s, "
                           f"{self.output_tokens_per_s:,.0f} out tok/s"),
            ("per chip", f"{self.output_tokens_per_s_per_chip:,.1f} out tok/s/chip ({self.chips:g} chips)"),
        ]
        for name, d in (("TTFT ms", self.ttft), ("TPOT ms", self.tpot), ("ITL ms", self.itl),
                        ("E2E ms", self.e2e), ("queue ms", self.queue)):
            rows.append((name, f"mean {ms(d, 'mean')}  p50 {ms(d, 'p50')}  p90 {ms(d, 'p90')}  p99 {ms(d, 'p99')}"))
        rows += [
            ("KV utilisation", f"mean {self.kv_utilisation['mean']:.1%}, max {self.kv_utilisation['max']:.1%}"),
            ("goodput", f"{self.goodput_requests_per_s:,.3f} req/s ({self.slo_attainment:.1%} meet {self.slo.describe()})"),
            ("preemptions", f"{self.preemptions}"),
            ("prefill tokens", f"{self.prefill_tokens:,} computed, {self.cached_prompt_tokens:,} from prefix cache"),
            ("simulation", f"{self.iterations:,} iterations in {self.events:,} events, {self.wall_seconds:.2f} s wall"),
        ]
        return rows

    def write(self, path: str | Path) -> None:
        """``.json``: the full result; ``.csv``: one row per request."""
        p = Path(path)
        try:
            if p.suffix.lower() == ".csv":
                atomic_write(p, self.requests_csv())
            else:
                atomic_write(p, self.to_json())
        except OSError as e:
            raise TrnsimError(f"{p}: cannot write ({e.strerror})", "check the directory") from None

    def requests_csv(self) -> str:
        pr = self.per_request
        buf = io.StringIO()
        w = csv.writer(buf)
        keys = ["id", "arrival", "isl", "osl", "ttft", "tpot", "e2e", "queue", "preemptions"]
        w.writerow(["id", "arrival_s", "isl", "osl", "ttft_s", "tpot_s", "e2e_s", "queue_s", "preemptions"])
        for i in range(len(pr.get("id", []))):
            w.writerow([_fmt(pr[k][i]) for k in keys])
        return buf.getvalue()

    def write_perfetto(self, path: str | Path) -> None:
        """Chrome/Perfetto trace: one track per replica, one slice per batch (decode stretches merged)."""
        events: list[dict] = []
        tids: dict[str, int] = {}
        for name, t0, dur, k, n, ptoks, pseqs in self.batches or []:
            tid = tids.setdefault(name, len(tids))
            label = f"prefill {ptoks} tok ({pseqs} seq) + decode {n}" if ptoks else f"decode {n} seq x {k} it"
            events.append({"name": label, "ph": "X", "pid": 0, "tid": tid, "ts": t0 * 1e6, "dur": dur * 1e6,
                           "args": {"iterations": k, "decode_seqs": n, "prefill_tokens": ptoks}})
        for name, tid in tids.items():
            events.append({"name": "thread_name", "ph": "M", "pid": 0, "tid": tid, "args": {"name": name}})
        for t, u in self.kv_series:
            events.append({"name": "KV utilisation", "ph": "C", "pid": 0, "ts": t * 1e6, "args": {"used": u}})
        try:
            atomic_write(path, json.dumps({"traceEvents": events, "displayTimeUnit": "ms"}))
        except OSError as e:
            raise TrnsimError(f"{path}: cannot write ({e.strerror})", "check the directory") from None


def _clean(o: Any) -> Any:
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, (float, np.floating)):
        return float(o) if math.isfinite(o) else None
    if isinstance(o, np.integer):
        return int(o)
    return o


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return "" if not math.isfinite(v) else f"{float(v):.6g}"
    return str(v)


def _nan_safe(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    return str(o)


def latency_stats(x: np.ndarray) -> dict[str, float]:
    return _stats(np.asarray(x, dtype=float))
