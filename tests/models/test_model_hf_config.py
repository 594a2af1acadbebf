"""Reading Hugging Face config.json files, and the one-line errors for bad ones."""

import json

import pytest

from trnsim.errors import TrnsimError
from trnsim.models import ModelSpec, load_model

LLAMA = {
    "model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
    "num_attention_heads": 32, "vocab_size": 32000, "torch_dtype": "float16",
}


def _one_line(err: Exception) -> str:
    s = str(err)
    assert "\n" not in s
    return s


def test_parse_dict_defaults():
    m = ModelSpec.from_hf_config(LLAMA)
    assert m.kv_heads == 32 and m.head_dim == 128 and m.dtype == "fp16" and not m.tied_embeddings
    assert m.total_params == 6_738_415_616


def test_parse_file_and_directory(tmp_path):
    d = tmp_path / "my-llama"
    d.mkdir()
    (d / "config.json").write_text(json.dumps(LLAMA))
    a = ModelSpec.from_hf_config(d / "config.json")
    b = ModelSpec.from_hf_config(d)
    c = load_model(str(d / "config.json"))
    assert a.total_params == b.total_params == c.total_params
    assert a.name == "my-llama" and "config.json" in a.source


def test_parse_json_text():
    assert ModelSpec.from_hf_config(json.dumps(LLAMA)).layers == 32


def test_architectures_without_model_type():
    cfg = {k: v for k, v in LLAMA.items() if k != "model_type"} | {"architectures": ["MistralForCausalLM"]}
    assert ModelSpec.from_hf_config(cfg).arch == "mistral"


def test_missing_field_names_file_and_field(tmp_path):
    p = tmp_path / "config.json"
    p.write_text(json.dumps({k: v for k, v in LLAMA.items() if k != "hidden_size"}))
    with pytest.raises(TrnsimError) as e:
        ModelSpec.from_hf_config(p)
    msg = _one_line(e.value)
    assert str(p) in msg and "'hidden_size'" in msg and "missing" in msg


def test_wrong_type(tmp_path):
    p = tmp_path / "config.json"
    p.write_text(json.dumps(LLAMA | {"num_hidden_layers": "32"}))
    with pytest.raises(TrnsimError, match=r"config\.json: field 'num_hidden_layers' must be an integer"):
        ModelSpec.from_hf_config(p)


@pytest.mark.parametrize("change,match", [
    ({"model_type": "mamba"}, r"field 'model_type' has unsupported value 'mamba'.*supported: .*llama"),
    ({"model_type": None}, r"missing field 'model_type'"),
    ({"hidden_act": "swishy"}, r"field 'hidden_act' has unknown activation 'swishy'"),
    ({"num_key_value_heads": 5}, r"not a multiple of num_key_value_heads=5"),
    ({"num_attention_heads": 0}, r"field 'num_attention_heads' must be >= 1"),
    ({"layer_types": ["full_attention"] * 31 + ["mamba"], "sliding_window": 128}, r"unknown layer type 'mamba' at index 31"),
    ({"layer_types": ["full_attention"] * 3}, r"'layer_types' has 3 entries for 32 layers"),
    ({"layer_types": ["sliding_attention"] * 32}, r"field 'sliding_window' must be a positive integer"),
    ({"torch_dtype": "float7"}, r"field 'torch_dtype' has unknown dtype"),
    ({"sliding_window": -4}, r"field 'sliding_window'"),
])
def test_bad_values(change, match):
    cfg = {k: v for k, v in (LLAMA | change).items() if v is not None}
    with pytest.raises(TrnsimError, match=match) as e:
        ModelSpec.from_hf_config(cfg)
    _one_line(e.value)


def test_moe_missing_expert_field():
    cfg = LLAMA | {"model_type": "mixtral", "num_experts_per_tok": 2}
    with pytest.raises(TrnsimError, match="missing field 'num_local_experts'"):
        ModelSpec.from_hf_config(cfg)


def test_top_k_above_experts():
    cfg = LLAMA | {"model_type": "mixtral", "num_local_experts": 4, "num_experts_per_tok": 8}
    with pytest.raises(TrnsimError, match="num_experts_per_tok=8"):
        ModelSpec.from_hf_config(cfg)


