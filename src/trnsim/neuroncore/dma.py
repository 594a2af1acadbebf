"""DMA model: 16 engines per core, queues, transfers split by partitions, fixed cost, bandwidth.

A transfer (``dma_copy``, ``dma_transpose``, ``nl.load``/``nl.store``) becomes ready when its
memory dependencies are met; after the fixed issue-to-start latency (descriptor setup,
synchronization, semaphore-to-start, ``dma.fixed_cost``) its pieces run on the DMA engines that
serve its partitions (``partitions_per_engine`` partitions each; HBM-to-HBM transfers are spread
over all engines). A piece occupies its engine for ``bytes / bandwidth``; the bandwidth is the
per-engine effective rate, scaled by ``dma_strided_efficiency`` when the HBM side is not one
contiguous run and by the DMA-transpose ratios, and capped by this core's share of HBM bandwidth.
Pieces of one queue run in order on each engine; engines serve queues work-conservingly (an engine
fills idle gaps with whichever queue is ready), approximating the round-robin arbitration.
"""

from __future__ import annotations

from bisect import bisect_right

from trnsim.neuroncore.params import CoreParams
from trnsim.nki.trace import Access, Instruction


# N15/N16: under 256 B per partition is severely overhead-bound; 2 KiB per partition is the minimum
# recommended payload. Transfers below it are counted and reported (a byte threshold has no home in
# the core spec schema, which holds cycles, ratios and times).
SMALL_TRANSFER = 2048


class Timeline:
    """Busy intervals of one server (merged, sorted); ``reserve`` books the first gap that fits."""

    __slots__ = ("starts", "ends", "busy")

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.busy = 0.0

    def reserve(self, ready: float, dur: float) -> float:
        starts, ends = self.starts, self.ends
        self.busy += dur
        i = bisect_right(ends, ready)  # first interval ending after ready
        t = ready
        n = len(starts)
        while i < n and starts[i] < t + dur:
            if ends[i] > t:
                t = ends[i]
            i += 1
        e = t + dur
        left = i > 0 and t - ends[i - 1] < 1e-12
        right = i < n and starts[i] - e < 1e-12
        if left and right:
            ends[i - 1] = ends[i]
            del starts[i], ends[i]
        elif left:
            ends[i - 1] = e
        elif right:
            starts[i] = t
        else:
            starts.insert(i, t)
            ends.insert(i, e)
        return t


_CONTIG: dict[tuple, bool] = {}


def hbm_contiguous(a: Access) -> bool:
    """True if an HBM-side access is one contiguous run of bytes."""
    c = _CONTIG.get(a.pattern)
    if c is None:
        if len(_CONTIG) > 65536:
            _CONTIG.clear()
        c = _CONTIG[a.pattern] = _contiguous(a.pattern)
    return c


def _contiguous(pattern: tuple) -> bool:
    expect = 1
    for step, count in reversed(pattern):
        if count != 1 and step != expect:
            return False
        expect *= count
    return True


def transfer_kind(ins: Instruction) -> tuple[Access | None, Access | None]:
    """(source, destination) accesses of a DMA instruction."""
    src = ins.inputs[0] if ins.inputs else None
    dst = ins.outputs[0] if ins.outputs else None
    return src, dst


def queue_name(ins: Instruction, src: Access | None, dst: Access | None) -> str:
    """The DMA queue of a transfer: the trace's ``queue`` attr, else one queue per direction."""
    q = ins.attrs.get("queue")
    if q is not None:
        return f"q{q}"
    s = "hbm" if src is None or src.space.endswith("hbm") else src.space
    d = "hbm" if dst is None or dst.space.endswith("hbm") else dst.space
    return f"{s}->{d}"


def pieces(ins: Instruction, p: CoreParams, src: Access | None, dst: Access | None
           ) -> list[tuple[tuple[int, ...], float]]:
    """(DMA engines, bytes on each of them) of the pieces of a transfer; engines serve
    ``partitions_per_engine`` consecutive partitions of the on-chip side."""
    nbytes = max(src.bytes if src else 0, dst.bytes if dst else 0)
    onchip = dst if dst is not None and not dst.space.endswith("hbm") else src
    n = p.dma_engines
    if onchip is None or onchip.space.endswith("hbm"):
        return [(tuple(range(n)), nbytes / n)]
    key = (onchip.partition_start, onchip.partitions, nbytes, n, p.dma_partitions_per_engine)
    hit = _PIECES.get(key)
    if hit is None:
        if len(_PIECES) > 65536:
            _PIECES.clear()
        hit = _PIECES[key] = _split(onchip.partition_start, onchip.partitions, nbytes, n, p.dma_partitions_per_engine)
    return hit


_PIECES: dict[tuple, list] = {}


