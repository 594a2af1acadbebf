"""Fabric topologies reduced to plain floats: one scale-up domain kind plus a scale-out network.

``Topology.from_system(system, chips=None)`` reads the catalog once and caches the result, so the
collective cost functions touch only floats and ints. A topology describes ``chips`` accelerators
made of ``num_domains`` scale-up domains (NeuronLink torus or switch, NVLink/NVSwitch) joined by the
scale-out fabric (EFA, InfiniBand).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from trnsim.errors import TrnsimError

if TYPE_CHECKING:  # pragma: no cover
    from trnsim.hardware.specs import SystemSpec

SWITCHED = ("switch", "switch2", "nvswitch")


@dataclass(frozen=True, slots=True)
class Topology:
    """A cluster of ``chips`` chips: scale-up domains of ``domain_size`` chips joined by scale-out.

    Bandwidths are per chip, one direction, in B/s; latencies are per hop, in s.
    ``up_kind`` is the catalog topology (none/ring/torus2d/torus3d/switch/switch2/nvswitch).
    """

    name: str
    chips: int
    domain_size: int
    up_kind: str
    up_bw: float
    up_lat: float
    up_dims: tuple[int, ...] = ()
    up_group: int = 0  # chips per level-1 switch (switch2)
    in_network_reduction: bool = False
    chips_per_node: int = 1
    out_bw: float = 0.0  # scale-out bandwidth per chip (NIC share), B/s; 0 = no scale-out
    out_lat: float = 0.0
    library: str = "nccl"
    # Neuron chips: ranks are NeuronCores (trnsim.network.neuron)
    cores_per_chip: int = 1  # physical NeuronCores per chip: the most ranks one chip can hold
    ranks_per_chip: int = 1  # ranks per chip at the runtime's default logical-core size (LNC)
    cc_per_chip: int = 0  # CC-cores per chip (0: not modelled, no per-rank DMA limit)
    dma_engine_bw: float = 0.0  # effective bandwidth of one DMA engine, B/s
    dma_fixed: float = 0.0  # DMA fixed cost per transfer (semaphore-to-start), s
    up_technology: str = ""
    out_technology: str = ""
    system: str = ""
    sources: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    # ------------------------------------------------------------------ derived
    @property
    def num_domains(self) -> int:
        return -(-self.chips // self.domain_size)

    @property
    def switched(self) -> bool:
        return self.up_kind in SWITCHED

    def up_fraction(self, g: int) -> float:
        """Fraction of a chip's scale-up bandwidth a group of ``g`` consecutive chips of one domain can use.

        On a switch every chip reaches every other at full rate. On a torus a group that spans only
        some dimensions uses only the links of those dimensions.
        """
        if g <= 1:
            return 1.0
        if self.up_kind not in ("torus2d", "torus3d") or not self.up_dims:
            return 1.0
        return _torus_active_dims(self.up_dims, g) / len(self.up_dims)

    def up_mean_hops(self, g: int) -> float:
        """Mean hop count between two distinct members of a group of ``g`` consecutive chips."""
        if g <= 1:
            return 0.0
        if self.up_kind in SWITCHED or self.up_kind == "none":
            if self.up_kind == "switch2" and self.up_group and g > self.up_group:
                return _switch2_mean_hops(g, self.up_group)
            return 1.0
        return _torus_mean_hops(self.up_dims or (self.domain_size,), g)

    def describe_sources(self) -> dict[str, str]:
        return dict(self.sources)

    # ------------------------------------------------------------------ construction
    @staticmethod
    def from_system(system: "SystemSpec | str", chips: int | None = None) -> "Topology":
        """The topology of ``system`` (a catalog name or a SystemSpec), or of ``chips`` chips built
        from several such systems joined by the scale-out fabric. Cached per (system, chips)."""
        if isinstance(system, str):
            from trnsim.hardware import load_system

            system = load_system(system)
        n = system.num_chips if chips is None else int(chips)
        if n <= 0:
            raise TrnsimError(f"chips must be positive, got {n}")
        key = (system.name, n, id(system))
        hit = _CACHE.get(key)
        if hit is not None and hit[0] is system:
            return hit[1]
        topo = _build(system, n)
        if len(_CACHE) > 512:
            _CACHE.clear()
        _CACHE[key] = (system, topo)
        return topo


_CACHE: dict[tuple[str, int, int], tuple[Any, Topology]] = {}


def _build(system: "SystemSpec", n: int) -> Topology:
    su = system.scale_up
    so = system.scale_out
    domain = max(1, su.domain_size if su.topology != "none" else 1)
    if n > domain and so is None:
        raise TrnsimError(
            f"{system.name}: {n} chips exceed its scale-up domain of {domain} and it has no scale-out fabric",
            f"ask for at most {domain} chips",
        )
    domain = min(domain, n)
    src: list[tuple[str, str]] = [
        ("scale_up.bandwidth_per_chip", f"{su.technology}: {su.bandwidth_per_chip.describe()}"),
        ("scale_up.latency", su.latency.describe()),
        ("scale_up.topology", f"{su.topology} {list(su.dims) if su.dims else ''} domain {su.domain_size}".strip()),
    ]
    out_bw = out_lat = 0.0
    if so is not None:
        cpn = system.chips_per_node
        out_bw = so.bandwidth_per_node.si / cpn
        out_lat = so.latency.si
        src.append(("scale_out.bandwidth_per_node",
                    f"{so.technology}: {so.bandwidth_per_node.describe()} / {cpn} chips per node"))
        src.append(("scale_out.latency", so.latency.describe()))
    chip = system.chip_spec
    vendor = chip.vendor if chip is not None else system.vendor
    library = "neuron" if vendor == "aws" else "nccl"
    # a cluster smaller than one domain keeps the full torus dims: its chips use only the links of
    # the dimensions they span (see up_fraction), the others lead to chips outside the cluster
    dims = tuple(su.dims)
    neuron: dict[str, Any] = {}
    core = getattr(chip, "core_spec", None) if chip is not None else None
    if library == "neuron" and core is not None:
        from trnsim.network.constants import NEURON

        lnc = 1 if core.version <= 2 else 2  # default logical NeuronCore size (N20)
        neuron = dict(
            cores_per_chip=chip.cores, ranks_per_chip=max(1, chip.cores // lnc),
            cc_per_chip=NEURON.cc_cores_per_chip(chip.generation),
            dma_engine_bw=core.dma.engine_bandwidth_effective.si, dma_fixed=core.dma.fixed_cost.si,
        )
        src.append(("neuron.dma", f"{core.name}: {core.dma.engine_bandwidth_effective.describe()} per engine, "
                                  f"fixed cost {core.dma.fixed_cost.describe()}"))
        src.append(("neuron.cc_cores", f"{neuron['cc_per_chip']} CC-cores per {chip.name} (hardware.md 1a)"))
    return Topology(
        name=system.name if n == system.num_chips else f"{n}x{system.name}-chips",
        chips=n,
        domain_size=domain,
        up_kind=su.topology,
        up_bw=su.bandwidth_per_chip.si,
        up_lat=su.latency.si,
        up_dims=dims,
        up_group=su.group_size or 0,
        in_network_reduction=su.in_network_reduction,
        chips_per_node=system.chips_per_node,
        out_bw=out_bw,
        out_lat=out_lat,
        library=library,
        up_technology=su.technology,
        out_technology=so.technology if so else "",
        system=system.name,
        sources=tuple(src),
        **neuron,
    )


def _torus_active_dims(dims: tuple[int, ...], g: int) -> int:
    """Dimensions a block of ``g`` consecutive chips (first dimension fastest) extends over."""
    a = 0
    prod = 1
    for d in dims:
        if prod >= g:
            break
        a += 1
        prod *= d
    return max(1, a)


@lru_cache(maxsize=256)
def _torus_mean_hops(dims: tuple[int, ...], g: int) -> float:
    """Mean shortest-path hops between distinct chips of a block of ``g`` consecutive chips."""
    g = min(g, math.prod(dims))
    coords = list(itertools.islice(_coords(dims), g))
    if len(coords) < 2:
        return 0.0
    if g > 256:  # sample: per-dimension means add up for a full torus
        return sum(_ring_mean(d) for d in dims) * g / (g - 1)
    total = 0
    for a, b in itertools.combinations(coords, 2):
        total += sum(min(abs(x - y), d - abs(x - y)) for x, y, d in zip(a, b, dims))
    return total / (g * (g - 1) / 2)


def _ring_mean(d: int) -> float:
    return sum(min(o, d - o) for o in range(d)) / d


def _coords(dims: tuple[int, ...]):
    for idx in itertools.product(*(range(d) for d in reversed(dims))):
        yield tuple(reversed(idx))


def _switch2_mean_hops(g: int, group: int) -> float:
    """Mean hop count in a two-level switch: 1 inside a level-1 group, a cross factor between groups."""
    from trnsim.network.constants import TOPO

    f = TOPO.switch2_cross_latency_factor
    groups = -(-g // group)
    same = groups * group * (group - 1)
    pairs = g * (g - 1)
    same = min(same, pairs)
    return (same * 1.0 + (pairs - same) * f) / pairs
