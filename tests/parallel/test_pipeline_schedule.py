"""Pipeline schedules: bubble fraction, analytic vs event-driven agreement, Megatron's order."""
import pytest
from hypothesis import given, strategies as st

from trnsim.parallel import analytic_pipeline_time, bubble_fraction, rank_order, simulate_pipeline


@pytest.mark.parametrize("pp,m", [(2, 1), (4, 4), (4, 8), (8, 32), (16, 64)])
def test_1f1b_bubble_fraction(pp, m):
    tl = simulate_pipeline([1.0] * pp, [2.0] * pp, m)
    busy = m * 3.0 / tl.total
    assert 1 - busy == pytest.approx((pp - 1) / (m + pp - 1), rel=1e-9)
    assert bubble_fraction(pp, m) == pytest.approx((pp - 1) / (m + pp - 1))


@pytest.mark.parametrize("pp,m,v", [(4, 8, 2), (4, 16, 4), (8, 16, 2)])
def test_interleaved_bubble(pp, m, v):
    tl = simulate_pipeline([1.0] * pp, [2.0] * pp, m, vpp=v)
    assert tl.total == pytest.approx(analytic_pipeline_time([1.0] * pp, [2.0] * pp, m, vpp=v), rel=1e-9)
    assert 1 - m * 3.0 / tl.total == pytest.approx(bubble_fraction(pp, m, v), rel=1e-9)


@given(pp=st.integers(2, 8), m=st.integers(1, 24), first=st.floats(0.7, 1.0), last=st.floats(1.0, 1.6),
       p2p=st.floats(0, 0.05))
def test_analytic_matches_event_driven_1f1b(pp, m, first, last, p2p):
    # the stage shapes training produces: embedding stage lighter, LM-head stage heavier
    fwd = [first] + [1.0] * (pp - 2) + [last]
    bwd = [2 * x for x in fwd]
    sim = simulate_pipeline(fwd, bwd, m, p2p=p2p, record=False).total
    ana = analytic_pipeline_time(fwd, bwd, m, p2p=p2p)
    assert ana == pytest.approx(sim, rel=0.03)
    assert sim >= m * max(a + b for a, b in zip(fwd, bwd)) - 1e-9


def test_analytic_is_an_upper_bound_when_the_first_stage_is_slowest():
    fwd, bwd = [2.0, 1.0], [4.0, 2.0]
    assert simulate_pipeline(fwd, bwd, 2).total == pytest.approx(13.0)
    assert analytic_pipeline_time(fwd, bwd, 2) == pytest.approx(15.0)


def test_rank_order_counts():
    for pp, m, v in [(4, 8, 1), (4, 8, 2), (2, 4, 3)]:
        for r in range(pp):
            order = rank_order(r, pp, m, v)
            assert sum(k == "F" for k, _, _ in order) == m * v
            assert sum(k == "B" for k, _, _ in order) == m * v
    assert [k for k, _, _ in rank_order(0, 4, 6)][:4] == ["F", "F", "F", "F"]  # warm-up of pp - 1 + 1
