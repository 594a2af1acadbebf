"""Property tests: FLOPs are linear in batch; tensor parallelism divides per-chip GEMM FLOPs by tp."""

from hypothesis import given
from hypothesis import strategies as st

from trnsim.models import load_model, total_flops

MODELS = ["llama-3-8b", "mixtral-8x7b", "deepseek-v3", "gpt-oss-120b", "qwen3-235b-a22b", "bert-large"]


@given(
    name=st.sampled_from(MODELS),
    phase=st.sampled_from(["fwd", "bwd", "prefill", "decode"]),
    batch=st.integers(1, 64),
    seq=st.integers(1, 512),
)
def test_flops_linear_in_batch(name, phase, batch, seq):
    m = load_model(name)
    if phase == "decode" and not m.causal:
        return
    one = total_flops(m.ops(phase, batch, seq))
    two = total_flops(m.ops(phase, 2 * batch, seq))
    assert abs(two - 2 * one) <= 1e-9 * two


@given(
    name=st.sampled_from(["llama-3-8b", "llama-2-70b", "llama-3.1-405b", "mixtral-8x7b"]),
    phase=st.sampled_from(["fwd", "bwd", "prefill", "decode"]),
    tp=st.sampled_from([1, 2, 4, 8]),
    batch=st.integers(1, 16),
    seq=st.integers(1, 256),
)
def test_tp_divides_sharded_gemm_flops(name, phase, tp, batch, seq):
    m = load_model(name)

    def sharded(ops):  # the MoE router is replicated on every chip
        return sum(o.count * o.flops for o in ops if o.kind in ("gemm", "moe_gemm") and "router" not in o.name)

    full = sharded(m.ops(phase, batch, seq))
    per_chip = sharded(m.ops(phase, batch, seq, tp=tp))
    assert abs(per_chip * tp - full) <= 1e-9 * full


@given(tp=st.sampled_from([1, 2, 4, 8]), batch=st.integers(1, 8))
def test_tp_divides_attention_flops(tp, batch):
    m = load_model("llama-3-70b")
    att = lambda ops: sum(o.count * o.flops for o in ops if o.kind == "attention")  # noqa: E731
    assert abs(att(m.ops("prefill", batch, 128, tp=tp)) * tp - att(m.ops("prefill", batch, 128))) < 1e-6


@given(batch=st.integers(1, 512))
def test_moe_decode_weight_bytes_grow_with_batch_up_to_all_experts(batch):
    m = load_model("gpt-oss-120b")
    ex = lambda b: sum(o.count * o.bytes_read for o in m.ops("decode", b, 128) if o.kind == "moe_gemm")  # noqa: E731
    assert ex(batch) <= ex(batch + 1)
    assert ex(batch) <= 36 * 128 * m.expert_params() * 2 + 36 * 2 * (batch * 4) * 2880 * 2 * 2


@given(past=st.integers(0, 300), q=st.integers(1, 300), span=st.integers(1, 200), kind=st.sampled_from(["window", "chunk", "full"]))
def test_attention_pairs_match_brute_force(past, q, span, kind):
    from trnsim.models import attention_pairs

    brute = 0
    for p in range(past + 1, past + q + 1):
        if kind == "window":
            brute += min(p, span)
        elif kind == "chunk":
            brute += (p - 1) % span + 1
        else:
            brute += p
    window = span if kind == "window" else None
    chunk = span if kind == "chunk" else None
    assert attention_pairs(past, q, window, True, chunk) == brute


@given(tp=st.sampled_from([1, 2, 4, 8]), kv=st.integers(1, 8192))
def test_decode_bytes_per_chip_are_weights_and_kv_over_tp(tp, kv):
    from trnsim.models import total_bytes

    m = load_model("llama-3-70b")
    per_chip = total_bytes(m.ops("decode", 1, kv, tp=tp))
    weights = (m.total_params - m.input_embedding_params()) * 2 / tp
    cache = m.kv_cache_bytes(kv + 1, "bf16") / tp
    assert abs(per_chip / (weights + cache) - 1) < 0.01
