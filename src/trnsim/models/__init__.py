"""Model architectures (from Hugging Face config.json) -> per-phase op lists.

    >>> from trnsim.models import load_model
    >>> m = load_model("Llama-3.1-405B")
    >>> m.total_params, m.kv_cache_bytes_per_token("bf16")
    >>> ops = m.ops("decode", batch=8, seq_len=4096, tp=8)   # per-chip Ops, count = layers of that type
"""

from trnsim.models.catalog import (
    catalog_entry, list_models, load_model, model_for_row, model_key, resolve_model_name,
)
from trnsim.models.dtypes import canonical_dtype, dtype_bytes
from trnsim.models.hf import SUPPORTED as SUPPORTED_MODEL_TYPES
from trnsim.models.hf import parse_hf_config
from trnsim.models.layers import PHASES, attention_pairs, build_ops, expected_active_experts, summarize
from trnsim.models.op import Op, OpKind, total_bytes, total_flops
from trnsim.models.spec import LayerType, MLASpec, ModelSpec, MoESpec

__all__ = [
    "LayerType", "MLASpec", "ModelSpec", "MoESpec", "Op", "OpKind", "PHASES", "SUPPORTED_MODEL_TYPES",
    "attention_pairs", "build_ops", "canonical_dtype", "catalog_entry", "dtype_bytes", "expected_active_experts",
    "list_models", "load_model", "model_for_row", "model_key", "parse_hf_config", "resolve_model_name", "summarize",
    "total_bytes", "total_flops",
]