def _split(start: int, partitions: int, nbytes: float, n: int, ppe: int) -> list[tuple[tuple[int, ...], float]]:
    parts = max(1, partitions)
    per_part = nbytes / parts
    part, stop = start, start + parts
    if part % ppe == 0 and parts == ppe * n:
        return [(tuple(range(n)), per_part * ppe)]
    out: dict[float, list[int]] = {}
    while part < stop:
        nxt = min(stop, (part // ppe + 1) * ppe)
        out.setdefault(per_part * (nxt - part), []).append((part // ppe) % n)
        part = nxt
    return [(tuple(sorted(set(e))), b) for b, e in out.items()]


def bandwidth(ins: Instruction, p: CoreParams, src: Access | None, dst: Access | None) -> float:
    """Bytes/s one DMA engine achieves on this transfer."""
    bw = p.dma_engine_bw
    hbm_side = [a for a in (src, dst) if a is not None and a.space.endswith("hbm")]
    if any(not hbm_contiguous(a) for a in hbm_side):
        bw *= p.ratio("dma_strided_efficiency", 1.0)
    if ins.opcode == "dma_compute":
        bw *= p.ratio("dma_compute_efficiency", 1.0)
    if ins.opcode == "dma_transpose" or ins.attrs.get("transpose"):
        bw *= p.ratio("dma_transpose_hbm" if hbm_side else "dma_transpose_sbuf", 1.0)
    if hbm_side:
        bw = min(bw, p.hbm_bandwidth / p.dma_engines)
    return bw


class _Group:
    """DMA engines with identical history so far (one timeline stands for all of them)."""

    __slots__ = ("members", "tl", "queue_end", "owner")

    def __init__(self, members: frozenset[int], tl: Timeline, queue_end: dict[str, float], owner: int):
        self.members, self.tl, self.queue_end, self.owner = members, tl, queue_end, owner

    def split(self, keep: frozenset[int]) -> "_Group":
        """Move ``keep`` into a new group with a copy of this group's history."""
        tl = Timeline()
        tl.starts, tl.ends, tl.busy = list(self.tl.starts), list(self.tl.ends), self.tl.busy
        self.members = self.members - keep
        return _Group(keep, tl, dict(self.queue_end), self.owner)


class DmaModel:
    """State of the DMA engines and their queues for one simulation.

    Engines that have always served the same transfers share one timeline (the common case of
    128-partition transfers costs one booking instead of 16)."""

    def __init__(self, p: CoreParams):
        self.p = p
        g = _Group(frozenset(range(p.dma_engines)), Timeline(), {}, -1)
        self.group_of: list[_Group] = [g] * p.dma_engines
        self.transfers = 0
        self.bytes = 0.0
        self.small = 0          # transfers below SMALL_TRANSFER bytes per partition
        self.queues: dict[str, dict[str, float]] = {}

    def _groups(self, engines: tuple[int, ...]) -> list[_Group]:
        want = frozenset(engines)
        out: list[_Group] = []
        for e in engines:
            g = self.group_of[e]
            if g in out:
                continue
            if not g.members <= want:
                g = g.split(g.members & want)
                for m in g.members:
                    self.group_of[m] = g
            out.append(g)
        return out

    def run(self, ins: Instruction, ready: float) -> tuple[float, float, str, int]:
        """Schedule a transfer whose dependencies are met at ``ready``.

        Returns (first piece start, last piece end, queue, instruction that delayed it or -1)."""
        p = self.p
        src, dst = transfer_kind(ins)
        q = queue_name(ins, src, dst)
        bw = bandwidth(ins, p, src, dst)
        t0 = ready + p.dma_fixed_cost
        first, last, blocker = float("inf"), t0, -1
        for engines, nbytes in pieces(ins, p, src, dst):
            dur = nbytes / bw
            for g in self._groups(engines):
                qe = g.queue_end.get(q, 0.0)
                r = t0 if t0 > qe else qe
                tl = g.tl
                ends = tl.ends
                if not ends or r >= ends[-1]:  # fast path: after the last busy interval
                    tl.busy += dur
                    if ends and r - ends[-1] < 1e-12:
                        ends[-1] = r + dur
                    else:
                        tl.starts.append(r)
                        ends.append(r + dur)
                    start = r
                else:
                    start = tl.reserve(r, dur)
                end = start + dur
                g.queue_end[q] = end
                if start < first:
                    first = start
                if end > last:
                    last = end
                    blocker = g.owner if start > t0 + 1e-15 else -1
                g.owner = ins.index
        nbytes = max(src.bytes if src else 0, dst.bytes if dst else 0)
        self.transfers += 1
        self.bytes += nbytes
        onchip = dst if dst is not None and not dst.space.endswith("hbm") else src
        if onchip is not None and nbytes / max(1, onchip.partitions) < SMALL_TRANSFER:
            self.small += 1
        st = self.queues.get(q)
        if st is None:
            st = self.queues[q] = {"transfers": 0, "bytes": 0.0}
        st["transfers"] += 1
        st["bytes"] += nbytes
        return (first if first != float("inf") else t0), last, q, blocker

    def busy(self) -> list[float]:
        return [g.tl.busy for g in self.group_of]
