"""Neuron runtime collectives: CC-cores driving DMA rings between NeuronCores.

How the Neuron runtime runs a collective (N21-N23, compute-comm-overlap.rst), reduced to a few numbers:

* **Ranks are NeuronCores** (logical cores: 2 per Trn1/Inf2 chip, 4 per Trn2/Trn3 chip at LNC=2), so
  several ranks share one chip's NeuronLink ports and EFA share, and a step between two ranks of one
  chip is an on-chip DMA with no link in it.
* **Each rank's bytes move through its CC-cores' DMA rings**: a rank moves data at
  ``cc_cores_per_rank x dma_per_cc x`` the catalog's effective per-engine DMA rate (Trn1: 3 x 17 B/ns =
  51 GB/s; Trn2 at LNC=2: 4 x 23 B/ns = 92 GB/s), far below a chip's NeuronLink rate. This, not the
  links, bounds intra-node collectives. Inside a compiled step compute DMA traffic time-shares the
  engines (``busy``): a CC ring keeps ``busy_share(generation)`` of its engine (Trn1/Inf2 1/2; Trn2/Trn3
  64/68 from the runtime's default packet sizes, compute-comm-overlap.rst).
* **A collective pays a runtime floor once** (``launch``: the Collectives Engine starts the program and
  hands completion back to the engines), and **every algorithm step a semaphore + DMA fixed cost**
  (the catalog's DMA fixed cost, N16) plus the wire latency of the hop: nothing inside a chip, the
  NeuronLink hop latency between chips (N22), the EFA latency plus ``net_step`` between nodes (N21).
* Algorithms (N22, N23): ring (Ring/KangaRing), mesh (``direct``: O(1) steps, oversubscribed links;
  single-step mesh for all-reduce), recursive doubling/halving (``tree``: log2 steps, one torus axis
  per step), and across nodes a flat ring and the hierarchical intra-RS / inter-AR / intra-AG. The
  fastest candidate wins, as the runtime's algorithm table does.

Sizes follow the nccl-tests convention of :mod:`trnsim.network.collectives`. Constants live in
:data:`trnsim.network.constants.NEURON` with their provenance.
"""

from __future__ import annotations

import math
from functools import lru_cache

from trnsim.network.constants import NeuronRuntime
from trnsim.network.topology import Topology

Cand = tuple[str, str, float, float]  # (algorithm, protocol, alpha, beta)
_INF = float("inf")


def rank_rate(topo: Topology, c: int, rt: NeuronRuntime, busy: bool = False) -> float:
    """Bytes/s one rank's CC-cores move when ``c`` ranks share its chip (inf if not modelled); ``busy``:
    compute DMA traffic time-shares the engines (round-robin between rings, compute-comm-overlap.rst)."""
    if topo.cc_per_chip <= 0 or topo.dma_engine_bw <= 0:
        return _INF
    share = rt.busy_share(generation(topo)) if busy else 1.0
    return topo.cc_per_chip / c * rt.dma_per_cc * topo.dma_engine_bw * share


@lru_cache(maxsize=256)
def _system_generation(system: str) -> str | None:
    if not system:
        return None
    try:
        from trnsim.hardware.catalog import catalog

        chip = catalog().get("system", system).chip_spec
    except Exception:  # a system from a user file or a hand-built topology: the runtime default applies
        return None
    return getattr(chip, "generation", None)


def generation(topo: Topology) -> str | None:
    """Chip generation of the topology's catalog system (None if unknown)."""
    return _system_generation(topo.system)


