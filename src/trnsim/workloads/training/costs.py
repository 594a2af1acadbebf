"""Per-stage costs of one training micro-batch: compute from ``trnsim.ops``, collectives from ``trnsim.network``.

Everything here is per chip and per micro-batch; :mod:`trnsim.workloads.training.step` composes it into a
step. Results are cached per (model, chip, shape) so a plan search re-uses op times across plans that share
tp/cp/ep/micro-batch, and collective times are cached by the network layer.

Communication placed inline (on the critical path of every micro-batch):

* TP with SP: per layer, forward all-gather + reduce-scatter around attention and around the MLP, the same
  four in backward (Korthikanti et al. 2022); without SP two all-reduces per direction. On Trainium the
  collective is over NeuronCores and runs while compute traffic shares the DMA engines (``busy``), both
  modelled by :mod:`trnsim.network.neuron`; there is no training-side correction factor. With
  ``overlap_tp`` (Megatron ``--tp-comm-overlap``, NeuronX compiler overlap) the collective hides behind the
  GEMMs it feeds except a residual (:data:`TP_OVERLAP_RESIDUAL`).
* CP (ring attention): cp-1 K/V exchanges per layer, overlapped with the attention blocks they feed;
  only the excess is exposed. Backward exchanges K/V and their gradients (2x).
* EP: all-to-all dispatch and combine per MoE layer, twice in backward; not overlapped.
* PP: one send/recv of the boundary activation per micro-batch per direction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Callable

from trnsim.errors import TrnsimError

if TYPE_CHECKING:  # pragma: no cover
    from trnsim.hardware.specs import ChipSpec, SystemSpec
    from trnsim.models.op import Op
    from trnsim.models.spec import ModelSpec
    from trnsim.parallel.plan import Plan

#: Fraction of a TP collective that stays exposed when it is overlapped with GEMMs (the first chunk of
#: the pipelined all-gather / the last of the reduce-scatter cannot hide). Assumed from Megatron's
#: userbuffers design (4-8 chunks per GEMM); not fitted.
TP_OVERLAP_RESIDUAL = 0.15
#: Sustained matrix-engine throughput in a training run relative to the isolated-kernel microbenchmarks
#: the op models are fitted on (power-capped clocks under sustained load, interference with concurrent
#: communication kernels). Multiplies GEMM and attention throughput. GPU: fitted (grid search, jointly
#: with KERNEL_GAP_S and step.STEP_OVERHEAD_S) on the Megatron-LM H100 table MEG-001..020 and the MLPerf
#: steady-state throughput rows; 0.85 matches H100 clocks settling near 1.7 GHz of the 1.98 GHz boost at
#: 700 W. Trainium: 1.0, re-checked with ``calibrate --family trainium`` on NRN-TRN-* after the Neuron
#: collectives moved into the network layer (0.8-1.3 scanned; 1.0 stays best).
SUSTAINED_COMPUTE = {"gpu": 0.85, "trainium": 1.0}
#: Idle gap between consecutive kernels of a training step (framework dispatch, launch, synchronisation
#: not hidden by the stream), added per operator. GPU: fitted with SUSTAINED_COMPUTE on the same rows
#: (it carries the small-model rows MEG-001..004). Trainium: 0 (the compiler fuses the graph).
KERNEL_GAP_S = {"gpu": 20e-6, "trainium": 0.0}
GEMM_KINDS = ("gemm", "moe_gemm")
LOW_PRECISIONS = ("fp8", "mxfp8", "nvfp4", "mxfp4")


@dataclass(frozen=True)
class LayerCost:
    """Per chip, per micro-batch, one layer of a layer type (seconds)."""

    fwd: float
    bwd: float
    attn_fwd: float  # core attention forward (for selective recompute and CP overlap)
    attn_bwd: float
    gemm_fwd: float  # GEMM time (TP overlap window)
    gemm_bwd: float
    fwd_flops: float


@dataclass(frozen=True)
class ComputeCosts:
    layers: dict[str, LayerCost]  # by layer-type name
    layer_type_of: tuple[str, ...]  # per layer index
    embed_fwd: float
    embed_bwd: float
    head_fwd: float
    head_bwd: float
    sources: tuple[str, ...]


OpTimeFn = Callable[["Op", "ChipSpec"], float]


def _default_op_seconds(op: "Op", chip: "ChipSpec") -> float:
    from trnsim.ops import op_time

    return op_time(op, chip).per_call_s


def _op_source(op: "Op", chip: "ChipSpec") -> str:
    try:
        from trnsim.ops import op_time

        return op_time(op, chip).source
    except Exception:  # pragma: no cover
        return "?"


_COMPUTE_CACHE: dict[tuple, tuple] = {}


def compute_costs(model: "ModelSpec", chip: "ChipSpec", plan: "Plan",
                  op_seconds: OpTimeFn | None = None) -> ComputeCosts:
    """Per-layer-type forward/backward seconds of one micro-batch on one chip (cached)."""
    key = (id(model), model.name, id(chip), plan.micro_batch, plan.seq_len, plan.tp, plan.cp, plan.ep,
           plan.seq_parallel, plan.precision, plan.lora_rank > 0, id(op_seconds))
    hit = _COMPUTE_CACHE.get(key)
    if hit is not None and hit[0] is model and hit[1] is chip and hit[2] is op_seconds:  # ids live as long as objects
        return hit[3]
    fn = op_seconds or _default_op_seconds
    seq = plan.seq_len // plan.cp
    try:
        fwd_ops = model.ops("fwd", batch=plan.micro_batch, seq_len=seq, tp=plan.tp, ep=plan.ep,
                            sp=plan.seq_parallel)
        bwd_ops = model.ops("bwd", batch=plan.micro_batch, seq_len=seq, tp=plan.tp, ep=plan.ep,
                            sp=plan.seq_parallel)
    except TrnsimError as e:
        raise TrnsimError(f"cannot build the ops of {model.name} for plan ({plan.label()}): {e}") from None
    lowp = plan.precision if plan.precision in LOW_PRECISIONS else None

    def adapt(op: "Op") -> "Op":
        if op.kind == "attention" and plan.cp > 1:
            # ring attention: local queries against all cp K/V chunks (load-balanced causal)
            op = replace(op, flops=op.flops * plan.cp, bytes_read=op.bytes_read * plan.cp)
        if lowp and op.kind in GEMM_KINDS:
            op = replace(op, dtype=lowp)
        if plan.precision == "fp32":
            op = replace(op, dtype="fp32")
        return op

    acc: dict[str, dict[str, float]] = {}
    sources: set[str] = set()
    family = "gpu" if chip.family == "gpu" else "trainium"
    derate = 1.0 / SUSTAINED_COMPUTE.get(chip.generation, SUSTAINED_COMPUTE[family])
    gap = KERNEL_GAP_S[family]
    attn_fwd: dict[str, tuple[float, float]] = {}
    for phase, ops in (("fwd", fwd_ops), ("bwd", bwd_ops)):
        for op in ops:
            if phase == "bwd" and plan.lora_rank > 0 and op.name.endswith(".wgrad"):
                continue  # frozen base weights: no weight gradients
            op = adapt(op)
            t = fn(op, chip)
            if op.kind == "attention":
                if phase == "fwd":
                    attn_fwd[op.name] = (t, op.flops)
                elif op.name.removesuffix(".bwd") in attn_fwd:
                    # FlashAttention backward: 2.5x the forward FLOPs at the forward's efficiency (the op
                    # models key their attention efficiency on the shape, which bwd shares with fwd)
                    tf, ff = attn_fwd[op.name.removesuffix(".bwd")]
                    t = max(t, tf * op.flops / ff) if ff > 0 else t
            if lowp and op.kind in GEMM_KINDS:
                t += fn(_quant_op(op, phase, lowp), chip)
            if op_seconds is None:
                if op.kind in GEMM_KINDS or op.kind == "attention":
                    t *= derate
                t += gap
            a = acc.setdefault(op.layer or "?", {})
            a[phase] = a.get(phase, 0.0) + t
            if op.kind == "attention":
                a["attn_" + phase] = a.get("attn_" + phase, 0.0) + t
            if op.kind in GEMM_KINDS:
                a["gemm_" + phase] = a.get("gemm_" + phase, 0.0) + t
            if phase == "fwd":
                a["flops"] = a.get("flops", 0.0) + op.flops
        if op_seconds is None and ops:
            sources.add(_op_source(adapt(ops[0]), chip))
    layers = {}
    for lt in model.layer_types():
        a = acc.get(lt.name, {})
        layers[lt.name] = LayerCost(a.get("fwd", 0.0), a.get("bwd", 0.0), a.get("attn_fwd", 0.0),
                                    a.get("attn_bwd", 0.0), a.get("gemm_fwd", 0.0), a.get("gemm_bwd", 0.0),
                                    a.get("flops", 0.0))
    names = []
    groups = {(lt.moe, lt.window): lt.name for lt in model.layer_types()}
    for i in range(model.layers):
        names.append(groups[(model.is_moe_layer(i), model.window_of(i))])
    emb, head = acc.get("embed", {}), acc.get("head", {})
    out = ComputeCosts(layers, tuple(names), emb.get("fwd", 0.0), emb.get("bwd", 0.0), head.get("fwd", 0.0),
                       head.get("bwd", 0.0), tuple(sorted(sources)))
    if len(_COMPUTE_CACHE) > 4096:
        _COMPUTE_CACHE.clear()
    _COMPUTE_CACHE[key] = (model, chip, op_seconds, out)
    return out


def _quant_op(op: "Op", phase: str, dtype: str) -> "Op":
    """Casting a GEMM's activation input (forward) or output gradient (backward) to ``dtype``
    (Transformer Engine delayed scaling: one read of bf16, one write of the low-precision copy)."""
    from trnsim.models.op import Op

    sh = op.shape
    m, n, k = sh.get("m", 0), sh.get("n", 0), sh.get("k", 0)
    elems = m * k if phase == "fwd" else (m * k if op.name.endswith(".dgrad") else 0)
    if op.name.endswith(".wgrad"):
        elems = 0  # the quantised dy of the dgrad is re-used
    elems *= sh.get("batch", 1) * (sh.get("experts", 1) if op.kind == "moe_gemm" else 1)
    by = 1.0 if dtype in ("fp8", "mxfp8") else 0.5
    return Op(name=op.name + ".cast", kind="elementwise", flops=float(elems), bytes_read=2.0 * elems,
              bytes_written=by * elems, dtype="bf16", shape={"elements": int(elems)}, phase=phase, count=op.count)


# ----------------------------------------------------------------------------- communication
@dataclass(frozen=True)
class CommModel:
    """Collective times on the cluster a plan runs on (group placement in Megatron rank order).

    On Trainium a rank is a NeuronCore (``cores`` per chip at the runtime's default logical-core size):
    an all-reduce/all-gather/reduce-scatter over consecutive chips (``stride`` 1: TP, or DP when each
    core is a replica) runs over all their cores, so its bytes move through every core's CC-core DMA
    rings and its steps include the on-chip ones (:mod:`trnsim.network.neuron`). A strided group (DP
    next to TP, CP, EP, PP) and point-to-point traffic take one rank per chip that stands for the chip's
    cores running their own groups side by side. GPUs: one rank per chip.
    """

    topology: object
    domain: int
    cores: int = 1

    def time(self, kind: str, nbytes: float, size: int, stride: int) -> float:
        if size <= 1 or nbytes <= 0:
            return 0.0
        per_chip = self.cores if stride == 1 and kind in _EVERY_RANK_HOLDS_ALL else 1
        return _ctime(kind, float(nbytes), size * per_chip, self.per_domain(size, stride), per_chip, self.topology)

    def per_domain(self, size: int, stride: int) -> int:
        """Members of a group (``size`` ranks, ``stride`` apart) that share one scale-up domain."""
        if stride >= self.domain:
            return 1
        return max(1, min(size, self.domain // stride))


#: collectives whose buffer every member holds whole (TP activations, DP gradients of a chip whose cores
#: are replicas), so a chip's cores are that many ranks with the same buffer
_EVERY_RANK_HOLDS_ALL = ("all-reduce", "all-gather", "reduce-scatter")


@lru_cache(maxsize=65536)
def _ctime(kind: str, nbytes: float, ranks: int, per_domain: int, per_chip: int, topo: object) -> float:
    from trnsim.network import Group, collective_time

    group = Group(ranks, per_domain=per_domain, per_chip=per_chip)
    # inside a compiled training step the compute engines' DMA traffic shares the engines with the CC rings
    return collective_time(kind, nbytes, group, topo, busy=True).time  # type: ignore[arg-type]


def comm_model(system: "SystemSpec", chips: int) -> CommModel:
    """The plan's cluster (``Topology.from_system`` caches it per system and chip count)."""
    from trnsim.network import Topology

    topo = Topology.from_system(system, chips=chips)
    return CommModel(topo, topo.domain_size, topo.ranks_per_chip if topo.library == "neuron" else 1)


@dataclass(frozen=True)
class InlineComm:
    """Exposed communication per micro-batch for one layer of a type (seconds), and raw totals."""

    fwd: float
    bwd: float
    raw_fwd: float
    raw_bwd: float


def layer_comm(model: "ModelSpec", plan: "Plan", cm: CommModel, cost: LayerCost, moe: bool,
               act_bytes: float = 2.0) -> InlineComm:
    """Exposed TP/SP, CP and EP communication of one layer for one micro-batch on one chip."""
    tokens = plan.micro_batch * plan.seq_len / plan.cp  # tokens of this chip's sequence shard (full over TP)
    h = model.hidden
    raw_f = raw_b = exp_f = exp_b = 0.0
    if plan.tp > 1:
        full = tokens * h * act_bytes
        if plan.seq_parallel:
            one = cm.time("all-gather", full, plan.tp, 1) + cm.time("reduce-scatter", full, plan.tp, 1)
        else:
            one = cm.time("all-reduce", full, plan.tp, 1)
        tp_f, tp_b = 2 * one, 2 * one
        if plan.recompute == "full":
            tp_b += tp_f
        raw_f += tp_f
        raw_b += tp_b
        if plan.overlap_tp:
            exp_f += max(TP_OVERLAP_RESIDUAL * tp_f, tp_f - cost.gemm_fwd)
            exp_b += max(TP_OVERLAP_RESIDUAL * tp_b, tp_b - cost.gemm_bwd)
        else:
            exp_f += tp_f
            exp_b += tp_b
    if plan.cp > 1:
        kvd = max(model.kv_heads * model.head_dim / plan.tp, model.head_dim)
        chunk = tokens * 2 * kvd * act_bytes  # K and V of the local chunk
        step = cm.time("send-recv", chunk, 2, plan.tp)
        cp_f = (plan.cp - 1) * step
        cp_b = 2 * cp_f
        raw_f += cp_f
        raw_b += cp_b
        exp_f += max(0.0, cp_f - cost.attn_fwd)
        exp_b += max(0.0, cp_b - cost.attn_bwd)
    if moe and plan.ep > 1 and model.moe is not None:
        send = tokens / (plan.tp if plan.seq_parallel else 1) * model.moe.top_k * h * act_bytes
        a2a = cm.time("all-to-all", send, plan.ep, plan.tp)
        raw_f += 2 * a2a
        raw_b += 2 * a2a
        exp_f += 2 * a2a
        exp_b += 2 * a2a
    return InlineComm(exp_f, exp_b, raw_f, raw_b)
