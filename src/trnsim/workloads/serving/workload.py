"""Request streams: arrival processes, length distributions, shared-prefix groups, trace files.

A :class:`Workload` is a recipe (seeded, reproducible); :meth:`Workload.requests` turns it into a list of
:class:`Request` objects sorted by arrival time. Arrival processes:

* ``poisson``  — exponential inter-arrival times at ``qps``;
* ``gamma``    — gamma inter-arrival times with mean ``1/qps`` and coefficient of variation ``cv``
  (``cv > 1`` is bursty, ``cv = 1`` is Poisson, ``cv < 1`` smoother);
* ``concurrency`` — closed loop: ``concurrency`` users, each sends its next request when the previous
  one finishes (arrival times are decided during the simulation);
* ``offline``  — every request queued at t = 0 (the "max throughput" benchmarks);
* a trace file (CSV or JSONL) with an arrival time and input/output lengths per request.

Length distributions: ``fixed``, ``uniform`` (lo..hi), ``lognormal`` (mean, cv) or ``file`` (sample
lengths from a one-column text file). Shared prefixes: ``prefix_groups`` groups, each with a
``prefix_len``-token common system prompt; a request belongs to group ``g`` with probability
``prefix_share`` (uniform over groups) and its first ``prefix_len`` tokens are that group's prefix.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Sequence

import numpy as np

from trnsim.errors import TrnsimError


class Request:
    """One request and, after simulation, its timeline (seconds)."""

    __slots__ = (
        "id", "arrival", "isl", "osl", "prefix_group", "prefix_len", "user",
        # simulation state
        "replica", "prefilled", "generated", "cached", "first_token", "finish", "scheduled",
        "preemptions", "join_iter", "ctx_at_join", "blocks", "prefill_done_at", "decode_replica",
        "_in_prefill", "prefill_tokens_computed",
    )

    def __init__(self, id: int, arrival: float, isl: int, osl: int, prefix_group: int = -1,
                 prefix_len: int = 0, user: int = -1) -> None:
        self.id = id
        self.arrival = arrival
        self.isl = isl
        self.osl = osl
        self.prefix_group = prefix_group
        self.prefix_len = prefix_len
        self.user = user
        self.reset()

    def reset(self) -> None:
        self.replica = -1
        self.prefilled = 0  # prompt(+recompute) tokens whose KV is in the cache
        self.generated = 0  # output tokens produced
        self.cached = 0  # prompt tokens served from the prefix cache (last admission)
        self.first_token = math.nan
        self.finish = math.nan
        self.scheduled = math.nan  # first time any of its tokens were computed
        self.preemptions = 0
        self.join_iter = 0
        self.ctx_at_join = 0
        self.blocks = 0
        self.prefill_done_at = math.nan
        self.decode_replica = -1
        self._in_prefill = False
        self.prefill_tokens_computed = 0

    @property
    def ttft(self) -> float:
        return self.first_token - self.arrival

    @property
    def e2e(self) -> float:
        return self.finish - self.arrival

    @property
    def tpot(self) -> float:
        return (self.finish - self.first_token) / (self.osl - 1) if self.osl > 1 else math.nan

    @property
    def queue_delay(self) -> float:
        return self.scheduled - self.arrival

    def __repr__(self) -> str:
        return f"Request(id={self.id}, t={self.arrival:.4g}, isl={self.isl}, osl={self.osl})"


Dist = Literal["fixed", "uniform", "lognormal", "file"]


@dataclass(frozen=True)
class LengthDist:
    """Token-length distribution. ``fixed``: ``mean``; ``uniform``: ``lo``..``hi``; ``lognormal``: ``mean``
    and ``cv`` (clipped to ``lo``..``hi``); ``file``: sampled from ``values`` (read from a file)."""

    kind: Dist = "fixed"
    mean: float = 128
    lo: int = 1
    hi: int = 1 << 20
    cv: float = 0.5
    values: tuple[int, ...] = ()

    @classmethod
    def fixed(cls, n: int) -> "LengthDist":
        return cls("fixed", mean=n)

    @classmethod
    def parse(cls, text: str | int) -> "LengthDist":
        """``"1024"``, ``"uniform:128:2048"``, ``"lognormal:1000:0.8"`` or ``"file:lengths.txt"``."""
        if isinstance(text, int):
            return cls.fixed(text)
        t = str(text).strip()
        try:
            if t.startswith("uniform:"):
                _, lo, hi = t.split(":")
                return cls("uniform", mean=(int(lo) + int(hi)) / 2, lo=int(lo), hi=int(hi))
            if t.startswith("lognormal:"):
                parts = t.split(":")
                return cls("lognormal", mean=float(parts[1]), cv=float(parts[2]) if len(parts) > 2 else 0.5)
            if t.startswith("file:"):
                return cls.from_file(t[5:])
            return cls.fixed(int(float(t)))
        except (ValueError, IndexError):
            raise TrnsimError(
                f"length {t!r} not understood",
                "use N, uniform:LO:HI, lognormal:MEAN[:CV] or file:PATH",
            ) from None

    @classmethod
    def from_file(cls, path: str | Path) -> "LengthDist":
        p = Path(path)
        try:
            text = p.read_text()
        except OSError as e:
            raise TrnsimError(f"{p}: cannot read length file ({e.strerror})", "check the path") from None
        vals = []
        for i, line in enumerate(text.splitlines(), 1):
            s = line.strip().split(",")[0].strip()
            if not s or s.startswith("#"):
                continue
            try:
                v = int(float(s))
            except ValueError:
                raise TrnsimError(f"{p}:{i}: length {s!r} is not a number", "one integer per line") from None
            if v < 1:
                raise TrnsimError(f"{p}:{i}: length {v} must be >= 1")
            vals.append(v)
        if not vals:
            raise TrnsimError(f"{p}: no lengths found", "one integer per line")
        return cls("file", mean=float(np.mean(vals)), values=tuple(vals))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.kind == "fixed":
            return np.full(n, max(1, int(round(self.mean))), dtype=np.int64)
        if self.kind == "uniform":
            return rng.integers(self.lo, self.hi + 1, size=n)
        if self.kind == "lognormal":
            sigma2 = math.log(1 + self.cv**2)
            mu = math.log(self.mean) - sigma2 / 2
            x = rng.lognormal(mu, math.sqrt(sigma2), size=n)
            return np.clip(np.rint(x), max(1, self.lo), self.hi).astype(np.int64)
        if self.kind == "file":
            return np.asarray(self.values, dtype=np.int64)[rng.integers(0, len(self.values), size=n)]
        raise TrnsimError(f"unknown length distribution {self.kind!r}")


Arrival = Literal["poisson", "gamma", "concurrency", "offline", "trace"]


@dataclass(frozen=True)
class Workload:
    """A reproducible request stream (see module docstring)."""

    arrival: Arrival = "poisson"
    qps: float = 1.0
    cv: float = 1.0  # gamma arrivals
    concurrency: int = 0  # closed loop users
    num_requests: int = 1000
    isl: LengthDist = field(default_factory=lambda: LengthDist.fixed(1024))
    osl: LengthDist = field(default_factory=lambda: LengthDist.fixed(128))
    prefix_groups: int = 0
    prefix_len: int = 0
    prefix_share: float = 1.0
    seed: int = 0
    trace: tuple[tuple[float, int, int, int, int], ...] = ()  # (arrival, isl, osl, group, prefix_len)
    name: str = ""

    def __post_init__(self) -> None:
        if self.arrival in ("poisson", "gamma") and not self.qps > 0:
            raise TrnsimError(f"qps must be > 0 for {self.arrival} arrivals, got {self.qps}")
        if self.arrival == "gamma" and not self.cv > 0:
            raise TrnsimError(f"cv must be > 0 for gamma arrivals, got {self.cv}")
        if self.arrival == "concurrency" and self.concurrency < 1:
            raise TrnsimError(f"concurrency must be >= 1, got {self.concurrency}")
        if self.num_requests < 1 and self.arrival != "trace":
            raise TrnsimError(f"num_requests must be >= 1, got {self.num_requests}")

    # -------------------------------------------------------------- constructors
    @classmethod
    def poisson(cls, qps: float, isl: int | str | LengthDist = 1024, osl: int | str | LengthDist = 128,
                num_requests: int = 1000, seed: int = 0, **kw) -> "Workload":
        return cls("poisson", qps=qps, isl=_ld(isl), osl=_ld(osl), num_requests=num_requests, seed=seed, **kw)

    @classmethod
    def gamma(cls, qps: float, cv: float, isl=1024, osl=128, num_requests: int = 1000, seed: int = 0,
              **kw) -> "Workload":
        return cls("gamma", qps=qps, cv=cv, isl=_ld(isl), osl=_ld(osl), num_requests=num_requests, seed=seed, **kw)

    @classmethod
    def closed_loop(cls, concurrency: int, isl=1024, osl=128, num_requests: int = 1000, seed: int = 0,
                    **kw) -> "Workload":
        return cls("concurrency", concurrency=concurrency, isl=_ld(isl), osl=_ld(osl),
                   num_requests=num_requests, seed=seed, **kw)

    @classmethod
    def offline(cls, isl=1024, osl=128, num_requests: int = 1000, seed: int = 0, **kw) -> "Workload":
        return cls("offline", isl=_ld(isl), osl=_ld(osl), num_requests=num_requests, seed=seed, **kw)

    @classmethod
    def from_trace(cls, path: str | Path, num_requests: int | None = None) -> "Workload":
        rows = read_trace(path)
        if num_requests:
            rows = rows[:num_requests]
        return cls("trace", num_requests=len(rows), trace=tuple(rows), name=str(path))

    # -------------------------------------------------------------- generation
    def requests(self) -> list[Request]:
        """The request list, sorted by arrival (closed-loop requests get arrival = nan, set by the engine)."""
        if self.arrival == "trace":
            return [Request(i, a, isl, osl, g, pl) for i, (a, isl, osl, g, pl) in enumerate(self.trace)]
        rng = np.random.default_rng(self.seed)
        n = self.num_requests
        if self.arrival == "poisson":
            gaps = rng.exponential(1.0 / self.qps, size=n)
            t = np.cumsum(gaps) - gaps[0]
        elif self.arrival == "gamma":
            shape = 1.0 / self.cv**2
            gaps = rng.gamma(shape, 1.0 / (self.qps * shape), size=n)
            t = np.cumsum(gaps) - gaps[0]
        elif self.arrival == "offline":
            t = np.zeros(n)
        else:  # concurrency: decided by the engine
            t = np.full(n, math.nan)
        isl = self.isl.sample(rng, n)
        osl = self.osl.sample(rng, n)
        groups = np.full(n, -1, dtype=np.int64)
        if self.prefix_groups > 0 and self.prefix_len > 0:
            member = rng.random(n) < self.prefix_share
            groups = np.where(member, rng.integers(0, self.prefix_groups, size=n), -1)
        out = []
        for i in range(n):
            g = int(groups[i])
            pl = self.prefix_len if g >= 0 else 0
            il = int(isl[i]) + pl if g >= 0 else int(isl[i])  # isl = unique part; the prefix comes on top
            out.append(Request(i, float(t[i]), il, int(osl[i]), g, pl,
                               user=(i % self.concurrency) if self.arrival == "concurrency" else -1))
        return out

    def describe(self) -> str:
        if self.arrival == "trace":
            return f"trace {self.name} ({self.num_requests} requests)"
        load = {"poisson": f"Poisson {self.qps:g} req/s", "gamma": f"gamma {self.qps:g} req/s cv={self.cv:g}",
                "concurrency": f"{self.concurrency} concurrent users", "offline": "offline (all at t=0)"}
        s = f"{load[self.arrival]}, {self.num_requests} requests, isl {_ds(self.isl)}, osl {_ds(self.osl)}"
        if self.prefix_groups:
            s += f", {self.prefix_groups} prefix groups x {self.prefix_len} tokens"
        return s


def _ds(d: LengthDist) -> str:
    if d.kind == "fixed":
        return f"{int(d.mean)}"
    if d.kind == "uniform":
        return f"U[{d.lo},{d.hi}]"
    if d.kind == "lognormal":
        return f"LN(mean {d.mean:g}, cv {d.cv:g})"
    return f"file(mean {d.mean:.0f})"


def _ld(x: int | str | LengthDist) -> LengthDist:
    return x if isinstance(x, LengthDist) else LengthDist.parse(x)


# ---------------------------------------------------------------------------- trace files
_ARRIVAL_KEYS = ("arrival", "arrival_time", "timestamp", "time", "t")
_ISL_KEYS = ("isl", "input_len", "input_length", "input_tokens", "prompt_tokens", "num_prefill_tokens")
_OSL_KEYS = ("osl", "output_len", "output_length", "output_tokens", "completion_tokens", "num_decode_tokens")


def _pick(d: dict, keys: Sequence[str]):
    for k in keys:
        if k in d and d[k] not in (None, ""):
            return d[k]
    return None


def read_trace(path: str | Path) -> list[tuple[float, int, int, int, int]]:
    """Parse a CSV (header row) or JSONL trace: arrival time (s), input and output lengths, optionally
    ``prefix_group`` and ``prefix_len``. Errors are one-line :class:`TrnsimError` naming the line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TrnsimError(f"{p}: trace file not found", "check the path") from None
    except (OSError, UnicodeDecodeError):
        raise TrnsimError(f"{p}: cannot read trace file as UTF-8 text", "pass a CSV or JSONL file") from None
    records: list[tuple[int, dict]] = []
    if p.suffix.lower() in (".jsonl", ".json", ".ndjson") or text.lstrip().startswith("{"):
        for i, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError as e:
                raise TrnsimError(f"{p}:{i}: invalid JSON ({e.msg})", "one JSON object per line") from None
            if not isinstance(d, dict):
                raise TrnsimError(f"{p}:{i}: expected a JSON object", "one JSON object per line")
            records.append((i, d))
    else:
        reader = csv.DictReader(io.StringIO(text))
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        reader.fieldnames = header
        for keys, what in ((_ARRIVAL_KEYS, "arrival time"), (_ISL_KEYS, "input length"), (_OSL_KEYS, "output length")):
            if not any(k in header for k in keys):
                raise TrnsimError(f"{p}: no {what} column (header: {', '.join(header) or 'empty'})",
                                  f"name it one of {', '.join(keys)}")
        for i, d in enumerate(reader, 2):
            if not any((v or "").strip() for v in d.values() if isinstance(v, str)):
                continue
            records.append((i, d))
    out = []
    last = -math.inf
    for i, d in records:
        a, il, ol = _pick(d, _ARRIVAL_KEYS), _pick(d, _ISL_KEYS), _pick(d, _OSL_KEYS)
        for v, what, keys in ((a, "arrival time", _ARRIVAL_KEYS), (il, "input length", _ISL_KEYS),
                              (ol, "output length", _OSL_KEYS)):
            if v is None:
                raise TrnsimError(f"{p}:{i}: missing {what}", f"give one of {', '.join(keys)}")
        try:
            at, isl, osl = float(a), int(float(il)), int(float(ol))
            g = int(float(d.get("prefix_group", -1) if d.get("prefix_group") not in (None, "") else -1))
            pl = int(float(d.get("prefix_len", 0) if d.get("prefix_len") not in (None, "") else 0))
        except (TypeError, ValueError):
            raise TrnsimError(f"{p}:{i}: arrival/lengths must be numbers, got {a!r}, {il!r}, {ol!r}") from None
        if not math.isfinite(at) or at < 0:
            raise TrnsimError(f"{p}:{i}: arrival time {a!r} must be a finite number >= 0")
        if isl < 1 or osl < 1:
            raise TrnsimError(f"{p}:{i}: input and output lengths must be >= 1, got {isl} and {osl}")
        if pl > isl:
            raise TrnsimError(f"{p}:{i}: prefix_len {pl} exceeds the input length {isl}")
        if at < last:
            raise TrnsimError(f"{p}:{i}: arrival times must not decrease ({at} after {last})", "sort the trace")
        last = at
        out.append((at, isl, osl, g if pl > 0 else -1, pl if g >= 0 else 0))
    if not out:
        raise TrnsimError(f"{p}: trace has no requests")
    return out
