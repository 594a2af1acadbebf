"""Memory per chip of a training plan: weights, gradients, optimizer states, activations, buffers.

Activations follow Korthikanti et al., "Reducing Activation Recomputation in Large Transformer Models"
(arXiv 2205.05198, Table 2), generalised to GQA, gated MLPs, MoE and dropout-free models the way the
Megatron-LM theoretical memory estimator does (``18 + 4 ffn/h`` bytes per token per hidden unit for a
GPT layer with sequence parallelism and selective recomputation). Per token and layer, in bytes
(bf16 activations, 1-byte dropout masks ``dm`` = 1 if the model uses dropout, else 0):

=====================  =========================================================================
attention block        2h (norm input) + 2h (QKV input) + 2 q_dim + 4 kv_dim (Q, K, V)
                       + 2 q_dim (context, input of the output projection) + h dm (dropout mask)
attention scores       5 heads x s_kv (2 scores + 1 mask + 2 dropout output; only without flash
                       attention and without selective/full recomputation)
MLP block              2h (norm input) + 2h (MLP input) + 6 ffn (gated: gate, up, product) or
                       4 ffn (GELU input and output) + h dm; MoE: x top_k with the expert width
=====================  =========================================================================

For a GPT layer (q_dim = kv_dim = h, ffn = 4h, dropout) this is Korthikanti's 34 sbh + 5 as^2 b. In fp8/fp4
training the inputs of the four GEMMs (QKV, O-projection, MLP up and down) are kept in the low-precision
format the GEMM consumed (:data:`GEMM_INPUT_BYTES`).
Tensor parallelism divides the layer-internal tensors by t; the norm inputs, the QKV/MLP inputs and the
dropout masks (10 sbh for GPT) are divided by t only with sequence parallelism. Full recomputation keeps
only each layer's input (2 sbh, / t with SP). Context parallelism divides the tokens by cp.

In flight: with 1F1B, pipeline rank r holds min(m, pp - r) micro-batches of its layers; with the
interleaved schedule (vpp chunks) (pp - r) + (pp - 1)/vpp (Megatron's ``1 + (p-1)/(p v)`` penalty on
the first stage).

Weights/gradients/optimizer (Megatron mixed precision): bf16 weights (2 B/param; fp8 training keeps an
extra 1 B/param fp8 copy), fp32 main gradients (4 B), Adam/LAMB states fp32 master + m + v (12 B; SGD 8 B).
A frozen LoRA base trained in fp8/fp4 is stored in that format only (MLPerf Llama 2 70B LoRA). ZeRO-1 shards the optimizer states over the dp x cp ranks, ZeRO-2 also the gradients, ZeRO-3/FSDP also
the weights (plus two gathered layers in flight). Expert weights are sharded by ep, their states over
dp x cp / ep. LoRA (``lora_rank`` > 0): frozen base weights, gradients and states for the adapters only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from trnsim.hardware.specs import SystemSpec
    from trnsim.models.spec import ModelSpec
    from trnsim.parallel.plan import Plan

GiB = 2**30
#: Bytes per element of a GEMM input kept for the backward pass: low-precision training (Transformer
#: Engine, Neuron) keeps the quantised copy the forward GEMM consumed.
GEMM_INPUT_BYTES = {"fp8": 1.0, "mxfp8": 1.03125, "nvfp4": 0.5625, "mxfp4": 0.53125}

#: Part of HBM not available to tensors: runtime/driver context, collective-library buffers and allocator
#: fragmentation. Assumed (PyTorch+NCCL typically leave ~90-95 % of HBM usable; Neuron similar).
RESERVED_FRACTION = 0.05
#: Megatron DDP gradient bucket (40 M params, fp32), two in flight when gradients are sharded (ZeRO-2/3).
DP_BUCKET_PARAMS = 40_000_000
DROPOUT_ARCHS = ("gpt", "gpt2", "bert", "roberta", "t5")


@dataclass
class MemoryBreakdown:
    """Bytes per chip on the most loaded pipeline rank (``stage``)."""

    weights: float
    gradients: float
    optimizer: float
    activations: float
    comm_buffers: float
    reserved: float
    capacity: float
    stage: int = 0
    params_per_chip: float = 0.0
    in_flight_micro_batches: float = 1.0
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return self.weights + self.gradients + self.optimizer + self.activations + self.comm_buffers + self.reserved

    @property
    def fits(self) -> bool:
        return self.capacity <= 0 or self.total <= self.capacity

    @property
    def headroom(self) -> float:
        return self.capacity - self.total

    def describe(self) -> str:
        g = lambda x: f"{x / GiB:.1f}"  # noqa: E731
        return (f"weights {g(self.weights)} + grads {g(self.gradients)} + optimizer {g(self.optimizer)} + "
                f"activations {g(self.activations)} + buffers {g(self.comm_buffers)} + reserved {g(self.reserved)} GiB "
                f"(pipeline rank {self.stage})")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(total=self.total, fits=self.fits)
        return d


# ----------------------------------------------------------------------------- parameters
@lru_cache(maxsize=256)
def _layer_param_split(model: "ModelSpec") -> tuple[tuple[int, int], ...]:
    """Per layer: (non-expert params, routed-expert params)."""
    out = []
    for i in range(model.layers):
        if model.is_moe_layer(i):
            routed = model.moe.num_experts * model.expert_params()  # type: ignore[union-attr]
            out.append((model.layer_params(i) - routed, routed))
        else:
            out.append((model.layer_params(i), 0))
    return tuple(out)


def lora_params(model: "ModelSpec", rank: int) -> int:
    """Adapter parameters when every attention projection (Q, K, V, O) gets a rank-``rank`` LoRA pair."""
    if rank <= 0:
        return 0
    h = model.hidden
    qd, kvd = model.heads * model.q_head_dim, model.kv_heads * model.head_dim
    per_layer = rank * ((h + qd) + 2 * (h + kvd) + (model.attn_dim + h))
    return per_layer * model.layers


def chunk_layers(layers: int, pp: int, vpp: int) -> list[list[int]]:
    """Layer indices held by each pipeline rank (model chunk c goes to rank c mod pp)."""
    chunks = pp * vpp
    per = layers // chunks
    extra = layers - per * chunks
    sizes = [per + (1 if c < extra else 0) for c in range(chunks)]
    if extra and chunks > 1 and (layers + 2) % chunks == 0:
        # Megatron/NeMo: embedding and loss count as one layer each in the pipeline split
        per = (layers + 2) // chunks
        sizes = [per] * chunks
        sizes[0] -= 1
        sizes[-1] -= 1
    ranks: list[list[int]] = [[] for _ in range(pp)]
    start = 0
    for c in range(chunks):
        n = sizes[c]
        ranks[c % pp].extend(range(start, start + n))
        start += n
    return ranks


def stage_params(model: "ModelSpec", plan: "Plan") -> list[tuple[float, float]]:
    """Per pipeline rank: (dense params per chip, expert params per chip)."""
    split = _layer_param_split(model)
    ranks = chunk_layers(model.layers, plan.pp, plan.vpp)
    out = []
    for r, layer_ids in enumerate(ranks):
        dense = sum(split[i][0] for i in layer_ids) / plan.tp
        expert = sum(split[i][1] for i in layer_ids) / (plan.tp * plan.ep)
        if r == 0:
            dense += model.input_embedding_params() / plan.tp
        if r == plan.pp - 1:
            dense += model.head_params() / plan.tp
            if plan.pp > 1 and model.tied_embeddings and model.causal:
                dense += model.vocab * model.hidden / plan.tp  # Megatron keeps a copy of the tied embedding
        out.append((dense, expert))
    return out


# ----------------------------------------------------------------------------- activations
def uses_dropout(model: "ModelSpec") -> bool:
    return model.arch in DROPOUT_ARCHS


def layer_activation_bytes_per_token(model: "ModelSpec", plan: "Plan", layer: int = 0, *,
                                     flash_attention: bool = True, dropout: bool | None = None) -> float:
    """Activation bytes one token leaves on one chip for one layer (before in-flight multiplication)."""
    t, cp = plan.tp, plan.cp
    h = model.hidden
    dm = 1.0 if (uses_dropout(model) if dropout is None else dropout) else 0.0
    if plan.recompute == "full":
        return (4.0 if plan.precision == "fp32" else 2.0) * h / (t if plan.seq_parallel else 1)
    qd = model.heads * model.q_head_dim
    kvd = model.kv_heads * model.head_dim
    kv_per_chip = max(kvd / t, model.head_dim)  # KV heads are replicated when tp > kv_heads
    g = GEMM_INPUT_BYTES.get(plan.precision, 2.0)  # GEMM inputs are saved in the GEMM's format
    # tensors split by TP (and unsplit replicated parts)
    split = 2 * qd / t + 4 * kv_per_chip + g * qd / t  # Q, K, V (attention), context (O-projection input)
    replicated = 2 * h + g * h + h * dm  # attention norm input, QKV input, projection dropout mask
    replicated += 2 * h + g * h + h * dm  # MLP norm input, MLP input, MLP dropout mask
    mlp = (4 + g) if model.gated_mlp else (2 + g)  # gate/up (or GELU input) + the down-projection input
    if model.is_moe_layer(layer):
        m = model.moe
        per = mlp * m.expert_ffn  # type: ignore[union-attr]
        split += m.top_k * per / t + mlp * m.shared_total_ffn / t  # type: ignore[union-attr]
        split += m.top_k * 2 * h / t + 4 * m.num_experts / t  # dispatched token copies, router logits (fp32)
    else:
        split += mlp * model.ffn / t
    if not flash_attention and plan.recompute == "none":
        split += (4 + dm) * model.heads * (plan.seq_len / cp) / t
    scale = 2.0 if plan.precision == "fp32" else 1.0  # fp32 training keeps 4-byte activations
    if plan.seq_parallel:
        return scale * (split + replicated / t)
    return scale * (split + replicated)


def activation_bytes(model: "ModelSpec", plan: "Plan", rank: int, *, flash_attention: bool = True,
                     dropout: bool | None = None) -> tuple[float, float]:
    """Activation bytes on pipeline rank ``rank``: (bytes, micro-batches in flight)."""
    tokens = plan.micro_batch * plan.seq_len / plan.cp
    layer_ids = chunk_layers(model.layers, plan.pp, plan.vpp)[rank]
    per_mb = sum(layer_activation_bytes_per_token(model, plan, i, flash_attention=flash_attention, dropout=dropout)
                 for i in _representatives(model, layer_ids)) * tokens
    per_mb *= len(layer_ids) / max(1, len(_representatives(model, layer_ids)))
    m = plan.num_micro_batches
    if plan.vpp > 1:
        in_flight = (plan.pp - rank) + (plan.pp - 1) / plan.vpp
    else:
        in_flight = float(min(m, plan.pp - rank))
    total = per_mb * in_flight
    sp_div = plan.tp if plan.seq_parallel else 1
    if rank == 0:
        total += tokens * (8 + 2 * model.hidden / sp_div) * in_flight  # token ids, embedding output
    if rank == plan.pp - 1 and model.causal:
        total += tokens * (4 * model.hidden / sp_div + 4 * model.vocab / plan.tp)  # output-layer input, fp32 logits
    return total, in_flight


def _representatives(model: "ModelSpec", layer_ids: list[int]) -> list[int]:
    """All layers (they can differ: MoE/dense, windows); kept as a hook for a cheaper sampling."""
    return layer_ids


# ----------------------------------------------------------------------------- total
def memory_per_chip(model: "ModelSpec", plan: "Plan", system: "SystemSpec | None" = None, *,
                    capacity: float | None = None, flash_attention: bool = True,
                    dropout: bool | None = None) -> MemoryBreakdown:
    """Per-chip memory of ``plan`` on the most loaded pipeline rank (see module doc for the formulas)."""
    if capacity is None:
        capacity = system.chip_.hbm_capacity.si if system is not None else 0.0
    best: MemoryBreakdown | None = None
    shard = plan.dp * plan.cp
    eshard = max(1, shard // plan.ep)
    w_bytes = 2.0 + (1.0 if plan.precision in ("fp8", "mxfp8", "nvfp4", "mxfp4") else 0.0)
    if plan.precision == "fp32":
        w_bytes = 4.0
    opt_bytes = 8.0 if plan.optimizer == "sgd" else 12.0
    g_bytes = 4.0
    lora = lora_params(model, plan.lora_rank)
    params = stage_params(model, plan)
    for rank, (dense, expert) in enumerate(params):
        if plan.lora_rank > 0:
            trainable_d, trainable_e = lora / plan.pp / plan.tp, 0.0
        else:
            trainable_d, trainable_e = dense, expert
        weights = dense * w_bytes + expert * w_bytes
        if plan.lora_rank > 0 and plan.precision in ("fp8", "mxfp8", "nvfp4", "mxfp4"):
            weights = (dense + expert) * (1.0 if plan.precision in ("fp8", "mxfp8") else 0.5)  # frozen base kept low-precision only
        grads = trainable_d * g_bytes + trainable_e * g_bytes
        opt = trainable_d * opt_bytes + trainable_e * opt_bytes
        if plan.zero >= 1:
            opt = trainable_d * opt_bytes / shard + trainable_e * opt_bytes / eshard
        if plan.zero >= 2:
            grads = trainable_d * g_bytes / shard + trainable_e * g_bytes / eshard
        buffers = 0.0
        if plan.zero >= 3:
            weights = dense * w_bytes / shard + expert * w_bytes / eshard
            n_layers = max(1, len(chunk_layers(model.layers, plan.pp, plan.vpp)[rank]))
            buffers += 2 * (dense + expert) / n_layers * 2.0  # two gathered layers (bf16)
        if plan.lora_rank > 0:
            weights += trainable_d * 4.0  # fp32 adapter weights
        act, in_flight = activation_bytes(model, plan, rank, flash_attention=flash_attention, dropout=dropout)
        tokens = plan.micro_batch * plan.seq_len / plan.cp
        if plan.tp > 1:
            buffers += 2 * 2.0 * tokens * model.hidden  # gathered (full-sequence) inputs, double-buffered
        if plan.pp > 1:
            buffers += 2 * 2 * 2.0 * tokens * model.hidden / (plan.tp if plan.seq_parallel else 1)  # p2p send/recv
        if plan.zero >= 2 and plan.dp * plan.cp > 1:
            buffers += 2 * DP_BUCKET_PARAMS * 4.0
        mb = MemoryBreakdown(
            weights=weights, gradients=grads, optimizer=opt, activations=act, comm_buffers=buffers,
            reserved=RESERVED_FRACTION * capacity, capacity=capacity, stage=rank,
            params_per_chip=dense + expert, in_flight_micro_batches=in_flight,
        )
        if best is None or mb.total > best.total:
            best = mb
    assert best is not None
    if plan.zero >= 3:
        best.notes.append("ZeRO-3/FSDP: two gathered layers of weights counted as buffers")
    if flash_attention:
        best.notes.append("flash attention: no s^2 score tensors kept")
    return best
