"""Per-phase operator lists of a ModelSpec: what one chip computes and moves for one step.

``build_ops(spec, phase, batch, seq_len, ...)`` returns :class:`Op` s grouped by layer type: every op of a
transformer layer appears once with ``count`` = number of layers of that type (``op.layer`` names the group),
plus the embedding ops (``layer="embed"``) and the head ops (``layer="head"``), each with count 1.

Phases (``batch`` sequences each):

* ``fwd``: training forward over ``seq_len`` tokens per sequence (LM head and softmax/cross-entropy on every
  token; BERT-style encoders get the MLM head).
* ``bwd``: training backward. Every GEMM becomes a data-gradient and a weight-gradient GEMM (2x forward
  FLOPs); attention backward is 2.5x forward FLOPs (FlashAttention: recompute QK^T, dV, dP, dQ, dK);
  norms/elementwise/softmax ~2x, reading their inputs and output gradients and writing input gradients.
* ``prefill``: ``seq_len`` new tokens per sequence on top of ``kv_len`` cached ones (default 0); writes the
  KV cache; LM head only on the last token of each sequence (encoders: the pooler).
* ``decode``: one new token per sequence attending to ``kv_len`` cached tokens (default ``seq_len``); reads
  all (active) weights and the KV cache, appends one token to the cache.

FLOPs count multiply-adds as 2 and include the attention matmuls (QK^T, PV) over unmasked positions only
(causal: keys at or before the query; sliding window: the last ``window`` keys); softmax exponentials and
norms are counted as a few FLOPs per element and do not enter the 6N rule.

Bytes: activations in ``dtype``, weights in ``weight_dtype`` and the KV cache in ``kv_dtype`` (both default
``dtype``). GEMMs read their input and weights and write their output (no cache reuse across ops).

Parallelism (per-chip work): ``tp`` splits attention heads (KV heads replicated when fewer than ``tp``), FFN
columns, expert FFN columns (``etp``, default ``tp`` without EP and 1 with EP) and the LM head vocab;
router, MLA down-projections and norms are replicated (``sp=True``: norms and residuals split over ``tp``
as Megatron sequence parallelism does). ``ep`` places ``num_experts/ep`` experts on each chip: ``batch`` is
the per-chip batch, tokens are exchanged within the EP group so each chip still computes ``tokens x top_k``
expert rows (uniform routing), over its local experts, and reads the weights of the local experts that
received at least one token (expected value under uniform routing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trnsim.errors import TrnsimError
from trnsim.models.dtypes import canonical_dtype, dtype_bytes
from trnsim.models.op import Op
from trnsim.models.spec import LayerType, ModelSpec, ceil_div

PHASES = ("fwd", "bwd", "prefill", "decode")
_NORM_FLOPS = {"rmsnorm": 4, "layernorm": 7}  # per element
_ACT_FLOPS = {"silu": 5, "gelu": 8, "relu": 1}  # per element incl. the gating multiply for gated MLPs
_ID_BYTES = 4  # token ids (int32)


def attention_pairs(past: int, q_len: int, window: int | None, causal: bool, chunk: int | None = None) -> int:
    """Number of (query, key) pairs scored for one sequence and head.

    Queries sit at positions ``past+1 .. past+q_len`` (1-based); with ``causal`` each sees keys up to its own
    position, limited to the last ``window`` ones when a sliding window applies, or to the keys of its own
    ``chunk`` (positions grouped in blocks of ``chunk``) for chunked attention.
    """
    if q_len <= 0:
        return 0
    if not causal:
        return q_len * (past + q_len)
    if chunk:
        def upto(n: int) -> int:  # sum over p=1..n of ((p-1) % chunk) + 1
            full, r = divmod(n, chunk)
            return full * chunk * (chunk + 1) // 2 + r * (r + 1) // 2
        return upto(past + q_len) - upto(past)
    a, b = past + 1, past + q_len
    if window is None or window >= b:
        return (a + b) * q_len // 2
    # positions <= window see p keys; the rest see window keys
    lo_end = min(b, window)
    s = (a + lo_end) * (lo_end - a + 1) // 2 if a <= lo_end else 0
    s += window * (b - max(a - 1, lo_end))
    return s


def _kv_positions_read(past: int, q_len: int, window: int | None, causal: bool, chunk: int | None = None) -> int:
    total = past + q_len
    if not causal:
        return total
    if chunk:
        return total - (past // chunk) * chunk  # from the start of the first query's chunk
    if window is None:
        return total
    return min(total, window + q_len - 1)


@dataclass(frozen=True)
class _Ctx:
    spec: ModelSpec
    phase: str  # fwd / prefill / decode (bwd is derived from fwd)
    batch: int
    q_len: int
    past: int
    tp: int
    ep: int
    etp: int
    sp: bool
    dtype: str
    a: float  # activation bytes/element
    w: float  # weight bytes/element
    kv: float  # KV-cache bytes/element

    @property
    def tokens(self) -> int:
        return self.batch * self.q_len

    @property
    def norm_tokens(self) -> int:
        return ceil_div(self.tokens, self.tp) if self.sp else self.tokens

    @property
    def serving(self) -> bool:
        return self.phase in ("prefill", "decode")


class _Builder:
    def __init__(self, ctx: _Ctx, layer: str, count: int):
        self.c = ctx
        self.layer = layer
        self.count = count
        self.ops: list[Op] = []

    def _add(self, name: str, kind: str, flops: float, read: float, write: float, shape: dict[str, int]) -> None:
        self.ops.append(
            Op(
                name=f"{self.layer}.{name}",
                kind=kind,  # type: ignore[arg-type]
                flops=float(flops),
                bytes_read=float(read),
                bytes_written=float(write),
                dtype=self.c.dtype,
                shape=shape,
                phase=self.c.phase,
                count=self.count,
                layer=self.layer,
            )
        )

    def gemm(self, name: str, m: int, n: int, k: int, *, bias: bool = False, batch: int = 1) -> None:
        c = self.c
        read = batch * (m * k * c.a + k * n * c.w + (n * c.w if bias else 0))
        shape = {"m": m, "n": n, "k": k}
        if batch > 1:
            shape["batch"] = batch
        self._add(name, "gemm", 2.0 * batch * m * n * k, read, batch * m * n * c.a, shape)

    def moe_gemm(self, name: str, rows: float, n: int, k: int, active: float, *, bias: bool = False,
                 padded_rows: float | None = None) -> None:
        """Grouped GEMM: ``rows`` token-expert rows spread over ``active`` experts with weights ``k x n``.
        ``padded_rows``: the rows the kernel computes (each expert's rows rounded up to whole M tiles); kept
        in the shape (``rows``/``rows_padded``) for the cost models, the op's FLOPs stay the useful ones."""
        c = self.c
        read = rows * k * c.a + active * (k * n + (n if bias else 0)) * c.w
        shape = {"m": max(1, round(rows / active)), "n": n, "k": k, "experts": max(1, round(active))}
        if padded_rows is not None and padded_rows > rows:
            shape["rows"] = max(1, round(rows))
            shape["rows_padded"] = round(padded_rows)
        self._add(name, "moe_gemm", 2.0 * rows * n * k, read, rows * n * c.a, shape)

    def norm(self, name: str, tokens: int, width: int) -> None:
        c = self.c
        flops = _NORM_FLOPS[c.spec.norm] * tokens * width
        wmul = 2 if c.spec.norm == "layernorm" else 1
        self._add(name, "norm", flops, tokens * width * c.a + wmul * width * c.w, tokens * width * c.a,
                  {"tokens": tokens, "hidden": width})

    def elementwise(self, name: str, elements: int, *, flops_per: float = 1, inputs: int = 1) -> None:
        c = self.c
        self._add(name, "elementwise", flops_per * elements, inputs * elements * c.a, elements * c.a,
                  {"elements": elements})

    def softmax(self, name: str, rows: int, cols: int) -> None:
        c = self.c
        self._add(name, "softmax", 5.0 * rows * cols, rows * cols * c.a, rows * cols * c.a, {"rows": rows, "cols": cols})

    def attention(self, name: str, *, q_heads: int, kv_heads: int, head_dim: int, head_dim_v: int,
                  window: int | None, kv_elems_read: int, kv_elems_new: int, chunk: int | None = None) -> None:
        """Fused (FlashAttention-style) attention; K/V elements per token given by the caller (MLA shares them)."""
        c = self.c
        s = c.spec
        b, q, past = c.batch, c.q_len, c.past
        pairs = attention_pairs(past, q, window, s.causal, chunk)
        flops = 2.0 * b * q_heads * pairs * (head_dim + head_dim_v)
        kv_bytes = c.kv if c.serving else c.a
        kv_pos = _kv_positions_read(past, q, window, s.causal, chunk)
        read = b * q * q_heads * head_dim * c.a + b * kv_pos * kv_elems_read * kv_bytes
        write = b * q * q_heads * head_dim_v * c.a
        if c.serving and s.causal:
            write += b * q * kv_elems_new * c.kv  # append to the KV cache
        shape = {
            "batch": b, "q_len": q, "kv_len": past + q, "q_heads": q_heads, "kv_heads": kv_heads,
            "head_dim": head_dim, "head_dim_v": head_dim_v, "causal": int(s.causal), "window": window or 0,
        }
        if chunk:
            shape["chunk"] = chunk
        self._add(name, "attention", flops, read, write, shape)

    def embedding(self, name: str, tokens: int, hidden: int, vocab: int, tables: int) -> None:
        c = self.c
        read = tokens * _ID_BYTES + tables * tokens * hidden * c.w
        self._add(name, "embedding", (tables - 1) * tokens * hidden, read, tokens * hidden * c.a,
                  {"tokens": tokens, "hidden": hidden, "vocab": vocab})


# ------------------------------------------------------------------------------------------------ layers
def _attention_block(bld: _Builder, lt: LayerType) -> None:
    c, s = bld.c, bld.c.spec
    T, h, tp = c.tokens, s.hidden, c.tp
    hq = s.heads // tp
    if s.mla is not None:
        m = s.mla
        if m.q_lora_rank:
            bld.gemm("q_a_proj", T, m.q_lora_rank, h)
            bld.norm("q_a_norm", T, m.q_lora_rank)
            bld.gemm("q_b_proj", T, hq * m.qk_head_dim, m.q_lora_rank)
        else:
            bld.gemm("q_proj", T, hq * m.qk_head_dim, h)
        bld.gemm("kv_a_proj", T, m.cache_dim, h)
        bld.norm("kv_a_norm", T, m.kv_lora_rank)
        bld.elementwise("rope", T * (hq + 1) * m.qk_rope_head_dim, flops_per=3)
        if c.phase == "decode":
            # weight absorption: attend over the compressed latent (MQA with one 576-wide KV head)
            bld.gemm("q_absorb", T, m.kv_lora_rank, m.qk_nope_head_dim, batch=hq)
            bld.attention("attention", q_heads=hq, kv_heads=1, head_dim=m.cache_dim, head_dim_v=m.kv_lora_rank,
                          window=lt.window, kv_elems_read=m.cache_dim, kv_elems_new=m.cache_dim, chunk=lt.chunk)
            bld.gemm("v_absorb", T, m.v_head_dim, m.kv_lora_rank, batch=hq)
        else:
            # expand the latent into per-head K (nope part) and V for all keys attended to
            kv_tokens = c.batch * (c.past + c.q_len) if c.phase == "prefill" else T
            bld.gemm("kv_b_proj", kv_tokens, hq * (m.qk_nope_head_dim + m.v_head_dim), m.kv_lora_rank)
            bld.attention("attention", q_heads=hq, kv_heads=hq, head_dim=m.qk_head_dim, head_dim_v=m.v_head_dim,
                          window=lt.window, kv_elems_read=hq * (m.qk_head_dim + m.v_head_dim),
                          kv_elems_new=m.cache_dim, chunk=lt.chunk)
        bld.gemm("o_proj", T, h, hq * m.v_head_dim, bias=s.o_bias)
        return
    hkv = ceil_div(s.kv_heads, tp)
    d = s.head_dim
    bld.gemm("qkv_proj", T, (hq + 2 * hkv) * d, h, bias=s.qkv_bias)
    if s.qk_norm:
        bld.norm("qk_norm", T * (hq + hkv), d)
    if s.position == "rope" and not (s.nope_layers and lt.first in s.nope_layers):
        bld.elementwise("rope", T * (hq + hkv) * d, flops_per=3)
    bld.attention("attention", q_heads=hq, kv_heads=hkv, head_dim=d, head_dim_v=d, window=lt.window,
                  kv_elems_read=2 * hkv * d, kv_elems_new=2 * hkv * d, chunk=lt.chunk)
    bld.gemm("o_proj", T, h, hq * d, bias=s.o_bias)


def _ffn(bld: _Builder, prefix: str, tokens: int, ffn: int, shard: int, bias: bool) -> None:
    s = bld.c.spec
    f = ceil_div(ffn, shard)
    act = _ACT_FLOPS.get(s.activation, 5)
    if s.gated_mlp:
        bld.gemm(f"{prefix}gate_up_proj", tokens, 2 * f, s.hidden, bias=bias)
        bld.elementwise(f"{prefix}act", tokens * f, flops_per=act, inputs=2)
    else:
        bld.gemm(f"{prefix}up_proj", tokens, f, s.hidden, bias=bias)
        bld.elementwise(f"{prefix}act", tokens * f, flops_per=act)
    bld.gemm(f"{prefix}down_proj", tokens, s.hidden, f, bias=bias)


# M-tile rows of a grouped-GEMM expert problem: each expert's token rows are computed in whole CTA tiles of
# this many rows (CUTLASS SM80/SM90 grouped GEMMs as used by the TensorRT-LLM, vLLM and Megatron MoE layers
# tile M at 128 for large problems).  assumed.
MOE_M_TILE = 128


def expected_tile_rows(tokens: float, top_k: int, num_experts: int, tile: int = MOE_M_TILE) -> float:
    """Expected rows one expert's GEMM computes when ``tokens`` tokens each pick ``top_k`` of ``num_experts``
    uniformly: ``E[ceil(X / tile)] * tile`` with ``X ~ Binomial(tokens, top_k / num_experts)``. Uniform routing
    already spreads the per-expert counts binomially, so the padding is paid per expert, not on the mean."""
    import math

    n = int(round(tokens))
    if n <= 0 or tile <= 1:
        return max(0.0, tokens * top_k / num_experts)
    p = min(1.0, top_k / num_experts)
    mu = n * p
    sd = math.sqrt(n * p * (1.0 - p))
    if sd > 4.0 * tile:  # the remainder is ~uniform over the tile
        return mu + tile / 2.0
    lo, hi = max(0, int(mu - 10 * sd) - 1), min(n, int(mu + 10 * sd) + 2)
    if p >= 1.0:
        return float(math.ceil(n / tile) * tile)
    lp, lq = math.log(p), math.log1p(-p)
    lg = math.lgamma(n + 1)
    tot = 0.0
    for x in range(max(1, lo), hi + 1):
        pmf = math.exp(lg - math.lgamma(x + 1) - math.lgamma(n - x + 1) + x * lp + (n - x) * lq)
        tot += pmf * math.ceil(x / tile)
    return tot * tile


def expected_active_experts(num_experts: int, top_k: int, tokens: int) -> float:
    """Expected number of distinct experts hit by ``tokens`` tokens each routed to ``top_k`` of ``num_experts``
    (uniform routing)."""
    if tokens <= 0:
        return 0.0
    return num_experts * (1.0 - (1.0 - top_k / num_experts) ** tokens)


def _moe_block(bld: _Builder) -> None:
    c, s = bld.c, bld.c.spec
    m = s.moe
    assert m is not None
    T, h = c.tokens, s.hidden
    bld.gemm("router", T, m.num_experts, h, bias=m.router_bias)
    bld.softmax("router_topk", T, m.num_experts)
    rows = float(T * m.top_k)
    local = m.num_experts / c.ep
    active = local * (1.0 - (1.0 - m.top_k / m.num_experts) ** (T * c.ep))
    active = max(active, 1e-9)
    # rows the grouped GEMMs compute: every local expert's rows rounded up to whole M tiles
    padded = local * expected_tile_rows(T * c.ep, m.top_k, m.num_experts)
    f = ceil_div(m.expert_ffn, c.etp)
    act = _ACT_FLOPS.get(s.activation, 5)
    # permute: gather each token's hidden row into the expert-sorted buffer (reads T rows, writes T*top_k)
    bld._add("experts.permute", "elementwise", 0.0, T * h * c.a + rows * _ID_BYTES, rows * h * c.a,
             {"elements": round(rows * h)})
    if s.gated_mlp:
        bld.moe_gemm("experts.gate_up_proj", rows, 2 * f, h, active, bias=m.expert_bias, padded_rows=padded)
        bld.elementwise("experts.act", round(rows * f), flops_per=act, inputs=2)
    else:
        bld.moe_gemm("experts.up_proj", rows, f, h, active, bias=m.expert_bias, padded_rows=padded)
        bld.elementwise("experts.act", round(rows * f), flops_per=act)
    bld.moe_gemm("experts.down_proj", rows, h, f, active, bias=m.expert_bias, padded_rows=padded)
    # un-permute + top-k weighted combine: reads the T*top_k expert rows, writes T token rows
    bld._add("experts.combine", "elementwise", 2.0 * rows * h, rows * h * c.a, T * h * c.a,
             {"elements": round(rows * h)})
    if m.shared_experts:
        _ffn(bld, "shared_expert.", T, m.shared_total_ffn, c.tp, m.expert_bias)
        if m.shared_gate:
            bld.gemm("shared_expert.gate", T, 1, h)


def _layer(ctx: _Ctx, lt: LayerType) -> list[Op]:
    s = ctx.spec
    bld = _Builder(ctx, lt.name, lt.count)
    nt = ctx.norm_tokens
    bld.norm("attn_norm", nt, s.hidden)
    _attention_block(bld, lt)
    bld.elementwise("attn_residual", nt * s.hidden, inputs=2)
    bld.norm("mlp_norm", nt, s.hidden)
    if lt.moe:
        _moe_block(bld)
    else:
        _ffn(bld, "mlp.", ctx.tokens, s.ffn, ctx.tp, s.mlp_bias)
    bld.elementwise("mlp_residual", nt * s.hidden, inputs=2)
    return bld.ops


def _embed(ctx: _Ctx) -> list[Op]:
    s = ctx.spec
    bld = _Builder(ctx, "embed", 1)
    tables = 1 + (s.position == "learned") + (s.type_vocab > 0)
    e = s.embed_width
    bld.embedding("embed_tokens", ctx.tokens, e, s.vocab, tables)
    if s.embedding_norm:
        bld.norm("embed_norm", ctx.tokens, e)
    if e != s.hidden:
        bld.gemm("embed_proj", ctx.tokens, s.hidden, e, bias=True)
    return bld.ops


def _head(ctx: _Ctx) -> list[Op]:
    s = ctx.spec
    bld = _Builder(ctx, "head", 1)
    v = ceil_div(s.vocab, ctx.tp)
    if s.causal:
        rows = ctx.batch if ctx.phase == "prefill" else ctx.tokens  # prefill: logits of the last token only
        if s.final_norm:
            bld.norm("final_norm", rows, s.hidden)
        bld.gemm("lm_head", rows, v, s.hidden)
        bld.softmax("logits_softmax", rows, v)
        return bld.ops
    if ctx.phase == "fwd":  # encoder pre-training: MLM head on every token (+ pooler)
        T = ctx.tokens
        e = s.embed_width  # ALBERT projects back to the embedding width before the tied decoder
        bld.gemm("mlm_transform", T, e, s.hidden, bias=True)
        bld.norm("mlm_norm", T, e)
        bld.gemm("mlm_decoder", T, v, e, bias=True)
        bld.softmax("mlm_softmax", T, v)
    if s.pooler:
        bld.gemm("pooler", ctx.batch, s.hidden, s.hidden, bias=True)
    return bld.ops


# ------------------------------------------------------------------------------------------------ backward
def _backward(op: Op) -> list[Op]:
    sh = dict(op.shape)
    base = dict(dtype=op.dtype, phase="bwd", count=op.count, layer=op.layer)
    if op.kind in ("gemm", "moe_gemm"):
        m, n, k = sh["m"], sh["n"], sh["k"]
        # split the forward read into input (m x k) and weight parts
        if op.kind == "gemm":
            b = sh.get("batch", 1)
            x_bytes = op.bytes_written / n * k  # m x k in activation dtype (written is m x n)
            w_bytes = op.bytes_read - x_bytes
            dy = op.bytes_written
            dgrad_shape = {"m": m, "n": k, "k": n} | ({"batch": b} if b > 1 else {})
            wgrad_shape = {"m": k, "n": n, "k": m} | ({"batch": b} if b > 1 else {})
        else:
            x_bytes = op.bytes_written / n * k
            w_bytes = op.bytes_read - x_bytes
            dy = op.bytes_written
            e = sh["experts"]
            pad = {key: sh[key] for key in ("rows", "rows_padded") if key in sh}  # token rows in M (dgrad), K (wgrad)
            dgrad_shape = {"m": m, "n": k, "k": n, "experts": e} | pad
            wgrad_shape = {"m": k, "n": n, "k": m, "experts": e} | pad
        return [
            Op(name=op.name + ".dgrad", kind=op.kind, flops=op.flops, bytes_read=dy + w_bytes,
               bytes_written=x_bytes, shape=dgrad_shape, **base),
            Op(name=op.name + ".wgrad", kind=op.kind, flops=op.flops, bytes_read=dy + x_bytes,
               bytes_written=w_bytes, shape=wgrad_shape, **base),
        ]
    if op.kind == "attention":
        # read Q, K, V, O, dO; write dQ, dK, dV; 2.5x the forward matmul FLOPs
        return [Op(name=op.name + ".bwd", kind="attention", flops=2.5 * op.flops,
                   bytes_read=op.bytes_read + 2 * op.bytes_written, bytes_written=op.bytes_read,
                   shape=sh, **base)]
    if op.kind == "embedding":
        # scatter-add the output gradient into the embedding table gradient
        return [Op(name=op.name + ".bwd", kind="embedding", flops=float(sh["tokens"] * sh["hidden"]),
                   bytes_read=op.bytes_written, bytes_written=op.bytes_written, shape=sh, **base)]
    # norm / elementwise / softmax: read inputs + output grad, write input grads
    return [Op(name=op.name + ".bwd", kind=op.kind, flops=2 * op.flops,
               bytes_read=op.bytes_read + op.bytes_written, bytes_written=op.bytes_read, shape=sh, **base)]


# ------------------------------------------------------------------------------------------------ entry
def build_ops(
    spec: ModelSpec,
    phase: str,
    batch: int,
    seq_len: int,
    *,
    kv_len: int | None = None,
    dtype: str = "bf16",
    weight_dtype: str | None = None,
    kv_dtype: str | None = None,
    tp: int = 1,
    ep: int = 1,
    etp: int | None = None,
    sp: bool = False,
    include_embedding: bool = True,
    include_head: bool = True,
    layers: tuple[int, int] | None = None,
) -> list[Op]:
    """Per-chip ops of one step of ``phase`` (see the module docstring).

    ``layers=(start, end)`` restricts the op list to transformer layers ``start..end-1`` (a pipeline stage);
    the embedding is then included only if ``start == 0`` and the head only if ``end`` is the last layer.
    """
    if phase not in PHASES:
        raise TrnsimError(f"unknown phase {phase!r}", f"use one of {', '.join(PHASES)}")
    for nm, v in (("batch", batch), ("seq_len", seq_len), ("tp", tp), ("ep", ep)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise TrnsimError(f"{nm} must be a positive integer, got {v!r}")
    if kv_len is not None and (not isinstance(kv_len, int) or kv_len < 0):
        raise TrnsimError(f"kv_len must be a non-negative integer, got {kv_len!r}")
    if spec.heads % tp:
        raise TrnsimError(
            f"{spec.name}: tp={tp} does not divide the {spec.heads} attention heads", "pick tp dividing the head count"
        )
    if ep > 1:
        if spec.moe is None:
            raise TrnsimError(f"{spec.name}: ep={ep} given for a dense model", "use ep=1")
        if spec.moe.num_experts % ep:
            raise TrnsimError(f"{spec.name}: ep={ep} does not divide the {spec.moe.num_experts} experts")
    if not spec.causal and phase == "decode":
        raise TrnsimError(f"{spec.name} is an encoder: it has no decode phase", "use fwd/bwd or prefill")
    if phase in ("fwd", "bwd") and kv_len:
        raise TrnsimError("kv_len applies to prefill and decode only")
    if phase == "decode":
        q_len, past = 1, (seq_len if kv_len is None else kv_len)
    else:
        q_len, past = seq_len, (kv_len or 0)
    if spec.position == "learned" and past + q_len > spec.max_positions:
        raise TrnsimError(
            f"{spec.name}: sequence of {past + q_len} tokens exceeds its {spec.max_positions} learned positions"
        )
    dt = canonical_dtype(dtype)
    wdt = canonical_dtype(weight_dtype or dt)
    kdt = canonical_dtype(kv_dtype or dt)
    ctx = _Ctx(
        spec=spec, phase="fwd" if phase == "bwd" else phase, batch=batch, q_len=q_len, past=past, tp=tp, ep=ep,
        etp=etp if etp is not None else (tp if ep == 1 else 1), sp=sp, dtype=dt,
        a=dtype_bytes(dt), w=dtype_bytes(wdt), kv=dtype_bytes(kdt),
    )
    start, end = layers if layers is not None else (0, spec.layers)
    lts = spec.layer_types(start, end)
    ops: list[Op] = []
    if include_embedding and start == 0:
        ops += _embed(ctx)
    for lt in lts:
        ops += _layer(ctx, lt)
    if include_head and end == spec.layers:
        ops += _head(ctx)
    if phase == "bwd":
        return [b for op in reversed(ops) for b in _backward(op)]
    return ops


def summarize(ops: list[Op]) -> dict[str, Any]:
    """Totals of an op list: FLOPs, bytes read/written, by kind."""
    out: dict[str, Any] = {"flops": 0.0, "bytes_read": 0.0, "bytes_written": 0.0, "by_kind": {}}
    for o in ops:
        out["flops"] += o.count * o.flops
        out["bytes_read"] += o.count * o.bytes_read
        out["bytes_written"] += o.count * o.bytes_written
        k = out["by_kind"].setdefault(o.kind, {"flops": 0.0, "bytes": 0.0})
        k["flops"] += o.count * o.flops
        k["bytes"] += o.count * o.bytes
    return out


__all__ = ["MOE_M_TILE", "PHASES", "attention_pairs", "build_ops", "expected_active_experts", "expected_tile_rows",
           "summarize"]
