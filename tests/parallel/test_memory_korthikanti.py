"""Memory per chip, checked by hand against Korthikanti et al. (2022) Table 2 and the 2/4/12-byte rule."""
import pytest

from trnsim.models.spec import ModelSpec
from trnsim.parallel import Plan, memory_per_chip
from trnsim.parallel.memory import chunk_layers, layer_activation_bytes_per_token

H, A, L, V, S = 1024, 16, 8, 32000, 2048


@pytest.fixture(scope="module")
def gpt():
    # GPT layer: 4h GELU MLP, MHA, dropout -> Korthikanti's 34 sbh + 5 a s^2 b
    return ModelSpec.gpt(H, L, A, vocab=V, seq_len=S)


def per_token(gpt, **kw):
    flash = kw.pop("flash", True)
    return layer_activation_bytes_per_token(gpt, Plan(seq_len=S, **kw), flash_attention=flash)


def test_korthikanti_no_parallelism(gpt):
    assert per_token(gpt) == 34 * H
    assert per_token(gpt, flash=False) == H * (34 + 5 * A * S / H)


def test_korthikanti_tensor_parallel(gpt):
    t = 4
    assert per_token(gpt, tp=t, sp=False) == H * (10 + 24 / t)
    assert per_token(gpt, tp=t, sp=False, flash=False) == H * (10 + 24 / t + 5 * A * S / (H * t))
    assert per_token(gpt, tp=t, sp=True) == H * 34 / t


def test_korthikanti_recompute(gpt):
    assert per_token(gpt, recompute="selective", flash=False) == 34 * H  # the s^2 terms are recomputed
    assert per_token(gpt, tp=4, recompute="full") == 2 * H / 4
    assert per_token(gpt, recompute="full") == 2 * H


def test_totals_by_hand(gpt):
    N = gpt.total_params
    plan = Plan(dp=4, zero=1, micro_batch=2, global_batch=8, seq_len=S)
    mem = memory_per_chip(gpt, plan, capacity=80e9)
    assert mem.weights == pytest.approx(2 * N)
    assert mem.gradients == pytest.approx(4 * N)
    assert mem.optimizer == pytest.approx(12 * N / 4)
    tokens = 2 * S
    act = L * 34 * H * tokens + tokens * (8 + 2 * H) + tokens * (4 * H + 4 * V)
    assert mem.activations == pytest.approx(act)
    assert mem.reserved == pytest.approx(0.05 * 80e9)
    z0 = memory_per_chip(gpt, plan.with_(zero=0), capacity=80e9)
    assert z0.optimizer == pytest.approx(12 * N)  # 18 B/param without a distributed optimizer
    z2 = memory_per_chip(gpt, plan.with_(zero=2), capacity=80e9)
    assert z2.gradients == pytest.approx(4 * N / 4)
    z3 = memory_per_chip(gpt, plan.with_(zero=3), capacity=80e9)
    assert z3.weights == pytest.approx(2 * N / 4)


def test_pipeline_in_flight_micro_batches(gpt):
    p = Plan(pp=4, dp=1, global_batch=16, seq_len=S)
    mem = memory_per_chip(gpt, p, capacity=80e9)
    assert mem.in_flight_micro_batches == 4  # rank 0 holds pp micro-batches in 1F1B
    pv = memory_per_chip(gpt, p.with_(vpp=2), capacity=80e9)
    assert pv.in_flight_micro_batches == pytest.approx(4 * (1 + 3 / (4 * 2)))  # Megatron's interleaving penalty


def test_chunk_layers():
    assert chunk_layers(8, 2, 1) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert chunk_layers(8, 2, 2) == [[0, 1, 4, 5], [2, 3, 6, 7]]
    ranks = chunk_layers(126, 8, 1)  # 405B: first and last stage one layer short
    assert [len(r) for r in ranks] == [15, 16, 16, 16, 16, 16, 16, 15]
