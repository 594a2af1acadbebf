"""Topologies and collective algorithms -> time.

    from trnsim.network import Topology, Group, collective_time
    topo = Topology.from_system("trn2-ultraserver", chips=1024)          # 16 UltraServers over EFA
    r = collective_time("all-reduce", 2**30, Group(64, per_node=1), topo)  # DP group, 1 chip per server
    r.time, r.algorithm, r.protocol, r.busbw, r.alpha, r.beta, r.sources

* ``Topology.from_system(system, chips=None)`` reduces a catalog system (or a cluster of ``chips``
  chips built from it) to plain floats: scale-up domain kind/size/dims, per-chip link bandwidth
  and hop latency, per-chip share of the scale-out NICs and its latency. Cached per system.
* ``collective_time(kind, nbytes, group, topology, algorithm=None)`` -> :class:`CollectiveTime`.
  Kinds: all-reduce, all-gather, reduce-scatter, all-to-all, broadcast, reduce, send-recv.
  Algorithms: ring, tree (across domains), direct (switch mesh / NVLS in-network reduction /
  pairwise all-to-all), hierarchical (intra-domain, inter-domain on each chip's NIC share,
  intra-domain). The fastest (algorithm, protocol) wins, as NCCL's tuner does.
* Bandwidth per chip is the chip's own share of links and NICs, so concurrent groups of the same
  shape (e.g. every DP group of a TPxDP plan at once) do not slow each other down in this model.
* Neuron systems (:mod:`trnsim.network.neuron`): ranks are NeuronCores (``Group(32, per_chip=2)`` is
  the 32 cores of 16 Trn1 chips; the default ``per_chip=1`` is one rank standing for a whole chip), each
  rank's bytes move through its CC-cores' DMA rings, every collective pays the runtime's launch floor
  and every step a DMA fixed cost plus the hop's latency; ``busy=True`` when compute traffic shares the
  DMA engines (inside a compiled step).
* Library constants (protocol efficiencies, per-call and per-step costs) live in
  :mod:`trnsim.network.constants` with their provenance; ``python -m trnsim.network.fit`` refits NCCL's.
"""

from trnsim.network.collectives import (
    ALGORITHMS, KINDS, CollectiveTime, Group, bus_factor, collective_time, normalize_kind, parse_size,
)
from trnsim.network.topology import Topology

__all__ = [
    "ALGORITHMS", "KINDS", "CollectiveTime", "Group", "Topology", "bus_factor", "collective_time", "normalize_kind",
    "parse_size",
]