def test_file_errors(tmp_path):
    with pytest.raises(TrnsimError, match="file not found"):
        ModelSpec.from_hf_config(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    with pytest.raises(TrnsimError, match="not valid JSON"):
        ModelSpec.from_hf_config(bad)
    arr = tmp_path / "arr.json"
    arr.write_text("[1, 2]")
    with pytest.raises(TrnsimError, match="JSON object"):
        ModelSpec.from_hf_config(arr)


def test_multimodal_wrapper_uses_text_config():
    m = ModelSpec.from_hf_config({"model_type": "llama4", "text_config": LLAMA, "vision_config": {"hidden_size": 1}})
    assert m.total_params == 6_738_415_616 and any("vision" in n for n in m.notes)
    with pytest.raises(TrnsimError, match=r"field 'text_config.model_type' has unsupported value 'mamba'"):
        ModelSpec.from_hf_config({"model_type": "llava", "text_config": {"model_type": "mamba"}})


def test_llama4_structure():
    m = load_model("llama-4-maverick")
    # MoE on odd layers (interleave step 2); NoPE + full attention on every 4th layer, chunked elsewhere
    assert [(lt.name, lt.count) for lt in m.layer_types()] == [
        ("dense.chunk8192", 24), ("moe.chunk8192", 12), ("moe", 12)]
    assert m.nope_layers == tuple(range(3, 48, 4))
    assert m.moe.shared_experts == 1 and m.ffn == 16384 and m.moe.expert_ffn == 8192
    ops = m.ops("prefill", 1, 1024)
    assert not any(o.name == "moe.rope" for o in ops) and any(o.name == "moe.chunk8192.rope" for o in ops)


def test_qwen2_has_qkv_bias_and_qwen3_qk_norm():
    q2 = ModelSpec.from_hf_config(LLAMA | {"model_type": "qwen2", "num_key_value_heads": 8})
    q3 = ModelSpec.from_hf_config(LLAMA | {"model_type": "qwen3", "num_key_value_heads": 8, "head_dim": 128})
    assert q2.qkv_bias and not q2.o_bias
    assert q3.qk_norm and not q3.qkv_bias
    base = ModelSpec.from_hf_config(LLAMA | {"num_key_value_heads": 8})
    assert q2.total_params - base.total_params == 32 * (4096 + 2 * 1024)
    assert q3.total_params - base.total_params == 32 * 2 * 128


def test_qwen_sliding_window_only_when_enabled():
    cfg = LLAMA | {"model_type": "qwen2", "sliding_window": 4096, "use_sliding_window": False, "max_window_layers": 28}
    assert ModelSpec.from_hf_config(cfg).sliding_window is None
    on = ModelSpec.from_hf_config(cfg | {"use_sliding_window": True})
    assert on.window_of(27) is None and on.window_of(28) == 4096


def test_qwen3_moe_sparse_step_and_dense_layers():
    cfg = LLAMA | {"model_type": "qwen3_moe", "num_experts": 16, "num_experts_per_tok": 2,
                   "moe_intermediate_size": 512, "decoder_sparse_step": 2, "mlp_only_layers": [1]}
    m = ModelSpec.from_hf_config(cfg)
    # layers 1,3,5,... are MoE except 1 (mlp_only); even layers dense
    assert [lt.count for lt in m.layer_types()] == [17, 15]


def test_gpt2_style_config():
    m = ModelSpec.from_hf_config({"model_type": "gpt2", "n_embd": 768, "n_layer": 12, "n_head": 12,
                                  "n_positions": 1024, "vocab_size": 50257})
    assert m.total_params == 124_439_808  # GPT-2 small (HF gpt2: 124M)


def test_factorized_embedding_electra_small():
    m = ModelSpec.from_hf_config({"model_type": "electra", "hidden_size": 256, "embedding_size": 128,
                                  "num_hidden_layers": 12, "num_attention_heads": 4, "intermediate_size": 1024,
                                  "vocab_size": 30522})
    assert m.embedding_dim == 128
    assert m.total_params == pytest.approx(14e6, rel=0.05)  # ELECTRA-Small: 14M (Clark et al. 2020)


def test_albert_inner_groups_rejected():
    with pytest.raises(TrnsimError, match="field 'inner_group_num'"):
        load_model("albert-base-v2").from_hf_config({"model_type": "albert", "hidden_size": 768, "num_hidden_layers": 12,
                                                     "num_attention_heads": 12, "intermediate_size": 3072,
                                                     "vocab_size": 30000, "inner_group_num": 2})


def test_distilbert_and_roberta_parse():
    assert load_model("distilbert-base").layers == 6
    assert load_model("roberta-base").type_vocab == 1
