"""The Neuron runtime collective model: NeuronCore ranks, CC-core DMA rates, launch floor, step costs."""

from __future__ import annotations

import statistics
from dataclasses import replace

import pytest

from trnsim.errors import TrnsimError
from trnsim.network import Group, Topology, collective_time
from trnsim.network.constants import NEURON, describe
from trnsim.network.neuron import rank_rate

GiB = 2**30


@pytest.fixture(scope="module")
def trn1():
    return Topology.from_system("trn1.32xlarge")


def test_topology_carries_the_neuron_chip(trn1):
    assert (trn1.cores_per_chip, trn1.ranks_per_chip, trn1.cc_per_chip) == (2, 2, 6)
    assert trn1.dma_engine_bw == pytest.approx(17e9) and trn1.dma_fixed == pytest.approx(1.3e-6)
    trn2 = Topology.from_system("trn2.48xlarge")
    assert (trn2.cores_per_chip, trn2.ranks_per_chip, trn2.cc_per_chip) == (8, 4, 16)  # LNC=2
    assert Topology.from_system("p5.48xlarge").cc_per_chip == 0


def test_two_cores_of_one_chip_all_reduce(trn1):
    """Intra-chip: no link in it; a small message costs the launch floor plus one on-chip DMA step
    (single-step mesh: each core sends its buffer to the other), a large one moves through each core's
    3 CC-core rings at 17 B/ns each."""
    small = collective_time("all-reduce", 1024, Group(2, per_chip=2), trn1)
    assert small.domains == 1 and small.per_chip == 2
    assert (small.algorithm, small.protocol) == ("direct", "single-step")
    assert small.time == pytest.approx(NEURON.launch + trn1.dma_fixed, rel=0.01)
    big = collective_time("all-reduce", GiB, Group(2, per_chip=2), trn1)
    assert big.busbw == pytest.approx(3 * 17e9, rel=0.01)
    assert rank_rate(trn1, 2, NEURON) == pytest.approx(51e9)


def test_ranks_on_one_chip_share_its_cc_cores(trn1):
    # one rank per chip uses all 6 CC-cores; two ranks per chip get 3 each
    whole = collective_time("all-gather", GiB, Group(4), trn1)
    cores = collective_time("all-gather", GiB, Group(8, per_chip=2), trn1)
    assert whole.busbw == pytest.approx(6 * 17e9, rel=0.02)
    assert cores.busbw == pytest.approx(3 * 17e9, rel=0.02)


def test_busy_engines_halve_the_bandwidth_not_the_floor(trn1):
    g = Group(8, per_chip=2)
    idle, busy = (collective_time("all-gather", GiB, g, trn1, busy=b) for b in (False, True))
    assert busy.beta == pytest.approx(idle.beta / NEURON.busy_dma_share, rel=1e-9)
    small = [collective_time("all-gather", 64, g, trn1, busy=b).time for b in (False, True)]
    assert small[1] == pytest.approx(small[0], rel=0.01)


def test_busy_share_follows_the_generation(trn1):
    """Trn1 keeps half an engine while compute runs; on Trn2/Trn3 the runtime's default packet sizes (CC
    copies 64 KiB, compute 4 KiB, round-robin at packet boundaries) leave the CC ring 64/68 of it."""
    from trnsim.network.neuron import generation

    trn2 = Topology.from_system("trn2-ultraserver", chips=128)
    trn3 = Topology.from_system("trn3-ultraserver-gen2")
    assert (generation(trn1), generation(trn2), generation(trn3)) == ("trn1", "trn2", "trn3")
    assert rank_rate(trn1, 2, NEURON, busy=True) == pytest.approx(0.5 * rank_rate(trn1, 2, NEURON))
    for t in (trn2, trn3):
        assert rank_rate(t, 4, NEURON, busy=True) == pytest.approx(64 / 68 * rank_rate(t, 4, NEURON))
    # a hand-built topology with no catalog system falls back to the default share
    assert NEURON.busy_share(generation(replace(trn2, system=""))) == NEURON.busy_dma_share
    g = Group(16, per_chip=4)
    idle, busy = (collective_time("all-gather", GiB, g, trn2, busy=b) for b in (False, True))
    assert busy.beta == pytest.approx(idle.beta * 68 / 64, rel=1e-9)


def test_algorithm_choice_follows_size(trn1):
    g = Group(32, per_chip=2)
    assert collective_time("all-reduce", 1024, g, trn1).algorithm == "direct"  # mesh: O(1) steps
    big = collective_time("all-reduce", GiB, g, trn1)
    assert big.beta > 100 * big.alpha and big.busbw == pytest.approx(51e9, rel=0.01)  # CC-core DMA bound
    for kind in ("all-reduce", "all-gather", "reduce-scatter", "all-to-all", "broadcast"):
        r = collective_time(kind, 4096, g, trn1)
        assert r.time >= NEURON.launch and r.library == "neuron"


def test_two_nodes_flat_ring_for_bulk_hierarchical_for_small():
    topo = Topology.from_system("trn1.32xlarge", chips=32)
    g = Group(64, per_domain=16, per_chip=2)
    small = collective_time("all-reduce", 8, g, topo)
    big = collective_time("all-reduce", GiB, g, topo)
    assert small.algorithm == "hierarchical" and big.algorithm == "ring"
    # a small message pays two inter-node steps: EFA latency + the host proxy step each
    assert small.time > NEURON.launch + 2 * (topo.out_lat + NEURON.net_step)
    assert big.busbw == pytest.approx(51e9, rel=0.05)


def test_launch_is_a_constant_of_the_runtime(trn1):
    fast = replace(NEURON, launch=5e-6)
    a = collective_time("all-gather", 1024, Group(8, per_chip=2), trn1)
    b = collective_time("all-gather", 1024, Group(8, per_chip=2), trn1, library=fast)
    assert a.time - b.time == pytest.approx(NEURON.launch - 5e-6, rel=1e-6)


def test_send_recv_between_the_cores_of_one_chip(trn1):
    r = collective_time("send-recv", 32 * 2**20, Group(2, per_chip=2), trn1)
    assert r.time == pytest.approx(NEURON.launch + trn1.dma_fixed + 32 * 2**20 / 51e9, rel=1e-6)


def test_impossible_rank_placements_raise(trn1):
    with pytest.raises(TrnsimError, match="per_chip"):
        collective_time("all-reduce", 1024, Group(6, per_chip=3), trn1)
    with pytest.raises(TrnsimError, match="Neuron"):
        collective_time("all-reduce", 1024, Group(8, per_chip=2), Topology.from_system("p5.48xlarge"))


def test_constants_have_provenance():
    rows = {r["name"]: r for r in describe()}
    for key in ("neuron.launch", "neuron.net_step", "neuron.dma_per_cc", "neuron.busy_dma_share",
                "neuron.busy_dma_shares.trn2", "neuron.cc_cores.trn1", "neuron.cc_cores.trn2"):
        assert rows[key]["provenance"] and rows[key]["why"], key
    assert rows["neuron.cc_cores.trn1"]["value"] == 6


def test_neuron_rows_median_error():
    """Every nccom-test dev row is predicted (the 2-rank rows are intra-chip) and the median |error| stays
    below 30% (computed here; 24.8% when written)."""
    from trnsim.validate.predictors.collectives import predict_neuron
    from trnsim.validate.rows import load_rows

    rows = [r for r in load_rows().rows if r.category == "neuron_collective"]
    errs = [abs(predict_neuron(r).value / r.value - 1) for r in rows]
    assert len(errs) == len(rows) >= 30
    assert statistics.median(errs) <= 0.30
