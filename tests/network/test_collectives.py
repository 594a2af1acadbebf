"""Collective cost model: hand-derived alpha-beta values on a toy fabric, algorithm choice, monotonicity."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trnsim.errors import TrnsimError
from trnsim.network import KINDS, Group, Topology, bus_factor, collective_time, normalize_kind, parse_size
from trnsim.network.constants import Library, Protocol

# A toy fabric: 8-chip switched domains at 100 GB/s and 1 us per hop; 10 GB/s per chip of scale-out
# at 10 us. One protocol at half the link rate, 2 us per call, one hop latency per step.
TOY = Topology(
    name="toy", chips=8, domain_size=8, up_kind="switch", up_bw=100e9, up_lat=1e-6,
    chips_per_node=8, out_bw=10e9, out_lat=10e-6, library="nccl",
)
TOY32 = Topology(
    name="toy32", chips=32, domain_size=8, up_kind="switch", up_bw=100e9, up_lat=1e-6,
    chips_per_node=8, out_bw=10e9, out_lat=10e-6, library="nccl",
)
LIB = Library(
    name="toy", protocols=(Protocol("P", eff=0.5, base=2e-6, hop_scale=1.0),),
    nvls_eff=0.0, nvls_base=0.0, net_eff=1.0, direct_reductions=False, tree=True,
)
S = 1e6


def t(kind, nbytes, group, topo, algorithm=None, lib=LIB):
    return collective_time(kind, nbytes, group, topo, algorithm=algorithm, library=lib)


def test_ring_allreduce_single_domain_hand_derived():
    r = t("all-reduce", S, 8, TOY, "ring")
    alpha = 2e-6 + 14 * 1e-6  # base + 2(n-1) steps x hop
    beta = 2 * 7 / 8 * S / (100e9 * 0.5)  # 2(n-1)/n S over half the link
    assert r.alpha == pytest.approx(alpha)
    assert r.beta == pytest.approx(beta)
    assert r.time == pytest.approx(alpha + beta)
    assert r.busbw == pytest.approx(S / (alpha + beta) * 2 * 7 / 8)


def test_ring_allgather_hand_derived():
    r = t("all-gather", S, 8, TOY, "ring")
    assert r.time == pytest.approx(2e-6 + 7e-6 + 7 / 8 * S / 50e9)


def test_ring_allreduce_two_levels_hand_derived():
    # 32 chips = 4 domains x 8; 4 of the 62 steps cross the network per pass (fraction m/n)
    r = t("all-reduce", S, 32, TOY32, "ring")
    hop = (1 - 4 / 32) * 1e-6 + 4 / 32 * 10e-6
    bw = min(100e9 * 0.5, 10e9 * 8 * 1.0)  # scale-up vs the 8 NICs of a domain
    assert r.alpha == pytest.approx(2e-6 + 62 * hop)
    assert r.beta == pytest.approx(2 * 31 / 32 * S / bw)


def test_tree_allreduce_hand_derived():
    r = t("all-reduce", S, 32, TOY32, "tree")
    alpha = 2e-6 + 2 * (7 * 1e-6 + math.ceil(math.log2(4)) * 10e-6)  # chain of 8 + binary tree of 4, up and down
    beta = 2 * S / min(50e9, 80e9)
    assert r.alpha == pytest.approx(alpha)
    assert r.beta == pytest.approx(beta)


def test_send_recv_is_latency_plus_bytes_over_bw():
    lib = Library("p2p", (Protocol("P", eff=1.0, base=0.0, hop_scale=1.0),), 0.0, 0.0, 1.0, False, True)
    r = t("send-recv", S, 2, TOY, lib=lib)
    assert r.time == pytest.approx(1e-6 + S / 100e9)
    far = t("send-recv", S, Group(2, per_domain=1), TOY32, lib=lib)
    assert far.time == pytest.approx(10e-6 + S / 10e9)


def test_tree_beats_ring_for_small_messages_across_domains():
    small = t("all-reduce", 1024, 32, TOY32)
    assert small.algorithm in ("tree", "hierarchical")
    assert small.time < t("all-reduce", 1024, 32, TOY32, "ring").time


def test_protocol_switch_small_vs_large_on_nvswitch():
    topo = Topology.from_system("p5.48xlarge")
    small = collective_time("all-reduce", 8 * 1024, 8, topo)
    large = collective_time("all-reduce", 1 << 30, 8, topo)
    assert small.protocol == "LL"  # latency-bound regime
    assert (large.algorithm, large.protocol) != (small.algorithm, small.protocol)
    assert large.busbw > 20 * small.busbw


def test_nvls_used_only_with_in_network_reduction():
    p5 = collective_time("all-reduce", 1 << 30, 8, Topology.from_system("p5.48xlarge"))
    p4d = collective_time("all-reduce", 1 << 30, 8, Topology.from_system("p4d.24xlarge"))
    assert p5.protocol == "NVLS"
    assert p4d.protocol != "NVLS"


def test_algorithm_switch_on_trainium():
    topo = Topology.from_system("trn2.48xlarge")
    small = collective_time("all-reduce", 64, 16, topo)
    large = collective_time("all-reduce", 1 << 30, 16, topo)
    assert (small.algorithm, small.protocol) != (large.algorithm, large.protocol)
    assert small.alpha > small.beta and large.beta > large.alpha


def test_hierarchical_slower_than_one_domain():
    topo = Topology.from_system("gb200-nvl72", chips=144)
    inside = collective_time("all-reduce", 1 << 28, Group(16), topo)
    across = collective_time("all-reduce", 1 << 28, Group(16, per_domain=8), topo)
    assert inside.domains == 1 and across.domains == 2
    assert across.time > inside.time
    forced = collective_time("all-reduce", 1 << 28, Group(16, per_domain=8), topo, algorithm="hierarchical")
    assert forced.algorithm == "hierarchical" and forced.time > inside.time


def test_spread_group_per_node_on_ultraserver():
    topo = Topology.from_system("trn2-ultraserver", chips=1024)
    r = collective_time("all-reduce", 1 << 30, Group(64, per_node=1), topo)
    assert (r.per_domain, r.domains) == (4, 16)  # 4 servers per NeuronLink domain
    packed = collective_time("all-reduce", 1 << 30, Group(64), topo)
    assert packed.domains == 1 and packed.time < r.time


def test_one_rank_is_free_and_kinds_normalise():
    assert t("all-reduce", S, 1, TOY).time == 0.0
    assert normalize_kind("AllReduce") == "all-reduce"
    assert normalize_kind("all_to_all") == "all-to-all"
    assert normalize_kind("permute") == "send-recv"
    with pytest.raises(TrnsimError):
        normalize_kind("allscatter")


def test_bad_inputs_raise_one_line_errors():
    with pytest.raises(TrnsimError, match="exceeds"):
        t("all-reduce", S, 9, TOY)
    with pytest.raises(TrnsimError, match="per_domain"):
        t("all-reduce", S, Group(8, per_domain=9), TOY)
    with pytest.raises(TrnsimError, match="does not apply"):
        t("all-to-all", S, 8, TOY, "ring")
    with pytest.raises(TrnsimError, match="unknown algorithm"):
        t("all-reduce", S, 8, TOY, "butterfly")
    with pytest.raises(TrnsimError):
        t("all-reduce", -1, 8, TOY)


def test_parse_size():
    assert parse_size("1GiB") == 2**30
    assert parse_size("512MB") == 512e6
    assert parse_size("4096") == 4096
    assert parse_size(8) == 8
    with pytest.raises(TrnsimError):
        parse_size("12 parsecs")


def test_bus_factor_conventions():
    assert bus_factor("all-reduce", 8) == pytest.approx(1.75)
    assert bus_factor("all-gather", 8) == pytest.approx(0.875)
    assert bus_factor("broadcast", 8) == 1.0


SYSTEMS = ("p5.48xlarge", "trn2.48xlarge", "trn3-ultraserver-gen2", "gb200-nvl72")


@given(
    kind=st.sampled_from([k for k in KINDS if k != "send-recv"]),
    system=st.sampled_from(SYSTEMS),
    a=st.floats(min_value=1, max_value=2**34),
    b=st.floats(min_value=1, max_value=2**34),
)
def test_time_is_monotonic_in_size(kind, system, a, b):
    topo = Topology.from_system(system)
    lo, hi = sorted((a, b))
    t_lo = collective_time(kind, lo, 8, topo).time
    t_hi = collective_time(kind, hi, 8, topo).time
    assert t_lo <= t_hi * (1 + 1e-12)


@given(n=st.integers(min_value=2, max_value=144), size=st.floats(min_value=1, max_value=2**32))
def test_busbw_never_exceeds_what_the_fabric_allows(n, size):
    topo = Topology.from_system("trn3-ultraserver-gen2")
    r = collective_time("all-gather", size, n, topo)
    assert 0 < r.time < 1.0
    assert r.busbw <= topo.up_bw * 1.0001


def test_topology_is_cached_and_results_are_plain_floats():
    topo = Topology.from_system("p5.48xlarge", chips=512)
    assert Topology.from_system("p5.48xlarge", chips=512) is topo  # cached
    r = collective_time("all-reduce", 1000.0, 64, topo)
    assert isinstance(r.time, float) and isinstance(r.busbw, float)


def test_alltoall_on_a_torus_pays_for_multi_hop_traffic():
    common = dict(chips=16, domain_size=16, up_bw=100e9, up_lat=1e-6, chips_per_node=16, library="neuron")
    torus = Topology(name="torus", up_kind="torus2d", up_dims=(4, 4), **common)
    switch = Topology(name="switch", up_kind="switch", **common)
    a = t("all-to-all", 1e9, 16, torus)
    b = t("all-to-all", 1e9, 16, switch)
    assert a.beta / b.beta == pytest.approx(2 * 16 / 15)  # mean hop count of a 4x4 torus


def test_two_level_switch_costs_latency_across_groups():
    common = dict(chips=16, domain_size=16, up_bw=100e9, up_lat=1e-6, chips_per_node=4, library="neuron")
    flat = Topology(name="flat", up_kind="switch", **common)
    two = Topology(name="two", up_kind="switch2", up_group=4, **common)
    assert t("all-gather", 64, 16, two, "ring").alpha > t("all-gather", 64, 16, flat, "ring").alpha
    assert t("all-gather", 64, 4, two, "ring").alpha == pytest.approx(t("all-gather", 64, 4, flat, "ring").alpha)
    assert t("all-gather", 1e9, 16, two, "ring").beta == pytest.approx(t("all-gather", 1e9, 16, flat, "ring").beta)


def test_topology_may_be_a_system_name():
    assert collective_time("all-reduce", 1e6, 8, "p5.48xlarge").time == collective_time(
        "all-reduce", 1e6, 8, Topology.from_system("p5.48xlarge")).time
