"""Pipeline schedules: 1F1B and Megatron's interleaved 1F1B, in closed form and on the event core.

A pipeline of ``pp`` ranks runs ``m`` micro-batches. Rank r needs ``fwd[r]`` and ``bwd[r]`` seconds per
micro-batch for all its layers (with ``vpp`` model chunks each chunk takes 1/vpp of it). Activations
move between ranks in ``p2p`` seconds.

* 1F1B (PipeDream-flush, Megatron's default): Megatron's send/recv is blocking in this schedule, so
  the transfer is part of every step of a rank (``p2p_blocking=True``). Closed form:
  ``T = sum_r X_r + (m - 1) max_r X_r`` with ``X_r = fwd_r + bwd_r (+ 2 p2p)``; for equal stages
  ``(m + pp - 1) X``, bubble fraction ``(pp - 1) / (m + pp - 1)``.
* Interleaved (vpp chunks per rank, Narayanan et al. 2021): the bubble shrinks by vpp and transfers
  overlap with compute: ``T = m max_r X_r + (sum_r X_r - max_r X_r) / vpp + 2 (pp - 1) p2p``.

:func:`simulate_pipeline` plays the same schedule op by op on :class:`trnsim.sim.Simulator` (dependencies
between ranks, per-rank execution order from Megatron's schedule) and returns the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from trnsim.sim import Simulator


@dataclass(frozen=True)
class PipeOp:
    """One forward or backward of one model chunk for one micro-batch on one rank."""

    kind: str  # "F" or "B"
    micro_batch: int
    chunk: int  # model chunk (virtual stage) on this rank
    rank: int
    start: float = 0.0
    end: float = 0.0


@dataclass
class PipelineTimeline:
    total: float
    ops: list[PipeOp] = field(default_factory=list)
    rank_end: list[float] = field(default_factory=list)
    events: int = 0


def rank_order(rank: int, pp: int, m: int, vpp: int = 1) -> list[tuple[str, int, int]]:
    """Megatron's execution order on ``rank``: list of (kind, micro_batch, chunk)."""
    total = m * vpp
    if vpp == 1:
        warm = min(pp - rank - 1, m)
    else:
        warm = min((pp - rank - 1) * 2 + (vpp - 1) * pp, total)

    def fwd_id(k: int) -> tuple[int, int]:
        group, pos = divmod(k, pp * vpp)
        chunk = pos // pp
        return group * pp + pos % pp, chunk

    def bwd_id(k: int) -> tuple[int, int]:
        mb, chunk = fwd_id(k)
        return mb, vpp - 1 - chunk

    order: list[tuple[str, int, int]] = []
    f = b = 0
    for _ in range(warm):
        order.append(("F", *fwd_id(f)))
        f += 1
    while f < total:
        order.append(("F", *fwd_id(f)))
        f += 1
        order.append(("B", *bwd_id(b)))
        b += 1
    while b < total:
        order.append(("B", *bwd_id(b)))
        b += 1
    return order


def analytic_pipeline_time(fwd: Sequence[float], bwd: Sequence[float], m: int, *, vpp: int = 1,
                           p2p: float = 0.0) -> float:
    """Closed-form step time of the pipeline part (see module doc)."""
    pp = len(fwd)
    if pp == 1:
        return m * (fwd[0] + bwd[0])
    if vpp == 1:
        x = [f + b + 2 * p2p for f, b in zip(fwd, bwd)]
        return sum(x) + (m - 1) * max(x)
    x = [f + b for f, b in zip(fwd, bwd)]
    return m * max(x) + (sum(x) - max(x)) / vpp + 2 * (pp - 1) * p2p


def bubble_fraction(pp: int, m: int, vpp: int = 1) -> float:
    """Idle fraction of an ideal pipeline (equal stages, free transfers): b / (m + b), b = (pp - 1) / vpp."""
    if pp <= 1:
        return 0.0
    bubble = (pp - 1) / vpp
    return bubble / (m + bubble)


def simulate_pipeline(fwd: Sequence[float], bwd: Sequence[float], m: int, *, vpp: int = 1,
                      p2p: float = 0.0, record: bool = True) -> PipelineTimeline:
    """Play Megatron's schedule on the event core. Rank r runs chunk c's forward in ``fwd[r]/vpp``.

    Global stage g = c * pp + r. F(g, i) waits for F(g-1, i) (+ transfer), B(g, i) for B(g+1, i)
    (+ transfer) and F(g, i). With vpp == 1 transfers are blocking (added to each op, as Megatron's
    1F1B does); with vpp > 1 they run asynchronously (a delay between ranks).
    """
    pp = len(fwd)
    stages = pp * vpp
    blocking = vpp == 1
    dur_f = [f / vpp + (p2p if blocking and pp > 1 else 0.0) for f in fwd]
    dur_b = [b / vpp + (p2p if blocking and pp > 1 else 0.0) for b in bwd]
    delay = 0.0 if blocking else p2p
    orders = [rank_order(r, pp, m, vpp) for r in range(pp)]
    ptr = [0] * pp
    busy = [False] * pp
    done: dict[tuple[str, int, int], float] = {}
    ops: list[PipeOp] = []
    rank_end = [0.0] * pp
    sim = Simulator()
    waking: set[tuple[int, float]] = set()

    def ready_at(r: int) -> float | None:
        kind, i, c = orders[r][ptr[r]]
        g = c * pp + r
        if kind == "F":
            if g == 0:
                return sim.now
            t = done.get(("F", g - 1, i))
            return None if t is None else t + delay
        own = done.get(("F", g, i))
        if own is None:
            return None
        if g == stages - 1:
            return own
        t = done.get(("B", g + 1, i))
        return None if t is None else max(own, t + delay)

    def try_start(r: int) -> None:
        if busy[r] or ptr[r] >= len(orders[r]):
            return
        t = ready_at(r)
        if t is None:
            return
        if t > sim.now + 1e-15:
            key = (r, t)
            if key not in waking:
                waking.add(key)
                sim.at(t, try_start, r)
            return
        kind, i, c = orders[r][ptr[r]]
        busy[r] = True
        d = dur_f[r] if kind == "F" else dur_b[r]
        sim.after(d, finish, r, kind, i, c, sim.now)

    def finish(r: int, kind: str, i: int, c: int, start: float) -> None:
        busy[r] = False
        ptr[r] += 1
        done[(kind, c * pp + r, i)] = sim.now
        rank_end[r] = sim.now
        if record:
            ops.append(PipeOp(kind, i, c, r, start, sim.now))
        try_start(r)
        for nb in ((r + 1) % pp, (r - 1) % pp):
            try_start(nb)

    for r in range(pp):
        sim.at(0.0, try_start, r)
    end = sim.run()
    if any(p < len(o) for p, o in zip(ptr, orders)):  # pragma: no cover - schedules here never deadlock
        raise RuntimeError("pipeline schedule deadlocked")
    return PipelineTimeline(total=max(rank_end) if rank_end else end, ops=ops, rank_end=rank_end,
                            events=sim.processed)