class _Ctx:
    """Per-call geometry: n ranks, c per chip, N chips, g chips per domain, m domains."""

    __slots__ = ("n", "c", "N", "g", "m", "topo", "rt", "R", "s_chip", "s_up", "s_net", "up", "link1", "net",
                 "hops")

    def __init__(self, n: int, c: int, g: int, m: int, topo: Topology, rt: NeuronRuntime, busy: bool = False) -> None:
        from trnsim.network.collectives import _ring_hop

        self.n, self.c, self.g, self.m, self.topo, self.rt = n, c, g, m, topo, rt
        self.N = -(-n // c)
        self.R = rank_rate(topo, c, rt, busy)
        self.s_chip = topo.dma_fixed
        self.s_up = topo.dma_fixed + _ring_hop(topo, g)
        self.s_net = topo.dma_fixed + topo.out_lat + rt.net_step
        self.up = topo.up_bw * topo.up_fraction(g)  # a chip's NeuronLink bandwidth inside the group
        links = 2 * max(1, len(topo.up_dims)) if topo.up_kind in ("ring", "torus2d", "torus3d") else 1
        self.link1 = topo.up_bw / links  # one port: what a recursive-doubling step to one neighbour gets
        self.net = topo.out_bw * rt.net_eff  # a chip's share of the node's EFA
        self.hops = max(1.0, topo.up_mean_hops(g))

    def traversal(self) -> float:
        """Sum of the step costs around a ring of all ranks (ordered chip by chip, domain by domain)."""
        n, N, m = self.n, self.N, self.m
        if N == 1:
            return n * self.s_chip
        intra = (n - N) * self.s_chip
        if m > 1:
            return intra + (N - m) * self.s_up + m * self.s_net
        return intra + N * self.s_up


def candidates(kind: str, S: float, n: int, c: int, g: int, m: int, topo: Topology, rt: NeuronRuntime,
               busy: bool = False) -> list[Cand]:
    """Every (algorithm, protocol, alpha, beta) the runtime could use, including the launch floor."""
    x = _Ctx(n, c, g, m, topo, rt, busy)
    if kind == "send-recv":
        return [_launched(c_, rt) for c_ in _send_recv(S, x)]
    if kind == "all-to-all":
        return [_launched(c_, rt) for c_ in _alltoall(S, x)]
    out: list[Cand] = []
    if m == 1:
        out += _ring(kind, S, x)
        if kind in ("all-reduce", "all-gather", "reduce-scatter"):
            out += _mesh(kind, S, x) + _rdh(kind, S, x)
    else:
        out += _ring(kind, S, x)  # flat ring (Trn1, large messages)
        out += _hierarchical(kind, S, x)
    return [_launched(c_, rt) for c_ in out]


def _launched(c: Cand, rt: NeuronRuntime) -> Cand:
    return (c[0], c[1], c[2] + rt.launch, c[3])


def _phases(kind: str) -> int:
    return 2 if kind == "all-reduce" else 1


def _ring(kind: str, S: float, x: _Ctx) -> list[Cand]:
    n = x.n
    if kind in ("broadcast", "reduce"):
        steps, f = n - 1, 1.0
    else:
        steps, f = _phases(kind) * (n - 1), _phases(kind) * (n - 1) / n
    alpha = steps / n * x.traversal()
    # per rank f*S through its DMA rings; one ring edge leaves each chip (and each domain) per channel set
    bw = x.R
    if x.N > 1:
        bw = min(bw, x.up)
    if x.m > 1:
        bw = min(bw, x.net * x.g)
    return [("ring", "dma", alpha, f * S / bw)]


def _mesh(kind: str, S: float, x: _Ctx) -> list[Cand]:
    """Mesh: every rank writes straight to every peer (routed through the torus): an intra-chip and an
    inter-chip sub-step per phase. Single-step mesh all-reduce: every rank broadcasts its whole buffer."""
    n, c, N = x.n, x.c, x.N
    step = x.s_chip if N == 1 else x.s_chip + x.s_up * x.hops
    share = 1.0 if x.topo.switched else x.hops  # routed traffic loads every link on its path

    def beta(per_rank: float, off_chip: float) -> float:
        t = per_rank / x.R
        if N > 1:
            t = max(t, c * off_chip * share / x.up)
        return t

    ph = _phases(kind)
    out = [("direct", "mesh", ph * step, ph * beta((n - 1) / n * S, (n - c) / n * S))]
    if kind == "all-reduce":
        out.append(("direct", "single-step", step, beta((n - 1) * S, (n - c) * S)))
    return out


def _rdh(kind: str, S: float, x: _Ctx) -> list[Cand]:
    """Recursive doubling/halving: log2 steps, the inter-chip ones to one torus neighbour at a time."""
    n, c, N = x.n, x.c, x.N
    if n & (n - 1) or n < 4:
        return []
    ph = _phases(kind)
    alpha = ph * (math.log2(c) * x.s_chip + (math.log2(N) if N > 1 else 0) * x.s_up)
    bw = x.R if N == 1 else min(x.R, x.link1 / c)
    return [("tree", "rdh", alpha, ph * (n - 1) / n * S / bw)]


def _hierarchical(kind: str, S: float, x: _Ctx) -> list[Cand]:
    """Intra-domain reduce-scatter, inter-domain all-reduce of the shard on each rank's EFA share,
    intra-domain all-gather (N23); one launch for the whole."""
    d = x.g * x.c  # ranks per domain
    intra = _Ctx(d, x.c, x.g, 1, x.topo, x.rt)
    intra.R = x.R

    def best(k: str, size: float) -> tuple[float, float]:
        cs = _ring(k, size, intra) + _mesh(k, size, intra) + _rdh(k, size, intra) if d > 1 else [("", "", 0.0, 0.0)]
        cs = [c_ for c_ in cs if k in ("all-reduce", "all-gather", "reduce-scatter") or c_[0] == "ring"]
        b = min(cs, key=lambda c_: c_[2] + c_[3])
        return b[2], b[3]

    def net(k: str, size: float) -> tuple[float, float]:
        m = x.m
        ph = 2 if k == "all-reduce" else 1
        rate = min(x.R, x.net / x.c)  # the chip's EFA share is split over its ranks
        ring = (ph * (m - 1) * x.s_net, ph * (m - 1) / m * size / rate)
        rdh = (ph * math.ceil(math.log2(m)) * x.s_net, ph * (m - 1) / m * size / rate)
        return min(ring, rdh, key=lambda p: p[0] + p[1])

    if kind == "all-reduce":
        phases = [best("reduce-scatter", S), net("all-reduce", S / d), best("all-gather", S)]
    elif kind == "all-gather":
        phases = [net("all-gather", S / d), best("all-gather", S)]
    elif kind == "reduce-scatter":
        phases = [best("reduce-scatter", S), net("reduce-scatter", S / d)]
    else:  # broadcast / reduce
        phases = [net(kind, S / d), best(kind, S)]
    return [("hierarchical", "mixed", sum(p[0] for p in phases), sum(p[1] for p in phases))]


def _alltoall(S: float, x: _Ctx) -> list[Cand]:
    n, c, d = x.n, x.c, x.g * x.c
    t = (n - 1) / n * S / x.R
    if x.N > 1:
        share = 1.0 if x.topo.switched else x.hops
        t = max(t, c * (min(n, d) - c) / n * S * share / x.up)
    if x.m > 1:
        t = max(t, (n - d) / n * S / (x.net / c))
        lat = x.s_net
    else:
        lat = x.s_chip if x.N == 1 else x.s_up * x.hops
    return [("direct", "mesh", lat, t)]


def _send_recv(S: float, x: _Ctx) -> list[Cand]:
    if x.m > 1:
        return [("direct", "dma", x.s_net, S / min(x.R, x.net))]
    if x.N == 1:
        return [("direct", "dma", x.s_chip, S / x.R)]
    return [("direct", "dma", x.s_up, S / min(x.R, x.link1))]
