"""Read Hugging Face ``config.json`` files into :class:`ModelSpec` (no download, no transformers import).

Only the fields that change the architecture's size or work are read; other fields (token ids, rope scaling,
dropout, ...) are ignored. A missing required field, a wrong type, an unknown ``model_type`` or an unknown
value in a field we interpret (activation, layer type) is a one-line :class:`TrnsimError` naming the file
and the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from trnsim.errors import TrnsimError
from trnsim.models.dtypes import canonical_dtype
from trnsim.models.spec import MLASpec, MoESpec, ModelSpec

_ACTS = {
    "silu": "silu", "swish": "silu", "swiglu": "silu",
    "gelu": "gelu", "gelu_new": "gelu", "gelu_pytorch_tanh": "gelu", "gelu_fast": "gelu",
    "gelu_python": "gelu", "quick_gelu": "gelu", "gelu_accurate": "gelu",
    "relu": "relu",
}

# architectures class name -> model_type, for configs that lack model_type
_ARCH_TO_TYPE = {
    "LlamaForCausalLM": "llama", "MistralForCausalLM": "mistral", "MixtralForCausalLM": "mixtral",
    "Qwen2ForCausalLM": "qwen2", "Qwen3ForCausalLM": "qwen3", "Qwen2MoeForCausalLM": "qwen2_moe",
    "Qwen3MoeForCausalLM": "qwen3_moe", "DeepseekV2ForCausalLM": "deepseek_v2",
    "DeepseekV3ForCausalLM": "deepseek_v3", "GptOssForCausalLM": "gpt_oss", "GPT2LMHeadModel": "gpt2",
    "BertModel": "bert", "BertForMaskedLM": "bert", "BertForPreTraining": "bert",
    "RobertaModel": "roberta", "RobertaForMaskedLM": "roberta", "XLMRobertaModel": "xlm-roberta",
    "XLMRobertaForMaskedLM": "xlm-roberta", "DistilBertModel": "distilbert",
    "DistilBertForMaskedLM": "distilbert", "AlbertForMaskedLM": "albert", "AlbertModel": "albert", "ElectraForPreTraining": "electra", "ElectraModel": "electra",
}


class _Cfg:
    """Typed access to a config dict with one-line errors naming the file and field."""

    def __init__(self, data: dict[str, Any], origin: str):
        self.d = data
        self.origin = origin

    def err(self, key: str, msg: str, fix: str | None = None) -> TrnsimError:
        return TrnsimError(f"{self.origin}: field '{key}' {msg}", fix)

    def has(self, key: str) -> bool:
        return self.d.get(key) is not None

    def int(self, key: str, *alts: str, default: Any = ..., minimum: int = 1) -> int:
        for k in (key, *alts):
            if self.d.get(k) is not None:
                v = self.d[k]
                if isinstance(v, bool) or not isinstance(v, int):
                    if isinstance(v, float) and v.is_integer():
                        v = int(v)
                    else:
                        raise self.err(k, f"must be an integer, got {v!r}")
                if v < minimum:
                    raise self.err(k, f"must be >= {minimum}, got {v}")
                return v
        if default is ...:
            alt = f" (or {', '.join(repr(a) for a in alts)})" if alts else ""
            raise TrnsimError(f"{self.origin}: missing field '{key}'{alt}", "add it to the config")
        return default

    def bool(self, key: str, default: bool) -> bool:
        v = self.d.get(key)
        if v is None:
            return default
        if not isinstance(v, bool):
            raise self.err(key, f"must be true or false, got {v!r}")
        return v

    def act(self, key: str, default: str) -> str:
        v = self.d.get(key, default) or default
        if not isinstance(v, str) or v.lower() not in _ACTS:
            raise self.err(key, f"has unknown activation {v!r}", f"use one of {', '.join(sorted(_ACTS))}")
        return _ACTS[v.lower()]

    def dtype(self) -> str:
        for k in ("torch_dtype", "dtype"):
            v = self.d.get(k)
            if v is not None:
                try:
                    return canonical_dtype(str(v))
                except TrnsimError:
                    raise self.err(k, f"has unknown dtype {v!r}") from None
        return "bf16"

    def int_list(self, key: str) -> list[int]:
        v = self.d.get(key) or []
        if not isinstance(v, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in v):
            raise self.err(key, f"must be a list of integers, got {v!r}")
        return v


def _load(path_or_dict: Any) -> tuple[dict[str, Any], str]:
    if isinstance(path_or_dict, dict):
        return path_or_dict, str(path_or_dict.get("_name_or_path") or "<config dict>")
    if isinstance(path_or_dict, str) and path_or_dict.lstrip().startswith("{"):
        origin, text = "<config text>", path_or_dict
    else:
        p = Path(path_or_dict)
        if p.is_dir():
            p = p / "config.json"
        origin = str(p)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise TrnsimError(f"{origin}: file not found", "check the path, or give a catalog model name") from None
        except (OSError, UnicodeDecodeError) as e:
            raise TrnsimError(f"{origin}: cannot read: {e}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise TrnsimError(f"{origin}: not valid JSON: {e.msg} at line {e.lineno}", "fix the JSON syntax") from None
    if not isinstance(data, dict):
        raise TrnsimError(f"{origin}: a config.json must hold a JSON object")
    return data, origin


def parse_hf_config(path_or_dict: Any, *, name: str | None = None) -> ModelSpec:
    """Parse a HF config (path to a file or directory, JSON text, or dict) into a ModelSpec."""
    data, origin = _load(path_or_dict)
    notes: list[str] = []
    if isinstance(data.get("text_config"), dict) and "hidden_size" not in data:
        text = data["text_config"]
        if text.get("model_type") not in _PARSERS:
            raise TrnsimError(
                f"{origin}: field 'text_config.model_type' has unsupported value {text.get('model_type')!r}",
                f"supported: {', '.join(SUPPORTED)}",
            )
        # multimodal wrapper (e.g. Llama-4): model the language model, say the vision tower is left out
        data = {"_name_or_path": data.get("_name_or_path"), **text}
        origin = f"{origin} (text_config)"
        notes.append("text model only: the vision encoder of this multimodal config is not counted")
    c = _Cfg(data, origin)
    mt = data.get("model_type")
    if mt is None:
        archs = data.get("architectures") or []
        mt = next((_ARCH_TO_TYPE[a] for a in archs if a in _ARCH_TO_TYPE), None)
        if mt is None:
            raise TrnsimError(f"{origin}: missing field 'model_type'", f"set it to one of {', '.join(SUPPORTED)}")
    if not isinstance(mt, str) or mt not in _PARSERS:
        raise TrnsimError(
            f"{origin}: field 'model_type' has unsupported value {mt!r}", f"supported: {', '.join(SUPPORTED)}"
        )
    default_name = data.get("_name_or_path") or (Path(origin).parent.name if origin.endswith(".json") else mt)
    fields = _PARSERS[mt](c)
    fields.setdefault("dtype", c.dtype())
    if notes:
        fields["notes"] = tuple(notes) + tuple(fields.get("notes", ()))
    try:
        return ModelSpec(name=name or str(default_name), arch=mt, source=origin, **fields)
    except TrnsimError:
        raise
    except (TypeError, ValueError) as e:  # pragma: no cover - defensive
        raise TrnsimError(f"{origin}: invalid config: {e}") from None


# ---------------------------------------------------------------------------------------------- parsers
def _windows(c: _Cfg, layers: int) -> dict[str, Any]:
    """sliding_window / layer_types handling shared by the RoPE decoders."""
    out: dict[str, Any] = {}
    lt = c.d.get("layer_types")
    window = c.d.get("sliding_window")
    if lt is not None:
        if not isinstance(lt, list):
            raise c.err("layer_types", "must be a list")
        wins: list[int | None] = []
        for i, t in enumerate(lt):
            if t == "full_attention":
                wins.append(None)
            elif t in ("sliding_attention", "chunked_attention"):
                if not isinstance(window, int) or window <= 0:
                    raise c.err("sliding_window", "must be a positive integer when layer_types has sliding layers")
                wins.append(window)
            else:
                raise c.err(
                    "layer_types", f"has unknown layer type {t!r} at index {i}",
                    "use 'full_attention' or 'sliding_attention'",
                )
        out["layer_windows"] = tuple(wins)
        out["sliding_window"] = window if any(w is not None for w in wins) else None
        return out
    if window is None:
        return out
    if isinstance(window, bool) or not isinstance(window, int) or window <= 0:
        raise c.err("sliding_window", f"must be a positive integer or null, got {window!r}")
    if "use_sliding_window" in c.d and not c.bool("use_sliding_window", False):
        return out  # Qwen2/3 carry a window but do not use it
    if "max_window_layers" in c.d and c.has("use_sliding_window"):
        # Qwen2: layers with index >= max_window_layers use the sliding window
        first = c.int("max_window_layers", minimum=0)
        out["layer_windows"] = tuple(None if i < first else window for i in range(layers))
    out["sliding_window"] = window
    return out


def _rope_decoder(c: _Cfg, *, qkv_bias: bool | None = None, qk_norm: bool = False) -> dict[str, Any]:
    hidden = c.int("hidden_size")
    heads = c.int("num_attention_heads")
    layers = c.int("num_hidden_layers")
    if c.has("head_dim"):
        head_dim = c.int("head_dim")
    else:
        if hidden % heads:
            raise c.err("num_attention_heads", f"({heads}) does not divide hidden_size ({hidden})", "set head_dim")
        head_dim = hidden // heads
    attn_bias = c.bool("attention_bias", False)
    f: dict[str, Any] = dict(
        hidden=hidden,
        layers=layers,
        heads=heads,
        kv_heads=c.int("num_key_value_heads", default=heads),
        head_dim=head_dim,
        ffn=c.int("intermediate_size"),
        vocab=c.int("vocab_size"),
        gated_mlp=True,
        activation=c.act("hidden_act", "silu"),
        norm="rmsnorm",
        qkv_bias=attn_bias if qkv_bias is None else qkv_bias,
        o_bias=attn_bias,
        mlp_bias=c.bool("mlp_bias", False),
        qk_norm=qk_norm,
        tied_embeddings=c.bool("tie_word_embeddings", False),
        position="rope",
        max_positions=c.int("max_position_embeddings", default=4096),
    )
    f.update(_windows(c, layers))
    return f


def _llama(c: _Cfg) -> dict[str, Any]:
    return _rope_decoder(c)


def _qwen2(c: _Cfg) -> dict[str, Any]:
    return _rope_decoder(c, qkv_bias=True)  # Qwen2 always has q/k/v biases


def _qwen3(c: _Cfg) -> dict[str, Any]:
    return _rope_decoder(c, qk_norm=True)


def _mixtral(c: _Cfg) -> dict[str, Any]:
    f = _rope_decoder(c)
    f["moe"] = MoESpec(
        num_experts=c.int("num_local_experts"),
        top_k=c.int("num_experts_per_tok"),
        expert_ffn=f["ffn"],
    )
    return f


def _qwen_moe(c: _Cfg, *, qwen3: bool) -> dict[str, Any]:
    f = _rope_decoder(c, qkv_bias=None if qwen3 else True, qk_norm=qwen3)
    layers = f["layers"]
    step = c.int("decoder_sparse_step", default=1)
    only = set(c.int_list("mlp_only_layers"))
    dense = tuple(i for i in range(layers) if i in only or (i + 1) % step != 0)
    shared_ffn = c.int("shared_expert_intermediate_size", default=0, minimum=0)
    f["moe"] = MoESpec(
        num_experts=c.int("num_experts"),
        top_k=c.int("num_experts_per_tok"),
        expert_ffn=c.int("moe_intermediate_size"),
        shared_experts=1 if shared_ffn else 0,
        shared_ffn=shared_ffn,
        shared_gate=bool(shared_ffn),
        dense_layers=dense,
    )
    return f


def _deepseek(c: _Cfg) -> dict[str, Any]:
    hidden = c.int("hidden_size")
    heads = c.int("num_attention_heads")
    layers = c.int("num_hidden_layers")
    mla = MLASpec(
        q_lora_rank=c.int("q_lora_rank", default=None),
        kv_lora_rank=c.int("kv_lora_rank"),
        qk_nope_head_dim=c.int("qk_nope_head_dim"),
        qk_rope_head_dim=c.int("qk_rope_head_dim"),
        v_head_dim=c.int("v_head_dim"),
    )
    first_dense = c.int("first_k_dense_replace", default=0, minimum=0)
    freq = c.int("moe_layer_freq", default=1)
    experts = c.int("n_routed_experts")
    moe = MoESpec(
        num_experts=experts,
        top_k=c.int("num_experts_per_tok"),
        expert_ffn=c.int("moe_intermediate_size"),
        shared_experts=c.int("n_shared_experts", default=0, minimum=0),
        shared_ffn=c.int("moe_intermediate_size"),
        dense_layers=tuple(i for i in range(layers) if i < first_dense or i % freq != 0),
        # DeepSeek-V3's aux-loss-free balancing adds a per-expert bias (e_score_correction_bias)
        router_bias=c.d.get("topk_method") == "noaux_tc",
    )
    return dict(
        hidden=hidden,
        layers=layers,
        heads=heads,
        kv_heads=heads,
        head_dim=mla.qk_head_dim,
        ffn=c.int("intermediate_size"),
        vocab=c.int("vocab_size"),
        gated_mlp=True,
        activation=c.act("hidden_act", "silu"),
        norm="rmsnorm",
        o_bias=c.bool("attention_bias", False),
        tied_embeddings=c.bool("tie_word_embeddings", False),
        position="rope",
        max_positions=c.int("max_position_embeddings", default=4096),
        moe=moe,
        mla=mla,
        mtp_layers=c.int("num_nextn_predict_layers", default=0, minimum=0),
    )


def _gpt_oss(c: _Cfg) -> dict[str, Any]:
    f = _rope_decoder(c)
    f["qkv_bias"] = f["o_bias"] = c.bool("attention_bias", True)
    f["attention_sinks"] = True
    f["moe"] = MoESpec(
        num_experts=c.int("num_local_experts"),
        top_k=c.int("num_experts_per_tok", "experts_per_token"),
        expert_ffn=f["ffn"],
        router_bias=True,
        expert_bias=True,
    )
    notes = ["experts released in MXFP4 (quantization_config); weights here counted as parameters"]
    if "swiglu_limit" in c.d:
        notes.append("clamped SwiGLU (swiglu_limit) costed as SwiGLU")
    f["notes"] = tuple(notes)
    return f


def _llama4(c: _Cfg) -> dict[str, Any]:
    """Llama-4 text model: MoE every ``interleave_moe_layer_step`` layers with one shared expert; dense
    layers use ``intermediate_size_mlp``; iRoPE: every 4th layer has no RoPE and full attention, the
    others chunked attention over ``attention_chunk_size`` tokens."""
    f = _rope_decoder(c)
    layers = f["layers"]
    expert_ffn = c.int("intermediate_size")
    f["ffn"] = c.int("intermediate_size_mlp", default=expert_ffn)
    step = c.int("interleave_moe_layer_step", default=1)
    moe_layers = c.int_list("moe_layers") if c.has("moe_layers") else list(range(step - 1, layers, step))
    f["moe"] = MoESpec(
        num_experts=c.int("num_local_experts"),
        top_k=c.int("num_experts_per_tok"),
        expert_ffn=expert_ffn,
        shared_experts=1,
        shared_ffn=expert_ffn,
        dense_layers=tuple(i for i in range(layers) if i not in set(moe_layers)),
    )
    nope = c.d.get("no_rope_layers")
    if nope:  # HF: 1 = layer uses RoPE, 0 = NoPE
        if not isinstance(nope, list) or len(nope) != layers:
            raise c.err("no_rope_layers", f"must be a list of {layers} 0/1 entries")
        rope = [bool(x) for x in nope]
    else:
        interval = c.int("no_rope_layer_interval", default=4)
        rope = [(i + 1) % interval != 0 for i in range(layers)]
    f["nope_layers"] = tuple(i for i in range(layers) if not rope[i])
    chunk = c.int("attention_chunk_size", default=0, minimum=0)
    if chunk:
        f["attention_chunk"] = chunk
        f["layer_chunked"] = tuple(rope)
    return f


def _gpt2(c: _Cfg) -> dict[str, Any]:
    hidden = c.int("n_embd", "hidden_size")
    heads = c.int("n_head", "num_attention_heads")
    if hidden % heads:
        raise c.err("n_head", f"({heads}) does not divide n_embd ({hidden})")
    return dict(
        hidden=hidden,
        layers=c.int("n_layer", "num_hidden_layers"),
        heads=heads,
        kv_heads=heads,
        head_dim=hidden // heads,
        ffn=c.int("n_inner", default=4 * hidden),
        vocab=c.int("vocab_size"),
        gated_mlp=False,
        activation=c.act("activation_function", "gelu_new"),
        norm="layernorm",
        qkv_bias=True,
        o_bias=True,
        mlp_bias=True,
        tied_embeddings=c.bool("tie_word_embeddings", True),
        position="learned",
        max_positions=c.int("n_positions", "max_position_embeddings"),
    )


def _bert(c: _Cfg) -> dict[str, Any]:
    hidden = c.int("hidden_size")
    heads = c.int("num_attention_heads")
    if hidden % heads:
        raise c.err("num_attention_heads", f"({heads}) does not divide hidden_size ({hidden})")
    emb = c.int("embedding_size", default=hidden)
    layers = c.int("num_hidden_layers")
    groups = None
    if c.d.get("model_type") == "albert":
        groups = c.int("num_hidden_groups", default=1)
        if c.int("inner_group_num", default=1) != 1:
            raise c.err("inner_group_num", "other than 1 is not supported")
    return dict(
        embedding_dim=emb if emb != hidden else None,
        layer_groups=groups,
        hidden=hidden,
        layers=layers,
        heads=heads,
        kv_heads=heads,
        head_dim=hidden // heads,
        ffn=c.int("intermediate_size"),
        vocab=c.int("vocab_size"),
        gated_mlp=False,
        activation=c.act("hidden_act", "gelu"),
        norm="layernorm",
        qkv_bias=True,
        o_bias=True,
        mlp_bias=True,
        tied_embeddings=True,
        position="learned",
        max_positions=c.int("max_position_embeddings", default=512),
        type_vocab=c.int("type_vocab_size", default=2, minimum=0),
        embedding_norm=True,
        final_norm=False,
        pooler=c.d.get("model_type") in ("bert", "roberta", "xlm-roberta", "albert"),
        causal=False,
        dtype=c.dtype() if (c.has("torch_dtype") or c.has("dtype")) else "fp32",
    )


def _distilbert(c: _Cfg) -> dict[str, Any]:
    hidden = c.int("dim", "hidden_size")
    heads = c.int("n_heads", "num_attention_heads")
    if hidden % heads:
        raise c.err("n_heads", f"({heads}) does not divide dim ({hidden})")
    return dict(
        hidden=hidden,
        layers=c.int("n_layers", "num_hidden_layers"),
        heads=heads,
        kv_heads=heads,
        head_dim=hidden // heads,
        ffn=c.int("hidden_dim", "intermediate_size"),
        vocab=c.int("vocab_size"),
        gated_mlp=False,
        activation=c.act("activation", "gelu"),
        norm="layernorm",
        qkv_bias=True,
        o_bias=True,
        mlp_bias=True,
        tied_embeddings=True,
        position="learned",
        max_positions=c.int("max_position_embeddings", default=512),
        embedding_norm=True,
        final_norm=False,
        causal=False,
        dtype=c.dtype() if (c.has("torch_dtype") or c.has("dtype")) else "fp32",
    )


_PARSERS: dict[str, Callable[[_Cfg], dict[str, Any]]] = {
    "llama": _llama,
    "mistral": _llama,
    "qwen2": _qwen2,
    "qwen3": _qwen3,
    "mixtral": _mixtral,
    "qwen2_moe": lambda c: _qwen_moe(c, qwen3=False),
    "qwen3_moe": lambda c: _qwen_moe(c, qwen3=True),
    "deepseek_v2": _deepseek,
    "deepseek_v3": _deepseek,
    "gpt_oss": _gpt_oss,
    "llama4_text": _llama4,
    "gpt2": _gpt2,
    "gpt3": _gpt2,
    "bert": _bert,
    "roberta": _bert,
    "xlm-roberta": _bert,  # RoBERTa with a 250k multilingual vocabulary
    "electra": _bert,
    "albert": _bert,
    "distilbert": _distilbert,
}
SUPPORTED = tuple(sorted(_PARSERS))
