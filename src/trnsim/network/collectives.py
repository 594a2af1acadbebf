"""Collective operations -> time, with alpha-beta costs and library-like algorithm choice.

``collective_time(kind, nbytes, group, topology)`` returns a :class:`CollectiveTime`. Sizes follow
the nccl-tests convention: ``nbytes`` is the all-reduce/broadcast buffer, the *total* all-gather output
(each rank contributes nbytes/n), the *total* reduce-scatter input, the per-rank all-to-all send
buffer, and the message of a send/recv. Bus bandwidth is nccl-tests' ``busbw``.

Every candidate is ``alpha + beta`` with
``alpha = base + steps * hop_latency * hop_scale`` (scale-up hops; a scale-out hop costs its measured
one-way latency unscaled) and ``beta = bytes_on_busiest_link / (bw * eff)``;
the hardware numbers come from the :class:`~trnsim.network.topology.Topology` (catalog), the library
constants from :mod:`trnsim.network.constants`. The fastest candidate wins, as NCCL's tuner does;
small messages pick the low-latency protocol, large ones the bulk protocol. Neuron systems use the
runtime model of :mod:`trnsim.network.neuron` instead (NeuronCore ranks, CC-core DMA rings).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache

from trnsim.errors import TrnsimError
from trnsim.network.constants import LIBRARIES, Library, NeuronRuntime
from trnsim.network.topology import Topology

KINDS = ("all-reduce", "all-gather", "reduce-scatter", "all-to-all", "broadcast", "reduce", "send-recv")
ALGORITHMS = ("ring", "tree", "direct", "hierarchical")

_ALIASES = {
    "allreduce": "all-reduce", "ar": "all-reduce",
    "allgather": "all-gather", "ag": "all-gather",
    "reducescatter": "reduce-scatter", "rs": "reduce-scatter",
    "alltoall": "all-to-all", "a2a": "all-to-all", "alltoallv": "all-to-all",
    "broadcast": "broadcast", "bcast": "broadcast",
    "reduce": "reduce",
    "sendrecv": "send-recv", "send": "send-recv", "recv": "send-recv", "p2p": "send-recv",
    "permute": "send-recv", "sendreceive": "send-recv",
}


def normalize_kind(kind: str) -> str:
    """``'AllReduce'``, ``'all_reduce'``, ``'allreduce'`` -> ``'all-reduce'``; unknown -> TrnsimError."""
    k = kind.strip().lower()
    if k in KINDS:
        return k
    key = k.replace("-", "").replace("_", "").replace(" ", "").replace("/", "")
    if key in _ALIASES:
        return _ALIASES[key]
    raise TrnsimError(f"unknown collective {kind!r}", f"use one of {', '.join(KINDS)}")


_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-z]*)\s*$", re.I)
_MULT = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
         "ki": 2**10, "kib": 2**10, "mi": 2**20, "mib": 2**20, "gi": 2**30, "gib": 2**30, "ti": 2**40, "tib": 2**40}


def parse_size(text: "str | int | float") -> float:
    """Bytes from ``'1GiB'`` (2**30), ``'512MB'`` (5.12e8), ``'64k'`` (64e3) or ``'4096'``."""
    if isinstance(text, (int, float)):
        v = float(text)
    else:
        m = _SIZE.match(str(text))
        unit = (m.group(2) or "").lower() if m else None
        if not m or unit not in _MULT:
            raise TrnsimError(f"cannot read size {text!r}", "write e.g. 4096, 64KiB, 512MB or 1GiB")
        v = float(m.group(1)) * _MULT[unit]
    if v < 0 or not math.isfinite(v):
        raise TrnsimError(f"size must be a finite number >= 0, got {text!r}")
    return v


def bus_factor(kind: str, n: int) -> float:
    """nccl-tests factor from algorithm bandwidth (bytes/time) to bus bandwidth."""
    if n <= 1:
        return 1.0
    if kind == "all-reduce":
        return 2.0 * (n - 1) / n
    if kind in ("all-gather", "reduce-scatter", "all-to-all"):
        return (n - 1) / n
    return 1.0


@dataclass(frozen=True, slots=True)
class Group:
    """A communicator: ``size`` ranks, ``per_chip`` of them on each chip (NeuronCores of a Trainium
    chip; 1 for GPUs, and the default: one rank per chip that uses the whole chip), ``per_domain``
    chips in each scale-up domain.

    ``per_domain=None`` packs ranks consecutively (``min(size, domain_size)`` per domain). A data-
    parallel group of 64 chips with one chip per NVLink domain is ``Group(64, per_domain=1)``;
    ``per_node`` says the same per server (``Group(64, per_node=1)`` on a Trn2 UltraServer puts 4 of
    the 64 in each 4-server NeuronLink domain).
    """

    size: int
    per_domain: int | None = None
    per_node: int | None = None
    per_chip: int = 1

    @property
    def chips(self) -> int:
        return -(-self.size // max(1, self.per_chip))

    def split(self, topo: Topology) -> tuple[int, int]:
        """(member chips per domain g, domains m)."""
        if self.size < 1:
            raise TrnsimError(f"group size must be >= 1, got {self.size}")
        if self.per_chip < 1 or self.per_chip > max(1, topo.cores_per_chip) or self.per_chip > self.size:
            raise TrnsimError(
                f"per_chip={self.per_chip} is impossible on {topo.name} ({topo.cores_per_chip} cores per chip)",
                f"use 1..{max(1, topo.cores_per_chip)}",
            )
        n = self.chips
        if self.per_node is not None and self.per_domain is None:
            nodes_per_domain = max(1, topo.domain_size // max(1, topo.chips_per_node))
            if self.per_node < 1 or self.per_node > topo.chips_per_node:
                raise TrnsimError(
                    f"per_node={self.per_node} is impossible on {topo.name} ({topo.chips_per_node} chips per node)",
                    f"use 1..{topo.chips_per_node}",
                )
            return Group(n, per_domain=min(n, self.per_node * nodes_per_domain)).split(topo)
        if n > topo.chips:
            raise TrnsimError(
                f"group of {n} chips exceeds the {topo.chips} chips of {topo.name}",
                "pass chips=... to Topology.from_system for a larger cluster",
            )
        g = min(n, topo.domain_size) if self.per_domain is None else int(self.per_domain)
        if g < 1 or g > topo.domain_size or g > n:
            raise TrnsimError(
                f"per_domain={g} is impossible for a group of {n} on {topo.name} (domain of {topo.domain_size})",
                f"use 1..{min(n, topo.domain_size)}",
            )
        m = -(-n // g)
        if m > topo.num_domains:
            raise TrnsimError(
                f"group of {n} with {g} per domain needs {m} domains; {topo.name} has {topo.num_domains}",
                "raise per_domain or the cluster size",
            )
        return g, m


@dataclass(frozen=True, slots=True)
class CollectiveTime:
    """The predicted time of one collective and how it was obtained (all floats in SI units)."""

    kind: str
    nbytes: float
    group: int
    per_domain: int
    domains: int
    time: float  # s
    algorithm: str
    protocol: str
    alpha: float  # s, latency part
    beta: float  # s, bandwidth part
    algbw: float  # B/s, nbytes / time
    busbw: float  # B/s, nccl-tests convention
    library: str
    topology: str
    candidates: tuple[tuple[str, str, float], ...] = ()
    sources: tuple[str, ...] = ()
    per_chip: int = 1  # ranks per chip (NeuronCores); ``group`` counts ranks

    def as_dict(self) -> dict[str, object]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


# ---------------------------------------------------------------------------- public entry point
def collective_time(
    kind: str,
    nbytes: float,
    group: "int | Group",
    topology: "Topology | str",
    *,
    algorithm: str | None = None,
    library: "Library | NeuronRuntime | None" = None,
    busy: bool = False,
) -> CollectiveTime:
    """Time of collective ``kind`` on ``nbytes`` over ``group`` (an int = consecutive ranks, or a
    :class:`Group`) on ``topology`` (a Topology, or a system name/spec). ``algorithm`` forces one of ring/tree/direct/hierarchical;
    ``library`` overrides the topology's library constants (tests, what-ifs). ``busy``: the collective
    runs while compute traffic shares the DMA engines (inside a compiled Neuron training or inference
    step; no effect on GPUs)."""
    if not isinstance(topology, Topology):
        topology = Topology.from_system(topology)
    k = kind if kind in KINDS else normalize_kind(kind)
    grp = group if isinstance(group, Group) else Group(int(group))
    if nbytes < 0 or not math.isfinite(nbytes):
        raise TrnsimError(f"bytes must be a finite number >= 0, got {nbytes}")
    if algorithm is not None:
        algorithm = algorithm.strip().lower()
        if algorithm in ("nvls", "mesh", "switch"):
            algorithm = "direct"
        if algorithm in ("rdh", "doubling"):
            algorithm = "tree"
        if algorithm == "kangaring":
            algorithm = "ring"
        if algorithm not in ALGORITHMS:
            raise TrnsimError(f"unknown algorithm {algorithm!r}", f"use one of {', '.join(ALGORITHMS)}")
    lib = library if library is not None else LIBRARIES[topology.library]
    per_domain = grp.per_domain
    if per_domain is None and grp.per_node is not None:
        per_domain = grp.split(topology)[0]
    if grp.per_chip > 1 and not isinstance(lib, NeuronRuntime):
        raise TrnsimError(f"{grp.per_chip} ranks per chip: only Neuron chips hold several ranks",
                          "use per_chip=1 on GPUs")
    return _collective_time(k, float(nbytes), grp.size, per_domain, grp.per_chip, topology, algorithm, lib, busy)


@lru_cache(maxsize=65536)
def _collective_time(
    kind: str, nbytes: float, n: int, per_domain: int | None, per_chip: int, topo: Topology, algorithm: str | None,
    lib: "Library | NeuronRuntime", busy: bool = False,
) -> CollectiveTime:
    g, m = Group(n, per_domain, per_chip=per_chip).split(topo)
    if n == 1 and kind != "send-recv":
        return _result(kind, nbytes, n, g, m, topo, lib, ("none", "-", 0.0, 0.0), (), per_chip)
    if kind == "send-recv" and n != 2:
        raise TrnsimError(f"send-recv is between 2 ranks, got a group of {n}", "use --group 2 (or Group(2, ...))")
    if isinstance(lib, NeuronRuntime):
        from trnsim.network.neuron import candidates

        cands = candidates(kind, nbytes, n, per_chip, g, m, topo, lib, busy)
    else:
        cands = _candidates(kind, nbytes, n, g, m, topo, lib)
    if algorithm is not None:
        pool = [c for c in cands if c[0] == algorithm]
        if not pool:
            have = sorted({c[0] for c in cands})
            raise TrnsimError(
                f"algorithm {algorithm!r} does not apply to {kind} over {n} chips ({g} per domain) on {topo.name}",
                f"use one of {', '.join(have)}",
            )
    else:
        pool = cands
    best = min(pool, key=lambda c: c[2] + c[3])
    summary = tuple((c[0], c[1], c[2] + c[3]) for c in cands)
    return _result(kind, nbytes, n, g, m, topo, lib, best, summary, per_chip)


def _result(kind, nbytes, n, g, m, topo, lib, best, summary, per_chip=1) -> CollectiveTime:
    algo, proto, alpha, beta = best
    t = alpha + beta
    algbw = nbytes / t if t > 0 else math.inf
    src = tuple(f"{k}: {v}" for k, v in topo.sources) + (
        f"library constants: trnsim.network.constants.{lib.name.upper()} (see `trnsim collective constants`)",
    )
    return CollectiveTime(
        kind=kind, nbytes=nbytes, group=n, per_domain=g, domains=m, time=t, algorithm=algo, protocol=proto,
        alpha=alpha, beta=beta, algbw=algbw, busbw=algbw * bus_factor(kind, n), library=lib.name,
        topology=topo.name, candidates=summary, sources=src, per_chip=per_chip,
    )


# ---------------------------------------------------------------------------- candidates
Cand = tuple[str, str, float, float]  # (algorithm, protocol, alpha, beta)


def _candidates(kind: str, S: float, n: int, g: int, m: int, topo: Topology, lib: Library) -> list[Cand]:
    if kind == "send-recv":
        if n != 2:
            raise TrnsimError(f"send-recv is between 2 chips, got a group of {n}", "use --group 2 (or Group(2, ...))")
        return _send_recv(S, g, m, topo, lib)
    out: list[Cand] = []
    if kind in ("all-reduce", "all-gather", "reduce-scatter", "broadcast", "reduce"):
        out += _ring(kind, S, n, g, m, topo, lib)
        if m > 1 and lib.tree and kind in ("all-reduce", "broadcast", "reduce"):
            out += _tree(kind, S, n, g, m, topo, lib)
        if m == 1:
            out += _direct(kind, S, n, g, topo, lib)
        if m > 1 and g > 1:
            out += _hierarchical(kind, S, n, g, m, topo, lib)
    elif kind == "all-to-all":
        out += _alltoall(S, n, g, m, topo, lib)
    return out


def _up_bw(topo: Topology, g: int) -> float:
    return topo.up_bw * topo.up_fraction(g)


def _ring_hop(topo: Topology, g: int) -> float:
    """Latency of one ring step inside a domain (neighbour hop; switch2 rings cross groups sometimes)."""
    if topo.up_kind == "switch2" and topo.up_group and g > topo.up_group:
        from trnsim.network.constants import TOPO

        crossings = -(-g // topo.up_group)
        return topo.up_lat * (1.0 + (TOPO.switch2_cross_latency_factor - 1.0) * crossings / g)
    return topo.up_lat


def _link_bw(topo: Topology, g: int, m: int, eff: float, lib: Library) -> float:
    """Bottleneck bandwidth of a ring/tree over g chips per domain and m domains."""
    if m == 1:
        return _up_bw(topo, g) * eff
    net = topo.out_bw * g * _net_eff(eff, lib)
    if g == 1:
        return net
    return min(_up_bw(topo, g) * eff, net)


def _net_eff(eff: float, lib: Library) -> float:
    """Payload fraction of the scale-out line rate: the library's network efficiency for the bulk
    protocol, scaled down for protocols that carry less payload per byte (LL's flags)."""
    return lib.net_eff * eff / lib.protocols[-1].eff


def _ring(kind: str, S: float, n: int, g: int, m: int, topo: Topology, lib: Library) -> list[Cand]:
    if kind == "all-reduce":
        steps, f = 2 * (n - 1), 2.0 * (n - 1) / n
    elif kind in ("all-gather", "reduce-scatter"):
        steps, f = n - 1, (n - 1) / n
    else:  # broadcast / reduce: pipelined chain
        steps, f = n - 1, 1.0
    inter = m / n if m > 1 else 0.0
    hop_up = _ring_hop(topo, g)
    out = []
    for p in lib.protocols:
        bw = _link_bw(topo, g, m, p.eff, lib)
        hop = (1.0 - inter) * hop_up * p.hop_scale + inter * topo.out_lat
        out.append(("ring", p.name, p.base + steps * hop, f * S / bw))
    return out


def _tree(kind: str, S: float, n: int, g: int, m: int, topo: Topology, lib: Library) -> list[Cand]:
    depth = g - 1  # chain inside the domain
    levels = math.ceil(math.log2(m)) if m > 1 else 0
    passes = 2 if kind == "all-reduce" else 1
    out = []
    for p in lib.protocols:
        bw = _link_bw(topo, g, m, p.eff, lib)
        alpha = p.base + passes * (depth * _ring_hop(topo, g) * p.hop_scale + levels * topo.out_lat)
        out.append(("tree", p.name, alpha, passes * S / bw))
    return out


def _direct(kind: str, S: float, n: int, g: int, topo: Topology, lib: Library) -> list[Cand]:
    """Inside one domain: in-network reduction (NVLS) and, where the library does it, a mesh
    reduce-scatter/all-gather sending to every peer at once."""
    out: list[Cand] = []
    if g < 2:
        return out
    hops = topo.up_mean_hops(g)
    lat = topo.up_lat * max(1.0, hops)
    if kind == "all-reduce" and topo.in_network_reduction and lib.nvls_eff > 0:
        p = lib.protocols[-1]
        bw = _up_bw(topo, g) * lib.nvls_eff
        out.append(("direct", "NVLS", lib.nvls_base + 2 * lat * p.hop_scale, S / bw))
    if lib.direct_reductions and kind in ("all-reduce", "all-gather", "reduce-scatter"):
        phases = 2 if kind == "all-reduce" else 1
        for p in lib.protocols:
            bw = _up_bw(topo, g) * p.eff / _link_share(topo, hops)
            out.append(("direct", p.name, p.base + phases * lat * p.hop_scale, phases * (n - 1) / n * S / bw))
    return out


def _link_share(topo: Topology, hops: float) -> float:
    """On a torus a message crossing h links loads h links: direct traffic gets 1/h of the bandwidth.
    A switch forwards without using other chips' links, so its hop count costs latency only."""
    if topo.switched or hops <= 1.0:
        return 1.0
    return hops


def _alltoall(S: float, n: int, g: int, m: int, topo: Topology, lib: Library) -> list[Cand]:
    out: list[Cand] = []
    hops = topo.up_mean_hops(g)
    for p in lib.protocols:
        intra_bw = _up_bw(topo, g) * p.eff / _link_share(topo, hops)
        t_intra = (g - 1) / n * S / intra_bw if g > 1 else 0.0
        if m > 1:
            t_inter = (n - g) / n * S / (topo.out_bw * _net_eff(p.eff, lib))
            lat = topo.out_lat
        else:
            t_inter = 0.0
            lat = topo.up_lat * max(1.0, hops) * p.hop_scale
        out.append(("direct", p.name, p.base + lat, max(t_intra, t_inter)))
    return out


def _hierarchical(kind: str, S: float, n: int, g: int, m: int, topo: Topology, lib: Library) -> list[Cand]:
    """Intra-domain phase, inter-domain phase on each chip's own NIC, intra-domain phase."""
    intra, net = _levels(topo, g, m)

    bases = {p.name: p.base for p in lib.protocols}
    bases["NVLS"] = lib.nvls_base

    def pick(cs: list[Cand]) -> tuple[float, float, float]:
        c = min(cs, key=lambda c: c[2] + c[3])
        return c[2], c[3], bases.get(c[1], 0.0)

    def best(k: str, size: float, t: Topology, ranks: int, gg: int, mm: int) -> tuple[float, float, float]:
        return pick(_candidates(k, size, ranks, gg, mm, t, lib))

    def net_best(k: str, size: float) -> tuple[float, float, float]:
        # each of the g chips runs its shard over its own NIC share, all g at once
        cs = _ring(k, size, m, 1, m, net, lib)
        if lib.tree and k in ("all-reduce", "broadcast", "reduce"):
            cs += _tree(k, size, m, 1, m, net, lib)
        return pick(cs)

    if kind == "all-reduce":
        phases = [best("reduce-scatter", S, intra, g, g, 1), net_best("all-reduce", S / g),
                  best("all-gather", S, intra, g, g, 1)]
    elif kind == "all-gather":
        phases = [net_best("all-gather", S / g), best("all-gather", S, intra, g, g, 1)]
    elif kind == "reduce-scatter":
        phases = [best("reduce-scatter", S, intra, g, g, 1), net_best("reduce-scatter", S / g)]
    else:  # broadcast / reduce
        phases = [net_best(kind, S / g), best(kind, S, intra, g, g, 1)]
    alpha = sum(p[0] for p in phases)
    beta = sum(p[1] for p in phases)
    # one launch: later phases do not pay the call's base cost again
    alpha -= sum(min(p[2], p[0]) for p in phases[1:])
    return [("hierarchical", "mixed", alpha, beta)]


@lru_cache(maxsize=4096)
def _levels(topo: Topology, g: int, m: int) -> tuple[Topology, Topology]:
    """The two levels of a hierarchical collective: one domain of g chips, and m single-chip stops on
    the scale-out network."""
    intra = replace(topo, chips=g, domain_size=g, out_bw=0.0, name=topo.name + "/domain", sources=())
    net = replace(
        topo, chips=m, domain_size=1, up_kind="none", up_bw=topo.out_bw, up_lat=topo.out_lat, up_dims=(),
        in_network_reduction=False, name=topo.name + "/net", sources=(),
    )
    return intra, net


def _send_recv(S: float, g: int, m: int, topo: Topology, lib: Library) -> list[Cand]:
    out: list[Cand] = []
    if m > 1 or g < 2:
        for p in lib.protocols:
            out.append(("direct", p.name, p.base + topo.out_lat, S / (topo.out_bw * _net_eff(p.eff, lib))))
        return out
    bw = topo.up_bw
    hops = 1.0
    if topo.up_kind in ("ring", "torus2d", "torus3d"):
        links = 2 * max(1, len(topo.up_dims))
        bw = topo.up_bw / links  # a neighbour is reached over one link
    for p in lib.protocols:
        out.append(("direct", p.name, p.base + hops * topo.up_lat * p.hop_scale, S / (bw * p.eff)))
    return out
