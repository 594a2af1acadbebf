"""ModelSpec: the architecture of a transformer, and the sizes derived from it.

Parameter-count conventions (they differ between vendors, so all are exposed):

* ``total_params``: every weight of the model as released (input embedding, learned position and token-type
  embeddings, all layers incl. every expert, final norm, LM head if untied, BERT pooler). DeepSeek-V3's
  multi-token-prediction module (``num_nextn_predict_layers``) is *not* counted, as in the paper's 671B.
* ``active_params``: weights touched by one token: as above but only the router's top-k experts (plus shared
  experts). Counts both the input embedding table and the LM head (Mixtral's "12.9B active" convention).
* ``active_params_excl_input_embedding``: ``active_params`` minus the input embedding tables (gpt-oss's
  "5.1B active" convention: the model card counts the unembedding but not the embedding).
* ``matmul_params``: active weights that take part in a matrix multiply per token (no embedding lookups, no
  norms/biases, LM head counted once even if tied). Forward FLOPs per token = 2 * matmul_params + attention.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from trnsim.errors import TrnsimError
from trnsim.models.dtypes import dtype_bytes

Phase = Literal["fwd", "bwd", "prefill", "decode"]


@dataclass(frozen=True)
class MoESpec:
    """Mixture-of-experts FFN. ``dense_layers`` lists the layer indices that keep a dense FFN."""

    num_experts: int
    top_k: int
    expert_ffn: int
    shared_experts: int = 0
    shared_ffn: int = 0  # intermediate size of each shared expert
    dense_layers: tuple[int, ...] = ()
    router_bias: bool = False  # gpt-oss router bias / DeepSeek-V3 e_score_correction_bias
    expert_bias: bool = False  # gpt-oss experts have biases
    shared_gate: bool = False  # Qwen2-MoE sigmoid gate on the shared expert

    @property
    def shared_total_ffn(self) -> int:
        return self.shared_experts * self.shared_ffn


@dataclass(frozen=True)
class MLASpec:
    """DeepSeek multi-head latent attention: low-rank Q, compressed joint KV latent + decoupled RoPE key."""

    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int
    q_lora_rank: int | None = None

    @property
    def qk_head_dim(self) -> int:
        return self.qk_nope_head_dim + self.qk_rope_head_dim

    @property
    def cache_dim(self) -> int:
        """Elements cached per token per layer: the KV latent plus the shared RoPE key."""
        return self.kv_lora_rank + self.qk_rope_head_dim


@dataclass(frozen=True)
class LayerType:
    """One kind of transformer layer; a model is a sequence of groups of identical layers."""

    name: str
    moe: bool
    window: int | None  # sliding-window size, None = full attention
    count: int
    chunk: int | None = None  # chunked attention (Llama-4): keys only from the query's own chunk
    first: int = 0  # index of the first layer of this type


@dataclass(frozen=True)
class ModelSpec:
    """A transformer's architecture (frozen). Build with :meth:`from_hf_config`, :meth:`gpt`, or
    :func:`trnsim.models.load_model`."""

    name: str
    arch: str  # HF model_type: llama, mistral, qwen2, qwen3, mixtral, qwen3_moe, deepseek_v3, gpt_oss, gpt2, bert ...
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    ffn: int  # dense FFN intermediate size (0 if every layer is MoE)
    vocab: int
    gated_mlp: bool = True  # SwiGLU/GeGLU: gate+up+down (3 matrices); else up+down
    activation: str = "silu"
    norm: Literal["rmsnorm", "layernorm"] = "rmsnorm"
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False
    qk_norm: bool = False  # Qwen3 per-head RMSNorm on q and k
    tied_embeddings: bool = False
    position: Literal["rope", "learned", "none"] = "rope"
    max_positions: int = 4096
    type_vocab: int = 0  # BERT token-type embeddings
    embedding_norm: bool = False  # BERT LayerNorm after the embeddings
    embedding_dim: int | None = None  # factorized embeddings (ALBERT, ELECTRA-small): tables E wide + E->h proj
    layer_groups: int | None = None  # ALBERT cross-layer sharing: this many distinct layers' weights
    final_norm: bool = True  # pre-LN decoders have a final norm; post-LN BERT does not
    pooler: bool = False  # BERT pooler (dense h x h + tanh)
    causal: bool = True
    sliding_window: int | None = None  # window of the layers that use one
    layer_windows: tuple[int | None, ...] | None = None  # per layer (gpt-oss); None: all use sliding_window
    attention_chunk: int | None = None  # Llama-4 chunked attention size
    layer_chunked: tuple[bool, ...] | None = None  # per layer: uses chunked attention (RoPE layers in Llama-4)
    attention_sinks: bool = False  # gpt-oss: one learned sink logit per head
    nope_layers: tuple[int, ...] = ()  # layers without rotary embedding (Llama-4 iRoPE)
    moe: MoESpec | None = None
    mla: MLASpec | None = None
    mtp_layers: int = 0  # DeepSeek-V3 multi-token-prediction modules (not counted, not in ops)
    dtype: str = "bf16"  # dtype of the released weights
    source: str = ""  # file or description it was built from
    display_name: str = ""
    notes: tuple[str, ...] = ()

    # ------------------------------------------------------------------ construction
    def __post_init__(self) -> None:
        origin = self.source or self.name
        for f in ("hidden", "layers", "heads", "kv_heads", "head_dim", "vocab"):
            v = getattr(self, f)
            if not isinstance(v, int) or v <= 0:
                raise TrnsimError(f"{origin}: field '{f}' must be a positive integer, got {v!r}")
        if self.heads % self.kv_heads:
            raise TrnsimError(
                f"{origin}: num_attention_heads={self.heads} is not a multiple of num_key_value_heads={self.kv_heads}",
                "fix the head counts",
            )
        if self.layer_windows is not None and len(self.layer_windows) != self.layers:
            raise TrnsimError(
                f"{origin}: field 'layer_types' has {len(self.layer_windows)} entries for {self.layers} layers",
                "give one entry per layer",
            )
        if self.layer_chunked is not None and (len(self.layer_chunked) != self.layers or not self.attention_chunk):
            raise TrnsimError(f"{origin}: chunked-attention layers need attention_chunk_size and one entry per layer")
        if self.moe is not None:
            m = self.moe
            if not 0 < m.top_k <= m.num_experts:
                raise TrnsimError(f"{origin}: num_experts_per_tok={m.top_k} must be in 1..{m.num_experts}")
            if any(not 0 <= i < self.layers for i in m.dense_layers):
                raise TrnsimError(f"{origin}: dense (non-MoE) layer index out of range 0..{self.layers - 1}")
        has_dense = self.moe is None or len(self.moe.dense_layers) > 0
        if has_dense and self.ffn <= 0:
            raise TrnsimError(f"{origin}: field 'intermediate_size' must be a positive integer for dense layers")

    @classmethod
    def from_hf_config(cls, path_or_dict: Any, *, name: str | None = None) -> "ModelSpec":
        """Parse a Hugging Face ``config.json`` (a path, JSON text or a dict). No download needed."""
        from trnsim.models.hf import parse_hf_config

        return parse_hf_config(path_or_dict, name=name)

    @classmethod
    def gpt(
        cls,
        hidden: int,
        layers: int,
        heads: int,
        vocab: int = 50257,
        seq_len: int = 2048,
        *,
        ffn: int | None = None,
        kv_heads: int | None = None,
        tied_embeddings: bool = False,
        position: Literal["rope", "learned", "none"] = "learned",
        gated_mlp: bool = False,
        bias: bool = True,
        norm: Literal["rmsnorm", "layernorm"] = "layernorm",
        name: str | None = None,
    ) -> "ModelSpec":
        """A GPT-style decoder from the few numbers papers and benchmark tables give (GPT-2/3, Megatron-LM).

        Defaults: 4h GELU MLP with biases, LayerNorm, learned position embeddings (``seq_len`` of them),
        untied input/output embeddings (Megatron-LM's published sizes, e.g. "GPT 7.1B" = h4096 L30
        V131072, only add up untied; the shipped ``gpt3-175b`` config is tied like GPT-2/3).
        """
        if hidden % heads:
            raise TrnsimError(f"GPT model: hidden={hidden} is not a multiple of heads={heads}")
        return cls(
            name=name or f"gpt-h{hidden}-l{layers}-a{heads}",
            arch="gpt",
            hidden=hidden,
            layers=layers,
            heads=heads,
            kv_heads=kv_heads or heads,
            head_dim=hidden // heads,
            ffn=ffn or 4 * hidden,
            vocab=vocab,
            gated_mlp=gated_mlp,
            activation="silu" if gated_mlp else "gelu",
            norm=norm,
            qkv_bias=bias,
            o_bias=bias,
            mlp_bias=bias,
            tied_embeddings=tied_embeddings,
            position=position,
            max_positions=seq_len,
            source="ModelSpec.gpt()",
        )

    def with_(self, **changes: Any) -> "ModelSpec":
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    # ------------------------------------------------------------------ structure
    @property
    def is_moe(self) -> bool:
        return self.moe is not None

    @property
    def is_encoder(self) -> bool:
        return not self.causal

    def is_moe_layer(self, i: int) -> bool:
        return self.moe is not None and i not in self.moe.dense_layers

    def window_of(self, i: int) -> int | None:
        if self.layer_windows is not None:
            return self.layer_windows[i]
        return self.sliding_window

    def chunk_of(self, i: int) -> int | None:
        if self.layer_chunked is not None and self.layer_chunked[i]:
            return self.attention_chunk
        return None

    def attention_span(self, i: int) -> int | None:
        """Most keys one query of layer ``i`` can see (window or chunk), None if unbounded."""
        return self.window_of(i) or self.chunk_of(i)

    def layer_types(self, start: int = 0, end: int | None = None) -> list[LayerType]:
        """Groups of identical layers among layers ``start..end-1``, in order of first appearance."""
        end = self.layers if end is None else end
        if not 0 <= start < end <= self.layers:
            raise TrnsimError(f"{self.name}: layer range {start}..{end} outside 0..{self.layers}")
        counts: dict[tuple[bool, int | None, int | None], list[int]] = {}
        for i in range(start, end):
            key = (self.is_moe_layer(i), self.window_of(i), self.chunk_of(i))
            counts.setdefault(key, []).append(i)
        out = []
        for (moe, window, chunk), idx in counts.items():
            name = "moe" if moe else "dense"
            if window is not None:
                name += f".swa{window}"
            if chunk is not None:
                name += f".chunk{chunk}"
            out.append(LayerType(name=name, moe=moe, window=window, count=len(idx), chunk=chunk, first=idx[0]))
        return out

    @property
    def q_head_dim(self) -> int:
        return self.mla.qk_head_dim if self.mla else self.head_dim

    @property
    def v_head_dim(self) -> int:
        return self.mla.v_head_dim if self.mla else self.head_dim

    @property
    def attn_dim(self) -> int:
        """Width of the attention output (heads x v head dim)."""
        return self.heads * self.v_head_dim

    # ------------------------------------------------------------------ parameter counts
    def _norm_params(self, width: int) -> int:
        return 2 * width if self.norm == "layernorm" else width

    def attention_params(self) -> int:
        """Parameters of one attention block (projections, biases, q/k norms, sinks; not the input norm)."""
        h = self.hidden
        if self.mla is not None:
            m = self.mla
            if m.q_lora_rank:
                q = h * m.q_lora_rank + self._norm_params(m.q_lora_rank) + m.q_lora_rank * self.heads * m.qk_head_dim
            else:
                q = h * self.heads * m.qk_head_dim
            kv = h * m.cache_dim + self._norm_params(m.kv_lora_rank)
            kv += m.kv_lora_rank * self.heads * (m.qk_nope_head_dim + m.v_head_dim)
            o = self.heads * m.v_head_dim * h
            return q + kv + o + (h if self.o_bias else 0)
        qd, kvd = self.heads * self.head_dim, self.kv_heads * self.head_dim
        n = h * (qd + 2 * kvd) + qd * h
        if self.qkv_bias:
            n += qd + 2 * kvd
        if self.o_bias:
            n += h
        if self.qk_norm:
            n += 2 * self.head_dim
        if self.attention_sinks:
            n += self.heads
        return n

    def _ffn_params(self, ffn: int, bias: bool) -> int:
        h = self.hidden
        if self.gated_mlp:
            return 3 * h * ffn + ((2 * ffn + h) if bias else 0)
        return 2 * h * ffn + ((ffn + h) if bias else 0)

    def dense_mlp_params(self) -> int:
        return self._ffn_params(self.ffn, self.mlp_bias)

    def expert_params(self) -> int:
        """Parameters of one routed expert."""
        assert self.moe is not None
        return self._ffn_params(self.moe.expert_ffn, self.moe.expert_bias)

    def _moe_fixed_params(self) -> int:
        """Router + shared experts of one MoE layer."""
        m = self.moe
        assert m is not None
        n = self.hidden * m.num_experts + (m.num_experts if m.router_bias else 0)
        if m.shared_experts:
            n += self._ffn_params(m.shared_total_ffn, m.expert_bias)
            if m.shared_gate:
                n += self.hidden
        return n

    def moe_mlp_params(self, active: bool = False) -> int:
        m = self.moe
        assert m is not None
        experts = m.top_k if active else m.num_experts
        return self._moe_fixed_params() + experts * self.expert_params()

    def layer_params(self, i: int, active: bool = False) -> int:
        n = self.attention_params() + 2 * self._norm_params(self.hidden)
        if self.is_moe_layer(i):
            return n + self.moe_mlp_params(active)
        return n + self.dense_mlp_params()

    @property
    def embed_width(self) -> int:
        return self.embedding_dim or self.hidden

    def input_embedding_params(self) -> int:
        h = self.embed_width
        n = self.vocab * h
        if self.position == "learned":
            n += self.max_positions * h
        n += self.type_vocab * h
        return n

    def head_params(self) -> int:
        """Weights outside the layers and embedding tables: final norm, LM head (0 if tied), embedding norm,
        factorized-embedding projection and pooler."""
        h = self.hidden
        n = self._norm_params(h) if self.final_norm else 0
        if self.embedding_norm:
            n += self._norm_params(self.embed_width)
        if self.embedding_dim and self.embedding_dim != h:
            n += self.embedding_dim * h + h
        if self.pooler:
            n += h * h + h
        if self.causal and not self.tied_embeddings:
            n += self.vocab * h
        return n

    def _sum_layers(self, active: bool) -> int:
        distinct = self.layers if self.layer_groups is None else min(self.layer_groups, self.layers)
        return sum(self.layer_params(i, active) for i in range(distinct))

    @property
    def total_params(self) -> int:
        return self.input_embedding_params() + self._sum_layers(False) + self.head_params()

    @property
    def active_params(self) -> int:
        return self.input_embedding_params() + self._sum_layers(True) + self.head_params()

    @property
    def active_params_excl_input_embedding(self) -> int:
        return self.active_params - self.input_embedding_params()

    @property
    def embedding_params(self) -> int:
        """Input embedding tables plus the untied LM head."""
        lm = self.vocab * self.hidden if (self.causal and not self.tied_embeddings) else 0
        return self.input_embedding_params() + lm

    @property
    def non_embedding_params(self) -> int:
        return self.total_params - self.embedding_params

    @property
    def matmul_params(self) -> int:
        """Active weights used in a matmul per token (see module doc); LM head included for decoders."""
        h = self.hidden
        n = 0
        for lt in self.layer_types():
            per = self._attn_matmul_params()
            if lt.moe:
                m = self.moe
                assert m is not None
                per += h * m.num_experts + m.top_k * self._ffn_matmul(m.expert_ffn) + self._ffn_matmul(m.shared_total_ffn)
            else:
                per += self._ffn_matmul(self.ffn)
            n += lt.count * per
        if self.causal:
            n += self.vocab * h
        if self.pooler:
            n += h * h
        if self.embedding_dim and self.embedding_dim != h:
            n += self.embedding_dim * h
        return n

    def _ffn_matmul(self, ffn: int) -> int:
        return (3 if self.gated_mlp else 2) * self.hidden * ffn

    def _attn_matmul_params(self) -> int:
        h = self.hidden
        if self.mla is not None:
            m = self.mla
            q = (h * m.q_lora_rank + m.q_lora_rank * self.heads * m.qk_head_dim) if m.q_lora_rank else h * self.heads * m.qk_head_dim
            kv = h * m.cache_dim + m.kv_lora_rank * self.heads * (m.qk_nope_head_dim + m.v_head_dim)
            return q + kv + self.heads * m.v_head_dim * h
        qd, kvd = self.heads * self.head_dim, self.kv_heads * self.head_dim
        return h * (qd + 2 * kvd) + qd * h

    def param_breakdown(self) -> dict[str, int]:
        """Total parameters by part (sums to ``total_params``), for sharding and memory estimates.

        Keys: embedding (input tables), lm_head (untied), attention, norms (layer norms), dense_mlp,
        router, shared_experts, experts (all routed experts), other (final/embedding norm, pooler, projection).
        """
        distinct = self.layers if self.layer_groups is None else min(self.layer_groups, self.layers)
        out = dict.fromkeys(
            ("embedding", "lm_head", "attention", "norms", "dense_mlp", "router", "shared_experts", "experts", "other"), 0
        )
        out["embedding"] = self.input_embedding_params()
        out["lm_head"] = self.vocab * self.hidden if (self.causal and not self.tied_embeddings) else 0
        for i in range(distinct):
            out["attention"] += self.attention_params()
            out["norms"] += 2 * self._norm_params(self.hidden)
            if self.is_moe_layer(i):
                m = self.moe
                assert m is not None
                out["router"] += self.hidden * m.num_experts + (m.num_experts if m.router_bias else 0)
                out["shared_experts"] += self._moe_fixed_params() - (
                    self.hidden * m.num_experts + (m.num_experts if m.router_bias else 0))
                out["experts"] += m.num_experts * self.expert_params()
            else:
                out["dense_mlp"] += self.dense_mlp_params()
        out["other"] = self.head_params() - out["lm_head"]
        return out

    def param_bytes(self, dtype: str | None = None) -> float:
        """Bytes of all weights in ``dtype`` (default: the released dtype)."""
        return self.total_params * dtype_bytes(dtype or self.dtype)

    # ------------------------------------------------------------------ KV cache
    def kv_elems_per_token_layer(self, tp: int = 1) -> int:
        """K+V elements cached per token per layer, per chip under tensor parallelism ``tp``.

        GQA: 2 x kv_heads x head_dim, KV heads split over tp (replicated when kv_heads < tp).
        MLA: kv_lora_rank + qk_rope_head_dim (the latent is replicated across tp).
        """
        if self.mla is not None:
            return self.mla.cache_dim
        return 2 * _ceil_div(self.kv_heads, tp) * self.head_dim

    def kv_cache_bytes_per_token(self, dtype: str = "bf16", *, context: int | None = None, tp: int = 1) -> float:
        """KV-cache bytes one token adds, summed over layers (per chip for ``tp`` > 1).

        Sliding-window layers keep at most ``window`` tokens: given ``context`` (sequence length), their
        share is scaled by min(1, window/context); without it every layer counts in full (upper bound).
        Encoders (no KV cache) return 0.
        """
        if not self.causal:
            return 0.0
        per_layer = self.kv_elems_per_token_layer(tp) * dtype_bytes(dtype)
        total = 0.0
        for i in range(self.layers):
            w = self.attention_span(i)
            frac = 1.0 if (w is None or context is None or context <= w) else w / context
            total += per_layer * frac
        return total

    def kv_cache_bytes(self, tokens: int, dtype: str = "bf16", *, tp: int = 1) -> float:
        """KV-cache bytes of one sequence holding ``tokens`` tokens (sliding windows capped)."""
        if not self.causal or tokens <= 0:
            return 0.0
        per_layer = self.kv_elems_per_token_layer(tp) * dtype_bytes(dtype)
        return sum(per_layer * min(tokens, self.attention_span(i) or tokens) for i in range(self.layers))

    # ------------------------------------------------------------------ FLOPs
    def ops(self, phase: Phase, batch: int, seq_len: int, **kw: Any) -> list:
        """Per-chip operator list for one step of ``phase``; see :func:`trnsim.models.layers.build_ops`."""
        from trnsim.models.layers import build_ops

        return build_ops(self, phase, batch, seq_len, **kw)

    def flops_per_token(self, seq_len: int, *, training: bool = False) -> float:
        """Average FLOPs per token for sequences of ``seq_len`` (causal masking honoured).

        Forward: 2 x matmul_params + attention scores/values. Training: forward + backward
        (GEMMs 2x forward, attention 2.5x forward).
        """
        from trnsim.models.layers import build_ops
        from trnsim.models.op import total_flops

        f = total_flops(build_ops(self, "fwd", 1, seq_len))
        if training:
            f += total_flops(build_ops(self, "bwd", 1, seq_len))
        return f / seq_len

    def attention_flops_per_token(self, seq_len: int) -> float:
        """Forward attention FLOPs (QK^T and PV) per token, averaged over a causal sequence of ``seq_len``."""
        from trnsim.models.layers import attention_pairs

        total = 0.0
        for lt in self.layer_types():
            pairs = attention_pairs(0, seq_len, lt.window, self.causal, lt.chunk)
            total += lt.count * 2 * pairs * self.heads * (self.q_head_dim + self.v_head_dim)
        return total / seq_len

    # ------------------------------------------------------------------ description
    def summary(self) -> dict[str, Any]:
        """Plain dict for tables and JSON."""
        d: dict[str, Any] = {
            "name": self.name,
            "display_name": self.display_name or self.name,
            "arch": self.arch,
            "type": "encoder" if not self.causal else ("moe decoder" if self.moe else "dense decoder"),
            "hidden": self.hidden,
            "layers": self.layers,
            "heads": self.heads,
            "kv_heads": self.kv_heads,
            "head_dim": self.head_dim,
            "ffn": self.ffn,
            "vocab": self.vocab,
            "mlp": ("gated " if self.gated_mlp else "") + self.activation,
            "norm": self.norm,
            "position": self.position,
            "max_positions": self.max_positions,
            "tied_embeddings": self.tied_embeddings,
            "sliding_window": self.sliding_window,
            "attention_chunk": self.attention_chunk,
            "attention_sinks": self.attention_sinks,
            "dtype": self.dtype,
            "layer_types": [{"name": lt.name, "count": lt.count} for lt in self.layer_types()],
        }
        if self.moe:
            d["moe"] = {
                "experts": self.moe.num_experts,
                "top_k": self.moe.top_k,
                "expert_ffn": self.moe.expert_ffn,
                "shared_experts": self.moe.shared_experts,
                "dense_layers": len(self.moe.dense_layers),
            }
        if self.mla:
            d["mla"] = {
                "q_lora_rank": self.mla.q_lora_rank,
                "kv_lora_rank": self.mla.kv_lora_rank,
                "qk_nope_head_dim": self.mla.qk_nope_head_dim,
                "qk_rope_head_dim": self.mla.qk_rope_head_dim,
                "v_head_dim": self.mla.v_head_dim,
            }
        if self.mtp_layers:
            d["mtp_layers_not_counted"] = self.mtp_layers
        d.update(
            total_params=self.total_params,
            active_params=self.active_params,
            active_params_excl_input_embedding=self.active_params_excl_input_embedding,
            embedding_params=self.embedding_params,
            matmul_params=self.matmul_params,
        )
        return d


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def ceil_div(a: int, b: int) -> int:
    return _ceil_div(a, b)


__all__ = ["LayerType", "MLASpec", "MoESpec", "ModelSpec", "Phase", "ceil_div"]
