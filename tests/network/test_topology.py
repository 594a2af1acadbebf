"""Topology.from_system over the catalog, multi-system clusters, torus geometry."""

from __future__ import annotations

import pytest

from trnsim.errors import TrnsimError
from trnsim.hardware import catalog, load_system
from trnsim.network import Topology
from trnsim.network.topology import _torus_active_dims, _torus_mean_hops


@pytest.mark.parametrize("name", catalog().names("system"))
def test_every_catalog_system_builds(name):
    s = load_system(name)
    topo = Topology.from_system(s)
    assert topo.chips == s.num_chips
    assert topo.up_bw == s.scale_up.bandwidth_per_chip.si
    assert topo.up_lat == s.scale_up.latency.si
    assert topo.library == ("neuron" if s.chip_.vendor == "aws" else "nccl")
    if s.scale_out is not None:
        assert topo.out_bw == pytest.approx(s.scale_out.bandwidth_per_node.si / s.chips_per_node)
    assert topo.sources


def test_cluster_of_ultraservers():
    topo = Topology.from_system("trn2-ultraserver", chips=1024)
    assert (topo.domain_size, topo.num_domains) == (64, 16)
    assert topo.up_kind == "torus3d"


def test_string_and_spec_give_the_same_numbers():
    a = Topology.from_system("trn3-ultraserver-gen2")
    b = Topology.from_system(load_system("trn3-ultraserver-gen2"))
    assert a == b
    assert a.up_kind == "switch2" and a.up_group == 4


def test_no_scale_out_limits_the_cluster():
    s = load_system("inf2.48xlarge")
    if s.scale_out is None:
        with pytest.raises(TrnsimError, match="scale-out"):
            Topology.from_system(s, chips=2 * s.num_chips)
    with pytest.raises(TrnsimError):
        Topology.from_system("p5.48xlarge", chips=0)


def test_torus_geometry():
    # 4x4 torus: a ring of 4 has mean distance (1+2+1)/3 = 4/3 between distinct chips
    assert _torus_mean_hops((4, 4), 4) == pytest.approx(4 / 3)
    # full 4x4: per-dimension mean over all 16 pairs incl. self is 1 -> 2 x 16/15 excluding self
    assert _torus_mean_hops((4, 4), 16) == pytest.approx(2 * 16 / 15)
    assert _torus_active_dims((4, 4, 4), 4) == 1
    assert _torus_active_dims((4, 4, 4), 16) == 2
    assert _torus_active_dims((4, 4, 4), 64) == 3
    topo = Topology.from_system("trn2-ultraserver")
    assert topo.up_fraction(4) == pytest.approx(1 / 3)
    assert topo.up_fraction(64) == 1.0
    assert Topology.from_system("p5.48xlarge").up_fraction(4) == 1.0
