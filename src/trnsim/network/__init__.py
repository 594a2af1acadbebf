"""Topologies and collective algorithms -> time.

>>> from trnsim.network import Topology, collective_time, Group
>>> topo = Topology.from_system("trn2.48xlarge")
>>> collective_time("all-reduce", 1 << 30, 16, topo).time  # doctest: +SKIP
"""

from trnsim.network.collectives import (
    ALGORITHMS, KINDS, CollectiveTime, Group, bus_factor, collective_time, normalize_kind, parse_size,
)
from trnsim.network.topology import Topology

__all__ = [
    "ALGORITHMS", "KINDS", "CollectiveTime", "Group", "Topology", "bus_factor", "collective_time", "normalize_kind",
    "parse_size",
]
