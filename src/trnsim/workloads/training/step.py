"""One training step of model M on system S with plan P: time, breakdown, MFU, memory, energy, cost.

Step = pipeline part (micro-batches through the stages, :mod:`trnsim.parallel.schedule`)
     + exposed data-parallel communication (gradient reduce-scatter/all-reduce overlapped with the last
       micro-batch's backward, parameter all-gather overlapped with the first forward, as Megatron's
       ``--overlap-grad-reduce --overlap-param-gather`` do; fully exposed with ``overlap_dp=False``)
     + optimizer step (memory-bound elementwise pass over the local shard of the states)
     + a fixed per-step host overhead (:data:`STEP_OVERHEAD_S`).

Two fidelities share every cost: ``fidelity="analytic"`` (closed-form pipeline, microseconds) and
``fidelity="detailed"`` (the schedule played on :class:`trnsim.sim.Simulator`, with a timeline for the
Perfetto trace). They agree within :data:`AGREEMENT_TOLERANCE` (tested).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from trnsim.errors import TrnsimError
from trnsim.parallel.memory import MemoryBreakdown, chunk_layers, lora_params, memory_per_chip, stage_params
from trnsim.parallel.plan import Plan
from trnsim.parallel.schedule import analytic_pipeline_time, simulate_pipeline
from trnsim.workloads.training.costs import (
    OpTimeFn, comm_model, compute_costs, layer_comm,
)

if TYPE_CHECKING:  # pragma: no cover
    from trnsim.hardware.specs import SystemSpec
    from trnsim.models.spec import ModelSpec

#: Relative agreement of the analytic and event-driven step times (same costs; they differ only in how
#: transfers between unequal interleaved stages overlap).
AGREEMENT_TOLERANCE = 0.03
#: Fixed host-side time per step (data-loader hand-off, loss and grad-norm all-reduces, logging, the
#: launch of the optimizer's many small kernels, the gap between pipeline flush and optimizer). GPU:
#: fitted jointly with costs.SUSTAINED_COMPUTE / KERNEL_GAP_S on MEG-001..020 and the MLPerf
#: steady-state throughput rows (it carries the short-step, large-DP MLPerf rows). Trainium: 0 (not fitted).
STEP_OVERHEAD_S = {"gpu": 0.1, "trainium": 0.0}
#: Idle power as a fraction of TDP for the fallback energy estimate (assumed; used only when the
#: economics power model cannot price the chip).
IDLE_POWER_FRACTION = 0.3
#: Megatron DDP gradient buckets: the last bucket's reduction cannot overlap anything.
DP_BUCKETS = 8


@dataclass
class StepBreakdown:
    """Seconds of one step on the slowest pipeline rank; the parts add up to ``total``."""

    compute: float
    exposed_comm: float
    bubble: float
    optimizer: float
    overhead: float

    @property
    def total(self) -> float:
        return self.compute + self.exposed_comm + self.bubble + self.optimizer + self.overhead


@dataclass
class TrainingResult:
    """What one training step of ``model`` on ``system`` with ``plan`` does (plain object)."""

    model: str
    system: str
    chip: str
    chips: int
    plan: Plan
    step_time: float
    breakdown: StepBreakdown
    tokens_per_step: int
    tokens_per_s: float
    samples_per_s: float
    model_flops_per_step: float
    mfu: float
    mfu_dtype: str
    achieved_tflops_per_chip: float
    memory: MemoryBreakdown
    power_w: float  # per chip, accelerator only
    energy_per_step_j: float  # all chips with their share of hosts, x PUE
    price_per_hour: float | None
    fidelity: str
    system_power_w: float = 0.0  # facility power of the chips used (hosts, PUE included)
    energy_method: str = ""
    comm_detail: dict[str, float] = field(default_factory=dict)
    stage_times: list[dict[str, float]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timeline: Any = None

    # derived
    def time_to_train(self, tokens: float) -> float:
        """Seconds to train on ``tokens`` tokens at this step rate."""
        return tokens / self.tokens_per_s

    def energy_to_train(self, tokens: float) -> float:
        return self.energy_per_step_j * tokens / self.tokens_per_step

    def cost_to_train(self, tokens: float) -> float | None:
        if self.price_per_hour is None:
            return None
        return self.price_per_hour * self.time_to_train(tokens) / 3600.0

    @property
    def cost_per_step(self) -> float | None:
        return None if self.price_per_hour is None else self.price_per_hour * self.step_time / 3600.0

    def to_dict(self, tokens: float | None = None) -> dict[str, Any]:
        d: dict[str, Any] = {
            "model": self.model, "system": self.system, "chip": self.chip, "chips": self.chips,
            "plan": self.plan.to_dict(), "fidelity": self.fidelity,
            "step_time_s": self.step_time,
            "breakdown_s": {**asdict(self.breakdown), "total": self.breakdown.total},
            "tokens_per_step": self.tokens_per_step, "tokens_per_s": self.tokens_per_s,
            "samples_per_s": self.samples_per_s, "model_flops_per_step": self.model_flops_per_step,
            "mfu": self.mfu, "mfu_dtype": self.mfu_dtype,
            "achieved_tflops_per_chip": self.achieved_tflops_per_chip,
            "memory_per_chip": self.memory.to_dict(),
            "power_w": self.power_w, "system_power_w": self.system_power_w,
            "energy_per_step_j": self.energy_per_step_j, "energy_method": self.energy_method,
            "price_per_hour": self.price_per_hour, "cost_per_step": self.cost_per_step,
            "comm_s": self.comm_detail, "stages": self.stage_times,
            "sources": self.sources, "notes": self.notes,
        }
        if tokens:
            d["time_to_train_s"] = self.time_to_train(tokens)
            d["energy_to_train_j"] = self.energy_to_train(tokens)
            d["cost_to_train"] = self.cost_to_train(tokens)
            d["train_tokens"] = tokens
        return d


# ----------------------------------------------------------------------------- model FLOPs
def model_flops_per_token(model: "ModelSpec", seq_len: int, *, lora: bool = False) -> float:
    """Training model FLOPs per token: 3 x (2 x matmul params + causal attention), the 6N rule
    (PaLM-style, attention over unmasked positions only). LoRA: forward + data gradient only (2x)."""
    fwd = 2.0 * model.matmul_params + model.attention_flops_per_token(seq_len)
    return (2.0 if lora else 3.0) * fwd


def megatron_flops_per_step(model: "ModelSpec", batch: int, seq_len: int) -> float:
    """FLOPs per step as Megatron-LM reports them (``num_floating_point_operations``: 3 x forward,
    attention over the full s x s square, logits included); for comparing with its TFLOP/s tables."""
    h, L, s, V = model.hidden, model.layers, seq_len, model.vocab
    kv_ratio = model.kv_heads / model.heads
    q_ratio = model.heads * model.head_dim / h
    gated = 1.5 if model.gated_mlp else 1.0
    ffn = model.ffn if model.moe is None else model.moe.expert_ffn * model.moe.top_k
    return 12 * batch * s * L * h * h * (
        (1 + kv_ratio + s / h) * q_ratio + (ffn / h) * gated + V / (2 * L * h)
    )


# ----------------------------------------------------------------------------- step
@dataclass
class _Stage:
    fwd: float
    bwd: float
    fwd_compute: float
    bwd_compute: float
    fwd_comm: float
    bwd_comm: float
    dp_exposed: float
    dp_raw: float
    optimizer: float


def _stages(model: "ModelSpec", system: "SystemSpec", plan: Plan, chips: int,
            op_seconds: OpTimeFn | None) -> tuple[list[_Stage], float, dict[str, float], tuple[str, ...]]:
    chip = system.chip_
    costs = compute_costs(model, chip, plan, op_seconds)
    cm = comm_model(system, chips)
    comm_by_type = {name: layer_comm(model, plan, cm, c, any(lt.moe for lt in model.layer_types() if lt.name == name))
                    for name, c in costs.layers.items()}
    ranks = chunk_layers(model.layers, plan.pp, plan.vpp)
    params = stage_params(model, plan)
    shard = plan.dp * plan.cp
    eshard = max(1, shard // plan.ep)
    tokens = plan.micro_batch * plan.seq_len / plan.cp
    boundary = tokens * model.hidden * 2.0 / (plan.tp if plan.seq_parallel else 1)
    p2p = cm.time("send-recv", boundary, 2, plan.tp * plan.cp * plan.dp) if plan.pp > 1 else 0.0
    stride_dp = plan.tp  # dp x cp ranks are tp apart (cp is next-fastest)
    lora = plan.lora_rank > 0
    detail = {"tp_cp_ep_raw": 0.0, "tp_cp_ep_exposed": 0.0, "pp_p2p": p2p, "dp_raw": 0.0, "dp_exposed": 0.0}
    stages = []
    for r, layer_ids in enumerate(ranks):
        fc = bc = fx = bx = rawf = rawb = 0.0
        for i in layer_ids:
            name = costs.layer_type_of[i]
            c = costs.layers[name]
            x = comm_by_type[name]
            f, b = c.fwd, c.bwd
            if plan.recompute == "full":
                b += c.fwd
            elif plan.recompute == "selective":
                b += c.attn_fwd
            fc += f
            bc += b
            fx += x.fwd
            bx += x.bwd
            rawf += x.raw_fwd
            rawb += x.raw_bwd
        if r == 0:
            fc += costs.embed_fwd
            bc += 0.0 if lora else costs.embed_bwd
        if r == plan.pp - 1:
            fc += costs.head_fwd
            bc += costs.head_bwd
        # data-parallel gradient and parameter traffic of this rank
        dense, expert = params[r]
        if lora:
            dense, expert = lora_params(model, plan.lora_rank) / plan.pp / plan.tp, 0.0
        grad_b = 4.0  # fp32 main gradients are reduced (Megatron default with bf16)
        t_red = t_ag = 0.0
        for n_params, group in ((dense, shard), (expert, eshard)):
            if n_params <= 0 or group <= 1:
                continue
            if plan.zero == 0:
                t_red += cm.time("all-reduce", n_params * grad_b, group, stride_dp)
            else:
                t_red += cm.time("reduce-scatter", n_params * grad_b, group, stride_dp)
                t_ag += cm.time("all-gather", n_params * 2.0, group, stride_dp)
                if plan.zero >= 3:  # parameters gathered again for the backward pass
                    t_ag += cm.time("all-gather", n_params * 2.0, group, stride_dp)
        dp_raw = t_red + t_ag
        if plan.zero >= 3:
            # ZeRO-3/FSDP gathers the weights for every micro-batch's forward and backward and reduce-scatters
            # every micro-batch's gradients, prefetching layer by layer under that micro-batch's compute
            m = plan.num_micro_batches
            tail = dp_raw / (DP_BUCKETS * max(1, len(layer_ids)))
            dp_exp = m * (max(0.0, dp_raw - (fc + bc)) + tail) if plan.overlap_dp else m * dp_raw
            dp_raw *= m
        elif not plan.overlap_dp:
            dp_exp = dp_raw
        else:  # buckets reduce during the last micro-batch's backward, gather during the first forward
            dp_exp = (max(0.0, t_red - bc) + t_red / DP_BUCKETS) + (max(0.0, t_ag - fc) + t_ag / DP_BUCKETS)
        dp_exp = min(dp_exp, dp_raw)
        # optimizer: elementwise pass over the local shard (grad, master, m, v read; master, m, v, bf16 written)
        n_opt = dense / (shard if plan.zero >= 1 else 1) + expert / (eshard if plan.zero >= 1 else 1)
        opt = _optimizer_time(n_opt, plan, system, op_seconds)
        stages.append(_Stage(fc + fx, bc + bx, fc, bc, fx, bx, dp_exp, dp_raw, opt))
        detail["tp_cp_ep_raw"] = max(detail["tp_cp_ep_raw"], (rawf + rawb) * plan.num_micro_batches)
        detail["tp_cp_ep_exposed"] = max(detail["tp_cp_ep_exposed"], (fx + bx) * plan.num_micro_batches)
        detail["dp_raw"] = max(detail["dp_raw"], dp_raw)
        detail["dp_exposed"] = max(detail["dp_exposed"], dp_exp)
    return stages, p2p, detail, costs.sources


def _optimizer_time(n_params: float, plan: Plan, system: "SystemSpec", op_seconds: OpTimeFn | None) -> float:
    if n_params <= 0:
        return 0.0
    from trnsim.models.op import Op

    per = 34.0 if plan.optimizer != "sgd" else 22.0  # bytes per parameter moved
    op = Op(name="optimizer.step", kind="elementwise", flops=12.0 * n_params, bytes_read=20.0 / 34 * per * n_params,
            bytes_written=14.0 / 34 * per * n_params, dtype="fp32", shape={"elements": int(n_params)},
            phase="bwd", count=1)
    fn = op_seconds
    if fn is None:
        from trnsim.ops import op_time

        return op_time(op, system.chip_).per_call_s
    return fn(op, system.chip_)


def simulate_training(
    model: "ModelSpec | str",
    system: "SystemSpec | str",
    plan: Plan,
    *,
    chips: int | None = None,
    fidelity: str = "analytic",
    check_memory: bool = True,
    op_seconds: OpTimeFn | None = None,
    train_tokens: float | None = None,
) -> TrainingResult:
    """Predict one training step (see module doc). ``chips`` defaults to the plan's tp x cp x pp x dp.

    Raises :class:`~trnsim.parallel.plan.PlanError` for impossible plans and
    :class:`~trnsim.parallel.plan.OutOfMemoryError` (with the breakdown) when it does not fit.
    """
    if isinstance(model, str):
        from trnsim.models import load_model

        model = load_model(model)
    if isinstance(system, str):
        from trnsim.hardware import load_system

        system = load_system(system)
    if fidelity not in ("analytic", "detailed"):
        raise TrnsimError(f"fidelity must be 'analytic' or 'detailed', got {fidelity!r}")
    n = plan.chips if chips is None else chips
    plan.validate(model, system, chips=n, check_memory=False)
    mem = memory_per_chip(model, plan, system)
    if check_memory and not mem.fits:
        from trnsim.parallel.plan import OutOfMemoryError

        raise OutOfMemoryError(
            f"plan ({plan.label()}) needs {mem.total / 2**30:.1f} GiB per chip but {system.chip_.name} has "
            f"{mem.capacity / 2**30:.1f} GiB: {mem.describe()}",
            "raise tp/pp, shard more with zero, or recompute activations", breakdown=mem)
    stages, p2p, detail, sources = _stages(model, system, plan, n, op_seconds)
    m = plan.num_micro_batches
    fwd = [s.fwd for s in stages]
    bwd = [s.bwd for s in stages]
    timeline = None
    if fidelity == "detailed":
        timeline = simulate_pipeline(fwd, bwd, m, vpp=plan.vpp, p2p=p2p)
        pipe = timeline.total
    else:
        pipe = analytic_pipeline_time(fwd, bwd, m, vpp=plan.vpp, p2p=p2p)
    tail = max(s.dp_exposed + s.optimizer for s in stages)
    overhead = _overhead(system)
    step = pipe + tail + overhead
    # breakdown on the bottleneck rank
    b = max(range(len(stages)), key=lambda r: stages[r].fwd + stages[r].bwd)
    sb = stages[b]
    compute = m * (sb.fwd_compute + sb.bwd_compute)
    inline = m * (sb.fwd_comm + sb.bwd_comm)
    rtail = max(range(len(stages)), key=lambda r: stages[r].dp_exposed + stages[r].optimizer)
    bubble = max(0.0, pipe - compute - inline)
    breakdown = StepBreakdown(compute, inline + stages[rtail].dp_exposed, bubble, stages[rtail].optimizer,
                              overhead)
    # throughput and utilisation
    tokens = plan.tokens_per_step
    lora = plan.lora_rank > 0
    mflops = model_flops_per_token(model, plan.seq_len, lora=lora) * tokens
    mfu_dtype = plan.precision if plan.precision != "fp16" else "bf16"
    peak = system.chip_.flops(mfu_dtype)
    mfu = mflops / (step * n * peak)
    achieved = mflops / step / n / 1e12
    busy = min(1.0, compute / step) if step > 0 else 0.0
    chip = system.chip_
    notes = []
    link = min(1.0, (detail["tp_cp_ep_raw"] + detail["dp_raw"]) / step) if step > 0 else 0.0
    power, facility, energy_method = _power(system, n, busy, link, notes)
    price = _price(system, n, notes)
    if m < plan.pp:
        notes.append(f"only {m} micro-batches for {plan.pp} pipeline stages: large bubble")
    stage_rows = [{"rank": r, "layers": len(chunk_layers(model.layers, plan.pp, plan.vpp)[r]),
                   "fwd_s": s.fwd, "bwd_s": s.bwd, "fwd_comm_s": s.fwd_comm, "bwd_comm_s": s.bwd_comm,
                   "dp_exposed_s": s.dp_exposed, "dp_raw_s": s.dp_raw, "optimizer_s": s.optimizer}
                  for r, s in enumerate(stages)]
    return TrainingResult(
        model=model.name, system=system.name, chip=chip.name, chips=n, plan=plan, step_time=step,
        breakdown=breakdown, tokens_per_step=tokens, tokens_per_s=tokens / step, samples_per_s=plan.gbs / step,
        model_flops_per_step=mflops, mfu=mfu, mfu_dtype=mfu_dtype, achieved_tflops_per_chip=achieved,
        memory=mem, power_w=power, energy_per_step_j=facility * step, price_per_hour=price,
        system_power_w=facility, energy_method=energy_method,
        fidelity=fidelity, comm_detail=detail, stage_times=stage_rows,
        sources=list(sources), notes=notes, timeline=timeline,
    )


def _power(system: "SystemSpec", n: int, busy: float, link: float, notes: list[str]) -> tuple[float, float, str]:
    """(W per chip, facility W of the n chips, method). Uses trnsim.economics (utilisation-based power with
    host share and PUE); compute and HBM utilisation = the compute-busy fraction of the step, links = the
    raw collective time fraction. Falls back to a TDP estimate if the chip has no TDP there."""
    chip = system.chip_
    try:
        from trnsim.economics import Utilization, chip_power, system_power

        u = Utilization(compute=busy, memory=busy, link=link)
        per_chip = chip_power(chip, u)
        facility = system_power(system, u, chips=n).facility_w
        return per_chip, facility, ("trnsim.economics: TDP x (idle + dynamic share x utilisation), host share, "
                                    "PUE; utilisation = compute-busy fraction of the step")
    except (ImportError, TrnsimError) as e:
        tdp = chip.tdp.si if chip.tdp is not None else 0.0
        idle = chip.idle_power.si if chip.idle_power is not None else IDLE_POWER_FRACTION * tdp
        notes.append(f"power model unavailable ({e}); TDP estimate used")
        p = idle + (tdp - idle) * busy
        return p, p * n, "TDP estimate: idle + (TDP - idle) x busy fraction, chips only"


def _price(system: "SystemSpec", n: int, notes: list[str]) -> float | None:
    try:
        from trnsim.economics import system_price

        return system_price(system, "on_demand", chips=n).usd_per_hour
    except (ImportError, TrnsimError):
        notes.append(f"{system.name} has no on-demand price in the catalog: cost unknown")
        return None


def step_time(model: "ModelSpec", system: "SystemSpec", plan: Plan, *, chips: int | None = None,
              op_seconds: OpTimeFn | None = None) -> float:
    """Analytic step time only (no validation, no result object): the fast path for plan search."""
    n = plan.chips if chips is None else chips
    stages, p2p, _, _ = _stages(model, system, plan, n, op_seconds)
    pipe = analytic_pipeline_time([s.fwd for s in stages], [s.bwd for s in stages], plan.num_micro_batches,
                                  vpp=plan.vpp, p2p=p2p)
    return pipe + max(s.dp_exposed + s.optimizer for s in stages) + _overhead(system)


def _overhead(system: "SystemSpec") -> float:
    return STEP_OVERHEAD_S["gpu" if system.chip_.family == "gpu" else "trainium"]


