"""Catalog names, aliases and resolving benchmark-table names."""

import csv
from importlib import resources

import pytest

from trnsim.errors import TrnsimError, UnknownNameError
from trnsim.models import list_models, load_model, resolve_model_name

REQUIRED = ["llama-2-7b", "llama-2-13b", "llama-2-70b", "llama-3-8b", "llama-3-70b", "llama-3.1-8b",
            "llama-3.1-70b", "llama-3.1-405b", "llama-3.3-70b", "mistral-7b", "mixtral-8x7b", "qwen3-235b-a22b",
            "deepseek-v3", "gpt-oss-120b", "gpt3-175b", "bert-large"]


def test_required_models_shipped():
    assert set(REQUIRED) <= set(list_models())


@pytest.mark.parametrize("alias,name", [
    ("Llama-3.1-405B", "llama-3.1-405b"), ("llama3.1-405b", "llama-3.1-405b"), ("LLAMA_3.1_405B", "llama-3.1-405b"),
    ("meta-llama/Llama-3.1-405B-Instruct", "llama-3.1-405b"), ("Meta-Llama-3-8B", "llama-3-8b"),
    ("Llama-2-70b-hf", "llama-2-70b"), ("Mixtral 8x7B", "mixtral-8x7b"), ("DeepSeek-V3", "deepseek-v3"),
    ("GPT-3 175B", "gpt3-175b"), ("bert-large-uncased", "bert-large"), ("Qwen/Qwen3-235B-A22B", "qwen3-235b-a22b"),
    ("openai/gpt-oss-120b", "gpt-oss-120b"),
])
def test_aliases(alias, name):
    assert load_model(alias).name == name


def test_unknown_name_suggests_closest():
    with pytest.raises(UnknownNameError) as e:
        load_model("llama-3.1-400b")
    msg = str(e.value)
    assert "unknown model 'llama-3.1-400b'" in msg and "llama-3.1-405b" in msg and "\n" not in msg
    assert isinstance(e.value, TrnsimError)


@pytest.mark.parametrize("text,name", [
    ("Llama-3-8B", "llama-3-8b"), ("Llama 2 70B", "llama-2-70b"), ("GPT-3 175B", "gpt3-175b"),
    ("Llama 2 70B (MLPerf llama2-70b-99)", "llama-2-70b"), ("Llama 3.1 405B pretrain (MLPerf)", "llama-3.1-405b"),
    ("Llama 2 70B LoRA finetune (MLPerf)", "llama-2-70b"), ("GPT-3 175B (MLPerf gpt3)", "gpt3-175b"),
    ("Mixtral 8x7B (MLPerf)", "mixtral-8x7b"), ("HuggingFace BERT-Large Ph1 pre-training", "bert-large"),
    ("Llama2-7B pre-training", "llama-2-7b"), ("Llama-3.1-8B pre-training", "llama-3.1-8b"),
    ("GPT3-175B pre-training", "gpt3-175b"), ("GPT3-23B pre-training", "gpt3-23b"), ("Llama-3.3-70B-Instruct", "llama-3.3-70b"),
    ("CodeLlama-13b-hf", "codellama-13b"), ("google/electra-base-discriminator", "electra-base-discriminator"),
    ("bert-base-uncased", "bert-base"), ("distilbert-base-uncased", "distilbert-base"), ("roberta-base", "roberta-base"),
    ("Mistral-7B-Instruct-v0.2", "mistral-7b-instruct-v0.2"), ("Mistral-7B-v0.1", "mistral-7b"),
    ("roberta-large", "roberta-large"),
    ("albert-base-v2", "albert-base-v2"), ("Llama-4-Maverick-17B-128E", "llama-4-maverick"),
])
def test_resolve_benchmark_names(text, name):
    assert resolve_model_name(text) == name


@pytest.mark.parametrize("text", ["GPT3-2B pre-training", "GPT 7.1B", "GPT-3 178B (strong scaling)",
                                  "NCCL all_reduce", "", "HuggingFace ViT-Base fine-tuning"])
def test_resolve_unknown_is_none(text):
    assert resolve_model_name(text) is None


def test_dev_csv_llm_rows_resolve():
    """Every LLM-serving / MLPerf / Neuron-inference row of the dev CSV names a model we ship."""
    path = resources.files("trnsim.data") / "validation" / "ground_truth_dev.csv"
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    cats = {"llm_serving_throughput", "mlperf_inference", "mlperf_training", "aws_neuron_inference"}
    unresolved = {r["model_or_kernel"] for r in rows if r["category"] in cats and resolve_model_name(r["model_or_kernel"]) is None}
    assert not unresolved, unresolved


def test_catalog_files_carry_sources():
    from trnsim.models import catalog_entry

    for n in list_models():
        e = catalog_entry(n)
        assert e.source, n
        assert load_model(n).display_name == e.display_name


def test_model_for_row():
    from trnsim.models import model_for_row

    assert model_for_row("Llama 3.1 8B pretrain (MLPerf)").name == "llama-3.1-8b"
    cfg = "tp=2;pp=1;dp=48;global_batch=192;seq_len=4096;vocab=131072;hidden=4096;layers=30;heads=32;dtype=bf16"
    m = model_for_row("GPT 7.1B", cfg)
    assert m.hidden == 4096 and m.layers == 30 and m.vocab == 131072 and m.max_positions == 4096
    assert abs(m.total_params / 7.1e9 - 1) < 0.01
    m = model_for_row("GPT-3 177B (strong scaling)", "global_batch=1152;seq_len=4096;vocab=131072")
    assert m is not None and m.hidden == 12288 and m.layers == 96 and m.vocab == 131072  # catalog entry
    assert model_for_row("GPT-3 178B (strong scaling)", "global_batch=1152;seq_len=4096;vocab=131072") is None
    assert model_for_row("NCCL all_reduce", "") is None


def test_mistral_v02_has_full_attention_and_v01_a_window():
    assert [(t.window, t.count) for t in load_model("mistral-7b").layer_types()] == [(4096, 32)]
    assert [(t.window, t.count) for t in load_model("mistral-7b-instruct-v0.2").layer_types()] == [(None, 32)]


def test_xlm_roberta_config_loads_by_path(tmp_path):
    """xlm-roberta configs parse as RoBERTa with their own vocabulary (not shipped in the catalog: the AWS
    benchmark runs it as AutoModelForMaskedLM, whose 250k-vocabulary logits the encoder model does not cost)."""
    import json

    cfg = {"architectures": ["XLMRobertaForMaskedLM"], "model_type": "xlm-roberta", "hidden_size": 768,
           "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072, "vocab_size": 250002,
           "max_position_embeddings": 514, "type_vocab_size": 1, "hidden_act": "gelu", "layer_norm_eps": 1e-05}
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    m = load_model(str(p))
    assert m.vocab == 250002 and not m.causal
    assert abs(m.total_params / 278e6 - 1) < 0.01
