"""KV-cache bytes per token: GQA, MLA latent, sliding windows, tensor parallelism."""

import pytest

from trnsim.models import load_model


def test_gqa_llama_405b():
    m = load_model("llama-3.1-405b")
    # 126 layers x (K+V) x 8 KV heads x 128 dims x 2 bytes = 504 KiB
    assert m.kv_cache_bytes_per_token("bf16") == 126 * 2 * 8 * 128 * 2 == 516_096
    assert m.kv_cache_bytes_per_token("fp8") == 126 * 2 * 8 * 128


def test_mha_llama2_7b():
    assert load_model("llama-2-7b").kv_cache_bytes_per_token("fp16") == 32 * 2 * 32 * 128 * 2  # 512 KiB


def test_mla_deepseek_v3_latent():
    m = load_model("deepseek-v3")
    # 61 layers x (kv_lora_rank 512 + rope key 64) x 2 bytes = 70,272 B (DeepSeek-V2/V3 papers' MLA cache)
    assert m.kv_cache_bytes_per_token("bf16") == 61 * 576 * 2
    # latent is replicated, not split, under tensor parallelism
    assert m.kv_cache_bytes_per_token("bf16", tp=8) == 61 * 576 * 2


def test_sliding_window_caps_gpt_oss_cache():
    m = load_model("gpt-oss-120b")
    per_layer = 2 * 8 * 64 * 2
    assert m.kv_cache_bytes_per_token("bf16") == 36 * per_layer  # upper bound, no context given
    # at 8192 tokens of context the 18 sliding layers hold only 128 tokens each
    assert m.kv_cache_bytes_per_token("bf16", context=8192) == pytest.approx(18 * per_layer * (1 + 128 / 8192))
    assert m.kv_cache_bytes(8192, "bf16") == 18 * per_layer * 8192 + 18 * per_layer * 128
    assert m.kv_cache_bytes(100, "bf16") == 36 * per_layer * 100


def test_mistral_window_applies_to_all_layers():
    m = load_model("mistral-7b")
    assert m.kv_cache_bytes(32768, "bf16") == 32 * 2 * 8 * 128 * 2 * 4096


def test_tp_splits_kv_heads_and_replicates_when_fewer():
    m = load_model("llama-3-70b")  # 8 KV heads
    full = m.kv_cache_bytes_per_token("bf16")
    assert m.kv_cache_bytes_per_token("bf16", tp=8) == full / 8
    assert m.kv_cache_bytes_per_token("bf16", tp=16) == full / 8  # one KV head per chip, replicated


def test_encoder_has_no_kv_cache():
    assert load_model("bert-large").kv_cache_bytes_per_token("bf16") == 0
